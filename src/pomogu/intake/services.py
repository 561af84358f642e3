"""One front door (R1): every received message becomes a message on a case, a message held for an
agent, or a quarantine item a person can see. Nothing is dropped.

``receive`` is the single entry for every mail channel (LMTP, IMAP, reprocessing). It stores the
bytes first (REL-2), recognises a second delivery of the same message (REL-3), parses, threads,
opens or updates the case, queues the acknowledgement, and commits all of it before it returns
(REL-1): only then may the caller answer 250 or flag the message on the IMAP server.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import logging
import re
import time
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import compat32

from django.conf import settings
from django.db import (
    DatabaseError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    connection,
    transaction,
)
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created
from django.db.models import Q
from django.db.models.functions import Lower
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import translation
from django.utils.translation import gettext as _

from pomogu.cases import recurrence
from pomogu.cases import services as cases
from pomogu.cases.choices import Channel, EventKind, MessageKind
from pomogu.cases.models import Case, Message, TimelineEvent
from pomogu.contact import governor
from pomogu.contact.models import (
    ContactPurpose,
    ContactState,
    OutboxKind,
    OutboxMessage,
    OutboxState,
)
from pomogu.contact.services import outbox_id_of_return_path
from pomogu.core import clock
from pomogu.core.errors import DomainError
from pomogu.core.faults import fault_point
from pomogu.intake import routing, storage
from pomogu.intake.models import InboundMessage, InboundState, Mailbox, ThreadKey
from pomogu.intake.parsing import Limits, ParsedMail, ParseError, parse, split_reply
from pomogu.people import services as people
from pomogu.people.models import Customer
from pomogu.triage import services as triage

log = logging.getLogger(__name__)

# Infrastructure failures: nothing can be stored, so the sender must try again later (451).
# Any other error while processing one message is that message's problem: it is quarantined.
INFRASTRUCTURE_ERRORS = (OperationalError, InterfaceError)
# The same for the attachment store: a full, read-only or failing disk.
STORAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO})

TAG_RE = re.compile(r"\[#(\d{1,18})-([a-z2-9]{13})\]")
_MESSAGE_ID_RE = re.compile(r"<[^<>\s]{1,900}>")


@dataclass
class Receipt:
    inbound: InboundMessage
    duplicate: bool


def queue_of(mailbox: Mailbox | None, recipient: str) -> str:
    if mailbox is not None:
        return f"mailbox:{mailbox.pk}"
    return f"rcpt:{recipient.strip().lower()}"


def dedupe_key_of(queue: str, message_id: str, sha256: str) -> str:
    """(queue, Message-ID), or (queue, SHA-256 of the bytes) without one (REL-3). Receiving
    and reconciliation both build keys here, so they cannot disagree."""
    return f"{queue}|{message_id}" if message_id else f"{queue}|sha256:{sha256}"


def quick_message_id(raw: bytes) -> str:
    """The Message-ID from the header block only, normalised, without parsing the body: the
    dedupe key must exist even for a message the full parser will refuse."""
    head, _sep, _body = raw.partition(b"\r\n\r\n")
    if len(head) == len(raw):
        head, _sep, _body = raw.partition(b"\n\n")
    try:
        headers = BytesHeaderParser(policy=compat32).parsebytes(head[: 256 * 1024])
        value = str(headers.get("Message-ID", "") or "")
    except Exception:  # a header block the stdlib cannot read has no usable Message-ID
        return ""
    match = _MESSAGE_ID_RE.search(value.replace("\r", "").replace("\n", ""))
    return match.group(0) if match else ""


def receive(
    raw: bytes,
    *,
    mailbox: Mailbox | None,
    recipient: str = "",
    envelope_from: str = "",
    source: str,
    imap_uid: int | None = None,
    imap_uidvalidity: int | None = None,
) -> Receipt:
    """Store, deduplicate, process and commit one received message (R1, REL-1..3).

    Returns once everything is committed. Raises only when the database itself fails; then
    nothing was stored and the caller must not acknowledge the message.
    """
    queue = queue_of(mailbox, recipient)
    sha256 = hashlib.sha256(raw).hexdigest()
    message_id = quick_message_id(raw)
    key = dedupe_key_of(queue, message_id, sha256)
    stored = False

    try:
        # The insert comes first, without a look for the key before it: a new message (the
        # usual case) costs one statement, and the unique key decides; a second delivery
        # fails it and rolls back a transaction that had done nothing else.
        with transaction.atomic():
            inbound = InboundMessage.objects.create(
                mailbox=mailbox,
                queue=queue,
                dedupe_key=key,
                source=source,
                envelope_from=envelope_from[:998],
                envelope_to=recipient[:998],
                rfc_message_id=message_id,
                sha256=sha256,
                size=len(raw),
                raw=raw,
                imap_uid=imap_uid,
                imap_uidvalidity=imap_uidvalidity,
                state=InboundState.QUARANTINED,
                reason="pending",
            )
            stored = True
            fault_point("intake.after_raw_stored")
            _process_safely(inbound, raw)
    except IntegrityError:
        if not stored:
            # Stored before, or being delivered twice at this very moment (the insert waited
            # for the other delivery to commit).
            existing = InboundMessage.objects.filter(dedupe_key=key).first()
            if existing is not None:
                return Receipt(existing, duplicate=True)
        raise
    return Receipt(inbound, duplicate=False)


def _process_safely(inbound: InboundMessage, raw: bytes) -> None:
    """Process inside a savepoint; a message-specific failure rolls back only its own effects
    and leaves the raw row in quarantine with the reason. The raw row itself always stays."""
    try:
        with transaction.atomic():
            _process(inbound, raw)
    except INFRASTRUCTURE_ERRORS:
        raise
    except OSError as error:
        if error.errno in STORAGE_ERRNOS:
            raise  # the disk, not the message: the sender must try again later (FT-8)
        log.exception("message %s could not be processed; quarantined", inbound.pk)
        _quarantine(inbound, "processing_error", f"{type(error).__name__}: {error}"[:2000])
    except ParseError as error:
        _quarantine(inbound, error.code, error.detail)
    except DomainError as error:
        _quarantine(inbound, error.code, error.detail)
    except (DatabaseError, Exception) as error:
        log.exception("message %s could not be processed; quarantined", inbound.pk)
        _quarantine(inbound, "processing_error", f"{type(error).__name__}: {error}"[:2000])


def _quarantine(inbound: InboundMessage, reason: str, detail: str) -> None:
    InboundMessage.objects.filter(pk=inbound.pk).update(
        state=InboundState.QUARANTINED,
        reason=reason,
        detail=detail,
        processed_at=clock.now(),
        sender=inbound.sender,
    )
    inbound.state, inbound.reason, inbound.detail = InboundState.QUARANTINED, reason, detail


def limits() -> Limits:
    configured = settings.POMOGU.get("MAIL_MAX_BYTES")
    return Limits(max_bytes=int(configured)) if configured else Limits()


def prepare_process() -> None:
    """For a process that does nothing but take mail (an LMTP worker, ``pomogu fetchmail``):
    its database session settings, what stays the same from one message to the next kept in
    memory, and the models loaded before the first message rather than during it."""
    from pomogu.triage import anger
    from pomogu.triage.text import detect_language

    connection_created.connect(_tune_session, dispatch_uid="intake-session")
    if connection.connection is not None:
        _tune_session(connection=connection)
    triage.keep_active_model(seconds=ACTIVE_MODEL_SECONDS)
    triage.active_model()
    anger.shipped_model()
    detect_language("Здравствуйте, hello")  # loads the language identifier's model
    _known_mailboxes()


# How long a mail process may go on with a router version after another process trained or
# rolled back another one (each decision records the version it used).
ACTIVE_MODEL_SECONDS = 30


def _tune_session(connection: BaseDatabaseWrapper, **kwargs: object) -> None:
    """No JIT compiling: it costs 10 to 13 ms per statement on this kind of machine, and pays
    only for statements that read millions of rows, which mail intake never wants to run (the
    owner's load is the one that grows with a desk's history). Only this session's plans
    change; commits stay synchronous (REL-1)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET jit = off")


