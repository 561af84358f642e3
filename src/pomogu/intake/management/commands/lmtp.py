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
        parser.add_argument(
            "--processes",
            type=int,
            default=int(os.environ.get("LMTP_PROCESSES", "1")),
            help=(
                "Worker processes that store and process the messages, each with its own "
                "database connection; about one per core, more when the database is remote."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        host, port, processes = options["host"], options["port"], max(1, options["processes"])
        workers = lmtp.Workers(processes)
        # Announce readiness only when every worker can take mail, so that the first messages
        # do not wait for Python and Django to start.
        workers.wait_until_ready()
        controller = lmtp.start(host, port, workers=workers)
        self.stdout.write(
            f"LMTP endpoint on {host}:{port} ({processes} process(es)). Ctrl-C to stop."
        )
        self.stdout.flush()
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        stop.wait()
        controller.stop()
        workers.stop()
        self.stdout.write("Stopped.")
