"""parse(): raw RFC 5322 bytes to a ParsedMail, within limits, raising only ParseError.

Nothing here touches the database or Django. Headers are read raw (`raw_items`) and decoded here,
so no header can steer anything through the stdlib's lazy header objects; `X-Pomogu-*` headers
are never read at all (IN-9). Line ends need no normalising for the stdlib parser: it already
splits header and body lines on CRLF, bare LF and bare CR alike, so a bare LF inside a header
line starts a new header for everyone downstream too (the raw bytes are what is stored).
"""

from __future__ import annotations

import contextvars
import email
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email._policybase import Compat32
from email.feedparser import BytesFeedParser
from email.message import Message
from email.utils import collapse_rfc2231_value, decode_params, parsedate_to_datetime
from typing import Any

from pomogu.intake.parsing._addresses import (
    count_at_signs,
    first_message_id,
    message_ids,
    parse_addresses,
)
from pomogu.intake.parsing._html import html_to_text, sanitize_html
from pomogu.intake.parsing._names import safe_filename
from pomogu.intake.parsing._reply import split_reply
from pomogu.intake.parsing._text import body_text, clean, decode_bytes, decode_words, one_line

FORWARD_LINE = "---------- Forwarded message ----------"


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 25 * 1024 * 1024
    max_parts: int = 200
    max_depth: int = 12
    max_headers: int = 1000
    max_addresses: int = 500
    max_attachment_bytes: int = 20 * 1024 * 1024


DEFAULT_LIMITS = Limits()


class ParseError(Exception):
    """The message cannot be turned into a ParsedMail; `code` says why, `detail` for a person."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(code, detail)
        self.code = code
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"


@dataclass
class ParsedAttachment:
    filename: str
    content_type: str
    content: bytes
    inline: bool
    content_id: str


@dataclass
class ParsedMail:
    message_id: str
    in_reply_to: list[str]
    references: list[str]
    subject: str
    from_address: str
    from_name: str
    reply_to: str
    to: list[str]
    cc: list[str]
    date: datetime | None
    text: str
    visible_text: str
    html: str
    attachments: list[ParsedAttachment]
    auto: str
    bounce: bool
    bounced_message_ids: list[str]
    bounce_permanent: bool
    language_hint: str


# --- bounded parsing -------------------------------------------------------------------------

# The stdlib parser is not built for hostile input: its cost grows with lines x nesting depth, the
# structured headers of policy.default are superlinear on long Content-* headers (measured on this
# interpreter: 36 ms per part for a 4 KB Content-Type, 10 s for one message), and compat32's
# parameter splitter is quadratic in semicolons inside quotes. So the structure is parsed with the
# compat32 policy (raw header strings: nothing here uses header objects), parameters are split by a
# linear tokenizer, and the limits are enforced while the parser runs, not after: a message factory
# counts parts and depth as they are created, and the policy counts header lines per part and
# refuses over-long Content-* headers.
MAX_LINES = 1_000_000
MAX_CONTENT_HEADER = 8192


class _Budget:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.parts = 0
        self.headers = 0
        self.parser: BytesFeedParser | None = None

    def new_part(self) -> None:
        self.parts += 1
        self.headers = 0
        if self.parts > self.limits.max_parts:
            raise ParseError(
                "over_limit_parts", f"The message has more than {self.limits.max_parts} parts."
            )
        depth = len(getattr(self.parser, "_msgstack", ()))
        if depth > self.limits.max_depth:
            raise ParseError(
                "over_limit_depth",
                f"The message nests parts more than {self.limits.max_depth} levels deep.",
            )

    def header(self, lines: list[str]) -> None:
        self.headers += 1
        if self.headers > self.limits.max_headers:
            raise ParseError(
                "over_limit_headers",
                f"A part of the message has more than {self.limits.max_headers} header lines.",
            )
        if (
            lines
            and lines[0][:8].lower() == "content-"
            and sum(map(len, lines)) > (MAX_CONTENT_HEADER)
        ):
            raise ParseError(
                "over_limit_headers",
                f"A Content-* header is longer than {MAX_CONTENT_HEADER} characters.",
            )


_BUDGET: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar(
    "pomogu_parse_budget", default=None
)


class _GuardedPolicy(Compat32):
    def header_source_parse(self, sourcelines: list[str]) -> tuple[str, str]:
        budget = _BUDGET.get()
        if budget is not None:
            budget.header(sourcelines)
        return super().header_source_parse(sourcelines)


_POLICY = _GuardedPolicy()
_PARAM_TOKEN_RE = re.compile(r'"(?:[^"\\]|\\.)*"?|[^;"]+|;')


def _split_params(value: str) -> list[str]:
    """email.message._parseparam's result, in linear time."""
    pieces: list[str] = []
    current: list[str] = []
    for chunk in _PARAM_TOKEN_RE.findall(value):
        if chunk == ";":
            pieces.append("".join(current))
            current = []
        else:
            current.append(chunk)
    pieces.append("".join(current))
    result = []
    for piece in pieces:
        name, equals, rest = piece.partition("=")
        text = f"{name.strip().lower()}={rest.strip()}" if equals else piece
        if text.strip():
            result.append(text.strip())
    return result