def _process(inbound: InboundMessage, raw: bytes) -> None:
    parsed = parse(raw, limits())
    verp_id = outbox_id_of_return_path(inbound.envelope_to) if inbound.envelope_to else None
    if parsed.bounce or verp_id is not None:
        _record_bounce(inbound, parsed, verp_id)
        return
    if not parsed.from_address:
        raise DomainError(_("The message has no sender address we can answer."), code="no_sender")
    if _is_own_address(parsed.from_address):
        # Mail from our own addresses coming back in is a loop, not a customer.
        _finish(inbound, InboundState.PROCESSED, reason="own_address")
        return
    # Stored with the row's final state (_finish or _quarantine), quarantined or not.
    inbound.sender = parsed.from_address.lower()[:254]
    if _looks_like_a_loop(inbound, parsed):
        raise DomainError(
            _(
                "Too many messages from %(sender)s in the last hour: a mail loop is likely. Kept "
                "here for a person to look at."
            )
            % {"sender": parsed.from_address},
            code="possible_loop",
        )
    customer, new_customer = _customer_of(parsed)
    _serialise_conversation(parsed)
    case = find_case(parsed)
    if case is not None:
        if is_participant(case, customer):
            body = parsed.visible_text or parsed.text
            _add_to_case(inbound, parsed, customer, case.pk, body=body, reason="threaded")
        else:
            message = hold_message(case, customer=customer, parsed=parsed)
            _finish(
                inbound, InboundState.HELD, case=case, message=message, reason="not_a_participant"
            )
        return

    text = parsed.visible_text or parsed.text or ""
    # Someone unknown until this message has no solved problem that could come back.
    found = None if new_customer else recurrence.find_safely(customer, parsed.subject, text)
    if found is None and not new_customer and cases.thanks_only(text):
        # "Спасибо, всё заработало" as a new mail: kept on the case it thanks for (the most
        # recently resolved one), which stays solved; no new case to close again.
        thanked = recurrence.last_resolved(customer)
        if thanked is not None:
            _add_to_case(inbound, parsed, customer, thanked.pk, body=text, reason="thanks")
            return
    if found is not None and found.certain:
        # The problem the desk solved came back (R5): the old case is reopened with this
        # message and goes back to whoever resolved it; the reopen is on the register.
        _add_to_case(
            inbound,
            parsed,
            customer,
            found.case_id,
            body=text or _("(the message has no text)"),
            reason="recurrence",
            reopen_reason=recurrence.reopen_reason(found),
        )
        return

    mailbox_team = inbound.mailbox.team if inbound.mailbox else None
    route = routing.choose_team(parsed, mailbox_team=mailbox_team)
    case, message = cases.open_case_with_message(
        customer=customer,
        subject=parsed.subject,
        body=parsed.visible_text or parsed.text or _("(the message has no text)"),
        channel=Channel.EMAIL,
        team=route.team,
        language=parsed.language_hint,
        message_id=parsed.message_id,
        body_html=parsed.html,
        quoted=folded_quote(parsed),
    )
    triage.record(case, route)
    if found is not None:
        recurrence.link(case, found)  # perhaps the old problem: an agent decides
    _keep_attachments(message, parsed)
    register_thread_keys(case, parsed)
    acknowledged = acknowledge(case, inbound=inbound, parsed=parsed)
    _finish(
        inbound,
        InboundState.PROCESSED,
        case=case,
        message=message,
        reason="new_case",
        acknowledged=acknowledged,
    )


