"""``pomogu train``: retrain the team router on the desk's data, list versions, roll back."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.timezone import localtime

from pomogu.core.errors import DomainError
from pomogu.triage import services
from pomogu.triage.models import RouterVersion


class Command(BaseCommand):
    help = "Retrain the team router from teams' profiles and the desk's history."

    def add_arguments(self, parser: CommandParser) -> None:
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--list", action="store_true", help="list the kept versions")
        group.add_argument(
            "--rollback", action="store_true", help="go back to the previous version"
        )
        group.add_argument("--activate", type=int, metavar="ID", help="activate a kept version")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["list"]:
                for v in RouterVersion.objects.order_by("-id"):
                    mark = "*" if v.is_active else " "
                    self.stdout.write(
                        f"{mark} v{v.pk}  {localtime(v.created_at):%Y-%m-%d %H:%M}  "
                        f"{v.examples} examples  {v.metrics.get('labels', '?')} teams  "
                        f"{v.reason}"
                    )
                return
            if options["rollback"]:
                version = services.rollback()
                self.stdout.write(f"router v{version.pk} is active again")
                return
            if options["activate"] is not None:
                version = services.activate(options["activate"])
                self.stdout.write(f"router v{version.pk} is active")
                return
            version = services.train(reason="pomogu train")
        except DomainError as error:
            raise CommandError(error.detail) from None
        m = version.metrics
        self.stdout.write(
            f"router v{version.pk} trained and active: {version.examples} examples "
            f"({m.get('from_cases', 0)} cases, {m.get('from_profiles', 0)} from team profiles), "
            f"{m.get('labels')} labels, {m.get('train_seconds')} s"
        )
