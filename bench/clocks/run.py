"""Deadline benchmark (RELIABILITY.md LD-3, at 5x its bench size): 1,000,000 open cases with
their deadlines in PostgreSQL; then

(a) the idle sweep, nothing due: median and p95 over many runs, with EXPLAIN of its queries;
(b) 10,000 deadlines due at the same moment, handled by two Celery workers on Redis: seconds
    until every one is breached, escalated and its email written to the outbox, and a check
    that each has exactly one failure, one level-1 escalation and one escalation email.

    .venv/bin/python bench/clocks/run.py [--cases 1000000] [--due 10000] [--json FILE]

Needs PostgreSQL (--pg, default postgres://postgres@127.0.0.1:5432) and Redis (--redis, default
redis://127.0.0.1:6379/6; that database number is flushed). It creates (and with --drop drops)
the database pomogu_bench_clocks; --reuse measures again on an existing one without rebuilding.
Method and figures: bench/clocks/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

from common import log, machine, sh  # noqa: E402

PYTHON = sys.executable
DATABASE = "pomogu_bench_clocks"


# --- building the data ---------------------------------------------------------------------

SEED = """
from pomogu.people import services as p
from pomogu.clocks.models import SlaPolicy
lead = p.create_staff('lead', name='Team Lead', email='lead@desk.test')
head = p.create_staff('head', name='Head of Service', email='head@desk.test', role='manager')
team = p.create_team('Support', slug='support', lead=lead, is_default=True)
for i in range(20):
    p.add_member(team, p.create_staff(f'agent{i}', name=f'Agent {i}', email=f'agent{i}@desk.test'))
for i in range(1000):
    p.find_or_create_customer(email=f'customer{i}@example.net', name=f'Customer {i}')
SlaPolicy.objects.create(name='support', team=team, first_response_minutes=60,
                         resolution_minutes=480)
