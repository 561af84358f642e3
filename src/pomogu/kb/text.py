"""Search text, independent of the database: what a query means and which words of a text say
most about it.

A query is read like PostgreSQL's ``websearch_to_tsquery`` reads it (words are ANDed,
``"a phrase"``, ``or`` between alternatives, ``-word`` excludes), but by our own small parser,
so that every input, however hostile, becomes a well-formed query for both backends:
``Query.websearch()`` for PostgreSQL (letters, digits, quotes, ``-`` and ``or`` only) and
``Query.fts5()`` for SQLite's FTS5 (every term a quoted string). Stop words are dropped with
PostgreSQL's own lists (``stopwords.py``), so that a query finds the same on both.

Words are Snowball stems (``pomogu.triage.text``: Russian for Cyrillic, English for Latin),
with "ё" read as "е". SQLite's index holds the words as written, so a stem is searched there as
a prefix ("счет"* finds "счета", "счетом"); see docs/decisions/0009-search.md.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations

from pomogu.kb import stopwords
from pomogu.triage.text import stem

# A query longer than this is cut: nobody types more, and a bound keeps the work bounded.
MAX_QUERY_CHARS = 1000
# At most this many words of a query are used (PostgreSQL's GIN reads one list per word).
MAX_QUERY_TERMS = 16
# A stem shorter than this is searched as a whole word on SQLite, not as a prefix: "ус"* would
# find half the dictionary.
PREFIX_MIN = 3
# Similarity reads this much of a text: a message's topic is in its first lines.
MAX_TEXT_CHARS = 4000
KEYWORDS = 8
# Candidates for similarity hold two of the first this many keywords (the pairs of 8 would
# make 28 GIN conditions; of 5, 10, which cost PostgreSQL's GIN index 150 ms on 2.5 M
# messages when the words are common; of 3, three).
CANDIDATE_KEYWORDS = 3
# In a similarity query, a word in more than this share of messages says little about a
# problem (it is dropped while at least MIN_KEYWORDS others remain).
MAX_DOC_SHARE = 0.2
MIN_KEYWORDS = 2
# Below this many messages, how many hold a word says nothing yet: keywords are chosen by how
# often the text says them.
MIN_CORPUS = 1000
# Greetings and courtesy: not stop words to PostgreSQL, but they say nothing about a problem.
COURTESY = frozenset(
    stem(word)
    for word in [
        "здравствуйте",
        "добрый",
        "доброе",
        "день",
        "утро",
        "вечер",
        "спасибо",
        "пожалуйста",
        "уважаемые",
        "уважаемый",
        "подскажите",
        "вопрос",
        "hello",
        "hi",
        "dear",
        "thanks",
        "thank",
        "please",
        "regards",
        "kind",
        "good",
        "morning",
        "afternoon",
        "evening",
        "question",
    ]
)

_CASE_NUMBER_RE = re.compile(r"\s*(?:#|№)?\s*(\d{1,18})\s*")
_QUERY_TOKEN_RE = re.compile(r'(?P<quote>")|(?P<minus>(?<![^\s(])-(?=[^\W_]|"))|(?P<word>[^\W_]+)')
_WORD_RE = re.compile(r"[^\W_]+")
_CYRILLIC_RE = re.compile(r"[а-я]")


def normalise(text: str) -> str:
    """Lower case, "ё" as "е"."""
    return text.lower().replace("ё", "е")


def clean(text: str) -> str:
    """Text a database accepts: no NUL character (PostgreSQL refuses it), no lone surrogate
    (not UTF-8)."""
    return text.replace("\x00", " ").encode("utf-8", "replace").decode("utf-8")


def is_stop_word(word: str) -> bool:
    """Whether PostgreSQL's ``russian`` configuration drops this (normalised) word."""
    if _CYRILLIC_RE.search(word):
        return word in stopwords.RUSSIAN
    return word.isascii() and word in stopwords.ENGLISH


