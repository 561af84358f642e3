"""Write the CSV files the triage benchmarks use, from ../shared/data (not committed: they are
derived from the shared datasets on each run).

CLINC150 (CC BY 3.0, Larson et al. 2019): train+val for training, test and oos_test for
testing; once with the 150 intents as labels and once with the 10 domains as teams. The
oos_train and oos_val rows are in the training files with the label ``oos`` (a request no team
owns), as a desk learns them from "not ours" decisions.
ru_detox (RUSSE-2022): train for training, dev for testing; toxic comment = 1, each neutral
rewrite = 0.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[2] / "shared" / "data"
OUT = HERE.parents[1] / "bench" / "results" / "triage-data"


def _write(name: str, rows: list[tuple[str, str]]) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / name
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    return path


def clinc() -> None:
    data = json.loads((SHARED / "clinc150" / "data_full.json").read_text())
    domains = json.loads((SHARED / "clinc150" / "domains.json").read_text())
    domain_of = {intent: domain for domain, intents in domains.items() for intent in intents}
    train = data["train"] + data["val"]
    oos_train = data["oos_train"] + data["oos_val"]
    _write("clinc_intents_train.csv", [(t, label) for t, label in train])
    _write("clinc_intents_test.csv", [(t, label) for t, label in data["test"]])
    _write("clinc_domains_train.csv", [(t, domain_of[label]) for t, label in train])
    _write("clinc_domains_test.csv", [(t, domain_of[label]) for t, label in data["test"]])
    _write("clinc_oos_train.csv", [(t, label) for t, label in train + oos_train])
    _write("clinc_oos_test.csv", [(t, label) for t, label in data["test"] + data["oos_test"]])


def detox() -> None:
    for split in ("train", "dev"):
        rows: list[tuple[str, str]] = []
        with (SHARED / "ru_detox_russe2022" / f"{split}.tsv").open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle, delimiter="\t"):
                rows.append((row["toxic_comment"], "1"))
                for key in ("neutral_comment1", "neutral_comment2", "neutral_comment3"):
                    if (row.get(key) or "").strip():
                        rows.append((row[key], "0"))
        _write(f"ru_detox_{split}.csv", rows)


if __name__ == "__main__":
    clinc()
    detox()
    sys.stdout.write(f"wrote {OUT}\n")
