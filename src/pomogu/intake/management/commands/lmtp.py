"""``pomogu lmtp``: the LMTP endpoint for a mail server (Postfix ``lmtp:inet:HOST:PORT``)."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
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
            help="Processes serving the port together (SO_REUSEPORT); one per core is a start.",
        )
        parser.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)

    def handle(self, *args: Any, **options: Any) -> None:
        host, port, processes = options["host"], options["port"], max(1, options["processes"])
        shared = processes > 1 or options["reuse_port"]
        controller = lmtp.start(host, port, reuse_port=shared)
        # The other processes are this same command; each takes connections from the kernel.
        command = [sys.executable, "-m", "pomogu", "lmtp", "--host", host, "--port", str(port)]
        helpers = [
            subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
                [*command, "--processes", "1", "--reuse-port"], stdout=subprocess.PIPE, text=True
            )
            for _ in range(processes - 1)
        ]
        # Announce readiness only when every process listens, so that no early client finds
        # just one of them.
        for helper in helpers:
            assert helper.stdout is not None
            helper.stdout.readline()
        self.stdout.write(
            f"LMTP endpoint on {host}:{port} ({processes} process(es)). Ctrl-C to stop."
        )
        self.stdout.flush()
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        stop.wait()
        for helper in helpers:
            helper.terminate()
        controller.stop()
        for helper in helpers:
            helper.wait(15)
        self.stdout.write("Stopped.")
