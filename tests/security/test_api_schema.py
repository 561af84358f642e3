"""SC-4 (RELIABILITY.md §7.7): the API keeps the promises of its own OpenAPI document.

schemathesis reads ``/api/v1/openapi.json`` from the WSGI app in-process and sends every
operation generated requests as each role: an agent (bob), a team lead (alice), a manager
(mallory), an administrator (root), and nobody (no token, a wrong token). Every answer must be
a documented status with a documented content type and body, and never a 5xx. Path parameters
and references in bodies and queries often name real objects of a small world (cases, a
handoff, a contractor task, an escalation...), so the requests reach past the 404.

The budget is small for CI; ``POMOGU_SCHEMATHESIS_EXAMPLES=200`` makes a nightly run.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import hypothesis
import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from django.test import override_settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

# Examples per operation and role: small for CI (the file runs in well under a minute on two
# slow cores); a nightly run raises it through the environment.
EXAMPLES = int(os.environ.get("POMOGU_SCHEMATHESIS_EXAMPLES", "10"))

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    unsupported_method,
    allow_header_conformance,
]

CONFIG = schemathesis.Config.from_dict(
    {
        "generation": {
            "max-examples": EXAMPLES,
            # Derandomized and without the example database: the same requests on every run.
            "deterministic": True,
            "database": "none",
            # The roles' tokens are sent by the test; a generated Authorization header would
            # only make every role look anonymous.
            "with-security-parameters": False,
        },
        # The coverage phase adds each parameter's boundaries and the methods a path does not
        # have: a fixed set, not counted in max-examples, about half the file's time.
        "phases": {"coverage": {"enabled": True}},
    }
)

schema = schemathesis.openapi.from_wsgi(
    "/api/v1/openapi.json", get_wsgi_application(), config=CONFIG
)

STAFF = ("bob", "alice", "mallory", "root")


@dataclass
class World:
    """Tokens of the roles and the ids requests should often name."""

    tokens: dict[str, str] = field(default_factory=dict)
    # Values for a path parameter, body field or query parameter of that name.
    refs: dict[str, list[Any]] = field(default_factory=dict)


WORLD = World()


def _build_world() -> World:
    from pomogu.cases import recurrence
    from pomogu.cases import services as cases
    from pomogu.cases.choices import MessageKind
    from pomogu.clocks import services as clocks
    from pomogu.clocks.models import (
        Calendar,
        Escalation,
        EscalationChain,
        EscalationLevel,
        SlaPolicy,
    )
    from pomogu.contact import governor
    from pomogu.contact.models import GuardPhrase
    from pomogu.core import clock
    from pomogu.core.testing import make_cast
    from pomogu.intake import services as intake
    from pomogu.people import services as people
    from pomogu.triage import services as triage

    cast = make_cast()
    now = clock.now()
    tokens = {name: people.create_token(getattr(cast, name)) for name in STAFF}

    # Support's cases: one open with a reply, one resolved, one offered to billing.
    open_case = cast.open_case(subject="Нет интернета", body="С утра нет связи.")
    cases.add_message(
        open_case.pk, actor=open_case.owner, body="Проверим линию и напишу вам до 18:00."
    )
    cases.add_message(open_case.pk, actor=cast.alice, body="Линия в порядке", kind=MessageKind.NOTE)
    resolved = cast.open_case(subject="Счёт за май", body="Пришёл двойной счёт.")
    cases.add_message(resolved.pk, actor=resolved.owner, body="Исправили, извините.")
    cases.resolve(resolved.pk, actor=resolved.owner)
    offered = cast.open_case(subject="Оплата не прошла", body="Карта отклонена.")
    to_billing = cases.request_handoff(
        offered.pk, actor=offered.owner, to_team=cast.billing, reason="Вопрос по оплате"
    )
    # One answered and ready to resolve; one with two requests in it, to split; one that may
    # be the resolved case's problem again.
    answered = cast.open_case(subject="Смена тарифа", body="Хочу тариф подешевле.")
    cases.add_message(answered.pk, actor=answered.owner, body="Перевели вас на тариф «Базовый».")
    twice = cast.open_case(subject="Два вопроса", body="Не работает почта.")
    second = cases.add_customer_message(twice.pk, customer=cast.dave, body="И ещё: не пришёл счёт.")
    again = cast.open_case(subject="Снова двойной счёт", body="Опять пришёл двойной счёт.")
    recurrence.link(again, SimpleNamespace(case_id=resolved.pk, score=0.7, reasons=["счёт"]))
    # The router chose this one's team (the others' teams were given), so it has a decision.
    routed = cases.open_case(customer=cast.erin, subject="Не приходит СМС", body="Код не приходит.")
    # Billing's cases: one support cannot see, one offered to support.
    hidden = cast.open_case(customer=cast.erin, team=cast.billing, subject="Возврат")
    incoming = cast.open_case(customer=cast.erin, team=cast.billing, subject="Роутер мигает")
    to_support = cases.request_handoff(
        incoming.pk, actor=incoming.owner, to_team=cast.support, reason="Это техника"
    )
    task = cases.add_contractor_task(
        open_case.pk, actor=open_case.owner, contractor="Кабельщики", description="Проверить ввод"
    )
    appointment = clocks.schedule_appointment(
        open_case.pk,
        actor=open_case.owner,
        staff=open_case.owner,
        starts_at=now + dt.timedelta(days=1),
        ends_at=now + dt.timedelta(days=1, hours=1),
        place="ул. Ленина, 1",
    )
    # A promise already overdue: the sweep breaks it and escalates to the team lead.
    promise = clocks.make_promise(
        open_case.pk, actor=open_case.owner, text="Перезвоню", due_at=now - dt.timedelta(hours=1)
    )
    clocks.sweep()
    escalation = Escalation.objects.filter(case=open_case).first()
    absence = people.add_absence(
        cast.bob, starts_at=now + dt.timedelta(days=7), ends_at=now + dt.timedelta(days=9)
    )
    calendar = Calendar.objects.create(
        name="Москва",
        config={"timezone": "Europe/Moscow", "hours": {"mon": [["09:00", "18:00"]]}},
    )
    policy = SlaPolicy.objects.create(
        name="Поддержка", team=cast.support, first_response_minutes=60
    )
    chain = EscalationChain.objects.create(team=cast.support, head=cast.mallory)
    EscalationLevel.objects.create(chain=chain, position=1, target="team_lead", ack_minutes=30)
    phrase = GuardPhrase.objects.create(text="обратитесь в другой отдел", created_by=cast.root)
    with transaction.atomic():
        governor.contact(
            customer=cast.dave,
            purpose="callback",
            case=open_case,
            channel="phone",
            reason="Обещали перезвонить",
        )
    # Two router versions, so that there is one to roll back to.
    triage.train(reason="first")
    triage.train(reason="second")
    poison = (
        b"From: dave@customer.test\r\nMessage-ID: <q1@customer.test>\r\n"
        + b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n" * 3000
    )
    inbound = intake.receive(poison, mailbox=None, recipient="support@desk.test", source="api")
    messages = list(open_case.messages.values_list("pk", flat=True))

    case_ids = [
        open_case.pk,
        resolved.pk,
        offered.pk,
        hidden.pk,
        incoming.pk,
        routed.pk,
        answered.pk,
        twice.pk,
        again.pk,
    ]
    teams = ["support", "billing", cast.support.pk]
    staff = ["bob", "alice", "carol", "mallory", cast.bob.pk]
    customers = [cast.dave.pk, cast.erin.pk]
    refs: dict[str, list[Any]] = {
        "case_id": case_ids,
        "into_case_id": case_ids,
        "case": case_ids,
        "handoff_id": [to_billing.pk, to_support.pk],
        "task_id": [task.pk],
        "team_ref": ["support", "billing", "default", str(cast.support.pk)],
        "customer_id": customers,
        "customer": customers,
        "inbound_id": [inbound.inbound.pk],
        "calendar_id": [calendar.pk],
        "calendar": [calendar.pk],
        "policy_id": [policy.pk],
        "absence_id": [absence.pk],
        "appointment_id": [appointment.pk],
        "promise_id": [promise.pk],
        "escalation_id": [escalation.pk] if escalation else [],
        "phrase_id": [phrase.pk],
        "message_ids": [messages[:1], messages, [second.pk]],
        "team": teams,
        "to_team": teams,
        "to_user": staff,
        "user": staff,
        "deputy": staff,
        "staff": staff,
        "head": staff,
        "lead": staff,
        "person": staff,
        "owner": ["me", "bob", "alice"],
    }
    return World(tokens=tokens, refs=refs)


@pytest.fixture(scope="module")
def world(django_db_setup: Any, django_db_blocker: Any) -> Iterator[World]:
    """One world for the module, built once (in an outer transaction that is rolled back at the
    end); each test runs in a savepoint of it, so a test's requests do not leak into the next."""
    # The WSGI handler closes the connection after each request (as Django's test client stops
    # it from doing); that would end the test's transaction with its data.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]),
    ):
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            built = _build_world()
            WORLD.tokens, WORLD.refs = built.tokens, built.refs
            yield built
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)


