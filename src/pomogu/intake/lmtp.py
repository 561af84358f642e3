"""The LMTP endpoint a mail server delivers to (R1, REL-1).

For each recipient it answers 250 only after ``intake.services.receive`` has committed the raw
message and what became of it, and 451 4.3.0 when anything failed before that, so the sending
server keeps the message and tries again. One reply per accepted recipient, in order (RFC 2033
§4.2): aiosmtpd writes the handler's answer as it is, so the replies are joined by CRLF.
aiosmtpd ≥ 1.4.5 accepts only CRLF.CRLF as the end of data (SMTP smuggling, CVE-2024-27305).

Who does the work: in-process (``start(...)``: the demo and the tests), a thread per message;
``pomogu lmtp --processes N``, N worker processes (``Workers``, ``intake.workers``).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from django.db import close_old_connections

from pomogu.core.faults import fault_point
from pomogu.intake.services import limits, mailbox_for, receive

log = logging.getLogger(__name__)

ACCEPTED = "250 2.0.0 Message accepted"
TEMPORARY = "451 4.3.0 Temporary failure: please try again later"


def deliver(raw: bytes, recipient: str, envelope_from: str) -> str:
    """Deliver to one recipient in this thread or worker; return the LMTP reply line."""
    try:
        mailbox = mailbox_for(recipient)
        receipt = receive(
            raw, mailbox=mailbox, recipient=recipient, envelope_from=envelope_from, source="lmtp"
        )
        if receipt.duplicate:
            log.info("duplicate delivery of %s to %s", receipt.inbound.rfc_message_id, recipient)
        return ACCEPTED
    except Exception:
        log.exception("delivery to %s failed; the sender will retry", recipient)
        # A broken connection (the database restarted) is closed here, so the next delivery
        # reconnects. A healthy one is kept without a health-check query per message.
        close_old_connections()
        return TEMPORARY


class Workers:
    """Processes that run ``deliver``; each message goes to whichever is free. A worker that
    dies (killed, out of memory) fails only the messages it was given, with 451: whether or not
    they were committed, the sender's retry is recognised (REL-3). A new set of workers takes
    over."""

    def __init__(self, count: int) -> None:
        self.count = max(1, count)
        # Spawned, not forked: the endpoint's event loop runs in a thread, and a fork of a
        # threaded process may inherit a lock that another thread held.
        self._context = multiprocessing.get_context("spawn")
        self._lock = threading.Lock()
        self._pool, self._ready = self._new_pool()

    def _new_pool(self) -> tuple[ProcessPoolExecutor, Any]:
        from pomogu.intake import workers

        ready = self._context.Semaphore(0)
        pool = ProcessPoolExecutor(
            max_workers=self.count,
            mp_context=self._context,
            initializer=workers.start,
            initargs=(ready,),
        )
        return pool, ready

    def wait_until_ready(self, timeout: float = 120) -> None:
        """Start every worker now and wait until each has set itself up."""
        from pomogu.intake import workers

        # Processes start when work arrives: one small task each makes them all start.
        for _ in range(self.count):
            self._pool.submit(workers.started)
        for _ in range(self.count):
            if not self._ready.acquire(timeout=timeout):
                raise RuntimeError("an LMTP worker did not start")

    async def deliver(self, raw: bytes, recipient: str, envelope_from: str) -> str:
        from pomogu.intake import workers

        for _attempt in range(2):
            pool = self._pool
            try:
                future = pool.submit(workers.deliver, raw, recipient, envelope_from)
            except BrokenProcessPool:
                # A worker died with another message; this one never reached a worker.
                self._replace(pool)
                continue
            except RuntimeError:  # shutting down
                return TEMPORARY
            try:
                return await asyncio.wrap_future(future)
            except BrokenProcessPool:
                log.error("an LMTP worker died; delivery to %s answered 451", recipient)
                self._replace(pool)
                return TEMPORARY
            except Exception:
                # ``deliver`` answers for everything a message can raise; this is the pool's
                # own failure (the message could not be handed over), never a reason for a 5xx.
                log.exception("delivery to %s failed in the worker pool; answered 451", recipient)
                return TEMPORARY
        return TEMPORARY

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is broken:
                self._pool, self._ready = self._new_pool()
        broken.shutdown(wait=False, cancel_futures=True)

    def stop(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class IntakeHandler:
    def __init__(self, workers: Workers | None = None) -> None:
        self.workers = workers

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        # Every address is a front door (R1): unknown ones go to the default team.
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw: bytes = envelope.original_content
        replies = []
        for recipient in envelope.rcpt_tos:
            replies.append(await self._deliver(raw, recipient, envelope.mail_from or ""))
        return "\r\n".join(replies)

    async def _deliver(self, raw: bytes, recipient: str, envelope_from: str) -> str:
        if self.workers is not None:
            reply = await self.workers.deliver(raw, recipient, envelope_from)
        else:
            reply = await asyncio.to_thread(deliver, raw, recipient, envelope_from)
        if reply == ACCEPTED:
            # The fault tests kill the process that answers here: committed, but the 250 never
            # sent (FT-2). A raised fault is a failure before the reply, so 451.
            try:
                fault_point("lmtp.after_commit_before_reply")
            except Exception:
                log.exception("delivery to %s failed before the reply", recipient)
                return TEMPORARY
        return reply


class LmtpController(Controller):
    def factory(self) -> LMTP:
        return LMTP(
            self.handler,
            data_size_limit=limits().max_bytes,
            enable_SMTPUTF8=True,
            decode_data=False,
            ident="pomogu LMTP",
        )


def start(host: str, port: int, *, workers: Workers | None = None) -> LmtpController:
    """Serve LMTP on host:port from a thread of this process; the messages are processed in
    threads of this process too, or by ``workers``."""
    controller = LmtpController(IntakeHandler(workers), hostname=host, port=port)
    controller.start()
    log.info("LMTP endpoint on %s:%s", host, port)
    return controller
