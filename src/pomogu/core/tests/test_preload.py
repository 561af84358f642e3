"""``pomogu web``'s gunicorn master loads the application and the shipped models once and forks
workers that share them; nothing a worker must own alone (a database connection, a thread, a
socket) is handed down from the master."""

from __future__ import annotations

import concurrent.futures
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from django.db import connections

from pomogu.core import preload


def test_warming_loads_the_shipped_models_without_the_database_and_closes_connections(
    django_db_blocker: Any,
) -> None:
    import py3langid.langid  # type: ignore[import-untyped]

    from pomogu.triage import anger

    with django_db_blocker.unblock():
        connections["default"].ensure_connection()  # as if loading had opened one
    # The database is blocked again: a query while warming fails the test.
    preload.warm()
    assert py3langid.langid.IDENTIFIER is not None
    assert anger.shipped_model.cache_info().currsize == 1
    assert [c.alias for c in connections.all() if c.connection is not None] == []


def test_warming_refuses_to_hand_a_thread_or_a_socket_to_the_workers() -> None:
    held = preload._inheritable()
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, name="left-behind")
    thread.start()
    try:
        with pytest.raises(RuntimeError, match="thread left-behind"):
            preload._let_go(held)
    finally:
        stop.set()
        thread.join()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        with pytest.raises(RuntimeError, match=r"socket:\["):
            preload._let_go(held)
    preload._let_go(held)  # nothing left: no complaint


# --- `pomogu web` as an operator runs it ----------------------------------------------------


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        found += [int(child) for child in task.read_text().split()]
    return sorted(found)


def _open_files(pid: int) -> list[str]:
    found = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            found.append(os.readlink(fd))
        except OSError:
            continue
    return found


def _get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 - loopback
        return int(answer.status)


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="reads /proc (Linux)")
def test_web_workers_forked_from_the_preloaded_master_use_their_own_database_connection(
    tmp_path: Path,
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "POMOGU_DATA_DIR": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    for name in ("DATABASE_URL", "POMOGU_REDIS_URL", "CELERY_BROKER_URL"):
        env.pop(name, None)
    # Each access line says which process answered.
    env["GUNICORN_CMD_ARGS"] = "--access-logformat '%(p)s %(s)s %(U)s'"
    access = tmp_path / "access.log"
    with access.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "pomogu", "web", "--port", str(port), "--workers", "2"],
            env=env,
            stdout=out,
            stderr=subprocess.PIPE,
        )
    url = f"http://127.0.0.1:{port}/healthz"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, process.communicate()[1].decode()[-3000:]
            try:
                assert _get(url) == 200
                break
            except OSError:
                assert time.monotonic() < deadline, "pomogu web did not answer in 30 s"
                time.sleep(0.2)
        master = process.pid  # `pomogu web` replaced itself with gunicorn's master
        while len(_children(master)) < 2:
            assert time.monotonic() < deadline, "gunicorn did not fork 2 workers"
            time.sleep(0.1)
        workers = set(_children(master))

        # The master holds no database file and runs no thread to hand down.
        assert not [f for f in _open_files(master) if "sqlite3" in f]
        assert os.listdir(f"/proc/{master}/task") == [str(master)]

        # /healthz asks the database: every worker answers it with a connection of its own.
        answered: set[int] = set()
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            while answered != workers:
                assert time.monotonic() < deadline, f"only {answered} of {workers} answered"
                assert set(pool.map(_get, [url] * 16)) == {200}
                time.sleep(0.1)  # the access line follows the answer
                lines = access.read_text()
                answered = {int(p) for p in re.findall(r"<(\d+)> 200 /healthz", lines)}
        assert not re.search(r"<\d+> [45]\d\d", access.read_text())
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
