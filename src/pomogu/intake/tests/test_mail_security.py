"""Mail-level attacks on our own endpoints and builders (RELIABILITY.md IN-8, IN-10, SC-8)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email.utils import getaddresses
from typing import Any

import pytest

from pomogu.cases import services as cases
from pomogu.cases.models import Case
from pomogu.contact import services as outbox
from pomogu.contact.models import OutboxKind, OutboxState
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


# CVE-2023-27043 shapes (and one like them), with what this machine's pyenv 3.11.7 makes of
# them (a patched interpreter gives ('', '') for each): addresses nobody wrote as the sender.
AMBIGUOUS_SENDERS = [
    "alice@example.org(<bob@example.com>",  # ('<bob@example.com>', 'alice@example.org')
    "alice@example.org)<bob@example.com>",  # alice and bob
    "alice@example.org<<bob@example.com>",  # alice and bob
    "alice@example.org <bob@example.com>",  # alice and bob
    "alice@example.org>bob@example.com",  # alice and bob
    "alice@example.org\\<bob@example.com>",  # bob
    "Alice <alice@example.org> bob@example.com",  # alice and bob
    "<alice@example.org><bob@example.com>",  # alice and bob
    "=?utf-8?q?bob@example.com?= <alice@example.org>",  # alice
    "a(x)@example.org",  # a@example.org, which is not written anywhere
]


def test_address_parsing_behaves_patched_for_cve_2023_27043() -> None:
    """SC-8: pomogu's own address parsing, not the interpreter's, decides who wrote a mail.

    On this machine's interpreter, which is vulnerable, every one of these gives an address (or
    two) through ``email.utils.getaddresses``; pomogu must give none, as a patched interpreter
    does. Without the checks in ``intake/parsing/_addresses.py`` this test fails here."""
    from pomogu.intake.parsing import parse, parse_addresses

    for value in AMBIGUOUS_SENDERS:
        assert parse_addresses([value], strict=True) == [], value
        assert parse_addresses([value], strict=False) == [], value
        raw = f"From: {value}\r\nCc: {value}\r\nSubject: x\r\n\r\nbody\r\n".encode()
        mail = parse(raw)
        assert (mail.from_address, mail.cc) == ("", []), value
    # What is plain stays plain.
    assert parse_addresses(['"bob@example.com" <alice@example.org>'], strict=True) == [
        ("bob@example.com", "alice@example.org")
    ]


def test_outbound_mail_behaves_patched_for_cve_2024_6923(cast: Cast) -> None:
    """SC-8: no header of mail we send carries a line break, raw or encoded.

    A case's subject is the customer's text. Written literally into our Subject as an encoded
    word, ``=?utf-8?q?hi=0ABcc:...?=`` is decoded by the receiving program, and an interpreter
    with CVE-2024-6923 (this machine's pyenv 3.11.7, or a relay on one) serialises the decoded
    newline raw: a Bcc of the attacker's choosing. Django 5.2 itself writes compat32 headers,
    which does not decode; pomogu's builder (``contact.services.build_message``) must make the
    headers safe whatever serialises them next, so the last two checks here fail on this
    interpreter without it."""
    from email import message_from_bytes, policy
    from email.header import decode_header, make_header
    from email.message import EmailMessage as ModernMessage

    from django.db import transaction

    case = cast.open_case()
    with transaction.atomic():
        row = outbox.enqueue_email(
            to_email="dave@customer.test",
            subject="=?utf-8?q?hi=0ABcc:_x@evil.test?= \r\nBcc: y@evil.test",
            body="b",
            kind=OutboxKind.REPLY,
            case=case,
            headers={"In-Reply-To": "<a@customer.test> =?utf-8?q?=0ABcc:_z@evil.test?="},
        )
    built = outbox.build_message(row).message()
    serialised = built.as_bytes()
    for injected in (b"Bcc:", b"X-Injected"):
        assert b"\n" + injected not in serialised
        assert b"\r" + injected not in serialised
    for name, value in message_from_bytes(serialised).items():
        decoded = str(make_header(decode_header(str(value))))
        assert "\n" not in decoded, name
        assert "\r" not in decoded, name
    # The stdlib's modern email API, as a relay (or a later Django) would set the header.
    modern = ModernMessage(policy=policy.default)
    modern["Subject"] = str(built["Subject"])
    assert b"\nBcc:" not in modern.as_bytes()
    assert b"\rBcc:" not in modern.as_bytes()


@pytest.mark.parametrize(
    "to_email",
    [
        "dave@customer.test, victim@evil.test",
        # Django would send this one, to victim@: only pomogu's own parse refuses it.
        '"dave@customer.test" <victim@evil.test>',
    ],
)
def test_outbound_mail_to_anything_but_one_address_fails_for_good(
    cast: Cast, settings: Any, to_email: str
) -> None:
    """SC-8, IN-8: a recipient is one plain address by pomogu's parse, so a stored value never
    becomes another or a second recipient, whatever the interpreter's or Django's parser makes
    of it; the row fails, the case's timeline says so, and nothing is sent."""
    from django.db import transaction

    case = cast.open_case()
    with transaction.atomic():
        row = outbox.enqueue_email(
            to_email=to_email,
            subject="s",
            body="b",
            kind=OutboxKind.REPLY,
            case=case,
        )
    with SmtpSink() as sink:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
        assert outbox.send_due() == 0
    row.refresh_from_db()
    assert row.state == OutboxState.FAILED
    assert sink.handler.envelopes == []
    assert case.events.filter(kind="outbound_failed").exists()


def test_libraries_behave_patched() -> None:
    """SC-8: aiosmtpd ≥ 1.4.5 (CVE-2024-27305: only CRLF.CRLF ends DATA, also tested on the
    wire above), and nh3 as pomogu uses it: none of the tags every known ammonia advisory
    needs (SVG, MathML and their animation and annotation tags) is allowed, and their proofs
    of concept come out without anything that runs."""
    from importlib.metadata import version

    from packaging.version import Version

    from pomogu.intake.parsing import sanitize_html
    from pomogu.intake.parsing._html import _TAGS

    assert Version(version("aiosmtpd")) >= Version("1.4.5")
    assert Version(version("nh3")) >= Version("0.3")
    assert not _TAGS & {"svg", "math", "annotation-xml", "set", "animate", "mglyph", "style"}
    for poc in (
        '<svg xmlns="http://www.w3.org/2000/svg"><a><set attributeName="href" '
        'to="javascript:alert(\'SET_XSS\')"></set><text y="30">Click</text></a></svg>',
        '<math><annotation-xml encoding="text/html"><style><img src=x onerror=alert(1)>'
        "</style></annotation-xml></math>",
        '<form><math><mtext></form><form><mglyph><svg><mtext><style><path id="</style>'
        '<img onerror=alert(1) src>">',
    ):
        cleaned = sanitize_html(poc).lower()
        assert "javascript:" not in cleaned
        assert "onerror" not in cleaned
        assert "<svg" not in cleaned
        assert "<math" not in cleaned