@dataclass(frozen=True)
class Word:
    """One word of a query: as written (normalised) and its stem."""

    text: str
    stem: str
    stop: bool
    numeric: bool

    @classmethod
    def of(cls, text: str) -> Word:
        return cls(text, stem(text), is_stop_word(text), text.isdigit())

    def fts5(self) -> str:
        """This word alone, for FTS5: its stem as a prefix, or the word itself."""
        if self.numeric or len(self.stem) < PREFIX_MIN:
            forms = sorted({self.text, self.stem})
            return _any_of([_quote(form) for form in forms])
        if self.text.startswith(self.stem):
            return _quote(self.stem) + "*"
        # English stems are not always prefixes ("happy" → "happi").
        return _any_of([_quote(self.stem) + "*", _quote(self.text) + "*"])

    def fts5_in_phrase(self) -> str:
        """This word inside a phrase: the longest prefix that the word and its stem share."""
        if self.stop or self.numeric:
            return _quote(self.text)
        prefix = _common_prefix(self.text, self.stem)
        if len(prefix) >= PREFIX_MIN:
            return _quote(prefix) + "*"
        return _quote(self.text)


@dataclass(frozen=True)
class Clause:
    """A word or a phrase that a document must contain (or, negated, must not)."""

    words: tuple[Word, ...]
    negated: bool = False

    def fts5(self) -> str:
        if len(self.words) == 1:
            return self.words[0].fts5()
        return " + ".join(word.fts5_in_phrase() for word in self.words)

    def websearch(self) -> str:
        text = " ".join(word.text for word in self.words)
        if len(self.words) > 1:
            text = f'"{text}"'
        return f"-{text}" if self.negated else text


@dataclass(frozen=True)
class Query:
    """A parsed search: alternatives (``or``), each a set of clauses that must all hold.
    ``number`` is set when the whole query is a case number ("#123", "123")."""

    groups: tuple[tuple[Clause, ...], ...] = ()
    number: int | None = None
    terms: tuple[Word, ...] = field(default=(), compare=False)

    def __bool__(self) -> bool:
        return bool(self.groups)

    def websearch(self) -> str:
        """Input for PostgreSQL's ``websearch_to_tsquery``: only words, quotes, "-" and "or"."""
        return " or ".join(" ".join(c.websearch() for c in group) for group in self.groups)

    @property
    def exact_in_index(self) -> bool:
        """Whether a GIN index answers it without reading the rows again: it does for words
        ANDed and ORed, not for a phrase (word positions) or an excluded word."""
        return all(
            len(clause.words) == 1 and not clause.negated
            for group in self.groups
            for clause in group
        )

    def loose_websearch(self) -> str:
        """Every word of each alternative, without phrases and exclusions: matches whatever
        the query matches (and more), and the GIN index answers it exactly."""
        return " or ".join(
            " ".join(
                word.text
                for clause in group
                if not clause.negated
                for word in clause.words
                if not word.stop
            )
            for group in self.groups
        )

    def fts5(self) -> str:
        """An FTS5 MATCH expression: every term quoted, every operator explicit."""
        alternatives = []
        for group in self.groups:
            positive = [f"({c.fts5()})" for c in group if not c.negated]
            expression = " AND ".join(positive)
            for clause in group:
                if clause.negated:
                    expression = f"({expression}) NOT ({clause.fts5()})"
            alternatives.append(f"({expression})")
        return " OR ".join(alternatives)


def parse_query(raw: str) -> Query:
    """Read what a person typed into a search box. Never fails: anything that is not a word,
    a quote, a leading "-" or "or" separates words. An empty query, or one of stop words only,
    is an empty ``Query`` (false)."""
    raw = raw[:MAX_QUERY_CHARS]
    number_match = _CASE_NUMBER_RE.fullmatch(raw)
    number = int(number_match.group(1)) if number_match else None
    groups: list[list[Clause]] = [[]]
    budget = MAX_QUERY_TERMS
    in_phrase = False
    phrase: list[str] = []
    phrase_negated = False
    negate = False

    def add(words: Sequence[str], negated: bool) -> None:
        nonlocal budget
        words = list(words)[:budget]
        clause = _clause(words, negated)
        if clause is not None and clause not in groups[-1]:
            budget -= len(clause.words)
            groups[-1].append(clause)

    for match in _QUERY_TOKEN_RE.finditer(normalise(raw)):
        if budget <= 0:
            break
        if match.group("quote"):
            if in_phrase:
                add(phrase, phrase_negated)
            else:
                phrase, phrase_negated, negate = [], negate, False
            in_phrase = not in_phrase
        elif match.group("minus"):
            negate = not in_phrase
        else:
            word = match.group("word")
            if in_phrase:
                phrase.append(word)
            elif word == "or" and groups[-1]:
                groups.append([])
                negate = False
            else:
                add([word], negate)
                negate = False
    if in_phrase and phrase:  # an unclosed quote: the phrase runs to the end
        add(phrase, phrase_negated)
    kept = tuple(tuple(group) for group in groups if any(not c.negated for c in group))
    terms = tuple(word for group in kept for clause in group for word in clause.words)
    return Query(groups=kept, number=number, terms=terms)


