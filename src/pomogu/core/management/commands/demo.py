"""``pomogu demo``: the whole desk in one process, with demo data (what ``make demo`` runs)."""

from __future__ import annotations

import os
import signal
import time
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from pomogu.core import clock, demo_data
from pomogu.core.runner import Runner
from pomogu.people.choices import StaffRole
from pomogu.people.models import Absence, Team, User

HOST = "127.0.0.1"
FILE_BACKEND = "django.core.mail.backends.filebased.EmailBackend"


PORTAL_CUSTOMER = "t.egorova@vektor-logistika.example"  # a demo customer with open cases


def _port_from_env() -> int:
    raw = os.environ.get("PORT", "").strip()
    if not raw:
        return 8000
    try:
        port = int(raw)
    except ValueError:
        raise CommandError(f"PORT={raw!r} is not a port number") from None
    return port


def _interrupt(signum: int, frame: FrameType | None) -> None:
    # SIGTERM is handled like Ctrl-C: waitress stops its loop on KeyboardInterrupt.
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = (
        "Run the desk in one process with demo data: migrate, seed the demo (once), start the "
        "background runner, serve the web app and API with waitress on 127.0.0.1:$PORT "
        "(default 8000) and the LMTP endpoint on 127.0.0.1:$LMTP_PORT (default 8024). Data "
        "lives in $POMOGU_DATA_DIR (default ./var); a second run reuses it. Outbound mail is "
        "written to files unless POMOGU_EMAIL_BACKEND is set. Ctrl-C stops."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--port", type=int, default=None, help="Port to serve on (default: $PORT or 8000)."
        )
        parser.add_argument(
            "--lmtp-port",
            type=int,
            default=None,
            help="Port of the LMTP endpoint (default: $LMTP_PORT or 8024).",
        )
        parser.add_argument(
            "--no-serve",
            action="store_true",
            help="Set everything up and print the login, then exit (for tests and CI).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        port: int = options["port"] if options["port"] is not None else _port_from_env()
        if not 0 < port < 65536:
            raise CommandError(f"{port} is not a port number")
        base = f"http://{HOST}:{port}"
        lmtp_port = options["lmtp_port"] or int(os.environ.get("LMTP_PORT", "8024"))
        self.lmtp_address = f"{HOST}:{lmtp_port}"

        call_command("migrate", interactive=False, verbosity=0)
        credentials = demo_data.prepare(settings.DATA_DIR, stdout=self.stdout)
        mail = self._configure_mail()
        if "POMOGU_SITE_URL" not in os.environ:
            settings.SITE_URL = base

        if options["no_serve"]:
            self._banner(base, credentials, mail)
            self.stdout.write("Set up; not serving (--no-serve).")
            return

        from waitress import create_server

        from pomogu.wsgi import application

        try:
            server = create_server(application, host=HOST, port=port, threads=8)
        except OSError as error:
            raise CommandError(
                f"Cannot listen on {HOST}:{port} ({error.strerror or error}). "
                "Choose another port with --port or PORT."
            ) from None
        from pomogu.intake import lmtp

        try:
            lmtp_server = lmtp.start(HOST, lmtp_port)
        except OSError as error:
            server.close()
            raise CommandError(
                f"Cannot serve LMTP on {HOST}:{lmtp_port} ({error}). "
                "Choose another port with --lmtp-port or LMTP_PORT."
            ) from None
        runner = Runner(interval=settings.POMOGU["RUNNER_INTERVAL"])
        previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            self._banner(base, credentials, mail)
            runner.start()
            self.stdout.write(f"Ready in {time.monotonic() - started:.1f}s. Ctrl-C to stop.")
            self.stdout.flush()
            # Returns when interrupted: waitress catches KeyboardInterrupt and stops its threads.
            server.run()
        except KeyboardInterrupt:
            pass
        finally:
            # A second Ctrl-C must not cut the shutdown short.
            for sig in previous:
                signal.signal(sig, signal.SIG_IGN)
            server.close()
            lmtp_server.stop()
            runner.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self.stdout.write("Stopped.")

    def _configure_mail(self) -> str:
        """The demo never reaches for an SMTP server unless the operator asked for one."""
        if "POMOGU_EMAIL_BACKEND" in os.environ:
            return f"sent with {settings.EMAIL_BACKEND}"
        settings.EMAIL_BACKEND = FILE_BACKEND
        return f"written to files in {settings.EMAIL_FILE_PATH} (no mail leaves this machine)"

    def _banner(self, base: str, credentials: demo_data.DemoCredentials, mail: str) -> None:
        shown_password = credentials.password or (
            "(unknown: demo-credentials.json was removed; set one with "
            "`pomogu changepassword admin`)"
        )
        database = connection.settings_dict["NAME"]
        if connection.vendor != "sqlite":
            database = f"{connection.vendor} database {database}"
        lines = [
            "",
            "pomogu demo" + (" (demo data built now)" if credentials.created else ""),
            "",
            f"  Desk:          {base}/",
            f"  Admin:         {base}/admin/",
            f"  API:           {base}/api/v1/",
            f"  OpenAPI:       {base}/api/v1/openapi.json   (docs: {base}/api/v1/docs)",
            f"  Health:        {base}/healthz",
            f"  Web form:      {base}/contact/",
            f"  Portal:        {base}/my/   (customers sign in by an emailed link: try",
            f"                 {PORTAL_CUSTOMER}; the link is in the outbound mail below)",
            f"  Help centre:   {base}/help/   (public articles; staff edit them at {base}/kb/)",
            f"  Register:      {base}/register/   (failures of service, for leads and managers)",
            f"  LMTP:          {self.lmtp_address}   (mail for any address opens a case)",
            "",
            f"  Login:         {credentials.username}",
            f"  Password:      {shown_password}",
            f"  API token:     {credentials.token}",
            f"                 (for {credentials.username}; send it as "
            "'Authorization: Bearer <token>')",
            "  Other staff:   same password as admin:",
            *self._staff_lines(),
            "",
            f"  Outbound mail: {mail}",
            f"  Data:          {settings.DATA_DIR}",
            f"  Database:      {database}",
            f"  Credentials:   {settings.DATA_DIR / demo_data.CREDENTIALS_FILE}",
            "",
        ]
        self.stdout.write("\n".join(lines))

    def _staff_lines(self) -> list[str]:
        now = clock.now()
        away = {
            absence.user_id: absence
            for absence in Absence.objects.filter(starts_at__lte=now, ends_at__gt=now)
            .select_related("deputy")
            .order_by("ends_at")
        }

        def label(user: User, *, lead: bool) -> str:
            text = user.username + (" (lead)" if lead else "")
            absence = away.get(user.pk)
            if absence is not None:
                deputy = f", deputy {absence.deputy.username}" if absence.deputy else ""
                text += f" (away until {absence.ends_at:%Y-%m-%d}{deputy})"
            return text

        managers = User.objects.filter(role=StaffRole.MANAGER, is_active=True).order_by("id")
        lines = [f"    Head of service: {', '.join(label(m, lead=False) for m in managers)}"]
        for team in Team.objects.prefetch_related("memberships__user").order_by("name"):
            members = sorted(
                team.memberships.all(), key=lambda m: (m.user_id != team.lead_id, m.user_id)
            )
            names = [label(m.user, lead=m.user_id == team.lead_id) for m in members]
            lines.append(f"    {team.name}: {', '.join(names)}")
        return lines
