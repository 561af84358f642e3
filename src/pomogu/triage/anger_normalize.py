"""Readings of a message for the anger detector: its words with their de-obfuscated spellings.

People hide swear words behind look-alike letters of the other alphabet ("xуй", "cyka"), digits
and symbols ("sh1t", "пи3дец", "бл@ть"), separators between letters ("п.и.з.д.е.ц", "f u c k"),
stars as wildcards ("х*й", "f**k") and stretched letters ("бляяя"). `tokenize` splits a text into
tokens that keep their span in the original text and carry every plausible reading, so the
lexicon can test each reading and still report what the customer actually wrote.

Only the first `MAX_CHARS` characters of a message are read: this bounds the time per message.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

MAX_CHARS = 20_000
# Longer "words" are URLs, hashes or keyboard mashing: they are skipped by the lexicon.
MAX_WORD = 40

_CYR = frozenset("абвгдежзийклмнопрстуфхцчшщъыьэюя")
_LAT = frozenset("abcdefghijklmnopqrstuvwxyz")
# Letters that look the same in both alphabets: they do not tell which alphabet a word is in.
_CYR_AMBIG = frozenset("авсенкмортху")
_LAT_AMBIG = frozenset("abcehkmoptxy")

# Latin letter inside a Cyrillic word: first by shape, then by sound.
_LAT_TO_CYR_SHAPE = {
    "a": "а", "b": "в", "c": "с", "e": "е", "h": "н", "k": "к", "m": "м", "o": "о", "p": "р",
    "t": "т", "x": "х", "y": "у", "u": "и", "n": "п", "r": "г", "i": "и", "v": "у",
}  # fmt: skip
_LAT_TO_CYR_SOUND = {
    "a": "а", "b": "б", "c": "ц", "d": "д", "e": "е", "f": "ф", "g": "г", "h": "х", "i": "и",
    "j": "й", "k": "к", "l": "л", "m": "м", "n": "н", "o": "о", "p": "п", "q": "к", "r": "р",
    "s": "с", "t": "т", "u": "у", "v": "в", "w": "в", "x": "х", "y": "у", "z": "з",
}  # fmt: skip
# Cyrillic letter inside a Latin word.
_CYR_TO_LAT = {
    "а": "a", "в": "b", "с": "c", "е": "e", "н": "h", "к": "k", "м": "m", "о": "o", "р": "p",
    "т": "t", "х": "x", "у": "y", "ь": "b", "и": "u", "п": "n", "г": "r",
}  # fmt: skip
# Digits and symbols standing for letters.
_SUB_CYR = {
    "0": "о",
    "1": "и",
    "3": "з",
    "4": "ч",
    "6": "б",
    "9": "я",
    "@": "а",
    "$": "с",
    "!": "и",
}
_SUB_CYR_ALT = {"3": "е", "1": "л"}
_SUB_LAT = {
    "0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g", "@": "a",
    "$": "s", "!": "i", "|": "l", "+": "t", "€": "e", "£": "l",
}  # fmt: skip
_SUB_LAT_ALT = {"1": "l", "0": "o"}
# Greek and other look-alikes that NFKC leaves alone.
_HOMOGLYPHS = {
    "α": "a", "ε": "e", "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "κ": "k", "ν": "v", "ι": "i",
    "χ": "x", "ı": "i", "і": "i", "ї": "i", "ј": "j", "ѕ": "s", "ԁ": "d", "ɑ": "a", "ё": "е",
    "’": "'", "‘": "'", "`": "'", "ʼ": "'",
}  # fmt: skip

# Symbols that hide one or more letters inside a word.
_WILD = frozenset("*#%^~")
# Symbols that may stand for a letter (see _SUB_*); inside a starred word they are wildcards too.
_SYMBOL_LETTERS = frozenset("@$!|+€£")
# Separators between letters ("п.и.з.д.е.ц", "х-у-й").
_SEP = frozenset('.-_,:;/\\"=?()[]{}<>«»“”„')
_DOTS = frozenset(".")
_INVISIBLE = frozenset("\u00ad\u200b\u200c\u200d\u200e\u200f\u2060\ufeff\u034f")
_FAST = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    "абвгдежзийклмнопрстуфхцчшщъыьэюяАБВГДЕЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯёЁ"
    "!\"#$%&'()*+,-./:;<=>?@[\\]^_{|}~«»"
)
# A lone letter followed by "..." that stands for a censored swear word ("разную х...").
_CENSOR_INITIALS = frozenset({"х", "ху", "бл", "еб"})
# First letters of swear words: a starred word with one real letter must start with one.
_SWEAR_INITIALS = frozenset("хпбесмfsbcdt")
# "3.14здец" is a well-known pun for "пиздец".
_PI = re.compile(r"3[.,]14(?=[а-яё])")
_PLAIN_CYR = re.compile(r"[а-я]+")
_PLAIN_LAT = re.compile(r"[a-z]+")
_CHUNK = re.compile(r"\S+")
_RUN3 = re.compile(r"(.)\1{2,}")
_RUN2 = re.compile(r"(.)\1+")


@dataclass(frozen=True, slots=True)
class Token:
    """One word of the message and the ways it can be read.

    `readings` are lower case with ё read as е; the first is the main reading, in the word's own
    alphabet, with letters stretched three times or more squeezed to one. `translit` is a
    Russian reading of a word typed in Latin letters ("blyat"), "" when there is none.
    `wildcard` is the word with "*" for every hidden letter, "" when nothing is hidden;
    `mat_only` says the hidden letters came from dots, which also abbreviate ordinary words,
    so only swear words may fill them.
    """

    start: int
    end: int
    readings: tuple[str, ...]
    translit: str = ""
    wildcard: str = ""
    mat_only: bool = False
    cyrillic: bool = False

    @property
    def main(self) -> str:
        return self.readings[0] if self.readings else ""


def squeeze(word: str) -> str:
    """Letters repeated three times or more become one ("бляяяя" -> "бля")."""
    return _RUN3.sub(r"\1", word) if len(word) > 2 else word


def _chars(text: str, start: int, end: int) -> tuple[list[str], list[int]]:
    """Lower-cased characters of text[start:end] with their positions in the original."""
    chunk = text[start:end]
    if all(c in _FAST for c in chunk):
        return list(chunk.lower().replace("ё", "е")), list(range(start, end))
    chars: list[str] = []
    where: list[int] = []
    for i, c in enumerate(chunk, start):
        if c in _INVISIBLE or unicodedata.category(c) == "Mn":
            continue
        for ch in unicodedata.normalize("NFKC", c).lower():
            ch = _HOMOGLYPHS.get(ch, ch)
            if ch not in _CYR and ch not in _FAST and not ch.isspace():
                base = "".join(
                    b for b in unicodedata.normalize("NFKD", ch) if unicodedata.category(b) != "Mn"
                )
                ch = base if len(base) == 1 else ch
            if ch.isspace():
                continue
            chars.append(ch)
            where.append(i)
    return chars, where


def _variants(words: list[str]) -> list[str]:
    out: list[str] = []
    for w in words:
        for v in (squeeze(w), w, _RUN2.sub(r"\1", w), w.replace("'", "")):
            if v and v not in out:
                out.append(v)
    return out


def _map(
    chars: list[str], letters: dict[str, str], foreign: dict[str, str], subs: dict[str, str]
) -> str:
    out = []
    for c in chars:
        if c in letters:
            out.append(c)
        elif c in foreign:
            out.append(foreign[c])
        elif c in subs:
            out.append(subs[c])
        elif c in _WILD:
            continue
        elif c.isalpha() or c == "'":
            out.append(c)
    return "".join(out)


_CYR_SELF = {c: c for c in _CYR}
_LAT_SELF = {c: c for c in _LAT}


def _readings(chars: list[str], *, allow_cyr_of_latin: bool) -> tuple[tuple[str, ...], str, bool]:
    """All readings of a word, its transliteration and whether it reads as Cyrillic."""
    n_cyr = sum(1 for c in chars if c in _CYR)
    n_lat = sum(1 for c in chars if c in _LAT)
    if n_cyr == 0 and n_lat == 0:
        return (), "", False
    plain = all(c in _CYR for c in chars) or all(c in _LAT for c in chars)
    if plain:
        word = "".join(chars)
        readings = _variants([word])
        translit = ""
        if n_lat and allow_cyr_of_latin:
            if all(c in _LAT_AMBIG for c in chars):
                readings += _variants([_map(chars, _CYR_SELF, _LAT_TO_CYR_SHAPE, {})])
            translit = _translit(word)
        return tuple(readings), translit, n_cyr > 0
    u_cyr = sum(1 for c in chars if c in _CYR and c not in _CYR_AMBIG)
    u_lat = sum(1 for c in chars if c in _LAT and c not in _LAT_AMBIG)
    cyr_first = n_cyr > 0 and (u_cyr >= u_lat or n_lat == 0)
    cyr: list[str] = []
    lat: list[str] = []
    if n_cyr or allow_cyr_of_latin:
        cyr.append(_map(chars, _CYR_SELF, _LAT_TO_CYR_SHAPE, _SUB_CYR))
        cyr.append(_map(chars, _CYR_SELF, _LAT_TO_CYR_SOUND, _SUB_CYR))
        if any(c in _SUB_CYR_ALT for c in chars):
            cyr.append(_map(chars, _CYR_SELF, _LAT_TO_CYR_SHAPE, _SUB_CYR | _SUB_CYR_ALT))
    if n_lat or not n_cyr:
        lat.append(_map(chars, _LAT_SELF, _CYR_TO_LAT, _SUB_LAT))
        if any(c in _SUB_LAT_ALT for c in chars):
            lat.append(_map(chars, _LAT_SELF, _CYR_TO_LAT, _SUB_LAT | _SUB_LAT_ALT))
    if n_lat and not n_cyr:
        # A Latin word with digits: the Cyrillic readings are only shape look-alikes.
        cyr = cyr[:1] if all(c in _LAT_AMBIG or c in _SUB_CYR for c in chars) else []
    ordered = (cyr + lat) if cyr_first else (lat + cyr)
    translit = ""
    if n_lat and not n_cyr and allow_cyr_of_latin:
        translit = _translit(_map(chars, _LAT_SELF, {}, _SUB_LAT))
    return tuple(_variants(ordered)), translit, cyr_first


_TRANSLIT_PAIRS = (
    ("shch", "щ"), ("sch", "щ"), ("sh", "ш"), ("ch", "ч"), ("zh", "ж"), ("kh", "х"), ("ts", "ц"),
    ("ya", "я"), ("ja", "я"), ("yu", "ю"), ("ju", "ю"), ("yo", "е"), ("jo", "е"), ("ye", "е"),
)  # fmt: skip
_VOWELS_LAT = frozenset("aeiouy")


@lru_cache(maxsize=20_000)
def _translit(word: str) -> str:
    """Russian typed in Latin letters, read back into Cyrillic ("blyat" -> "блят")."""
    out: list[str] = []
    i = 0
    while i < len(word):
        for pair, cyr in _TRANSLIT_PAIRS:
            if word.startswith(pair, i):
                out.append(cyr)
                i += len(pair)
                break
        else:
            c = word[i]
            if c == "y":
                after_vowel = i > 0 and word[i - 1] in _VOWELS_LAT
                out.append("й" if after_vowel or i == len(word) - 1 else "ы")
            elif c in _LAT_TO_CYR_SOUND:
                out.append(_LAT_TO_CYR_SOUND[c])
            i += 1
    return squeeze("".join(out))


def _wildcard(chars: list[str]) -> str:
    """The word with "*" for each hidden letter, or "" when nothing is hidden."""
    if not any(c in _WILD for c in chars):
        return ""
    out = []
    for c in chars:
        if c in _WILD or c in _SYMBOL_LETTERS:
            out.append("*")
        elif c.isalpha() or c.isdigit():
            out.append(c)
    letters = sum(1 for c in out if c != "*")
    if letters == 0 or letters + out.count("*") < 3:
        return ""
    if letters == 1 and out[0] not in _SWEAR_INITIALS:
        return ""
    return "".join(out)


def _script_wildcard(wildcard: str, *, cyrillic: bool) -> str:
    """Letters and digits of a starred word read in one alphabet ("c*ка" -> "с*ка")."""
    table = _LAT_TO_CYR_SHAPE | _SUB_CYR if cyrillic else _CYR_TO_LAT | _SUB_LAT
    return "".join(table.get(c, c) for c in wildcard)


def _is_sep(c: str) -> bool:
    return c in _SEP


def _strip(chars: list[str], where: list[int]) -> tuple[list[str], list[int], int]:
    """Drop punctuation around a word; return how many dots followed it."""
    lo, hi = 0, len(chars)
    while lo < hi and not (chars[lo].isalnum() or chars[lo] in "*#"):
        lo += 1
    dots = 0
    while hi > lo and not (chars[hi - 1].isalnum() or chars[hi - 1] in "*$@#"):
        if chars[hi - 1] == ".":
            dots += 1
        hi -= 1
    return chars[lo:hi], where[lo:hi], dots


def _segments(chars: list[str], where: list[int]) -> list[tuple[list[str], list[int], str]]:
    """Split at separators: (chars, positions, separator that follows)."""
    segs: list[tuple[list[str], list[int], str]] = []
    cur: list[str] = []
    cur_at: list[int] = []
    sep = ""
    for c, i in zip(chars, where, strict=True):
        if _is_sep(c):
            sep += c
            continue
        if sep:
            if cur:
                segs.append((cur, cur_at, sep))
            cur, cur_at, sep = [], [], ""
        cur.append(c)
        cur_at.append(i)
    if cur:
        segs.append((cur, cur_at, sep))
    return segs


def _letter_count(chars: list[str]) -> int:
    return sum(1 for c in chars if c.isalpha())


def _trim_digits(chars: list[str], where: list[int]) -> tuple[list[str], list[int]]:
    """'100мбит' and 'win10' carry numbers, not disguised letters."""
    lo, hi = 0, len(chars)
    while lo < hi and chars[lo].isdigit():
        lo += 1
    if lo < 2:
        lo = 0
    while hi > lo and chars[hi - 1].isdigit():
        hi -= 1
    if len(chars) - hi < 2:
        hi = len(chars)
    return chars[lo:hi], where[lo:hi]


class _Builder:
    def __init__(self, allow_cyr_of_latin: bool) -> None:
        self.allow = allow_cyr_of_latin
        self.tokens: list[Token] = []
        # Chunk number of each token that is a lone letter, for "f u c k".
        self.single: list[int] = []

    def add(
        self,
        chars: list[str],
        where: list[int],
        *,
        chunk: int,
        wildcard: str = "",
        mat_only: bool = False,
    ) -> None:
        if not chars:
            return
        if not wildcard:
            chars, where = _trim_digits(chars, where)
            if not chars:
                return
        readings, translit, cyr = _readings(chars, allow_cyr_of_latin=self.allow)
        if not readings and not wildcard:
            return
        if not readings:
            readings = (wildcard.replace("*", ""),)
        if wildcard:
            wildcard = _script_wildcard(wildcard, cyrillic=cyr)
        token = Token(where[0], where[-1] + 1, readings, translit, wildcard, mat_only, cyr)
        self.tokens.append(token)
        self.single.append(chunk if len(chars) == 1 and _letter_count(chars) <= 1 else -1)


def tokenize(text: str, *, translit: bool = True) -> list[Token]:
    """The tokens of `text` (its first MAX_CHARS characters), in order.

    `translit` allows Russian readings of words typed in Latin letters; pass False for a
    message known to be English.
    """
    text = text[:MAX_CHARS]
    b = _Builder(translit)
    for n, m in enumerate(_CHUNK.finditer(text)):
        chars, where = _chars(text, m.start(), m.end())
        if not chars:
            continue
        joined = "".join(chars)
        if _PLAIN_CYR.fullmatch(joined) or _PLAIN_LAT.fullmatch(joined):
            b.add(chars, where, chunk=n)
            continue
        pi = _PI.search(joined)
        if pi:
            s, e = pi.span()
            chars = [*chars[:s], "п", "и", *chars[e:]]
            where = [*where[:s], where[s], where[e - 1], *where[e:]]
        chars, where, dots = _strip(chars, where)
        if not chars:
            continue
        _chunk(b, chars, where, dots, n)
    _join_spaced_letters(b)
    return b.tokens


def _bangs_between_words(chars: list[str]) -> list[str]:
    """'суки!мрази', 'сука!за', 'урод!8' and 'дура!!!а' are two; 'sh!t', 'bullsh!t' one."""
    if "!" not in chars:
        return chars
    out = list(chars)
    for i, c in enumerate(chars):
        if c != "!":
            continue
        left = right = 0
        while i - left - 1 >= 0 and chars[i - left - 1].isalpha():
            left += 1
        while i + right + 1 < len(chars) and chars[i + right + 1].isalpha():
            right += 1
        doubled = (i > 0 and chars[i - 1] == "!") or (i + 1 < len(chars) and chars[i + 1] == "!")
        after = chars[i + 1] if i + 1 < len(chars) else ""
        if doubled or (left >= 3 and (right >= 2 or (after and not after.isalpha()))):
            out[i] = ","
    return out


def _chunk(b: _Builder, chars: list[str], where: list[int], dots: int, n: int) -> None:
    segs = _segments(_bangs_between_words(chars), where)
    if not segs:
        return
    if len(segs) == 1:
        c, w, _ = segs[0]
        wild = _wildcard(c)
        if not wild and dots >= 2 and "".join(c) in _CENSOR_INITIALS:
            b.add(c, w, chunk=n, wildcard="".join(c) + "*", mat_only=True)
            return
        b.add(c, w, chunk=n, wildcard=wild)
        return
    lengths = [len(s[0]) for s in segs]
    if len(segs) >= 3 and max(lengths) <= 2 and lengths.count(1) >= len(segs) - 1:
        # "п.и.з.д.е.ц", "F.U.C.K", "х-у-й": one word spelt out.
        c = [ch for s in segs for ch in s[0]]
        w = [i for s in segs for i in s[1]]
        b.add(c, w, chunk=-1, wildcard=_wildcard(c))
        return
    if len(segs) == 2 and set(segs[0][2]) <= _DOTS:
        (c1, w1, sep), (c2, w2, _) = segs
        hidden = len(sep)
        short, long_ = sorted((len(c1), len(c2)))
        if short <= 2 and (long_ <= 3 or hidden >= 2) and (long_ <= 2 or c1[0] in _SWEAR_INITIALS):
            # "х.й", "п..да": dots hide letters; "бля...что" is two words.
            wild = "".join(c1) + "*" * hidden + "".join(c2)
            b.add(c1 + c2, w1 + w2, chunk=-1, wildcard=wild, mat_only=True)
            return
    for c, w, _ in segs:
        b.add(c, w, chunk=n, wildcard=_wildcard(c))


def _join_spaced_letters(b: _Builder) -> None:
    """Runs of three or more lone letters in a row ("с у к а") become one token."""
    if sum(1 for s in b.single if s >= 0) < 3:
        return
    out: list[Token] = []
    i = 0
    toks, single = b.tokens, b.single
    while i < len(toks):
        j = i
        while (
            j < len(toks)
            and single[j] >= 0
            and (j == i or single[j] == single[j - 1] + 1)
            and len(toks[j].main) == 1
        ):
            j += 1
        if j - i >= 3:
            word = "".join(t.main for t in toks[i:j])
            readings, translit, cyr = _readings(list(word), allow_cyr_of_latin=b.allow)
            out.append(Token(toks[i].start, toks[j - 1].end, readings, translit, "", False, cyr))
            i = j
        else:
            out.append(toks[i])
            i += 1
    b.tokens = out
