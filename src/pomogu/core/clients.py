"""Who is asking, for rate limits: a keyed digest of the client's address, never the address
itself (nothing to leak from the rows that count requests)."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.http import HttpRequest


def client_digest(request: HttpRequest, purpose: str) -> str:
    """The same client gives the same digest for one ``purpose`` (web form, portal, sign-in),
    different ones across purposes."""
    address = request.META.get("REMOTE_ADDR", "")
    return hashlib.sha256(f"{settings.SECRET_KEY}:{purpose}:{address}".encode()).hexdigest()
