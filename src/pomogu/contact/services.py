"""The outbox: queue outbound mail inside the caller's transaction, send it afterwards (REL-5).

A message is sent at least once and with a stable Message-ID; a temporary failure (SMTP 4xx, no
connection) is retried with backoff; a permanent one (5xx) marks the row failed and puts an event
on the case's timeline so the agent sees it. Nothing vanishes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import re
import secrets
import smtplib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import Q

from pomogu.cases.choices import EventKind
from pomogu.cases.models import Case, Message, Notification, TimelineEvent
from pomogu.contact.models import OutboxKind, OutboxMessage, OutboxState
from pomogu.core import clock
from pomogu.core.faults import fault_point
from pomogu.intake.parsing import decode_words, message_ids, one_line, valid_addr_spec

if TYPE_CHECKING:
    from pomogu.people.models import User

log = logging.getLogger(__name__)

BACKOFF_BASE_SECONDS = 30
BACKOFF_MAX_SECONDS = 3600


def new_message_id() -> str:
    """128 random bits (AZ-7 (e)): our Message-IDs thread replies into cases and match bounces
    to the mail they fail, so one a stranger could guess would let them do either. (A UUID4
    carries 122.)"""
    domain = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1] or "pomogu.localhost"
    return f"<{secrets.token_hex(16)}@{domain}>"


def enqueue_email(
    *,
    to_email: str,
    subject: str,
    body: str,
    kind: OutboxKind,
    case: Case | None = None,
    message: Message | None = None,
    automated: bool = False,
    dedupe_key: str | None = None,
    headers: dict[str, str] | None = None,
    at_most_once: bool = False,
) -> OutboxMessage:
    """Write one outbound email to the outbox. Call inside the transaction of the change that
    causes it, so both commit or neither does. Must be called in a transaction.

    Mail is sent at least once (a sender that dies after the server took it sends it again,
    with the same Message-ID); ``at_most_once`` mail (surveys) is given up instead
    (``OutboxState.UNKNOWN``): better no survey than two."""
    _require_transaction()
    row = outbox_row(
        to_email=to_email,
        subject=subject,
        body=body,
        kind=kind,
        case=case,
        message=message,
        automated=automated,
        dedupe_key=dedupe_key,
        headers=headers,
    )
    row.at_most_once = at_most_once
    row.save(force_insert=True)
    return row


def outbox_row(
    *,
    to_email: str,
    subject: str,
    body: str,
    kind: OutboxKind,
    case: Case | None = None,
    message: Message | None = None,
    automated: bool = False,
    dedupe_key: str | None = None,
    headers: dict[str, str] | None = None,
) -> OutboxMessage:
    """The outbox row ``enqueue_email`` writes, not yet saved: for writing many at once."""
    all_headers = dict(headers or {})
    if automated:
        # RFC 3834: our own automated mail says so, so that other systems do not answer it.
        all_headers.setdefault("Auto-Submitted", "auto-replied")
        # Exchange and Outlook: do not answer this with an out-of-office or other auto-reply.
        all_headers.setdefault("X-Auto-Response-Suppress", "All")
    return OutboxMessage(
        case=case,
        message=message,
        kind=kind,
        automated=automated,
        to_email=to_email,
        subject=subject,
        body=body,
        headers=all_headers,
        rfc_message_id=new_message_id(),
        dedupe_key=dedupe_key,
        next_attempt_at=clock.now(),
    )


def _require_transaction() -> None:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("enqueue_email must run inside the transaction of its cause")


def review_reply(body: str) -> Any:
    """The reply guard's verdict on an agent's text (R7): the built-in phrases and this
    installation's own (``GuardPhrase``). Returns a ``contact.guard.GuardResult``."""
    from pomogu.contact.guard import check
    from pomogu.contact.models import GuardPhrase

    extra = list(GuardPhrase.objects.filter(is_active=True).values_list("text", flat=True))
    return check(body, extra_phrases=extra)


def case_link(case: Case) -> str:
    """The address of the case's page on the desk, for mail to staff."""
    return f"{settings.SITE_URL}/cases/{case.number}/"


def notify_staff(
    recipient: User,
    *,
    case: Case,
    kind: str,
    title: str,
    body: str,
    data: dict[str, Any],
    dedupe_key: str,
) -> Notification:
    """Tell a staff member something about a case: on their "my work" page and, if they have an
    address, by email (automated, once per ``dedupe_key``). In the caller's transaction."""
    note = StaffNote(recipient, case, kind, title, body, data, dedupe_key)
    return notify_staff_many([note])[0]


@dataclass(frozen=True)
class StaffNote:
    """One ``notify_staff`` call, for ``notify_staff_many``."""

    recipient: User
    case: Case
    kind: str
    title: str
    body: str
    data: dict[str, Any]
    dedupe_key: str


