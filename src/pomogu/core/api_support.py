"""The API's shared edges: bearer-token authentication and one JSON shape for every error."""

from __future__ import annotations

import logging

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer

from pomogu.core.errors import DomainError
from pomogu.people.models import User

log = logging.getLogger(__name__)


class BearerToken(HttpBearer):
    """``Authorization: Bearer <token>``; tokens are made with ``pomogu token create USER``."""

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        from pomogu.people.services import user_for_token

        return user_for_token(token)


def actor_of(request: HttpRequest) -> User:
    user = request.auth  # type: ignore[attr-defined]
    if not isinstance(user, User):  # pragma: no cover - ninja guarantees auth ran
        raise AuthenticationError()
    return user


def _error(
    api: NinjaAPI, request: HttpRequest, status: int, code: str, detail: str, **extra: object
) -> HttpResponse:
    return api.create_response(request, {"error": code, "detail": detail, **extra}, status=status)


def install_error_handlers(api: NinjaAPI) -> None:
    """Errors are ``{"error": code, "detail": text, ...}`` with a fitting status. Bad input is a
    4xx, never a 500 (DESIGN.md "Interfaces")."""

    @api.exception_handler(DomainError)
    def domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
        return _error(api, request, exc.status, exc.code, exc.detail, **exc.extra)

    @api.exception_handler(ValidationError)
    def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        errors = [
            {"loc": list(e.get("loc", [])), "msg": str(e.get("msg", "")), "type": e.get("type")}
            for e in exc.errors
        ]
        return _error(api, request, 422, "validation", "The request is not valid.", errors=errors)

    @api.exception_handler(AuthenticationError)
    def auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        response = _error(api, request, 401, "unauthorized", "A valid bearer token is required.")
        response["WWW-Authenticate"] = 'Bearer realm="pomogu"'
        return response

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        code = "bad_request" if exc.status_code == 400 else f"http_{exc.status_code}"
        return _error(api, request, exc.status_code, code, str(exc))

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return _error(api, request, 404, "not_found", "Not found.")

    @api.exception_handler(Exception)
    def server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
        log.exception("unhandled error in %s %s", request.method, request.path)
        return _error(api, request, 500, "internal", "Something went wrong on our side.")