class _Part(Message):
    """A compat32 message whose parameter parsing is linear and reads the raw header value."""

    def _get_params_preserve(self, failobj: Any, header: str) -> Any:
        wanted = header.lower()
        value = next((str(v) for n, v in self.raw_items() if n.lower() == wanted), None)
        if value is None:
            return failobj
        params = []
        for piece in _split_params(value):
            name, equals, rest = piece.partition("=")
            params.append((name.strip(), rest.strip()) if equals else (piece.strip(), ""))
        return decode_params(params)


def _message_from_bytes(raw: bytes, limits: Limits) -> Message:
    if max(raw.count(b"\n"), raw.count(b"\r")) > MAX_LINES:
        raise ParseError("over_limit_size", f"The message has more than {MAX_LINES} lines.")
    budget = _Budget(limits)

    def factory(policy: Compat32 = _POLICY) -> Message:
        budget.new_part()
        return _Part(policy=policy)

    token = _BUDGET.set(budget)
    try:
        parser = BytesFeedParser(_factory=factory, policy=_POLICY)
        budget.parser, budget.parts = parser, 0  # the constructor's probe call is not a part
        parser.feed(raw)
        return parser.close()
    finally:
        _BUDGET.reset(token)


# --- headers ---------------------------------------------------------------------------------


class _Headers:
    """A part's raw header values by lower-case name, in order; values are never parsed here."""

    def __init__(self, part: Message) -> None:
        self.values: dict[str, list[str]] = {}
        for name, value in part.raw_items():
            self.values.setdefault(str(name).strip().lower(), []).append(str(value))

    def all(self, name: str) -> list[str]:
        return self.values.get(name, [])

    def first(self, name: str) -> str:
        found = self.values.get(name)
        return found[0] if found else ""

    def has(self, name: str) -> bool:
        return name in self.values

    def text(self, name: str) -> str:
        """The first value, RFC 2047-decoded, as one clean line."""
        return one_line(decode_words(self.first(name)))


_TYPE_RE = re.compile(r"[a-z0-9!#$&^_.+-]{1,64}/[a-z0-9!#$&^_.+-]{1,64}")


def _content_type(part: Message) -> str:
    declared = part.get_content_type().strip().lower()
    return declared if _TYPE_RE.fullmatch(declared) else "application/octet-stream"


def _param(part: Message, name: str, header: str = "content-type") -> str:
    value = part.get_param(name, header=header)
    if isinstance(value, tuple):
        value = collapse_rfc2231_value(value)
    return str(value) if value else ""


def _date(value: str) -> datetime | None:
    if not value.strip():
        return None
    try:
        parsed = parsedate_to_datetime(value[:300])
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# --- machine mail (RFC 3834 and practice) ----------------------------------------------------

