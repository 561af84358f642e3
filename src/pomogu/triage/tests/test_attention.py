"""An angry customer is never ignored (R3): priority goes up, the lead is told with the case's
history and the reasons, the message is kept as written; a calm one changes nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.db import transaction
from django.test import Client
from django.urls import reverse

from pomogu.cases import services as cases
from pomogu.cases.choices import EventKind, Priority
from pomogu.cases.models import Case, Message, Notification, TimelineEvent
from pomogu.contact.models import OutboxKind, OutboxMessage
from pomogu.core import clock
from pomogu.core.testing import PASSWORD, Cast
from pomogu.intake import services as intake
from pomogu.people import services as people
from pomogu.triage import attention
from pomogu.triage.anger import assess

ANGRY_RU = (
    "Вы там совсем о#уели?! Третий день нет интернета, это п.и.з.д.е.ц какой-то. "
    "Если завтра не почините, ухожу к конкурентам!"
)
CALM_RU = (
    "Здравствуйте. Третий день нет интернета, завтра он очень нужен для работы. "
    "Пожалуйста, посмотрите, что случилось."
)


def _inbound(case: Case) -> Message:
    return case.messages.filter(kind="inbound").latest("id")


def test_angry_russian_message_with_disguised_swearing_raises_priority_and_tells_the_lead(
    cast: Cast,
) -> None:
    case = cast.open_case(subject="Нет интернета", body=ANGRY_RU)
    case.refresh_from_db()
    message = _inbound(case)

    assert message.body == ANGRY_RU  # kept verbatim
    assert message.anger_score is not None
    assert message.anger_score >= 0.7
    fragments = {(r["kind"], r["fragment"]) for r in message.anger_reasons}
    assert ("profanity", "о#уели") in fragments
    assert ("profanity", "п.и.з.д.е.ц") in fragments
    assert any(kind == "threat" and "конкурент" in frag for kind, frag in fragments)

    assert case.priority == Priority.URGENT
    raised = TimelineEvent.objects.get(case=case, kind=EventKind.PRIORITY)
    assert raised.data["from"] == Priority.NORMAL
    assert raised.data["to"] == Priority.URGENT

    note = Notification.objects.get(case=case)
    assert note.recipient == cast.alice  # lead of technical support
    assert note.kind == "anger"
    assert "о#уели" in note.body
    assert "п.и.з.д.е.ц" in note.body
    assert f"#{case.number}" in note.title

    email = OutboxMessage.objects.get(case=case, kind=OutboxKind.NOTIFICATION)
    assert email.to_email == "alice@desk.test"
    assert email.dedupe_key == f"anger-lead:{message.pk}"
    assert email.headers.get("Auto-Submitted") == "auto-replied"
    assert "о#уели" in email.body

    anger = TimelineEvent.objects.get(case=case, kind=EventKind.ANGER)
    assert anger.data["lead_notified"] == "alice"
    assert anger.data["message_id"] == message.pk


def test_a_calm_message_about_the_same_problem_changes_nothing(cast: Cast) -> None:
    case = cast.open_case(subject="Нет интернета", body=CALM_RU)
    case.refresh_from_db()
    message = _inbound(case)

    assert message.anger_score is not None
    assert message.anger_score < 0.5
    assert case.priority == Priority.NORMAL
    assert not Notification.objects.filter(case=case).exists()
    assert not OutboxMessage.objects.filter(case=case, kind=OutboxKind.NOTIFICATION).exists()
    assert not TimelineEvent.objects.filter(
        case=case, kind__in=[EventKind.ANGER, EventKind.PRIORITY]
    ).exists()


def test_english_insult_and_shouting_is_noticed(cast: Cast) -> None:
    case = cast.open_case(
        subject="Internet down",
        body="YOU IDIOTS, my internet has been down for 3 days. Fix this sh1t NOW!!!",
    )
    case.refresh_from_db()
    message = _inbound(case)
    assert message.language == "en"
    kinds = {r["kind"] for r in message.anger_reasons}
    assert {"profanity", "insult"} <= kinds
    assert case.priority == Priority.URGENT
    assert Notification.objects.filter(case=case, recipient=cast.alice).exists()


def test_between_the_two_thresholds_priority_goes_up_but_the_lead_is_not_told(
    cast: Cast, settings: Any
) -> None:
    shouted_threat = "ИНТЕРНЕТА НЕТ ТРЕТИЙ ДЕНЬ!!! Буду жаловаться!"
    score = assess(shouted_threat, language="ru").score
    assert 0.3 < score < 0.9
    percent = round(score * 100)
    settings.POMOGU = {
        **settings.POMOGU,
        "ANGER_PRIORITY_AT": percent - 5,
        "ANGER_NOTIFY_AT": percent + 5,
    }
    case = cast.open_case(subject="Нет интернета", body=shouted_threat)
    case.refresh_from_db()
    assert case.priority == Priority.HIGH
    assert not Notification.objects.filter(case=case).exists()
    assert TimelineEvent.objects.get(case=case, kind=EventKind.ANGER).data["lead_notified"] == ""


def test_anger_on_a_follow_up_keeps_a_higher_priority_and_reports_the_history(
    cast: Cast,
) -> None:
    case = cast.open_case(subject="Нет интернета", body=CALM_RU)
    cases.set_priority(case.pk, actor=cast.alice, priority=Priority.URGENT)
    cases.add_message(case.pk, actor=cast.bob, body="Проверяем линию, напишем до вечера.")
    cases.add_customer_message(case.pk, customer=cast.dave, body="Прошёл день, ничего не работает.")
    handoff = cases.request_handoff(
        case.pk, actor=cast.alice, to_team=cast.billing, reason="Может, это из-за оплаты?"
    )
    cases.decline_handoff(handoff.pk, actor=cast.carol, reason="Оплата в порядке.")
    with time_machine.travel(clock.now() + dt.timedelta(hours=30)):
        cases.add_customer_message(case.pk, customer=cast.dave, body=ANGRY_RU)

    case.refresh_from_db()
    assert case.priority == Priority.URGENT  # never lowered by the detector
    raises = TimelineEvent.objects.filter(case=case, kind=EventKind.PRIORITY)
    assert [e.actor for e in raises] == [cast.alice]  # only the lead's own change
    note = Notification.objects.get(case=case)
    # Two unanswered customer messages, the older one waiting for 30 hours; one declined handoff.
    assert "unanswered customer messages: 2" in note.body
    assert "30 hours" in note.body
    assert "handoffs: 1, declined or timed out: 1" in note.body


def test_the_lead_away_means_their_deputy_is_told(cast: Cast) -> None:
    now = clock.now()
    people.add_absence(
        cast.alice,
        starts_at=now - dt.timedelta(hours=1),
        ends_at=now + dt.timedelta(days=3),
        deputy=cast.bob,
    )
    case = cast.open_case(subject="Нет интернета", body=ANGRY_RU)
    note = Notification.objects.get(case=case)
    assert note.recipient == cast.bob
    assert OutboxMessage.objects.get(case=case, kind=OutboxKind.NOTIFICATION).to_email == (
        "bob@desk.test"
    )


def test_a_team_without_a_lead_falls_back_to_the_default_teams_lead(cast: Cast) -> None:
    cast.billing.lead = None
    cast.billing.save()
    case = cast.open_case(team=cast.billing, subject="Счёт", body=ANGRY_RU)
    assert Notification.objects.get(case=case).recipient == cast.alice


def test_the_notification_is_written_in_the_leads_language(cast: Cast) -> None:
    cast.alice.language = "ru"
    cast.alice.save()
    case = cast.open_case(subject="Нет интернета", body=ANGRY_RU)
    note = Notification.objects.get(case=case)
    assert note.title.startswith(f"Рассерженный клиент, обращение #{case.number}")
    assert "История обращения" in note.body


def test_mail_from_an_angry_customer_is_noticed_on_arrival(cast: Cast) -> None:
    raw = (
        "From: Dave <dave@customer.test>\r\nTo: support@desk.test\r\nSubject: =?utf-8?b?"
        "0J3QtdGCINC40L3RgtC10YDQvdC10YLQsA==?=\r\nMessage-ID: <angry-1@customer.test>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        f"{ANGRY_RU}\r\n"
    ).encode()
    receipt = intake.receive(raw, mailbox=None, recipient="support@desk.test", source="lmtp")
    assert receipt.inbound.case_id is not None
    case = Case.objects.get(pk=receipt.inbound.case_id)
    assert case.priority == Priority.URGENT
    assert Notification.objects.filter(case=case, recipient=cast.alice).exists()


def test_if_the_message_cannot_be_recorded_nothing_of_the_anger_is_kept(cast: Cast) -> None:
    case = cast.open_case(subject="Нет интернета", body=CALM_RU)

    def record_then_fail() -> None:
        with transaction.atomic():
            cases.add_customer_message(case.pk, customer=cast.dave, body=ANGRY_RU)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        record_then_fail()
    case.refresh_from_db()
    assert case.priority == Priority.NORMAL
    assert not Notification.objects.filter(case=case).exists()
    assert not OutboxMessage.objects.filter(case=case, kind=OutboxKind.NOTIFICATION).exists()


def test_the_case_page_shows_the_reasons_and_the_lead_sees_the_notification(
    cast: Cast, client: Client
) -> None:
    case = cast.open_case(subject="Нет интернета", body=ANGRY_RU)
    assert client.login(username="alice", password=PASSWORD)
    page = client.get(reverse("desk:case", kwargs={"number": case.number})).content.decode()
    assert "о#уели" in page
    assert "п.и.з.д.е.ц" in page
    assert "chip--anger" in page
    home = client.get(reverse("desk:home")).content.decode()
    note = Notification.objects.get(case=case)
    assert f'id="notification-{note.pk}"' in home
    assert "For your attention" in home


def test_history_counts_only_what_happened(cast: Cast) -> None:
    case = cast.open_case(subject="Нет интернета", body=CALM_RU)
    history = attention.history_of(Case.objects.get(pk=case.pk))
    assert history.customer_messages == 1
    assert history.unanswered == 1
    assert history.replies == 0
    assert history.handoffs == 0
    cases.add_message(case.pk, actor=cast.bob, body="Смотрим.")
    history = attention.history_of(Case.objects.get(pk=case.pk))
    assert history.unanswered == 0
    assert history.replies == 1
    assert history.waited == dt.timedelta(0)


def test_only_the_recipient_can_mark_a_notification_dealt_with(cast: Cast, client: Client) -> None:
    case = cast.open_case(subject="Нет интернета", body=ANGRY_RU)
    note = Notification.objects.get(case=case)
    url = reverse("desk:notification_seen", kwargs={"notification_id": note.pk})

    assert client.login(username="carol", password=PASSWORD)
    assert client.post(url).status_code == 404
    note.refresh_from_db()
    assert note.read_at is None

    assert client.login(username="alice", password=PASSWORD)
    assert client.post(url).status_code == 302
    note.refresh_from_db()
    assert note.read_at is not None
    assert f'id="notification-{note.pk}"' not in client.get(reverse("desk:home")).content.decode()
    assert client.post(url).status_code == 302  # twice is harmless