def _customer_of(parsed: ParsedMail) -> tuple[Customer, bool]:
    """The sender as a customer, and whether they are new (unknown until this message)."""
    return people.identify_customer(
        email=parsed.from_address, name=parsed.from_name, language=parsed.language_hint
    )


def _add_to_case(
    inbound: InboundMessage,
    parsed: ParsedMail,
    customer: Customer,
    case_id: int,
    *,
    body: str,
    reason: str,
    reopen_reason: str = "",
) -> None:
    """The mail is the customer's next message on an existing case (a reply, a thanks, the old
    problem back): recorded there with its parts and thread keys, and the inbound row done."""
    message = cases.add_customer_message(
        case_id,
        customer=customer,
        body=body,
        channel=Channel.EMAIL,
        message_id=parsed.message_id,
        body_html=parsed.html,
        language=parsed.language_hint,
        reopen_reason=reopen_reason,
        quoted=folded_quote(parsed),
    )
    _keep_attachments(message, parsed)
    register_thread_keys(message.case, parsed)
    _finish(inbound, InboundState.PROCESSED, case=message.case, message=message, reason=reason)


def _finish(
    inbound: InboundMessage,
    state: InboundState,
    *,
    reason: str,
    case: Case | None = None,
    message: Message | None = None,
    acknowledged: bool = False,
) -> None:
    inbound.state, inbound.reason, inbound.case, inbound.message = state, reason, case, message
    inbound.acknowledged = acknowledged
    inbound.processed_at = clock.now()
    inbound.detail = ""
    inbound.save(
        update_fields=[
            "state",
            "reason",
            "case",
            "message",
            "acknowledged",
            "processed_at",
            "detail",
            "sender",
        ]
    )


