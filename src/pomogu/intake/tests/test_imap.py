"""Mail fetched from a real Dovecot over IMAP (R1, REL-1, REL-3, REL-4, REL-10, FT-4..7):
a message is marked on the server only after it is committed, progress is our UID mark and
not ``\\Seen``, nothing is lost and nothing is stored twice, and reconciliation shows gaps."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import OperationalError

from pomogu.cases.models import Case, Message
from pomogu.core import clock
from pomogu.core.testing import (
    Cast,
    database_url_for_subprocesses,
    wait_until_subprocesses_disconnect,
)
from pomogu.intake import imap
from pomogu.intake.models import InboundMessage, InboundState, Mailbox
from pomogu.intake.services import quick_message_id
from pomogu.intake.tests.dovecot import Dovecot, running_dovecot
from pomogu.intake.tests.mails import customer_mail

SHARED = Path(__file__).resolve().parents[5] / "shared" / "data"
IMPORTED = b"$PomoguImported"
SEEN = b"\\Seen"
pytestmark = pytest.mark.django_db


@pytest.fixture
def server() -> Iterator[Dovecot]:
    with running_dovecot() as dovecot:
        yield dovecot


@pytest.fixture
def box(cast: Cast, server: Dovecot) -> Mailbox:
    return Mailbox.objects.create(
        name="Поддержка", address="support@desk.test", team=cast.support,
        **server.mailbox_fields(),
    )  # fmt: skip


def mail(subject: str, *, body: str = "С утра не работает интернет.\n") -> bytes:
    """A customer's message with CRLF line ends: the server serves it back byte for byte."""
    return customer_mail(
        sender="Dave Customer <dave@customer.test>", subject=subject, body=body, crlf=True
    )


def marked(server: Dovecot, folder: str = "INBOX") -> dict[int, bool]:
    return {uid: {IMPORTED, SEEN} <= flags for uid, flags in server.flags(folder).items()}


def reconcile_command(address: str) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("mail", "reconcile", address, stdout=out)
    except SystemExit as exit_:
        return int(exit_.code or 0), out.getvalue()
    return 0, out.getvalue()


# --- nothing lost, nothing twice --------------------------------------------------------------


def test_every_corpus_message_is_imported_once_marked_and_reconciled(
    server: Dovecot, box: Mailbox
) -> None:
    files = sorted((SHARED / "email_stdlib_cpython").glob("msg_*.txt"))
    assert len(files) >= 40
    server.append_many(path.read_bytes() for path in files)
    served = server.messages()  # the bytes as the server hands them out (CRLF line ends)
    assert len(served) == len(files)
    # One row per distinct Message-ID, or per distinct content without one (REL-3): five of
    # the CPython files share a Message-ID, so they are one message delivered five times.
    expected = {quick_message_id(raw) or hashlib.sha256(raw).hexdigest() for raw in served.values()}

    report = imap.fetch_mailbox(box.pk)

    assert (report.errors, report.error) == (0, "")
    assert report.imported == len(expected)
    assert report.duplicates == len(served) - len(expected)
    rows = InboundMessage.objects.filter(mailbox=box)
    assert rows.count() == len(expected)
    assert {row.rfc_message_id or row.sha256 for row in rows} == expected
    for row in rows:
        assert bytes(row.raw) in served.values()
        assert row.source == "imap"
        assert row.imap_uidvalidity == server.uidvalidity()
        assert served[row.imap_uid] == bytes(row.raw)
        assert row.state in (InboundState.PROCESSED, InboundState.QUARANTINED, InboundState.HELD)
        assert row.reason != "pending"
    assert all(marked(server).values())
    box.refresh_from_db()
    assert box.imap_last_uid == max(served)
    assert box.imap_uidvalidity == server.uidvalidity()
    assert box.last_error == ""

    code, out = reconcile_command(box.address)
    assert code == 0, out
    assert f"{len(served)} on the server, 0 missing in pomogu" in out

    again = imap.fetch_mailbox(box.pk)
    assert (again.imported, again.duplicates, again.errors) == (0, 0, 0)
    assert rows.count() == len(expected)


def test_a_message_another_client_already_read_is_still_imported(
    server: Dovecot, box: Mailbox
) -> None:
    """REL-4, FreeScout #313/#3406: progress is our UID mark, never the shared \\Seen flag."""
    read_elsewhere = server.append(mail("Прочитано в Thunderbird"), flags=[SEEN])
    unread = server.append(mail("Не прочитано"))

    report = imap.fetch_mailbox(box.pk)

    assert report.imported == 2
    assert set(InboundMessage.objects.filter(mailbox=box).values_list("imap_uid", flat=True)) == {
        read_elsewhere,
        unread,
    }
    assert Case.objects.filter(subject="Прочитано в Thunderbird").exists()
    assert marked(server) == {read_elsewhere: True, unread: True}


