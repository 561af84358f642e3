"""Mail-level attacks on our own endpoints (RELIABILITY.md IN-8, IN-10, SC-8)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email.utils import getaddresses
from typing import Any

import pytest

from pomogu.cases import services as cases
from pomogu.cases.models import Case
from pomogu.contact import services as outbox
from pomogu.core.smtp_sink import SmtpSink, free_port
from pomogu.core.testing import Cast
from pomogu.intake import lmtp
from pomogu.intake.models import InboundMessage

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def port(cast: Cast) -> Iterator[int]:
    number = free_port()
    controller = lmtp.start("127.0.0.1", number)
    yield number
    controller.stop()


def _talk(port: int, payload: bytes) -> bytes:
    """Send a pipelined session and read until the server has answered the end of data."""
    answer = b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(payload)
        while b"250 2.0.0" not in answer and b"451 " not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        sock.sendall(b"QUIT\r\n")
    return answer


@pytest.mark.parametrize(
    "smuggle",
    [b"\n.\r\n", b"\n.\n", b"\r\n.\n", b"\r.\r", b"\r\n.\r"],
    ids=["LF.CRLF", "LF.LF", "CRLF.LF", "CR.CR", "CRLF.CR"],
)
def test_smuggled_end_of_data_makes_one_message(port: int, smuggle: bytes) -> None:
    """IN-10: only CRLF.CRLF ends DATA; a second MAIL FROM hidden behind a bare-LF or bare-CR
    "end" is body text of the first message, not a second message."""
    first = (
        b"From: dave@customer.test\r\nTo: support@desk.test\r\nSubject: one\r\n"
        b"Message-ID: <smuggle-1@customer.test>\r\n\r\nHello"
    )
    hidden = (
        b"MAIL FROM:<attacker@evil.test>\r\nRCPT TO:<support@desk.test>\r\nDATA\r\n"
        b"From: ceo@desk.test\r\nSubject: wire the money\r\n"
        b"Message-ID: <smuggle-2@evil.test>\r\n\r\nsmuggled\r\n"
    )
    session = (
        b"LHLO attacker\r\nMAIL FROM:<dave@customer.test>\r\nRCPT TO:<support@desk.test>\r\n"
        b"DATA\r\n" + first + smuggle + hidden + b"\r\n.\r\n"
    )
    answer = _talk(port, session)
    assert answer.count(b"250 2.0.0") == 1, answer
    assert InboundMessage.objects.count() == 1
    assert not InboundMessage.objects.filter(rfc_message_id="<smuggle-2@evil.test>").exists()
    assert Case.objects.count() == 1
    assert b"smuggled" in bytes(InboundMessage.objects.get().raw)


def test_header_injection_from_a_customer_never_reaches_outbound_headers(
    cast: Cast, settings: Any
) -> None:
    """IN-8: CR/LF and encoded newlines in what a customer controls (name, subject) never add a
    header or a recipient to mail we send."""
    from pomogu.intake.services import receive

    raw = (
        b"From: =?utf-8?q?Eve=0D=0AX-Injected:_yes?= <eve@customer.test>\r\n"
        b"To: support@desk.test\r\n"
        b"Subject: =?utf-8?q?hi=0ABcc:_victim@evil.test?=\r\n"
        b"Message-ID: <inject@customer.test>\r\n\r\nHello\r\n"
    )
    receive(
        raw,
        mailbox=None,
        recipient="support@desk.test",
        source="lmtp",
        envelope_from="eve@customer.test",
    )
    case = Case.objects.get()
    assert "\n" not in case.subject
    assert "\r" not in case.subject
    assert "\n" not in case.customer.name
    cases.add_message(case.pk, actor=case.owner, body="Ответ")
    with SmtpSink() as sink:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
        sent = outbox.send_due()
    assert sent == 2  # the acknowledgement and the reply
    for (_mail_from, recipients), message in zip(
        sink.handler.envelopes, sink.handler.received, strict=True
    ):
        assert recipients == ["eve@customer.test"]
        assert "Bcc" not in message
        assert "X-Injected" not in message
        assert all(
            "victim@evil.test" not in addr
            for _n, addr in getaddresses(message.get_all("To", []) + message.get_all("Cc", []))
        )
        for name, value in message.items():
            assert "\n" not in str(value).replace("\r\n ", "").replace("\n ", ""), name


def test_outbound_mail_behaves_patched_for_known_email_cves() -> None:
    """SC-8: behaviour guards, not version checks, on the paths pomogu uses.

    CVE-2023-27043: a crafted address must not yield the hidden one (address parsing).
    CVE-2024-6923: an encoded-word with a newline must not become a header line in mail we send.
    This machine's interpreter (pyenv's 3.11.7) is itself vulnerable to CVE-2024-6923 through
    ``email.policy.default``; pomogu's outbound mail is built by Django's compat32 messages,
    which this test covers, and nothing serialises customer text with ``policy.default``.
    """
    from django.core.mail import EmailMessage

    from pomogu.intake.parsing import parse

    parsed = getaddresses(["alice@example.org(<bob@example.com>"])
    assert all(addr != "bob@example.com" for _name, addr in parsed)
    mail = parse(b"From: alice@example.org(<bob@example.com>\r\nSubject: x\r\n\r\nbody\r\n")
    assert mail.from_address != "bob@example.com"

    outbound = EmailMessage(
        subject="=?utf-8?q?hi=0ABcc:_x@evil.test?=",
        body="b",
        from_email="desk@desk.test",
        to=["dave@customer.test"],
        headers={"Message-ID": "<g@desk.test>"},
    )
    serialised = outbound.message().as_bytes()
    assert b"\nBcc:" not in serialised
    assert b"\rBcc:" not in serialised