_AUTO_SUBJECT_RE = re.compile(
    r"(?:automatic reply|auto(?:matic)?[- ]?(?:reply|response)|autoreply|autoresponse"
    r"|out of (?:the )?office(?: auto-?reply| reply| notification)?"
    r"|автоответ|автоматический ответ|abwesenheitsnotiz|réponse automatique)\s*(?::|$)"
    r"|(?:out of (?:the )?office|вне офиса|я в отпуске|нет на месте)"
    r"\s*(?:$|[:(]|until\b|till\b|до\b|с\s\d)",
    re.IGNORECASE,
)
_BOUNCE_SUBJECT_RE = re.compile(
    r"undeliver|delivery (?:status|failure|failed|has failed|notification|problem)"
    r"|returned mail|failure notice|mail delivery failed|could not be delivered|non-delivery"
    r"|не доставлен|недоставлен|ошибка доставки|возврат",
    re.IGNORECASE,
)
_DELAY_RE = re.compile(r"delay|will retry|задерж|отложен", re.IGNORECASE)
_STATUS_RE = re.compile(r"\b([245])\.\d{1,3}\.\d{1,3}\b")
_QUOTED_ID_RE = re.compile(r"^[ \t>]*message-id:[ \t]*(<[^<>\s]{1,500}>)", re.IGNORECASE | re.M)
_DAEMON_NAME_RE = re.compile(r"mail delivery|mailer[- ]daemon", re.IGNORECASE)
_SEE_HTML_RE = re.compile(
    r"html|view (?:this|the|it) (?:e-?mail|message)|веб-верси|браузер|просмотр", re.IGNORECASE
)
_LATIN_RE = re.compile(r"[A-Za-z\u00c0-\u024f]")
_CYRILLIC_RE = re.compile(r"[\u0400-\u04ff]")


def _auto_reason(headers: _Headers, subject: str, report: bool) -> str:
    if report:
        return "delivery-report"
    submitted = headers.first("auto-submitted").split(";", 1)[0].strip().lower()
    if headers.has("auto-submitted") and submitted != "no":
        return "auto-submitted"
    if any(value.strip() in {"<>", "< >", ""} for value in headers.all("return-path")):
        return "null-return-path"
    for name in ("x-autoreply", "x-autorespond"):
        values = [value.strip().lower() for value in headers.all(name)]
        if values and any(value not in {"no", "false", "0"} for value in values):
            return name
    precedence = headers.first("precedence").strip().lower()
    if precedence in {"bulk", "list", "junk"}:
        return f"precedence-{precedence}"
    if any(headers.has(name) for name in ("list-id", "list-unsubscribe", "list-post")):
        return "list-mail"
    suppress = {
        token.strip().lower()
        for value in headers.all("x-auto-response-suppress")
        for token in value.split(",")
    }
    if suppress & {"oof", "autoreply", "all"}:
        return "ms-auto-response-suppress"
    if _AUTO_SUBJECT_RE.match(subject):
        return "auto-reply-subject"
    return ""


def _language(text: str) -> str:
    sample = text[:20000]
    cyrillic = len(_CYRILLIC_RE.findall(sample))
    latin = len(_LATIN_RE.findall(sample))
    if cyrillic + latin < 3:
        return ""
    if cyrillic >= 0.5 * (cyrillic + latin):
        return "ru"
    if latin >= 0.8 * (cyrillic + latin):
        return "en"
    return ""


# --- the walk --------------------------------------------------------------------------------


@dataclass
class _Body:
    """The text found for one message: the top one, or one forwarded inside it."""

    heading: str = ""
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    inline_text: list[str] = field(default_factory=list)  # named text/plain parts shown inline

    def text(self) -> str:
        plain = "\n\n".join(text.strip("\n") for text in self.plain if text.strip())
        if self.html and (not plain.strip() or _just_see_html(plain)):
            return html_to_text("\n".join(self.html))
        if not plain.strip():
            return "\n\n".join(text.strip("\n") for text in self.inline_text if text.strip())
        return plain


