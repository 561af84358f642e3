"""Cross-cutting HTTP behaviour."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers


class PrivatePagesMiddleware:
    """Private content is never stored by a browser or proxy cache (RELIABILITY.md AZ-15).

    Everything but static files and the health probe is private: pages for staff and
    customers, and the API, which answers with case content.
    """

    public_prefixes = ("/static/", "/healthz")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith(self.public_prefixes):
            add_never_cache_headers(response)
            response["Cache-Control"] = "no-store, " + response["Cache-Control"]
        return response
