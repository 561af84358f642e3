"""The failure dashboard (R8, issue 7): failures of service for managers and team leads.

Managers and administrators see every team; a team lead sees the same pages limited to the
teams they lead; anyone else gets a 404. Every failure is read through
``queries.visible_failures``. Pages are plain server-rendered HTML (the weekly trend is an SVG
drawn here), so they work without JavaScript and under a strict CSP.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlencode

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from pomogu.cases.queries import desk_teams
from pomogu.failures import export, figures, queries, services
from pomogu.failures.models import Failure, FailureKind
from pomogu.people.models import Team, User

# The ``team`` filter's value for failures that belong to no team (only managers see them).
NO_TEAM = "-"
PERIOD_DAYS = figures.PERIOD_DAYS
PAGE_SIZE = 100


def _actor(request: HttpRequest) -> User:
    return cast(User, request.user)


def _teams_for(user: User) -> tuple[list[Team], bool]:
    """The teams this person may look at, and whether that is every team (a manager or an
    administrator). Anyone who leads no team may not see the dashboard at all: 404."""
    if user.sees_all_teams:
        return list(Team.objects.order_by("name")), True
    led = list(queries.led_teams(user).order_by("name"))
    if not led:
        raise Http404("No such page.")
    return led, False


class FilterForm(forms.Form):
    """The period, team and kind of the dashboard, the drill-down and the CSV export."""

    since = forms.DateField(
        label=gettext_lazy("From"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    until = forms.DateField(
        label=gettext_lazy("To"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    team = forms.ChoiceField(label=gettext_lazy("Team"), required=False)
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), required=False)
    sep = forms.ChoiceField(required=False, choices=[(sep, sep) for sep in export.SEPARATORS])

    def __init__(self, *args: Any, teams: list[Team], everyone: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        team_choices = [("", _("Every team")), *((team.slug, team.name) for team in teams)]
        if everyone:
            team_choices.append((NO_TEAM, _("(no team)")))
        cast(forms.ChoiceField, self.fields["team"]).choices = team_choices
        kind_choices = [("", _("Every kind")), *FailureKind.choices]
        cast(forms.ChoiceField, self.fields["kind"]).choices = kind_choices

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and until < since:
            raise forms.ValidationError(_("The period must not end before it starts."))
        return data


@dataclass
class Scope:
    """What a dashboard request looks at: the failures (already limited to the person's
    scope, the period, the team and the kind), the period, and the teams for the other reads
    (None: every team)."""

    failures: QuerySet[Failure]
    start: dt.datetime
    end: dt.datetime
    team_ids: list[int] | None
    team: str
    kind: str

    @property
    def last_day(self) -> dt.date:
        return (self.end - dt.timedelta(days=1)).date()

    def query(self, **changes: str) -> str:
        """The filters as a query string, with ``changes`` (empty values left out)."""
        params = {
            "since": self.start.date().isoformat(),
            "until": self.last_day.isoformat(),
            "team": self.team,
            "kind": self.kind,
            **changes,
        }
        return urlencode({name: value for name, value in params.items() if value})


def _scope(user: User, data: dict[str, Any], teams: list[Team], everyone: bool) -> Scope:
    start, end = queries.default_period(data.get("since"), data.get("until"), days=PERIOD_DAYS)
    failures = queries.visible_failures(user).filter(occurred_at__gte=start, occurred_at__lt=end)
    ids = [team.pk for team in teams]
    team_ids: list[int] | None = None if everyone else ids
    if not everyone:
        failures = failures.filter(team_id__in=ids)
    slug = data.get("team") or ""
    if slug == NO_TEAM:
        failures = failures.filter(team__isnull=True)
        team_ids = []
    elif slug:
        chosen = next(team for team in teams if team.slug == slug)
        failures = failures.filter(team_id=chosen.pk)
        team_ids = [chosen.pk]
    kind = data.get("kind") or ""
    if kind:
        failures = failures.filter(kind=kind)
    return Scope(failures, start, end, team_ids, slug, kind)


def _filters(request: HttpRequest) -> tuple[FilterForm, Scope | None, list[Team]]:
    """The request's filters, validated, and the scope they describe (None if invalid)."""
    actor = _actor(request)
    teams, everyone = _teams_for(actor)
    form = FilterForm(request.GET, teams=teams, everyone=everyone)
    if not form.is_valid():
        return form, None, teams
    scope = _scope(actor, form.cleaned_data, teams, everyone)
    # Show the period actually used, defaults included.
    shown = FilterForm(
        initial={
            "since": scope.start.date(),
            "until": scope.last_day,
            "team": scope.team,
            "kind": scope.kind,
        },
        teams=teams,
        everyone=everyone,
    )
    return shown, scope, teams


