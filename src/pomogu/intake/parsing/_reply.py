"""Split a reply into what the person wrote now and what can be folded (quoted history, signature).

Line-based and linear: every check looks at one line, or a window of at most a few lines, and
the regular expressions have no nested quantifiers, so a hostile body cannot make it backtrack.

The rules, in order:
1. History start. The first of these with something written above it cuts the text; everything
   from it on is folded:
   - an Outlook separator: "-----Original Message-----", "-----Исходное сообщение-----",
     "-----Ursprüngliche Nachricht-----", or a line of underscores directly above a "From:" line;
   - an Outlook header block: "From:"/"От:" followed within six lines by "Sent:"/"Date:"/
     "Отправлено:"/"Дата:" and "To:"/"Subject:"/"Кому:"/"Тема:" (also in *bold* form);
   - an attribution line not followed by ">" lines (Gmail's plain-text rendering of a quote):
     "On … wrote:", "… написал(а):", "… пишет:", or a line with a time and ending "<address>:"
     (Gmail ru «пн, 23 нояб. 2026 г. в 10:15, Иван <ivan@example.ru>:», Yandex, Mail.ru).
     It may be wrapped over up to four lines.
   An attribution followed by ">" lines is the start of a classic quote, handled by rule 2, so
   answers written between quoted lines (inline replies) stay visible.
2. Trailing quote. From the end, blank lines, ">" lines, the attribution just above them and
   signature blocks are folded, until a line the person wrote is reached.
3. Signature. A delimiter line ("-- ", "--", a line of underscores, "-Name") or a mobile footer
   ("Sent from my iPhone", "Отправлено с iPhone", "Отправлено из мобильной Почты Mail.ru") with at
   most 12 lines below it before the history or the end is folded.
   A closing such as «С уважением, Иван» or "Best regards" is *not* a delimiter: it is part of
   what the person wrote (a whole message ending with it must not be folded), so it stays.
4. Never everything. If nothing the person wrote would remain visible, nothing is folded.
"""

from __future__ import annotations

import re

_MAX_HEADER_LINE = 400
_MAX_SIGNATURE_LINES = 12
_MAX_SCAN = 20_000  # lines searched for the start of history
MAX_SPLIT = 2_000_000  # longer texts are not split at all

_SEPARATOR_RE = re.compile(
    r"\s*-{2,}\s*(?:original message|исходное сообщение|пересылаемое сообщение"
    r"|ursprüngliche nachricht|message d'origine|mensaje original)\s*-{2,}\s*",
    re.IGNORECASE,
)
_UNDERSCORES_RE = re.compile(r"\s*_{5,}\s*")
_DASH_RULE_RE = re.compile(r"\s*[-_=—]{3,}\s*")
_FROM_RE = re.compile(r"\s*\*?(?:from|от|von|de)\*?\s?:\*?\s*\S", re.IGNORECASE)
_SENT_RE = re.compile(r"\s*\*?(?:sent|date|отправлено|дата|gesendet|envoyé)\*?\s?:", re.IGNORECASE)
_TO_RE = re.compile(r"\s*\*?(?:to|subject|кому|тема|an|betreff|à|objet)\*?\s?:", re.IGNORECASE)
_TIME_RE = re.compile(r"\d{1,2}:\d{2}")
_DIGIT_RE = re.compile(r"\d")
_WROTE_END_RE = re.compile(
    r"(?:wrote|написал|написала|написал\(а\)|пишет|schrieb|a écrit|escribió)\s*:\s*$",
    re.IGNORECASE,
)
_ON_START_RE = re.compile(r"(?:on|am|le|el)\s", re.IGNORECASE)
_SIG_DELIMITER_RE = re.compile(r"(?:--|__+|-\w[^\n]{0,38})\s*")
_MOBILE_RE = re.compile(
    r"(?:sent from my [\w ]{1,40}|sent from (?:mail|outlook|yahoo mail) for [\w ]{1,30}"
    r"|get outlook for [\w ]{1,30}|отправлено с (?:моего )?[\w ]{1,40}"
    r"|отправлено из [\w .]{1,60})\s*",
    re.IGNORECASE,
)


def _quoted(line: str) -> bool:
    return line.lstrip().startswith(">")


def _blank(line: str) -> bool:
    return not line.strip()


def _written(line: str) -> bool:
    """A line the person wrote: not blank, not quoted, not a separator."""
    return not (
        _blank(line)
        or _quoted(line)
        or _DASH_RULE_RE.fullmatch(line)
        or (len(line) < _MAX_HEADER_LINE and _SEPARATOR_RE.fullmatch(line))
    )


