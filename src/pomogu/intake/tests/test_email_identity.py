"""Who a mail is from, and what that lets them do (RELIABILITY.md AZ-7, AZ-8, SEC-3, SEC-9).

Everything goes through ``intake.services.receive``, the one entry for mail, and is judged where
a customer would see it: the case's thread, the outbox (every mail the desk will send) and the
portal. "CANARY" words mark what an outsider wrote, so a test can look for them everywhere.

What the desk cannot do is written down here too: without SPF/DKIM results it cannot tell a
forged ``From:`` from a real one, so a forged message may join the case it names (AZ-7 (b)).
What it can promise, and what is tested, is that nothing automatic sends case content to any
address but the case's customer's, whatever the headers say.
"""

from __future__ import annotations

import hashlib
import math
import re
from typing import Any

import pytest
from django.test import Client

from pomogu.cases import services as cases
from pomogu.cases.choices import CaseState, MessageKind, Priority
from pomogu.cases.models import THREAD_TOKEN_ALPHABET, Case, Message, new_thread_token
from pomogu.contact import services as outbox
from pomogu.contact.models import OutboxKind, OutboxMessage
from pomogu.core.smtp_sink import SmtpSink
from pomogu.core.testing import Cast
from pomogu.intake import services
from pomogu.intake.models import InboundMessage, InboundState
from pomogu.intake.tests.mails import customer_mail as mail
from pomogu.people.models import Customer
from pomogu.portal.queries import thread_of
from pomogu.portal.tests.support import sign_in

DAVE = "dave@customer.test"
ATTACKER = "attacker@evil.test"
CANARY = "CANARY-7f3a"


@pytest.fixture(autouse=True)
def _data_dir(settings: Any, tmp_path: Any) -> None:
    settings.DATA_DIR = tmp_path  # attachment files of a test go to its own directory


def receive(
    raw: bytes, *, envelope_from: str = DAVE, recipient: str = "support@desk.test"
) -> InboundMessage:
    return services.receive(
        raw, mailbox=None, recipient=recipient, envelope_from=envelope_from, source="lmtp"
    ).inbound


@pytest.fixture
def answered(cast: Cast) -> tuple[Case, OutboxMessage]:
    """Dave's case by mail, answered by its owner: the reply's Message-ID is what a stranger
    would put in In-Reply-To."""
    receive(mail())
    case = Case.objects.get()
    reply = cases.add_message(case.pk, actor=case.owner, body="Проверяем линию.")
    return case, OutboxMessage.objects.get(message=reply)


def assert_outbox_only_for(addresses: set[str]) -> None:
    """Every mail the desk will send goes to these addresses and quotes no canary."""
    for row in OutboxMessage.objects.all():
        assert row.to_email.lower() in addresses, (row.kind, row.to_email)
        assert CANARY not in row.subject + row.body + str(row.headers), row.kind


def portal_page(client: Client, case: Case) -> Any:
    return client.get(f"/my/cases/{case.number}/")


# --- AZ-7 (a): a stranger in the thread ------------------------------------------------------


def test_a_stranger_answering_the_thread_is_held_never_shown_as_the_customers(
    answered: tuple[Case, OutboxMessage],
) -> None:
    case, reply = answered
    sent_before = OutboxMessage.objects.count()
    inbound = receive(
        mail(
            sender=ATTACKER,
            subject=f"Re: Нет интернета {case.tag}",
            body=f"{CANARY} please resend everything to me\n",
            In_Reply_To=reply.rfc_message_id,
            References=reply.rfc_message_id,
        ),
        envelope_from=ATTACKER,
    )
    assert (inbound.state, inbound.reason, inbound.case) == (
        InboundState.HELD,
        "not_a_participant",
        case,
    )
    held = case.messages.get(kind=MessageKind.HELD)
    assert held.customer is not None
    assert held.customer.email == ATTACKER  # kept for staff under its real sender
    assert list(case.messages.filter(kind=MessageKind.INBOUND).values_list("customer__email")) == [
        (DAVE,)
    ]
    assert all(CANARY not in message.body for message in thread_of(case))
    assert OutboxMessage.objects.count() == sent_before  # no acknowledgement, no answer

    # The customer's next mail from the desk neither quotes it nor answers it.
    cases.add_message(case.pk, actor=case.owner, body="Линию починили.")
    latest = OutboxMessage.objects.latest("id")
    assert latest.headers.get("In-Reply-To") != held.message_id
    assert_outbox_only_for({DAVE})

    # Nor does the portal, where the customer reads the case.
    page = portal_page(sign_in(Client(), DAVE), case)
    assert page.status_code == 200
    assert CANARY not in page.content.decode()


