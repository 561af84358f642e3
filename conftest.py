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
