"""Benchmark of the anger detector: Russian and English, full detector and its halves.

    .venv/bin/python bench/triage/anger_bench.py [--data DIR]

Sets: RUSSE-2022 detox dev.tsv (Russian; the model never saw it), bench/triage/data/
anger_ru_disguised.csv (Russian, disguised spellings) and bench/triage/data/anger_en.csv
(English). Each is measured with the shipped detector ("full"), with the linguistic rules alone
("lexicon") and with the learned model alone ("model"). Writes bench/results/anger.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

from pomogu.triage.anger import ANGRY, assess_with, evaluate, prepare, read_csv, shipped_model  # noqa: E402
from pomogu.triage.anger_model import AngerModel  # noqa: E402

HERE = Path(__file__).resolve().parent
DATA = ROOT.parent / "shared" / "data" / "ru_detox_russe2022"
RESULT = ROOT / "bench" / "results" / "anger.json"


def read_detox(path: Path) -> tuple[list[str], list[int]]:
    texts: list[str] = []
    labels: list[int] = []
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            texts.append(row["toxic_comment"] or "")
            labels.append(1)
            for key in ("neutral_comment1", "neutral_comment2", "neutral_comment3"):
                neutral = (row.get(key) or "").strip()
                if neutral:
                    texts.append(neutral)
                    labels.append(0)
    return texts, labels


def model_only(
    model: AngerModel, texts: list[str], labels: list[int], language: str
) -> dict[str, Any]:
    """The learned model's probability alone, on the same de-obfuscated text."""
    tp = fp = fn = 0
    times = []
    for text, label in zip(texts, labels, strict=True):
        started = time.perf_counter()
        p = model.probability(
            prepare(text, language=language), masked=prepare(text, language=language, masked=True)
        )
        times.append((time.perf_counter() - started) * 1000)
        if p >= ANGRY:
            tp += label
            fp += 1 - label
        else:
            fn += label
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "ms_per_message": statistics.median(times),
    }


def rounded(result: dict[str, Any]) -> dict[str, Any]:
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in result.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    model = shipped_model()
    if model is None:
        raise SystemExit("no shipped model: run bench/triage/train_anger.py first")
    sets = {
        "ru_detox_dev": (*read_detox(args.data / "dev.tsv"), "ru"),
        "ru_disguised": (*read_csv(HERE / "data" / "anger_ru_disguised.csv"), "ru"),
        "en": (*read_csv(HERE / "data" / "anger_en.csv"), "en"),
    }
    results: dict[str, Any] = {}
    for name, (texts, labels, language) in sets.items():
        # Warm the caches once so that the timing is of the steady state.
        for text in texts[:50]:
            assess_with(model, text, language=language)
        full = evaluate(model, texts, labels, language=language)
        blind = evaluate(model, texts, labels, language="")
        rules = evaluate(None, texts, labels, language=language)
        learned = model_only(model, texts, labels, language)
        results[name] = {
            "n": len(texts),
            "angry": sum(labels),
            "full": rounded(full),
            "full_language_unknown": rounded(blind),
            "lexicon_only": rounded(rules),
            "model_only": rounded(learned),
        }
        print(f"{name} ({len(texts)} messages, {sum(labels)} angry)")
        for label, r in (
            ("full", full),
            ("full, language unknown", blind),
            ("lexicon only", rules),
            ("model only", learned),
        ):
            print(
                f"  {label:24} P={r['precision']:.3f} R={r['recall']:.3f} F1={r['f1']:.3f} "
                f"ms median={r['ms_per_message']:.3f}"
                + (f" p95={r['ms_p95']:.3f}" if "ms_p95" in r else "")
            )
    model_files = [
        Path(str(p)) for p in sorted((ROOT / "src/pomogu/triage/data/anger").glob("model.*"))
    ]
    results["meta"] = {
        "threshold": ANGRY,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "model_files_mb": {p.name: round(p.stat().st_size / 1e6, 3) for p in model_files},
        "provenance": model.provenance,
    }
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {RESULT}")


if __name__ == "__main__":
    main()