def _just_see_html(plain: str) -> bool:
    stripped = plain.strip()
    return len(stripped) < 300 and bool(_SEE_HTML_RE.search(stripped))


@dataclass
class _Report:
    report_type: str = ""
    delivery_status: bool = False
    statuses: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)


def _forward_heading(headers: _Headers) -> str:
    lines = [FORWARD_LINE]
    for label, name in (("From", "from"), ("Date", "date"), ("Subject", "subject"), ("To", "to")):
        value = headers.text(name)
        if value:
            lines.append(f"{label}: {value[:1000]}")
    return "\n".join(lines)


def _children(part: Message) -> list[Message] | None:
    """The sub-parts of a container, or None for a leaf.

    Never get_payload() on a leaf: with 8-bit content compat32 decodes it with the declared
    charset there, and a hostile charset parameter can make that raise.
    """
    if not part.is_multipart():
        return None
    payload = part.get_payload()
    return (
        [child for child in payload if isinstance(child, Message)]
        if isinstance(payload, list)
        else None
    )


def _check_headers(part: Message, limits: Limits) -> None:
    if len(part.keys()) > limits.max_headers:
        raise ParseError(
            "over_limit_headers",
            f"A part of the message has more than {limits.max_headers} header lines.",
        )


def _read_status(part: Message, report: _Report) -> None:
    blocks = _children(part)
    pairs: list[tuple[str, str]] = []
    if blocks is not None:
        for block in blocks:
            if isinstance(block, Message):
                pairs.extend((str(n).lower(), str(v)) for n, v in block.raw_items())
    else:
        data = part.get_payload(decode=True)
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else ""
        for line in text.splitlines()[:5000]:
            name, colon, value = line.partition(":")
            if colon:
                pairs.append((name.strip().lower(), value))
    for name, value in pairs:
        if name == "status":
            report.statuses.append(value.strip()[:40])
        elif name == "action":
            report.actions.append(value.strip().lower()[:40])
        elif name == "original-message-id":
            report.ids.extend(message_ids(value))


def _returned_ids(part: Message, limits: Limits) -> list[str]:
    """Message-IDs of a returned original: a message/rfc822 part or text/rfc822-headers."""
    payload = _children(part)
    if payload is not None:
        inner = payload[0] if payload and isinstance(payload[0], Message) else None
        return message_ids(_Headers(inner).first("message-id")) if inner is not None else []
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        return []
    head = email.message_from_bytes(data[: 256 * 1024].split(b"\n\n", 1)[0] + b"\n\n")
    _check_headers(head, limits)
    return message_ids(_Headers(head).first("message-id"))