def folded_quote(parsed: ParsedMail) -> str:
    """The earlier mail the message quotes, kept folded beside its visible text."""
    if not parsed.visible_text or parsed.text == parsed.visible_text:
        return ""
    _visible, folded = split_reply(parsed.text)
    return folded.strip("\n")


def _keep_attachments(message: Message, parsed: ParsedMail) -> None:
    for attachment in parsed.attachments:
        storage.save_attachment(message, attachment)


# --- threading --------------------------------------------------------------------------------


def find_case(parsed: ParsedMail) -> Case | None:
    """The case this message continues: by the Message-IDs it answers (ours or earlier ones on
    the case), by a reply that arrived before it and named it, else by the unguessable subject
    tag. Never by subject text alone."""
    ids = [*reversed(parsed.references), *parsed.in_reply_to]
    keyed = _case_by_thread_keys(parsed, ids)
    if keyed is not None:
        return keyed
    if ids:
        known = Message.objects.filter(message_id__in=ids).values_list("message_id", "case_id")
        by_id = dict(known)
        outbound = OutboxMessage.objects.filter(rfc_message_id__in=ids, case__isnull=False)
        for rfc_id, case_id in outbound.values_list("rfc_message_id", "case_id"):
            by_id.setdefault(rfc_id, case_id)
        # The most recent reference that we know wins.
        for candidate in [*parsed.in_reply_to, *reversed(parsed.references)]:
            if candidate in by_id:
                return Case.objects.select_related("customer").get(pk=by_id[candidate])
    match = TAG_RE.search(parsed.subject)
    if match:
        return (
            Case.objects.select_related("customer")
            .filter(number=int(match.group(1)), thread_token=match.group(2))
            .first()
        )
    return None


def _serialise_conversation(parsed: ParsedMail) -> None:
    """Two messages of one conversation processed at the same moment (a parent and its reply
    on two LMTP connections) must not each open a case. On PostgreSQL, take a transaction
    lock per Message-ID involved, in a fixed order, so the second waits for the first to
    commit its thread keys. SQLite runs one writer at a time, so it needs nothing."""
    if connection.vendor != "postgresql":
        return
    ids = {parsed.message_id, *parsed.in_reply_to, *parsed.references} - {""}
    keys = sorted(
        {int.from_bytes(hashlib.sha256(i.encode()).digest()[:8], "big", signed=True) for i in ids}
    )
    if not keys:
        return
    with connection.cursor() as cursor:
        # One statement for all of them: the locks are taken in the array's (sorted) order.
        cursor.execute("SELECT pg_advisory_xact_lock(key) FROM unnest(%s::bigint[]) AS key", [keys])


def _case_by_thread_keys(parsed: ParsedMail, ids: list[str]) -> Case | None:
    lookup = Q(rfc_message_id__in=ids) if ids else Q(pk__in=[])
    if parsed.message_id:
        # Someone answered this message before it arrived. (Its own id registered by another
        # queue is the same message sent to two addresses: that makes a case per queue.)
        lookup |= Q(rfc_message_id=parsed.message_id, own=False)
    # The newest key wins. Not "ORDER BY id DESC LIMIT 1": PostgreSQL answers that by walking
    # the primary key backwards through every key until one matches, so a message that matches
    # none (every new one) read the whole table. The matching keys are a few; read them all.
    keys = list(ThreadKey.objects.filter(lookup).select_related("case__customer"))
    return max(keys, key=lambda key: key.pk).case if keys else None


