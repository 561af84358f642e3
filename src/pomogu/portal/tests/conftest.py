"""Fixtures of the portal's tests."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from pomogu.core.testing import Cast
from pomogu.portal.tests.support import sign_in


@pytest.fixture(autouse=True)
def _data_dir(settings: Any, tmp_path: Any) -> None:
    # Attachment files of a test go to its own directory.
    settings.DATA_DIR = tmp_path


@pytest.fixture
def dave_client(cast: Cast) -> Client:
    """A browser signed in to the portal as dave."""
    return sign_in(Client(), cast.dave.email)


@pytest.fixture
def erin_client(cast: Cast) -> Client:
    return sign_in(Client(), cast.erin.email)
