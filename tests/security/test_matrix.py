"""The authorization matrix test (RELIABILITY.md §7.6, AZ-1…AZ-6, AZ-9…AZ-15; issue 8).

For every route of the URL configuration and every operation of the API's OpenAPI document,
every role, and the objects of either side of the fixture world (``world.py``), the answer is
the one ``matrix.py`` expects, and no response to anyone carries a canary of what is not
theirs. A route or operation without an entry fails ``test_every_route_has_an_entry``.

The world is built once per module (it takes a few seconds) inside a transaction that is
rolled back at the end; each request runs in a savepoint of its own that is rolled back too,
so a POST that succeeds changes nothing for the next request.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.db import transaction
from django.http import HttpResponseBase
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from tests.security.matrix import API, ROLE, ROLES, WEB, Expect, Kind, Role, Route
from tests.security.world import INTERNAL, World, build_world

from pomogu.api import api
from pomogu.people.services import create_token
from pomogu.portal.tests.support import sign_in

SIDES = ("x", "y")
# Marked so that pytest-django creates the test database; each test then runs in a savepoint
# inside the module's transaction.
pytestmark = pytest.mark.django_db


# --- the world and the people in it -------------------------------------------------------


class People:
    """Each role's session cookie (web) and token (API) in the built world."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.sessions: dict[str, str] = {}
        self.tokens: dict[str, str] = {}
        users = {
            "bob": world.cast.bob,
            "yuri": world.yuri,
            "alice": world.cast.alice,
            "mallory": world.cast.mallory,
            "root": world.cast.root,
        }
        for name, user in users.items():
            client = Client()
            client.force_login(user)
            self.sessions[name] = client.cookies[settings.SESSION_COOKIE_NAME].value
            self.tokens[name] = create_token(user, name="matrix")
        emails = {
            "dave": world.cast.dave.email,
            "dana": world.dana.email,
            "erin": world.cast.erin.email,
        }
        for name, email in emails.items():
            client = sign_in(Client(), email)
            self.sessions[name] = client.cookies[settings.SESSION_COOKIE_NAME].value

    def client(self, role: Role) -> Client:
        client = Client()
        if role.name in self.sessions:
            client.cookies[settings.SESSION_COOKIE_NAME] = self.sessions[role.name]
        return client


@pytest.fixture(scope="module")
def people(django_db_setup: Any, django_db_blocker: Any, tmp_path_factory: Any) -> Iterator[People]:
    from django.test import override_settings

    with django_db_blocker.unblock(), override_settings(DATA_DIR=tmp_path_factory.mktemp("matrix")):
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            from django.core.cache import cache

            cache.clear()
            yield People(build_world())
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@pytest.fixture
def world_db(people: People, django_db_blocker: Any) -> Iterator[People]:
    with django_db_blocker.unblock():
        yield people


# --- asking --------------------------------------------------------------------------------


def body_of(response: HttpResponseBase) -> str:
    if getattr(response, "streaming", False):
        raw = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    else:
        raw = response.content  # type: ignore[attr-defined]
    return raw.decode("utf-8", errors="replace").lower()


def ask(
    people: People,
    role: Role,
    route: Route,
    method: str,
    *,
    side: str,
    params: dict[str, Any] | None,
    api_call: bool,
) -> HttpResponseBase:
    world = people.world
    target, other = world.side(side), world.side("y" if side == "x" else "x")
    if api_call:
        path = route.key.split(" ", 1)[1]
        url = path.format(**(params or {}))
    else:
        url = reverse(route.key, kwargs=params or None)
    query = route.query(world, target) if callable(route.query) else (route.query or {})
    body = route.body(world, target, other) if route.body else None
    client = people.client(role)
    headers: dict[str, str] = {}
    if api_call:
        token = people.tokens.get(role.name)
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}" if token else "Bearer not-a-token"
    with transaction.atomic():
        if method == "GET":
            response = client.get(url, query, **headers)  # type: ignore[arg-type]
        elif api_call:
            data = json.dumps(body if body is not None else {})
            call = getattr(client, method.lower())
            response = call(url, data=data, content_type="application/json", **headers)
        else:
            response = client.post(url, body or {}, **headers)
        transaction.set_rollback(True)
    return response


def forbidden_canaries(role: Role, route: Route, side: str) -> list[str]:
    """What must not be in any response to ``role``."""
    from pomogu.core import clock  # noqa: F401 - keep the import cost out of the loop

    if route.token_shows:
        # A page opened with one side's token shows only what the token is for.
        allowed = {f"cnr{side}-{what}" for what in route.token_shows}
        return [f"cnr{s}-" for s in SIDES if s != side] + [
            f"cnr{side}-{what}"
            for what in (
                "subject",
                "body",
                "html",
                "note",
                "reply",
                "file",
                "held",
                "task",
                "promise",
                "place",
                "handoff",
                "notification",
                "failure",
                "view",
                "summary",
            )
            if f"cnr{side}-{what}" not in allowed
        ]
    found = [f"cnr{s}-" for s in SIDES if s not in role.sides]
    if role.kind is Kind.CUSTOMER:
        found += [f"cnr{s}-{what}" for s in role.sides for what in INTERNAL]
    return found


