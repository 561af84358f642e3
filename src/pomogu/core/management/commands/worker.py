"""``pomogu worker``: the background work (outbox, ...) in the foreground, until Ctrl-C."""

from __future__ import annotations

import signal
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from pomogu.core.runner import Runner, run_once


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = (
        "Run the background work (sending the outbox, and every other periodic step) in the "
        "foreground until Ctrl-C or SIGTERM. For now this is the in-process runner loop "
        "(pomogu.core.runner); Celery workers on Redis come in a later issue. Every step is "
        "safe to run in several processes at once. `pomogu web` does no background work: run "
        "this next to it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--interval",
            type=float,
            default=None,
            help="Seconds between passes (default: POMOGU_RUNNER_INTERVAL, now "
            f"{settings.POMOGU['RUNNER_INTERVAL']}).",
        )
        parser.add_argument(
            "--once", action="store_true", help="Run one pass, print what it did and exit."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["once"]:
            done = run_once()
            self.stdout.write(", ".join(f"{name}: {count}" for name, count in done.items()))
            if any(count < 0 for count in done.values()):
                raise CommandError("A background step failed; see the log above.")
            return
        interval = options["interval"]
        if interval is None:
            interval = settings.POMOGU["RUNNER_INTERVAL"]
        if interval <= 0:
            raise CommandError("--interval must be more than 0 seconds")
        runner = Runner(interval=interval)
        previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            runner.start()
            self.stdout.write(f"Background runner started (every {interval}s). Ctrl-C to stop.")
            self.stdout.flush()
            while runner.is_alive():
                runner.join(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            for sig in previous:
                signal.signal(sig, signal.SIG_IGN)
            runner.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self.stdout.write("Stopped.")
