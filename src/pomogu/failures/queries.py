"""Reads of the failure register: who may see which failure, periods, and customer effort."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from pomogu.cases.choices import EventKind, MessageKind
from pomogu.cases.models import Case, Handoff, Message, TimelineEvent
from pomogu.cases.queries import visible_cases
from pomogu.clocks.models import SLA_KINDS, Deadline, DeadlineState
from pomogu.core import clock
from pomogu.core.errors import InvalidInput
from pomogu.failures.models import Failure
from pomogu.people.choices import TeamRole
from pomogu.people.models import Team, User


def led_teams(user: User) -> QuerySet[Team]:
    """Teams this person leads (named as the team's lead, or a member with the lead role)."""
    return Team.objects.filter(
        Q(lead=user) | Q(memberships__user=user, memberships__role=TeamRole.LEAD)
    ).distinct()


def visible_failures(user: User) -> QuerySet[Failure]:
    """Failures a staff member may read: managers and administrators every one; a team lead
    their teams' failures; everyone the failures on cases they may see (SEC-1)."""
    if not user.is_authenticated or not user.is_active:
        return Failure.objects.none()
    if user.sees_all_teams:
        return Failure.objects.all()
    scope = Q(case__in=visible_cases(user).values("pk"))
    led = list(led_teams(user).values_list("pk", flat=True))
    if led:
        scope |= Q(team_id__in=led)
    return Failure.objects.filter(scope)


# --- periods ----------------------------------------------------------------------------------


def start_of_day(day: dt.date) -> dt.datetime:
    """Midnight at the start of ``day`` in the desk's time zone."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def parse_moment(value: str, *, name: str, end: bool = False) -> dt.datetime:
    """A filter's moment: an ISO date (``2026-11-01``) or date and time. A date is the start
    of that day; as the end of a period (``end``) it is the end of that day, so
    ``until=2026-11-30`` includes the 30th. A time without a zone is the desk's time."""
    text = value.strip()
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            return start_of_day(day + dt.timedelta(days=1) if end else day)
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            _("%(name)s must be a date (YYYY-MM-DD) or an ISO date and time, not %(value)r.")
            % {"name": name, "value": value[:40]},
            code="invalid_filter",
        ) from None
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def default_period(
    since: dt.date | None, until: dt.date | None, *, days: int = 7
) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a report: from ``since`` to the end of ``until`` (both days included);
    by default the last ``days`` days, today included."""
    today = timezone.localdate(clock.now())
    last = until or today
    first = since or (last - dt.timedelta(days=days - 1))
    return start_of_day(first), start_of_day(last + dt.timedelta(days=1))


# --- customer effort --------------------------------------------------------------------------


def customer_effort(
    start: dt.datetime, end: dt.datetime, *, team_ids: Collection[int] | None = None
) -> list[dict[str, Any]]:
    """Per team, for the cases opened in [start, end): how many cases, and on average how
    many times the customer had to write (inbound messages, the first one included) and how
    many handoffs each case went through. The team is the case's team now. Three queries."""
    cases = Case.objects.filter(created_at__gte=start, created_at__lt=end)
    if team_ids is not None:
        cases = cases.filter(team_id__in=list(team_ids))
    per_team = (
        cases.order_by()
        .values("team_id", "team__slug", "team__name")
        .annotate(cases=Count("id"))
        .order_by("team__name")
    )
    case_ids = cases.values("pk")
    contacts = dict(
        Message.objects.filter(case__in=case_ids, kind=MessageKind.INBOUND)
        .order_by()
        .values("case__team_id")
        .annotate(n=Count("id"))
        .values_list("case__team_id", "n")
    )
    handoffs = dict(
        Handoff.objects.filter(case__in=case_ids)
        .order_by()
        .values("case__team_id")
        .annotate(n=Count("id"))
        .values_list("case__team_id", "n")
    )
    rows = []
    for row in per_team:
        n = row["cases"]
        rows.append(
            {
                "team_id": row["team_id"],
                "team_slug": row["team__slug"],
                "team_name": row["team__name"],
                "cases": n,
                "contacts_per_case": contacts.get(row["team_id"], 0) / n,
                "handoffs_per_case": handoffs.get(row["team_id"], 0) / n,
            }
        )
    return rows


# --- service levels ---------------------------------------------------------------------------


def sla_attainment(
    start: dt.datetime, end: dt.datetime, *, team_ids: Collection[int] | None = None
) -> list[dict[str, Any]]:
    """Per team (the deadline's team), the SLA deadlines (first response, next response,
    resolution) that came due in [start, end) and before now: how many, how many were met
    in time and how many were not, and the share met (None without any). One query.

    Met in time: the deadline's state is "met" and it was met by its due time or never
    breached (the sweep may note a reply a moment after the due time; it was not late).
    Every other deadline that came due counts as breached: breached ones (even if met later)
    and running ones already past their due time that the sweep has not reached yet.
    Paused deadlines (waiting on the customer) have no due time and cancelled ones are no
    longer owed, so neither counts.
    """
    until = min(end, clock.now())
    deadlines = Deadline.objects.filter(
        kind__in=SLA_KINDS,
        due_at__gte=start,
        due_at__lt=until,
        state__in=[DeadlineState.MET, DeadlineState.BREACHED, DeadlineState.PENDING],
    )
    if team_ids is not None:
        deadlines = deadlines.filter(team_id__in=list(team_ids))
    in_time = Q(state=DeadlineState.MET) & (
        Q(met_at__lte=F("due_at")) | Q(breached_at__isnull=True)
    )
    per_team = (
        deadlines.order_by()
        .values("team_id", "team__slug", "team__name")
        .annotate(due=Count("id"), met=Count("id", filter=in_time))
        .order_by("team__name")
    )
    return [
        {
            "team_id": row["team_id"],
            "team_slug": row["team__slug"],
            "team_name": row["team__name"],
            "due": row["due"],
            "met": row["met"],
            "breached": row["due"] - row["met"],
            "share_met": row["met"] / row["due"] if row["due"] else None,
        }
        for row in per_team
    ]


def reopen_rate(
    start: dt.datetime, end: dt.datetime, *, team_ids: Collection[int] | None = None
) -> list[dict[str, Any]]:
    """Per team (the case's team now), from the timeline: the cases resolved in [start, end)
    (a "resolved" event in the period), the cases reopened in it (a "reopened" event in the
    period, whenever they were resolved) and the rate, reopened / resolved (None when nothing
    was resolved). Each case counts once on each side however often it bounced, so the rate
    is the share of cases that came back, not of reopenings (``Case.reopen_count`` has those).
    One query."""
    events = TimelineEvent.objects.filter(
        kind__in=[EventKind.RESOLVED, EventKind.REOPENED],
        created_at__gte=start,
        created_at__lt=end,
    )
    if team_ids is not None:
        events = events.filter(case__team_id__in=list(team_ids))
    per_team = (
        events.order_by()
        .values("case__team_id", "case__team__slug", "case__team__name")
        .annotate(
            resolved=Count("case_id", distinct=True, filter=Q(kind=EventKind.RESOLVED)),
            reopened=Count("case_id", distinct=True, filter=Q(kind=EventKind.REOPENED)),
        )
        .order_by("case__team__name")
    )
    return [
        {
            "team_id": row["case__team_id"],
            "team_slug": row["case__team__slug"],
            "team_name": row["case__team__name"],
            "resolved": row["resolved"],
            "reopened": row["reopened"],
            "rate": row["reopened"] / row["resolved"] if row["resolved"] else None,
        }
        for row in per_team
    ]
