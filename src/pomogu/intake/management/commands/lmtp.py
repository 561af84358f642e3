"""``pomogu lmtp``: the LMTP endpoint for a mail server (Postfix ``lmtp:inet:HOST:PORT``)."""

from __future__ import annotations

import os
import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from pomogu.intake import lmtp


class Command(BaseCommand):
    help = (
        "Serve the LMTP endpoint on $LMTP_HOST:$LMTP_PORT (default 127.0.0.1:8024). Each "
        "message is answered 250 only after it is stored and its case committed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("LMTP_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("LMTP_PORT", "8024")))

    def handle(self, *args: Any, **options: Any) -> None:
        controller = lmtp.start(options["host"], options["port"])
        self.stdout.write(f"LMTP endpoint on {options['host']}:{options['port']}. Ctrl-C to stop.")
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        stop.wait()
        controller.stop()
        self.stdout.write("Stopped.")
