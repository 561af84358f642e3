"""The LMTP endpoint a mail server delivers to (R1, REL-1).

For each recipient it answers 250 only after ``intake.services.receive`` has committed the raw
message and what became of it, and 451 4.3.0 when anything failed before that, so the sending
server keeps the message and tries again. One reply per accepted recipient, in order (RFC 2033
§4.2): aiosmtpd writes the handler's answer as it is, so the replies are joined by CRLF.
aiosmtpd ≥ 1.4.5 accepts only CRLF.CRLF as the end of data (SMTP smuggling, CVE-2024-27305).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from django.db import close_old_connections

from pomogu.core.faults import fault_point
from pomogu.intake.models import Mailbox
from pomogu.intake.services import limits, receive

log = logging.getLogger(__name__)

ACCEPTED = "250 2.0.0 Message accepted"
TEMPORARY = "451 4.3.0 Temporary failure: please try again later"


def deliver(raw: bytes, recipient: str, envelope_from: str) -> str:
    """Deliver to one recipient in this (worker) thread; return the LMTP reply line."""
    try:
        mailbox = Mailbox.objects.filter(address__iexact=recipient, active=True).first()
        receipt = receive(
            raw, mailbox=mailbox, recipient=recipient, envelope_from=envelope_from, source="lmtp"
        )
        if receipt.duplicate:
            log.info("duplicate delivery of %s to %s", receipt.inbound.rfc_message_id, recipient)
        # The fault tests kill the process here: committed, but the 250 never sent (FT-2).
        fault_point("lmtp.after_commit_before_reply")
        return ACCEPTED
    except Exception:
        log.exception("delivery to %s failed; the sender will retry", recipient)
        # A broken connection (the database restarted) is closed here, so the next delivery
        # reconnects. A healthy one is kept without a health-check query per message.
        close_old_connections()
        return TEMPORARY


class IntakeHandler:
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
            replies.append(
                await asyncio.to_thread(deliver, raw, recipient, envelope.mail_from or "")
            )
        return "\r\n".join(replies)


class LmtpController(Controller):
    """aiosmtpd's controller, with SO_REUSEPORT when several processes serve one port."""

    reuse_port = False

    def _create_server(self) -> Any:
        return self.loop.create_server(
            self._factory_invoker,
            host=self.hostname,
            port=self.port,
            ssl=self.ssl_context,
            reuse_port=self.reuse_port,
        )

    def _trigger_server(self) -> None:
        if self.reuse_port:
            # aiosmtpd checks its server by connecting to the port; with SO_REUSEPORT the kernel
            # may hand that connection to a sibling process, and this one would time out. Build
            # the protocol once directly instead: the check is the same (the factory works).
            self._factory_invoker()
            return
        super()._trigger_server()

    def factory(self) -> LMTP:
        return LMTP(
            self.handler,
            data_size_limit=limits().max_bytes,
            enable_SMTPUTF8=True,
            decode_data=False,
            ident="pomogu LMTP",
        )


def start(host: str, port: int, *, reuse_port: bool = False) -> LmtpController:
    controller = LmtpController(IntakeHandler(), hostname=host, port=port)
    controller.reuse_port = reuse_port
    controller.start()
    log.info("LMTP endpoint on %s:%s", host, port)
    return controller