def notify_staff_many(notes: Sequence[StaffNote]) -> list[Notification]:
    """``notify_staff`` for many at once: one insert of notifications and one of emails."""
    _require_transaction()
    notifications = Notification.objects.bulk_create(
        [
            Notification(
                recipient=note.recipient,
                case=note.case,
                kind=note.kind,
                title=note.title,
                body=note.body,
                data=note.data,
            )
            for note in notes
        ]
    )
    emails = [
        outbox_row(
            to_email=note.recipient.email,
            subject=note.title,
            body=note.body,
            kind=OutboxKind.NOTIFICATION,
            case=note.case,
            automated=True,
            dedupe_key=note.dedupe_key,
        )
        for note in notes
        if note.recipient.email
    ]
    if emails:
        OutboxMessage.objects.bulk_create(emails)
    return notifications


def claim_seconds() -> int:
    """How long a sender holds a row (``POMOGU_OUTBOX_CLAIM_SECONDS``)."""
    return int(settings.POMOGU["OUTBOX_CLAIM_SECONDS"])


def _claim(row_id: int, now: dt.datetime) -> bool:
    """Take a due row for sending. A conditional UPDATE: exactly one worker wins; a row whose
    claim expired (the worker died) can be taken again."""
    claimed = (
        OutboxMessage.objects.filter(pk=row_id)
        .filter(
            Q(state=OutboxState.PENDING, next_attempt_at__lte=now)
            | Q(state=OutboxState.SENDING, claimed_until__lt=now)
        )
        .update(
            state=OutboxState.SENDING, claimed_until=now + dt.timedelta(seconds=claim_seconds())
        )
    )
    return claimed == 1


def _is_permanent(error: Exception) -> bool:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _msg in error.recipients.values()]
        return bool(codes) and all(code >= 500 for code in codes)
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code >= 500
    return False


def _verp_signature(outbox_id: int) -> str:
    """64 bits of HMAC (AZ-7 (d)): a forged return path can fail someone else's mail and stop
    automated mail to their address, so it must not be found by trying."""
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"verp:{outbox_id}".encode(), hashlib.sha256).hexdigest()[:16]


def return_path(outbox_id: int) -> str:
    """The envelope sender of one outbound message (VERP): a bounce or an automatic answer to
    it names the message it is about, signed so nobody can forge one for another row."""
    local, _at, domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")
    return f"{local or 'support'}+bounce-{outbox_id}-{_verp_signature(outbox_id)}@{domain}"


_VERP_RE = re.compile(r"^[^@+]+\+bounce-(\d{1,18})-([0-9a-f]{16})@", re.IGNORECASE)


def outbox_id_of_return_path(address: str) -> int | None:
    """The outbox row a VERP address names, if the signature is right."""
    match = _VERP_RE.match(address.strip().strip("<>"))
    if match is None:
        return None
    outbox_id = int(match.group(1))
    if not hmac.compare_digest(match.group(2).lower(), _verp_signature(outbox_id)):
        return None
    return outbox_id


class UnsendableMessage(ValueError):
    """The row cannot become an email (no single valid recipient, or a header our own code
    should never have written): retrying cannot help."""


_HEADER_NAME_RE = re.compile(r"[A-Za-z0-9-]{1,76}")
_ID_HEADERS = frozenset({"message-id", "in-reply-to", "references"})


def header_text(value: str) -> str:
    """A header value as plain one-line text, the only form mail we send carries (SEC-4).

    Customer text reaches our headers (a case's subject comes from the customer's mail or the
    web form). Text that is itself an RFC 2047 encoded-word, say ``=?utf-8?q?hi=0ABcc:...?=``,
    would be decoded by the receiving program, and an interpreter with CVE-2024-6923 writes the
    decoded newline as a raw line break: a header of the attacker's choosing. So encoded-words
    are decoded here (until nothing changes) and line breaks become spaces; the mail library
    then encodes the plain text itself. Whatever still starts like an encoded-word is broken up
    ("= ?"): our decoder found nothing to decode in it, but other decoders are more lenient
    (the stdlib's ``decode_header`` reads ``=?utf-8?q?a?b=0A?=``), and none may find one."""
    text = one_line(value)
    for _round in range(4):
        decoded = decode_words(text)
        if decoded == text:
            break
        text = one_line(decoded)
    return text.replace("=?", "= ?")


def _id_header(value: str) -> str:
    """Message-IDs only, each normalised by the inbound rules; "" if none is usable."""
    return " ".join(item for item in message_ids(value) if "=?" not in item)