def _page(
    request: HttpRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    if "nav_teams" not in context:
        context["nav_teams"] = list(desk_teams(_actor(request)))
    return render(request, template, context, status=status)


# --- the weekly trend -------------------------------------------------------------------------

SLOT = 40  # width of one week in the chart, in SVG units
BAR = 28
CHART_HEIGHT = 120
TOP = 18  # room for the count above the tallest bar
BOTTOM = 22  # room for the week labels
MAX_LABELS = 13


@dataclass
class Week:
    """One week of the trend: its Monday, its failures, and where its bar goes. The
    coordinates are text so that no locale writes them with a decimal comma."""

    monday: dt.date
    count: int
    x: str = ""
    y: str = ""
    height: str = ""
    middle: str = ""
    count_y: str = ""
    labelled: bool = False


def weekly_trend(rows: list[dict[str, Any]], start: dt.datetime, end: dt.datetime) -> list[Week]:
    """Every week (by its Monday) from the period's first day to its last, with the count of
    ``summarise(..., by=("week",))`` rows, and the geometry of its bar."""
    counts = {row["week"]: row["count"] for row in rows if row["week"] is not None}
    first = start.date() - dt.timedelta(days=start.date().weekday())
    last = (end - dt.timedelta(days=1)).date()
    weeks: list[Week] = []
    monday = first
    while monday <= last:
        weeks.append(Week(monday, counts.get(monday, 0)))
        monday += dt.timedelta(days=7)
    most = max((week.count for week in weeks), default=0)
    every = math.ceil(len(weeks) / MAX_LABELS) or 1
    for index, week in enumerate(weeks):
        height = CHART_HEIGHT * week.count / most if most else 0.0
        week.x = f"{index * SLOT + (SLOT - BAR) / 2:.1f}"
        week.y = f"{TOP + CHART_HEIGHT - height:.1f}"
        week.height = f"{height:.1f}"
        week.middle = f"{index * SLOT + SLOT / 2:.1f}"
        week.count_y = f"{TOP + CHART_HEIGHT - height - 4:.1f}"
        week.labelled = index % every == 0
    return weeks


# --- pages ------------------------------------------------------------------------------------


def _with_hours(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for row in rows:
        row["hours_lost"] = row["minutes_lost"] / 60
    return rows


@require_GET
@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """The failure register for a period (default: the last 8 weeks): totals, failures by
    team and kind, the weekly trend, SLA attainment and reopen rate, customer effort and
    survey results."""
    form, scope, teams = _filters(request)
    context: dict[str, Any] = {"form": form, "scope": scope}
    if _actor(request).sees_all_teams:
        context["nav_teams"] = teams  # every team, by name: what the desk's navigation lists
    if scope is None:
        return _page(request, "failures/dashboard.html", context, status=400)

    by_team = _with_hours(services.summarise(scope.failures, by=("team", "kind")))
    for row in by_team:
        row["query"] = scope.query(team=row["team_slug"] or NO_TEAM, kind=row["kind"])
    total = services.totals(by_team)
    total["hours_lost"] = total["minutes_lost"] / 60
    total["pestering_blocked"] = sum(
        row["count"] for row in by_team if row["kind"] == FailureKind.PESTERING_BLOCKED
    )
    weeks = weekly_trend(services.summarise(scope.failures, by=("week",)), scope.start, scope.end)

    context.update(
        {
            "total": total,
            "by_team": by_team,
            "weeks": weeks,
            "chart_width": max(len(weeks), 1) * SLOT,
            "bar_width": BAR,
            "chart_height": TOP + CHART_HEIGHT + BOTTOM,
            "baseline": TOP + CHART_HEIGHT,
            "label_y": TOP + CHART_HEIGHT + 16,
            **figures.service_figures(scope.start, scope.end, scope.team_ids),
            "list_query": scope.query(),
        }
    )
    return _page(request, "failures/dashboard.html", context)


@require_GET
@login_required
def failure_list(request: HttpRequest) -> HttpResponse:
    """The drill-down: the failures of the filters, newest first, 100 a page."""
    form, scope, teams = _filters(request)
    context: dict[str, Any] = {"form": form, "scope": scope}
    if _actor(request).sees_all_teams:
        context["nav_teams"] = teams
    if scope is None:
        return _page(request, "failures/list.html", context, status=400)
    failures = scope.failures.select_related("case", "team", "person").order_by(
        "-occurred_at", "-id"
    )
    page = Paginator(failures, PAGE_SIZE).get_page(request.GET.get("page"))
    team = next((team for team in teams if team.slug == scope.team), None)
    context.update(
        {
            "page": page,
            "team_name": team.name if team else (_("(no team)") if scope.team else ""),
            "kind_label": FailureKind(scope.kind).label if scope.kind else "",
            "query": scope.query(),
        }
    )
    return _page(request, "failures/list.html", context)


@require_GET
@login_required
def failure_csv(request: HttpRequest) -> HttpResponse:
    """The drill-down's failures (every one, not a page) as CSV, like the API's export."""
    form, scope, _teams = _filters(request)
    if scope is None:
        errors = "; ".join(str(error) for errors in form.errors.values() for error in errors)
        return HttpResponse(errors, status=400, content_type="text/plain; charset=utf-8")
    failures = scope.failures.select_related("case", "team", "person").order_by(
        "-occurred_at", "-id"
    )
    return export.csv_response(failures, sep=request.GET.get("sep") or ",")
