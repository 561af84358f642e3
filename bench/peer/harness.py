"""What both sides of the side-by-side bench are driven with: databases on the one PostgreSQL
server, web servers started and stopped by PID, a bounded wrk load, the machine's load average
before a measurement, and the memory of a server's workers."""

from __future__ import annotations

import contextlib
import math
import os
import re
import signal
import socket
import statistics
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from common import log

PREFIX = "bench_peer_"  # every database this bench writes


# --- PostgreSQL ----------------------------------------------------------------------------


def psql(base: str, sql: str, database: str = "postgres") -> str:
    done = subprocess.run(
        ["psql", f"{base}/{database}", "-tAqc", sql],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if done.returncode != 0:
        raise SystemExit(f"psql {database}: {sql}\n{done.stderr}")
    return done.stdout.strip()


def database_exists(base: str, name: str) -> bool:
    assert name.isidentifier(), name
    return psql(base, f"SELECT 1 FROM pg_database WHERE datname = '{name}'") == "1"  # noqa: S608


def fresh_database(base: str, name: str, owner: str | None = None) -> None:
    assert name.startswith(PREFIX), f"{name}: this bench writes only to {PREFIX}* databases"
    psql(base, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    psql(base, f"CREATE DATABASE {name}" + (f" OWNER {owner}" if owner else ""))


def drop_database(base: str, name: str) -> None:
    assert name.startswith(PREFIX), name
    psql(base, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


# --- the machine's load ----------------------------------------------------------------------


def wait_quiet(max_wait: float, below: float = 1.0, label: str = "") -> dict[str, Any]:
    """Wait (at most ``max_wait`` seconds) until the 1-minute load average is below ``below``;
    measure anyway after that, and say so: the figure carries the load it was measured at."""
    started = time.monotonic()
    load = os.getloadavg()[0]
    while load >= below and time.monotonic() - started < max_wait:
        time.sleep(15)
        load = os.getloadavg()[0]
    waited = round(time.monotonic() - started)
    quiet = load < below
    if not quiet:
        log(f"{label}: load average {load:.2f} after {waited} s of waiting; measuring anyway")
    elif waited:
        log(f"{label}: load average {load:.2f} after {waited} s")
    return {"load_1min_before": round(load, 2), "waited_s": waited, "quiet": quiet}


def load_now() -> float:
    return round(os.getloadavg()[0], 2)


# --- servers ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            found += [int(child) for child in task.read_text().split()]
    return sorted(found)


def memory(pid: int) -> dict[str, float]:
    """Of a process, MiB: VmRSS (now) and VmHWM (the peak) from /proc/PID/status; Pss (its
    proportional share: each page divided by the number of processes mapping it) and Uss (its
    unique set: Private_Clean + Private_Dirty, what its exit would give back) from
    /proc/PID/smaps_rollup. RSS counts the pages a gunicorn worker shares with its master and
    its siblings in full, once in every worker; Pss and Uss do not."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = round(int(rest.split()[0]) / 1024, 1)
    kib: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        key, _, rest = line.partition(":")
        if key in ("Pss", "Private_Clean", "Private_Dirty"):
            kib[key] = int(rest.split()[0])
    values["Pss"] = round(kib["Pss"] / 1024, 1)
    values["Uss"] = round((kib["Private_Clean"] + kib["Private_Dirty"]) / 1024, 1)
    return values


class Server:
    """A web server we start, wait for, and stop by its PID (and its workers' PIDs)."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: dict[str, str],
        ready_path: str,
        port: int,
        log_path: Path,
        cwd: Path | None = None,
    ) -> None:
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(
            list(argv), env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=self._log
        )
        self.pid = self.process.pid
        deadline = time.monotonic() + 90
        while True:
            if self.process.poll() is not None:
                tail = log_path.read_text(errors="replace")[-2000:]
                raise SystemExit(f"{argv[0]} exited with {self.process.returncode}:\n{tail}")
            try:
                with urllib.request.urlopen(self.base + ready_path, timeout=5) as answer:  # noqa: S310
                    if answer.status < 500:
                        break
            except urllib.error.HTTPError as error:
                if error.code < 500:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"{argv[0]} did not answer {ready_path} in 90 s")
            time.sleep(0.5)
        # gunicorn forks its workers after it binds: wait until they are all there.
        time.sleep(1.0)

    def workers(self) -> list[int]:
        return children(self.pid)

    def worker_memory(self) -> dict[str, Any]:
        """RSS, PSS and USS of the workers (largest and median) and of the master; and the PSS
        of the whole server (master and workers), the memory it costs the machine."""
        per_worker = {str(pid): memory(pid) for pid in self.workers()}
        master = memory(self.pid)

        def largest(key: str) -> float:
            return max((m[key] for m in per_worker.values()), default=0)

        def median(key: str) -> float:
            found = [m[key] for m in per_worker.values()]
            return round(statistics.median(found), 1) if found else 0

        return {
            "workers": per_worker,
            "max_rss_mib": largest("VmRSS"),
            "median_rss_mib": median("VmRSS"),
            "max_hwm_mib": largest("VmHWM"),
            "max_pss_mib": largest("Pss"),
            "median_pss_mib": median("Pss"),
            "max_uss_mib": largest("Uss"),
            "median_uss_mib": median("Uss"),
            "master_rss_mib": master["VmRSS"],
            "master_pss_mib": master["Pss"],
            "master_uss_mib": master["Uss"],
            "total_pss_mib": round(master["Pss"] + sum(m["Pss"] for m in per_worker.values()), 1),
        }

    def stop(self) -> None:
        workers = self.workers()
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            self.process.wait(10)
        for pid in workers:  # normally gone with their master
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self._log.close()


@contextlib.contextmanager
def serving_server(server: Server) -> Iterator[Server]:
    try:
        yield server
    finally:
        server.stop()


# --- load ------------------------------------------------------------------------------------

SUMMARY_RE = re.compile(
    r"LUA_SUMMARY created_201=(\d+) other_status=(\d+) requests=(\d+) duration_s=([\d.]+)"
)
LATENCY_RE = re.compile(
    r"LUA_LATENCY_MS p50=([\d.]+) p90=([\d.]+) p99=([\d.]+) max=([\d.]+) mean=([\d.]+)"
)


def wrk(
    url: str,
    script: Path,
    env: dict[str, str],
    *,
    connections: int,
    seconds: int,
    threads: int = 2,
) -> dict[str, Any]:
    """A wrk run bounded in time (-d) and, through the Lua script, in count. Rates count 201s."""
    assert url.startswith("http://127.0.0.1:"), url
    argv = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "30s",
        "--latency",
        "-s",
        str(script),
        url,
    ]
    done = subprocess.run(
        argv,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=seconds + 90,
        check=False,
    )
    summary = SUMMARY_RE.search(done.stdout)
    latency = LATENCY_RE.search(done.stdout)
    if done.returncode != 0 or not summary or not latency:
        raise SystemExit(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    created, other, requests = (int(summary.group(i)) for i in (1, 2, 3))
    duration = float(summary.group(4))
    p50, p90, p99, top, mean = (float(latency.group(i)) for i in range(1, 6))
    errors = re.search(r"Socket errors: .*", done.stdout)
    return {
        "connections": connections,
        "threads": threads,
        "seconds_limit": seconds,
        "created": created,
        "other_status": other,
        "requests": requests,
        "duration_s": duration,
        "per_second": round(created / duration, 1),
        "p50_ms": p50,
        "p90_ms": p90,
        "p99_ms": p99,
        "max_ms": top,
        "mean_ms": mean,
        "socket_errors": errors.group(0) if errors else "",
    }


def warm_up(url: str, headers: dict[str, str], body: Callable[[int], bytes], n: int = 48) -> None:
    """The same warm-up for both servers: 8 requests one by one, then ``n - 8`` from 4
    threads, so that every worker has loaded its code and opened its connection."""
    assert url.startswith("http://127.0.0.1:"), url

    def post(i: int) -> None:
        request = urllib.request.Request(  # noqa: S310 - loopback
            url, data=body(i), headers={**headers, "Content-Type": "application/json"}
        )
        with contextlib.suppress(OSError), urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            answer.read()

    for i in range(8):
        post(i)
    counter = iter(range(8, n))
    lock = threading.Lock()

    def worker() -> None:
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            post(i)

    pool = [threading.Thread(target=worker) for _ in range(4)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(120)


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest rank, as bench/pages reports it."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(share * len(ordered))))
    return ordered[rank - 1]


def describe(times_ms: Sequence[float]) -> dict[str, Any]:
    return {
        "n": len(times_ms),
        "median_ms": round(statistics.median(times_ms), 1),
        "p95_ms": round(percentile(times_ms, 0.95), 1),
        "min_ms": round(min(times_ms), 1),
        "max_ms": round(max(times_ms), 1),
    }


# --- CPU -------------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU a live process has used, 0 once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def backend_pids(base: str, database: str) -> list[int]:
    """The PostgreSQL backends connected to this database now."""
    assert database.isidentifier(), database
    found = psql(base, f"SELECT pid FROM pg_stat_activity WHERE datname = '{database}'")  # noqa: S608
    return [int(pid) for pid in found.split()]


def machine_busy_seconds() -> float:
    """CPU time the whole machine has spent not idle (all cores), from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU spent during a measurement by the web workers, by the PostgreSQL backends of the
    database they use, and by the whole machine (other people's work included). Backends are
    counted only when the server keeps its connections (pomogu: ``CONN_MAX_AGE=60``); with a
    connection per request (the peer's ``CONN_MAX_AGE=0``) they exit before they can be read."""

    def __init__(
        self, workers: Sequence[int], base: str, database: str, *, persistent: bool = True
    ) -> None:
        self.workers = list(workers)
        self.base, self.database, self.persistent = base, database, persistent
        self.web = {pid: cpu_seconds(pid) for pid in self.workers}
        self.backends = {pid: cpu_seconds(pid) for pid in backend_pids(base, database)}
        self.machine = machine_busy_seconds()

    def per_request(self, requests: int) -> dict[str, float | None]:
        web = sum(cpu_seconds(pid) - self.web[pid] for pid in self.workers)
        backends = backend_pids(self.base, self.database)
        database = sum(cpu_seconds(pid) - self.backends.get(pid, 0.0) for pid in backends)
        machine = machine_busy_seconds() - self.machine
        n = max(requests, 1)
        return {
            "web_workers_cpu_ms": round(web * 1000 / n, 2),
            "postgresql_cpu_ms": round(database * 1000 / n, 2) if self.persistent else None,
            "machine_busy_cpu_ms": round(machine * 1000 / n, 2),
        }


# --- pages -----------------------------------------------------------------------------------


def time_pages(
    kinds: Sequence[tuple[str, str, Callable[[], dict[str, float]]]],
    *,
    warm: int,
    reps: int,
    meter: Callable[[], CpuMeter] | None = None,
    cpu_reps: int = 20,
) -> dict[str, Any]:
    """Each kind ``warm`` times untimed, then ``reps`` timed rounds, round robin over the kinds
    (as bench/pages does), so that every kind sees the same load from the rest of the machine.
    One client, one request at a time; a kind's time is the sum of its parts (a page and the
    rows it then asks for). With ``meter``, then ``cpu_reps`` more views of each kind, one kind
    at a time, for the CPU one view costs."""
    for _name, _label, fetch in kinds:
        for _ in range(warm):
            fetch()
    parts: dict[str, dict[str, list[float]]] = {name: {} for name, _l, _f in kinds}
    totals: dict[str, list[float]] = {name: [] for name, _l, _f in kinds}
    for _ in range(reps):
        for name, _label, fetch in kinds:
            got = fetch()
            totals[name].append(sum(got.values()))
            for part, ms in got.items():
                parts[name].setdefault(part, []).append(ms)
    result = {}
    for name, label, _fetch in kinds:
        result[name] = {"label": label, **describe(totals[name])}
        if len(parts[name]) > 1:
            result[name]["parts"] = {part: describe(ms) for part, ms in parts[name].items()}
    if meter is not None:
        for name, _label, fetch in kinds:
            measuring = meter()
            for _ in range(cpu_reps):
                fetch()
            result[name]["cpu_per_view"] = measuring.per_request(cpu_reps)
    return result
