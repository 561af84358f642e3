"""Counting failed attempts at what can be guessed, for rate limits (RELIABILITY.md AZ-16).

One scope per thing counted: ``strike`` records a failure, ``too_many`` says whether a key has
reached its limit within the window, ``forget`` clears a key after a success. Rows live in the
database (the same for every worker process) and are pruned as new ones arrive.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from pomogu.core import clock
from pomogu.core.clients import client_digest
from pomogu.core.models import Strike


def too_many(scope: str, key: str, *, limit: int, minutes: int) -> bool:
    since = clock.now() - dt.timedelta(minutes=minutes)
    return Strike.objects.filter(scope=scope, key=key, created_at__gte=since).count() >= limit


def strike(scope: str, key: str, *, minutes: int) -> None:
    now = clock.now()
    Strike.objects.filter(scope=scope, created_at__lt=now - dt.timedelta(minutes=minutes)).delete()
    Strike.objects.create(scope=scope, key=key[:150], created_at=now)


def forget(scope: str, key: str) -> None:
    Strike.objects.filter(scope=scope, key=key).delete()


# --- links carrying a token (survey links, sign-in links) ---------------------------------------

TOKEN_SCOPE = "token"  # noqa: S105 - the name of a counter, not a secret


def _token_client(request: HttpRequest) -> str:
    return client_digest(request, "token")


def tokens_blocked(request: HttpRequest) -> bool:
    """Whether this client has tried too many tokens that did not work, lately. Tokens are
    unguessable (128 bits or signed); this stops a client from trying, and says so."""
    return too_many(
        TOKEN_SCOPE,
        _token_client(request),
        limit=settings.POMOGU_TOKEN_FAILURES_PER_CLIENT,
        minutes=settings.POMOGU_TOKEN_WINDOW_MINUTES,
    )


def token_failed(request: HttpRequest) -> None:
    strike(TOKEN_SCOPE, _token_client(request), minutes=settings.POMOGU_TOKEN_WINDOW_MINUTES)


def too_many_tokens(request: HttpRequest, base: str) -> HttpResponse:
    """The 429 page, in the look of the page that was asked for (``base`` template)."""
    context = {"base": base, "minutes": settings.POMOGU_TOKEN_WINDOW_MINUTES}
    response = render(request, "core/too_many.html", context, status=429)
    response["Retry-After"] = str(settings.POMOGU_TOKEN_WINDOW_MINUTES * 60)
    return response