def judge(response: HttpResponseBase, expect: Expect, route: Route, method: str) -> str | None:
    """Why the response breaks the expectation, or None."""
    status = response.status_code
    location = response.get("Location", "")
    if expect is Expect.OK:
        ok = route.ok if method != "GET" or route.ok != frozenset({200}) else frozenset({200})
        if status not in ok:
            return f"served expected ({sorted(ok)}), got {status}"
        return None
    if expect is Expect.NOT_FOUND:
        return None if status == 404 else f"404 expected, got {status}"
    if expect is Expect.FORBIDDEN:
        return None if status == 403 else f"403 expected, got {status}"
    if expect is Expect.UNAUTHORIZED:
        return None if status == 401 else f"401 expected, got {status}"
    if expect is Expect.STAFF_LOGIN:
        login = resolve_url(settings.LOGIN_URL)
        good = status == 302 and location.startswith(login + "?")
        return None if good else f"redirect to {login} expected, got {status} {location}"
    if expect is Expect.PORTAL_LOGIN:
        good = status == 302 and location.startswith(reverse("portal:home"))
        return None if good else f"redirect to the portal expected, got {status} {location}"
    if expect is Expect.ADMIN_LOGIN:
        good = status == 302 and location.startswith(reverse("admin:login"))
        return None if good else f"redirect to the admin sign-in expected, got {status} {location}"
    raise AssertionError(expect)


def check_route(people: People, route: Route, *, api_call: bool) -> list[str]:
    problems: list[str] = []
    world = people.world
    roles = [r for r in ROLES if not (api_call and r.kind is Kind.CUSTOMER)]
    sides = SIDES if route.on_a_side else ("x",)
    for method in route.methods:
        for role in roles:
            for side in sides:
                target = world.side(side)
                params = route.params(world, target) if route.params else None
                expect = route.policy(role, side if route.on_a_side else None)
                response = ask(
                    people, role, route, method, side=side, params=params, api_call=api_call
                )
                where = f"{method} {route.label} as {role.name} on side {side}"
                why = judge(response, expect, route, method)
                if why:
                    problems.append(f"{where}: {why}")
                body = body_of(response)
                if expect is Expect.OK and response.status_code == 200:
                    for what in route.must_show:
                        if f"cnr{side}-{what}" not in body:
                            problems.append(f"{where}: served without cnr{side}-{what}")
                if PASSWORD_HASH.search(body):
                    problems.append(f"{where}: the body holds a password hash")  # AZ-10
                private = (role.kind is not Kind.ANONYMOUS or api_call) and not route.cacheable
                if private and "no-store" not in response.get("Cache-Control", ""):
                    problems.append(f"{where}: private content without Cache-Control: no-store")
                for canary in forbidden_canaries(role, route, side):
                    if canary in body:
                        held = sorted(set(re.findall(re.escape(canary) + r"[a-z-]*", body)))
                        problems.append(f"{where}: the body holds {', '.join(held)}")
                # AZ-4: this side's object with the other side's second object under it.
                for name in route.crossed:
                    assert params is not None
                    other = world.side("y" if side == "x" else "x")
                    crossed = dict(params)
                    crossed[name] = route.params(world, other)[name]  # type: ignore[misc]
                    response = ask(
                        people, role, route, method, side=side, params=crossed, api_call=api_call
                    )
                    wanted = (
                        expect if expect not in (Expect.OK, Expect.FORBIDDEN) else Expect.NOT_FOUND
                    )
                    why = judge(response, wanted, route, method)
                    if why:
                        problems.append(f"{where} with the other side's {name}: {why}")
    return problems


# The hash formats Django stores (AZ-10: none ever leaves the server); the tests hash with MD5.
PASSWORD_HASH = re.compile(r"(pbkdf2_sha256|pbkdf2_sha1|argon2|bcrypt_sha256|scrypt|md5)\$\w")


def failed(problems: list[str]) -> None:
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


# --- the tests -----------------------------------------------------------------------------


