"""The mail parser: raw RFC 5322 bytes in, a ParsedMail out. Pure Python, no database.

Public API (the intake pipeline's contract):
- parse(raw, limits) -> ParsedMail, raising only ParseError (code + detail)
- sanitize_html(html), html_to_text(html), split_reply(text), safe_filename(name, content_type)
"""

from pomogu.intake.parsing._html import html_to_text, sanitize_html
from pomogu.intake.parsing._mail import (
    DEFAULT_LIMITS,
    FORWARD_LINE,
    Limits,
    ParsedAttachment,
    ParsedMail,
    ParseError,
    parse,
)
from pomogu.intake.parsing._names import safe_filename
from pomogu.intake.parsing._reply import split_reply

__all__ = [
    "DEFAULT_LIMITS",
    "FORWARD_LINE",
    "Limits",
    "ParseError",
    "ParsedAttachment",
    "ParsedMail",
    "html_to_text",
    "parse",
    "safe_filename",
    "sanitize_html",
    "split_reply",
]
