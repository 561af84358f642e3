"""The learned half of the anger detector.

Two kinds of linear model read the de-obfuscated text of a message:

- the main head: logistic regression over TF-IDF of character n-grams (1 to 5, inside word
  boundaries) and of word stems (Snowball, Russian or English by alphabet). `train` fits it
  with scikit-learn; scoring is plain Python over a dict, so it needs no scikit-learn.
- the English head: the linear SVM with sigmoid calibration of the `alt-profanity-check`
  package, converted once into numbers by bench/triage/train_anger.py (no pickle at run time).

A model is stored as two files, a JSON document (vocabularies, settings, provenance) and an
NPZ archive of numbers read with allow_pickle=False: loading one never runs code.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import Stemmer  # type: ignore[import-not-found]

FORMAT = "pomogu-anger-model"
VERSION = 1
CHAR_MIN, CHAR_MAX = 1, 5
# A head trained on one alphabet reads a message when that alphabet makes this share of it.
SCRIPT_SHARE = 0.3

_CYR_LETTER = re.compile(r"[а-яё]")
_LAT_LETTER = re.compile(r"[a-z]")
_EN_TOKEN = re.compile(r"(?u)\b\w\w+\b")
_RU_STEMMER = Stemmer.Stemmer("russian")
_EN_STEMMER = Stemmer.Stemmer("english")


def char_features(text: str) -> list[str]:
    """Character n-grams of each word padded with spaces (scikit-learn's "char_wb")."""
    out: list[str] = []
    for word in text.split():
        padded = f" {word} "
        size = len(padded)
        for n in range(CHAR_MIN, CHAR_MAX + 1):
            if n > size:
                break
            out.extend(padded[i : i + n] for i in range(size - n + 1))
    return out


@lru_cache(maxsize=100_000)
def _stem(word: str) -> str:
    if _CYR_LETTER.search(word):
        return str(_RU_STEMMER.stemWord(word))
    return str(_EN_STEMMER.stemWord(word))


def stem_features(text: str) -> list[str]:
    return ["w:" + _stem(word) for word in text.split()]


def script_shares(text: str) -> tuple[float, float]:
    """Shares of Cyrillic and Latin letters in a lower-case text."""
    cyr = len(_CYR_LETTER.findall(text))
    lat = len(_LAT_LETTER.findall(text))
    total = cyr + lat
    if not total:
        return 0.0, 0.0
    return cyr / total, lat / total


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


@dataclass
class Block:
    """One TF-IDF block: feature -> (idf, weight); L2-normalised over the known features."""

    name: str
    vocab: list[str]
    idf: np.ndarray
    coef: np.ndarray
    sublinear: bool = True
    _table: dict[str, tuple[float, float]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._table = dict(
            zip(self.vocab, zip(self.idf.tolist(), self.coef.tolist(), strict=True), strict=True)
        )

    def score(self, features: list[str]) -> float:
        table = self._table
        dot = 0.0
        norm = 0.0
        for feature, count in Counter(features).items():
            entry = table.get(feature)
            if entry is None:
                continue
            value = ((1.0 + math.log(count)) if self.sublinear else count) * entry[0]
            norm += value * value
            dot += value * entry[1]
        return dot / math.sqrt(norm) if norm else 0.0


@dataclass
class Head:
    """Logistic regression over character n-grams and word stems."""

    chars: Block
    stems: Block
    bias: float
    # "cyrillic", "latin" or "any": which messages the head was trained to read.
    scope: str = "any"

    def applies(self, cyr: float, lat: float) -> bool:
        if self.scope == "cyrillic":
            return cyr >= SCRIPT_SHARE
        if self.scope == "latin":
            return lat >= SCRIPT_SHARE
        return True

    def probability(self, text: str) -> float:
        z = (
            self.bias
            + self.chars.score(char_features(text))
            + self.stems.score(stem_features(text))
        )
        return _sigmoid(z)


@dataclass
class EnglishHead:
    """alt-profanity-check's model as numbers: TF-IDF of words, K calibrated linear SVMs."""

    vocab: list[str]
    idf: np.ndarray
    coef: np.ndarray  # K x V
    intercept: np.ndarray  # K
    a: np.ndarray  # K, sigmoid calibration
    b: np.ndarray  # K
    _table: dict[str, tuple[float, tuple[float, ...]]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        columns = [tuple(col) for col in self.coef.T.tolist()]
        self._table = dict(
            zip(self.vocab, zip(self.idf.tolist(), columns, strict=True), strict=True)
        )

    def probability(self, text: str) -> float:
        k = len(self.intercept)
        dots = [0.0] * k
        norm = 0.0
        for word, count in Counter(_EN_TOKEN.findall(text)).items():
            entry = self._table.get(word)
            if entry is None:
                continue
            value = count * entry[0]
            norm += value * value
            for i, w in enumerate(entry[1]):
                dots[i] += value * w
        scale = 1.0 / math.sqrt(norm) if norm else 0.0
        total = 0.0
        for i in range(k):
            decision = dots[i] * scale + float(self.intercept[i])
            total += _sigmoid(-(float(self.a[i]) * decision + float(self.b[i])))
        return total / k


@dataclass
class AngerModel:
    """The learned part of the anger detector; either head may be missing."""

    main: Head | None = None
    english: EnglishHead | None = None
    provenance: dict[str, Any] = field(default_factory=dict)

    def probability(self, text: str, *, masked: str | None = None) -> float:
        """Probability that a de-obfuscated, lower-case text is angry or toxic.

        The main head reads `masked` (the text with the words the lexicon finds decisive
        masked) when given; the English head always reads the whole text, as it was trained to.
        """
        cyr, lat = script_shares(text)
        best = 0.0
        if self.main is not None and self.main.applies(cyr, lat):
            best = max(best, self.main.probability(text if masked is None else masked))
        if self.english is not None and lat >= SCRIPT_SHARE:
            best = max(best, self.english.probability(text))
        return best

    def save(self, path: str | Path) -> None:
        """Write `path` (.npz, numbers) and the same name with .json (everything else)."""
        npz, js = _paths(path)
        arrays: dict[str, np.ndarray] = {}
        doc: dict[str, Any] = {"format": FORMAT, "version": VERSION, "provenance": self.provenance}
        if self.main is not None:
            m = self.main
            doc["main"] = {
                "scope": m.scope,
                "bias": m.bias,
                "char_range": [CHAR_MIN, CHAR_MAX],
                "chars": m.chars.vocab,
                "stems": m.stems.vocab,
            }
            arrays |= {
                "main_chars_idf": m.chars.idf.astype(np.float32),
                "main_chars_coef": m.chars.coef.astype(np.float32),
                "main_stems_idf": m.stems.idf.astype(np.float32),
                "main_stems_coef": m.stems.coef.astype(np.float32),
            }
        if self.english is not None:
            e = self.english
            doc["english"] = {"vocab": e.vocab}
            arrays |= {
                "en_idf": e.idf.astype(np.float32),
                "en_coef": e.coef.astype(np.float32),
                "en_intercept": e.intercept.astype(np.float64),
                "en_a": e.a.astype(np.float64),
                "en_b": e.b.astype(np.float64),
            }
        js.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
        with npz.open("wb") as f:
            named: Any = arrays  # numpy's stub reads a "allow_pickle" key into **kwds
            np.savez_compressed(f, **named)

    @classmethod
    def load(cls, path: str | Path) -> AngerModel:
        npz, js = _paths(path)
        doc = json.loads(js.read_text(encoding="utf-8"))
        if doc.get("format") != FORMAT or doc.get("version") != VERSION:
            raise ValueError(f"{js} is not a pomogu anger model of version {VERSION}")
        with np.load(npz, allow_pickle=False) as arrays:
            main = None
            if "main" in doc:
                m = doc["main"]
                if m.get("char_range") != [CHAR_MIN, CHAR_MAX]:
                    raise ValueError(f"{js}: unsupported character n-gram range")
                main = Head(
                    chars=Block(
                        "chars", m["chars"], arrays["main_chars_idf"], arrays["main_chars_coef"]
                    ),
                    stems=Block(
                        "stems", m["stems"], arrays["main_stems_idf"], arrays["main_stems_coef"]
                    ),
                    bias=float(m["bias"]),
                    scope=str(m["scope"]),
                )
            english = None
            if "english" in doc:
                english = EnglishHead(
                    vocab=doc["english"]["vocab"],
                    idf=arrays["en_idf"],
                    coef=arrays["en_coef"],
                    intercept=arrays["en_intercept"],
                    a=arrays["en_a"],
                    b=arrays["en_b"],
                )
        return cls(main=main, english=english, provenance=dict(doc.get("provenance", {})))


def _paths(path: str | Path) -> tuple[Path, Path]:
    p = Path(path)
    if p.suffix != ".npz":
        p = p.with_name(p.name + ".npz")
    return p, p.with_suffix(".json")


def blocked(feature: str, roots: Sequence[str]) -> bool:
    """Whether a character n-gram holds a root or is a piece of one (see fit_head)."""
    core = feature.strip()
    if len(core) < 2:
        return False
    for root in roots:
        if root in core or (len(core) >= 3 and core in root):
            return True
        if feature.startswith(" ") and root.startswith(core):
            return True
    return False


def fit_head(
    texts: Sequence[str],
    labels: Sequence[int],
    *,
    c: float = 5.0,
    char_min_df: int = 3,
    stem_min_df: int = 2,
    blocked_roots: Sequence[str] = (),
) -> Head:
    """Fit the main head on de-obfuscated texts (needs scikit-learn).

    Character n-grams that hold one of `blocked_roots` or are a piece of one are left out of
    the vocabulary, so the model cannot react to fragments of swear words inside ordinary
    words; the lexicon decides swear words.
    """
    roots = tuple(blocked_roots)
    verdicts: dict[str, bool] = {}

    def analyzer(text: str) -> list[str]:
        out = []
        for f in char_features(text):
            v = verdicts.get(f)
            if v is None:
                v = verdicts[f] = blocked(f, roots)
            if not v:
                out.append(f)
        return out

    from scipy.sparse import hstack  # type: ignore[import-untyped]
    from sklearn.feature_extraction.text import TfidfVectorizer  # type: ignore[import-untyped]
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

    y = np.asarray(labels, dtype=int)
    if len(set(y.tolist())) < 2:
        raise ValueError("training needs both angry (1) and calm (0) examples")
    small = len(texts) < 200
    chars = TfidfVectorizer(
        analyzer=analyzer, sublinear_tf=True, min_df=1 if small else char_min_df
    )
    stems = TfidfVectorizer(
        analyzer=stem_features, sublinear_tf=True, min_df=1 if small else stem_min_df
    )
    x = hstack([chars.fit_transform(texts), stems.fit_transform(texts)]).tocsr()
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=5000, random_state=0)
    model.fit(x, y)
    coef = model.coef_[0]
    n_chars = len(chars.vocabulary_)
    cyr = sum(script_shares(t)[0] for t in texts) / len(texts)
    lat = sum(script_shares(t)[1] for t in texts) / len(texts)
    scope = "cyrillic" if cyr >= 0.8 else "latin" if lat >= 0.8 else "any"
    return Head(
        chars=_block("chars", chars, coef[:n_chars]),
        stems=_block("stems", stems, coef[n_chars:]),
        bias=float(model.intercept_[0]),
        scope=scope,
    )


def _block(name: str, vectorizer: Any, coef: np.ndarray) -> Block:
    vocab = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.__getitem__)
    return Block(
        name,
        vocab,
        np.asarray(vectorizer.idf_, dtype=np.float32),
        np.asarray(coef, dtype=np.float32),
    )
