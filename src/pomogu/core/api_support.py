"""The API's shared edges: bearer-token authentication, one JSON shape for every error, and an
OpenAPI document that names every status an operation can answer (SC-4)."""

from __future__ import annotations

import datetime as dt
import json
import logging
from decimal import Decimal
from typing import Annotated, Any

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.datastructures import MultiValueDict
from ninja import NinjaAPI, Path, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.openapi.schema import OpenAPISchema
from ninja.pagination import LimitOffsetPagination
from ninja.parser import Parser
from ninja.security import HttpBearer
from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

from pomogu.core.errors import DomainError
from pomogu.people.models import User

log = logging.getLogger(__name__)


class BearerToken(HttpBearer):
    """``Authorization: Bearer <token>``; tokens are made with ``pomogu token create USER``."""

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        from pomogu.people.services import user_for_token

        return user_for_token(token)


# --- input the database can hold -------------------------------------------------------------
# Bad input is a 422 at the edge, never a driver's error deep down (a 500): PostgreSQL stores no
# NUL character, a string with an unpaired surrogate is not UTF-8, no column takes any integer.


def storable(value: object) -> bool:
    """Whether every text in ``value`` (a string, or lists and dicts of them) can be stored."""
    if isinstance(value, str):
        if "\x00" in value:
            return False
        try:
            value.encode()
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, dict):
        return all(storable(key) and storable(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return all(storable(item) for item in value)
    return True


UNSTORABLE = "text cannot contain NUL characters or unpaired surrogates"


def _iso_moment(value: object) -> dt.datetime:
    # pydantic alone also takes a number of seconds, or a moment without an offset (which the
    # server would read in its own zone); the OpenAPI document promises RFC 3339 date-times.
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, str) and len(value) > 10:
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            raise ValueError("expected an ISO 8601 date-time") from None
    else:
        raise ValueError("expected an ISO 8601 date-time")
    if moment.tzinfo is None:
        raise ValueError("the date-time needs an offset, such as Z or +03:00")
    # In UTC: PostgreSQL refuses offsets past 15:59, which RFC 3339 allows.
    try:
        return moment.astimezone(dt.UTC)
    except OverflowError:
        raise ValueError("the date-time is out of range") from None


def _iso_day(value: object) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError("expected an ISO 8601 date")


# A row id: the database's ids are 64-bit, and a larger number in a list of ids is the
# driver's OverflowError, not an empty result.
Id = Annotated[int, Field(ge=1, le=2**63 - 1)]

# A date-time with its offset (2026-11-27T18:00:00+03:00), read into UTC.
Moment = Annotated[dt.datetime, BeforeValidator(_iso_moment)]
# A date (2026-11-27), nothing else.
Day = Annotated[dt.date, BeforeValidator(_iso_day)]

# An email address; empty or null: none. (The services check the address itself.)
Email = Annotated[
    str | None,
    Field(max_length=254),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "format": "email", "maxLength": 254},
                {"const": ""},
                {"type": "null"},
            ],
            "description": "Empty or null: none",
        }
    ),
]

# A team by id or short name (``TeamIn.slug``) in a path.
TeamRefPath = Annotated[str, Path(..., pattern=r"^[-a-z0-9_]+$", max_length=60)]

# Minutes of an SLA target: at most a year. The column holds 32 bits, and business time is
# added by walking the calendar's opening hours, so a million years would be a long walk.
Minutes = Annotated[int, Field(ge=1, le=525_600)]


