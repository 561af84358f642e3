"""The register's service figures: SLA attainment, reopen rate, customer effort and surveys.

They aggregate every case, deadline and event of the period (hundreds of thousands of rows on
a big desk, about 0.7 s with a million cases), so a page never computes the usual ones while
someone waits: the background step ``warm`` computes them for the default period of every
scope the dashboard opens with (every team, and each lead's teams) and keeps them for
``POMOGU_DASHBOARD_CACHE_SECONDS``; a page reads them, says as of when, and computes only a
period or team someone picked (then keeps it the same while). The failures themselves are
always counted live.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Collection
from typing import Any

from django.conf import settings
from django.core.cache import cache

from pomogu.contact.models import Survey
from pomogu.contact.surveys import results as survey_results
from pomogu.core import clock
from pomogu.failures import queries
from pomogu.people.choices import TeamRole
from pomogu.people.models import Membership, Team

log = logging.getLogger(__name__)

PERIOD_DAYS = 8 * 7  # the dashboard's default period: the last eight weeks, today included
WARMED_KEY = "register:figures:warmed"


def _key(start: dt.datetime, end: dt.datetime, team_ids: Collection[int] | None) -> str:
    teams = "all" if team_ids is None else ",".join(map(str, sorted(team_ids)))
    digest = hashlib.sha256(f"{start.isoformat()}|{end.isoformat()}|{teams}".encode())
    return "register:figures:" + digest.hexdigest()


def compute(
    start: dt.datetime, end: dt.datetime, team_ids: Collection[int] | None
) -> dict[str, Any]:
    surveys = Survey.objects.filter(due_at__gte=start, due_at__lt=end)
    if team_ids is not None:
        surveys = surveys.filter(case__team_id__in=list(team_ids))
    return {
        "sla": queries.sla_attainment(start, end, team_ids=team_ids),
        "reopens": queries.reopen_rate(start, end, team_ids=team_ids),
        "effort": queries.customer_effort(start, end, team_ids=team_ids),
        "surveys": survey_results(surveys),
        "figures_as_of": clock.now(),
    }


def service_figures(
    start: dt.datetime, end: dt.datetime, team_ids: Collection[int] | None
) -> dict[str, Any]:
    """The figures of the scope: as kept (by ``warm`` or an earlier page), else computed now."""
    seconds = settings.POMOGU_DASHBOARD_CACHE_SECONDS
    if seconds <= 0:
        return compute(start, end, team_ids)
    key = _key(start, end, team_ids)
    figures: dict[str, Any] | None = cache.get(key)
    if figures is None:
        figures = compute(start, end, team_ids)
        cache.set(key, figures, seconds)
    return figures


def default_scopes() -> list[list[int] | None]:
    """The team sets the dashboard opens with: every team (managers), and each lead's teams."""
    leads: dict[int, set[int]] = {}
    for team_id, lead_id in Team.objects.filter(lead__isnull=False).values_list("pk", "lead_id"):
        leads.setdefault(lead_id, set()).add(team_id)
    by_role = Membership.objects.filter(role=TeamRole.LEAD).values_list("team_id", "user_id")
    for team_id, user_id in by_role:
        leads.setdefault(user_id, set()).add(team_id)
    sets = {tuple(sorted(teams)) for teams in leads.values()}
    return [None, *(list(teams) for teams in sorted(sets))]


def warm() -> int:
    """A background step: compute the default figures of every default scope again, at most
    once every half of ``POMOGU_DASHBOARD_CACHE_SECONDS`` whatever the number of workers
    running it (``cache.add`` lets one of them in). Returns the scopes computed."""
    seconds = settings.POMOGU_DASHBOARD_CACHE_SECONDS
    if seconds <= 0 or not cache.add(WARMED_KEY, clock.now(), timeout=max(seconds // 2, 1)):
        return 0
    start, end = queries.default_period(None, None, days=PERIOD_DAYS)
    scopes = default_scopes()
    for team_ids in scopes:
        cache.set(_key(start, end, team_ids), compute(start, end, team_ids), seconds)
    log.info("register figures computed for %d scopes", len(scopes))
    return len(scopes)
