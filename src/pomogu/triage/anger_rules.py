"""The linguistic half of the anger detector: swear words, insults, threats and shouting.

`find` reads the tokens made by `anger_normalize.tokenize` and returns every hit with its span
in the original text, plus the de-obfuscated text that the learned model reads ("х*йня" is
given to the model as "хуйня").
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from functools import lru_cache

from pomogu.triage import lexicon_en, lexicon_ru
from pomogu.triage.anger_normalize import MAX_WORD, Token

SHOUTING = "shouting"
THREAT = "threat"
INSULT = "insult"

# An insult the writer aims at himself ("я идиот") counts this much of its weight.
SELF_FACTOR = 0.4
# An insult aimed at the reader ("вы идиоты", "you morons") gains this much.
ADDRESS_BONUS = 0.15
# A polite request to cancel is a request, not a threat.
POLITE_FACTOR = 0.4
# A word this strong makes a message angry by itself (the detector's ANGRY threshold).
DECISIVE = 0.5
# What the model reads in place of a decisive word.
MASK = "\u2620"
CAPS_WEIGHT = 0.35
BANG_WEIGHT = 0.2
BANGS_WEIGHT = 0.25
INTERROBANG_WEIGHT = 0.15


@dataclass(frozen=True, slots=True)
class Hit:
    kind: str
    weight: float
    start: int
    end: int


def _compile(
    entries: tuple[tuple[str, float, str], ...],
) -> tuple[re.Pattern[str], dict[str, tuple[str, float]]]:
    """One regex with a named group per (kind, weight): a word needs one match call."""
    grouped: dict[tuple[str, float], list[str]] = {}
    for kind, weight, pattern in entries:
        grouped.setdefault((kind, weight), []).append(pattern)
    names: dict[str, tuple[str, float]] = {}
    parts = []
    for n, (key, patterns) in enumerate(grouped.items()):
        names[f"g{n}"] = key
        parts.append(f"(?P<g{n}>{'|'.join(patterns)})")
    return re.compile("|".join(parts)), names


_RU, _RU_NAMES = _compile(lexicon_ru.WORDS)
_EN, _EN_NAMES = _compile(lexicon_en.WORDS)
_TR, _TR_NAMES = _compile(lexicon_ru.TRANSLIT)
_PHRASES = [
    (kind, weight, re.compile(pattern), lang)
    for lang, phrases in (("ru", lexicon_ru.PHRASES), ("en", lexicon_en.PHRASES))
    for kind, weight, pattern in phrases
]
_POLITE = re.compile(lexicon_en.POLITE)
_CANON_MAT = "\n".join(lexicon_ru.CANONICAL_MAT)
_CANON_RU = "\n".join(lexicon_ru.CANONICAL_MAT + lexicon_ru.CANONICAL_OTHER)
_CANON_EN = "\n".join(lexicon_en.CANONICAL)
_CYRILLIC = re.compile(r"[а-я]")
# Letters most often hidden by stars in мат, and the weight of мат proper.
_FILLERS = ("у", "е", "и", "я", "б", "з", "д", "ху", "зд", "из", "еб", "ля", "уй", "изд", "ляд")
_MAT_WEIGHT = 0.75
_SELF = lexicon_ru.SELF_WORDS | lexicon_en.SELF_WORDS
_ADDRESS = lexicon_ru.ADDRESS_WORDS | lexicon_en.ADDRESS_WORDS
# Capitalised, this is a name ("Dick Smith"), not an insult.
_NAMES = frozenset({"dick"})
_SENTENCE_END = re.compile(r"[.!?;]")


@lru_cache(maxsize=100_000)
def classify(reading: str) -> tuple[str, float] | None:
    """(kind, weight) of one normalised word, or None for an ordinary word."""
    if not reading or len(reading) > MAX_WORD:
        return None
    if _CYRILLIC.search(reading):
        m = _RU.fullmatch(reading)
        return _RU_NAMES[m.lastgroup] if m and m.lastgroup else None
    m = _EN.fullmatch(reading)
    return _EN_NAMES[m.lastgroup] if m and m.lastgroup else None


@lru_cache(maxsize=20_000)
def _classify_translit(reading: str) -> tuple[str, float] | None:
    if not reading or len(reading) > MAX_WORD:
        return None
    m = _TR.fullmatch(reading)
    return _TR_NAMES[m.lastgroup] if m and m.lastgroup else None


@lru_cache(maxsize=20_000)
def resolve_wildcard(wildcard: str, *, cyrillic: bool, mat_only: bool) -> str:
    """The swear word that a starred word stands for ("х*йня" -> "хуйня"), or ""."""
    if len(wildcard) > MAX_WORD:
        return ""
    parts = []
    for m in re.finditer(r"\*+|[^*]+", wildcard):
        piece = m.group()
        if piece[0] == "*":
            parts.append(f"[^\\n]{{1,{len(piece) + 2}}}")
        else:
            parts.append(re.escape(piece))
    if cyrillic:
        canon = _CANON_MAT if mat_only else _CANON_RU
    elif mat_only:
        return ""
    else:
        canon = _CANON_EN
    found = re.search(f"^{''.join(parts)}$", canon, re.MULTILINE)
    if found:
        return found.group()
    if (
        cyrillic
        and not mat_only
        and wildcard.count("*") <= 3
        and re.fullmatch(r"[^*]+\*+[^*]+", wildcard)
    ):
        # Not a listed form: try the letters most often hidden ("вые*ки" -> "выебки").
        head, tail = re.split(r"\*+", wildcard)
        for filler in _FILLERS:
            word = head + filler + tail
            found_kind = classify(word)
            if found_kind and found_kind[1] >= _MAT_WEIGHT:
                return word
    return ""


def _token_hit(token: Token, translit: bool) -> tuple[str, str, float] | None:
    """(reading, kind, weight) of the strongest reading of a token."""
    best: tuple[str, str, float] | None = None
    for reading in token.readings:
        found = classify(reading)
        if found and (best is None or found[1] > best[2]):
            best = (reading, *found)
    if best is None and translit and token.translit:
        found = _classify_translit(token.translit)
        if found:
            best = (token.translit, *found)
    if best is None and token.wildcard:
        word = resolve_wildcard(token.wildcard, cyrillic=token.cyrillic, mat_only=token.mat_only)
        found = classify(word) if word else None
        if found:
            best = (word, *found)
    return best


@dataclass(frozen=True, slots=True)
class Found:
    """What the rules found in a message.

    `plain` is the de-obfuscated lower-case text. In `masked` every word that alone makes a
    message angry is replaced by MASK: the model never sees the letters of a swear word, so
    its character n-grams cannot make "застрахуйте" or "гребля" suspect.
    """

    hits: list[Hit]
    plain: str
    masked: str


def find(text: str, tokens: list[Token], *, language: str = "") -> Found:
    """Hits of the lexicons, phrases and shouting in `text`, and its de-obfuscated text."""
    translit = language != "en"
    hits: list[Hit] = []
    words: list[str] = []
    kept: list[str] = []
    for i, token in enumerate(tokens):
        found = _token_hit(token, translit)
        if found is None:
            words.append(token.main)
            kept.append(token.main)
            continue
        reading, kind, weight = found
        if (
            reading in _NAMES
            and text[token.start].isupper()
            and not text[token.start + 1 : token.end].isupper()
        ):
            # A name ("Dick Smith"): neither a reason nor a word for the models.
            words.append("")
            kept.append("")
            continue
        words.append(reading)
        aimed = _aimed(text, tokens, i, weight) if kind == INSULT else weight
        kept.append(reading if weight < DECISIVE else MASK)
        hits.append(Hit(kind, aimed, token.start, token.end))
    plain = " ".join(words)
    hits.extend(_phrases(plain, words, tokens))
    hits.extend(shouting(text))
    return Found(hits, plain, " ".join(kept))


def _aimed(text: str, tokens: list[Token], i: int, weight: float) -> float:
    """Weaken an insult the writer aims at himself; strengthen one aimed at the reader."""
    near = [
        t
        for t in tokens[max(0, i - 4) : i]
        if not _SENTENCE_END.search(text, t.end, tokens[i].start)
    ]
    before = {t.main for t in near}
    if before & _SELF:
        return round(weight * SELF_FACTOR, 3)
    after = {
        t.main
        for t in tokens[i + 1 : i + 2]
        if not _SENTENCE_END.search(text, tokens[i].end, t.start)
    }
    if (before | after) & _ADDRESS:
        return min(0.85, weight + ADDRESS_BONUS)
    return weight


def _phrases(plain: str, words: list[str], tokens: list[Token]) -> list[Hit]:
    if not tokens:
        return []
    starts = []
    at = 0
    for w in words:
        starts.append(at)
        at += len(w) + 1
    hits = []
    for kind, weight, pattern, lang in _PHRASES:
        for m in pattern.finditer(plain):
            first = bisect.bisect_right(starts, m.start()) - 1
            last = bisect.bisect_right(starts, max(m.start(), m.end() - 1)) - 1
            strength = weight
            if (
                lang == "en"
                and kind == THREAT
                and _POLITE.search(plain, max(0, m.start() - 40), m.start())
            ):
                strength = round(weight * POLITE_FACTOR, 3)
            hits.append(Hit(kind, strength, tokens[first].start, tokens[last].end))
    return hits


_LETTERS = re.compile(r"[^\W\d_]+")
_BANGS = re.compile(r"[!?¡]+")


def shouting(text: str) -> list[Hit]:
    """A long stretch of capitals and runs of "!!!" or "?!".

    Short capitalised words are acronyms ("SMS", "ID"); a capitalised error message inside an
    ordinary sentence ("FATAL ERROR: PPPOE TIMEOUT") is not shouting either: the capitals must
    make most of the message, or a run of five words.
    """
    hits: list[Hit] = []
    words = [(m.start(), m.end(), m.group()) for m in _LETTERS.finditer(text)]
    letters = sum(e - s for s, e, _ in words)
    caps = [(s, e, len(w)) for s, e, w in words if len(w) >= 2 and w.isupper()]
    caps_letters = sum(n for _, _, n in caps)
    # Longest run of consecutive capitalised words.
    best = (0, 0, 0)  # (number of words of 3+ letters, start, end)
    run_long = 0
    run_start = -1
    prev_caps = False
    for s, e, w in words:
        is_caps = len(w) >= 2 and w.isupper()
        if is_caps:
            if not prev_caps:
                run_long, run_start = 0, s
            run_long += len(w) >= 3
            if run_long > best[0]:
                best = (run_long, run_start, e)
        prev_caps = is_caps
    mostly = (
        caps_letters >= 12 and caps_letters >= 0.6 * letters and sum(n >= 3 for *_, n in caps) >= 3
    )
    if mostly or best[0] >= 5:
        hits.append(Hit(SHOUTING, CAPS_WEIGHT, best[1], best[2]))
    runs = []
    for m in _BANGS.finditer(text):
        run = m.group()
        if run.count("!") >= 3 or ("?" in run and "!" in run):
            runs.append((m, run.count("!") >= 3))
    if runs:
        m, strong = max(runs, key=lambda r: (r[1], len(r[0].group())))
        weight = BANGS_WEIGHT if len(runs) >= 2 else BANG_WEIGHT if strong else INTERROBANG_WEIGHT
        before = [s for s, e, _ in words if e <= m.start() and m.start() - s <= 40]
        start = before[-1] if before else m.start()
        hits.append(Hit(SHOUTING, weight, start, m.end()))
    return hits
