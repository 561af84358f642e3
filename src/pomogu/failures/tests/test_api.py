"""GET /api/v1/failures, /failures.csv and /failures/summary: filters, pages, who sees what."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from pomogu.cases.models import Case
from pomogu.core.testing import Cast
from pomogu.failures.models import Failure, FailureKind
from pomogu.failures.tests.helpers import at, fail


@dataclass
class Desk:
    support_case: Case
    billing_case: Case
    first: Failure  # support, 18 November
    angry: Failure  # support, 20 November
    billing: Failure  # billing, 21 November
    teamwide: Failure  # support, no case, 22 November


@pytest.fixture
def desk(cast: Cast) -> Desk:
    support_case = cast.open_case()
    billing_case = cast.open_case(team=cast.billing, customer=cast.erin)
    return Desk(
        support_case,
        billing_case,
        fail(support_case, key="s1", when=at(18), minutes=30, person=cast.bob),
        fail(support_case, FailureKind.ANGER, key="s2", when=at(20), person=cast.alice),
        fail(billing_case, FailureKind.HANDOFF_DECLINED, key="b1", when=at(21)),
        fail(None, FailureKind.ESCALATION_UNACKNOWLEDGED, key="t1", when=at(22), team=cast.support),
    )


def keys(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["key"] for item in response.json()["items"]]


def test_without_a_token_every_endpoint_is_401(api: Any, desk: Desk) -> None:
    for path in ("/failures", "/failures.csv", "/failures/summary"):
        response = api(None).get(path)
        assert response.status_code == 401
        assert response.json()["error"] == "unauthorized"


def test_a_manager_sees_every_failure_newest_first(api: Any, desk: Desk) -> None:
    response = api("mallory").get("/failures")
    body = response.json()
    assert keys(response) == ["t1", "b1", "s2", "s1"]
    assert body["count"] == 4
    item = body["items"][3]
    assert item["kind"] == "sla_first_response"
    assert item["kind_label"] == "First response deadline missed"
    assert item["case_id"] == desk.support_case.pk
    assert item["case_number"] == desk.support_case.number
    assert item["team_slug"] == "support"
    assert item["person_name"] == "Bob Agent"
    assert item["minutes_lost"] == 30
    assert item["money_at_risk"] == "50.00"


def test_an_agent_sees_failures_on_cases_they_can_see_only(api: Any, desk: Desk) -> None:
    # bob: his team's case; not billing's, and not the team-wide failure without a case.
    assert keys(api("bob").get("/failures")) == ["s2", "s1"]
    assert keys(api("bob").get("/failures?team=billing")) == []
    assert keys(api("bob").get(f"/failures?case={desk.billing_case.pk}")) == []


def test_a_team_lead_sees_their_teams_failures_and_not_another_teams(api: Any, desk: Desk) -> None:
    assert keys(api("alice").get("/failures")) == ["t1", "s2", "s1"]
    # carol leads billing: she must see nothing of support's.
    assert keys(api("carol").get("/failures")) == ["b1"]
    assert keys(api("carol").get("/failures?team=support")) == []
    assert "s1" not in api("carol").get("/failures.csv").content.decode("utf-8-sig")


def test_filters_narrow_the_list(api: Any, cast: Cast, desk: Desk) -> None:
    manager = api("mallory")
    assert keys(manager.get("/failures?kind=anger")) == ["s2"]
    assert keys(manager.get("/failures?team=billing")) == ["b1"]
    assert keys(manager.get(f"/failures?team={cast.support.pk}")) == ["t1", "s2", "s1"]
    assert keys(manager.get("/failures?person=alice")) == ["s2"]
    assert keys(manager.get(f"/failures?person={cast.bob.pk}")) == ["s1"]
    assert keys(manager.get(f"/failures?case={desk.support_case.pk}")) == ["s2", "s1"]
    # Dates include both days; a date and time is exact.
    assert keys(manager.get("/failures?since=2026-11-20&until=2026-11-21")) == ["b1", "s2"]
    assert keys(manager.get("/failures?since=2026-11-20T12:00:01%2B03:00")) == ["t1", "b1"]
    assert keys(manager.get("/failures?until=2026-11-19")) == ["s1"]


def test_the_list_is_paginated(api: Any, desk: Desk) -> None:
    response = api("mallory").get("/failures?limit=2&offset=1")
    assert keys(response) == ["b1", "s2"]
    assert response.json()["count"] == 4


@pytest.mark.parametrize(
    "query",
    [
        "kind=no_such_kind",
        "since=yesterday",
        "until=2026-13-01",
        "since=2026-11-21&until=2026-11-20",
        "team=no-such-team",
        "person=nobody",
        "case=abc",
        "limit=0",
        "offset=-1",
    ],
)
def test_bad_filters_are_422_json_errors(api: Any, desk: Desk, query: str) -> None:
    for path in ("/failures", "/failures.csv"):
        response = api("mallory").get(f"{path}?{query}")
        assert response.status_code == 422, (path, query, response.content)
        body = response.json()
        assert body["error"] in {"validation", "invalid_filter"}
        assert body["detail"]


def test_the_list_costs_the_same_queries_for_many_failures(api: Any, desk: Desk) -> None:
    client = api("bob")

    def queries_for_one_page() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/failures?limit=50").status_code == 200
        return len(queries)

    queries_for_one_page()  # the first call of a token also notes when it was used
    few = queries_for_one_page()
    for number in range(30):
        fail(desk.support_case, key=f"many:{number}", person=desk.support_case.owner)
    assert queries_for_one_page() == few <= 8
    assert api("bob").get("/failures?limit=50").json()["count"] == 32


def test_the_api_is_described_in_openapi(api: Any) -> None:
    paths = api("bob").get("/openapi.json").json()["paths"]
    assert {"/api/v1/failures", "/api/v1/failures.csv", "/api/v1/failures/summary"} <= set(paths)


def test_csv_export_opens_in_excel_and_defuses_formulas(api: Any, cast: Cast, desk: Desk) -> None:
    fail(
        desk.support_case,
        FailureKind.PROMISE_BROKEN,
        key="evil",
        when=at(23),
        summary='=HYPERLINK("http://evil.test","Обещали перезвонить")',
    )
    cast.bob.first_name = "@Боб"
    cast.bob.save()
    response = api("bob").get("/failures.csv?since=2026-11-18")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="failures-')
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == [
        "occurred_at",
        "kind",
        "case",
        "team",
        "person",
        "minutes_lost",
        "money_at_risk",
        "summary",
    ]
    assert [row[5] for row in rows[1:]] == ["0.0", "0.0", "30.0"]  # bob's scope: s1, s2, evil
    evil = rows[1]
    assert evil[0] == "2026-11-23T12:00:00+03:00"
    assert evil[1] == "Promise to the customer broken"
    assert evil[2] == str(desk.support_case.number)
    assert evil[3] == "Technical support"
    assert evil[6] == "100.00"
    assert evil[7] == '\'=HYPERLINK("http://evil.test","Обещали перезвонить")'
    assert rows[3][4] == "'@Боб Agent"
    assert "Handoff declined" not in response.content.decode("utf-8-sig")


def test_csv_export_follows_the_filters(api: Any, desk: Desk) -> None:
    response = api("mallory").get("/failures.csv?kind=anger")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == 2
    assert rows[1][1] == "Customer driven to anger"


def test_summary_adds_up_what_the_caller_may_see(api: Any, desk: Desk) -> None:
    body = api("mallory").get("/failures/summary").json()
    assert [(r["team_slug"], r["kind"], r["count"]) for r in body["items"]] == [
        ("billing", "handoff_declined", 1),
        ("support", "anger", 1),
        ("support", "escalation_unacknowledged", 1),
        ("support", "sla_first_response", 1),
    ]
    assert body["count"] == 4
    assert body["total"] == {"count": 4, "minutes_lost": 30.0, "money_at_risk": "270.00"}

    carol = api("carol").get("/failures/summary").json()
    assert [(r["team_slug"], r["kind"]) for r in carol["items"]] == [
        ("billing", "handoff_declined")
    ]


def test_summary_by_kind_for_a_period_and_team(api: Any, desk: Desk) -> None:
    response = api("mallory").get("/failures/summary?by=kind&team=support&since=2026-11-19")
    body = response.json()
    assert [(r["kind"], r["count"], r["team_slug"]) for r in body["items"]] == [
        ("anger", 1, None),
        ("escalation_unacknowledged", 1, None),
    ]
    assert body["items"][0]["money_at_risk"] == "200.00"


@pytest.mark.parametrize("query", ["by=month", "by=", "by=team,team", "since=soon"])
def test_summary_refuses_bad_groupings_and_dates(api: Any, desk: Desk, query: str) -> None:
    response = api("mallory").get(f"/failures/summary?{query}")
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_filter"


def test_csv_export_takes_a_page_when_asked(api: Any, desk: Desk) -> None:
    response = api("mallory").get("/failures.csv?limit=2&offset=1")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [row[1] for row in rows[1:]] == ["Handoff declined", "Customer driven to anger"]


def test_csv_export_with_semicolons_for_a_russian_excel(api: Any, desk: Desk) -> None:
    response = api("mallory").get("/failures.csv?sep=;&kind=anger")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:3] == ["occurred_at", "kind", "case"]
    assert len(rows) == 2
    assert rows[1][1] == "Customer driven to anger"
    assert api("mallory").get("/failures.csv?sep=|").status_code == 422
