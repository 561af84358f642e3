"""How what customers sent leaves the desk as bytes: always a download, never rendered, under a
type that cannot run and headers a browser must obey (SEC-2, SEC-5, IN-7). The desk and the
portal serve attachments through ``attachment_download``; the raw message through
``raw_message_download``."""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import quote

from django.http import FileResponse, Http404, HttpResponse
from django.http.response import HttpResponseBase

from pomogu.intake import storage
from pomogu.intake.models import Attachment, InboundMessage
from pomogu.intake.parsing import safe_filename

logger = logging.getLogger(__name__)

# Types a browser shows without running anything. Every other type (text/html, image/svg+xml,
# XML, JavaScript, whatever the sender wrote) is served as opaque bytes (IN-7, RT CVE-2022-25802).
INERT_TYPES = frozenset(
    {
        "image/png",
        "image/jpeg",
        "image/gif",
        "application/pdf",
        "text/plain",
        "text/csv",
        "application/zip",
        "application/octet-stream",
        "application/msword",
        "application/vnd.ms-excel",
    }
)
INERT_PREFIXES = ("application/vnd.openxmlformats-officedocument.",)
_MEDIA_TYPE_RE = re.compile(r"[a-z0-9][a-z0-9.+-]*/[a-z0-9][a-z0-9.+-]*")
_STORAGE_NAME_RE = re.compile(r"[0-9a-f]{32}")
DOWNLOAD_CSP = "sandbox; default-src 'none'; frame-ancestors 'none'"


def raw_message_download(row: InboundMessage) -> HttpResponse:
    """The message exactly as received, as an attachment the browser must not sniff or show."""
    response = HttpResponse(bytes(row.raw), content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="message-{row.pk}.eml"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


def served_type(content_type: str) -> str:
    """The Content-Type an attachment is served with: the stored one if it is inert, else
    application/octet-stream."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if not _MEDIA_TYPE_RE.fullmatch(media_type):
        return "application/octet-stream"
    if media_type in INERT_TYPES or media_type.startswith(INERT_PREFIXES):
        return media_type
    return "application/octet-stream"


def disposition(kind: str, filename: str) -> str:
    """``attachment``/``inline`` with an ASCII fallback name and the exact UTF-8 one (RFC 6266).
    The name was sanitised at intake; it is sanitised again here, cheaply, in case it was not."""
    name = safe_filename(filename)
    fallback = "".join(char if " " <= char <= "~" and char not in '"\\;%' else "_" for char in name)
    return f"{kind}; filename=\"{fallback}\"; filename*=utf-8''{quote(name, safe='')}"


def private_file_headers(response: HttpResponseBase, csp: str) -> None:
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = csp
    response["Cache-Control"] = "private, no-store"


def _open_stored(item: Attachment, where: str) -> Any:
    """The attachment's file, opened for reading; a missing file is a 404 and a log line."""
    if not _STORAGE_NAME_RE.fullmatch(item.storage_name):
        logger.error("attachment %s of %s has a bad storage name", item.pk, where)
        raise Http404("No such attachment.")
    path = storage.path_of(item.storage_name)
    try:
        return open(path, "rb")  # FileResponse closes it
    except OSError as error:
        logger.error(
            "attachment %s of %s: its file %s cannot be read (%s)",
            item.pk,
            where,
            path,
            error.strerror or error,
        )
        raise Http404("No such attachment.") from None


def attachment_download(item: Attachment, *, where: str) -> FileResponse:
    """An attachment the caller has found visible, always as a download, under a type that
    cannot run; ``where`` names it in the log ("case #12")."""
    response = FileResponse(
        _open_stored(item, where),
        as_attachment=True,
        filename=item.filename,
        content_type=served_type(item.content_type),
    )
    response["Content-Disposition"] = disposition("attachment", item.filename)
    private_file_headers(response, DOWNLOAD_CSP)
    return response
