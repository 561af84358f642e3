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


# Pages run only the scripts and styles served from our own origin (htmx, desk.css): no inline
# script, no inline style, no plug-ins, no other site framing or posting forms (SEC-2). A
# response that sets its own policy (attachments, a mail's HTML) keeps it.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "frame-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    ]
)
# Django's admin writes a few style="" attributes; it gets inline styles, never inline scripts.
ADMIN_CONTENT_SECURITY_POLICY = CONTENT_SECURITY_POLICY.replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'"
)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            admin = request.path.startswith("/admin/")
            response["Content-Security-Policy"] = (
                ADMIN_CONTENT_SECURITY_POLICY if admin else CONTENT_SECURITY_POLICY
            )
        return response


class UserLanguageMiddleware:
    """A signed-in staff member reads the desk in their own language (``User.language``),
    whatever the browser asks for; the language switch stores their choice there. Goes after
    AuthenticationMiddleware; pages for customers decide their language themselves."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from django.conf import settings
        from django.utils import translation

        user = getattr(request, "user", None)
        language = getattr(user, "language", "") if user is not None else ""
        if (
            user is not None
            and user.is_authenticated
            and language in dict(settings.LANGUAGES)
            and not request.path.startswith("/my/")
        ):
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)
