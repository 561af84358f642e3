"""The team router's model (R1): which team a request belongs to, how sure we are, and why.

A linear model over three views of the text, each TF-IDF weighted and normalised on its own:
word n-grams of Snowball stems (1 to 3 words), character n-grams inside words (1 to 5
characters, which catches inflections, typos and compound words in both languages), and
unordered pairs of nearby stems ("card … declined"). Training uses scikit-learn's LinearSVC;
classifying is a sparse dot product done here with numpy, so one message takes well under a
millisecond and a model is plain arrays.

A model is saved as a compressed numpy archive of arrays and one JSON document, never a pickle:
loading a model must not be able to run code.

Labels are strings. The label ``OOS`` marks a request that no team owns; a model trained with
such examples can say "not ours" as a class of its own. Below the model's threshold the answer is
"unsure": a person decides, and that decision becomes training data.
"""

from __future__ import annotations

import io
import json
import math
import random
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import sparse  # type: ignore[import-untyped]

from pomogu.triage.text import normalise, stem, words

OOS = "oos"
FORMAT = 1
BLOCKS = ("w", "c", "s")


@dataclass(frozen=True)
class Prediction:
    label: str  # the best label (possibly OOS); check ``unsure`` before acting on it
    score: float  # the model's raw score for it
    confidence: float  # 0..1; 0.5 at the model's threshold
    unsure: bool
    ranked: tuple[tuple[str, float], ...]  # (label, confidence), best first, top 4
    evidence: tuple[tuple[str, float], ...]  # (words as written, weight), strongest first


@dataclass
class _Block:
    vocabulary: dict[str, int]
    idf: np.ndarray
    offset: int = 0


def _features(text: str) -> tuple[dict[str, Counter[str]], dict[str, str]]:
    """Per view, the counts of its features; and, for explanations, each word feature's
    spelling in the text."""
    norm = normalise(text)
    tokens = words(norm)
    stems = [stem(t) for t in tokens]
    spelling: dict[str, str] = {}
    w: Counter[str] = Counter()
    for n in (1, 2, 3):
        for i in range(len(stems) - n + 1):
            key = " ".join(stems[i : i + n])
            w[key] += 1
            spelling.setdefault(key, " ".join(tokens[i : i + n]))
    c: Counter[str] = Counter()
    for token in tokens:
        padded = f" {token} "
        size = len(padded)
        for n in range(1, 6):
            if n > size:
                break
            for i in range(size - n + 1):
                c[padded[i : i + n]] += 1
    s: Counter[str] = Counter()
    for i in range(len(stems)):
        for j in range(i + 1, min(len(stems), i + 4)):
            a, b = sorted((stems[i], stems[j]))
            key = f"{a}~{b}"
            s[key] += 1
            spelling.setdefault(key, f"{tokens[i]} … {tokens[j]}")
    return {"w": w, "c": c, "s": s}, spelling


