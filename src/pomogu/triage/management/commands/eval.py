"""``pomogu eval``: measure the router or the anger detector on your own labelled CSV files.

    pomogu eval routing --train TRAIN.csv --test TEST.csv
    pomogu eval anger --test TEST.csv [--train TRAIN.csv]

The files have a header with the columns ``text`` and ``label``. For routing the label is the
team (``oos``: no team owns it); for anger it is 1 (angry or toxic) or 0 (not). ``eval anger``
without ``--train`` measures the detector that ships with pomogu; with it, the linguistic rules
plus a model learnt from that file only. Nothing is written to the desk's database.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from pomogu.triage import anger, evaluation
from pomogu.triage.evaluation import DataError, Rows


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
            self._anger(test, train)
        except DataError as error:
            raise CommandError(str(error)) from None

    def _anger(self, test: Rows, train: Rows | None) -> None:
        test_labels = _binary(test, "--test")
        if train is None:
            model = anger.shipped_model()
            self.stdout.write("model: shipped with pomogu")
        else:
            model = anger.train(train.texts, _binary(train, "--train"))
            self.stdout.write(f"model: trained on {len(train.texts)} messages")
        result = anger.evaluate(model, test.texts, test_labels)
        self.stdout.write(
            f"messages={result['n']} angry={sum(test_labels)} "
            f"tp={result['tp']} fp={result['fp']} fn={result['fn']} tn={result['tn']}"
        )
        self.stdout.write(anger.summary_line(result))


def _binary(rows: Rows, option: str) -> list[int]:
    """Anger labels: 1 angry or toxic, 0 not (true/false and yes/no are accepted too)."""
    values = {"1": 1, "0": 0, "true": 1, "false": 0, "yes": 1, "no": 0}
    labels = []
    for number, label in enumerate(rows.labels, start=2):
        value = values.get(label.strip().lower())
        if value is None:
            raise CommandError(f"{option}, line {number}: label must be 1 or 0, not {label!r}")
        labels.append(value)
    return labels
