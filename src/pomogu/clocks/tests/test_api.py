"""Time configured by script (DESIGN.md "Interfaces"): calendars, SLA policies, chains, absences;
a case's clocks, appointments, promises and escalations through the API."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from pomogu.clocks import services as clocks
from pomogu.clocks.models import Calendar, Escalation, EscalationChain, SlaPolicy
from pomogu.core.testing import Cast

MOSCOW = ZoneInfo("Europe/Moscow")
FRIDAY_1730 = dt.datetime(2026, 11, 27, 17, 30, tzinfo=MOSCOW)
OFFICE = {
    "timezone": "Europe/Moscow",
    "hours": {day: [["09:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
    "country": "RU",
}


@pytest.fixture
def friday() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(FRIDAY_1730, tick=False) as traveller:
        yield traveller


def test_an_installation_is_set_up_by_script(cast: Cast, api: Any, friday: Any) -> None:
    root = api("root")
    calendar = root.post("/calendars", {"name": "Москва", "config": OFFICE, "is_default": True})
    assert calendar.status_code == 201, calendar.content
    policy = root.post(
        "/sla-policies",
        {"name": "Поддержка", "team": "support", "first_response_minutes": 60},
    )
    assert policy.status_code == 201, policy.content
    assert policy.json()["team"]["slug"] == "support"
    chain = root._call(
        "put",
        "/escalation-chains/support",
        {
            "head": "mallory",
            "levels": [{"target": "team_lead", "ack_minutes": 30}, {"target": "head"}],
        },
    )
    assert chain.status_code == 200, chain.content
    assert [lv["target"] for lv in chain.json()["levels"]] == ["team_lead", "head"]
    assert EscalationChain.objects.get(team=cast.support).head == cast.mallory

    # A case opened on Friday at 17:30 in Moscow is due on Monday at 09:30.
    case = cast.open_case()
    clocks_out = api("bob").get(f"/cases/{case.pk}/clocks").json()
    expected = dt.datetime.fromisoformat(clocks_out["expected_answer_by"])
    assert expected == dt.datetime(2026, 11, 30, 9, 30, tzinfo=MOSCOW)


def test_configuration_is_for_administrators(cast: Cast, api: Any) -> None:
    assert api("bob").post("/calendars", {"name": "x", "config": OFFICE}).status_code == 403
    assert (
        api("alice").post("/sla-policies", {"name": "x", "first_response_minutes": 5}).status_code
        == 403
    )
    assert api(None).get("/calendars").status_code == 401
    assert not Calendar.objects.exists()
    assert not SlaPolicy.objects.exists()


@pytest.mark.parametrize(
    "config",
    [
        {"timezone": "Mars/Olympus", "hours": {"mon": [["09:00", "18:00"]]}},
        {"timezone": "UTC", "hours": {"mon": [["18:00", "09:00"]]}},
        {"timezone": "UTC", "hours": {"mon": [["09:00", "18:00"]]}, "closed": ["31.12.2026"]},
    ],
)
def test_a_bad_calendar_is_refused_with_a_clear_error(
    cast: Cast, api: Any, config: dict[str, Any]
) -> None:
    response = api("root").post("/calendars", {"name": "bad", "config": config})
    assert response.status_code in (400, 422)
    body = response.json()
    assert body["error"]
    assert body["detail"]
    assert not Calendar.objects.exists()


def test_absences_by_the_person_their_lead_or_a_manager_only(cast: Cast, api: Any) -> None:
    week = {"starts_at": "2026-12-01T09:00:00+03:00", "ends_at": "2026-12-08T09:00:00+03:00"}
    assert api("carol").post("/absences", {"user": "bob", **week}).status_code == 403
    own = api("bob").post("/absences", {"user": "bob", "deputy": "alice", **week})
    assert own.status_code == 201, own.content
    by_lead = api("alice").post("/absences", {"user": "bob", "kind": "sick", **week})
    assert by_lead.status_code == 201
    listed = api("mallory").get("/absences?user=bob").json()
    assert listed["count"] == 2
    assert api("carol")._call("delete", f"/absences/{own.json()['id']}").status_code == 403
    assert api("bob")._call("delete", f"/absences/{own.json()['id']}").status_code == 204


def test_appointments_promises_and_escalations_through_the_api(
    cast: Cast, api: Any, friday: time_machine.Coordinates
) -> None:
    case = cast.open_case()
    bob = api("bob")
    booked = bob.post(
        f"/cases/{case.pk}/appointments",
        {
            "starts_at": "2026-11-27T18:00:00+03:00",
            "ends_at": "2026-11-27T19:00:00+03:00",
            "place": "ул. Ленина, 1",
        },
    )
    assert booked.status_code == 201, booked.content
    report = bob.post(f"/appointments/{booked.json()['id']}/report", {"kept": True})
    assert report.json()["state"] == "kept"
    assert bob.post(f"/appointments/{booked.json()['id']}/report", {"kept": True}).status_code in (
        400,
        409,
        422,
    )

    promise = bob.post(
        f"/cases/{case.pk}/promises",
        {"text": "Перезвоню до 18:00", "due_at": "2026-11-27T18:00:00+03:00"},
    )
    assert promise.status_code == 201
    friday.shift(dt.timedelta(minutes=31))
    clocks.sweep()
    escalation = Escalation.objects.get(deadline__promise_id=promise.json()["id"])
    assert escalation.recipient == cast.alice
    mine = api("alice").get("/escalations").json()
    assert [e["id"] for e in mine["items"]] == [escalation.pk]
    # carol (billing) cannot see the case at all; bob sees it but it is not his to acknowledge.
    assert api("carol").post(f"/escalations/{escalation.pk}/acknowledge").status_code == 404
    assert api("bob").post(f"/escalations/{escalation.pk}/acknowledge").status_code == 403
    done = api("alice").post(f"/escalations/{escalation.pk}/acknowledge")
    assert done.json()["state"] == "acknowledged"
    kept = bob.post(f"/promises/{promise.json()['id']}/kept").json()
    assert kept["state"] == "kept"


def test_another_teams_case_is_not_found_for_clocks(cast: Cast, api: Any) -> None:
    case = cast.open_case(team=cast.billing)
    assert api("bob").get(f"/cases/{case.pk}/clocks").status_code == 404
    assert (
        api("bob")
        .post(f"/cases/{case.pk}/promises", {"text": "x", "due_at": "2026-12-01T10:00:00Z"})
        .status_code
        == 404
    )