def test_fetching_does_not_set_seen_on_a_message_it_cannot_store(
    server: Dovecot, box: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FT-5 in small: the database fails on the second message. The first is stored and
    marked; the second and third stay untouched on the server (BODY.PEEK, no STORE) and the
    mark stays below them; the next poll imports them exactly once."""
    uids = server.append_many([mail("Первое"), mail("Второе"), mail("Третье")])
    real = imap.receive
    calls = {"n": 0}

    def database_down_on_the_second(raw: bytes, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OperationalError("database is locked")
        return real(raw, **kwargs)

    monkeypatch.setattr(imap, "receive", database_down_on_the_second)
    report = imap.fetch_mailbox(box.pk)

    assert (report.imported, report.errors) == (1, 1)
    assert "OperationalError" in report.error
    flags = server.flags()
    assert {IMPORTED, SEEN} <= flags[uids[0]]
    assert flags[uids[1]] & {IMPORTED, SEEN} == set()
    assert flags[uids[2]] & {IMPORTED, SEEN} == set()
    box.refresh_from_db()
    assert box.imap_last_uid == uids[0]
    assert "OperationalError" in box.last_error

    monkeypatch.setattr(imap, "receive", real)
    report = imap.fetch_mailbox(box.pk)
    assert (report.imported, report.duplicates, report.errors) == (2, 0, 0)
    assert InboundMessage.objects.filter(mailbox=box).count() == 3
    assert Case.objects.count() == 3
    assert all(marked(server).values())
    box.refresh_from_db()
    assert (box.imap_last_uid, box.last_error) == (uids[2], "")


def test_a_message_announced_without_content_is_neither_imported_nor_marked(
    server: Dovecot, box: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OTRS PR #694: Exchange announces UIDs before their bodies can be fetched. Dovecot
    always serves the body, so the empty answer is injected for one UID on the real
    connection; the batch stops there and the next poll gets it."""
    uids = server.append_many([mail("Раз"), mail("Два"), mail("Три")])
    real_fetch = imap.IMAPClient.fetch

    def no_body_for_the_second(self: Any, messages: Any, data: Any, modifiers: Any = None) -> Any:
        answer = real_fetch(self, messages, data, modifiers)
        if uids[1] in answer:
            answer[uids[1]][b"BODY[]"] = b""
        return answer

    monkeypatch.setattr(imap.IMAPClient, "fetch", no_body_for_the_second)
    report = imap.fetch_mailbox(box.pk)

    assert report.imported == 1
    assert f"UID {uids[1]}" in report.error
    assert marked(server) == {uids[0]: True, uids[1]: False, uids[2]: False}
    box.refresh_from_db()
    assert box.imap_last_uid == uids[0]

    monkeypatch.setattr(imap.IMAPClient, "fetch", real_fetch)
    report = imap.fetch_mailbox(box.pk)
    assert (report.imported, report.errors) == (2, 0)
    assert all(marked(server).values())


def test_poison_message_is_quarantined_byte_exact_and_the_batch_goes_on(
    server: Dovecot, box: Mailbox
) -> None:
    """FT-7: a message the parser cannot take (3,000 nested multiparts) in the middle."""
    poison = (
        b"From: dave@customer.test\r\nTo: support@desk.test\r\n"
        b"Message-ID: <poison@customer.test>\r\nSubject: nested\r\n"
        + b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
        * 3000
    )
    before, bad, after = server.append_many([mail("До яда"), poison, mail("После яда")])
    assert server.messages()[bad] == poison  # the server keeps it byte for byte

    report = imap.fetch_mailbox(box.pk)

    assert (report.imported, report.quarantined, report.errors) == (3, 1, 0)
    held = InboundMessage.objects.get(rfc_message_id="<poison@customer.test>")
    assert held.state == InboundState.QUARANTINED
    assert held.reason not in ("", "pending")
    assert bytes(held.raw) == poison
    assert held.sha256 == hashlib.sha256(poison).hexdigest()
    assert held.imap_uid == bad
    assert set(Case.objects.values_list("subject", flat=True)) == {"До яда", "После яда"}
    assert marked(server) == {before: True, bad: True, after: True}


# --- the crash window between commit and mark (FT-4) ------------------------------------------


def _pomogu(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``pomogu ARGS`` in a new process on the test's database, with ``env`` added."""
    environment = {k: v for k, v in os.environ.items() if k != "POMOGU_FAULTS"}
    environment.update(DATABASE_URL=database_url_for_subprocesses(), **env)
    done = subprocess.run(
        [sys.executable, "-m", "pomogu", *args],
        env=environment, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    wait_until_subprocesses_disconnect()
    return done


def _fetchmail(address: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return _pomogu("fetchmail", "--mailbox", address, *args, **env)


@pytest.mark.django_db(transaction=True)
def test_fetcher_killed_between_commit_and_mark_imports_everything_exactly_once(
    server: Dovecot, box: Mailbox
) -> None:
    """FT-4, Zammad #1662: the process dies (SIGKILL) right after the first message is
    committed, before it is marked. The server still shows it unmarked; the next run finds it
    already stored (no second case), marks it, and imports the rest."""
    uids = server.append_many([mail("Первое"), mail("Второе"), mail("Третье")])

    killed = _fetchmail(box.address, POMOGU_FAULTS="imap.after_commit:kill")

    assert killed.returncode == -9, killed.stderr
    assert InboundMessage.objects.count() == 1
    assert InboundMessage.objects.get().imap_uid == uids[0]
    assert not any(marked(server).values())  # committed, but not marked: the crash window
    box.refresh_from_db()
    assert box.imap_last_uid == 0
    gap = imap.reconcile(box.pk)  # what an admin would see now
    assert gap.unmarked == [uids[0]]
    assert [m.uid for m in gap.missing] == uids[1:]

    rerun = _fetchmail(box.address)

    assert rerun.returncode == 0, rerun.stderr
    assert "imported 2 (quarantined 0), duplicates 1, errors 0" in rerun.stdout
    assert InboundMessage.objects.count() == 3
    assert Case.objects.count() == 3
    assert Message.objects.count() == 3
    assert sorted(InboundMessage.objects.values_list("imap_uid", flat=True)) == uids
    assert all(marked(server).values())
    box.refresh_from_db()
    assert box.imap_last_uid == uids[-1]


# --- a backlog processed by worker processes ---------------------------------------------------


def backlog(count: int) -> tuple[list[bytes], list[str]]:
    """``count`` new threads from as many customers (one sender's hundred messages in a minute
    would be held as a loop), a reply to each of the first ten among them, and a poison
    message in the middle: a reply can be processed by one worker while another is still on
    its parent."""

    def customer(n: int, subject: str, body: str, parent: str = "") -> bytes:
        threading = {"in_reply_to": parent, "references": parent} if parent else {}
        return customer_mail(
            sender=f"Customer {n} <customer{n}@customer.test>",
            subject=subject, body=body, crlf=True, **threading,
        )  # fmt: skip

    firsts = [customer(n, f"Обращение {n}", "Не работает интернет.\n") for n in range(count)]
    ids = [quick_message_id(raw) for raw in firsts]
    replies = [
        customer(n, f"Re: Обращение {n}", "Добавлю подробности.\n", parent)
        for n, parent in enumerate(ids[:10])
    ]
    poison = (
        b"From: dave@customer.test\r\nTo: support@desk.test\r\n"
        b"Message-ID: <poison-backlog@customer.test>\r\nSubject: nested\r\n"
        + b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
        * 3000
    )
    half = count // 2
    return firsts[:half] + replies + [poison] + firsts[half:], ids


@pytest.mark.django_db(transaction=True)
def test_a_backlog_processed_by_worker_processes_is_imported_once_threaded_and_marked(
    server: Dovecot, box: Mailbox
) -> None:
    messages, ids = backlog(imap.POOL_THRESHOLD)
    uids = server.append_many(messages)

    done = _fetchmail(box.address, "--processes", "2")

    assert done.returncode == 0, done.stderr
    assert f"imported {len(messages)} (quarantined 1), duplicates 0, errors 0" in done.stdout
    rows = InboundMessage.objects.filter(mailbox=box)
    assert sorted(rows.values_list("imap_uid", flat=True)) == uids
    assert rows.filter(state=InboundState.QUARANTINED).get().rfc_message_id == (
        "<poison-backlog@customer.test>"
    )
    assert Case.objects.count() == imap.POOL_THRESHOLD  # every reply joined its parent's case
    for n, parent in enumerate(ids[:10]):
        case = Case.objects.get(subject=f"Обращение {n}")
        assert case.messages.count() == 2, parent
    assert all(marked(server).values())
    box.refresh_from_db()
    assert box.imap_last_uid == uids[-1]
    assert box.last_error == ""


@pytest.mark.django_db(transaction=True)
def test_fetcher_with_workers_killed_after_a_commit_leaves_nothing_lost_or_twice(
    server: Dovecot, box: Mailbox
) -> None:
    """FT-4 with worker processes: the fetching process dies when the first message is
    committed; by then the workers may have committed several more, none of them marked and
    the mark not moved. The workers end with it, and the next run imports the rest once."""
    messages, _ids = backlog(imap.POOL_THRESHOLD)
    uids = server.append_many(messages)

    killed = _fetchmail(box.address, "--processes", "2", POMOGU_FAULTS="imap.after_commit:kill")

    assert killed.returncode == -9, killed.stderr
    committed = InboundMessage.objects.count()
    assert 1 <= committed < len(messages)
    assert not any(marked(server).values())
    box.refresh_from_db()
    assert box.imap_last_uid == 0

    rerun = _fetchmail(box.address, "--processes", "2")

    assert rerun.returncode == 0, rerun.stderr
    imported = len(messages) - committed
    assert f"imported {imported} (quarantined " in rerun.stdout
    assert f"duplicates {committed}, errors 0" in rerun.stdout
    assert sorted(InboundMessage.objects.values_list("imap_uid", flat=True)) == uids
    assert Case.objects.count() == imap.POOL_THRESHOLD
    assert Message.objects.count() == len(messages) - 1  # all but the quarantined one
    assert all(marked(server).values())


@pytest.mark.django_db(transaction=True)
def test_the_background_poll_takes_a_backlog_with_worker_processes(
    server: Dovecot, box: Mailbox
) -> None:
    """``POMOGU_IMAP_PROCESSES``: the runner's step starts workers for a backlog, and a small
    batch after it is taken in the runner's own process."""
    messages, _ids = backlog(imap.POOL_THRESHOLD)
    uids = server.append_many(messages)
    workers = {"POMOGU_IMAP_PROCESSES": "2", "POMOGU_IMAP_INTERVAL": "0"}
    poll = (
        "from pomogu.intake import imap\n"
        "print('imported', imap.fetch_due())\n"
        "print('imported', imap.fetch_due())\n"
    )

    first = _pomogu("shell", "-c", poll, **workers)
    server.append(mail("После очереди"))
    second = _pomogu("shell", "-c", poll, **workers)

    assert first.returncode == 0, first.stderr
    assert first.stdout.endswith(f"imported {len(messages)}\nimported 0\n")
    assert f"a backlog of {len(messages)} messages, processed by 2 worker processes" in (
        first.stderr
    )
    assert second.stdout.endswith("imported 1\nimported 0\n"), second.stderr
    assert "backlog" not in second.stderr
    assert InboundMessage.objects.count() == len(uids) + 1
    assert all(marked(server).values())


@pytest.mark.django_db(transaction=True)
def test_a_poll_in_a_process_that_may_not_have_children_takes_the_backlog_itself(
    server: Dovecot, box: Mailbox
) -> None:
    """A Celery prefork worker's process is daemonic, and a daemonic process may not start
    processes: the backlog is then taken in the polling process, not left behind."""
    messages, _ids = backlog(imap.POOL_THRESHOLD)
    server.append_many(messages)
    poll = (
        "import multiprocessing\n"
        "from django.db import connections\n"
        "from pomogu.intake import imap\n"
        "def poll():\n"
        "    print('imported', imap.fetch_due(), flush=True)\n"
        "connections.close_all()\n"
        "child = multiprocessing.get_context('fork').Process(target=poll, daemon=True)\n"
        "child.start()\n"
        "child.join()\n"
    )

    done = _pomogu(
        "shell", "-c", poll, POMOGU_IMAP_PROCESSES="2", POMOGU_IMAP_INTERVAL="0"
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert done.stdout.endswith(f"imported {len(messages)}\n"), done.stderr
    assert "IMAP worker processes could not start" in done.stderr
    assert "daemonic processes are not allowed to have children" in done.stderr
    assert InboundMessage.objects.count() == len(messages)
    assert all(marked(server).values())


class _OneFailure(imap.FetchPool):
    """A pool whose "worker" (this process) reports one message as failed, the way a worker
    reports a database that went away, and processes the others as a worker would."""

    def __init__(self, failing_uid: int) -> None:
        super().__init__(2)
        self.failing_uid = failing_uid

    def start(self) -> bool:
        return True  # no processes: this one is the "worker"

    def submitter(self) -> Any:
        from concurrent.futures import Future

        from pomogu.intake.workers import Outcome

        def submit(raw: bytes, mailbox: Mailbox, uid: int, uidvalidity: int) -> Any:
            future: Future[Outcome] = Future()
            if uid == self.failing_uid:
                future.set_result(Outcome(error="OperationalError: gone", database_error=True))
            else:
                future.set_result(imap.receive_fetched(raw, mailbox, uid, uidvalidity))
            return future

        return submit


def test_a_message_a_worker_could_not_store_stops_the_mark_below_it(
    server: Dovecot, box: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Messages after the failed one may be committed already; they stay unmarked and the
    mark stays below the failure, so the next poll retries it and finds the rest stored."""
    monkeypatch.setattr(imap, "POOL_THRESHOLD", 1)
    uids = server.append_many([mail(f"Письмо {n}") for n in range(6)])

    report = imap.fetch_mailbox(box.pk, pool=_OneFailure(failing_uid=uids[2]))

    assert (report.imported, report.errors) == (2, 1)
    assert report.error == "OperationalError: gone"
    box.refresh_from_db()
    assert box.imap_last_uid == uids[1]
    assert "OperationalError: gone" in box.last_error
    assert marked(server) == {uid: uid in uids[:2] for uid in uids}
    stored = set(InboundMessage.objects.values_list("imap_uid", flat=True))
    assert uids[2] not in stored
    assert stored >= set(uids[:2])  # and whichever later ones were processed before the stop

    again = imap.fetch_mailbox(box.pk, pool=imap.FetchPool(1))

    assert (again.imported, again.errors) == (1 + 3 - len(stored - set(uids[:2])), 0)
    assert again.duplicates == len(stored - set(uids[:2]))
    assert sorted(InboundMessage.objects.values_list("imap_uid", flat=True)) == uids
    assert all(marked(server).values())


# --- epochs, outages, polling -----------------------------------------------------------------


def test_new_uidvalidity_fetches_the_folder_again_without_duplicates(
    server: Dovecot, cast: Cast
) -> None:
    box = Mailbox.objects.create(
        name="Поддержка", address="support@desk.test", team=cast.support,
        **server.mailbox_fields("Helpdesk"),
    )  # fmt: skip
    first, second, third = mail("Один"), mail("Два"), mail("Три")
    server.append_many([first, second], folder="Helpdesk")
    assert imap.fetch_mailbox(box.pk).imported == 2
    old_epoch = server.uidvalidity("Helpdesk")

    # Someone recreates the folder (or the server is migrated): same mail, UIDs from 1 again.
    server.recreate_folder("Helpdesk")
    server.append_many([first, second, third], folder="Helpdesk")
    new_epoch = server.uidvalidity("Helpdesk")
    assert new_epoch != old_epoch

    report = imap.fetch_mailbox(box.pk)

    assert (report.imported, report.duplicates, report.errors) == (1, 2, 0)
    assert InboundMessage.objects.filter(mailbox=box).count() == 3
    assert Case.objects.count() == 3
    box.refresh_from_db()
    assert (box.imap_uidvalidity, box.imap_last_uid) == (new_epoch, 3)
    assert all(marked(server, "Helpdesk").values())
    assert reconcile_command(box.address)[0] == 0


def test_server_down_is_recorded_and_the_next_poll_imports(
    server: Dovecot, box: Mailbox, settings: Any
) -> None:
    settings.POMOGU = {**settings.POMOGU, "IMAP_INTERVAL": 0}
    uid = server.append(mail("Пока сервер лежал"))
    server.stop()

    assert imap.fetch_due() == 0  # raises nothing

    box.refresh_from_db()
    assert "ConnectionRefusedError" in box.last_error
    assert not InboundMessage.objects.exists()

    server.start()
    assert imap.fetch_due() == 1
    box.refresh_from_db()
    assert box.last_error == ""
    assert InboundMessage.objects.get().imap_uid == uid
    assert marked(server) == {uid: True}


def test_fetch_due_polls_a_mailbox_once_per_interval(
    server: Dovecot, box: Mailbox, cast: Cast, settings: Any
) -> None:
    settings.POMOGU = {**settings.POMOGU, "IMAP_INTERVAL": 60}
    Mailbox.objects.create(name="LMTP only", address="lmtp@desk.test", team=cast.billing)
    server.append(mail("Первое"))
    assert imap.fetch_due() == 1
    server.append(mail("Второе"))

    assert imap.fetch_due() == 0  # polled a moment ago: not due, not contacted

    Mailbox.objects.filter(pk=box.pk).update(last_polled_at=clock.now() - dt.timedelta(minutes=2))
    assert imap.fetch_due() == 1
    Mailbox.objects.filter(pk=box.pk).update(active=False, last_polled_at=None)
    server.append(mail("Третье"))
    assert imap.fetch_due() == 0  # inactive mailboxes are not polled


def test_full_batch_leaves_the_rest_for_the_next_poll(server: Dovecot, box: Mailbox) -> None:
    uids = server.append_many([mail(f"Письмо {n}") for n in range(5)])

    first = imap.fetch_mailbox(box.pk, limit=2)
    assert (first.imported, first.more) == (2, True)
    assert marked(server) == {uid: uid in uids[:2] for uid in uids}

    rest = imap.fetch_mailbox(box.pk, limit=10)
    assert (rest.imported, rest.duplicates, rest.more) == (3, 0, False)
    assert all(marked(server).values())


def test_imported_mail_is_moved_to_the_archive_folder_when_one_is_set(
    server: Dovecot, box: Mailbox
) -> None:
    box.imap_archive_folder = "Pomogu Imported"
    box.save()
    server.append_many([mail("В архив 1"), mail("В архив 2")])

    report = imap.fetch_mailbox(box.pk)

    assert (report.imported, report.errors) == (2, 0)
    assert server.flags("INBOX") == {}
    archived = server.flags("Pomogu Imported")
    assert len(archived) == 2
    assert all({IMPORTED, SEEN} <= flags for flags in archived.values())
    result = imap.reconcile(box.pk)
    assert (result.on_server, result.missing, result.not_in_folder) == (0, [], 2)


# --- reconciliation (REL-10) ------------------------------------------------------------------


def test_reconcile_lists_a_message_on_the_server_that_pomogu_does_not_have(
    server: Dovecot, box: Mailbox
) -> None:
    lost, kept = server.append_many([mail("Потеряно"), mail("На месте")])
    imap.fetch_mailbox(box.pk)
    # Simulate silent loss (Zammad #5192): marked as imported on the server, yet no row.
    # InboundMessage rows are append-only by convention; deleting one is this test's fault.
    InboundMessage.objects.filter(imap_uid=lost).delete()
    pending = server.append(mail("Ещё не забрано"))  # above the mark: not fetched yet

    result = imap.reconcile(box.pk)

    assert result.on_server == 3
    assert [(m.uid, m.flagged) for m in result.missing] == [(lost, True), (pending, False)]
    assert result.unmarked == []
    code, out = reconcile_command(box.address)
    assert code == 1
    assert f"missing UID {lost}" in out
    assert "MARKED AS IMPORTED BUT MISSING" in out
    assert f"missing UID {pending}" in out
    assert "not fetched yet" in out
    assert f"UID {kept}" not in out


def test_reconcile_matches_a_message_without_message_id_by_its_bytes(
    server: Dovecot, box: Mailbox
) -> None:
    anonymous = "From: dave@customer.test\r\nSubject: Без ID\r\n\r\nТекст\r\n".encode()
    server.append(anonymous)
    server.append(anonymous.replace(b"\r\n\r\n", b"\r\n\r\nP.S. "))  # also without an ID
    imap.fetch_mailbox(box.pk)
    InboundMessage.objects.filter(sha256=hashlib.sha256(anonymous).hexdigest()).delete()

    result = imap.reconcile(box.pk)

    assert [m.uid for m in result.missing] == [1]


def test_the_admin_shows_the_same_reconciliation(server: Dovecot, box: Mailbox) -> None:
    """REL-10: the admin view and the CLI compare the same things."""
    from django.test import Client

    from pomogu.core.testing import PASSWORD

    lost, _kept = server.append_many([mail("Потеряно"), mail("На месте")])
    imap.fetch_mailbox(box.pk)
    InboundMessage.objects.filter(imap_uid=lost).delete()  # silent loss, as above
    client = Client()
    assert client.login(username="root", password=PASSWORD)
    page = client.post(
        "/admin/intake/mailbox/",
        {"action": "reconcile", "_selected_action": [box.pk]},
        follow=True,
    ).content.decode()
    assert "2 on the server; missing in pomogu: 1" in page
    assert f"(UIDs {lost})" in page
