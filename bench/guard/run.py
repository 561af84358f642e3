"""Benchmark of the reply guard (rule R7) on its held-out test set.

    .venv/bin/python bench/guard/run.py [--data FILE] [--json FILE] [--repeat N]

Reads src/pomogu/contact/data/guard/test.csv (label, language, text), checks every reply with
pomogu.contact.guard.check and reports precision, recall and F1 for "brushoff" overall and per
language, the confusion counts, every misclassified reply with what the guard found, and the
time per reply (median and p99 over all replies and repeats, time.perf_counter, after one
warm-up call that compiles the lexicon). Prints a summary and writes bench/results/guard.json.
The guard needs no Django and no database. Method: bench/guard/README.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

from pomogu.contact.guard import check  # noqa: E402

DATA = ROOT / "src" / "pomogu" / "contact" / "data" / "guard" / "test.csv"
RESULT = ROOT / "bench" / "results" / "guard.json"


def machine() -> dict[str, Any]:
    cpu = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": cpu or platform.processor(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "system": platform.system(),
    }


def scores(tp: int, fp: int, fn: int, tn: int) -> dict[str, Any]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "confusion": {"tp": tp, "fp": fp, "fn": fn, "tn": tn},
        "replies": tp + fp + fn + tn,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--json", type=Path, default=RESULT)
    parser.add_argument("--repeat", type=int, default=20, help="timed passes over the set")
    args = parser.parse_args()

    with args.data.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))

    started = time.perf_counter()
    check("warm-up")  # compiles the lexicon once per process
    compile_ms = (time.perf_counter() - started) * 1000

    counts: dict[str, dict[str, int]] = {
        key: {"tp": 0, "fp": 0, "fn": 0, "tn": 0} for key in ("all", "ru", "en")
    }
    errors: list[dict[str, Any]] = []
    for row in rows:
        result = check(row["text"])
        gold = row["label"] == "brushoff"
        cell = ("tp" if result.flagged else "fn") if gold else ("fp" if result.flagged else "tn")
        for key in ("all", row["language"]):
            counts[key][cell] += 1
        if cell in ("fp", "fn"):
            errors.append(
                {
                    "error": "false positive" if cell == "fp" else "false negative",
                    "label": row["label"],
                    "language": row["language"],
                    "text": row["text"],
                    "findings": [
                        {"phrase": x.phrase, "category": x.category, "text": x.text}
                        for x in result.findings
                    ],
                }
            )

    times: list[float] = []
    for _ in range(max(1, args.repeat)):
        for row in rows:
            started = time.perf_counter()
            check(row["text"])
            times.append((time.perf_counter() - started) * 1000)
    times.sort()
    timing = {
        "median_ms": round(statistics.median(times), 4),
        "p99_ms": round(times[min(len(times) - 1, int(len(times) * 0.99))], 4),
        "max_ms": round(times[-1], 4),
        "measurements": len(times),
        "lexicon_compile_ms": round(compile_ms, 1),
    }

    results = {
        "data": str(args.data.relative_to(ROOT) if args.data.is_relative_to(ROOT) else args.data),
        "brushoff": {key: scores(**value) for key, value in counts.items()},
        "misclassified": errors,
        "time_per_reply": timing,
        "machine": machine(),
        "measured_at": time.strftime("%Y-%m-%d", time.gmtime()),
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")

    print(f"reply guard on {results['data']} ({len(rows)} replies)")
    for key, value in results["brushoff"].items():
        c = value["confusion"]
        print(
            f"  {key:3}  P {value['precision']:.3f}  R {value['recall']:.3f}  "
            f"F1 {value['f1']:.3f}   tp {c['tp']} fp {c['fp']} fn {c['fn']} tn {c['tn']}"
        )
    print(
        f"  time per reply: median {timing['median_ms']:.3f} ms, p99 {timing['p99_ms']:.3f} ms "
        f"({timing['measurements']} measurements; lexicon compiled in "
        f"{timing['lexicon_compile_ms']} ms)"
    )
    m = results["machine"]
    print(f"  machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}")
    if errors:
        print(f"  misclassified ({len(errors)}):")
        for e in errors:
            found = "; ".join(f"{x['phrase']}: {x['text']!r}" for x in e["findings"]) or "-"
            print(f"    {e['error']} [{e['language']}] {e['text']}\n      found: {found}")
    print(f"  written to {args.json}")


if __name__ == "__main__":
    main()