class _Walk:
    def __init__(self, root: Message, limits: Limits) -> None:
        self.limits = limits
        self.bodies = [_Body()]
        self.attachments: list[ParsedAttachment] = []
        self.report = _Report()
        self.has_returned_message = False
        self.forwarded_ids: list[str] = []
        self._run(root)

    def _run(self, root: Message) -> None:
        limits = self.limits
        # (part, depth, body index, inside a multipart/report)
        stack: list[tuple[Message, int, int, bool]] = [(root, 0, 0, False)]
        count = 0
        while stack:
            part, depth, body, in_report = stack.pop()
            count += 1
            if count > limits.max_parts:
                raise ParseError(
                    "over_limit_parts", f"The message has more than {limits.max_parts} parts."
                )
            if depth > limits.max_depth:
                raise ParseError(
                    "over_limit_depth",
                    f"The message nests parts more than {limits.max_depth} levels deep.",
                )
            _check_headers(part, limits)
            kind = _content_type(part)
            payload = _children(part)
            if kind == "multipart/report" and depth == 0:
                self.report.report_type = _param(part, "report-type").strip().lower() or "unknown"
            if kind == "message/delivery-status":
                self.report.delivery_status = True
                _read_status(part, self.report)
                continue
            if kind == "text/rfc822-headers" or (in_report and kind.startswith("message/")):
                self.report.ids.extend(_returned_ids(part, limits))
                self.has_returned_message = True
                continue
            if payload is not None:
                if kind.startswith("message/"):
                    inner = payload[0] if payload and isinstance(payload[0], Message) else None
                    if inner is None or kind not in {"message/rfc822", "message/global"}:
                        continue
                    inner_headers = _Headers(inner)
                    self.forwarded_ids.extend(message_ids(inner_headers.first("message-id")))
                    self.bodies.append(_Body(heading=_forward_heading(inner_headers)))
                    stack.append((inner, depth + 1, len(self.bodies) - 1, False))
                    continue
                report = kind == "multipart/report"
                children = [child for child in payload if isinstance(child, Message)]
                if len(children) + count > limits.max_parts:
                    raise ParseError(
                        "over_limit_parts", f"The message has more than {limits.max_parts} parts."
                    )
                stack.extend((child, depth + 1, body, report) for child in reversed(children))
                continue
            self._leaf(part, kind, body)

    def _leaf(self, part: Message, kind: str, body: int) -> None:
        try:
            raw_name = part.get_filename()
        except (UnicodeError, LookupError, ValueError):
            # The stdlib's RFC 2231 decoding raises on some broken names (a stray 8-bit byte):
            # the part is kept, and safe_filename gives it a neutral name.
            raw_name = None
        name = decode_words(str(raw_name)) if raw_name else ""  # safe_filename cleans it
        disposition = (part.get_content_disposition() or "").lower()
        data = part.get_payload(decode=True)
        content = data if isinstance(data, bytes) else b""
        if kind.startswith("multipart/"):
            kind = "text/plain"  # a multipart without a usable boundary: its body is text
        if kind in {"text/plain", "text/html"} and disposition != "attachment" and not name:
            text = body_text(decode_bytes(content, _param(part, "charset")))
            target = self.bodies[body]
            (target.plain if kind == "text/plain" else target.html).append(text)
            return
        if kind == "text/plain" and disposition != "attachment" and len(content) < 1024 * 1024:
            text = body_text(decode_bytes(content, _param(part, "charset")))
            self.bodies[body].inline_text.append(text)
        if len(content) > self.limits.max_attachment_bytes:
            raise ParseError(
                "over_limit_attachment",
                f"An attachment is larger than {self.limits.max_attachment_bytes} bytes.",
            )
        content_id = one_line(_Headers(part).first("content-id")).strip("<> ")
        guess_type = "text/plain" if kind.startswith("text/") and kind != "text/html" else kind
        self.attachments.append(
            ParsedAttachment(
                filename=safe_filename(name, guess_type),
                content_type=kind,
                content=content,
                inline=bool(content_id) and disposition != "attachment",
                content_id=content_id,
            )
        )

    def text(self) -> str:
        pieces = []
        top = self.bodies[0].text().strip("\n")
        if top.strip():
            pieces.append(top)
        for forwarded in self.bodies[1:]:
            inner = forwarded.text().strip("\n")
            pieces.append(f"{forwarded.heading}\n\n{inner}" if inner else forwarded.heading)
        return "\n\n".join(pieces)


# --- parse -----------------------------------------------------------------------------------


def _addresses(headers: _Headers, name: str, *, strict: bool) -> list[tuple[str, str]]:
    values = headers.all(name)
    return parse_addresses(values, strict=strict) if values else []


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(item for item in items if item))


