"""Addresses and Message-IDs, parsed strictly (SEC-3, CVE-2023-27043).

This interpreter's `email.utils.getaddresses` has no `strict=` switch, so the checks CPython added
for CVE-2023-27043 are applied here around it, on every interpreter alike: a value with unbalanced
parentheses is refused whole, a result that still contains "[" is refused, and the number of
addresses must match the number of commas outside quoted names. Each address must then be a plain
addr-spec that is written, character for character, in the header: the stdlib joins pieces
around comments and spaces (``a(x)@b.c`` gives ``a@b.c``), and an identity nobody wrote is not
one. Recipient lists are checked one element at a time, so one element never yields two
addresses (``alice@example.org <bob@example.com>`` yields none, not both).
"""

from __future__ import annotations

import re
from email.utils import getaddresses

from pomogu.intake.parsing._text import decode_words, one_line, recover_header

# local@domain; \w admits non-ASCII letters (EAI, IDN domains as Unicode); no nested quantifiers.
_ADDR_RE = re.compile(r"[\w!#$%&'*+/=?^`{|}~.-]{1,64}@[\w.-]{1,253}")
_DOMAIN_LABEL_RE = re.compile(r"[\w-]{1,63}")
_QUOTED_RE = re.compile(r'"(?:[^"\\]|\\.)*"')
_MSGID_RE = re.compile(r"<([^<>]{1,995})>")
_WSP_RE = re.compile(r"\s+")
_MSGID_CHARS_RE = re.compile(r"[!-~\u0080-\U0010ffff]{1,995}")


def _balanced(value: str) -> bool:
    """Parentheses balance outside quoted strings, honouring backslash escapes."""
    depth = 0
    escaped = False
    quoted = False
    for char in value:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"' and depth == 0:
            quoted = not quoted
        elif quoted:
            continue
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0 and not quoted


def valid_addr_spec(address: str) -> str:
    """The addr-spec with its domain lower-cased, or "" if it is not a plain local@domain."""
    if not _ADDR_RE.fullmatch(address):
        return ""
    local, _, domain = address.rpartition("@")
    if local.startswith(".") or local.endswith(".") or "@" in local:
        return ""
    labels = domain.split(".")
    if len(labels) < 2 or not all(
        _DOMAIN_LABEL_RE.fullmatch(label) and not label.startswith("-") and not label.endswith("-")
        for label in labels
    ):
        return ""
    return f"{local}@{domain.lower()}"


def parse_addresses(values: list[str], *, strict: bool) -> list[tuple[str, str]]:
    """(display name, addr-spec) pairs from raw header values; invalid entries are left out.

    strict=True (From, Sender, Reply-To): any doubt refuses the whole header, so an ambiguous
    sender gives no address rather than the wrong one. strict=False (To, Cc): each element of
    the list (between top-level commas, group syntax removed) is parsed strictly on its own; a
    doubtful element is refused, the others kept.
    """
    texts = [recover_header(value) for value in values]
    if strict:
        return _strict(texts) or []
    result = []
    for text in texts:
        if not _balanced(text):
            continue  # where an element ends cannot be known: the whole value is refused
        for element in _elements(text):
            result.extend(_strict([element]) or [])
    return result


def _strict(texts: list[str]) -> list[tuple[str, str]] | None:
    """The pairs, or None when anything about the values is doubtful."""
    if not all(_balanced(text) for text in texts):
        return None
    try:
        pairs = getaddresses(texts)
    except Exception:  # the stdlib address parser has had crashers; none may escape
        return None
    expected = sum(1 + _QUOTED_RE.sub("", text).count(",") for text in texts)
    if len(pairs) != expected:
        return None
    result = []
    for name, address in pairs:
        if "[" in address or (address and not any(address in text for text in texts)):
            return None
        spec = valid_addr_spec(address)
        if spec:
            result.append((one_line(decode_words(name)), spec))
    return result


def _elements(text: str) -> list[str]:
    """The members of an address list, split at commas and semicolons outside quotes, comments
    and angle brackets; a group's "name:" prefix is dropped. ``text`` is balanced."""
    elements: list[str] = []
    current: list[str] = []
    depth = 0
    angle = quoted = escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif quoted:
            quoted = char != '"'
        elif char == '"' and depth == 0:
            quoted = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif depth:
            pass
        elif char == "<":
            angle = True
        elif char == ">":
            angle = False
        elif not angle and char in ",;":
            elements.append("".join(current))
            current = []
            continue
        elif not angle and char == ":" and "@" not in current:
            current = []  # "Team: a@b.c, ...": the group's name is not an address
            continue
        current.append(char)
    elements.append("".join(current))
    return [element for element in elements if element.strip()]


def count_at_signs(values: list[str]) -> int:
    return sum(value.count("@") for value in values)


def normalise_id(token: str) -> str:
    """ "<local@domain>" with whitespace removed, or "" when it is not a usable Message-ID."""
    token = _WSP_RE.sub("", token)
    if token.startswith("<") and token.endswith(">"):
        token = token[1:-1]
    if "<" in token or ">" in token or not _MSGID_CHARS_RE.fullmatch(token):
        return ""
    local, at, domain = token.rpartition("@")
    if not at or not local or not domain:
        return ""
    return f"<{token}>"


def message_ids(value: str) -> list[str]:
    """Every Message-ID in a header value (References, In-Reply-To), in order, without repeats."""
    text = _WSP_RE.sub("", recover_header(value))
    found = [normalise_id(match) for match in _MSGID_RE.findall(text)]
    if not found and "<" not in text and text:
        found = [normalise_id(text)]
    seen: set[str] = set()
    result = []
    for item in found:
        if item and item not in seen:
            seen.add(item)
            result.append(item)
    return result


def first_message_id(value: str) -> str:
    ids = message_ids(value)
    return ids[0] if ids else ""
