"""``pomogu eval routing``: measure the router on your own labelled CSV files (``eval anger``
comes with the anger detector).

    pomogu eval routing --train TRAIN.csv --test TEST.csv

The files have a header with the columns ``text`` and ``label``. Nothing is written to the
desk's database.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from pomogu.triage import evaluation
from pomogu.triage.evaluation import DataError


class Command(BaseCommand):
    help = "Evaluate the team router on labelled CSV files (text,label)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("what", choices=["routing"])
        parser.add_argument("--train", metavar="FILE", help="CSV to train on")
        parser.add_argument("--test", metavar="FILE", required=True, help="CSV to test on")
        parser.add_argument(
            "--all-classes", action="store_true", help="print every class, not the 10 weakest"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            test = evaluation.read_csv(options["test"])
            train = evaluation.read_csv(options["train"]) if options["train"] else None
            if options["what"] == "routing":
                if train is None:
                    raise CommandError("routing needs --train: the router learns from your data")
                result = evaluation.evaluate_routing(train, test)
                top = None if options["all_classes"] else 10
                for line in evaluation.format_routing(result, top=top):
                    self.stdout.write(line)
                return
        except DataError as error:
            raise CommandError(str(error)) from None
