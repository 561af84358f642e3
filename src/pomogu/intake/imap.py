"""Mail fetched over IMAP (R1, REL-1, REL-3, REL-4, REL-10).

The order for every message is the one that cannot lose mail: fetch the bytes with ``PEEK``,
``receive`` them (stored, processed and committed), and only then mark the message on the
server (moved to the archive folder, or flagged ``\\Seen`` + ``$PomoguImported``) and advance
the mailbox's UID high-water mark. A crash anywhere leaves the message unmarked and the mark
where it was, so the next poll fetches it again and ``receive`` recognises it (REL-3).

Progress is ours, not the server's: a message another client has already read is still
fetched, because we ask for the UIDs above our mark, never for UNSEEN (REL-4, FreeScout #313).
``reconcile`` compares the folder with what pomogu holds and lists any gap (REL-10).

A large backlog can be processed by several worker processes (``pomogu fetchmail
--processes N``, the LMTP endpoint's workers): this process still fetches, marks and moves the
mark, in UID order, and only over messages whose worker has committed them. A message that
failed stops the mark below it; messages after it that were committed meanwhile stay unmarked
and come back next poll as duplicates (REL-3), as after a crash between commit and mark.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import imaplib
import logging
import ssl
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, wait
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
from pomogu.intake.workers import Outcome

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


# Worker processes are worth starting (a second or two each) only for a backlog this big.
POOL_THRESHOLD = 100


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
    if isinstance(error, (FetchFailed, WorkerDatabaseError)):
        return str(error)[:2000]  # a worker's own description, its type already in it
    return f"{type(error).__name__}: {error}"[:2000]


# --- fetching ----------------------------------------------------------------------------------


def fetch_mailbox(
    mailbox_id: int, *, limit: int = 500, pool: FetchPool | None = None
) -> FetchReport:
    """Fetch up to ``limit`` new messages of one mailbox. Never raises for a server, connection
    or database problem: it is in the report and in ``Mailbox.last_error``. With a ``pool``
    of more than one process, a backlog of ``POOL_THRESHOLD`` or more is processed by it."""
    mailbox = Mailbox.objects.get(pk=mailbox_id)
    report = FetchReport(mailbox.address, last_uid=mailbox.imap_last_uid)
    if not mailbox.uses_imap:
        report.errors, report.error = 1, "not an IMAP mailbox (no imap_host)"
        return report
    try:
        with _session(mailbox) as client:
            _fetch(client, mailbox, report, limit, pool)
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


def _fetch(
    client: Any, mailbox: Mailbox, report: FetchReport, limit: int, pool: FetchPool | None
) -> None:
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
    receiving = _Receiving(client, mailbox, report, uidvalidity, can_move, can_uid_expunge)
    if pool is not None and pool.processes > 1 and len(batch) >= POOL_THRESHOLD and pool.start():
        log.info(
            "IMAP %s: a backlog of %d messages, processed by %d worker processes",
            mailbox.address, len(batch), pool.processes,
        )  # fmt: skip
        receiving.submit = pool.submitter()
        receiving.ahead = FETCH_CHUNK  # every worker busy, marks in groups
    try:
        for start in range(0, len(batch), FETCH_CHUNK):
            chunk = batch[start : start + FETCH_CHUNK]
            data = client.fetch(chunk, ["BODY.PEEK[]", "RFC822.SIZE"])
            for uid in chunk:
                raw = data.get(uid, {}).get(b"BODY[]")
                if not raw:
                    # Announced but without content (Exchange, OTRS PR #694): not imported,
                    # not marked. The batch stops so the mark cannot pass it; the next poll
                    # tries again.
                    receiving.settle_all()
                    report.more = True
                    raise FetchStopped(f"UID {uid} came back without content; will retry next poll")
                receiving.add(uid, bytes(raw))
        receiving.settle_all()
    finally:
        receiving.abandon()


class _Receiving:
    """The messages of one fetch, received in order (here, or by a pool's workers) and then
    marked and counted in UID order, each only after its commit."""

    def __init__(
        self,
        client: Any,
        mailbox: Mailbox,
        report: FetchReport,
        uidvalidity: int,
        can_move: bool,
        can_uid_expunge: bool,
    ) -> None:
        self.client, self.mailbox, self.report = client, mailbox, report
        self.uidvalidity = uidvalidity
        self.can_move, self.can_uid_expunge = can_move, can_uid_expunge
        self.submit: Callable[[bytes, Mailbox, int, int], Future[Outcome]] = _receive_here
        self.ahead = 0  # how many received messages may wait for their mark
        self.pending: deque[tuple[int, Future[Outcome]]] = deque()

    def add(self, uid: int, raw: bytes) -> None:
        self.pending.append((uid, self.submit(raw, self.mailbox, uid, self.uidvalidity)))
        if len(self.pending) > self.ahead:
            self._settle(wait_for=len(self.pending) - self.ahead)

    def settle_all(self) -> None:
        if self.pending:
            self._settle(wait_for=len(self.pending))

    def abandon(self) -> None:
        """After a failure: the workers finish what they were given (committed or not, it is
        unmarked, and the next poll recognises it), and none of it is marked here."""
        futures = [future for _uid, future in self.pending]
        self.pending.clear()
        for future in futures:
            future.cancel()
        wait(futures)  # so nothing of this fetch is still being written when it returns

    def _settle(self, wait_for: int) -> None:
        """Count, mark and pass the mark over the first ``wait_for`` messages, waiting for
        each, and over those right behind them that are already done: one STORE and one
        UPDATE for the lot. A message that failed stops it there (raised)."""
        done: list[int] = []
        try:
            while self.pending and (len(done) < wait_for or self.pending[0][1].done()):
                uid, future = self.pending[0]
                # A worker's crash raises here: nothing from here on is marked.
                outcome = future.result()
                if outcome.error:
                    raise (WorkerDatabaseError if outcome.database_error else FetchFailed)(
                        outcome.error
                    )
                self.pending.popleft()
                done.append(uid)
                if outcome.duplicate:
                    self.report.duplicates += 1
                else:
                    self.report.imported += 1
                    if outcome.quarantined:
                        self.report.quarantined += 1
        finally:
            if done:  # committed, every one of them: marked even when the next one failed
                fault_point("imap.after_commit")
                _mark(self.client, self.mailbox, done, can_move=self.can_move,
                      can_uid_expunge=self.can_uid_expunge)  # fmt: skip
                fault_point("imap.after_mark")
                _advance(self.mailbox, self.uidvalidity, done[-1])
                self.report.last_uid = done[-1]


class FetchFailed(Exception):
    """A worker process could not process a message (the error as it described it)."""


class WorkerDatabaseError(DatabaseError):
    """A worker process could not store a message: the database, retried next poll."""


def receive_fetched(raw: bytes, mailbox: Mailbox, uid: int, uidvalidity: int) -> Outcome:
    receipt = receive(
        raw, mailbox=mailbox, source="imap", imap_uid=uid, imap_uidvalidity=uidvalidity
    )
    quarantined = receipt.inbound.state == InboundState.QUARANTINED
    return Outcome(duplicate=receipt.duplicate, quarantined=quarantined)


def _receive_here(raw: bytes, mailbox: Mailbox, uid: int, uidvalidity: int) -> Future[Outcome]:
    """In this process, at once: an error is raised here, before anything is marked."""
    future: Future[Outcome] = Future()
    future.set_result(receive_fetched(raw, mailbox, uid, uidvalidity))
    return future


class FetchPool:
    """Worker processes for ``fetch_mailbox``, started when a backlog first needs them (the
    LMTP endpoint's workers: spawned, Django set up, the models loaded) and stopped with
    ``close``. One pool serves every mailbox of a ``pomogu fetchmail`` run."""

    def __init__(self, processes: int) -> None:
        self.processes = max(1, processes)
        self._executor: ProcessPoolExecutor | None = None
        self._failed = False

    def start(self) -> bool:
        """Start the workers (once) and wait until one has set itself up; False if they
        cannot run here, e.g. in a process that may not have children (a Celery prefork
        worker's is daemonic): the backlog is then taken in this process, as without a pool."""
        import multiprocessing

        from pomogu.intake import workers

        if self._executor is not None or self._failed:
            return not self._failed
        context = multiprocessing.get_context("spawn")
        executor = ProcessPoolExecutor(
            max_workers=self.processes, mp_context=context,
            initializer=workers.start, initargs=(context.Semaphore(0),),
        )  # fmt: skip
        try:
            executor.submit(workers.started).result(timeout=120)
        except Exception as error:
            self._failed = True
            executor.shutdown(wait=False, cancel_futures=True)
            log.warning(
                "IMAP worker processes could not start (%s); processing in this process",
                _describe(error),
            )
            return False
        self._executor = executor
        return True

    def submitter(self) -> Callable[[bytes, Mailbox, int, int], Future[Outcome]]:
        from pomogu.intake import workers

        if not self.start() or self._executor is None:
            return _receive_here
        executor = self._executor

        def submit(raw: bytes, mailbox: Mailbox, uid: int, uidvalidity: int) -> Future[Outcome]:
            return executor.submit(workers.receive_fetched, raw, mailbox, uid, uidvalidity)

        return submit

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def __enter__(self) -> FetchPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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
    client: Any, mailbox: Mailbox, uids: list[int], *, can_move: bool, can_uid_expunge: bool
) -> None:
    """Only ever called after ``receive`` committed every one of the messages."""
    client.add_flags(uids, [SEEN, IMPORTED_KEYWORD], silent=True)
    archive = mailbox.imap_archive_folder
    if not archive:
        return
    if can_move:
        client.move(uids, archive)
        return
    client.copy(uids, archive)
    client.add_flags(uids, [DELETED], silent=True)
    if can_uid_expunge:
        client.uid_expunge(uids)
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
    mailbox is claimed by a conditional update of ``last_polled_at``. A backlog is processed
    by ``IMAP_PROCESSES`` worker processes, started for it and stopped after. Never raises."""
    imported = 0
    try:
        now = clock.now()
        due = Q(last_polled_at__isnull=True) | Q(last_polled_at__lte=now - _interval())
        candidates = list(imap_mailboxes().filter(due).order_by("id").values_list("id", flat=True))
        with FetchPool(int(settings.POMOGU.get("IMAP_PROCESSES", 1))) as pool:
            for mailbox_id in candidates:
                if not Mailbox.objects.filter(due, pk=mailbox_id).update(last_polled_at=now):
                    continue  # another process claimed it
                try:
                    report = fetch_mailbox(mailbox_id, pool=pool)
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
