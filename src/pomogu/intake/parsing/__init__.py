"""The mail parser: raw RFC 5322 bytes in, a ParsedMail out. Pure Python, no database.

Public API (the intake pipeline's contract):
- parse(raw, limits) -> ParsedMail, raising only ParseError (code + detail)
- sanitize_html(html), html_to_text(html), split_reply(text), safe_filename(name, content_type)
- parse_addresses(values, strict), valid_addr_spec(address), message_ids(value): the strict
  address and Message-ID rules, for whatever else reads or writes mail
- decode_words(value), one_line(text): RFC 2047 decoding, and header text as one clean line
"""

from pomogu.intake.parsing._addresses import message_ids, parse_addresses, valid_addr_spec
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
from pomogu.intake.parsing._text import decode_words, one_line

__all__ = [
    "DEFAULT_LIMITS",
    "FORWARD_LINE",
    "Limits",
    "ParseError",
    "ParsedAttachment",
    "ParsedMail",
    "decode_words",
    "html_to_text",
    "message_ids",
    "one_line",
    "parse",
    "parse_addresses",
    "safe_filename",
    "sanitize_html",
    "split_reply",
    "valid_addr_spec",
]
