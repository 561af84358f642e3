"""``pomogu fetchmail [--mailbox ADDRESS] [--processes N]``: fetch new mail of the IMAP
mailboxes now."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from pomogu.intake import imap, services
from pomogu.intake.models import Mailbox


class Command(BaseCommand):
    help = (
        "Fetch new mail from every active IMAP mailbox (or only --mailbox ADDRESS), whether or "
        "not it is due. A message is marked on the server only after it is stored. Exits 1 if "
        "any mailbox had an error (it is also kept on the mailbox as last_error)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--mailbox", metavar="ADDRESS", help="only this mailbox")
        parser.add_argument(
            "--limit", type=int, default=500, help="at most this many messages per mailbox"
        )
        parser.add_argument(
            "--processes",
            type=int,
            default=1,
            help=(
                "worker processes that store and process the messages of a large backlog "
                f"({imap.POOL_THRESHOLD} or more waiting), each with its own database "
                "connection; this process still marks them on the server, in order, after "
                "their commit. About one per core."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["processes"] <= 1:
            # This process does nothing but take mail. With workers, they take it (a small
            # batch is still taken here, and loads what it needs as it goes).
            services.prepare_process()
        if options["mailbox"]:
            mailbox = Mailbox.objects.filter(address__iexact=options["mailbox"]).first()
            if mailbox is None:
                raise CommandError(f"no mailbox {options['mailbox']}")
            if not mailbox.uses_imap:
                raise CommandError(f"{mailbox.address} is not fetched over IMAP (no imap_host)")
            ids = [mailbox.pk]
        else:
            ids = list(imap.imap_mailboxes().order_by("address").values_list("id", flat=True))
        failed = False
        with imap.FetchPool(options["processes"]) as pool:
            for mailbox_id in ids:
                report = imap.fetch_mailbox(mailbox_id, limit=options["limit"], pool=pool)
                failed = self._report(report) or failed
        if failed:
            sys.exit(1)

    def _report(self, report: imap.FetchReport) -> bool:
        """Write the mailbox's line; whether it failed."""
        line = (
            f"{report.mailbox}: imported {report.imported} "
            f"(quarantined {report.quarantined}), duplicates {report.duplicates}, "
            f"errors {report.errors}"
        )
        if report.error:
            line += f" ({report.error})"
        if report.more and not report.errors:
            line += "; more waiting"
        self.stdout.write(line)
        return not report.ok