def register_thread_keys(case: Case, parsed: ParsedMail) -> None:
    keys = [(parsed.message_id, True)] if parsed.message_id else []
    keys += [(rfc_id, False) for rfc_id in {*parsed.in_reply_to, *parsed.references}]
    ThreadKey.objects.bulk_create(
        [ThreadKey(rfc_message_id=rfc_id[:998], case=case, own=own) for rfc_id, own in keys],
        ignore_conflicts=True,
    )


def is_participant(case: Case, customer: Customer) -> bool:
    """The case's customer, or someone whose earlier message on it an agent accepted."""
    if customer.pk == case.customer_id:
        return True
    return case.messages.filter(kind=MessageKind.INBOUND, customer=customer).exists()


@transaction.atomic(savepoint=False)  # like cases.services' NO_SAVEPOINT
def hold_message(case: Case, *, customer: Customer, parsed: ParsedMail) -> Message:
    """Mail for a case from someone who is not on it (AZ-7, AZ-8): kept on the case for staff
    only; it does not reach the customer's thread, reopen the case or trigger any reply."""
    message = Message.objects.create(
        case=case,
        kind=MessageKind.HELD,
        customer=customer,
        channel=Channel.EMAIL,
        body=parsed.visible_text or parsed.text,
        body_html=parsed.html,
        message_id=parsed.message_id,
        language=parsed.language_hint,
        quoted=folded_quote(parsed),
    )
    TimelineEvent.objects.create(
        case=case,
        kind=EventKind.HELD,
        data={"message_id": message.pk, "sender": customer.email},
    )
    _keep_attachments(message, parsed)
    return message


# --- acknowledgement and loop safety (R1, REL-8) --------------------------------------------


@dataclass(frozen=True)
class _Mailboxes:
    """What every message asks about the mailboxes, read once for many messages."""

    expires: float
    active: dict[str, Mailbox]  # lower-case address -> the active mailbox, with its team
    own: frozenset[str]  # every mailbox address and our sending address, lower-case


_mailboxes = _Mailboxes(0.0, {}, frozenset())
MAILBOXES_SECONDS = 30


def _known_mailboxes() -> _Mailboxes:
    """The mailboxes as read at most MAILBOXES_SECONDS ago in this process (and at once after a
    change made in this process): a change made elsewhere, say in the admin, reaches a running
    LMTP or IMAP process within that time. Mailboxes change a few times a year; mail arrives
    many times a second."""
    global _mailboxes
    known = _mailboxes
    if time.monotonic() < known.expires:
        return known
    rows = list(Mailbox.objects.select_related("team"))
    known = _Mailboxes(
        expires=time.monotonic() + MAILBOXES_SECONDS,
        active={m.address.lower(): m for m in rows if m.active},
        own=frozenset(m.address.lower() for m in rows) | {settings.DEFAULT_FROM_EMAIL.lower()},
    )
    _mailboxes = known
    return known


def mailbox_for(recipient: str) -> Mailbox | None:
    """The active mailbox of an envelope recipient, with its team; None for any other address
    (every address is a front door: such mail goes to the default team)."""
    return _known_mailboxes().active.get(recipient.strip().lower())


def _is_own_address(address: str) -> bool:
    """Our sending address or one of our mailboxes (see ``_known_mailboxes``)."""
    return address.lower() in _known_mailboxes().own


@receiver([post_save, post_delete], sender=Mailbox)
def _forget_own_addresses(**kwargs: object) -> None:
    """Read the mailboxes again at the next message (and in tests, at each test's start)."""
    global _mailboxes
    _mailboxes = _Mailboxes(0.0, {}, frozenset())


def _looks_like_a_loop(inbound: InboundMessage, parsed: ParsedMail) -> bool:
    """The breaker (ML-3): past this many messages an hour from one sender, new ones are not
    turned into cases or answered; they wait in quarantine, where a person can release them."""
    breaker = int(settings.POMOGU.get("LOOP_BREAKER_PER_HOUR", 20))
    since = clock.now() - dt.timedelta(hours=1)
    recent = (
        InboundMessage.objects.filter(sender=inbound.sender, received_at__gte=since)
        .exclude(pk=inbound.pk)
        .count()
    )
    return recent >= breaker