"""

# Every open case has a resolution clock; half of them have been answered (first response
# met), the other half still wait for it. Due times are spread over the next 30 days, so the
# sweep finds nothing due. Rows are what cases.open_case and the clocks write, made in bulk.
BUILD = [
    (
        "cases",
        """
        INSERT INTO cases_case (id, number, subject, state, priority, channel, language,
            created_at, updated_at, first_response_at, last_customer_message_at, resolution,
            resolution_summary, reopen_count, customer_id, owner_id, team_id, thread_token)
        SELECT g, g, 'Bench case ' || g, 'open', 2, 'email', '',
            now() - interval '1 hour', now() - interval '1 hour',
            CASE WHEN g %% 2 = 0 THEN now() - interval '30 minutes' END,
            now() - interval '1 hour', '', '', 0,
            c.ids[1 + g %% array_length(c.ids, 1)], a.ids[1 + g %% array_length(a.ids, 1)],
            %(team)s, substr(md5(g::text), 1, 13)
        FROM generate_series(1, %(cases)s) AS g,
            (SELECT array_agg(id ORDER BY id) AS ids FROM people_customer) AS c,
            (SELECT array_agg(user_id ORDER BY user_id) AS ids FROM people_membership
             WHERE team_id = %(team)s) AS a
        """,
    ),
    (
        "deadlines",
        """
        INSERT INTO clocks_deadline (kind, state, started_at, due_at, target_minutes,
            met_at, created_at, case_id, team_id, responsible_id, policy_id)
        SELECT k.kind,
            CASE WHEN k.kind = 'first_response' AND c.id %% 2 = 0 THEN 'met' ELSE 'pending' END,
            c.created_at,
            now() + interval '1 hour' + (c.id %% 43200) * interval '1 minute',
            CASE WHEN k.kind = 'first_response' THEN 60 ELSE 480 END,
            CASE WHEN k.kind = 'first_response' AND c.id %% 2 = 0 THEN c.first_response_at END,
            c.created_at, c.id, c.team_id, c.owner_id, %(policy)s
        FROM cases_case AS c, (VALUES ('first_response'), ('resolution')) AS k(kind)
        WHERE c.subject LIKE 'Bench case %%'
        """,
    ),
]


def build(base: str, cases: int, env: dict[str, str]) -> dict[str, float]:
    import psycopg

    admin = f"{base}/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        connection.execute(f"CREATE DATABASE {DATABASE}")
    timings: dict[str, float] = {}
    started = time.perf_counter()
    sh(PYTHON, "-m", "pomogu", "migrate", "-v0", env=env)
    sh(PYTHON, "-m", "pomogu", "shell", "-c", SEED, env=env)
    timings["schema_and_seed_seconds"] = round(time.perf_counter() - started, 1)
    with psycopg.connect(f"{base}/{DATABASE}", autocommit=True) as connection:
        connection.execute("SET synchronous_commit = off")
        connection.execute("SET maintenance_work_mem = '512MB'")
        row = connection.execute(
            "SELECT t.id, p.id FROM people_team t JOIN clocks_slapolicy p ON p.team_id = t.id"
        ).fetchone()
        assert row is not None
        team, policy = row
        for name, sql in BUILD:
            step = time.perf_counter()
            connection.execute(sql, {"cases": cases, "team": team, "policy": policy})
            timings[f"{name}_seconds"] = round(time.perf_counter() - step, 1)
            log(f"built {name} in {timings[f'{name}_seconds']} s")
        connection.execute(
            "SELECT setval(pg_get_serial_sequence('cases_case', 'id'), "
            "(SELECT max(id) FROM cases_case))"
        )
        step = time.perf_counter()
        connection.execute("VACUUM ANALYZE")
        timings["vacuum_analyze_seconds"] = round(time.perf_counter() - step, 1)
    timings["total_seconds"] = round(time.perf_counter() - started, 1)
    return timings


def counts() -> dict[str, int]:
    from pomogu.cases.models import Case
    from pomogu.clocks.models import Deadline

    return {
        "open_cases": Case.objects.filter(state="open").count(),
        "deadlines": Deadline.objects.count(),
        "pending_deadlines": Deadline.objects.filter(state="pending").count(),
    }


# --- (a) the idle sweep --------------------------------------------------------------------


def idle_sweep(runs: int) -> dict[str, Any]:
    from django.db import connection
    from django.db.models import Q

    from pomogu.clocks import services, tasks
    from pomogu.clocks.models import Deadline, DeadlineState, Escalation, EscalationState
    from pomogu.core import clock

    now = clock.now()
    assert not services.due_deadline_ids(now), "a deadline is due: not an idle sweep"
    assert not services.due_escalation_ids(now), "an escalation is due: not an idle sweep"
    result: dict[str, Any] = {"runs": runs}
    measured = {
        # The in-process runner's step (pomogu demo, pomogu worker without Celery).
        "services.sweep": services.sweep,
        # The periodic Celery task's body, called here (it sends nothing when nothing is due).
        "clocks.sweep_due": tasks.sweep_due.run,
    }
    for name, function in measured.items():
        function()  # warm: connection, caches
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            function()
            times.append((time.perf_counter() - started) * 1000)
        times.sort()
        result[name] = {
            "median_ms": round(statistics.median(times), 3),
            "p95_ms": round(times[int(len(times) * 0.95) - 1], 3),
            "max_ms": round(times[-1], 3),
        }
        log(f"idle {name}: median {result[name]['median_ms']} ms")
    due_deadlines = (
        Deadline.objects.filter(state=DeadlineState.PENDING, due_at__lte=now)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("due_at")
        .values_list("pk", flat=True)[: services.BATCH]
    )
    due_escalations = (
        Escalation.objects.filter(state=EscalationState.OPEN, ack_due_at__lte=now)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("ack_due_at")
        .values_list("pk", flat=True)[: services.BATCH]
    )
    in_flight = Deadline.objects.filter(
        state=DeadlineState.PENDING, due_at__lte=now, claimed_until__gt=now
    )
    result["explain"] = {
        "due_deadline_ids": due_deadlines.explain(analyze=True, buffers=True),
        "due_escalation_ids": due_escalations.explain(analyze=True, buffers=True),
        "in-flight rows (counted by sweep_due only when something is due)": in_flight.explain(
            analyze=True, buffers=True
        ),
    }
    plan = result["explain"]["due_deadline_ids"]
    result["partial_index_used"] = "deadline_pending_due" in plan
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_relation_size('deadline_pending_due'))")
        result["partial_index_size"] = cursor.fetchone()[0]
    return result


def breach_cost(count: int) -> dict[str, Any]:
    """What a breach costs in one process, without Celery: the ceiling of a worker process.
    One at a time (``services.breach``, what a direct ``clocks.breach`` task does) and in the
    sweep's chunks (``services.breach_many``, what ``clocks.breach_many`` does)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from pomogu.clocks import services
    from pomogu.clocks.models import Deadline, DeadlineState
    from pomogu.core import clock

    ids = list(
        Deadline.objects.filter(state=DeadlineState.PENDING, kind="first_response")
        .order_by("-id")
        .values_list("pk", flat=True)[: 2 * count + services.CHUNK + 1]
    )
    Deadline.objects.filter(pk__in=ids).update(due_at=clock.now() - dt.timedelta(seconds=1))
    one, chunks = ids[1 : count + 1], ids[count + 1 + services.CHUNK :]
    with CaptureQueriesContext(connection) as single:
        services.breach(ids[0])
    with CaptureQueriesContext(connection) as batch:
        services.breach_many(ids[count + 1 : count + 1 + services.CHUNK])
    started = time.perf_counter()
    for deadline_id in one:
        services.breach(deadline_id)
    ms_one = (time.perf_counter() - started) * 1000 / len(one)
    started = time.perf_counter()
    for start in range(0, len(chunks), services.CHUNK):
        services.breach_many(chunks[start : start + services.CHUNK])
    ms_chunked = (time.perf_counter() - started) * 1000 / len(chunks)
    log(
        f"one breach, one process: {ms_one:.1f} ms, {len(single)} statements; in chunks of "
        f"{services.CHUNK}: {ms_chunked:.1f} ms each, {len(batch)} statements per chunk"
    )
    return {
        "deadlines": count,
        "ms_per_breach_one_at_a_time": round(ms_one, 1),
        "statements_one_at_a_time": len(single),
        "chunk": services.CHUNK,
        "ms_per_breach_in_chunks": round(ms_chunked, 2),
        "statements_per_chunk": len(batch),
    }


