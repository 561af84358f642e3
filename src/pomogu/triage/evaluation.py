"""Measure the router and the anger detector on anyone's labelled data (``pomogu eval``).

Files are CSV with a header and the columns ``text,label`` (other columns are ignored). For the
router a label ``oos`` marks a request no team owns.
"""

from __future__ import annotations

import csv
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pomogu.triage import router
from pomogu.triage.router import OOS


class DataError(ValueError):
    """A file that cannot be used, with a message for the person who gave it."""


@dataclass(frozen=True)
class Rows:
    texts: list[str]
    labels: list[str]


def read_csv(path: str | Path) -> Rows:
    path = Path(path)
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise DataError(f"{path}: {exc.strerror}") from exc
    with handle:
        reader = csv.DictReader(handle)
        fields = [f.strip().lower() for f in reader.fieldnames or []]
        if "text" not in fields or "label" not in fields:
            raise DataError(f"{path}: the header must name the columns text and label")
        reader.fieldnames = fields
        texts: list[str] = []
        labels: list[str] = []
        for number, row in enumerate(reader, start=2):
            text = (row.get("text") or "").strip()
            label = (row.get("label") or "").strip()
            if not text or not label:
                raise DataError(f"{path}, line {number}: empty text or label")
            texts.append(text)
            labels.append(label)
    if not texts:
        raise DataError(f"{path}: no rows")
    return Rows(texts, labels)


def _f1(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def evaluate_routing(train: Rows, test: Rows, *, c: float = 1.0) -> dict[str, Any]:
    """Train on one file, test on the other.

    When either file has ``oos`` rows, the router's decision is what the desk would do: below
    its threshold a request counts as "not ours" (a person looks at it). Otherwise every request
    gets its best team. ``accuracy`` is over the rows whose label is a team.
    """
    started = time.perf_counter()
    model = router.train(train.texts, train.labels, c=c)
    train_seconds = time.perf_counter() - started
    reject = OOS in train.labels or OOS in test.labels
    predicted: list[str] = []
    timings: list[float] = []
    for text in test.texts:
        t0 = time.perf_counter()
        p = model.predict(text, explain=False)
        timings.append(time.perf_counter() - t0)
        predicted.append(OOS if reject and (p.unsure or p.label == OOS) else p.label)
    in_scope = [i for i, label in enumerate(test.labels) if label != OOS]
    out_scope = [i for i, label in enumerate(test.labels) if label == OOS]
    accuracy = (
        sum(predicted[i] == test.labels[i] for i in in_scope) / len(in_scope) if in_scope else 0
    )
    oos_recall = (
        sum(predicted[i] == OOS for i in out_scope) / len(out_scope) if out_scope else float("nan")
    )
    per_class: dict[str, dict[str, float]] = {}
    for label in sorted({test.labels[i] for i in in_scope}):
        tp = sum(1 for i, p in enumerate(predicted) if p == label and test.labels[i] == label)
        fp = sum(1 for i, p in enumerate(predicted) if p == label and test.labels[i] != label)
        fn = sum(1 for i, p in enumerate(predicted) if p != label and test.labels[i] == label)
        precision, recall, f1 = _f1(tp, fp, fn)
        per_class[label] = {"precision": precision, "recall": recall, "f1": f1, "n": tp + fn}
    macro_f1 = statistics.fmean(v["f1"] for v in per_class.values()) if per_class else 0.0
    return {
        "accuracy": accuracy,
        "macro_f1": macro_f1,
        "oos_recall": oos_recall,
        "train_seconds": train_seconds,
        "ms_per_message": statistics.median(timings) * 1000,
        "ms_p95": sorted(timings)[int(0.95 * (len(timings) - 1))] * 1000,
        "rejection": reject,
        "threshold": model.threshold,
        "features": model.size,
        "per_class": per_class,
        "train_rows": len(train.texts),
        "test_rows": len(test.texts),
    }


def format_routing(result: dict[str, Any], *, top: int | None = None) -> list[str]:
    lines = [f"{'label':<32} {'precision':>9} {'recall':>7} {'f1':>6} {'n':>5}"]
    classes: Sequence[tuple[str, dict[str, float]]] = sorted(
        result["per_class"].items(), key=lambda kv: kv[1]["f1"]
    )
    if top is not None:
        classes = classes[:top]
    for label, m in classes:
        lines.append(
            f"{label[:32]:<32} {m['precision']:>9.3f} {m['recall']:>7.3f} {m['f1']:>6.3f} "
            f"{int(m['n']):>5}"
        )
    lines.append(
        f"rows: train {result['train_rows']}, test {result['test_rows']}; features "
        f"{result['features']}; threshold {result['threshold']:.3f}; rejection "
        f"{'on' if result['rejection'] else 'off'}; p95 {result['ms_p95']:.3f} ms"
    )
    lines.append(
        f"accuracy={result['accuracy']:.4f} macro_f1={result['macro_f1']:.4f} "
        f"oos_recall={result['oos_recall']:.4f} train_seconds={result['train_seconds']:.2f} "
        f"ms_per_message={result['ms_per_message']:.3f}"
    )
    return lines