def build_message(row: OutboxMessage, connection: Any = None) -> EmailMessage:
    """The email for one outbox row. Nothing in the row can add a recipient or a header line:
    the recipient must be one plain addr-spec (pomogu's own parse, not the interpreter's,
    which may have CVE-2023-27043), header values are plain one-line text, Message-ID headers
    carry well-formed ids only.

    The subject carries the customer's words, so a line break there becomes a space and the
    customer still gets their answer. The other headers are set by our code: a line break
    there is a bug, and the row fails for good (``UnsendableMessage``), as it does without a
    valid recipient."""
    recipient = row.to_email.strip()
    if not valid_addr_spec(recipient):
        raise UnsendableMessage(f"not a single valid recipient address: {recipient!r}"[:300])
    headers = {"Message-ID": row.rfc_message_id, "From": settings.DEFAULT_FROM_EMAIL}
    for name, value in {**headers, **row.headers}.items():
        if not _HEADER_NAME_RE.fullmatch(name) or "\r" in str(value) or "\n" in str(value):
            raise UnsendableMessage(f"a header we cannot send: {name!r}: {value!r}"[:300])
        if name.lower() == "from":
            continue  # ours, from the settings
        clean = _id_header(str(value)) if name.lower() in _ID_HEADERS else header_text(str(value))
        if clean:
            headers[name] = clean
        else:
            headers.pop(name, None)
    return EmailMessage(
        subject=header_text(row.subject),
        body=row.body,
        from_email=return_path(row.pk),
        to=[recipient],
        headers=headers,
        connection=connection,
    )


def send_one(row: OutboxMessage) -> None:
    build_message(row, get_connection(fail_silently=False)).send()


def send_due(*, limit: int = 100) -> int:
    """Send what is due; return how many were sent. Safe to run in any number of workers at
    once and to re-run after a crash: rows are claimed by a conditional update."""
    now = clock.now()
    due = list(
        OutboxMessage.objects.filter(
            Q(state=OutboxState.PENDING, next_attempt_at__lte=now)
            | Q(state=OutboxState.SENDING, claimed_until__lt=now)
        )
        .order_by("next_attempt_at", "id")
        .values_list("id", flat=True)[:limit]
    )
    sent = 0
    for row_id in due:
        # A row taken by a sender that died: at-most-once mail may have gone out; give it up.
        OutboxMessage.objects.filter(
            pk=row_id, at_most_once=True, state=OutboxState.SENDING, claimed_until__lt=now
        ).update(state=OutboxState.UNKNOWN, claimed_until=None)
        if not _claim(row_id, now):
            continue
        row = OutboxMessage.objects.get(pk=row_id)
        fault_point("outbox.after_claim")
        try:
            send_one(row)
        except (smtplib.SMTPException, OSError) as error:
            _record_failure(row, error)
            continue
        except Exception as error:
            # Not a delivery problem but a message we cannot build (a bad header, an encoding
            # error): retrying cannot help, so it fails for good and the agent is told.
            log.exception("outbox %s cannot be sent", row.pk)
            _record_failure(row, error, permanent=True)
            continue
        fault_point("outbox.after_smtp")
        OutboxMessage.objects.filter(pk=row.pk).update(
            state=OutboxState.SENT,
            sent_at=clock.now(),
            attempts=row.attempts + 1,
            claimed_until=None,
            last_error="",
        )
        sent += 1
    return sent


def _record_failure(row: OutboxMessage, error: Exception, *, permanent: bool = False) -> None:
    attempts = row.attempts + 1
    text = f"{type(error).__name__}: {error}"[:2000]
    permanent = permanent or _is_permanent(error)
    give_up = permanent or attempts >= settings.POMOGU["OUTBOX_MAX_ATTEMPTS"]
    with transaction.atomic():
        if give_up:
            OutboxMessage.objects.filter(pk=row.pk).update(
                state=OutboxState.FAILED, attempts=attempts, last_error=text, claimed_until=None
            )
            if row.case_id is not None:
                TimelineEvent.objects.create(
                    case_id=row.case_id,
                    kind=EventKind.OUTBOUND_FAILED,
                    data={
                        "outbox_id": row.pk,
                        "to": row.to_email,
                        "error": text,
                        "permanent": permanent,
                    },
                )
            log.warning("outbox %s failed for good: %s", row.pk, text)
        else:
            delay = min(BACKOFF_BASE_SECONDS * 2 ** (attempts - 1), BACKOFF_MAX_SECONDS)
            OutboxMessage.objects.filter(pk=row.pk).update(
                state=OutboxState.PENDING,
                attempts=attempts,
                last_error=text,
                claimed_until=None,
                next_attempt_at=clock.now() + dt.timedelta(seconds=delay),
            )
            log.info("outbox %s will retry in %ss: %s", row.pk, delay, text)