class Strict(Schema):
    """A write schema: it lists its fields and nothing else can be set (SEC-7); JSON true is
    not the id 1, nor 1.0 an integer (the schema says integer); text can be stored, and its
    length limit counts what was sent, as the OpenAPI document says, not what is left after
    the whitespace is stripped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=True)

    @field_validator("*", mode="before")
    @classmethod
    def _as_sent(cls, value: Any, info: ValidationInfo) -> Any:
        if not storable(value):
            raise ValueError(UNSTORABLE)
        if isinstance(value, str) and info.field_name is not None:
            for rule in cls.model_fields[info.field_name].metadata:
                limit = getattr(rule, "max_length", None)  # Field(max_length=...)
                if limit is not None and len(value) > limit:
                    raise ValueError(f"at most {limit} characters")
        return value


def _json_number(text: str) -> int | float:
    # JSON Schema counts 210.0 an integer, and the OpenAPI document says integer; pydantic's
    # strict mode would refuse it. Past 64 bits it stays a float: no id or count is that big.
    number = Decimal(text)
    if number.adjusted() < 19 and number == number.to_integral_value():
        whole = int(number)
        if abs(whole) < 2**63:
            return whole
    return float(text)


class StorableParser(Parser):
    """ninja's JSON parser, reading a number with no fraction as an integer; and its query
    parser, refusing text the database cannot store (bodies are checked by ``Strict``, path
    parameters by their patterns) and a single-valued parameter given twice (ninja would take
    the last one silently)."""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(request.body, parse_float=_json_number)
        return data

    def parse_querydict(
        self, data: MultiValueDict[str, Any], list_fields: list[str], request: HttpRequest
    ) -> dict[str, Any]:
        for name, values in data.lists():
            if not (storable(name) and storable(values)):
                loc = ["query", name if storable(name) else "?"]
                raise ValidationError([{"loc": loc, "msg": UNSTORABLE, "type": "value_error"}])
            if len(values) > 1 and name not in list_fields:
                msg = "give this parameter once"
                raise ValidationError([{"loc": ["query", name], "msg": msg, "type": "value_error"}])
        return super().parse_querydict(data, list_fields, request)


class FieldError(Schema):
    loc: list[str | int]
    msg: str
    type: str | None


class ErrorOut(Schema):
    """Every error answer. ``error`` is a stable code for programs, ``detail`` a text for
    people; some errors carry more (the reply guard its findings, a refused contact its
    reason), so other fields may follow."""

    model_config = ConfigDict(extra="allow")

    error: str
    detail: str
    errors: list[FieldError] | None = Field(
        None, description="For error 'validation': what is wrong with which input"
    )


def errors(*statuses: int) -> dict[int, type[ErrorOut]]:
    """The error answers an operation gives besides 401 and 422 (``PomoguApi`` documents those
    for every operation): ``response={200: CaseOut, **errors(404, 409)}``.

    404: an object the path or body names is not there, or not the caller's to see; 403: the
    caller sees it but may not do this; 409: a rule of the desk refuses it now (DomainError)."""
    return dict.fromkeys(statuses, ErrorOut)


_COMMON = {
    400: "The body is not JSON",
    401: "No valid bearer token",
    422: "The input is not valid",
}


class PomoguApi(NinjaAPI):
    """The NinjaAPI whose OpenAPI document also names the answers no view chooses: 401 from the
    bearer token on every operation, 422 from ninja's validation on every operation that takes
    input, 400 from the JSON parser on every operation with a body."""

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        components = schema["components"]["schemas"]
        definition = ErrorOut.model_json_schema(
            ref_template="#/components/schemas/{model}", mode="serialization"
        )
        for name, nested in definition.pop("$defs", {}).items():
            components.setdefault(name, nested)
        components.setdefault(ErrorOut.__name__, definition)
        content = {
            self.renderer.media_type: {
                "schema": {"$ref": f"#/components/schemas/{ErrorOut.__name__}"}
            }
        }
        for path in schema["paths"].values():
            for operation in path.values():
                statuses = []
                if operation.get("security"):
                    statuses.append(401)
                if operation.get("parameters") or "requestBody" in operation:
                    statuses.append(422)
                if "requestBody" in operation:
                    statuses.append(400)
                responses = operation["responses"]
                for status in statuses:
                    if status not in responses:
                        responses[status] = {"description": _COMMON[status], "content": content}
        return schema


# The largest offset or export limit: far past any desk's data, and well inside the 64-bit
# integers SQLite and PostgreSQL take for LIMIT and OFFSET (a larger one is their error, a 500).
MAX_OFFSET = 2**31 - 1


class Page(LimitOffsetPagination):
    """``limit`` and ``offset`` pages, bounded: at most 500 items a page."""

    class Input(Schema):
        limit: int = Field(100, ge=1, le=500)
        offset: int = Field(0, ge=0, le=MAX_OFFSET)


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
