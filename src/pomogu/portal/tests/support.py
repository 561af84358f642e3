"""What the portal's tests share: signing a browser in the way a customer does (ask for a link,
take it from the outbox, press the button)."""

from __future__ import annotations

import re

from django.test import Client

from pomogu.contact.models import OutboxKind, OutboxMessage

LINK_RE = re.compile(r"/my/link/([A-Za-z0-9_-]+)/")


def last_token(email: str) -> str:
    """The token of the newest sign-in link mailed to ``email``."""
    row = OutboxMessage.objects.filter(kind=OutboxKind.SIGN_IN, to_email__iexact=email).latest("id")
    found = LINK_RE.search(row.body)
    assert found is not None, row.body
    return found.group(1)


def sign_in(client: Client, email: str) -> Client:
    assert client.post("/my/sign-in/", {"email": email}).status_code == 302
    response = client.post("/my/link/", {"token": last_token(email)})
    assert response.status_code == 302, response.status_code
    assert client.session["portal_email"] == email.lower()
    return client
