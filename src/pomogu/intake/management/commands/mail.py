"""``pomogu mail reconcile ADDRESS``: compare an IMAP folder with what pomogu holds (REL-10)."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from pomogu.intake import imap
from pomogu.intake.models import Mailbox


class Command(BaseCommand):
    help = (
        "reconcile ADDRESS: list every message in the mailbox's IMAP folder that pomogu has no "
        "record of (by UIDVALIDITY+UID, Message-ID or SHA-256). Exits 1 if there is any, "
        "0 if none."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        reconcile = actions.add_parser("reconcile", help="compare the server with pomogu")
        reconcile.add_argument("address")

    def handle(self, *args: Any, **options: Any) -> None:
        mailbox = Mailbox.objects.filter(address__iexact=options["address"]).first()
        if mailbox is None:
            raise CommandError(f"no mailbox {options['address']}")
        report = imap.reconcile(mailbox.pk)
        if report.error:
            raise CommandError(f"{mailbox.address}: {report.error}")
        out = self.stdout
        out.write(
            f"{report.mailbox} folder {report.folder} (UIDVALIDITY {report.uidvalidity}, "
            f"mark {report.last_uid}): {report.on_server} on the server, "
            f"{len(report.missing)} missing in pomogu"
        )
        for message in report.missing:
            if message.flagged:
                state = "MARKED AS IMPORTED BUT MISSING"
            elif message.uid > report.last_uid:
                state = "not fetched yet"
            else:
                state = "below the mark, never imported"
            out.write(
                f"  missing UID {message.uid} {message.message_id or '(no Message-ID)'} "
                f"{message.size} bytes: {state}"
            )
        if report.unmarked:
            uids = ", ".join(str(uid) for uid in report.unmarked[:50])
            pending = sum(1 for uid in report.unmarked if uid > report.last_uid)
            out.write(
                f"  in pomogu but not marked on the server: {len(report.unmarked)} ({uids}); "
                f"{pending} of them above the mark (the next fetch marks those)"
            )
        out.write(f"  in pomogu (this epoch) but no longer in the folder: {report.not_in_folder}")
        if report.missing:
            sys.exit(1)
