"""R5 end to end: a repair that fails again reopens the old case for whoever resolved it; a
possible recurrence waits for an agent; cases merge and split."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import pytest

from pomogu.cases import recurrence
from pomogu.cases import services as cases
from pomogu.cases.choices import CaseState, EventKind, MessageKind, Resolution
from pomogu.cases.models import Case, Message, TimelineEvent
from pomogu.core import clock
from pomogu.core.smtp_sink import free_port
from pomogu.core.testing import Cast
from pomogu.failures.models import Failure
from pomogu.intake import lmtp
from pomogu.intake.models import InboundMessage
from pomogu.intake.tests.lmtp_client import LmtpClient


@pytest.fixture
def endpoint(cast: Cast) -> Iterator[LmtpClient]:
    port = free_port()
    controller = lmtp.start("127.0.0.1", port)
    client = LmtpClient("127.0.0.1", port)
    yield client
    client.close()
    controller.stop()


def mail(subject: str, body: str) -> bytes:
    message = EmailMessage()
    message["From"] = "dave@customer.test"
    message["To"] = "support@desk.test"
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="customer.test")
    message.set_content(body)
    return message.as_bytes()


def deliver(client: LmtpClient, raw: bytes) -> None:
    [reply] = client.send("dave@customer.test", ["support@desk.test"], raw)
    assert reply.code == 250


def repaired_router(cast: Cast, endpoint: LmtpClient, days_ago: int) -> Case:
    deliver(
        endpoint,
        mail(
            "Роутер обрывает соединение",
            "Здравствуйте! Роутер TP-Link Archer C6 каждые полчаса обрывает соединение, "
            "интернет пропадает на несколько минут.",
        ),
    )
    case = Case.objects.get()
    resolver = case.owner
    cases.add_message(case.pk, actor=resolver, body="Заменили блок питания роутера, проверьте.")
    cases.resolve(case.pk, actor=resolver, summary="Заменён блок питания роутера")
    # Resolved some days ago; since then the case went to someone else on the team.
    other = cast.alice if resolver != cast.alice else cast.bob
    Case.objects.filter(pk=case.pk).update(
        resolved_at=clock.now() - dt.timedelta(days=days_ago), owner=other
    )
    return Case.objects.get(pk=case.pk)


@pytest.mark.django_db(transaction=True)
def test_a_repair_that_fails_again_reopens_the_case_for_whoever_resolved_it(
    cast: Cast, endpoint: LmtpClient
) -> None:
    old = repaired_router(cast, endpoint, days_ago=14)
    old_owner = old.owner
    deliver(
        endpoint,
        mail(
            "Опять проблема с интернетом",
            "Добрый день. Роутер снова обрывает соединение, как и до ремонта, "
            "интернет пропадает каждые полчаса.",
        ),
    )
    assert Case.objects.count() == 1  # no "new problem"
    old.refresh_from_db()
    assert old.state == CaseState.OPEN
    assert old.owner == old.resolved_by  # who resolved it answers for the repair
    assert old.owner != old_owner
    assert old.reopen_count == 1
    assert InboundMessage.objects.filter(reason="recurrence", case=old).count() == 1
    assert old.messages.filter(kind=MessageKind.INBOUND).count() == 2
    failure = Failure.objects.get(kind="reopened", case=old)
    assert failure.team == cast.support
    reopened = TimelineEvent.objects.get(case=old, kind=EventKind.REOPENED)
    assert "came back" in reopened.data["reason"]


@pytest.mark.django_db(transaction=True)
def test_after_the_warranty_window_it_is_a_new_case(cast: Cast, endpoint: LmtpClient) -> None:
    repaired_router(cast, endpoint, days_ago=31)
    deliver(
        endpoint,
        mail("Интернет", "Роутер снова обрывает соединение, интернет пропадает каждые полчаса."),
    )
    assert Case.objects.count() == 2
    assert not Failure.objects.filter(kind="reopened").exists()


def test_a_teams_own_window_counts(cast: Cast) -> None:
    cast.support.warranty_days = 90
    cast.support.save()
    case = cast.open_case()
    assert recurrence.warranty_days(case) == 90
    cast.support.warranty_days = None
    cast.support.save()
    case.refresh_from_db()
    assert recurrence.warranty_days(case) == 30


def linked_pair(cast: Cast) -> tuple[Case, Case]:
    old = cast.open_case(subject="Роутер", body="Роутер мигает красным.")
    cases.add_message(old.pk, actor=old.owner, body="Перепрошили роутер, должно работать.")
    cases.resolve(old.pk, actor=old.owner)
    new = cast.open_case(subject="Интернет", body="Интернет работает медленно.")
    Case.objects.filter(pk=new.pk).update(possible_recurrence_of=old)
    return Case.objects.get(pk=old.pk), Case.objects.get(pk=new.pk)


def test_an_agent_confirms_a_possible_recurrence(api: Any, cast: Cast) -> None:
    old, new = linked_pair(cast)
    response = api("alice").post(f"/cases/{new.pk}/recurrence", json={"same": True})
    assert response.status_code == 200, response.content
    assert response.json()["id"] == old.pk
    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.state, old.owner) == (CaseState.OPEN, old.resolved_by)
    assert (new.merged_into, new.resolution) == (old, Resolution.DUPLICATE)
    assert Message.objects.filter(case=old, kind=MessageKind.INBOUND).count() == 2
    assert Failure.objects.filter(kind="reopened", case=old).count() == 1


def test_an_agent_dismisses_a_possible_recurrence(api: Any, cast: Cast) -> None:
    old, new = linked_pair(cast)
    response = api(new.owner.username).post(f"/cases/{new.pk}/recurrence", json={"same": False})
    assert response.status_code == 200, response.content
    new.refresh_from_db()
    assert new.possible_recurrence_of is None
    assert Case.objects.get(pk=old.pk).state == CaseState.RESOLVED
    again = api("alice").post(f"/cases/{new.pk}/recurrence", json={"same": False})
    assert again.status_code == 409


def test_merge_and_split(api: Any, cast: Cast) -> None:
    first = cast.open_case(subject="Интернет", body="Нет интернета.")
    second = cast.open_case(subject="Интернет опять", body="Интернета всё ещё нет.")
    merged = api("alice").post(f"/cases/{second.pk}/merge", json={"into_case_id": first.pk})
    assert merged.status_code == 200, merged.content
    assert Message.objects.filter(case=first).count() == 2
    other = cast.open_case(customer=cast.erin, subject="Счёт", body="Вопрос по счёту.")
    refused = api("mallory").post(f"/cases/{other.pk}/merge", json={"into_case_id": first.pk})
    assert refused.status_code == 409
    assert refused.json()["error"] == "merge_customer"

    cases.add_customer_message(first.pk, customer=cast.dave, body="И ещё: счёт пришёл двойной.")
    billing = Message.objects.filter(case=first, body__contains="счёт").get()
    split = api("alice").post(
        f"/cases/{first.pk}/split", json={"message_ids": [billing.pk], "subject": "Двойной счёт"}
    )
    assert split.status_code == 201, split.content
    new = Case.objects.get(pk=split.json()["id"])
    assert list(new.messages.values_list("pk", flat=True)) == [billing.pk]
    assert (new.customer, new.owner) == (cast.dave, first.owner)
    assert new.deadlines.exists() or not first.deadlines.exists()  # clocks like any new case
    everything = list(first.messages.filter(kind=MessageKind.INBOUND).values_list("pk", flat=True))
    refused = api("alice").post(
        f"/cases/{first.pk}/split", json={"message_ids": everything, "subject": "Всё"}
    )
    assert refused.status_code == 409


@pytest.mark.django_db(transaction=True)
def test_a_thank_you_is_kept_on_the_solved_case_and_reopens_nothing(
    cast: Cast, endpoint: LmtpClient
) -> None:
    old = repaired_router(cast, endpoint, days_ago=2)
    deliver(endpoint, mail("Спасибо", "Спасибо большое, после замены блока всё работает!"))
    assert Case.objects.count() == 1
    old.refresh_from_db()
    assert old.state == CaseState.RESOLVED
    assert old.messages.filter(kind=MessageKind.INBOUND).count() == 2
    assert InboundMessage.objects.filter(reason="thanks", case=old).exists()
    assert not Failure.objects.filter(kind="reopened").exists()


def test_the_web_form_and_the_api_reopen_a_recurring_problem_too(api: Any, cast: Cast) -> None:
    old = cast.open_case(
        subject="Роутер обрывает соединение",
        body="Роутер TP-Link Archer C6 каждые полчаса обрывает соединение.",
    )
    resolver = old.owner
    cases.add_message(old.pk, actor=resolver, body="Заменили блок питания роутера.")
    cases.resolve(old.pk, actor=resolver, summary="Заменён блок питания роутера")
    response = api("bob").post(
        "/cases",
        json={
            "customer": {"email": "dave@customer.test"},
            "subject": "Снова пропадает интернет",
            "body": "Роутер опять обрывает соединение каждые полчаса, как до ремонта.",
        },
    )
    assert response.status_code == 201, response.content
    assert response.json()["id"] == old.pk
    old.refresh_from_db()
    assert (old.state, old.owner, old.reopen_count) == (CaseState.OPEN, resolver, 1)
    assert Case.objects.count() == 1