def why_not_acknowledge(inbound: InboundMessage, parsed: ParsedMail) -> str:
    """The reason not to answer this message automatically, or "" (RFC 3834, REL-8)."""
    if parsed.auto:
        return parsed.auto
    if inbound.source == "lmtp" and inbound.envelope_from.strip() in ("", "<>"):
        return "null-return-path"
    budget = int(settings.POMOGU.get("ACK_PER_SENDER_PER_DAY", 3))
    since = clock.now() - dt.timedelta(days=1)
    sent = (
        OutboxMessage.objects.alias(recipient=Lower("to_email"))
        .filter(recipient=parsed.from_address.lower(), created_at__gte=since)
        .filter(kind=OutboxKind.ACKNOWLEDGEMENT)
        .count()
    )
    if sent >= budget:
        return "sender-rate-limit"
    return ""


def acknowledge(case: Case, *, inbound: InboundMessage, parsed: ParsedMail) -> bool:
    """Queue the one acknowledgement of a new case (unique per case in the database). It names
    the team that has the request, its owner and when to expect an answer, and never asks the
    customer to write elsewhere (R1)."""
    reason = why_not_acknowledge(inbound, parsed)
    if not reason and case.customer.mail_bounced_at is not None:
        reason = "address-bounces"
    if reason:
        TimelineEvent.objects.create(
            case=case, kind=EventKind.NOTE, data={"acknowledgement_skipped": reason}
        )
        return False
    language = "ru" if parsed.language_hint == "ru" else "en"
    hours = int(settings.POMOGU.get("ACK_PROMISE_HOURS", 8))
    with translation.override(language):
        subject = _("We have your request: %(subject)s %(tag)s") % {
            "subject": case.subject,
            "tag": case.tag,
        }
        mailbox_team = inbound.mailbox.team if inbound.mailbox else None
        lines = [
            _("Hello%(name)s,") % {"name": f" {case.customer.name}" if case.customer.name else ""},
            "",
            _("Thank you for writing. Your request is case number %(number)s.")
            % {"number": case.number},
            _("%(team)s has it, and %(owner)s is responsible for it until it is solved.")
            % {"team": case.team.name, "owner": case.owner.display_name},
        ]
        if mailbox_team is not None and mailbox_team.pk != case.team_id:
            lines.append(
                _(
                    "You wrote to %(address)s; we passed your message on ourselves, so there is "
                    "nothing more you need to do."
                )
                % {"address": inbound.mailbox.address}  # type: ignore[union-attr]
            )
        lines += [
            _answer_promise(case, hours),
            _("To add anything, just reply to this message."),
        ]
        body = "\n".join(lines) + "\n"
    headers = {}
    if parsed.message_id:
        headers = {"In-Reply-To": parsed.message_id, "References": parsed.message_id}
    # Through the contact governor (R6): an acknowledgement answers what the customer just
    # sent, so quiet hours and the budget do not hold it, but an opt-out does.
    attempt = governor.contact(
        customer=case.customer,
        purpose=ContactPurpose.ACKNOWLEDGEMENT,
        case=case,
        reason=_("Acknowledgement of the customer's message"),
        subject=subject,
        body=body,
        headers=headers,
        # One per case: a second call finds the first attempt and does nothing.
        dedupe_key=f"ack:{case.pk}",
    )
    return attempt.state == ContactState.SENT