def web_routes() -> dict[str, URLPattern]:
    """Every named route of the URL configuration but Django's admin and the API (checked by
    their own tests below and through openapi.json)."""
    found: dict[str, URLPattern] = {}

    def walk(patterns: list[Any], namespace: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.namespace in ("admin", "api"):
                    continue
                inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                walk(pattern.url_patterns, inner)
            else:
                assert pattern.name, f"a route without a name: {pattern.pattern}"
                found[namespace + pattern.name] = pattern

    walk(get_resolver().url_patterns, "")
    return found


def api_operations() -> set[str]:
    schema = api.get_openapi_schema()
    return {
        f"{method.upper()} {path}"
        for path, operations in schema["paths"].items()
        for method in operations
    }


def test_every_route_has_an_entry() -> None:
    """Deny by default: a new route or API operation fails here until the matrix says who may
    use it; an entry for a route that no longer exists fails too."""
    routes = set(web_routes())
    listed = {route.key for route in WEB}
    assert routes - listed == set(), "routes with no entry in tests/security/matrix.py"
    assert listed - routes == set(), "entries for routes that do not exist"
    operations = api_operations()
    listed_api = {route.key for route in API}
    assert operations - listed_api == set(), "API operations with no entry in the matrix"
    assert listed_api - operations == set(), "entries for API operations that do not exist"


def test_routes_refuse_other_methods(world_db: People) -> None:
    """AZ-11: a method a route does not list never reaches it: GET never changes anything."""
    problems = []
    for route in WEB:
        params = route.params(world_db.world, world_db.world.x) if route.params else None
        url = reverse(route.key, kwargs=params or None)
        for method in ("GET", "POST"):
            if method in route.methods:
                continue
            client = world_db.client(ROLE["root"])
            with transaction.atomic():
                response = client.generic(method, url)
                transaction.set_rollback(True)
            if response.status_code not in route.other_methods:
                problems.append(f"{method} {route.key}: {response.status_code}")
    failed(problems)


@pytest.mark.parametrize("route", WEB, ids=[route.label for route in WEB])
def test_web_route(world_db: People, route: Route) -> None:
    failed(check_route(world_db, route, api_call=False))


@pytest.mark.parametrize("route", API, ids=[route.label for route in API])
def test_api_operation(world_db: People, route: Route) -> None:
    failed(check_route(world_db, route, api_call=True))


def admin_urls(world: World) -> list[str]:
    urls = []
    from django.contrib import admin

    for model, _model_admin in admin.site._registry.items():
        meta = model._meta
        first = model._default_manager.order_by("pk").first()
        urls.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
        urls.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_add"))
        if first is not None:
            for view in ("change", "history", "delete"):
                urls.append(
                    reverse(f"admin:{meta.app_label}_{meta.model_name}_{view}", args=[first.pk])
                )
    urls.append(reverse("admin:index"))
    for app in {model._meta.app_label for model in admin.site._registry}:
        urls.append(reverse("admin:app_list", kwargs={"app_label": app}))
    return urls


def test_admin_site(world_db: People) -> None:
    """Django's admin is for administrators only: everyone else, staff included, is sent to its
    sign-in, and no page of it breaks for the administrator."""
    problems = []
    urls = admin_urls(world_db.world)
    assert len(urls) > 20
    for url in urls:
        for role in ROLES:
            with transaction.atomic():
                response = world_db.client(role).get(url)
                transaction.set_rollback(True)
            if role.admin:
                # 403: what the admin refuses even an administrator (adding or deleting the
                # append-only records: messages, the timeline, the outbox, failures).
                if response.status_code not in (200, 302, 403):
                    problems.append(f"{url} as {role.name}: {response.status_code}")
            elif not (
                response.status_code == 302
                and response["Location"].startswith(reverse("admin:login"))
            ):
                problems.append(f"{url} as {role.name}: {response.status_code}")
    failed(problems)


def test_organisation_sharing(world_db: People) -> None:
    """AZ-2: dana, dave's colleague at Vektor, reads dave's cases only while Vektor shares its
    cases, never their internal notes, and may not answer or rate them; erin's stay closed."""
    from pomogu.people.models import Organisation

    world = world_db.world
    dana = world_db.client(ROLE["dana"])
    x, y = world.x, world.y
    urls = {
        "case": reverse("portal:case", kwargs={"number": x.case.number}),
        "file": reverse(
            "portal:attachment",
            kwargs={"number": x.case.number, "attachment_id": x.attachment_id},
        ),
        "other": reverse("portal:case", kwargs={"number": y.case.number}),
    }

    def statuses() -> dict[str, int]:
        return {name: dana.get(url).status_code for name, url in urls.items()}

    assert statuses() == {"case": 404, "file": 404, "other": 404}
    with transaction.atomic():
        Organisation.objects.filter(pk=world.vektor.pk).update(shares_cases=True)
        assert statuses() == {"case": 200, "file": 200, "other": 404}
        page = body_of(dana.get(urls["case"]))
        assert "cnrx-body" in page
        assert "dave cnrx-name" in page  # who opened it
        assert not [what for what in INTERNAL if f"cnrx-{what}" in page]
        assert 'action="' + urls["case"] + 'reply/"' not in page  # no reply form
        listing = body_of(dana.get(reverse("portal:home")))
        assert "cnrx-subject" in listing
        assert "cnry-" not in listing
        reply = dana.post(urls["case"] + "reply/", {"body": "Me too"})
        rating = dana.post(
            reverse("portal:rating", kwargs={"number": x.solved.number}), {"rating": "1"}
        )
        assert (reply.status_code, rating.status_code) == (403, 403)
        transaction.set_rollback(True)
    assert statuses() == {"case": 404, "file": 404, "other": 404}