def _parse(raw: bytes, limits: Limits) -> ParsedMail:
    if len(raw) > limits.max_bytes:
        raise ParseError("over_limit_size", f"The message is larger than {limits.max_bytes} bytes.")
    try:
        root = _message_from_bytes(raw, limits)
    except RecursionError as error:
        raise ParseError("over_limit_depth", "The message nests parts too deeply.") from error
    _check_headers(root, limits)
    headers = _Headers(root)

    address_names = ("from", "sender", "reply-to", "to", "cc")
    if (
        count_at_signs([v for n in address_names for v in headers.all(n)])
        > 2 * limits.max_addresses
    ):
        raise ParseError(
            "over_limit_addresses", f"The message names more than {limits.max_addresses} addresses."
        )
    senders = _addresses(headers, "from", strict=True)
    if len(headers.all("from")) > 1 and len({spec for _n, spec in senders}) > 1:
        senders = []  # two From headers naming different people: nobody is the sender
    reply_to = _addresses(headers, "reply-to", strict=True)
    to = _unique([spec for _n, spec in _addresses(headers, "to", strict=False)])
    cc = _unique([spec for _n, spec in _addresses(headers, "cc", strict=False)])
    if len(senders) + len(reply_to) + len(to) + len(cc) > limits.max_addresses:
        raise ParseError(
            "over_limit_addresses", f"The message names more than {limits.max_addresses} addresses."
        )

    walk = _Walk(root, limits)
    subject = headers.text("subject")
    message_id = first_message_id(headers.first("message-id"))
    text = walk.text()
    visible, folded = split_reply(text)
    visible_text = visible if folded else text
    from_address = senders[0][1] if senders else ""
    from_name = senders[0][0] if senders else ""

    report = walk.report
    local_part = from_address.partition("@")[0].lower()
    daemon = local_part == "mailer-daemon" or bool(_DAEMON_NAME_RE.search(from_name))
    bounce = (
        report.report_type == "delivery-status"
        or report.delivery_status
        or (daemon and local_part == "mailer-daemon")
        or (
            (daemon or local_part == "postmaster")
            and (
                bool(_BOUNCE_SUBJECT_RE.search(subject))
                or walk.has_returned_message
                or len(walk.bodies) > 1
            )
        )
    )
    bounced: list[str] = []
    permanent = False
    if bounce:
        quoted = [match.group(1) for match in _QUOTED_ID_RE.finditer(text[:1_000_000])]
        bounced = [
            item
            for item in _unique(report.ids + walk.forwarded_ids + message_ids(" ".join(quoted)))
            if item != message_id
        ]
        if report.statuses or report.actions:
            permanent = any(status.startswith("5") for status in report.statuses) or (
                "failed" in report.actions
            )
        else:
            codes = {match.group(1) for match in _STATUS_RE.finditer(text[:1_000_000])}
            permanent = "5" in codes or ("4" not in codes and not _DELAY_RE.search(subject))

    html_parts = walk.bodies[0].html
    return ParsedMail(
        message_id=message_id,
        in_reply_to=message_ids(" ".join(headers.all("in-reply-to"))),
        references=message_ids(" ".join(headers.all("references"))),
        subject=subject,
        from_address=from_address,
        from_name=from_name,
        reply_to=reply_to[0][1] if reply_to else "",
        to=to,
        cc=cc,
        date=_date(headers.first("date")),
        text=clean(text),
        visible_text=clean(visible_text),
        html=clean(sanitize_html("\n".join(html_parts))) if html_parts else "",
        attachments=walk.attachments,
        auto=_auto_reason(headers, subject, bounce or bool(report.report_type)),
        bounce=bounce,
        bounced_message_ids=bounced,
        bounce_permanent=permanent,
        language_hint=_language(visible_text) or _language(subject),
    )


def parse(raw: bytes, limits: Limits = DEFAULT_LIMITS) -> ParsedMail:
    """Parse one raw message. Raises ParseError, and nothing else, for any input bytes."""
    try:
        return _parse(bytes(raw), limits)
    except ParseError:
        raise
    except RecursionError as error:
        raise ParseError("over_limit_depth", "The message nests parts too deeply.") from error
    except Exception as error:  # REL-2: anything the stdlib trips on means quarantine, not a crash
        raise ParseError(
            "unparseable", f"The message could not be parsed ({type(error).__name__})."
        ) from error