def _with_real_refs(values: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """The values, with each one that names an object often swapped for a real one of the world
    (read when the example is drawn, after the world is built)."""
    choices = {
        name: st.sampled_from([value, *WORLD.refs[name]])
        for name, value in values.items()
        if WORLD.refs.get(name)
    }
    return st.fixed_dictionaries(choices).map(lambda picked: {**values, **picked})


@schema.hook
def flatmap_case(context: Any, case: Case) -> st.SearchStrategy[Case]:
    """Real ids in the parts of a case generated to be valid. A part generated to be invalid
    stays as it is, or the API would rightly accept it and schemathesis would call that a
    failure to reject invalid data."""

    def valid(location: ParameterLocation) -> bool:
        info = case.meta.components.get(location) if case.meta else None
        return info is None or info.mode == GenerationMode.POSITIVE

    parts: dict[str, st.SearchStrategy[Any]] = {}
    if case.path_parameters and valid(ParameterLocation.PATH):
        parts["path_parameters"] = _with_real_refs(case.path_parameters)
    if case.query and valid(ParameterLocation.QUERY):
        parts["query"] = _with_real_refs(case.query)
    if isinstance(case.body, dict) and valid(ParameterLocation.BODY):
        parts["body"] = _with_real_refs(case.body)

    def apply(picked: dict[str, Any]) -> Case:
        for name, value in picked.items():
            setattr(case, name, value)
        return case

    return st.fixed_dictionaries(parts).map(apply)


SHARED_STATE = hypothesis.settings(
    # The world is shared by a test's examples on purpose: a resolve after a resolve meets a
    # resolved case, which is part of what is tested.
    suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture],
)


@pytest.mark.parametrize("role", STAFF)
@schema.parametrize()
@SHARED_STATE
def test_every_answer_is_documented(case: Case, role: str, world: World, db: Any) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {world.tokens[role]}"}, checks=CHECKS)


@pytest.mark.parametrize("authorization", [None, "Bearer pmg_not-a-real-token"])
@schema.parametrize()
# Fewer examples: the token is checked before anything else is read. The world is there so
# that paths name real objects too: a 401 for them, never a 404 that tells what exists.
@hypothesis.settings(SHARED_STATE, max_examples=max(2, EXAMPLES // 5))
def test_without_a_valid_token_every_operation_is_401(
    case: Case, authorization: str | None, world: World, db: Any
) -> None:
    headers = {"Authorization": authorization} if authorization else None
    response = case.call_and_validate(headers=headers, checks=CHECKS)
    if case.method.lower() != case.operation.method.lower():
        # A method the path does not have: 405, whoever asks.
        assert response.status_code == 405, response.text
        return
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "unauthorized"
