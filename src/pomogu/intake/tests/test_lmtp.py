"""Mail through the real LMTP endpoint (R1, REL-1..3, REL-8): accepted means committed, every
message becomes a case message, a held message or a quarantine item, and nothing twice."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from django.db import OperationalError

from pomogu.cases import services as cases
from pomogu.cases.choices import CaseState, MessageKind
from pomogu.cases.models import Case, Message
from pomogu.contact.models import OutboxKind, OutboxMessage, OutboxState
from pomogu.core.smtp_sink import free_port
from pomogu.core.testing import (
    Cast,
    database_url_for_subprocesses,
    wait_until_subprocesses_disconnect,
)
from pomogu.intake import lmtp
from pomogu.intake.models import InboundMessage, InboundState, Mailbox
from pomogu.intake.services import quick_message_id
from pomogu.intake.tests.lmtp_client import LmtpClient, dot_stuff
from pomogu.intake.tests.mails import customer_mail as mail

SHARED = Path(__file__).resolve().parents[5] / "shared" / "data"
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def endpoint(cast: Cast) -> Iterator[LmtpClient]:
    port = free_port()
    controller = lmtp.start("127.0.0.1", port)
    client = LmtpClient("127.0.0.1", port)
    yield client
    client.close()
    controller.stop()


@pytest.fixture
def billing_box(cast: Cast) -> Mailbox:
    return Mailbox.objects.create(name="Бухгалтерия", address="buh@desk.test", team=cast.billing)


def deliver(
    client: LmtpClient,
    raw: bytes,
    *,
    to: str = "support@desk.test",
    sender: str = "dave@customer.test",
) -> int:
    [reply] = client.send(sender, [to], raw)
    return reply.code


def test_new_mail_opens_a_case_and_is_acknowledged(endpoint: LmtpClient, cast: Cast) -> None:
    assert deliver(endpoint, mail()) == 250
    inbound = InboundMessage.objects.get()
    assert inbound.state == InboundState.PROCESSED
    case = Case.objects.get()
    assert inbound.case == case
    assert case.customer == cast.dave
    assert case.subject == "Нет интернета"
    assert case.team == cast.support  # unknown address: the desk's default team
    assert case.messages.get().body.strip() == "С утра не работает интернет."
    ack = OutboxMessage.objects.get(kind=OutboxKind.ACKNOWLEDGEMENT)
    assert ack.headers["Auto-Submitted"] == "auto-replied"
    assert ack.headers["X-Auto-Response-Suppress"] == "All"
    assert ack.to_email == "dave@customer.test"
    assert case.tag in ack.subject
    assert str(case.number) in ack.body
    assert case.owner.display_name in ack.body
    assert "Technical support" in ack.body


def test_acknowledgement_speaks_the_customers_language(endpoint: LmtpClient, cast: Cast) -> None:
    deliver(
        endpoint,
        mail(
            subject="Router down",
            body="Our office router is down since 9 am.\n",
            sender="erin@other.test",
        ),
        sender="erin@other.test",
    )
    deliver(endpoint, mail())
    english = OutboxMessage.objects.get(to_email="erin@other.test")
    russian = OutboxMessage.objects.get(to_email="dave@customer.test")
    assert "Thank you for writing" in english.body
    assert "Thank you for writing" not in russian.body
    assert any("\u0400" <= ch <= "\u04ff" for ch in russian.body)


def test_second_delivery_of_the_same_message_changes_nothing(
    endpoint: LmtpClient, cast: Cast
) -> None:
    raw = mail()
    assert deliver(endpoint, raw) == 250
    assert deliver(endpoint, raw) == 250
    assert InboundMessage.objects.count() == 1
    assert Case.objects.count() == 1
    assert Message.objects.count() == 1
    assert OutboxMessage.objects.count() == 1


def test_message_without_message_id_is_deduplicated_by_its_bytes(
    endpoint: LmtpClient, cast: Cast
) -> None:
    raw = b"From: dave@customer.test\r\nSubject: no id\r\n\r\nHello\r\n"
    deliver(endpoint, raw)
    deliver(endpoint, raw)
    assert Case.objects.count() == 1
    assert InboundMessage.objects.get().dedupe_key.endswith(InboundMessage.objects.get().sha256)


def test_one_reply_per_recipient_and_each_address_is_a_front_door(
    endpoint: LmtpClient, cast: Cast, billing_box: Mailbox
) -> None:
    replies = endpoint.send(
        "dave@customer.test",
        ["buh@desk.test", "nobody-configured@desk.test"],
        mail(to="buh@desk.test"),
    )
    assert [r.code for r in replies] == [250, 250]
    teams = set(Case.objects.values_list("team__slug", flat=True))
    assert teams == {"billing", "support"}


def test_misaddressed_request_is_routed_and_the_customer_told(
    endpoint: LmtpClient, cast: Cast, billing_box: Mailbox, monkeypatch: Any
) -> None:
    """R1: an outage mailed to accounting goes to technical support (the router decides; here
    a stand-in for the triage router), and the acknowledgement says so."""
    from pomogu.intake import routing
    from pomogu.triage.models import RoutingSource
    from pomogu.triage.services import Route

    monkeypatch.setattr(
        routing,
        "choose_team",
        lambda parsed, mailbox_team: Route(team=cast.support, source=RoutingSource.MODEL),
    )
    deliver(endpoint, mail(to="buh@desk.test"), to="buh@desk.test")
    case = Case.objects.get()
    assert case.team == cast.support
    ack = OutboxMessage.objects.get(kind=OutboxKind.ACKNOWLEDGEMENT)
    assert "buh@desk.test" in ack.body
    assert "Technical support" in ack.body or "Техническ" in ack.body or case.team.name in ack.body


def test_failure_before_commit_answers_451_and_stores_nothing(
    endpoint: LmtpClient, cast: Cast, monkeypatch: Any
) -> None:
    monkeypatch.setenv("POMOGU_FAULTS", "intake.after_raw_stored:raise")
    raw = mail()
    assert deliver(endpoint, raw) == 451
    assert InboundMessage.objects.count() == 0
    assert Case.objects.count() == 0
    monkeypatch.delenv("POMOGU_FAULTS")
    assert deliver(endpoint, raw) == 250  # the sending server's retry
    assert Case.objects.count() == 1


def test_poison_message_is_quarantined_byte_exact_and_the_next_one_goes_through(
    endpoint: LmtpClient, cast: Cast
) -> None:
    poison = b"From: dave@customer.test\r\nMessage-ID: <poison@customer.test>\r\n" + (
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n" * 3000
    )
    assert deliver(endpoint, poison) == 250
    assert deliver(endpoint, mail()) == 250
    held = InboundMessage.objects.get(rfc_message_id="<poison@customer.test>")
    assert held.state == InboundState.QUARANTINED
    assert held.reason.startswith("over_limit") or held.reason == "unparseable"
    assert bytes(held.raw) == dot_stuff(poison)
    assert Case.objects.count() == 1


def test_reply_threads_into_the_case_by_its_references(endpoint: LmtpClient, cast: Cast) -> None:
    deliver(endpoint, mail())
    case = Case.objects.get()
    reply = cases.add_message(
        case.pk, actor=case.owner, body="Перезагрузите роутер, пожалуйста.", wait_for_customer=True
    )
    answer = mail(
        subject=f"Re: Нет интернета {case.tag}",
        body="Перезагрузил, не помогло.\n",
        In_Reply_To=reply.message_id,
        References=reply.message_id,
    )
    deliver(endpoint, answer)
    case.refresh_from_db()
    assert Case.objects.count() == 1
    assert case.state == CaseState.OPEN
    assert case.messages.filter(kind=MessageKind.INBOUND).count() == 2


def test_reply_threads_by_subject_tag_when_headers_are_lost(
    endpoint: LmtpClient, cast: Cast
) -> None:
    deliver(endpoint, mail())
    case = Case.objects.get()
    deliver(endpoint, mail(subject=f"RE: {case.tag} ещё вопрос"))
    assert Case.objects.count() == 1
    assert case.messages.count() == 2


def test_a_guessed_tag_opens_a_new_case(endpoint: LmtpClient, cast: Cast) -> None:
    deliver(endpoint, mail())
    case = Case.objects.get()
    deliver(
        endpoint,
        mail(subject=f"Re: [#{case.number}-aaaaaaaaaaaaa] hello", sender="erin@other.test"),
        sender="erin@other.test",
    )
    assert Case.objects.count() == 2
    assert case.messages.count() == 1


def test_mail_from_a_stranger_to_a_case_is_held_for_an_agent(
    endpoint: LmtpClient, cast: Cast
) -> None:
    """AZ-7/AZ-8: a third party writing into a case thread does not reach the customer's
    thread, reopen anything or get any automatic answer."""
    deliver(endpoint, mail())
    case = Case.objects.get()
    deliver(
        endpoint,
        mail(
            sender="noreply@service.test",
            subject=f"Verify your account {case.tag}",
            body="Your code is 123456\n",
        ),
        sender="noreply@service.test",
    )
    inbound = InboundMessage.objects.get(envelope_from="noreply@service.test")
    assert inbound.state == InboundState.HELD
    held = case.messages.get(kind=MessageKind.HELD)
    assert "123456" in held.body
    assert OutboxMessage.objects.count() == 1  # only the first acknowledgement


def test_reply_to_a_resolved_case_reopens_it(endpoint: LmtpClient, cast: Cast) -> None:
    deliver(endpoint, mail())
    case = Case.objects.get()
    out = cases.add_message(case.pk, actor=case.owner, body="Заменили кабель.")
    cases.resolve(case.pk, actor=case.owner)
    deliver(
        endpoint,
        mail(subject="Re: Нет интернета", body="Опять не работает!\n", In_Reply_To=out.message_id),
    )
    case.refresh_from_db()
    assert case.state == CaseState.OPEN
    assert case.reopen_count == 1


# --- loops (REL-8, ML-1..4) ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto_Submitted": "auto-replied"},
        {"Precedence": "bulk"},
        {"List_Id": "<news.shop.test>", "Precedence": "list"},
        {"X_Auto_Response_Suppress": "All"},
    ],
)
def test_automatic_mail_gets_no_acknowledgement(
    endpoint: LmtpClient, cast: Cast, headers: dict[str, str]
) -> None:
    deliver(endpoint, mail(subject="Out of office", **headers))
    assert Case.objects.count() == 1  # still recorded: nothing is dropped
    assert not OutboxMessage.objects.exists()


def test_null_return_path_gets_no_acknowledgement(endpoint: LmtpClient, cast: Cast) -> None:
    [reply] = endpoint.send("", ["support@desk.test"], mail())
    assert reply.code == 250
    assert Case.objects.count() == 1
    assert not OutboxMessage.objects.exists()


def test_mirror_autoresponder_stops_within_the_budget(
    endpoint: LmtpClient, cast: Cast, settings: Any
) -> None:
    """A broken autoresponder that answers everything with a fresh message and no loop headers:
    the acknowledgements to it stop at the per-sender budget."""
    settings.POMOGU = {**settings.POMOGU, "ACK_PER_SENDER_PER_DAY": 3, "LOOP_BREAKER_PER_HOUR": 6}
    for turn in range(10):
        deliver(
            endpoint,
            mail(sender="robot@loop.test", subject=f"Re: your mail {turn}"),
            sender="robot@loop.test",
        )
    # The acknowledgements stop at the daily budget; past the hourly breaker the messages stop
    # becoming cases and wait in quarantine as a possible loop. All ten are kept.
    assert OutboxMessage.objects.filter(to_email="robot@loop.test").count() == 3
    rows = InboundMessage.objects.filter(envelope_from="robot@loop.test")
    assert rows.count() == 10
    assert rows.filter(state=InboundState.PROCESSED).count() == 6
    assert rows.filter(state=InboundState.QUARANTINED, reason="possible_loop").count() == 4
    assert Case.objects.count() == 6


def test_bounce_marks_the_reply_failed_on_its_case(endpoint: LmtpClient, cast: Cast) -> None:
    deliver(endpoint, mail())
    case = Case.objects.get()
    reply = cases.add_message(case.pk, actor=case.owner, body="Ответ")
    dsn = (
        "From: MAILER-DAEMON@mx.customer.test\r\n"
        "To: support@desk.test\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <dsn-1@mx.customer.test>\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.customer.test\r\n\r\n"
        "Final-Recipient: rfc822; dave@customer.test\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: {reply.message_id}\r\nSubject: Re: Нет интернета\r\n"
        "--B--\r\n"
    ).encode()
    [r] = endpoint.send("", ["support@desk.test"], dsn)
    assert r.code == 250
    row = OutboxMessage.objects.get(message=reply)
    assert row.state == OutboxState.FAILED
    assert case.events.filter(kind="outbound_failed").exists()
    assert Case.objects.count() == 1  # a bounce is not a customer's request


# --- the shared corpora: nothing lost, nothing twice -------------------------------------------


def test_every_corpus_message_becomes_a_case_message_or_a_quarantine_item(
    endpoint: LmtpClient, cast: Cast
) -> None:
    files = sorted((SHARED / "email_stdlib_cpython").glob("msg_*.txt"))
    assert len(files) >= 40
    for path in files:
        raw = path.read_bytes()
        assert deliver(endpoint, raw) == 250, path.name
        assert deliver(endpoint, raw) == 250, path.name  # redelivered: still once
    # What the endpoint should have stored: one row per distinct Message-ID (or, without one,
    # per distinct content), each byte for byte as it was on the wire.
    expected: dict[str, bytes] = {}
    for path in files:
        wire = dot_stuff(path.read_bytes())
        expected.setdefault(quick_message_id(wire) or hashlib.sha256(wire).hexdigest(), wire)
    rows = InboundMessage.objects.all()
    assert rows.count() == len(expected)
    for row in rows:
        assert bytes(row.raw) == expected[row.rfc_message_id or row.sha256]
    for row in rows:
        assert row.state in (InboundState.PROCESSED, InboundState.QUARANTINED, InboundState.HELD)
        if row.state == InboundState.QUARANTINED:
            assert row.reason, row.rfc_message_id
            assert row.reason != "pending", row.rfc_message_id
        else:
            assert row.case_id is not None or row.reason.startswith(("bounce", "own_address"))
    # Each stored message appears once; no message row without its inbound row.
    linked = rows.exclude(message__isnull=True).values_list("message_id", flat=True)
    assert len(list(linked)) == len(set(linked))


def test_partial_failure_answers_per_recipient_and_the_retry_adds_only_the_missing(
    endpoint: LmtpClient, cast: Cast, billing_box: Mailbox, monkeypatch: Any
) -> None:
    """FT-3: support@ succeeds, billing@'s write fails: replies 250 then 451, in RCPT order;
    the sender's retry to billing@ creates billing's case only."""
    from pomogu.intake import services as intake

    real = intake.receive

    def failing_for_billing(raw: bytes, **kwargs: Any) -> Any:
        if kwargs.get("recipient") == "buh@desk.test":
            raise OperationalError("disk I/O error")
        return real(raw, **kwargs)

    monkeypatch.setattr(lmtp, "receive", failing_for_billing)
    raw = mail(to="support@desk.test, buh@desk.test")
    replies = endpoint.send("dave@customer.test", ["support@desk.test", "buh@desk.test"], raw)
    assert [r.code for r in replies] == [250, 451]
    assert Case.objects.count() == 1
    monkeypatch.setattr(lmtp, "receive", real)
    [retry] = endpoint.send("dave@customer.test", ["buh@desk.test"], raw)
    assert retry.code == 250
    assert sorted(Case.objects.values_list("team__slug", flat=True)) == ["billing", "support"]


def test_a_reply_that_arrives_before_its_parent_lands_on_the_same_case(
    endpoint: LmtpClient, cast: Cast
) -> None:
    parent = mail(message_id="<parent@customer.test>", subject="Роутер", body="Не работает.\n")
    child = mail(
        message_id="<child@customer.test>",
        subject="Re: Роутер",
        body="Забыл: модель TP-Link.\n",
        In_Reply_To="<parent@customer.test>",
        References="<parent@customer.test>",
    )
    grandchild = mail(
        message_id="<grandchild@customer.test>",
        subject="Re: Роутер",
        body="И ещё: мигает.\n",
        References="<parent@customer.test> <child@customer.test>",
    )
    for raw in (grandchild, child, parent):  # the worst order a backlog can bring
        assert deliver(endpoint, raw) == 250
    case = Case.objects.get()
    assert case.messages.filter(kind=MessageKind.INBOUND).count() == 3


def _worker_pids(server: int) -> list[int]:
    """The worker processes of a `pomogu lmtp` process (not multiprocessing's helper)."""
    children = []
    for task in Path(f"/proc/{server}/task").glob("*/children"):
        children += [int(pid) for pid in task.read_text().split()]
    return [
        pid
        for pid in children
        if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
        and b"resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]


def test_several_processes_take_mail_and_a_dead_one_is_replaced(cast: Cast, tmp_path: Path) -> None:
    """`pomogu lmtp --processes 2`: two worker processes take the messages of all connections;
    when one dies, what it had is answered 451 (the sender retries) and new workers take over."""
    import signal
    import subprocess
    import sys
    from concurrent.futures import ThreadPoolExecutor

    port = free_port()
    env = {
        **os.environ,
        "POMOGU_DATA_DIR": str(tmp_path),
        "DATABASE_URL": database_url_for_subprocesses(),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "pomogu", "lmtp", "--port", str(port), "--processes", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )

    # One message per n: a retry is the same bytes, as an MTA's is. A 451 may be given for a
    # message the surviving worker committed (a broken pool fails every pending delivery),
    # and the retry must then be recognised, not stored again.
    raws = [mail(subject=f"Письмо {n}") for n in range(12)]

    def send(n: int) -> int:
        client = LmtpClient("127.0.0.1", port)
        try:
            [reply] = client.send("dave@customer.test", ["support@desk.test"], raws[n])
            return reply.code
        finally:
            client.close()

    try:
        assert process.stdout is not None
        assert "2 process(es)" in process.stdout.readline()
        assert len(_worker_pids(process.pid)) == 2  # both started before the banner
        with ThreadPoolExecutor(4) as connections:  # four connections at once
            assert list(connections.map(send, range(8))) == [250] * 8
        assert Case.objects.count() == 8
        os.kill(_worker_pids(process.pid)[0], signal.SIGKILL)
        codes = [send(n) for n in range(8, 12)]
        assert set(codes) <= {250, 451}
        assert codes[-1] == 250  # new workers took over
        retried = [send(n) for n, code in zip(range(8, 12), codes, strict=True) if code == 451]
        assert retried == [250] * len(retried)  # the sender's retries
        assert Case.objects.count() == 12
        assert InboundMessage.objects.count() == 12
    finally:
        process.terminate()
        process.wait(20)
        wait_until_subprocesses_disconnect()


# --- VERP: bounces and auto-replies to our own mail (ML-2, ML-4) -------------------------------


def _bare_dsn(status: str = "5.1.1") -> bytes:
    """A delivery report that does not quote the original message at all."""
    return (
        "From: MAILER-DAEMON@mx.customer.test\r\nTo: someone@desk.test\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <bare-dsn@mx.customer.test>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; "
        'boundary="B"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nNo such user.\r\n'
        "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.customer.test"
        f"\r\n\r\nFinal-Recipient: rfc822; dave@customer.test\r\nAction: failed\r\nStatus: {status}"
        "\r\n--B--\r\n"
    ).encode()


def test_outbound_mail_carries_a_signed_return_path(cast: Cast, settings: Any) -> None:
    from pomogu.contact import services as outbox
    from pomogu.core.smtp_sink import SmtpSink

    case = cast.open_case()
    cases.add_message(case.pk, actor=case.owner, body="Ответ")
    row = OutboxMessage.objects.get()
    with SmtpSink() as sink:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
        assert outbox.send_due() == 1
    [(mail_from, _rcpts)] = sink.handler.envelopes
    assert mail_from == outbox.return_path(row.pk)
    assert outbox.outbox_id_of_return_path(mail_from) == row.pk
    assert sink.handler.received[0]["From"] == settings.DEFAULT_FROM_EMAIL
    forged = mail_from.replace(f"-{row.pk}-", f"-{row.pk + 1}-")
    assert outbox.outbox_id_of_return_path(forged) is None


def test_bounce_to_the_return_path_fails_the_message_and_stops_automated_mail(
    endpoint: LmtpClient, cast: Cast
) -> None:
    from pomogu.contact.services import return_path

    deliver(endpoint, mail())
    case = Case.objects.get()
    reply = cases.add_message(case.pk, actor=case.owner, body="Ответ")
    row = OutboxMessage.objects.get(message=reply)
    [answer] = endpoint.send("", [return_path(row.pk)], _bare_dsn())
    assert answer.code == 250
    row.refresh_from_db()
    assert row.state == OutboxState.FAILED
    assert case.events.filter(kind="outbound_failed").exists()
    assert Case.objects.count() == 1  # a bounce is not a request
    cast.dave.refresh_from_db()
    assert cast.dave.mail_bounced_at is not None
    # The address bounces: a new request from it is taken, but not acknowledged.
    deliver(endpoint, mail(subject="Другой вопрос"))
    assert Case.objects.count() == 2
    assert OutboxMessage.objects.filter(kind=OutboxKind.ACKNOWLEDGEMENT).count() == 1


def test_out_of_office_to_the_return_path_is_only_recorded(
    endpoint: LmtpClient, cast: Cast
) -> None:
    from pomogu.contact.services import return_path

    deliver(endpoint, mail())
    ack = OutboxMessage.objects.get()
    ooo = mail(
        subject="Automatic reply: Нет интернета",
        Auto_Submitted="auto-replied",
        body="I am away until Monday.\n",
    )
    [answer] = endpoint.send("", [return_path(ack.pk)], ooo)
    assert answer.code == 250
    inbound = InboundMessage.objects.get(envelope_to=return_path(ack.pk))
    assert inbound.reason == "auto_reply_to_our_mail"
    ack.refresh_from_db()
    assert ack.state != OutboxState.FAILED
    assert Case.objects.count() == 1
    cast.dave.refresh_from_db()
    assert cast.dave.mail_bounced_at is None


def test_a_forged_return_path_is_ordinary_mail(endpoint: LmtpClient, cast: Cast) -> None:
    [answer] = endpoint.send("", ["support+bounce-1-000000000000@pomogu.localhost"], _bare_dsn())
    assert answer.code == 250
    assert InboundMessage.objects.get().reason == "bounce_unmatched"
    assert not OutboxMessage.objects.filter(state=OutboxState.FAILED).exists()


@pytest.fixture
def tiny_disk(tmp_path: Path, settings: Any) -> Iterator[Path | None]:
    """The attachment store on a real 1 MB tmpfs, when this machine lets us mount one."""
    import subprocess

    mountpoint = tmp_path / "attachments"
    mountpoint.mkdir()
    mounted = (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mountpoint)],
            capture_output=True,
            check=False,
        ).returncode
        == 0
    )
    settings.DATA_DIR = tmp_path
    yield mountpoint if mounted else None
    if mounted:
        subprocess.run(["umount", "-l", str(mountpoint)], capture_output=True, check=False)


