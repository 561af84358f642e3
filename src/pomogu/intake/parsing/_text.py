"""Bytes to text: charsets (declared, mislabelled, missing), RFC 2047 words, one-line cleaning.

Every function here is total: it returns a string for any input and never raises. The rule is
"never lose text": the declared charset is used when it decodes cleanly and the result does not
look like mojibake; otherwise the usual Russian and Western charsets are tried and scored; then
charset-normalizer gets a go; and as the last resort the bytes are decoded with replacement
characters.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re

from charset_normalizer import from_bytes

# Labels seen in real mail that Python's codec registry does not know, or knows by another name.
_ALIASES = {
    "win-1251": "cp1251",
    "win1251": "cp1251",
    "x-cp1251": "cp1251",
    "windows-1251r": "cp1251",
    "koi8r": "koi8_r",
    "koi8": "koi8_r",
    "x-koi8-r": "koi8_r",
    "x-mac-cyrillic": "mac_cyrillic",
    "x-user-defined": "cp1252",
    "iso-8859-8-i": "iso8859_8",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "ks_c_5601-1987": "cp949",
    "unknown-8bit": "",
    "x-unknown": "",
    "unknown": "",
    "default": "",
    "us-ascii": "ascii",
    "ansi_x3.4-1968": "ascii",
    "ansi-x3.4-1968": "ascii",
}
# Codecs Python has that are not charsets a mail part can be written in.
_NOT_CHARSETS = frozenset(
    {"unicode_escape", "raw_unicode_escape", "idna", "punycode", "undefined", "mbcs", "oem"}
)
_LABEL_RE = re.compile(r"[a-z0-9_.:+-]{1,40}")
# Single-byte tables where Russian mail is at home, tried when the label is missing or wrong.
_CANDIDATES = ("cp1251", "koi8_r", "iso8859_5", "cp866", "mac_cyrillic", "cp1252")
_LATIN_FAMILY = frozenset({"latin_1", "iso8859_15", "cp1252", "ascii", "iso8859_2", "cp1250"})

_CYR_LOWER = "абвгдеёжзийклмнопрстуфхцчшщъыьэюя"
_CYR_UPPER = _CYR_LOWER.upper()
# Signs of a wrong table: a capital after a small letter inside a Cyrillic word (koi8-r read as
# cp1251 and back), C1 controls and replacement characters, box drawing (cp866 read wrongly),
# Latin and Cyrillic letters glued together, runs of three accented Latin letters (cp1251 read
# as latin-1: German "üß" is two),
# half-width katakana and CJK (Cyrillic bytes read as Shift-JIS/GBK).
_CASE_FLIP_RE = re.compile(f"[{_CYR_LOWER}][{_CYR_UPPER}]")
_JUNK_RE = re.compile("[\x80-\x9f\ufffd\u2500-\u25ff\uff61-\uff9f\u3000-\u9fff\ue000-\uf8ff]")
_MIXED_RE = re.compile(f"[A-Za-z][{_CYR_LOWER}{_CYR_UPPER}]|[{_CYR_LOWER}{_CYR_UPPER}][A-Za-z]")
_LATIN_RUN_RE = re.compile("[\u00c0-\u00ff]{3}")
_CYR_LETTER_RE = re.compile(f"[{_CYR_LOWER}]")
_SAMPLE = 16 * 1024


def codec_for(label: str | None) -> str | None:
    """The Python codec for a charset label; None if it is missing, unknown or not a charset."""
    if not label:
        return None
    name = label.strip().strip("\"'").strip().lower()
    if "*" in name:  # RFC 2231 language suffix: utf-8*ru
        name = name.split("*", 1)[0]
    if name in _ALIASES:
        return _ALIASES[name] or None
    if not _LABEL_RE.fullmatch(name):
        return None
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        return None
    if info.name in _NOT_CHARSETS or not getattr(info, "_is_text_encoding", True):
        return None
    return info.name


def _badness(text: str) -> int:
    return (
        2 * len(_CASE_FLIP_RE.findall(text))
        + 2 * len(_JUNK_RE.findall(text))
        + len(_MIXED_RE.findall(text))
        + len(_LATIN_RUN_RE.findall(text))
    )


def _suspicious(text: str) -> bool:
    text = text[:_SAMPLE]
    non_ascii = len(text) - len(text.encode("ascii", "ignore"))
    if non_ascii < 3:
        return bool(_JUNK_RE.search(text))
    return _badness(text) * 8 > non_ascii


def _single_byte(codec: str) -> bool:
    return codec == "ascii" or codec.startswith(
        ("cp125", "iso8859", "koi8", "latin", "mac_", "cp866", "cp437", "cp850")
    )


def _strict(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError, ValueError):
        return None


def _sample(data: bytes) -> bytes:
    first = next((i for i, byte in enumerate(data[:_SAMPLE]) if byte > 0x7F), 0)
    start = max(0, first - 256)
    return data[start : start + _SAMPLE]


def _best_guess(data: bytes, declared: str | None) -> str | None:
    """Score the usual tables on a sample; charset-normalizer when none of them reads well."""
    sample = _sample(data)
    order = ([declared] if declared else []) + [c for c in _CANDIDATES if c != declared]
    best: tuple[int, int, int] | None = None
    choice = None
    for rank, codec in enumerate(order):
        text = _strict(sample, codec)
        if text is None:
            continue
        key = (_badness(text), -len(_CYR_LETTER_RE.findall(text)), rank)
        if best is None or key < best:
            best, choice = key, codec
    if choice is not None and best is not None and not _suspicious(_strict(sample, choice) or ""):
        return choice
    try:
        match = from_bytes(sample).best()
    except Exception:  # a detector failure must never cost the text
        match = None
    if match is not None and match.encoding:
        return codec_for(match.encoding) or choice
    return choice


def decode_bytes(data: bytes, label: str | None = None) -> str:
    """Text of `data` in its declared charset, or the charset it really is in."""
    if not data:
        return ""
    declared = codec_for(label)
    if data.isascii() and (declared is None or declared in _LATIN_FAMILY or declared == "utf_8"):
        return data.decode("ascii")
    utf8 = _strict(data, "utf-8")
    if utf8 is not None and (declared is None or _single_byte(declared)):
        return utf8  # valid UTF-8 with 8-bit bytes is next to impossible by accident
    if declared is not None:
        text = _strict(data, declared)
        if text is not None and not _suspicious(text):
            return text
    if utf8 is not None:
        return utf8
    lossy = data.decode("utf-8", "replace")
    broken = lossy.count("\ufffd")
    good = len(lossy) - len(lossy.encode("ascii", "ignore")) - broken
    if good >= 3 and broken <= max(1, good // 10):
        return lossy  # UTF-8 with a few damaged bytes (cut QP, a bad mailer): keep it UTF-8
    guess = _best_guess(data, declared if declared and _strict(data, declared) else None)
    if guess is not None:
        try:
            return data.decode(guess, "replace")
        except (LookupError, ValueError):
            pass
    try:
        return data.decode(declared or "utf-8", "replace")
    except (LookupError, ValueError):
        return data.decode("utf-8", "replace")


def recover_header(value: str) -> str:
    """A header value as the parser stored it (8-bit bytes as surrogates) turned into real text."""
    if value.isascii():
        return value
    try:
        raw = value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return value.encode("utf-8", "replace").decode("utf-8")
    return decode_bytes(raw)


# --- RFC 2047 -------------------------------------------------------------------------------

_EW_RE = re.compile(r"=\?([^?\s]{1,80})\?([bBqQ])\?([^?]*)\?=")
_FOLD_RE = re.compile(r"\r?\n(?=[ \t])|\r(?=[ \t])")
_QHEX_RE = re.compile(rb"=([0-9A-Fa-f]{2})")
_WS_ONLY_RE = re.compile(r"[ \t\r\n]*")
_NOT_BASE64_RE = re.compile(r"[^A-Za-z0-9+/=\s]")


def _q_decode(text: str) -> bytes:
    raw = text.replace("_", " ").encode("latin-1", "replace")
    return _QHEX_RE.sub(lambda m: bytes([int(m.group(1), 16)]), raw)


def _b_decode(text: str) -> bytes | None:
    if _NOT_BASE64_RE.search(text):
        return None
    cleaned = re.sub(r"[^A-Za-z0-9+/]", "", text)
    cleaned = cleaned[: len(cleaned) - len(cleaned) % 4] if len(cleaned) % 4 == 1 else cleaned
    cleaned += "=" * (-len(cleaned) % 4)
    try:
        return base64.b64decode(cleaned)
    except (binascii.Error, ValueError):
        return None


def decode_words(value: str) -> str:
    """Decode RFC 2047 encoded-words in an unfolded header value; broken ones stay as written.

    Adjacent words in one charset are joined before decoding, so a character split across two
    words (common with Russian mailers) survives. Whitespace between encoded-words is dropped.
    """
    value = recover_header(_FOLD_RE.sub("", value))
    if "=?" not in value:
        return value
    out: list[str] = []
    pending: list[bytes] = []
    pending_codec: str | None = None
    pending_label = ""
    position = 0

    def flush() -> None:
        nonlocal pending, pending_codec, pending_label
        if pending:
            out.append(decode_bytes(b"".join(pending), pending_codec or pending_label or None))
        pending, pending_codec, pending_label = [], None, ""

    for match in _EW_RE.finditer(value):
        between = value[position : match.start()]
        label, kind, payload = match.group(1), match.group(2).lower(), match.group(3)
        data = _q_decode(payload) if kind == "q" else _b_decode(payload)
        if data is None:
            flush()
            out.append(between + match.group(0))
            position = match.end()
            continue
        codec = codec_for(label)
        adjacent = bool(pending) and _WS_ONLY_RE.fullmatch(between) is not None
        if not adjacent or codec != pending_codec or label != pending_label:
            flush()
            out.append(between)
        pending.append(data)
        pending_codec, pending_label = codec, label
        position = match.end()
    flush()
    out.append(value[position:])
    return "".join(out)


# --- cleaning ---------------------------------------------------------------------------------

# Everything that can end or break a line, and other control and format characters that have no
# place in a one-line value (bidi overrides included: they disguise names and subjects).
_LINE_BREAKS_RE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")
_SPACES_RE = re.compile(r"\s+")
_SURROGATES_RE = re.compile("[\ud800-\udfff]")


def clean(text: str) -> str:
    """Safe to store anywhere: no NUL, no lone surrogates (they cannot be encoded as UTF-8)."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    if _SURROGATES_RE.search(text):
        text = _SURROGATES_RE.sub("\ufffd", text)
    return text


def one_line(text: str) -> str:
    """A header value for display: a single line, control characters gone, spaces collapsed."""
    text = _LINE_BREAKS_RE.sub(" ", clean(text))
    return _SPACES_RE.sub(" ", text).strip()


def body_text(text: str) -> str:
    """Body text with \\n line ends and no NUL or surrogates."""
    text = clean(text)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text
