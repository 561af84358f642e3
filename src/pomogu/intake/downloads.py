"""The one way a received message leaves the desk as bytes: a download, never rendered."""

from __future__ import annotations

from django.http import HttpResponse

from pomogu.intake.models import InboundMessage


def raw_message_download(row: InboundMessage) -> HttpResponse:
    """The message exactly as received, as an attachment the browser must not sniff or show."""
    response = HttpResponse(bytes(row.raw), content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="message-{row.pk}.eml"'
    response["X-Content-Type-Options"] = "nosniff"
    return response
