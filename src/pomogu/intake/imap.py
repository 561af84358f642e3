"""Mail fetched over IMAP (R1, REL-1, REL-3, REL-4, REL-10).

The order for every message is the one that cannot lose mail: fetch the bytes with ``PEEK``,
``receive`` them (stored, processed and committed), and only then mark the message on the
server (moved to the archive folder, or flagged ``\\Seen`` + ``$PomoguImported``) and advance
the mailbox's UID high-water mark. A crash anywhere leaves the message unmarked and the mark
where it was, so the next poll fetches it again and ``receive`` recognises it (REL-3).

Progress is ours, not the server's: a message another client has already read is still
fetched, because we ask for the UIDs above our mark, never for UNSEEN (REL-4, FreeScout #313).
``reconcile`` compares the folder with what pomogu holds and lists any gap (REL-10).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import imaplib
import logging
import ssl
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from django.db.models import Q
from imapclient import IMAPClient

from pomogu.core import clock
from pomogu.core.faults import fault_point
from pomogu.intake.models import InboundMessage, InboundState, Mailbox
from pomogu.intake.services import dedupe_key_of, queue_of, quick_message_id, receive

log = logging.getLogger(__name__)

IMPORTED_KEYWORD = b"$PomoguImported"
SEEN = b"\\Seen"
DELETED = b"\\Deleted"
# Bodies are fetched a few at a time: one round trip per message is slow on a remote server,
# a whole batch of 500 at once could hold hundreds of megabytes in memory.
FETCH_CHUNK = 20
# Reconciliation only fetches headers, so it can ask for more at a time.
SCAN_CHUNK = 500
# Errors of the server or the connection: recorded on the mailbox, retried next poll.
IMAP_ERRORS: tuple[type[BaseException], ...] = (imaplib.IMAP4.error, OSError, EOFError)


class FetchStopped(Exception):
    """The batch stops here; what was done so far stays done, the rest waits for next poll."""


@dataclass
class FetchReport:
    mailbox: str
    imported: int = 0  # new InboundMessage rows (processed, held or quarantined)
    quarantined: int = 0  # of those, how many went to quarantine
    duplicates: int = 0  # received before (REL-3): nothing new written, marked on the server
    errors: int = 0
    error: str = ""
    more: bool = False  # the batch was full: more messages are waiting
    uidvalidity: int | None = None
    last_uid: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class ServerMessage:
    uid: int
    message_id: str
    size: int
    flagged: bool  # carries $PomoguImported: we said we had it


@dataclass
class ReconcileReport:
    mailbox: str
    folder: str
    uidvalidity: int | None = None
    on_server: int = 0
    # On the server, and pomogu has no InboundMessage for it by (UIDVALIDITY, UID), by
    # Message-ID or by the SHA-256 of its bytes. ``flagged`` ones are the serious kind: marked
    # as imported, yet not here. Unflagged ones above the mark are simply not fetched yet.
    missing: list[ServerMessage] = field(default_factory=list)
    # In pomogu but not marked on the server: the fetcher died between commit and mark (the
    # next fetch marks those above the mark), or someone removed the flag (below the mark).
    # Not listed when imported mail is moved to an archive folder.
    unmarked: list[int] = field(default_factory=list)
    # The reverse count: messages pomogu fetched from this folder in the current UIDVALIDITY
    # epoch that the folder no longer has (moved to the archive folder, or deleted by a person).
    not_in_folder: int = 0
    last_uid: int = 0
    error: str = ""


def _timeout() -> float:
    return float(settings.POMOGU.get("IMAP_TIMEOUT", 60))


@contextmanager
def _session(mailbox: Mailbox) -> Iterator[Any]:
    context = ssl.create_default_context() if mailbox.imap_ssl else None
    client = IMAPClient(
        mailbox.imap_host,
        port=mailbox.imap_port,
        ssl=mailbox.imap_ssl,
        ssl_context=context,
        timeout=_timeout(),
    )
    try:
        client.login(mailbox.imap_user, mailbox.imap_password)
        yield client
    finally:
        try:
            client.logout()
        except Exception:  # the connection may be gone already; just close the socket
            with suppress(Exception):
                client.shutdown()


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:2000]


# --- fetching ----------------------------------------------------------------------------------


def fetch_mailbox(mailbox_id: int, *, limit: int = 500) -> FetchReport:
    """Fetch up to ``limit`` new messages of one mailbox. Never raises for a server, connection
    or database problem: it is in the report and in ``Mailbox.last_error``."""
    mailbox = Mailbox.objects.get(pk=mailbox_id)
    report = FetchReport(mailbox.address, last_uid=mailbox.imap_last_uid)
    if not mailbox.uses_imap:
        report.errors, report.error = 1, "not an IMAP mailbox (no imap_host)"
        return report
    try:
        with _session(mailbox) as client:
            _fetch(client, mailbox, report, limit)
    except FetchStopped as stop:
        report.errors += 1
        report.error = str(stop)
        log.warning("IMAP %s: %s", mailbox.address, stop)
    except IMAP_ERRORS as error:
        report.errors += 1
        report.error = _describe(error)
        log.warning("IMAP %s: %s", mailbox.address, report.error)
    except DatabaseError as error:
        # ``receive`` could not store the message: it stays unmarked on the server and the
        # mark stays where it was, so the next poll retries it (REL-1).
        report.errors += 1
        report.error = _describe(error)
        log.warning("IMAP %s: database unavailable, will retry: %s", mailbox.address, error)
    except Exception as error:
        # A bug, not a message's fault (``receive`` quarantines those): the message stays
        # unmarked, the mark stays below it, and it is retried next poll.
        report.errors += 1
        report.error = _describe(error)
        log.exception("IMAP %s: fetch failed", mailbox.address)
    _record(mailbox, report)
    return report


def _record(mailbox: Mailbox, report: FetchReport) -> None:
    try:
        Mailbox.objects.filter(pk=mailbox.pk).update(last_error=report.error)
    except DatabaseError:
        log.warning("IMAP %s: could not record the outcome (database unavailable)", mailbox.address)


def _fetch(client: Any, mailbox: Mailbox, report: FetchReport, limit: int) -> None:
    selected = client.select_folder(mailbox.imap_folder)  # SELECT, not EXAMINE: we mark mail
    if selected.get(b"READ-ONLY"):
        raise FetchStopped(f"folder {mailbox.imap_folder!r} is read-only: mail cannot be marked")
    uidvalidity = int(selected[b"UIDVALIDITY"])
    report.uidvalidity = uidvalidity
    last_uid = _epoch(mailbox, uidvalidity)
    report.last_uid = last_uid
    if mailbox.imap_archive_folder and not client.folder_exists(mailbox.imap_archive_folder):
        client.create_folder(mailbox.imap_archive_folder)
    can_move = client.has_capability("MOVE")
    can_uid_expunge = client.has_capability("UIDPLUS")

    # "N:*" always matches the last message, even when its UID is below N: filter it out.
    uids = sorted(uid for uid in client.search(["UID", f"{last_uid + 1}:*"]) if uid > last_uid)
    report.more = len(uids) > limit
    batch = uids[:limit]
    for start in range(0, len(batch), FETCH_CHUNK):
        chunk = batch[start : start + FETCH_CHUNK]
        data = client.fetch(chunk, ["BODY.PEEK[]", "RFC822.SIZE"])
        for uid in chunk:
            raw = data.get(uid, {}).get(b"BODY[]")
            if not raw:
                # Announced but without content (Exchange, OTRS PR #694): not imported, not
                # marked. The batch stops so the mark cannot pass it; the next poll tries again.
                report.more = True
                raise FetchStopped(f"UID {uid} came back without content; will retry next poll")
            receipt = receive(
                bytes(raw), mailbox=mailbox, source="imap",
                imap_uid=uid, imap_uidvalidity=uidvalidity,
            )  # fmt: skip
            if receipt.duplicate:
                report.duplicates += 1
            else:
                report.imported += 1
                if receipt.inbound.state == InboundState.QUARANTINED:
                    report.quarantined += 1
            fault_point("imap.after_commit")
            _mark(client, mailbox, uid, can_move=can_move, can_uid_expunge=can_uid_expunge)
            fault_point("imap.after_mark")
            _advance(mailbox, uidvalidity, uid)
            report.last_uid = uid


def _epoch(mailbox: Mailbox, uidvalidity: int) -> int:
    """The mark for this UIDVALIDITY. A new epoch (the folder was recreated, or the server
    renumbered it) starts again from 0: what was imported before comes back as duplicates."""
    if mailbox.imap_uidvalidity == uidvalidity:
        return mailbox.imap_last_uid
    log.warning(
        "IMAP %s: UIDVALIDITY changed from %s to %s; fetching the folder again from the start",
        mailbox.address, mailbox.imap_uidvalidity, uidvalidity,
    )  # fmt: skip
    Mailbox.objects.filter(pk=mailbox.pk, imap_uidvalidity=mailbox.imap_uidvalidity).update(
        imap_uidvalidity=uidvalidity, imap_last_uid=0
    )
    mailbox.refresh_from_db(fields=["imap_uidvalidity", "imap_last_uid"])
    if mailbox.imap_uidvalidity != uidvalidity:  # another process is on a different epoch
        raise FetchStopped("UIDVALIDITY is changing under another fetcher; will retry")
    return mailbox.imap_last_uid


def _mark(
    client: Any, mailbox: Mailbox, uid: int, *, can_move: bool, can_uid_expunge: bool
) -> None:
    """Only ever called after ``receive`` committed the message."""
    client.add_flags([uid], [SEEN, IMPORTED_KEYWORD], silent=True)
    archive = mailbox.imap_archive_folder
    if not archive:
        return
    if can_move:
        client.move([uid], archive)
        return
    client.copy([uid], archive)
    client.add_flags([uid], [DELETED], silent=True)
    if can_uid_expunge:
        client.uid_expunge([uid])
    # Without UIDPLUS a plain EXPUNGE would also remove what others marked \Deleted: leave it.


def _advance(mailbox: Mailbox, uidvalidity: int, uid: int) -> None:
    """Move the mark up to ``uid``; never down, and never across an epoch change. It also
    refreshes ``last_polled_at`` so a long fetch keeps its claim (see ``fetch_due``)."""
    Mailbox.objects.filter(
        pk=mailbox.pk, imap_uidvalidity=uidvalidity, imap_last_uid__lt=uid
    ).update(imap_last_uid=uid, last_polled_at=clock.now())


def _interval() -> dt.timedelta:
    return dt.timedelta(seconds=float(settings.POMOGU.get("IMAP_INTERVAL", 60)))


def imap_mailboxes() -> Any:
    return Mailbox.objects.filter(active=True).exclude(imap_host="")


def fetch_due() -> int:
    """The runner step: poll every active IMAP mailbox not polled for ``IMAP_INTERVAL``
    seconds; return how many new messages were stored. Safe in several processes at once: a
    mailbox is claimed by a conditional update of ``last_polled_at``. Never raises."""
    imported = 0
    try:
        now = clock.now()
        due = Q(last_polled_at__isnull=True) | Q(last_polled_at__lte=now - _interval())
        candidates = list(imap_mailboxes().filter(due).order_by("id").values_list("id", flat=True))
        for mailbox_id in candidates:
            if not Mailbox.objects.filter(due, pk=mailbox_id).update(last_polled_at=now):
                continue  # another process claimed it
            try:
                report = fetch_mailbox(mailbox_id)
            except Exception:
                log.exception("IMAP fetch of mailbox %s failed", mailbox_id)
                continue
            imported += report.imported
            if report.more and report.ok:
                # A full batch: come back on the next pass rather than after the interval.
                Mailbox.objects.filter(pk=mailbox_id).update(last_polled_at=None)
    except Exception:
        log.exception("IMAP polling failed; it runs again next pass")
    return imported


# --- reconciliation (REL-10) -------------------------------------------------------------------


def reconcile(mailbox_id: int) -> ReconcileReport:
    """What the server's folder has that pomogu has no InboundMessage for, and the reverse
    count. Reads the folder with EXAMINE: it changes nothing on the server."""
    mailbox = Mailbox.objects.get(pk=mailbox_id)
    report = ReconcileReport(mailbox.address, mailbox.imap_folder, last_uid=mailbox.imap_last_uid)
    if not mailbox.uses_imap:
        report.error = "not an IMAP mailbox (no imap_host)"
        return report
    try:
        with _session(mailbox) as client:
            _reconcile(client, mailbox, report)
    except IMAP_ERRORS as error:
        report.error = _describe(error)
    return report


def _reconcile(client: Any, mailbox: Mailbox, report: ReconcileReport) -> None:
    selected = client.select_folder(mailbox.imap_folder, readonly=True)
    uidvalidity = int(selected[b"UIDVALIDITY"])
    report.uidvalidity = uidvalidity
    same_epoch = mailbox.imap_uidvalidity == uidvalidity
    queue = queue_of(mailbox, "")
    server_uids = sorted(client.search(["ALL"]))
    report.on_server = len(server_uids)

    for start in range(0, len(server_uids), SCAN_CHUNK):
        chunk = server_uids[start : start + SCAN_CHUNK]
        data = client.fetch(
            chunk, ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]", "RFC822.SIZE", "FLAGS"]
        )
        messages = [_server_message(uid, data.get(uid, {})) for uid in chunk]
        known_uids = set(
            InboundMessage.objects.filter(
                mailbox=mailbox, imap_uidvalidity=uidvalidity, imap_uid__in=chunk
            ).values_list("imap_uid", flat=True)
        )
        keys = {m.uid: dedupe_key_of(queue, m.message_id, "") for m in messages if m.message_id}
        known_keys = set(
            InboundMessage.objects.filter(dedupe_key__in=list(keys.values())).values_list(
                "dedupe_key", flat=True
            )
        )
        unknown: list[ServerMessage] = []
        for message in messages:
            known = message.uid in known_uids or keys.get(message.uid) in known_keys
            if not known:
                unknown.append(message)
            elif not message.flagged and not mailbox.imap_archive_folder:
                report.unmarked.append(message.uid)
        report.missing.extend(_without_sha256_match(client, queue, unknown))

    if same_epoch:
        ours = set(
            InboundMessage.objects.filter(
                mailbox=mailbox, source="imap", imap_uidvalidity=uidvalidity
            ).values_list("imap_uid", flat=True)
        )
        report.not_in_folder = len(ours - set(server_uids))


def _server_message(uid: int, item: dict[bytes, Any]) -> ServerMessage:
    header = b""
    for key, value in item.items():
        if key.startswith(b"BODY[HEADER.FIELDS") and isinstance(value, bytes):
            header = value
    flags = item.get(b"FLAGS", ())
    return ServerMessage(
        uid=uid,
        message_id=quick_message_id(header + b"\r\n") if header.strip() else "",
        size=int(item.get(b"RFC822.SIZE", 0)),
        flagged=IMPORTED_KEYWORD in flags,
    )


def _without_sha256_match(
    client: Any, queue: str, candidates: Sequence[ServerMessage]
) -> list[ServerMessage]:
    """A message without a Message-ID is known to pomogu by the SHA-256 of its bytes (the
    dedupe key ``receive`` uses then); only those need their bodies fetched."""
    need_body = [m.uid for m in candidates if not m.message_id]
    digests: dict[int, str] = {}
    for start in range(0, len(need_body), FETCH_CHUNK):
        chunk = need_body[start : start + FETCH_CHUNK]
        data = client.fetch(chunk, ["BODY.PEEK[]"])
        for uid in chunk:
            raw = data.get(uid, {}).get(b"BODY[]") or b""
            if raw:
                digests[uid] = hashlib.sha256(raw).hexdigest()
    keys = {dedupe_key_of(queue, "", digest) for digest in digests.values()}
    known = set(
        InboundMessage.objects.filter(dedupe_key__in=list(keys)).values_list(
            "dedupe_key", flat=True
        )
    )
    return [
        m
        for m in candidates
        if m.message_id or f"{queue}|sha256:{digests.get(m.uid, '')}" not in known
    ]
