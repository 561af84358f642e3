"""REL-5: outbound mail goes through the outbox, at least once, with a stable Message-ID; 4xx
and a dead relay are retried with backoff, 5xx is marked failed and shown on the case."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.db import transaction

from pomogu.cases import services
from pomogu.cases.choices import EventKind
from pomogu.cases.models import TimelineEvent
from pomogu.contact import services as outbox
from pomogu.contact.models import OutboxKind, OutboxMessage, OutboxState
from pomogu.core import clock, runner
from pomogu.core.smtp_sink import SmtpSink, free_port
from pomogu.core.testing import Cast


@pytest.fixture
def sink(settings: Any) -> Iterator[SmtpSink]:
    with SmtpSink() as server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = server.port
        settings.EMAIL_TIMEOUT = 5
        yield server


def reply(cast: Cast, text: str = "Мастер приедет завтра с 10 до 12.") -> OutboxMessage:
    case = cast.open_case()
    message = services.add_message(case.pk, actor=case.owner, body=text)
    return OutboxMessage.objects.get(message=message)


def test_reply_is_delivered_once_with_its_message_id(cast: Cast, sink: SmtpSink) -> None:
    row = reply(cast)
    assert outbox.send_due() == 1
    assert outbox.send_due() == 0  # a second pass finds nothing to do
    [mail] = sink.handler.received
    assert mail["Message-ID"] == row.rfc_message_id
    assert mail["To"] == "dave@customer.test"
    assert mail.get_content().strip() == "Мастер приедет завтра с 10 до 12."
    assert "Auto-Submitted" not in mail  # a person wrote it
    row.refresh_from_db()
    assert row.state == OutboxState.SENT
    assert row.attempts == 1


def test_reply_threads_under_the_customers_message(cast: Cast, sink: SmtpSink) -> None:
    case = services.open_case(
        customer=cast.dave, subject="Роутер", body="Не работает", message_id="<abc@customer.test>"
    )
    services.add_message(case.pk, actor=case.owner, body="Смотрим")
    outbox.send_due()
    [mail] = sink.handler.received
    assert mail["In-Reply-To"] == "<abc@customer.test>"
    assert mail["Subject"] == f"Re: Роутер {case.tag}"


def test_automated_mail_says_so(cast: Cast, sink: SmtpSink) -> None:
    case = cast.open_case()
    with transaction.atomic():
        outbox.enqueue_email(
            to_email="dave@customer.test",
            subject="Мы получили обращение",
            body="Номер обращения 1",
            kind=OutboxKind.ACKNOWLEDGEMENT,
            case=case,
            automated=True,
            dedupe_key=f"ack:{case.pk}",
        )
    outbox.send_due()
    assert sink.handler.received[0]["Auto-Submitted"] == "auto-replied"


@pytest.mark.django_db(transaction=True)
def test_enqueue_outside_a_transaction_is_refused(cast: Cast) -> None:
    with pytest.raises(RuntimeError):
        outbox.enqueue_email(
            to_email="dave@customer.test", subject="x", body="y", kind=OutboxKind.NOTIFICATION
        )


def test_temporary_failure_is_retried_with_backoff_and_sent_once(
    cast: Cast, sink: SmtpSink
) -> None:
    row = reply(cast)
    sink.handler.reply = "451 4.3.0 Try again later"
    assert outbox.send_due() == 0
    row.refresh_from_db()
    assert row.state == OutboxState.PENDING
    assert row.attempts == 1
    assert "451" in row.last_error
    assert row.next_attempt_at > clock.now() + dt.timedelta(seconds=20)
    assert outbox.send_due() == 0  # not due yet: backoff holds
    sink.handler.reply = ""
    with time_machine.travel(row.next_attempt_at + dt.timedelta(seconds=1), tick=False):
        assert outbox.send_due() == 1
    assert len(sink.handler.received) == 1
    assert sink.handler.received[0]["Message-ID"] == row.rfc_message_id


def test_permanent_failure_is_marked_and_shown_on_the_case(cast: Cast, sink: SmtpSink) -> None:
    row = reply(cast)
    sink.handler.reply = "550 5.1.1 No such mailbox"
    outbox.send_due()
    row.refresh_from_db()
    assert row.state == OutboxState.FAILED
    event = TimelineEvent.objects.get(case=row.case, kind=EventKind.OUTBOUND_FAILED)
    assert event.data["permanent"] is True
    assert "550" in event.data["error"]
    assert sink.handler.received == []


def test_relay_down_keeps_the_message_and_delivers_after_restart(cast: Cast, settings: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = free_port()  # nothing listens here
    settings.EMAIL_TIMEOUT = 2
    row = reply(cast)
    assert outbox.send_due() == 0
    row.refresh_from_db()
    assert row.state == OutboxState.PENDING
    assert "ConnectionRefused" in row.last_error
    with SmtpSink() as server:
        settings.EMAIL_PORT = server.port
        with time_machine.travel(row.next_attempt_at + dt.timedelta(seconds=1), tick=False):
            assert runner.run_once()["outbox"] == 1
        assert len(server.handler.received) == 1


def test_gives_up_after_the_configured_attempts(cast: Cast, sink: SmtpSink, settings: Any) -> None:
    settings.POMOGU = {**settings.POMOGU, "OUTBOX_MAX_ATTEMPTS": 2}
    row = reply(cast)
    sink.handler.reply = "421 4.7.0 Busy"
    outbox.send_due()
    row.refresh_from_db()
    with time_machine.travel(row.next_attempt_at + dt.timedelta(seconds=1), tick=False):
        outbox.send_due()
    row.refresh_from_db()
    assert row.state == OutboxState.FAILED
    assert row.attempts == 2
    assert TimelineEvent.objects.filter(case=row.case, kind=EventKind.OUTBOUND_FAILED).exists()


def test_only_one_worker_can_claim_a_row(cast: Cast) -> None:
    row = reply(cast)
    now = clock.now()
    assert outbox._claim(row.pk, now) is True
    assert outbox._claim(row.pk, now) is False
    # A claim whose worker died expires, and the row can be taken again.
    later = now + dt.timedelta(seconds=outbox.claim_seconds() + 1)
    assert outbox._claim(row.pk, later) is True


def test_one_automated_effect_per_key(cast: Cast) -> None:
    from django.db import IntegrityError

    case = cast.open_case()
    with transaction.atomic():
        outbox.enqueue_email(
            to_email="dave@customer.test",
            subject="a",
            body="b",
            kind=OutboxKind.ACKNOWLEDGEMENT,
            case=case,
            dedupe_key="ack:1",
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        outbox.enqueue_email(
            to_email="dave@customer.test",
            subject="a",
            body="b",
            kind=OutboxKind.ACKNOWLEDGEMENT,
            case=case,
            dedupe_key="ack:1",
        )
    assert OutboxMessage.objects.filter(dedupe_key="ack:1").count() == 1


def test_a_message_that_cannot_be_built_fails_for_good_without_blocking_others(
    cast: Cast, sink: SmtpSink
) -> None:
    broken = reply(cast)
    # A header with a newline is refused by Django (BadHeaderError, a ValueError).
    OutboxMessage.objects.filter(pk=broken.pk).update(headers={"X-Broken": "a\r\nBcc: x@y.test"})
    good = reply(cast, "Всё в порядке")
    assert outbox.send_due() == 1
    broken.refresh_from_db()
    good.refresh_from_db()
    assert broken.state == OutboxState.FAILED
    assert good.state == OutboxState.SENT
    assert TimelineEvent.objects.filter(case=broken.case, kind=EventKind.OUTBOUND_FAILED).exists()
    assert [m["Message-ID"] for m in sink.handler.received] == [good.rfc_message_id]
