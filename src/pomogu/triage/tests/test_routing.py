"""Routing on the desk (R1): misaddressed mail reaches the right team and the customer is told;
people's decisions train the router; unsure requests wait for a person; versions roll back."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command

from pomogu.cases import services as cases
from pomogu.cases.models import Case
from pomogu.contact.models import OutboxKind, OutboxMessage
from pomogu.core.errors import DomainError
from pomogu.core.testing import Cast
from pomogu.intake import services as intake
from pomogu.intake.models import Mailbox
from pomogu.triage import services as triage
from pomogu.triage.models import FeedbackKind, RouterVersion, RoutingDecision, RoutingFeedback

SUPPORT_REQUESTS = (
    "Не работает интернет\nПропал интернет, нет соединения\nРоутер не раздаёт Wi-Fi\n"
    "Низкая скорость, всё тормозит\nInternet is down\nThe router keeps dropping the connection\n"
    "No connection since this morning"
)
BILLING_REQUESTS = (
    "Пришёл неверный счёт\nДеньги списали дважды\nВерните переплату\nНужен акт сверки\n"
    "We were charged twice\nThe invoice is wrong\nPlease refund the overpayment"
)


@pytest.fixture
def trained(cast: Cast) -> Cast:
    cast.support.keywords = SUPPORT_REQUESTS
    cast.support.save()
    cast.billing.keywords = BILLING_REQUESTS
    cast.billing.save()
    triage.train(reason="test")
    return cast


def mail(subject: str, body: str, *, sender: str = "dave@customer.test", mid: str = "m1") -> bytes:
    return (
        f"From: Dave <{sender}>\r\nTo: buh@desk.test\r\nSubject: {subject}\r\n"
        f"Message-ID: <{mid}@customer.test>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        f"{body}\r\n"
    ).encode()


def _case_of(receipt: Any) -> Case:
    assert receipt.inbound.case_id is not None
    return Case.objects.get(pk=receipt.inbound.case_id)


def test_internet_outage_mailed_to_accounting_goes_to_support_and_the_ack_says_so(
    trained: Cast,
) -> None:
    accounting = Mailbox.objects.create(
        name="Бухгалтерия", address="buh@desk.test", team=trained.billing
    )
    raw = mail("Нет интернета", "Добрый день! С утра не работает интернет в офисе, роутер мигает.")
    receipt = intake.receive(
        raw,
        mailbox=accounting,
        recipient="buh@desk.test",
        envelope_from="dave@customer.test",
        source="lmtp",
    )
    case = _case_of(receipt)
    assert case.team == trained.support
    assert case.owner in (trained.alice, trained.bob)
    decision = RoutingDecision.objects.get(case=case)
    assert decision.source == "model"
    assert not decision.needs_person
    assert any("интернет" in words for words, _ in decision.evidence)
    ack = OutboxMessage.objects.get(case=case, kind=OutboxKind.ACKNOWLEDGEMENT)
    assert "Technical support" in ack.body
    assert "buh@desk.test" in ack.body  # "you wrote to …; we passed your message on"


def test_billing_question_mailed_to_billing_stays_there(trained: Cast) -> None:
    box = Mailbox.objects.create(name="Billing", address="buh@desk.test", team=trained.billing)
    raw = mail("Счёт", "Здравствуйте, деньги за март списали дважды, верните переплату.")
    receipt = intake.receive(raw, mailbox=box, recipient="buh@desk.test", source="lmtp")
    assert _case_of(receipt).team == trained.billing


def test_low_confidence_request_is_marked_unsure_and_lands_with_a_person(trained: Cast) -> None:
    box = Mailbox.objects.create(name="Billing", address="buh@desk.test", team=trained.billing)
    raw = mail("Вопрос", "Подскажите, пожалуйста, часы работы вашего офиса в праздники.")
    receipt = intake.receive(raw, mailbox=box, recipient="buh@desk.test", source="lmtp")
    case = _case_of(receipt)
    decision = RoutingDecision.objects.get(case=case)
    assert decision.unsure
    assert decision.needs_person
    # It waits with the mailbox's team, owned by a person there, and is listed for them.
    assert case.team == trained.billing
    assert case.owner == trained.carol
    assert Case.objects.filter(routing__needs_person=True).get() == case
    # The person decides; the decision is training data and the case is settled.
    triage.settle(case.pk, actor=trained.carol, team=trained.support)
    case.refresh_from_db()
    assert case.team == trained.support
    decision.refresh_from_db()
    assert not decision.needs_person
    assert decision.settled_by == trained.carol
    feedback = RoutingFeedback.objects.get(case=case)
    assert feedback.kind == FeedbackKind.CORRECTED
    assert feedback.team == trained.support


def test_a_correction_becomes_training_data_and_changes_the_next_decision(
    trained: Cast, settings: Any
) -> None:
    settings.POMOGU = {**settings.POMOGU, "ROUTER_RETRAIN_AFTER": 1}
    text = "Не приходит смс с кодом подтверждения для входа в личный кабинет"
    first = cases.open_case(customer=trained.dave, subject="Код", body=text)
    assert first.team == trained.support or first.routing.needs_person
    # Billing owns log-in codes here: an agent hands the case over and billing accepts.
    if first.team != trained.billing:
        handoff = cases.request_handoff(
            first.pk, actor=first.owner, to_team=trained.billing, reason="коды входа — у нас"
        )
        cases.accept_handoff(handoff.pk, actor=trained.carol)
    assert RoutingFeedback.objects.filter(case=first, kind=FeedbackKind.CORRECTED).exists()
    assert triage.new_feedback() == 1
    assert triage.retrain_due() == 1  # the runner's step retrains
    assert triage.retrain_due() == 0  # and not again without new feedback
    second = cases.open_case(customer=trained.erin, subject="Код", body=text)
    assert second.team == trained.billing
    assert not second.routing.needs_person


def test_not_ours_is_learned_as_a_request_no_team_owns(trained: Cast) -> None:
    texts = [
        "Какая погода будет завтра в Сочи?",
        "Посоветуйте хороший рецепт борща",
        "Who won the football match yesterday?",
    ]
    for i, text in enumerate(texts):
        case = cases.open_case(customer=trained.dave, subject=f"Вопрос {i}", body=text)
        triage.settle(case.pk, actor=trained.alice, not_ours=True)
    triage.train(reason="test")
    case = cases.open_case(customer=trained.erin, subject="Погода", body="Какая погода в Сочи?")
    decision = case.routing
    assert decision.needs_person  # a person answers it: never silently dropped
    assert decision.not_ours or decision.unsure
    assert case.owner is not None


def test_without_a_router_mail_goes_to_its_mailbox_team(cast: Cast) -> None:
    box = Mailbox.objects.create(name="Billing", address="buh@desk.test", team=cast.billing)
    raw = mail("Нет интернета", "Не работает интернет")
    receipt = intake.receive(raw, mailbox=box, recipient="buh@desk.test", source="lmtp")
    case = _case_of(receipt)
    assert case.team == cast.billing
    assert RoutingDecision.objects.get(case=case).source == "mailbox"


def test_train_keeps_versions_and_rolls_back(trained: Cast, capsys: Any) -> None:
    first = RouterVersion.objects.get(is_active=True)
    call_command("train")
    second = RouterVersion.objects.get(is_active=True)
    assert second.pk != first.pk
    assert second.checksum
    call_command("train", "--rollback")
    assert RouterVersion.objects.get(is_active=True).pk == first.pk
    call_command("train", "--list")
    out = capsys.readouterr().out
    assert f"* v{first.pk}" in out
    assert f"  v{second.pk}" in out
    # The process's cached model follows the active version.
    assert triage.active_model() is not None
    assert triage.active_model()[0] == first.pk  # type: ignore[index]


def test_training_needs_two_teams_worth_of_examples(cast: Cast) -> None:
    with pytest.raises(DomainError, match="two teams"):
        triage.train()


def test_routing_api_shows_why_and_takes_a_decision(trained: Cast, api: Any) -> None:
    case = cases.open_case(customer=trained.dave, subject="Интернет", body="Пропал интернет")
    bob = api("bob")
    shown = bob.get(f"/cases/{case.pk}/routing").json()
    assert shown["team_id"] == trained.support.pk
    assert shown["ranked"][0]["name"] == "Technical support"
    # carol (billing) cannot see the case, so she cannot route it either
    assert api("carol").post(f"/cases/{case.pk}/routing", {"team": "billing"}).status_code == 404
    answer = bob.post(f"/cases/{case.pk}/routing", {"team": "billing"})
    assert answer.status_code == 200, answer.content
    assert answer.json()["settled_by_id"] == trained.bob.pk
    assert Case.objects.get(pk=case.pk).team == trained.billing
    assert bob.post(f"/cases/{case.pk}/routing", {}).status_code == 422
    assert api("bob").get("/router/versions").status_code == 403
    assert len(api("mallory").get("/router/versions").json()) == 1