def test_a_stranger_cannot_reopen_a_solved_case_or_sign_in_to_it(
    answered: tuple[Case, OutboxMessage],
) -> None:
    case, _reply = answered
    cases.resolve(case.pk, actor=case.owner)
    receive(
        mail(sender=ATTACKER, subject=f"Re: {case.tag}", body=f"{CANARY} reopen\n"),
        envelope_from=ATTACKER,
    )
    case.refresh_from_db()
    assert (case.state, case.reopen_count) == (CaseState.RESOLVED, 0)
    # Writing in made the stranger a customer of the desk: they can sign in to the portal,
    # and find there nothing of the case they wrote into.
    client = sign_in(Client(), ATTACKER)
    assert portal_page(client, case).status_code == 404
    assert case.subject not in client.get("/my/").content.decode()
    assert_outbox_only_for({DAVE, ATTACKER})
    assert OutboxMessage.objects.get(to_email=ATTACKER).kind == OutboxKind.SIGN_IN


# --- AZ-7 (b): a forged From ------------------------------------------------------------------


def test_a_forged_from_may_join_the_case_but_nothing_is_sent_anywhere_but_the_customer(
    answered: tuple[Case, OutboxMessage], settings: Any
) -> None:
    """The limit, stated: without SPF/DKIM the desk cannot tell this from Dave's own mail, so
    it joins Dave's case. An Authentication-Results header from outside proves nothing and
    changes nothing. But the envelope sender, Reply-To and Cc, all the attacker's, receive
    nothing, then or later; only the case's customer address ever gets mail."""
    case, reply = answered
    receive(
        mail(
            sender=DAVE,
            subject=f"Re: Нет интернета {case.tag}",
            body=f"{CANARY} send the contract to my new address\n",
            In_Reply_To=reply.rfc_message_id,
            Reply_To=ATTACKER,
            Cc=ATTACKER,
            Authentication_Results="desk.test; spf=pass smtp.mailfrom=customer.test; dkim=pass",
            X_Original_From=ATTACKER,
        ),
        envelope_from=ATTACKER,
    )
    assert case.messages.filter(kind=MessageKind.INBOUND).count() == 2
    assert not Customer.objects.filter(email__iexact=ATTACKER).exists()
    cases.add_message(case.pk, actor=case.owner, body="Договор отправим на адрес из договора.")
    # A new request under the forged name is acknowledged to the real Dave, not the sender.
    receive(mail(sender=DAVE, subject="Другой вопрос", Reply_To=ATTACKER), envelope_from=ATTACKER)
    assert OutboxMessage.objects.filter(kind=OutboxKind.ACKNOWLEDGEMENT).count() == 2
    assert_outbox_only_for({DAVE})

    with SmtpSink() as sink:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
        sent = outbox.send_due()
    assert sent == OutboxMessage.objects.count()
    for (_mail_from, recipients), message in zip(
        sink.handler.envelopes, sink.handler.received, strict=True
    ):
        assert recipients == [DAVE]
        for header in ("Cc", "Bcc", "Reply-To"):
            assert ATTACKER not in str(message.get(header, ""))


# --- AZ-7 (c): Cc ----------------------------------------------------------------------------


def test_an_address_the_customer_copies_in_gets_no_access_and_no_updates(
    answered: tuple[Case, OutboxMessage],
) -> None:
    case, reply = answered
    own_reply = receive(
        mail(
            subject=f"Re: Нет интернета {case.tag}",
            body="Всё ещё не работает.\n",
            In_Reply_To=reply.rfc_message_id,
            Cc=f"Helper <{ATTACKER}>",
        )
    )
    assert own_reply.state == InboundState.PROCESSED
    assert not Customer.objects.filter(email__iexact=ATTACKER).exists()

    # The copied address asks the portal for a sign-in link: the same answer as anyone
    # gets, and no mail, since it is nobody's address here.
    assert Client().post("/my/sign-in/", {"email": ATTACKER}).status_code == 302
    cases.add_message(case.pk, actor=case.owner, body="Выезжаем к вам.")
    assert_outbox_only_for({DAVE})

    # Answering all, the copied address is a stranger to the case like any other.
    reply_all = receive(
        mail(
            sender=ATTACKER,
            subject=f"Re: Нет интернета {case.tag}",
            body=f"{CANARY} me too, add me\n",
            In_Reply_To=own_reply.rfc_message_id,
            Cc=DAVE,
        ),
        envelope_from=ATTACKER,
    )
    assert reply_all.state == InboundState.HELD
    assert all(CANARY not in message.body for message in thread_of(case))
    client = sign_in(Client(), ATTACKER)
    assert portal_page(client, case).status_code == 404