def test_full_disk_for_attachments_is_451_and_the_retry_keeps_everything(
    endpoint: LmtpClient, cast: Cast, monkeypatch: Any, tiny_disk: Path | None
) -> None:
    """FT-8: the attachment store is full (a real 1 MB tmpfs when mount is allowed, else the
    store raising ENOSPC, the one mock RELIABILITY.md allows). No case without its attachments:
    all or nothing, 451, and the sender's retry after space is freed keeps everything."""
    import errno
    import subprocess

    from pomogu.intake import storage
    from pomogu.intake.models import Attachment

    picture = b"\x89PNG" + bytes(range(256)) * 8000  # about 2 MB: more than the tiny disk
    message = EmailMessage()
    message["From"] = "dave@customer.test"
    message["To"] = "support@desk.test"
    message["Subject"] = "Фото роутера"
    message["Message-ID"] = "<disk-full@customer.test>"
    message.set_content("Фото во вложении.")
    message.add_attachment(picture, maintype="image", subtype="png", filename="router.png")
    raw = message.as_bytes()

    if tiny_disk is None:

        def full(*args: Any, **kwargs: Any) -> Any:
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(storage, "save_attachment", full)
    assert deliver(endpoint, raw) == 451
    assert not InboundMessage.objects.exists()
    assert not Case.objects.exists()
    if tiny_disk is None:
        monkeypatch.undo()
    else:
        subprocess.run(["umount", "-l", str(tiny_disk)], check=True)  # space is freed
    assert deliver(endpoint, raw) == 250
    [attachment] = Attachment.objects.all()
    assert attachment.filename == "router.png"
    assert attachment.message.case == Case.objects.get()
    assert storage.path_of(attachment.storage_name).read_bytes() == picture