@dataclass
class RouterModel:
    labels: list[str]
    blocks: dict[str, _Block]
    coef: np.ndarray  # features x labels, float32
    intercept: np.ndarray  # labels
    threshold: float
    gap: float = 0.0  # the least lead of the best label over the runner-up
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return int(self.coef.shape[0])

    def _vector(self, text: str) -> tuple[np.ndarray, np.ndarray, dict[int, str]]:
        counts, spelling = _features(text)
        indices, values = _weighted(counts, self.blocks)
        names: dict[int, str] = {}
        for name in ("w", "s"):
            block = self.blocks[name]
            for feature in counts[name]:
                index = block.vocabulary.get(feature)
                if index is not None:
                    names[block.offset + index] = spelling.get(feature, feature)
        return np.asarray(indices, dtype=np.int64), np.asarray(values, dtype=np.float32), names

    def scores(self, text: str) -> np.ndarray:
        indices, values, _ = self._vector(text)
        return self.intercept + values @ self.coef[indices] if len(indices) else self.intercept

    def confidence(self, score: float, lead: float | None = None) -> float:
        """0..1, and 0.5 where the model stops being sure: at its threshold score, or at its
        least lead over the runner-up, whichever is nearer."""
        value = 1.0 / (1.0 + math.exp(-4.0 * (score - self.threshold)))
        if lead is not None:
            value = min(value, 1.0 / (1.0 + math.exp(-8.0 * (lead - self.gap))))
        return value

    def predict(self, text: str, *, explain: bool = True) -> Prediction:
        indices, values, names = self._vector(text)
        if len(indices):
            scores = self.intercept + values @ self.coef[indices]
        else:
            scores = self.intercept.copy()
        order = np.argsort(-scores)
        best = int(order[0])
        score = float(scores[best])
        lead = score - float(scores[int(order[1])]) if len(order) > 1 else 1.0
        ranked = tuple(
            (self.labels[int(i)], round(self.confidence(float(scores[int(i)])), 3))
            for i in order[:4]
        )
        evidence: tuple[tuple[str, float], ...] = ()
        if explain and len(indices):
            weights = values * self.coef[indices, best]
            named = [
                (names[int(i)], float(wgt))
                for i, wgt in zip(indices, weights, strict=True)
                if int(i) in names and wgt > 0
            ]
            named.sort(key=lambda pair: -pair[1])
            seen: set[str] = set()
            picked: list[tuple[str, float]] = []
            for words_, weight in named:
                if words_ in seen:
                    continue
                seen.add(words_)
                picked.append((words_, round(weight, 3)))
                if len(picked) == 5:
                    break
            evidence = tuple(picked)
        return Prediction(
            label=self.labels[best],
            score=score,
            confidence=self.confidence(score, lead),
            unsure=score < self.threshold or lead < self.gap or not len(indices),
            ranked=ranked,
            evidence=evidence,
        )

    # --- storage: arrays and JSON, no pickle ---------------------------------------------------

    def dumps(self) -> bytes:
        document = {
            "format": FORMAT,
            "labels": self.labels,
            "threshold": self.threshold,
            "gap": self.gap,
            "meta": self.meta,
            "vocabulary": {
                name: sorted(block.vocabulary, key=block.vocabulary.__getitem__)
                for name, block in self.blocks.items()
            },
        }
        buffer = io.BytesIO()
        arrays = {
            "document": np.frombuffer(json.dumps(document, ensure_ascii=False).encode(), np.uint8),
            "coef": self.coef.astype(np.float16),
            "intercept": self.intercept.astype(np.float32),
            **{f"idf_{name}": block.idf.astype(np.float32) for name, block in self.blocks.items()},
        }
        np.savez_compressed(buffer, **arrays)  # type: ignore[arg-type]
        return buffer.getvalue()

    @classmethod
    def loads(cls, data: bytes) -> RouterModel:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            document = json.loads(archive["document"].tobytes().decode())
            if document.get("format") != FORMAT:
                raise ValueError(f"unknown router model format {document.get('format')!r}")
            blocks: dict[str, _Block] = {}
            offset = 0
            for name in BLOCKS:
                terms = document["vocabulary"][name]
                blocks[name] = _Block(
                    vocabulary={term: i for i, term in enumerate(terms)},
                    idf=archive[f"idf_{name}"].astype(np.float32),
                    offset=offset,
                )
                offset += len(terms)
            return cls(
                labels=list(document["labels"]),
                blocks=blocks,
                coef=archive["coef"].astype(np.float32),
                intercept=archive["intercept"].astype(np.float32),
                threshold=float(document["threshold"]),
                gap=float(document.get("gap", 0.0)),
                meta=dict(document.get("meta") or {}),
            )


# --- training ---------------------------------------------------------------------------------


def _weighted(
    counts: dict[str, Counter[str]], blocks: dict[str, _Block]
) -> tuple[list[int], list[float]]:
    """One text's known features and their weights: sublinear TF times IDF, each view
    normalised on its own. Training and classifying both use this."""
    indices: list[int] = []
    values: list[float] = []
    for name in BLOCKS:
        block = blocks[name]
        found: list[tuple[int, float]] = []
        for feature, count in counts[name].items():
            index = block.vocabulary.get(feature)
            if index is not None:
                found.append((index, (1.0 + math.log(count)) * float(block.idf[index])))
        norm = math.sqrt(sum(v * v for _, v in found)) or 1.0
        for index, value in found:
            indices.append(block.offset + index)
            values.append(value / norm)
    return indices, values


def _matrix(counted: list[dict[str, Counter[str]]], blocks: dict[str, _Block]) -> sparse.csr_matrix:
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    for row, counts in enumerate(counted):
        indices, values = _weighted(counts, blocks)
        rows += [row] * len(indices)
        cols += indices
        vals += values
    width = sum(len(b.vocabulary) for b in blocks.values())
    return sparse.csr_matrix(
        (np.asarray(vals, np.float32), (rows, cols)), shape=(len(counted), width)
    )


def _vocabulary(counted: list[dict[str, Counter[str]]], min_df: int) -> dict[str, _Block]:
    n = len(counted)
    blocks: dict[str, _Block] = {}
    offset = 0
    for name in BLOCKS:
        df: Counter[str] = Counter()
        for counts in counted:
            df.update(counts[name].keys())
        terms = sorted(t for t, d in df.items() if d >= min_df)
        vocabulary = {t: i for i, t in enumerate(terms)}
        idf = np.asarray([math.log((1 + n) / (1 + df[t])) + 1.0 for t in terms], np.float32)
        blocks[name] = _Block(vocabulary=vocabulary, idf=idf, offset=offset)
        offset += len(terms)
    return blocks