def _answer_promise(case: Case, hours: int) -> str:
    """When the customer will hear from us: the first-response deadline of the case's SLA
    (R4), in the customer's time zone; without a policy, the configured promise in hours."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from django.utils import formats

    from pomogu.clocks.services import expected_answer_by

    due = expected_answer_by(case)
    if due is None:
        return _("You will have an answer within %(hours)s working hours.") % {"hours": hours}
    try:
        zone = ZoneInfo(case.customer.time_zone or settings.TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo(settings.TIME_ZONE)
    local = due.astimezone(zone)
    return _("You will have an answer by %(when)s (%(zone)s).") % {
        "when": formats.date_format(local, "DATETIME_FORMAT"),
        "zone": local.tzname() or zone.key,
    }


def _record_bounce(inbound: InboundMessage, parsed: ParsedMail, verp_id: int | None) -> None:
    """Mail about mail we sent: a delivery report, or anything sent to the VERP return path of
    one outbound message (RFC 3834 auto-replies go there too). A permanent failure marks that
    message failed on its case, so the agent knows the customer did not get it, and stops
    automated mail to the address (ML-4). An out-of-office answer is only recorded. Anything
    else at a return path, from someone the message did not go to, is held (AZ-8)."""
    ids = list(parsed.bounced_message_ids)
    lookup = Q(rfc_message_id__in=ids) if ids else Q(pk__in=[])
    if verp_id is not None:
        lookup |= Q(pk=verp_id)
    rows = list(OutboxMessage.objects.filter(lookup))
    if verp_id is not None and not parsed.bounce and _from_a_stranger(parsed, rows):
        _hold_at_return_path(inbound, parsed, rows)
        return
    permanent = parsed.bounce and parsed.bounce_permanent
    for row in rows:
        if not permanent:
            continue
        if row.state != OutboxState.FAILED:
            OutboxMessage.objects.filter(pk=row.pk).update(
                state=OutboxState.FAILED, last_error=_("The recipient's server bounced it.")
            )
            if row.case_id:
                TimelineEvent.objects.create(
                    case_id=row.case_id,
                    kind=EventKind.OUTBOUND_FAILED,
                    data={
                        "outbox_id": row.pk,
                        "to": row.to_email,
                        "permanent": True,
                        "error": "bounce",
                        "inbound_id": inbound.pk,
                    },
                )
        (
            Customer.objects.alias(address=Lower("email"))
            .filter(address=row.to_email.lower(), mail_bounced_at__isnull=True)
            .update(mail_bounced_at=clock.now())
        )
    case_ids = {row.case_id for row in rows if row.case_id}
    case = Case.objects.filter(pk=next(iter(case_ids))).first() if len(case_ids) == 1 else None
    if not parsed.bounce:
        reason = "auto_reply_to_our_mail"
    else:
        reason = "bounce" if rows else "bounce_unmatched"
    _finish(inbound, InboundState.PROCESSED, case=case, reason=reason)


def _from_a_stranger(parsed: ParsedMail, rows: list[OutboxMessage]) -> bool:
    """Mail to a return path, not a delivery report, and not from the person the message went
    to. Such an address is in the headers of every mail we send, so the customer may have used
    it somewhere, say to sign up for a service that then mails it a verification code."""
    sender = parsed.from_address.lower()
    return bool(sender) and all(row.to_email.lower() != sender for row in rows)


def _hold_at_return_path(
    inbound: InboundMessage, parsed: ParsedMail, rows: list[OutboxMessage]
) -> None:
    """The ticket trick (AZ-8, SEC-9): what a third party sends to a return path is held on the
    case for staff, like any stranger's mail: not in the customer's thread, no reopening, no
    answer, nothing quoted to anyone."""
    case_ids = {row.case_id for row in rows if row.case_id}
    case = Case.objects.filter(pk=case_ids.pop()).first() if len(case_ids) == 1 else None
    inbound.sender = parsed.from_address.lower()[:254]
    if case is None:
        _finish(inbound, InboundState.HELD, reason="sent_to_return_path")
        return
    customer = people.find_or_create_customer(
        email=parsed.from_address, name=parsed.from_name, language=parsed.language_hint
    )
    message = hold_message(case, customer=customer, parsed=parsed)
    _finish(inbound, InboundState.HELD, case=case, message=message, reason="sent_to_return_path")


# --- quarantine -------------------------------------------------------------------------------


def reprocess(inbound_id: int) -> InboundMessage:
    """Run a quarantined message through the pipeline again (after a fix, or a raised limit).
    The same row is reused: its bytes never change."""
    with transaction.atomic():
        inbound = InboundMessage.objects.select_for_update().get(pk=inbound_id)
        if inbound.state != InboundState.QUARANTINED:
            raise DomainError(
                _("Only a message in quarantine can be processed again."), code="not_quarantined"
            )
        _process_safely(inbound, bytes(inbound.raw))
        inbound.refresh_from_db()
    return inbound