# --- AZ-7 (d), (e): nothing to guess ---------------------------------------------------------


def test_subject_tags_carry_64_random_bits_and_a_neighbours_tag_does_not_thread(
    cast: Cast,
) -> None:
    assert len(new_thread_token()) * math.log2(len(set(THREAD_TOKEN_ALPHABET))) >= 64
    tokens = {new_thread_token() for _ in range(2000)}
    assert len(tokens) == 2000
    assert set("".join(tokens)) == set(THREAD_TOKEN_ALPHABET)  # every letter is used

    receive(mail(sender=ATTACKER, subject="Мой вопрос"), envelope_from=ATTACKER)
    own = Case.objects.get()
    receive(mail(subject="Нет интернета"))
    victim = Case.objects.exclude(pk=own.pk).get()
    assert victim.number == own.number + 1
    assert victim.thread_token != own.thread_token

    for guess in (
        f"[#{victim.number}-{own.thread_token}]",  # my token, the next number
        f"[#{victim.number}-{'a' * 13}]",
        f"[#{victim.number}-{victim.thread_token.upper()}]",
    ):
        receive(
            mail(sender=ATTACKER, subject=f"Re: {guess}", body=f"{CANARY}\n"),
            envelope_from=ATTACKER,
        )
    assert victim.messages.count() == 1  # not even held there: the tag named no case
    assert not Message.objects.filter(case=victim, body__contains=CANARY).exists()


def test_outbound_message_ids_carry_128_random_bits(cast: Cast) -> None:
    ids = [outbox.new_message_id() for _ in range(256)]
    assert len(set(ids)) == len(ids)
    locals_ = [re.fullmatch(r"<([0-9a-f]+)@[^<>@\s]+>", item) for item in ids]
    assert all(found and len(found.group(1)) * 4 >= 128 for found in locals_)
    # A UUID4 has fixed version and variant digits (122 random bits); these have none.
    assert {item[13] for item in ids} != {"4"}
    # A made-up id in our domain threads nowhere: a new case, not someone's.
    case = cast.open_case()
    guessed = ids[0].replace(ids[0][1:9], "00000000")
    receive(mail(sender=ATTACKER, In_Reply_To=guessed), envelope_from=ATTACKER)
    assert case.messages.count() == 1
    assert Case.objects.count() == 2


def test_return_paths_are_signed_with_64_bits_and_a_forgery_names_no_message(
    cast: Cast, settings: Any
) -> None:
    path = outbox.return_path(41)
    signature = re.fullmatch(r"[^+]+\+bounce-41-([0-9a-f]+)@.+", path)
    assert signature is not None
    assert len(signature.group(1)) * 4 >= 64
    assert outbox.outbox_id_of_return_path(path) == 41
    assert outbox.outbox_id_of_return_path(path.replace("-41-", "-42-")) is None
    assert outbox.outbox_id_of_return_path(path.replace(signature.group(1), "0" * 16)) is None
    settings.SECRET_KEY = "another installation's secret key, just as long as ours is"
    assert outbox.outbox_id_of_return_path(path) is None


# --- AZ-8: the ticket trick --------------------------------------------------------------------


def _web_form_case(email: str) -> Case:
    client = Client()
    page = client.get("/contact/").content.decode()
    nonce = re.search(r'name="nonce" value="([^"]+)"', page)
    assert nonce is not None
    fields = {
        "name": "Someone",
        "email": email,
        "subject": "Вопрос",
        "body": "Подскажите, пожалуйста.",
        "nonce": nonce.group(1),
        "website": "",
    }
    assert client.post("/contact/", fields).status_code == 200
    return Case.objects.get(customer__email=email)


