"""Shared fixtures: the cast, API clients holding each person's token."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from pomogu.core.testing import Cast, make_cast
from pomogu.people.services import create_token


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    # PBKDF2 at full strength costs ~0.3 s per password; tests check behaviour, not hashing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_address_cache() -> None:
    # A test's rolled-back mailboxes send no delete signal; start each test with no cache.
    from pomogu.intake.services import _forget_own_addresses

    _forget_own_addresses()


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    # Figures the dashboard caches for a few minutes must not outlive the test that made them.
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(scope="session", autouse=True)
def _end_stray_sessions(django_db_setup: Any, django_db_blocker: Any) -> Any:
    """Fault tests kill processes that were connected to the test database on purpose; end
    whatever session is left so that the test database can be dropped after the run."""
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture
def cast(db: Any) -> Cast:
    return make_cast()


class ApiClient:
    """A Django test client that speaks JSON to /api/v1 with one person's bearer token."""

    def __init__(self, token: str | None) -> None:
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def _call(self, method: str, path: str, json: Any = None, **extra: Any) -> Any:
        url = "/api/v1" + path
        fn = getattr(self.client, method)
        if json is None:
            return fn(url, headers=self.headers, **extra)
        return fn(url, data=json, content_type="application/json", headers=self.headers, **extra)

    def get(self, path: str, **extra: Any) -> Any:
        return self._call("get", path, **extra)

    def post(self, path: str, json: Any = None, **extra: Any) -> Any:
        return self._call("post", path, json if json is not None else {}, **extra)

    def put(self, path: str, json: Any = None, **extra: Any) -> Any:
        return self._call("put", path, json if json is not None else {}, **extra)

    def delete(self, path: str, **extra: Any) -> Any:
        return self._call("delete", path, **extra)


@pytest.fixture
def api(cast: Cast) -> Any:
    """``api("bob")`` is a client authenticated as bob; ``api(None)`` is anonymous."""
    tokens: dict[str, str] = {}

    def for_user(name: str | None) -> ApiClient:
        if name is None:
            return ApiClient(None)
        if name not in tokens:
            tokens[name] = create_token(getattr(cast, name))
        return ApiClient(tokens[name])

    return for_user
