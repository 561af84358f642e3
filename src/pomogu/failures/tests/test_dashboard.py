"""The failure dashboard /register/: who sees it, what it adds up, the drill-down and its CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from pomogu.cases import services as cases
from pomogu.cases.choices import Resolution
from pomogu.cases.models import Case
from pomogu.clocks.models import Deadline, DeadlineKind, DeadlineState
from pomogu.core.testing import PASSWORD, Cast
from pomogu.failures import queries
from pomogu.failures.models import Failure, FailureKind
from pomogu.failures.tests.helpers import at, fail

NOVEMBER = "since=2026-11-01&until=2026-11-30"
CANARY = "CANARY billing secret"


@dataclass
class Desk:
    support_case: Case
    billing_case: Case
    first: Failure  # support, SLA, 18 November (week of the 16th), 30 minutes
    angry: Failure  # support, anger, 20 November
    pestering: Failure  # support, pestering blocked, 10 November (week of the 9th)
    billing: Failure  # billing, handoff declined, 21 November, the canary summary
    teamwide: Failure  # support, no case, 22 November (a Sunday: still the week of the 16th)


@pytest.fixture
def desk(cast: Cast) -> Desk:
    support_case = cast.open_case(subject="Роутер мигает красным")
    billing_case = cast.open_case(team=cast.billing, customer=cast.erin)
    return Desk(
        support_case,
        billing_case,
        fail(support_case, key="s1", when=at(18), minutes=30, person=cast.bob),
        fail(support_case, FailureKind.ANGER, key="s2", when=at(20), minutes=60),
        fail(support_case, FailureKind.PESTERING_BLOCKED, key="s3", when=at(10)),
        fail(billing_case, FailureKind.HANDOFF_DECLINED, key="b1", when=at(21), summary=CANARY),
        fail(None, FailureKind.ESCALATION_UNACKNOWLEDGED, key="t1", when=at(22), team=cast.support),
    )


def signed_in(user: Any) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def html(response: Any) -> str:
    assert response.status_code == 200, response.content[:500]
    return str(response.content.decode())


def csv_rows(response: Any, sep: str = ",") -> list[list[str]]:
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=sep))


# --- who sees what ------------------------------------------------------------------------------


def test_a_manager_sees_every_teams_failures_and_their_totals(cast: Cast, desk: Desk) -> None:
    response = signed_in(cast.mallory).get(f"/register/?{NOVEMBER}")
    page = html(response)
    total = response.context["total"]
    assert total["count"] == 5
    assert total["minutes_lost"] == 90
    # dave (standard, 1000): 5 % + 20 % + 2 %; erin: 2 %; the failure without a case: 0.
    assert total["money_at_risk"] == Decimal("290.00")
    assert total["pestering_blocked"] == 1
    assert 'data-total="count">5<' in page
    assert 'data-total="hours">1.5<' in page
    assert 'data-total="money">290.00<' in page
    assert 'data-total="pestering">1<' in page
    rows = [(r["team_slug"], r["kind"], r["count"]) for r in response.context["by_team"]]
    assert rows == [
        ("billing", "handoff_declined", 1),
        ("support", "anger", 1),
        ("support", "escalation_unacknowledged", 1),
        ("support", "pestering_blocked", 1),
        ("support", "sla_first_response", 1),
    ]
    assert "Handoff declined" in page
    assert (
        "/register/failures/?since=2026-11-01&amp;until=2026-11-30&amp;team=billing"
        "&amp;kind=handoff_declined" in page
    )


def test_a_team_lead_sees_only_their_teams(cast: Cast, desk: Desk) -> None:
    alice = signed_in(cast.alice)
    response = alice.get(f"/register/?{NOVEMBER}")
    page = html(response)
    assert response.context["total"]["count"] == 4
    assert {row["team_slug"] for row in response.context["by_team"]} == {"support"}
    assert "Handoff declined" not in page
    assert "Billing" not in page
    # Not in the drill-down or the CSV either, nor when she asks for billing by name.
    assert CANARY not in html(alice.get(f"/register/failures/?{NOVEMBER}"))
    assert CANARY not in alice.get(f"/register/failures.csv?{NOVEMBER}").content.decode()
    for path in ("/register/", "/register/failures/", "/register/failures.csv"):
        refused = alice.get(f"{path}?team=billing&{NOVEMBER}")
        assert refused.status_code == 400
        assert CANARY not in refused.content.decode()

    carol = signed_in(cast.carol)
    response = carol.get(f"/register/?{NOVEMBER}")
    assert [row["kind"] for row in response.context["by_team"]] == ["handoff_declined"]
    assert "Роутер мигает красным" not in html(carol.get(f"/register/failures/?{NOVEMBER}"))


def test_an_agent_gets_404_and_a_stranger_the_login_page(cast: Cast, desk: Desk) -> None:
    bob = signed_in(cast.bob)
    for path in ("/register/", "/register/failures/", "/register/failures.csv"):
        assert bob.get(path).status_code == 404
        anonymous = Client().get(path)
        assert anonymous.status_code == 302
        assert anonymous["Location"].startswith("/login/")


def test_the_navigation_links_the_register_only_for_those_who_may_see_it(cast: Cast) -> None:
    link = 'href="/register/"'
    assert link in html(signed_in(cast.mallory).get("/"))
    assert link in html(signed_in(cast.root).get("/"))
    assert html(signed_in(cast.alice).get("/")).count(link) == 1
    assert link in html(signed_in(cast.carol).get("/"))
    assert link not in html(signed_in(cast.bob).get("/"))
    # A lead by role in the team, not its named lead, sees it too (and only once).
    from pomogu.people.choices import TeamRole
    from pomogu.people.services import add_member

    add_member(cast.billing, cast.bob, role=TeamRole.LEAD)
    assert html(signed_in(cast.bob).get("/")).count(link) == 1


def test_the_period_defaults_to_the_last_eight_weeks(cast: Cast, desk: Desk) -> None:
    with time_machine.travel(at(30, hour=9), tick=False):
        response = signed_in(cast.mallory).get("/register/")
        scope = response.context["scope"]
    assert scope.start.date() == dt.date(2026, 10, 6)
    assert scope.last_day == dt.date(2026, 11, 30)
    assert response.context["total"]["count"] == 5
    assert 'value="2026-10-06"' in html(response)


def test_a_period_that_ends_before_it_starts_is_refused(cast: Cast, desk: Desk) -> None:
    response = signed_in(cast.mallory).get("/register/?since=2026-11-20&until=2026-11-10")
    assert response.status_code == 400
    assert "must not end before it starts" in response.content.decode()


def test_the_team_filter_narrows_every_section(cast: Cast, desk: Desk) -> None:
    response = signed_in(cast.mallory).get(f"/register/?team=billing&{NOVEMBER}")
    assert response.context["total"]["count"] == 1
    assert [row["team_slug"] for row in response.context["effort"]] == ["billing"]
    none = signed_in(cast.mallory).get(f"/register/failures/?team=-&{NOVEMBER}")
    assert [f.key for f in none.context["page"].object_list] == []


# --- the weekly trend ---------------------------------------------------------------------------


def test_the_trend_has_one_bar_for_each_week_with_a_failure(cast: Cast, desk: Desk) -> None:
    page = html(signed_in(cast.mallory).get(f"/register/?{NOVEMBER}"))
    svg = page[page.index("<svg") : page.index("</svg>")]
    bars = re.findall(r'<rect class="trend-bar" ([^>]*)><title>([^<]*)</title>', svg)

    def attribute(attributes: str, name: str) -> str:
        found = re.search(rf'{name}="([^"]*)"', attributes)
        assert found is not None, (name, attributes)
        return found[1]

    assert [attribute(attrs, "data-week") for attrs, _ in bars] == ["2026-11-09", "2026-11-16"]
    heights = [float(attribute(attrs, "height")) for attrs, _ in bars]
    assert heights == [30.0, 120.0]  # 1 and 4 failures, the tallest fills the chart
    assert "4 failures" in bars[1][1]
    assert "style=" not in svg
    assert not re.search(r"<script(?![^>]*\bsrc=)", page)  # no inline script
    # The same numbers for screen readers: every week of the period, the empty ones too.
    start = page.index('id="trend-table"')
    table = page[start : page.index("</table>", start)]
    assert table.count("<tr>") == 1 + 6  # header, then the weeks of 26 Oct … 30 Nov


# --- the drill-down and its CSV -----------------------------------------------------------------


def test_the_drill_down_lists_exactly_the_filtered_failures(cast: Cast, desk: Desk) -> None:
    manager = signed_in(cast.mallory)
    response = manager.get(f"/register/failures/?team=support&kind=sla_first_response&{NOVEMBER}")
    page = html(response)
    assert [f.key for f in response.context["page"].object_list] == ["s1"]
    assert f'href="/cases/{desk.support_case.number}/"' in page
    assert "First response deadline missed" in page
    assert "Bob Agent" in page
    table = page[page.index('id="failures"') :]
    assert "Customer driven to anger" not in table

    response = manager.get(f"/register/failures/?team=support&{NOVEMBER}")
    assert [f.key for f in response.context["page"].object_list] == ["t1", "s2", "s1", "s3"]
    assert CANARY not in html(response)


def test_the_drill_down_pages_by_a_hundred(cast: Cast, desk: Desk) -> None:
    for number in range(101):
        fail(desk.billing_case, key=f"many:{number}", when=at(5) + dt.timedelta(minutes=number))
    manager = signed_in(cast.mallory)
    first = manager.get(f"/register/failures/?team=billing&{NOVEMBER}")
    assert len(first.context["page"].object_list) == 100
    assert 'rel="next"' in html(first)
    second = manager.get(f"/register/failures/?team=billing&{NOVEMBER}&page=2")
    assert [f.key for f in second.context["page"].object_list] == ["many:1", "many:0"]


def test_the_csv_is_scoped_like_the_page_and_defuses_formulas(cast: Cast, desk: Desk) -> None:
    fail(
        desk.support_case,
        FailureKind.PROMISE_BROKEN,
        key="evil",
        when=at(23),
        summary='=HYPERLINK("http://evil.test","Перезвоним")',
    )
    response = signed_in(cast.alice).get(f"/register/failures.csv?{NOVEMBER}")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="failures-')
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = csv_rows(response)
    assert rows[0][:3] == ["occurred_at", "kind", "case"]
    assert [row[1] for row in rows[1:]] == [
        "Promise to the customer broken",
        "Escalation not acknowledged",
        "Customer driven to anger",
        "First response deadline missed",
        "Pestering blocked",
    ]
    assert rows[1][7] == '\'=HYPERLINK("http://evil.test","Перезвоним")'
    assert CANARY not in response.content.decode("utf-8-sig")

    semicolons = signed_in(cast.mallory).get(f"/register/failures.csv?kind=anger&sep=;&{NOVEMBER}")
    rows = csv_rows(semicolons, sep=";")
    assert [row[1] for row in rows[1:]] == ["Customer driven to anger"]
    bad = signed_in(cast.mallory).get("/register/failures.csv?sep=|")
    assert bad.status_code == 400


# --- service levels -----------------------------------------------------------------------------


def test_sla_attainment_counts_deadlines_met_in_time_against_the_rest(cast: Cast) -> None:
    case = cast.open_case()
    Deadline.objects.filter(case=case).delete()  # only the deadlines below count

    def deadline(kind: str, state: str, due: dt.datetime, **extra: Any) -> None:
        Deadline.objects.create(
            case=case,
            kind=kind,
            state=state,
            team=cast.support,
            started_at=at(1),
            due_at=due,
            **extra,
        )

    deadline(DeadlineKind.FIRST_RESPONSE, DeadlineState.MET, at(10), met_at=at(9))
    deadline(DeadlineKind.NEXT_RESPONSE, DeadlineState.BREACHED, at(11), breached_at=at(11))
    deadline(DeadlineKind.RESOLUTION, DeadlineState.PENDING, at(12))  # overdue, not swept yet
    deadline(DeadlineKind.RESOLUTION, DeadlineState.CANCELLED, at(13))
    deadline(DeadlineKind.HANDOFF, DeadlineState.BREACHED, at(14), breached_at=at(14))
    deadline(DeadlineKind.FIRST_RESPONSE, DeadlineState.MET, at(5, month=12), met_at=at(1))
    start, end = queries.default_period(dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    with time_machine.travel(at(30), tick=False):
        rows = queries.sla_attainment(start, end)
        page = html(signed_in(cast.mallory).get(f"/register/?{NOVEMBER}"))
    assert [(r["team_slug"], r["due"], r["met"], r["breached"]) for r in rows] == [
        ("support", 3, 1, 2)
    ]
    assert "33 %" in page
    assert queries.sla_attainment(start, end, team_ids=[cast.billing.pk]) == []


def test_the_reopen_rate_is_cases_reopened_per_case_resolved(cast: Cast) -> None:
    with time_machine.travel(at(10), tick=False):
        bounced = cast.open_case()
        kept = cast.open_case()
        for case in (bounced, kept):
            cases.resolve(case.pk, actor=case.owner, resolution=Resolution.WITHDRAWN)
        cases.reopen(bounced.pk, actor=cast.alice, reason="Снова не работает")
    start, end = queries.default_period(dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    rows = queries.reopen_rate(start, end)
    assert [(r["team_slug"], r["resolved"], r["reopened"], r["rate"]) for r in rows] == [
        ("support", 2, 1, 0.5)
    ]
    assert queries.reopen_rate(start, end, team_ids=[cast.billing.pk]) == []


# --- cost ---------------------------------------------------------------------------------------


def test_the_dashboard_costs_the_same_queries_for_many_failures(
    cast: Cast, desk: Desk, settings: Any
) -> None:
    settings.POMOGU_DASHBOARD_CACHE_SECONDS = 0  # every figure computed on each request
    manager = signed_in(cast.mallory)

    def queries_for_the_page() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert manager.get(f"/register/?{NOVEMBER}").status_code == 200
        return len(captured)

    Failure.objects.filter(key__in=["s3", "t1"]).delete()  # 3 failures
    few = queries_for_the_page()
    for number in range(27):
        team_case = desk.support_case if number % 2 else desk.billing_case
        fail(team_case, FailureKind.ANGER, key=f"many:{number}", when=at(1 + number))
    assert Failure.objects.count() == 30
    # Session, user, teams, failures by team and kind, by week, SLA, reopenings, customer
    # effort (3), surveys (5): measured 15.
    assert queries_for_the_page() == few <= 15


def test_the_chart_keeps_decimal_points_in_russian(cast: Cast, desk: Desk) -> None:
    client = signed_in(cast.mallory)
    # The locale middleware leaves Russian active in this thread: put the language back after.
    with translation.override(translation.get_language()):
        page = html(client.get(f"/register/?{NOVEMBER}", headers={"Accept-Language": "ru"}))
    assert '<html lang="ru">' in page
    svg = page[page.index("<svg") : page.index("</svg>")]
    assert 'height="30.0"' in svg
    assert not re.search(r'="\d+,\d+"', svg)


def test_service_figures_are_kept_a_few_minutes_and_failures_stay_live(
    cast: Cast, desk: Desk, settings: Any
) -> None:
    import time_machine as tm

    from pomogu.core import clock

    settings.POMOGU_DASHBOARD_CACHE_SECONDS = 300
    manager = signed_in(cast.mallory)

    def page() -> str:
        return manager.get(f"/register/?{NOVEMBER}").content.decode()

    first = page()
    assert "as of" in first
    with CaptureQueriesContext(connection) as warm:
        again = page()
    assert len(warm) < 10  # session, user, teams, the failures: not the service figures
    fail(desk.support_case, FailureKind.ANGER, key="late", when=at(23), minutes=5)
    assert again != page()  # a new failure shows at once
    later = clock.now() + dt.timedelta(minutes=6)
    with tm.travel(later, tick=False), CaptureQueriesContext(connection) as cold:
        page()
    assert len(cold) > len(warm)


def test_the_background_step_computes_the_opening_figures_so_no_page_waits(
    cast: Cast, desk: Desk, settings: Any
) -> None:
    """``figures.warm`` computes the default period's figures for managers and for each lead's
    teams; the pages then read them, and the step does not run again for half the time."""
    import time_machine as tm

    from pomogu.core import clock
    from pomogu.core.runner import run_once
    from pomogu.failures import figures

    settings.POMOGU_DASHBOARD_CACHE_SECONDS = 300
    scopes = figures.default_scopes()
    assert None in scopes  # every team, as a manager opens it
    assert [cast.support.pk] in scopes  # alice leads support
    assert [cast.billing.pk] in scopes  # carol leads billing
    assert run_once()["register"] == len(scopes)
    assert figures.warm() == 0  # not again so soon, whichever worker asks
    for person in (cast.mallory, cast.alice):
        with CaptureQueriesContext(connection) as queries:
            response = signed_in(person).get("/register/")
        assert response.status_code == 200
        assert "as of" in response.content.decode()
        # Nothing of the figures was computed for the page: none of their queries ran.
        assert not [q for q in queries if "clocks_deadline" in q["sql"]]
    with tm.travel(clock.now() + dt.timedelta(minutes=3), tick=False):
        assert figures.warm() == len(scopes)
