"""Fault tests with real processes (RELIABILITY.md FT-1, FT-2): the LMTP endpoint runs as its own
process (`pomogu lmtp`) on a private PostgreSQL cluster that the test stops and starts."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from pomogu.core.smtp_sink import free_port
from pomogu.intake.tests.lmtp_client import LmtpClient
from pomogu.intake.tests.mails import customer_mail

PG_BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
pytestmark = pytest.mark.skipif(not PG_BIN, reason="PostgreSQL server binaries are not installed")


def _as_postgres(*command: str) -> list[str]:
    # initdb and postgres refuse to run as root.
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else list(command)


@dataclass
class Cluster:
    bindir: Path
    datadir: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/pomogu"

    def ctl(self, *args: str) -> None:
        subprocess.run(
            _as_postgres(str(self.bindir / "pg_ctl"), "-D", str(self.datadir), *args),
            check=True,
            capture_output=True,
            timeout=60,
        )

    def start(self) -> None:
        self.ctl(
            "-w",
            "-o",
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.datadir} -c fsync=off",
            "-l",
            str(self.datadir / "log"),
            "start",
        )

    def stop_immediately(self) -> None:
        self.ctl("-m", "immediate", "-w", "stop")

    def count(self, sql: str) -> int:
        with psycopg.connect(self.url) as connection:
            row = connection.execute(sql).fetchone()
            assert row is not None
            return int(row[0])


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    root = Path(tempfile.mkdtemp(prefix="pomogu-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    datadir = root / "data"
    bindir = PG_BIN[-1]
    subprocess.run(
        _as_postgres(
            str(bindir / "initdb"),
            "-D",
            str(datadir),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
        ),
        check=True,
        capture_output=True,
        timeout=120,
    )
    pg = Cluster(bindir, datadir, free_port())
    pg.start()
    subprocess.run(
        _as_postgres(
            str(bindir / "createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(pg.port),
            "-U",
            "postgres",
            "pomogu",
        ),
        check=True,
        timeout=60,
    )
    try:
        yield pg
    finally:
        subprocess.run(
            _as_postgres(str(bindir / "pg_ctl"), "-D", str(datadir), "-m", "immediate", "stop"),
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(root, ignore_errors=True)


def _env(pg: Cluster, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": pg.url, "POMOGU_DATA_DIR": str(data_dir), **extra}
    env.pop("POMOGU_FAULTS", None)
    env.update(extra)
    return env


def _pomogu(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pomogu", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _prepare(pg: Cluster, data_dir: Path) -> None:
    env = _env(pg, data_dir)
    assert _pomogu(env, "migrate", "-v0").returncode == 0
    setup = (
        "from pomogu.people import services as p; a = p.create_staff('alice');"
        "p.create_team('Support', slug='support', lead=a, is_default=True)"
    )
    made = _pomogu(env, "shell", "-c", setup)
    assert made.returncode == 0, made.stderr


class Endpoint:
    def __init__(self, env: dict[str, str]) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pomogu", "lmtp", "--port", str(self.port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                LmtpClient("127.0.0.1", self.port, timeout=5).close()
                return
            except OSError:
                assert self.process.poll() is None, self.process.stdout.read()  # type: ignore[union-attr]
                assert time.monotonic() < deadline, "the LMTP endpoint did not start"
                time.sleep(0.1)

    def send(self, raw: bytes) -> int:
        client = LmtpClient("127.0.0.1", self.port, timeout=30)
        try:
            [reply] = client.send("dave@customer.test", ["support@desk.test"], raw)
            return reply.code
        finally:
            client.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        self.process.wait(15)


def _mail(n: int, *, message_id: bool = True) -> bytes:
    return customer_mail(
        subject=f"Нет интернета {n}",
        body=f"Сообщение номер {n}\n",
        message_id=f"<fault-{n}@customer.test>" if message_id else "",
    )


def test_database_down_during_delivery_is_451_and_every_message_arrives_once(
    cluster: Cluster, tmp_path: Path
) -> None:
    """FT-1: while PostgreSQL is down every delivery is 451 4.3.0 (no 250, no 5xx, no hang);
    after the restart the sender's retries store each message exactly once."""
    _prepare(cluster, tmp_path)
    endpoint = Endpoint(_env(cluster, tmp_path))
    try:
        assert [endpoint.send(_mail(n)) for n in range(3)] == [250, 250, 250]
        cluster.stop_immediately()
        started = time.monotonic()
        during = [endpoint.send(_mail(n)) for n in range(3, 6)]
        assert during == [451, 451, 451]
        assert time.monotonic() - started < 30
        cluster.start()
        # The sending server retries everything it was not sure of, and some it was.
        after = [endpoint.send(_mail(n)) for n in range(6)]
        assert after == [250] * 6
    finally:
        endpoint.stop()
    assert cluster.count("select count(*) from intake_inboundmessage") == 6
    assert cluster.count("select count(*) from cases_case") == 6
    assert cluster.count("select count(distinct rfc_message_id) from intake_inboundmessage") == 6


@pytest.mark.parametrize("with_message_id", [True, False])
def test_crash_after_commit_before_250_makes_no_duplicate(
    cluster: Cluster, tmp_path: Path, with_message_id: bool
) -> None:
    """FT-2: the endpoint dies after committing and before answering; the sender retries the
    same bytes to a restarted endpoint: one case, by Message-ID or by the raw bytes' hash."""
    _prepare(cluster, tmp_path)
    dying = Endpoint(_env(cluster, tmp_path, POMOGU_FAULTS="lmtp.after_commit_before_reply:kill"))
    raws = [_mail(n, message_id=with_message_id) for n in range(5)]
    try:
        for raw in raws:
            with pytest.raises((ConnectionError, OSError)):
                dying.send(raw)
            dying.stop()
            dying = Endpoint(
                _env(cluster, tmp_path, POMOGU_FAULTS="lmtp.after_commit_before_reply:kill")
            )
    finally:
        dying.stop()
    healthy = Endpoint(_env(cluster, tmp_path))
    try:
        assert [healthy.send(raw) for raw in raws] == [250] * 5
    finally:
        healthy.stop()
    assert cluster.count("select count(*) from cases_case") == 5
    assert cluster.count("select count(*) from intake_inboundmessage") == 5
