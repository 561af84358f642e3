"""The processes that store and process mail for the LMTP endpoint (``pomogu lmtp
--processes N``) and for a large IMAP backlog (``pomogu fetchmail --processes N``).

One process speaks LMTP to the mail server; each message goes to whichever worker process is
free, and the 250 is written only when that worker has committed it (REL-1). Work is shared by
a queue, not by the kernel: with SO_REUSEPORT each process kept the connections it was handed,
and four connections on two processes were often three on one and one on the other, or four on
one. A worker runs one message at a time on its own database connection, so no two messages
contend for one interpreter lock.

This module imports nothing of Django at load time: a new worker unpickles these functions
before Django is set up.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Outcome:
    """What became of one fetched message, as a worker process reports it: no exception
    object crosses the process boundary (a driver's error may not survive pickling)."""

    duplicate: bool = False
    quarantined: bool = False
    error: str = ""  # empty when it was committed
    database_error: bool = False  # the database failed, not the code: retried next poll


def start(ready: Any) -> None:
    """A new worker's first step: Django, the database session settings, the code and data
    every message needs (so the first message does not pay for them), then say so."""
    # The endpoint decides when workers stop: Ctrl-C in a terminal reaches the whole group and
    # must not cut a message short here (SIGTERM still ends a worker: the pool ends a broken
    # set of workers with it). A worker whose endpoint is gone (killed) ends at once: nobody
    # is left to answer for its messages, and the sender will retry them.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    endpoint = multiprocessing.parent_process()
    if endpoint is not None:
        threading.Thread(target=_end_with, args=(endpoint,), daemon=True).start()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pomogu.settings")
    import django

    django.setup()
    from pomogu.intake import services

    services.prepare_process()
    ready.release()


def _end_with(endpoint: Any) -> None:
    endpoint.join()
    os._exit(1)


def started() -> None:
    """Nothing: the task that makes the pool start a worker."""


def deliver(raw: bytes, recipient: str, envelope_from: str) -> str:
    from pomogu.intake.lmtp import deliver as deliver_here

    return deliver_here(raw, recipient, envelope_from)


def receive_fetched(raw: bytes, mailbox: Any, uid: int, uidvalidity: int) -> Outcome:
    from django.db import DatabaseError, close_old_connections

    from pomogu.intake.imap import receive_fetched as receive_here

    try:
        return receive_here(raw, mailbox, uid, uidvalidity)
    except Exception as error:
        # Reported, not raised: the fetching process stops its mark below this message.
        close_old_connections()  # a broken connection is replaced for the next message
        return Outcome(
            error=f"{type(error).__name__}: {error}"[:2000],
            database_error=isinstance(error, DatabaseError),
        )