def close_old_escalations() -> int:
    """A measured database used again: escalations of earlier runs would come due after an
    hour and make the sweep busy; nobody acknowledges them here, so close them."""
    from pomogu.clocks.models import Escalation, EscalationState

    return Escalation.objects.filter(state=EscalationState.OPEN).update(
        state=EscalationState.CLOSED
    )


# --- (b) 10,000 due at once ----------------------------------------------------------------


class Worker:
    def __init__(self, name: str, env: dict[str, str], directory: Path, *args: str) -> None:
        self.log = directory / f"worker-{name}.log"
        with self.log.open("w") as out:
            self.process = subprocess.Popen(
                [PYTHON, "-m", "pomogu", "worker", *args],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while " ready." not in self.log.read_text(errors="replace"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"worker did not start:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)


def due_at_once(
    count: int, env: dict[str, str], redis_url: str, concurrency: int, timeout: float
) -> dict[str, Any]:
    import redis
    from django.db.models import Count

    from pomogu.clocks.models import Deadline, DeadlineState, Escalation
    from pomogu.contact.models import OutboxMessage
    from pomogu.core import clock
    from pomogu.failures.models import Failure

    redis.Redis.from_url(redis_url).flushdb()
    ids = list(
        Deadline.objects.filter(state=DeadlineState.PENDING, kind="first_response")
        .order_by("id")
        .values_list("pk", flat=True)[:count]
    )
    assert len(ids) == count, f"only {len(ids)} pending first-response deadlines left"
    workdir = Path(tempfile.mkdtemp(prefix="pomogu-bench-clocks-"))
    # INFO: the workers' logs show each task (and " ready." when a worker listens).
    env = {
        **env,
        "POMOGU_DATA_DIR": str(workdir),
        "POMOGU_REDIS_URL": redis_url,
        "POMOGU_LOG_LEVEL": "INFO",
    }
    workers = [
        Worker("a", env, workdir, "--concurrency", str(concurrency)),
        Worker("b", env, workdir, "--concurrency", str(concurrency), "--beat"),
    ]
    try:
        for worker in workers:
            worker.wait_ready()
        time.sleep(2)  # let the first beat ticks pass
        now = clock.now()
        # One statement: all of them become due at the same moment (a second ago).
        Deadline.objects.filter(pk__in=ids).update(due_at=now - dt.timedelta(seconds=1))
        started = time.monotonic()
        breached = 0
        progress = []
        while breached < count and time.monotonic() - started < timeout:
            time.sleep(0.5)
            breached = Deadline.objects.filter(pk__in=ids, state=DeadlineState.BREACHED).count()
            progress.append((round(time.monotonic() - started, 1), breached))
        seconds = time.monotonic() - started
    finally:
        for worker in workers:
            worker.stop()
    first = next((t for t, n in progress if n > 0), None)
    escalations = Escalation.objects.filter(deadline_id__in=ids)
    per_level = escalations.values("deadline", "level").annotate(n=Count("id"))
    result = {
        "due": count,
        "workers": 2,
        "concurrency_per_worker": concurrency,
        "breached": breached,
        "seconds_until_all_breached": round(seconds, 1) if breached == count else None,
        "seconds_until_first_breach": first,
        "deadlines_per_second": round(breached / seconds, 1),
        "failures": Failure.objects.filter(key__in=[f"deadline:{pk}:breach" for pk in ids]).count(),
        "level_1_escalations": escalations.filter(level=1).count(),
        "duplicate_escalations": sum(1 for row in per_level if row["n"] > 1),
        "escalation_emails": OutboxMessage.objects.filter(
            dedupe_key__in=[f"escalation:{pk}" for pk in escalations.values_list("pk", flat=True)]
        ).count(),
        "progress": progress[:: max(1, len(progress) // 30)],
        "worker_logs": str(workdir),
    }
    log(
        f"{count} due at once: {result['breached']} breached in {seconds:.1f} s "
        f"({result['deadlines_per_second']}/s)"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/6")
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=300, help="idle sweeps to time")
    parser.add_argument("--concurrency", type=int, default=2, help="processes per worker")
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--reuse", action="store_true", help="measure the existing database")
    parser.add_argument("--drop", action="store_true", help="drop the database at the end")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "clocks.json")
    args = parser.parse_args()

    url = f"{args.pg}/{DATABASE}"
    data_dir = Path(tempfile.mkdtemp(prefix="pomogu-bench-clocks-data-"))
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "POMOGU_DATA_DIR": str(data_dir),
        "POMOGU_LOG_LEVEL": "WARNING",
        "POMOGU_EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
    }
    for name in ("POMOGU_FAULTS", "CELERY_BROKER_URL", "POMOGU_REDIS_URL"):
        env.pop(name, None)
    results: dict[str, Any] = {"machine": machine(), "cases": args.cases}
    if not args.reuse:
        results["build"] = build(args.pg, args.cases, env)
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "POMOGU_DATA_DIR", "POMOGU_LOG_LEVEL")})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pomogu.settings")
    import django
    from django.db import connection

    django.setup()
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        results["machine"]["postgresql"] = cursor.fetchone()[0]
    if args.reuse:
        close_old_escalations()
    results["data"] = counts()
    log(f"data: {results['data']}")
    results["idle_sweep"] = idle_sweep(args.runs)
    results["breach_in_one_process"] = breach_cost(200)
    results["due_at_once"] = due_at_once(args.due, env, args.redis, args.concurrency, args.timeout)
    results["machine"]["load_average_at_end"] = os.getloadavg()
    results["measured_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    if args.drop:
        connection.close()
        import psycopg

        with psycopg.connect(f"{args.pg}/postgres", autocommit=True) as admin:
            admin.execute(f"DROP DATABASE {DATABASE}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    idle = results["idle_sweep"]
    due = results["due_at_once"]
    print(f"build: {results.get('build', {}).get('total_seconds', 'reused')} s")
    print(f"data: {results['data']}")
    for name in ("services.sweep", "clocks.sweep_due"):
        print(f"idle {name}: median {idle[name]['median_ms']} ms, p95 {idle[name]['p95_ms']} ms")
    print(f"partial index used: {idle['partial_index_used']} ({idle['partial_index_size']})")
    cost = results["breach_in_one_process"]
    print(
        f"one breach, one process: {cost['ms_per_breach_one_at_a_time']} ms, "
        f"{cost['statements_one_at_a_time']} statements; in chunks of {cost['chunk']}: "
        f"{cost['ms_per_breach_in_chunks']} ms each, {cost['statements_per_chunk']} statements "
        "per chunk"
    )
    print(
        f"{due['due']} due at once, 2 workers x {due['concurrency_per_worker']}: "
        f"all breached in {due['seconds_until_all_breached']} s "
        f"({due['deadlines_per_second']} deadlines/s); failures {due['failures']}, "
        f"level-1 escalations {due['level_1_escalations']}, "
        f"duplicates {due['duplicate_escalations']}, emails {due['escalation_emails']}"
    )
    print(f"written to {args.json}")


if __name__ == "__main__":
    main()
