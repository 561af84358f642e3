"""The operator's commands: ``pomogu token``, ``pomogu worker``, ``pomogu web``."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from pomogu.cases.services import add_message
from pomogu.contact.models import OutboxMessage, OutboxState
from pomogu.core.management.commands import web
from pomogu.core.testing import Cast
from pomogu.people.models import ApiToken
from pomogu.people.services import user_for_token


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_token_create_prints_a_working_token_as_its_last_line(cast: Cast) -> None:
    out = run("token", "create", "bob", "--name", "ci")
    token = out.strip().splitlines()[-1]
    assert user_for_token(token) == cast.bob
    row = ApiToken.objects.get(user=cast.bob)
    assert row.name == "ci"
    assert token.startswith(row.prefix)
    assert row.digest != token  # only the digest is stored


def test_token_create_for_an_unknown_user_fails_clearly(cast: Cast) -> None:
    with pytest.raises(CommandError, match="No staff member nobody"):
        run("token", "create", "nobody")
    assert not ApiToken.objects.exists()


def test_token_create_for_a_disabled_user_fails(cast: Cast) -> None:
    cast.bob.is_active = False
    cast.bob.save()
    with pytest.raises(CommandError, match="disabled"):
        run("token", "create", "bob")


def test_token_list_shows_prefixes_never_tokens(cast: Cast) -> None:
    token = run("token", "create", "bob").strip().splitlines()[-1]
    listing = run("token", "list", "bob")
    assert token[:12] in listing
    assert token not in listing
    assert "active" in listing
    assert "no API tokens" in run("token", "list", "alice")


def test_token_revoke_makes_it_stop_working(cast: Cast) -> None:
    token = run("token", "create", "bob").strip().splitlines()[-1]
    other = run("token", "create", "bob").strip().splitlines()[-1]
    assert user_for_token(token) == cast.bob
    out = run("token", "revoke", token[:12])
    assert "Revoked" in out
    assert user_for_token(token) is None
    assert user_for_token(other) == cast.bob  # only that one
    assert "revoked" in run("token", "list", "bob")
    with pytest.raises(CommandError, match="No active token"):
        run("token", "revoke", token[:12])
    # The whole token works as well as its prefix.
    run("token", "revoke", other)
    assert user_for_token(other) is None


def test_token_revoke_refuses_something_that_is_not_a_token(cast: Cast) -> None:
    with pytest.raises(CommandError, match="starts with"):
        run("token", "revoke", "abc")


def test_worker_once_sends_the_outbox(transactional_db: Any, cast: Cast, settings: Any) -> None:
    # transactional_db: a runner pass closes its database connection when done, as it must in
    # a long-running process; inside a test transaction that would end the test's database.
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    case = cast.open_case()
    add_message(case.pk, actor=cast.bob, body="Здравствуйте! Проверяем линию.")
    out = run("worker", "--once")
    assert "outbox: 1" in out
    assert OutboxMessage.objects.get().state == OutboxState.SENT


def test_web_runs_gunicorn_with_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []
    monkeypatch.setattr(web.os, "execv", lambda path, argv: calls.append([path, *argv]))
    monkeypatch.setenv("HOST", "0.0.0.0")  # noqa: S104 - what a container sets
    monkeypatch.setenv("PORT", "9000")
    monkeypatch.setenv("WEB_CONCURRENCY", "5")
    run("web")
    path, *argv = calls[0]
    assert path == sys.executable
    assert argv[1:] == [
        "-m",
        "gunicorn",
        "pomogu.core.preload:application()",
        "--preload",  # the master loads the app and the shipped models; the workers share them
        "--bind",
        "0.0.0.0:9000",
        "--workers",
        "5",
        "--access-logfile",
        "-",
        "--logger-class",
        "pomogu.core.redact.AccessLogger",
    ]
    calls.clear()
    run("web", "--port", "8001", "--workers", "3", "--host", "::1")
    assert "[::1]:8001" in calls[0]
    assert "3" in calls[0]


def test_web_refuses_a_bad_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(web.os, "execv", lambda path, argv: None)
    monkeypatch.setenv("WEB_CONCURRENCY", "many")
    with pytest.raises(CommandError, match="WEB_CONCURRENCY"):
        run("web")


# --- as a separate process, the way an operator runs them -----------------------------------


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated data directory with one staff member, shared by the process tests."""
    path = tmp_path_factory.mktemp("pomogu-data")
    code = (
        "from django.core.management import call_command; "
        "call_command('migrate', verbosity=0); "
        "from pomogu.people.services import create_staff; create_staff('zoe', name='Zoe Agent')"
    )
    result = pomogu(path, "shell", "-c", code)
    assert result.returncode == 0, result.stderr
    return path


def _env(path: Path) -> dict[str, str]:
    env = {**os.environ, "POMOGU_DATA_DIR": str(path), "PYTHONUNBUFFERED": "1"}
    for name in ("DATABASE_URL", "POMOGU_REDIS_URL", "CELERY_BROKER_URL"):
        env.pop(name, None)
    return env


def pomogu(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pomogu", *args],
        env=_env(path),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_token_command_exit_codes(data_dir: Path) -> None:
    made = pomogu(data_dir, "token", "create", "zoe")
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip().splitlines()[-1].startswith("pmg_")
    missing = pomogu(data_dir, "token", "create", "nobody")
    assert missing.returncode != 0
    assert "No staff member nobody" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_worker_stops_cleanly_on_sigint_and_sigterm(data_dir: Path) -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):
        process = subprocess.Popen(
            [sys.executable, "-m", "pomogu", "worker", "--interval", "0.2"],
            env=_env(data_dir),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert process.stdout is not None
        started = process.stdout.readline()
        assert "runner started" in started
        time.sleep(0.5)
        process.send_signal(sig)
        assert process.wait(15) == 0
        assert "Stopped." in process.stdout.read()
