"""``pomogu eval routing|anger``: measure the models on your own labelled CSV files.

    pomogu eval routing --train TRAIN.csv --test TEST.csv
    pomogu eval anger --test TEST.csv [--train TRAIN.csv]

The files have a header with the columns ``text`` and ``label``. Nothing is written to the
desk's database.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from pomogu.triage import evaluation
from pomogu.triage.evaluation import DataError


class Command(BaseCommand):
    help = "Evaluate the team router or the anger detector on labelled CSV files (text,label)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("what", choices=["routing", "anger"])
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
            result = evaluation.evaluate_anger(test, train)
        except DataError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            f"rows: test {result['test_rows']}; tp {result.get('tp', '?')} fp "
            f"{result.get('fp', '?')} fn {result.get('fn', '?')} tn {result.get('tn', '?')}; "
            f"train_seconds {result['train_seconds']:.2f}"
        )
        self.stdout.write(
            f"precision={result['precision']:.4f} recall={result['recall']:.4f} "
            f"f1={result['f1']:.4f} ms_per_message={result['ms_per_message']:.3f}"
        )
