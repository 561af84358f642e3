"""Attachment names that are safe to show and to put in a Content-Disposition (SEC-5, IN-7).

The name is only ever a label: files are stored under generated keys. Still, it must not carry
a path, control or bidi characters (the "evil.pdf<RLO>gpj.exe" trick), a Windows device name or
a leading dot, and it must stay short enough to display.
"""

from __future__ import annotations

import mimetypes
import re
import unicodedata

MAX_NAME = 150
_MAX_EXTENSION = 16

# Deterministic: the built-in table only, not whatever /etc/mime.types says on this machine.
_MIME = mimetypes.MimeTypes()
_PREFERRED = {
    "application/octet-stream": ".bin",
    "text/plain": ".txt",
    "text/html": ".html",
    "text/calendar": ".ics",
    "text/csv": ".csv",
    "text/rfc822-headers": ".txt",
    "message/rfc822": ".eml",
    "message/global": ".eml",
    "message/delivery-status": ".txt",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "application/pdf": ".pdf",
    "application/zip": ".zip",
}
_UNSAFE_RE = re.compile(r'[<>:"|?*\\/\x00-\x1f\x7f]')
_DOTS_RE = re.compile(r"\.{2,}")
_SPACES_RE = re.compile(r"\s+")
_EXTENSION_RE = re.compile(r"\.[A-Za-z0-9]{1,15}")
_RESERVED = frozenset(
    {"con", "prn", "aux", "nul", "clock$"}
    | {f"com{i}" for i in range(10)}
    | {f"lpt{i}" for i in range(10)}
)


def extension_for(content_type: str) -> str:
    content_type = content_type.strip().lower()
    if content_type in _PREFERRED:
        return _PREFERRED[content_type]
    guessed = _MIME.guess_extension(content_type, strict=False) if content_type else None
    return guessed if guessed and _EXTENSION_RE.fullmatch(guessed) else ".bin"


def _visible(name: str) -> str:
    """NFC, without control, format (bidi, zero-width), surrogate, private or unassigned chars."""
    name = unicodedata.normalize("NFC", name)
    return "".join(
        char for char in name if unicodedata.category(char) not in {"Cc", "Cf", "Cs", "Co", "Cn"}
    )


def safe_filename(name: str | None, content_type: str = "") -> str:
    """A display name for an attachment; never empty, never a path, at most 150 characters."""
    text = _visible(name or "")[:4096]
    # the last path component, whichever separator the sender's system used
    text = re.split(r"[\\/]", text)[-1]
    text = _UNSAFE_RE.sub("_", text)
    text = _DOTS_RE.sub(".", text)
    text = _SPACES_RE.sub(" ", text).strip(" .")
    stem, dot, extension = text.rpartition(".")
    if not dot or not stem or not _EXTENSION_RE.fullmatch("." + extension):
        stem, extension = text, ""
    if stem.lower().split(".")[0].strip() in _RESERVED:
        stem = "_" + stem
    if not stem.strip("_ ."):
        return "attachment" + extension_for(content_type)
    suffix = "." + extension if extension else ""
    stem = stem[: MAX_NAME - len(suffix)].rstrip(" .")
    result = (stem + suffix).lstrip(" .")
    return result or "attachment" + extension_for(content_type)
