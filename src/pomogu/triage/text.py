"""Words and languages of a customer's text, in Russian and English.

Everything here is pure and fast (a few microseconds a message): the router and the anger
detector call it on every message.
"""

from __future__ import annotations

import re
from functools import lru_cache

import py3langid  # type: ignore[import-untyped]
import Stemmer  # type: ignore[import-not-found]

# At most this much of a message is read by the text features: a long mail's topic is in its
# first lines, and a bound keeps the time per message bounded.
MAX_CHARS = 4000

_WORD_RE = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?|\d+", re.UNICODE)
_CYRILLIC_RE = re.compile(r"[а-яё]", re.IGNORECASE)
_LATIN_RE = re.compile(r"[a-z]", re.IGNORECASE)
_UKRAINIAN_ETC_RE = re.compile(r"[іїєґўђјљњћџ]", re.IGNORECASE)

_RU = Stemmer.Stemmer("russian")
_EN = Stemmer.Stemmer("english")


def normalise(text: str) -> str:
    """Lower case, ё as е, bounded length."""
    return text[:MAX_CHARS].lower().replace("ё", "е")


def words(text: str) -> list[str]:
    """The words of an already normalised text, in order."""
    return _WORD_RE.findall(text)


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The Snowball stem of one lower-case word: Russian for Cyrillic, English otherwise."""
    if _CYRILLIC_RE.match(word):
        return str(_RU.stemWord(word))
    if word.isascii():
        return str(_EN.stemWord(word))
    return word


def detect_language(text: str) -> str:
    """ "ru", "en", "other", or "" when there is too little text to say.

    A statistical identifier (langid, shipped in the py3langid package) decides; for very short
    texts, where it guesses wildly ("ok" is Afrikaans to it), the alphabet decides.
    """
    sample = text[:2000]
    cyrillic = len(_CYRILLIC_RE.findall(sample))
    latin = len(_LATIN_RE.findall(sample))
    letters = cyrillic + latin
    if letters < 3:
        return ""
    language, _score = py3langid.classify(sample)
    if language in ("ru", "en"):
        return str(language)
    if letters < 25 and not _UKRAINIAN_ETC_RE.search(sample):
        if cyrillic >= 0.7 * letters:
            return "ru"
        if latin >= 0.7 * letters:
            return "en"
    return "other"