def _clause(texts: Sequence[str], negated: bool) -> Clause | None:
    words = [Word.of(text) for text in texts]
    # PostgreSQL drops stop words; a phrase keeps the ones inside it (they still count for the
    # distance between its words) but not at its ends.
    while words and words[0].stop:
        words.pop(0)
    while words and words[-1].stop:
        words.pop()
    if not words:
        return None
    return Clause(tuple(words), negated)


def _common_prefix(one: str, other: str) -> str:
    length = 0
    for a, b in zip(one, other, strict=False):
        if a != b:
            break
        length += 1
    return one[:length]


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _any_of(items: list[str]) -> str:
    return items[0] if len(items) == 1 else "(" + " OR ".join(items) + ")"


# --- similarity: the words that say most about a text -----------------------------------------


@dataclass(frozen=True)
class Keyword:
    """A word chosen to find similar texts: ``term`` as the index knows it (a stem, or a
    PostgreSQL lexeme), ``form`` as it was written, ``weight`` how much it tells."""

    term: str
    form: str
    weight: float

    def fts5(self) -> str:
        return Word(self.form, self.term, False, self.term.isdigit()).fts5()


# A line of these words only ("С уважением,", "Best regards,", "Thanks,") ends the letter: what
# follows is a signature (a name, a phone, an account), which says nothing about the problem.
SIGN_OFF = frozenset(
    [
        "с",
        "уважением",
        "спасибо",
        "заранее",
        "всего",
        "доброго",
        "наилучшими",
        "пожеланиями",
        "best",
        "kind",
        "warm",
        "warmest",
        "regards",
        "thanks",
        "thank",
        "you",
        "cheers",
        "sincerely",
        "yours",
        "respectfully",
    ]
)
NAME_PREFIX_MIN = 4
NAME_ENDING = 3
# Lines after a sign-off that still count as the signature when it has no trailing comma.
SIGNATURE_LINES = 3


def _digit_heavy(word: str) -> bool:
    """An account, order, phone or contract number (half its characters digits or more): it
    identifies one customer or case, not a problem."""
    digits = sum(char.isdigit() for char in word)
    return digits * 2 >= len(word)


def _signature_starts(lines: Sequence[str]) -> int | None:
    """The index of the line that ends the letter (a sign-off or "--"), if there is one."""
    for index, line in enumerate(lines):
        stripped = line.strip()
        if stripped in ("--", "-- ", "—", "__"):
            return index
        words = _WORD_RE.findall(normalise(stripped))
        if not words or len(words) > 4 or not all(word in SIGN_OFF for word in words):
            continue
        if not any(other.strip() for other in lines[:index]):
            continue  # nothing written before it: not the end of a letter
        rest = [other for other in lines[index + 1 :] if other.strip()]
        if stripped.endswith(",") or len(rest) <= SIGNATURE_LINES:
            return index
    return None


