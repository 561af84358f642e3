"""The REST API: the flows DESIGN.md promises, JSON errors, and 404 for whoever may not see."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from pomogu.api import api as ninja_api
from pomogu.cases import services
from pomogu.cases.models import Case, ContractorTask, Handoff
from pomogu.contact.models import OutboxMessage
from pomogu.core import clock
from pomogu.core.testing import Cast

NEW_CASE = {
    "customer": {"email": "dave@customer.test", "name": "Dave Customer"},
    "subject": "Не работает интернет",
    "body": "С утра нет связи, роутер мигает красным.",
    "channel": "email",
}


def test_creating_a_case_returns_it_with_team_and_owner(cast: Cast, api: Any) -> None:
    response = api("bob").post("/cases", NEW_CASE)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["state"] == "new"
    assert body["team"]["slug"] == "support"
    assert body["owner"]["username"] in {"alice", "bob"}
    assert body["priority"] == "normal"
    assert body["number"] == body["id"]
    case = Case.objects.get(pk=body["id"])
    assert case.created_by == cast.bob
    assert case.messages.get().body == NEW_CASE["body"]


def test_case_for_another_team_is_created_and_owned_there(cast: Cast, api: Any) -> None:
    response = api("bob").post("/cases", {**NEW_CASE, "team": "billing"})
    assert response.status_code == 201
    assert response.json()["team"]["slug"] == "billing"
    assert response.json()["owner"]["username"] == "carol"


def test_handoff_leaves_owner_unchanged_until_accepted(cast: Cast, api: Any) -> None:
    created = api("bob").post("/cases", NEW_CASE).json()
    case_id, owner = created["id"], created["owner"]
    owner_client = api(owner["username"])

    handoff = owner_client.post(
        f"/cases/{case_id}/handoffs", {"to_team": "billing", "reason": "Вопрос по оплате"}
    )
    assert handoff.status_code == 201, handoff.content
    assert handoff.json()["state"] == "requested"
    after_request = owner_client.get(f"/cases/{case_id}").json()
    assert after_request["owner"] == owner
    assert after_request["pending_handoff"] == handoff.json()["id"]

    carol = api("carol")
    assert [h["id"] for h in carol.get("/handoffs").json()["items"]] == [handoff.json()["id"]]
    accepted = carol.post(f"/handoffs/{handoff.json()['id']}/accept")
    assert accepted.status_code == 200, accepted.content
    assert accepted.json()["state"] == "accepted"
    after_accept = carol.get(f"/cases/{case_id}").json()
    assert after_accept["owner"]["username"] == "carol"
    assert after_accept["team"]["slug"] == "billing"
    assert after_accept["pending_handoff"] is None
    kinds = [e["kind"] for e in carol.get(f"/cases/{case_id}/timeline").json()]
    assert kinds[-3:] == ["handoff_accepted", "team", "assigned"]


def test_declined_handoff_via_api_keeps_owner(cast: Cast, api: Any) -> None:
    case = cast.open_case()
    owner = api(case.owner.username)
    handoff = owner.post(f"/cases/{case.pk}/handoffs", {"to_team": "billing", "reason": "счёт"})
    declined = api("carol").post(
        f"/handoffs/{handoff.json()['id']}/decline", {"reason": "Это не оплата, это авария"}
    )
    assert declined.status_code == 200
    assert declined.json()["decline_reason"] == "Это не оплата, это авария"
    assert owner.get(f"/cases/{case.pk}").json()["owner"]["id"] == case.owner_id


def test_reply_is_queued_for_the_customer(cast: Cast, api: Any) -> None:
    case = cast.open_case()
    response = api(case.owner.username).post(
        f"/cases/{case.pk}/messages", {"body": "Мастер приедет завтра в 10:00.", "kind": "reply"}
    )
    assert response.status_code == 201
    outbound = OutboxMessage.objects.get(case=case)
    assert outbound.to_email == "dave@customer.test"
    assert outbound.body == "Мастер приедет завтра в 10:00."
    assert outbound.subject.endswith(case.tag)
    assert len(case.thread_token) == 13
    detail = api(case.owner.username).get(f"/cases/{case.pk}").json()
    assert detail["state"] == "open"
    assert [m["kind"] for m in detail["messages"]] == ["inbound", "reply"]


def test_note_is_not_sent_to_anyone(cast: Cast, api: Any) -> None:
    case = cast.open_case()
    response = api("alice").post(
        f"/cases/{case.pk}/messages", {"body": "Проверить линию", "kind": "note"}
    )
    assert response.status_code == 201
    assert not OutboxMessage.objects.exists()


def test_rule_refusal_is_a_json_conflict(cast: Cast, api: Any) -> None:
    case = cast.open_case()
    response = api(case.owner.username).post(f"/cases/{case.pk}/resolve", {})
    assert response.status_code == 409
    assert response.json()["error"] == "customer_not_answered"
    assert response.json()["detail"]


def test_list_is_paginated_and_scoped(cast: Cast, api: Any) -> None:
    for _ in range(3):
        cast.open_case()
    cast.open_case(team=cast.billing)
    bob_list = api("bob").get("/cases?limit=2").json()
    assert bob_list["count"] == 3
    assert len(bob_list["items"]) == 2
    carol_list = api("carol").get("/cases").json()
    assert carol_list["count"] == 1
    assert api("mallory").get("/cases").json()["count"] == 4
    assert api("bob").get("/cases?team=support&state=new").json()["count"] == 3


def test_list_query_count_does_not_grow_with_cases(
    cast: Cast, api: Any, django_assert_max_num_queries: Any
) -> None:
    client = api("mallory")
    client.get("/cases")  # token lookup cached in last_used_at
    for _ in range(25):
        cast.open_case()
    with django_assert_max_num_queries(6):
        response = client.get("/cases?limit=25")
    assert len(response.json()["items"]) == 25


# --- errors for bad input: clear 4xx, never a 500 ----------------------------------------------


def test_anonymous_and_bad_tokens_get_401(cast: Cast, api: Any) -> None:
    for client in (api(None), _with_header("Bearer pmg_not-a-real-token"), _with_header("Basic x")):
        response = client.get("/cases")
        assert response.status_code == 401
        assert response.json()["error"] == "unauthorized"


def _with_header(value: str) -> Any:
    from django.test import Client

    class C:
        def get(self, path: str) -> Any:
            return Client().get("/api/v1" + path, headers={"Authorization": value})

    return C()


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"customer": {"email": "not-an-address"}, "subject": "x", "body": "y"},
        {**NEW_CASE, "channel": "carrier-pigeon"},
        {**NEW_CASE, "priority": "whenever"},
        {**NEW_CASE, "owner": 1},  # mass assignment: unknown fields are refused
        {**NEW_CASE, "subject": ""},
        {**NEW_CASE, "customer": {}},
    ],
)
def test_invalid_case_is_a_422_with_json(cast: Cast, api: Any, payload: dict[str, Any]) -> None:
    response = api("bob").post("/cases", payload)
    assert response.status_code == 422, response.content
    assert response.json()["error"] in {"validation", "invalid_email", "customer_contact_missing"}
    assert not Case.objects.exists()


def test_malformed_json_is_a_400(cast: Cast, api: Any) -> None:
    client = api("bob")
    response = client.client.post(
        "/api/v1/cases",
        data=b'{"subject": ',
        content_type="application/json",
        headers=client.headers,
    )
    assert response.status_code in (400, 422)
    assert "error" in response.json()


def test_unknown_team_is_404(cast: Cast, api: Any) -> None:
    response = api("bob").post("/cases", {**NEW_CASE, "team": "no-such-team"})
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


# --- authorization: every endpoint with an object answers 404 to whoever may not see it -------

PATH_PARAM = re.compile(r"\{(\w+)\}")


def _operations() -> list[tuple[str, str]]:
    schema = ninja_api.get_openapi_schema()
    ops = []
    for path, methods in schema["paths"].items():
        for method in methods:
            ops.append((method.upper(), path.removeprefix("/api/v1")))
    return ops


def _bodies() -> dict[str, dict[str, Any]]:
    return {
        "/cases/{case_id}/messages": {"body": "x", "kind": "reply"},
        "/cases/{case_id}/handoffs": {"to_team": "billing", "reason": "x"},
        "/handoffs/{handoff_id}/decline": {"reason": "x"},
        "/appointments/{appointment_id}/report": {"kept": True},
        "/cases/{case_id}/appointments": {
            "starts_at": "2030-01-01T10:00:00Z",
            "ends_at": "2030-01-01T11:00:00Z",
        },
        "/cases/{case_id}/promises": {"text": "x", "due_at": "2030-01-01T10:00:00Z"},
        "/cases/{case_id}/assign": {"to_user": "bob"},
        "/cases/{case_id}/reopen": {"reason": "x"},
        "/cases/{case_id}/contractor-tasks": {"contractor": "x", "description": "y"},
        "/contractor-tasks/{task_id}/finish": {"outcome": "x"},
        "/teams/{team_ref}/members": {"user": "carol"},
        "/cases/{case_id}/routing": {"team": "billing"},
        "/cases/{case_id}/recurrence": {"same": True},
        "/cases/{case_id}/merge": {"into_case_id": 1},
        "/cases/{case_id}/split": {"message_ids": [1], "subject": "x"},
        "/customers/{customer_id}/contact-preferences": {"channels": ["email"]},
    }


def test_every_object_endpoint_answers_404_to_an_outsider(cast: Cast, api: Any) -> None:
    """carol (Billing) must see nothing of Technical support's; the list of endpoints comes from
    the OpenAPI document, so a new endpoint without a scope check fails here."""
    case = cast.open_case()
    services.add_message(case.pk, actor=case.owner, body="Смотрим")
    # A handoff between two support members: invisible to billing.
    services.assign(case.pk, actor=cast.alice, to_user=cast.alice)
    handoff = services.request_handoff(
        case.pk, actor=cast.alice, to_team=cast.support, to_user=cast.bob, reason="тебе"
    )
    task = services.add_contractor_task(
        case.pk, actor=cast.alice, contractor="ООО Кабель", description="кабель", wait=False
    )
    from pomogu.intake.models import Mailbox
    from pomogu.intake.services import receive

    box = Mailbox.objects.create(name="Support", address="support@desk.test", team=cast.support)
    inbound = receive(
        "From: dave@customer.test\r\nSubject: x\r\nMessage-ID: <m@c.test>\r\n\r\n"
        "Нет интернета\r\n".encode(),
        mailbox=box,
        source="api",
    ).inbound
    from pomogu.clocks import services as clocks
    from pomogu.clocks.models import Deadline, DeadlineKind

    visit = clocks.schedule_appointment(
        case.pk,
        actor=cast.alice,
        staff=cast.bob,
        starts_at=clock.now() + dt.timedelta(hours=1),
        ends_at=clock.now() + dt.timedelta(hours=2),
    )
    promise = clocks.make_promise(
        case.pk, actor=cast.alice, text="Перезвоню", due_at=clock.now() + dt.timedelta(hours=1)
    )
    missed = Deadline.objects.get(promise=promise, kind=DeadlineKind.PROMISE)
    escalation = clocks.escalate(missed, level=1, at=clock.now())
    assert escalation is not None
    ids = {
        "inbound_id": inbound.pk,
        "case_id": case.pk,
        "handoff_id": handoff.pk,
        "task_id": task.pk,
        "customer_id": cast.dave.pk,
        "appointment_id": visit.pk,
        "promise_id": promise.pk,
        "escalation_id": escalation.pk,
    }
    # Teams are not secret from staff, and configuration (calendars, policies, chains,
    # absences) follows the administrator's rules, not a case's.
    not_object_scoped = {"team_ref", "calendar_id", "policy_id", "absence_id", "phrase_id"}
    carol = api("carol")
    checked = 0
    for method, path in _operations():
        params = PATH_PARAM.findall(path)
        if not params or set(params) <= not_object_scoped:
            continue
        url = PATH_PARAM.sub(lambda m: str(ids[m.group(1)]), path)
        body = _bodies().get(path, {})
        response = carol._call(method.lower(), url, None if method == "GET" else body)
        assert response.status_code == 404, (method, path, response.status_code, response.content)
        assert response.json()["error"] == "not_found"
        assert "Нет интернета" not in response.content.decode()
        checked += 1
    assert checked >= 14
    # Nothing changed for anyone.
    case.refresh_from_db()
    assert case.owner == cast.alice
    assert Handoff.objects.get(pk=handoff.pk).state == "requested"
    assert ContractorTask.objects.get(pk=task.pk).state == "open"


def test_outsider_does_not_see_the_case_in_lists_or_customers(cast: Cast, api: Any) -> None:
    cast.open_case()
    carol = api("carol")
    assert carol.get("/cases").json()["count"] == 0
    assert carol.get("/customers").json()["count"] == 0
    assert carol.get(f"/customers/{cast.dave.pk}").status_code == 404
    assert carol.get("/handoffs").json()["count"] == 0


def test_every_route_needs_a_token(cast: Cast, api: Any) -> None:
    anonymous = api(None)
    for method, path in _operations():
        url = PATH_PARAM.sub("1", path)
        response = anonymous._call(method.lower(), url, None if method == "GET" else {})
        assert response.status_code == 401, (method, path)


def test_configuration_needs_an_administrator(cast: Cast, api: Any) -> None:
    team = {"name": "Продажи", "slug": "sales"}
    assert api("bob").post("/teams", team).status_code == 403
    created = api("root").post("/teams", {**team, "lead": "carol"})
    assert created.status_code == 201
    assert created.json()["lead"]["username"] == "carol"
    assert api("bob").post("/customers", {"email": "x@y.test"}).status_code == 403
