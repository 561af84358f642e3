"""Rebuild the anger model that ships with pomogu (src/pomogu/triage/data/anger/model.*).

    .venv/bin/python bench/triage/train_anger.py [--data DIR] [--out PATH]
    .venv/bin/python bench/triage/train_anger.py --cv 5   # cross-validation on train.tsv only

Main head: trained on RUSSE-2022 detox train.tsv only (every toxic_comment is angry, every
non-empty neutral_comment* calm; dev.tsv is left for the benchmark), on the de-obfuscated texts
without the words the lexicon finds decisive (see anger_rules.Found). English head: converted
from the model inside the `alt-profanity-check` package, which must be installed here (it is
only needed to rebuild, not to run). Deterministic: same data, same package, same files.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

from pomogu.triage.anger import SHIPPED, evaluate, prepare, train, training_view  # noqa: E402
from pomogu.triage.anger_model import AngerModel, EnglishHead, fit_head  # noqa: E402
from pomogu.triage.lexicon_ru import MODEL_BLOCKED_ROOTS  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "ru_detox_russe2022"
C = 5.0


def read_detox(path: Path) -> tuple[list[str], list[int]]:
    """Toxic comments as 1, their neutral rewrites as 0.

    A rewrite that reads the same as its toxic original once de-obfuscated (often only the
    capitals were lowered) contradicts it; such rewrites are left out.
    """
    with path.open(encoding="utf-8", newline="") as f:
        return rows_to_examples(list(csv.DictReader(f, delimiter="\t")))


def rows_to_examples(rows: list[dict[str, str]]) -> tuple[list[str], list[int]]:
    texts: list[str] = []
    labels: list[int] = []
    for row in rows:
        toxic = row["toxic_comment"] or ""
        texts.append(toxic)
        labels.append(1)
        seen = {prepare(toxic)}
        for key in ("neutral_comment1", "neutral_comment2", "neutral_comment3"):
            neutral = (row.get(key) or "").strip()
            if neutral and prepare(neutral) not in seen:
                seen.add(prepare(neutral))
                texts.append(neutral)
                labels.append(0)
    return texts, labels


def cross_validate(path: Path, k: int) -> None:
    """Grouped K-fold over train.tsv: a toxic comment and its rewrites stay in one fold.

    The learned part is trained on the other folds (as in `main`) and the whole detector
    (rules + model, threshold ANGRY) is measured on every message of the held-out fold, rewrites
    that read like their original included, as the benchmark does on dev.tsv.
    """
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    order = np.random.RandomState(0).permutation(len(rows))
    fold = np.empty(len(rows), dtype=int)
    fold[order] = np.arange(len(rows)) % k
    tp = fp = fn = 0
    for n in range(k):
        fit_texts, fit_labels = rows_to_examples(
            [r for r, f in zip(rows, fold, strict=True) if f != n]
        )
        model = train(fit_texts, fit_labels)
        texts: list[str] = []
        labels: list[int] = []
        for row in (r for r, f in zip(rows, fold, strict=True) if f == n):
            texts.append(row["toxic_comment"] or "")
            labels.append(1)
            for key in ("neutral_comment1", "neutral_comment2", "neutral_comment3"):
                neutral = (row.get(key) or "").strip()
                if neutral:
                    texts.append(neutral)
                    labels.append(0)
        result = evaluate(model, texts, labels, language="ru")
        tp, fp, fn = tp + result["tp"], fp + result["fp"], fn + result["fn"]
        scores = " ".join(f"{key}={result[key]:.3f}" for key in ("precision", "recall", "f1"))
        print(f"fold {n + 1}/{k}: {scores}")
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    f1 = 2 * precision * recall / (precision + recall)
    print(f"cross-validation ({k} folds): P={precision:.3f} R={recall:.3f} F1={f1:.3f}")


def english_head() -> tuple[EnglishHead, dict[str, str]]:
    """alt-profanity-check's TF-IDF + calibrated linear SVMs, as plain numbers."""
    from importlib import metadata, resources

    import joblib  # type: ignore[import-untyped]

    data = resources.files("profanity_check") / "data"
    vectorizer = joblib.load(str(data / "vectorizer.joblib"))
    model = joblib.load(str(data / "model.joblib"))
    vocab = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.__getitem__)
    parts = model.calibrated_classifiers_
    head = EnglishHead(
        vocab=vocab,
        idf=np.asarray(vectorizer.idf_, dtype=np.float32),
        coef=np.asarray([p.estimator.coef_[0] for p in parts], dtype=np.float32),
        intercept=np.asarray([p.estimator.intercept_[0] for p in parts], dtype=np.float64),
        a=np.asarray([p.calibrators[0].a_ for p in parts], dtype=np.float64),
        b=np.asarray([p.calibrators[0].b_ for p in parts], dtype=np.float64),
    )
    version = metadata.version("alt-profanity-check")
    return head, {"package": f"alt-profanity-check {version}", "licence": "MIT"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", type=Path, default=SHIPPED)
    parser.add_argument("--cv", type=int, default=0, help="cross-validate with K folds, no files")
    args = parser.parse_args()
    if args.cv:
        cross_validate(args.data / "train.tsv", args.cv)
        return

    started = time.perf_counter()
    texts, labels = read_detox(args.data / "train.tsv")
    masked, kept = training_view(texts, labels)
    head = fit_head(masked, kept, c=C, blocked_roots=MODEL_BLOCKED_ROOTS)
    trained = time.perf_counter() - started
    english, english_source = english_head()
    model = AngerModel(
        main=head,
        english=english,
        provenance={
            "main": {
                "data": "RUSSE-2022 detoxification corpus, train.tsv (s-nlp/russe_detox_2022 "
                "a2f79da9; published as s-nlp/ru_paradetox under openrail++)",
                "rows": len(texts),
                "angry": sum(labels),
                "rows_learned_from": len(kept),
                "angry_learned_from": sum(kept),
                "model": f"logistic regression C={C}, char 1-5 + stem TF-IDF",
            },
            "english": english_source
            | {"note": "converted from the package's vectorizer.joblib and model.joblib"},
        },
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    model.save(args.out)
    json_path = args.out.with_suffix(".json")
    print(
        f"read {len(texts)} messages ({sum(labels)} angry); the model learned from {len(kept)} "
        f"({sum(kept)} angry) in {trained:.1f} s"
    )
    sizes = f"{len(head.chars.vocab)} n-grams, {len(head.stems.vocab)} stems"
    print(f"main head: {sizes}, scope {head.scope}")
    print(f"english head: {len(english.vocab)} words from {english_source['package']}")
    for path in (args.out, json_path):
        print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