def _fit(x: sparse.csr_matrix, y: list[str], weights: Sequence[float] | None, c: float) -> Any:
    from sklearn.svm import LinearSVC  # type: ignore[import-untyped]

    model = LinearSVC(C=c, random_state=0)
    model.fit(x, y, sample_weight=None if weights is None else np.asarray(weights))
    return model


def _coefficients(model: Any, labels: list[str]) -> tuple[np.ndarray, np.ndarray]:
    classes = [str(c) for c in model.classes_]
    if len(classes) == 2:
        # A two-class LinearSVC has one weight vector: score +w for the second class, -w for
        # the first.
        coef = np.vstack([-model.coef_[0], model.coef_[0]])
        intercept = np.asarray([-model.intercept_[0], model.intercept_[0]])
    else:
        coef, intercept = model.coef_, model.intercept_
    order = [classes.index(label) for label in labels]
    return (
        np.ascontiguousarray(coef[order].T.astype(np.float32)),
        intercept[order].astype(np.float32),
    )


# Without enough data to measure them: the best label's least score, and its least lead over
# the runner-up.
DEFAULT_THRESHOLD = -0.35
DEFAULT_GAP = 0.3
# The share of correctly routed held-out requests we accept to send to a person when the
# threshold is set from the data: a person's minute is cheaper than a misrouted customer.
REVIEW_SHARE = 0.01


def train(
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    weights: Sequence[float] | None = None,
    c: float = 1.0,
    threshold: float | None = None,
    seed: int = 0,
) -> RouterModel:
    """Fit a router on labelled texts. At least two distinct labels are needed.

    Unless ``threshold`` is given, it is set from a held-out fifth of the data (when there is
    enough): low enough that about ``REVIEW_SHARE`` of the correctly routed held-out requests
    fall below it, and, if the data has ``OOS`` examples, no lower than what lets most of them
    through to a person.
    """
    started = time.perf_counter()
    if len(texts) != len(labels):
        raise ValueError("texts and labels differ in length")
    distinct = sorted(set(labels))
    if len(distinct) < 2:
        raise ValueError("the router needs examples of at least two labels")
    counted = [_features(t)[0] for t in texts]
    min_df = 2 if len(texts) >= 5000 else 1
    blocks = _vocabulary(counted, min_df)
    x = _matrix(counted, blocks)
    y = [str(label) for label in labels]

    gap = DEFAULT_GAP
    if threshold is None:
        threshold = DEFAULT_THRESHOLD
        held_out = _held_out_limits(x, y, weights, c, seed)
        if held_out is not None:
            threshold, gap = held_out
    model = _fit(x, y, weights, c)
    coef, intercept = _coefficients(model, distinct)
    return RouterModel(
        labels=distinct,
        blocks=blocks,
        coef=coef,
        intercept=intercept,
        threshold=float(threshold),
        gap=float(gap),
        meta={
            "examples": len(texts),
            "features": int(x.shape[1]),
            "c": c,
            "train_seconds": round(time.perf_counter() - started, 2),
        },
    )


def _held_out_limits(
    x: sparse.csr_matrix, y: list[str], weights: Sequence[float] | None, c: float, seed: int
) -> tuple[float, float] | None:
    by_label: dict[str, list[int]] = defaultdict(list)
    for i, label in enumerate(y):
        by_label[label].append(i)
    if len(y) < 200 or sum(1 for rows in by_label.values() if len(rows) >= 5) < 2:
        return None
    rng = random.Random(seed)  # noqa: S311 - a reproducible split, not a secret
    held: list[int] = []
    for rows in by_label.values():
        if len(rows) >= 5:
            held += rng.sample(rows, len(rows) // 5)
    held_set = set(held)
    kept = [i for i in range(len(y)) if i not in held_set]
    model = _fit(
        x[kept], [y[i] for i in kept], None if weights is None else [weights[i] for i in kept], c
    )
    scores = model.decision_function(x[held])
    if scores.ndim == 1:
        scores = np.vstack([-scores, scores]).T
    classes = [str(label) for label in model.classes_]
    ordered = np.sort(scores, axis=1)
    best = scores.argmax(axis=1)
    top = ordered[:, -1]
    leads = ordered[:, -1] - ordered[:, -2]
    correct = [k for k, i in enumerate(held) if classes[int(best[k])] == y[i] and y[i] != OOS]
    if len(correct) < 20:
        return None
    # Each limit alone sends about REVIEW_SHARE of the correct answers to a person.
    return (
        float(np.quantile(top[correct], REVIEW_SHARE)),
        float(np.quantile(leads[correct], REVIEW_SHARE)),
    )