def similarity_text(text: str, avoid: Iterable[str] = ()) -> str:
    """``text`` without what identifies a person rather than a problem: the signature (from a
    sign-off line such as "С уважением," on), numbers (words that are half digits or more) and
    the words of ``avoid`` (the customer's name and email address) in any of their forms."""
    avoided = {normalise(word) for item in avoid for word in _WORD_RE.findall(item)}
    avoided_stems = {stem(word) for word in avoided if not _digit_heavy(word)}
    avoided_stems = {term for term in avoided_stems if len(term) >= PREFIX_MIN}
    # Snowball does not stem names alike ("кузнецов" → "кузнец", "кузнецова" → "кузнецов"):
    # a word that is a name or its stem plus an ending of up to NAME_ENDING letters goes too.
    prefixes = {term for term in avoided | avoided_stems if len(term) >= NAME_PREFIX_MIN}

    def avoided_word(word: str) -> bool:
        if word in avoided or stem(word) in avoided_stems:
            return True
        return any(
            word.startswith(prefix) and len(word) - len(prefix) <= NAME_ENDING
            for prefix in prefixes
        )

    lines = text[:MAX_TEXT_CHARS].splitlines()
    end = _signature_starts(lines)
    if end is not None:
        lines = lines[:end]

    def keep(match: re.Match[str]) -> str:
        word = normalise(match.group())
        if _digit_heavy(word) or avoided_word(word):
            return " "
        return match.group()

    return _WORD_RE.sub(keep, "\n".join(lines))


def count_terms(texts: Iterable[tuple[str, float]]) -> dict[str, tuple[float, str]]:
    """Stems of the texts (stop words dropped) with their weighted counts and a form each was
    written in. Each text comes with a weight: a subject says more than a message's 50th line."""
    counts: dict[str, tuple[float, str]] = {}
    for text, weight in texts:
        for word in _WORD_RE.findall(normalise(text[:MAX_TEXT_CHARS])):
            if is_stop_word(word):
                continue
            term = stem(word)
            count, form = counts.get(term, (0.0, word))
            counts[term] = (count + weight, form)
    return counts


def pick_keywords(
    counts: Mapping[str, tuple[float, str]],
    shares: Mapping[str, float] | None = None,
    *,
    rare: float = 0.0,
    limit: int = KEYWORDS,
) -> list[Keyword]:
    """The ``limit`` most informative terms: frequent in the text (log-damped), rare in the
    desk's messages (``shares``: the share of messages holding each term, as far as it is known;
    a term not in it is taken to be in at most ``rare`` of them). Without shares, longer words
    win ties. Numbers (words half digits or more) are never chosen."""
    floor = max(rare, 1e-6)
    scored: list[tuple[float, int, str, str, float | None]] = []
    for term, (count, form) in counts.items():
        # A number (an account, an order, a phone) is informative about one case, not a problem.
        if len(term) < PREFIX_MIN or term in COURTESY or _digit_heavy(term):
            continue
        share = shares.get(term) if shares is not None else None
        idf = 1.0 if shares is None else math.log(1.0 / max(share or floor, 1e-6))
        score = (1.0 + math.log(count)) * max(idf, 0.01)
        scored.append((score, len(term), term, form, share))
    scored.sort(key=lambda item: (-item[0], -item[1], item[2]))
    informative = [item for item in scored if item[4] is None or item[4] <= MAX_DOC_SHARE]
    if len(informative) < MIN_KEYWORDS:
        informative = scored
    chosen: list[Keyword] = []
    for score, _length, term, form, _share in informative:
        chosen.append(Keyword(term, form, round(score, 4)))
        if len(chosen) >= limit:
            break
    return chosen


def shared_needed(keywords: Sequence[Keyword]) -> int:
    """How many of the keywords a similar text must share: two, unless there are only two."""
    return 2 if len(keywords) > 2 else 1


def keyword_groups(keywords: Sequence[Keyword]) -> list[tuple[Keyword, ...]]:
    """The combinations of ``shared_needed`` of the CANDIDATE_KEYWORDS most informative
    keywords: a document holding all of one of them is a candidate (any keyword alone would
    make every message about "internet" one; all the keywords still count in the ranking)."""
    return list(combinations(keywords[:CANDIDATE_KEYWORDS], shared_needed(keywords)))


def any_of_keywords_fts5(keywords: Sequence[Keyword]) -> str:
    """An FTS5 expression matching a document with any of the keywords."""
    return " OR ".join(f"({keyword.fts5()})" for keyword in keywords)


def keyword_groups_fts5(keywords: Sequence[Keyword]) -> str:
    """An FTS5 expression matching a document with enough of the keywords."""
    return " OR ".join(
        "(" + " AND ".join(f"({keyword.fts5()})" for keyword in group) + ")"
        for group in keyword_groups(keywords)
    )
