"""Benchmark of the recurrence matcher (R5) on the held-out pairs of test.csv.

    .venv/bin/python bench/recurrence/run.py [--set test|dev] [--json FILE] [--runs 5]

Each pair is one resolved case (resolved 14 days before the message) and one new message of the
same customer, labelled "same" or "different". Measured:

- precision and recall of "same" counting certain matches only (automatic reopens) and counting
  certain or possible ones (reopen or link), overall and per language (ru, en, mixed);
- the confusion counts (label x none/possible/certain), outcomes per kind of pair, and every
  misclassified pair;
- among ten candidates: each new message against its own old case and nine old cases of other
  pairs: how often the right case is chosen, and how often a "different" message matches one;
- time per `match` against ten candidates (median and p99, `time.perf_counter`), with the
  analysis cache emptied before each call (cold, as for a new message) and kept (warm).

Writes bench/results/recurrence.json (for --set test). Method: bench/recurrence/README.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import statistics
import sys
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

from pomogu.triage import recurrence  # noqa: E402
from pomogu.triage.recurrence import Candidate, Match, match  # noqa: E402
from pomogu.triage.text import detect_language  # noqa: E402

DATA = ROOT / "src" / "pomogu" / "triage" / "data" / "recurrence"
RESULT = ROOT / "bench" / "results" / "recurrence.json"
NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
RESOLVED = NOW - timedelta(days=14)


def machine() -> dict[str, Any]:
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_at_start": os.getloadavg(),
    }


def outcome(result: Match | None) -> str:
    if result is None:
        return "none"
    return "certain" if result.certain else "possible"


def ratio(a: int, b: int) -> float | None:
    return round(a / b, 3) if b else None


def scores(rows: list[dict[str, str]], outcomes: list[str]) -> dict[str, Any]:
    """Precision and recall of "same", counting certain only and certain or possible."""
    same = sum(row["label"] == "same" for row in rows)
    figures: dict[str, Any] = {"pairs": len(rows), "same": same, "different": len(rows) - same}
    for name, accepted in (
        ("certain", {"certain"}),
        ("certain_or_possible", {"certain", "possible"}),
    ):
        tp = sum(
            r["label"] == "same" and o in accepted for r, o in zip(rows, outcomes, strict=True)
        )
        fp = sum(
            r["label"] != "same" and o in accepted for r, o in zip(rows, outcomes, strict=True)
        )
        figures[name] = {
            "precision": ratio(tp, tp + fp),
            "recall": ratio(tp, same),
            "true_positives": tp,
            "false_positives": fp,
        }
    return figures


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=("test", "dev"), default="test")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--runs", type=int, default=5, help="timed passes over the messages")
    args = parser.parse_args()
    path = DATA / f"{args.set}.csv"
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    olds = [
        Candidate(i, row["old_subject"], row["old_text"], RESOLVED) for i, row in enumerate(rows)
    ]

    # One pair at a time: the message against its own old case.
    results = [match(row["new_text"], [old], now=NOW) for row, old in zip(rows, olds, strict=True)]
    outcomes = [outcome(r) for r in results]
    confusion = Counter(f"{row['label']}->{o}" for row, o in zip(rows, outcomes, strict=True))
    per_language = {
        language: scores(
            [r for r in rows if r["language"] == language],
            [o for r, o in zip(rows, outcomes, strict=True) if r["language"] == language],
        )
        for language in sorted({r["language"] for r in rows})
    }
    per_kind: dict[str, Counter[str]] = defaultdict(Counter)
    for row, o in zip(rows, outcomes, strict=True):
        per_kind[f"{row['label']}/{row['kind']}"][o] += 1
    wrong = []
    for row, result, o in zip(rows, results, outcomes, strict=True):
        if (row["label"] == "same") == (o != "none"):
            continue
        wrong.append(
            {
                "label": row["label"],
                "outcome": o,
                "language": row["language"],
                "kind": row["kind"],
                "old_subject": row["old_subject"],
                "new_text": row["new_text"],
                "score": result.score if result else None,
                "reasons": result.reasons if result else [],
            }
        )
    only_possible = sum(
        r["label"] == "same" and o == "possible" for r, o in zip(rows, outcomes, strict=True)
    )

    # Ten candidates: the pair's own old case and nine others in its language, fixed by a seed.
    # (Others in the other language are left out: the sets tell some stories in both languages,
    # and a translation of the right case is not a wrong one.)
    distinct: dict[str, Candidate] = {}
    for old in olds:
        distinct.setdefault(old.subject + old.text, old)
    pool = list(distinct.values())
    language = {id(c): detect_language(c.text) for c in pool}
    rng = random.Random(5)
    sets: list[list[Candidate]] = []
    among: Counter[str] = Counter()
    for row, old in zip(rows, olds, strict=True):
        own = distinct[old.subject + old.text]
        same_language = [c for c in pool if c is not own and language[id(c)] == language[id(own)]]
        others = rng.sample(same_language, 9)
        candidates = [own, *others]
        rng.shuffle(candidates)
        sets.append(candidates)
        result = match(row["new_text"], candidates, now=NOW)
        if row["label"] == "same":
            if result is None:
                among["same: none"] += 1
            elif result.case_id == own.case_id:
                among[f"same: right case, {outcome(result)}"] += 1
            else:
                among[f"same: wrong case, {outcome(result)}"] += 1
        else:
            among[f"different: {outcome(result)}"] += 1

    # Time per match against ten candidates.
    cold: list[float] = []
    warm: list[float] = []
    for _ in range(args.runs):
        for row, candidates in zip(rows, sets, strict=True):
            recurrence._analyse.cache_clear()
            started = time.perf_counter()
            match(row["new_text"], candidates, now=NOW)
            cold.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            match(row["new_text"], candidates, now=NOW)
            warm.append((time.perf_counter() - started) * 1000)

    report = {
        "set": str(path.relative_to(ROOT)),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "thresholds": {
            "POSSIBLE": recurrence.POSSIBLE,
            "CERTAIN": recurrence.CERTAIN,
            "TOPIC_CERTAIN": recurrence.TOPIC_CERTAIN,
            "AMBIGUOUS_GAP": recurrence.AMBIGUOUS_GAP,
        },
        "overall": scores(rows, outcomes),
        "per_language": per_language,
        "confusion": dict(sorted(confusion.items())),
        "same_found_only_as_possible": only_possible,
        "per_kind": {kind: dict(c) for kind, c in sorted(per_kind.items())},
        "among_ten_candidates": dict(sorted(among.items())),
        "ms_per_match_10_candidates": {
            "cold_median": round(statistics.median(cold), 3),
            "cold_p99": round(percentile(cold, 0.99), 3),
            "warm_median": round(statistics.median(warm), 3),
            "warm_p99": round(percentile(warm, 0.99), 3),
            "calls": len(cold),
        },
        "misclassified": wrong,
    }
    out = args.json or (RESULT if args.set == "test" else None)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")

    o = report["overall"]
    print(f"{report['set']}: {o['pairs']} pairs ({o['same']} same, {o['different']} different)")
    for name in ("certain", "certain_or_possible"):
        f = o[name]
        print(
            f"  {name:20} precision {f['precision']}  recall {f['recall']}  "
            f"(fp {f['false_positives']})"
        )
    for language, figures in per_language.items():
        c, p = figures["certain"], figures["certain_or_possible"]
        print(
            f"  {language:6} certain P {c['precision']} R {c['recall']}  "
            f"certain+possible P {p['precision']} R {p['recall']}  ({figures['pairs']} pairs)"
        )
    print("  confusion:", report["confusion"])
    print("  among ten candidates:", report["among_ten_candidates"])
    t = report["ms_per_match_10_candidates"]
    print(
        f"  ms per match, 10 candidates: cold median {t['cold_median']} p99 {t['cold_p99']}; "
        f"warm median {t['warm_median']} p99 {t['warm_p99']} ({t['calls']} calls)"
    )
    print(
        f"  machine: {report['machine']['cpu']}, {report['machine']['cores']} cores, "
        f"Python {report['machine']['python']}"
    )
    for w in wrong:
        print(
            f"  WRONG {w['label']}->{w['outcome']} [{w['language']}, {w['kind']}] {w['new_text']!r}"
        )
        if w["reasons"]:
            print(f"        {w['score']} {w['reasons']}")
    if out:
        print(f"written {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
