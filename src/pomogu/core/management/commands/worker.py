"""``pomogu worker``: the background work (outbox, clocks, IMAP, router) in the foreground.

With a broker (``POMOGU_REDIS_URL``) it is a Celery worker (``pomogu.core.celery``); without one
it runs the in-process runner loop (``pomogu.core.runner``). Either way every step claims its
rows in the database, so any number of workers may run at once.
"""

from __future__ import annotations

import logging
import os
import signal
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from pomogu.core.runner import Runner, run_once


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def celery_argv(
    *, concurrency: int | None, beat: bool, beat_only: bool, loglevel: str
) -> list[str]:
    """The Celery command line ``pomogu worker`` runs with a broker configured."""
    if beat_only:
        return ["beat", "--loglevel", loglevel]
    argv = [
        "worker",
        "--loglevel",
        loglevel,
        # Unique per process, so several workers on one machine do not clash.
        "--hostname",
        f"pomogu-{os.getpid()}@%h",
        # Workers need not know each other: the database coordinates them.
        "--without-mingle",
        "--without-gossip",
    ]
    if concurrency is not None:
        argv += ["--concurrency", str(concurrency)]
    if beat:
        argv.append("--beat")
    return argv


class Command(BaseCommand):
    help = (
        "Run the background work (the outbox, deadlines and escalations, IMAP polling, router "
        "training) in the foreground until Ctrl-C or SIGTERM. With POMOGU_REDIS_URL set this is "
        "a Celery worker: run any number, on any machines, and exactly one beat per deployment "
        "(--beat in one worker, or one `pomogu worker --beat-only`). Without it, this is the "
        "in-process runner loop. Every step is safe to run in several processes at once. "
        "`pomogu web` does no background work: run this next to it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--interval",
            type=float,
            default=None,
            help="In-process runner: seconds between passes (default: POMOGU_RUNNER_INTERVAL, "
            f"now {settings.POMOGU['RUNNER_INTERVAL']}).",
        )
        parser.add_argument(
            "--once", action="store_true", help="Run one pass in this process, print it, exit."
        )
        parser.add_argument(
            "--in-process",
            action="store_true",
            help="Run the in-process runner loop even when a broker is configured.",
        )
        parser.add_argument(
            "--concurrency",
            type=int,
            default=None,
            help="Celery: worker processes (default: the number of CPUs).",
        )
        parser.add_argument(
            "--beat",
            action="store_true",
            help="Celery: also run beat, the clock that starts the periodic sweeps, in this "
            "worker. Exactly one per deployment.",
        )
        parser.add_argument(
            "--beat-only",
            action="store_true",
            help="Celery: run only beat (no tasks). Exactly one per deployment.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["once"]:
            done = run_once()
            self.stdout.write(", ".join(f"{name}: {count}" for name, count in done.items()))
            if any(count < 0 for count in done.values()):
                raise CommandError("A background step failed; see the log above.")
            return
        celery_only = [
            name
            for name in ("concurrency", "beat", "beat_only")
            if options[name] not in (None, False)
        ]
        if settings.CELERY_BROKER_URL and not options["in_process"]:
            if options["interval"] is not None:
                raise CommandError("--interval is for the in-process runner (see --in-process)")
            self._celery(options)
            return
        if celery_only:
            flags = ", ".join("--" + name.replace("_", "-") for name in celery_only)
            if options["in_process"]:
                raise CommandError(f"{flags}: Celery only, not with --in-process")
            raise CommandError(f"{flags}: needs Celery; set POMOGU_REDIS_URL")
        self._in_process(options["interval"])

    def _celery(self, options: dict[str, Any]) -> None:
        from pomogu.core.celery import app

        if options["beat"] and options["beat_only"]:
            raise CommandError("Use --beat or --beat-only, not both")
        if options["concurrency"] is not None and options["concurrency"] < 1:
            raise CommandError("--concurrency must be at least 1")
        argv = celery_argv(
            concurrency=options["concurrency"],
            beat=options["beat"],
            beat_only=options["beat_only"],
            # POMOGU_LOG_LEVEL, as Django's LOGGING set it on the root logger.
            loglevel=logging.getLevelName(logging.getLogger().getEffectiveLevel()),
        )
        self.stdout.write("Celery: " + " ".join(argv))
        self.stdout.flush()
        code = app.start(argv)
        if code:
            raise CommandError(f"Celery stopped with exit code {code}")

    def _in_process(self, interval: float | None) -> None:
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