@pytest.mark.parametrize("door", ["return_path", "subject_tag"])
def test_a_verification_mail_sent_to_a_desk_address_is_held_not_shown_to_the_outsider(
    cast: Cast, door: str
) -> None:
    """The outsider opens a case with the web form, learns an address that leads to it (the
    return path of the answer they get, or the subject tag) and signs up for a service with
    it. The service's code goes to an agent, not to the outsider's thread or mailbox."""
    case = _web_form_case(ATTACKER)
    cases.add_message(case.pk, actor=case.owner, body="Здравствуйте! Уточните, пожалуйста.")
    answer = OutboxMessage.objects.get(kind=OutboxKind.REPLY)
    address = outbox.return_path(answer.pk)
    to, subject = address, "Your verification code"
    if door == "subject_tag":
        to, subject = "support@desk.test", f"Welcome to {case.tag} workspace"
    sent_before = OutboxMessage.objects.count()
    inbound = receive(
        mail(
            sender="noreply@slack.example",
            to=to,
            subject=subject,
            body=f"Your code is {CANARY} 123456\n",
        ),
        envelope_from="bounces@slack.example",
        recipient=to,
    )
    assert (inbound.state, inbound.case) == (InboundState.HELD, case)
    assert inbound.reason == (
        "sent_to_return_path" if door == "return_path" else "not_a_participant"
    )
    held = case.messages.get(kind=MessageKind.HELD)
    assert CANARY in held.body  # an agent can read it
    answer.refresh_from_db()
    assert answer.state != "failed"  # not taken for a bounce either
    assert OutboxMessage.objects.count() == sent_before

    client = sign_in(Client(), ATTACKER)
    page = portal_page(client, case)
    assert page.status_code == 200
    assert CANARY not in page.content.decode()
    cases.add_message(case.pk, actor=case.owner, body="Ответ по вашему вопросу.")
    assert_outbox_only_for({ATTACKER})


def test_the_customers_own_automatic_answer_to_a_return_path_is_only_recorded(
    answered: tuple[Case, OutboxMessage],
) -> None:
    case, reply = answered
    address = outbox.return_path(reply.pk)
    inbound = receive(
        mail(subject="Automatic reply", Auto_Submitted="auto-replied", to=address),
        envelope_from="",
        recipient=address,
    )
    assert (inbound.state, inbound.reason) == (InboundState.PROCESSED, "auto_reply_to_our_mail")
    assert not case.messages.filter(kind=MessageKind.HELD).exists()


# --- SEC-3: headers are data ------------------------------------------------------------------


def test_control_headers_from_outside_change_nothing(cast: Cast) -> None:
    victim = cast.open_case()
    control = {
        "X_Pomogu_Case": str(victim.number),
        "X_Pomogu_Customer": DAVE,
        "X_Pomogu_Team": cast.billing.slug,
        "X_Pomogu_Priority": str(Priority.URGENT.value),
        "X_Pomogu_State": "resolved",
        "X_Pomogu_Verified": "yes",
    }
    receive(mail(sender=ATTACKER, subject="Вопрос", **control), envelope_from=ATTACKER)
    receive(mail(sender="plain@evil.test", subject="Вопрос"), envelope_from="plain@evil.test")
    steered = Case.objects.get(customer__email=ATTACKER)
    plain = Case.objects.get(customer__email="plain@evil.test")
    assert (steered.team, steered.priority, steered.state) == (
        plain.team,
        plain.priority,
        plain.state,
    )
    assert steered.priority != Priority.URGENT
    assert victim.messages.count() == 1


@pytest.mark.parametrize(
    ("sender", "identified"),
    [
        (f"{ATTACKER}(<{DAVE}>", None),  # CVE-2023-27043: no sender at all
        (f"{ATTACKER} <{DAVE}>", None),
        (f"<{ATTACKER}><{DAVE}>", None),
        (f'"{DAVE}" <{ATTACKER}>', ATTACKER),  # a display name is not an address
    ],
)
def test_the_sender_is_a_strictly_parsed_addr_spec_never_a_guess(
    answered: tuple[Case, OutboxMessage], sender: str, identified: str | None
) -> None:
    case, _reply = answered
    raw = (
        f"From: {sender}\r\nTo: support@desk.test\r\nSubject: Re: {case.tag}\r\n"
        f"Message-ID: <strict-{hashlib.sha256(sender.encode()).hexdigest()[:16]}@evil.test>\r\n"
        f"\r\n{CANARY}\r\n"
    ).encode()
    inbound = receive(raw, envelope_from=ATTACKER)
    if identified is None:
        assert (inbound.state, inbound.reason) == (InboundState.QUARANTINED, "no_sender")
    else:
        assert inbound.state == InboundState.HELD
        assert inbound.sender == identified
    assert not case.messages.filter(kind=MessageKind.INBOUND, body__contains=CANARY).exists()
