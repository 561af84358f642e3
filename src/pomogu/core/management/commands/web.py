"""``pomogu web``: the production web server (gunicorn)."""

from __future__ import annotations

import os
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise CommandError(f"{name}={raw!r} is not a whole number") from None


def gunicorn_argv(*, host: str, port: int, workers: int) -> list[str]:
    """The gunicorn command line ``pomogu web`` replaces itself with."""
    bind = f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"
    return [
        sys.executable,
        "-m",
        "gunicorn",
        # The master loads the application and the models once and forks the workers, which
        # share those pages (pomogu.core.preload says what, and what the master must not hold).
        "pomogu.core.preload:application()",
        "--preload",
        "--bind",
        bind,
        "--workers",
        str(workers),
        "--access-logfile",
        "-",
        # Access lines without the tokens of survey and sign-in links.
        "--logger-class",
        "pomogu.core.redact.AccessLogger",
    ]


class Command(BaseCommand):
    help = (
        "Serve the web app and API in production with gunicorn on $HOST:$PORT (default "
        "127.0.0.1:8000) with $WEB_CONCURRENCY worker processes (default 2). It does no "
        "background work: run `pomogu worker` beside it (the outbox is sent there). Run "
        "`pomogu migrate` and `pomogu collectstatic` before starting a new version."
    )
    requires_system_checks = []  # gunicorn's workers load the app and run them

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=None, help="Address (default: $HOST or 127.0.0.1).")
        parser.add_argument("--port", type=int, default=None, help="Port (default: $PORT or 8000).")
        parser.add_argument(
            "--workers", type=int, default=None, help="Processes (default: $WEB_CONCURRENCY or 2)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        host = options["host"] or os.environ.get("HOST", "").strip() or "127.0.0.1"
        port = options["port"] if options["port"] is not None else _env_int("PORT", 8000)
        workers = options["workers"]
        if workers is None:
            workers = _env_int("WEB_CONCURRENCY", 2)
        if not 0 < port < 65536:
            raise CommandError(f"{port} is not a port number")
        if workers < 1:
            raise CommandError("At least one worker is needed")
        argv = gunicorn_argv(host=host, port=port, workers=workers)
        self.stdout.write("Starting: " + " ".join(argv[1:]))
        self.stdout.flush()
        sys.stderr.flush()
        os.execv(argv[0], argv)  # noqa: S606 - our own interpreter, arguments from a list
