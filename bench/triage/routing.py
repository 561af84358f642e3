"""Routing benchmark on CLINC150 (bench/triage; figures go to docs/benchmarks.md).

Runs the same code as ``pomogu eval routing`` on three tasks: the 150 intents as teams, the 10
domains as teams, and the 150 intents plus requests no team owns (oos). For the last it also
prints the trade-off between in-scope accuracy and oos recall as the share of correct answers
sent to a person (REVIEW_SHARE) changes. Writes bench/results/routing.json.

    .venv/bin/python bench/triage/routing.py
"""

from __future__ import annotations

import json
import os
import platform
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import prepare  # noqa: E402

from pomogu.triage import router  # noqa: E402
from pomogu.triage.evaluation import evaluate_routing, format_routing, read_csv  # noqa: E402

DATA = prepare.OUT


def main() -> None:
    prepare.clinc()
    results: dict[str, object] = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "python": platform.python_version(),
    }
    for task in ("intents", "domains", "oos"):
        train = read_csv(DATA / f"clinc_{task}_train.csv")
        test = read_csv(DATA / f"clinc_{task}_test.csv")
        result = evaluate_routing(train, test)
        sys.stdout.write(f"\n== {task}\n" + "\n".join(format_routing(result, top=5)) + "\n")
        result.pop("per_class")
        results[task] = result
    curve = []
    default = router.REVIEW_SHARE
    train = read_csv(DATA / "clinc_oos_train.csv")
    test = read_csv(DATA / "clinc_oos_test.csv")
    for share in (0.002, 0.005, 0.01, 0.02, 0.04):
        router.REVIEW_SHARE = share
        r = evaluate_routing(train, test)
        curve.append(
            {"review_share": share, "accuracy": r["accuracy"], "oos_recall": r["oos_recall"]}
        )
        sys.stdout.write(
            f"review_share={share} in-scope accuracy={r['accuracy']:.4f} "
            f"oos_recall={r['oos_recall']:.4f}\n"
        )
    router.REVIEW_SHARE = default
    results["oos_tradeoff"] = curve
    out = HERE.parent / "results" / "routing.json"
    out.write_text(json.dumps(results, indent=2, default=float) + "\n")
    sys.stdout.write(f"wrote {out}\n")


if __name__ == "__main__":
    main()