def _attribution_end(lines: list[str], start: int) -> int:
    """If an attribution starts at `start`, the index of its last line; else -1."""
    first = lines[start].strip()
    if not first or first.startswith(">") or len(first) > _MAX_HEADER_LINE:
        return -1
    if not _ON_START_RE.match(first) and not _DIGIT_RE.search(first):
        return -1  # an attribution opens with "On …" or a date
    joined = ""
    for end in range(start, min(start + 4, len(lines))):
        line = lines[end].strip()
        if not line or len(line) > _MAX_HEADER_LINE or line.startswith(">"):
            return -1
        joined = f"{joined} {line}" if joined else line
        if not joined.endswith(":"):
            continue
        if _ON_START_RE.match(joined) and _WROTE_END_RE.search(joined[-30:]):
            return end
        if _WROTE_END_RE.search(joined[-30:]) and (_TIME_RE.search(joined) or "@" in joined):
            return end
        if _TIME_RE.search(joined) and "@" in joined and joined.rstrip(" :").endswith(">"):
            return end
        return -1
    return -1


def _outlook_block(lines: list[str], start: int) -> bool:
    if len(lines[start]) > _MAX_HEADER_LINE or not _FROM_RE.match(lines[start]):
        return False
    window = lines[start + 1 : start + 7]
    return any(_SENT_RE.match(line) for line in window) and any(
        _TO_RE.match(line) for line in window
    )


def _history_start(lines: list[str]) -> int:
    """The index where the quoted history begins, or len(lines)."""
    seen_text = False
    colon = [line.rstrip().endswith(":") for line in lines[: _MAX_SCAN + 4]]
    for index, line in enumerate(lines[:_MAX_SCAN]):
        if not seen_text:
            seen_text = not _blank(line) and not _quoted(line)
            if not seen_text:
                continue
            if index == 0 or all(_blank(x) for x in lines[:index]):
                continue  # the first thing written can't be the start of history
        if len(line) > _MAX_HEADER_LINE:
            continue
        if _SEPARATOR_RE.fullmatch(line):
            return index
        if (
            _UNDERSCORES_RE.fullmatch(line)
            and index + 1 < len(lines)
            and _FROM_RE.match(lines[index + 1])
        ):
            return index
        if _outlook_block(lines, index):
            return index
        end = _attribution_end(lines, index) if any(colon[index : index + 4]) else -1
        if end >= 0:
            after = next((x for x in lines[end + 1 : end + 200] if not _blank(x)), "")
            if not _quoted(after):
                # the nearest line that still opens the same attribution
                return next(
                    (s for s in range(end, index, -1) if _attribution_end(lines, s) == end),
                    index,
                )
    return len(lines)


def _signature_start(lines: list[str], stop: int) -> int:
    """The delimiter of a signature block ending at `stop`, or -1."""
    lowest = max(0, stop - _MAX_SIGNATURE_LINES - 1)
    for index in range(stop - 1, lowest - 1, -1):
        line = lines[index]
        if _quoted(line):
            return -1
        stripped = line.rstrip()
        if len(stripped) > 60:
            continue
        if _SIG_DELIMITER_RE.fullmatch(stripped):
            if stripped.startswith("-") and not stripped.startswith("--"):
                # "-Name": only as the last thing written, after a blank line
                below = lines[index + 1 : stop]
                if any(not _blank(x) for x in below) or index == 0 or not _blank(lines[index - 1]):
                    continue
            return index
        if _MOBILE_RE.fullmatch(stripped.strip()):
            return index
    return -1


def _fold_tail(lines: list[str], stop: int) -> int:
    """Walk back from `stop` over quoted lines, attributions, signatures and blank lines."""
    while stop > 0:
        index = stop
        while index > 0 and _blank(lines[index - 1]):
            index -= 1
        if index == 0:
            return 0
        if _quoted(lines[index - 1]):
            while index > 0 and (_quoted(lines[index - 1]) or _blank(lines[index - 1])):
                index -= 1
            # an attribution right above the quote belongs to it
            for start in range(index - 1, max(-1, index - 5), -1):
                if _attribution_end(lines, start) == index - 1:
                    index = start
                    break
            stop = index
            continue
        signature = _signature_start(lines, index)
        if signature >= 0:
            stop = signature
            continue
        return index
    return stop


def split_reply(text: str) -> tuple[str, str]:
    """(visible, folded): folded is the quoted history and signature, "" when there is none."""
    if len(text) > MAX_SPLIT or not text.strip():
        return text, ""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cut = _fold_tail(lines, _history_start(lines))
    # separator lines left dangling at the end of the visible part go with the history
    while cut > 0 and (_blank(lines[cut - 1]) or _DASH_RULE_RE.fullmatch(lines[cut - 1])):
        cut -= 1
    visible_lines = lines[:cut]
    if cut >= len(lines) or not any(_written(x) for x in visible_lines):
        return text, ""
    folded = "\n".join(lines[cut:]).strip("\n")
    if not folded.strip():
        return text, ""
    while visible_lines and _blank(visible_lines[0]):
        visible_lines.pop(0)
    return "\n".join(visible_lines).rstrip(), folded
