"""Where one message's time goes inside ``intake.services.receive``: the bench corpus (1,800
wave-1 messages, then 200 replies to the acknowledgements) through ``receive()`` in one process
set up as an LMTP worker is, one message after another, on a fresh PostgreSQL database seeded
like ``run.py``'s.

It reports, per message: wall time, the process's CPU time, the statements sent to PostgreSQL
and the time spent waiting for them (commit included), and with ``--profile`` the cumulative
CPU time of each step of the pipeline (cProfile; its own overhead inflates the totals by about
a third, the shares stay right).

    .venv/bin/python bench/intake/profile_receive.py [--profile] [--top 40]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "src"))

import run  # noqa: E402 - the bench script next to this one: same corpus, same seed

# The steps of the pipeline, by the function that does each (module path, function name).
STEPS = [
    ("parse (charset repair, nh3, quote folding)", "intake/parsing/_mail.py", "parse"),
    ("thread lookup (keys, Message-IDs, tag)", "intake/services.py", "find_case"),
    ("customer lookup or creation", "intake/services.py", "_customer_of"),
    ("recurrence matcher", "cases/recurrence.py", "find_safely"),
    ("triage router (model + teams)", "triage/services.py", "route"),
    ("routing decision record", "triage/services.py", "record"),
    ("open case (whole)", "cases/services.py", "open_case_with_message"),
    ("owner choice", "people/services.py", "pick_owner"),
    ("customer message on an existing case", "cases/services.py", "add_customer_message"),
    ("language detection", "triage/text.py", "detect_language"),
    ("anger (the detector)", "triage/attention.py", "read"),
    ("anger's effects (priority, lead, register)", "triage/attention.py", "notice"),
    ("clocks (deadlines per event)", "clocks/services.py", "on_event"),
    ("acknowledgement (governor, outbox)", "intake/services.py", "acknowledge"),
    ("folded quote", "intake/services.py", "folded_quote"),
    ("attachments", "intake/services.py", "_keep_attachments"),
    ("thread keys", "intake/services.py", "register_thread_keys"),
    ("loop breaker", "intake/services.py", "_looks_like_a_loop"),
    ("receive (all of it)", "intake/services.py", "receive"),
    ("Django SQL compiler", "django/db/models/sql/compiler.py", "as_sql"),
    ("model instances from rows", "django/db/models/base.py", "from_db"),
    ("psycopg execute (waiting for PostgreSQL)", "psycopg/cursor.py", "execute"),
]


class Statements:
    """Counts statements and the time spent in them (a Django execute wrapper)."""

    def __init__(self, by_statement: dict[str, list[float]]) -> None:
        self.count = 0
        self.seconds = 0.0
        self.by_kind: dict[str, int] = {}
        self.by_statement = by_statement

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started
            self.count += 1
            elapsed = time.perf_counter() - started
            kind = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else "?"
            self.by_kind[kind] = self.by_kind.get(kind, 0) + 1
            # The statement without its values: its kind and first table.
            words = sql.replace('"', "").split()
            table = next((w for w in words[1:] if "_" in w and w.isidentifier()), "")
            entry = self.by_statement.setdefault(f"{kind} {table}", [0, 0.0])
            entry[0] += 1
            entry[1] += elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--profile", action="store_true", help="cProfile the loop")
    parser.add_argument("--top", type=int, default=0, help="print the N costliest functions")
    parser.add_argument("--dump", type=Path, help="write the cProfile data here (pstats)")
    parser.add_argument("--limit", type=int, default=0, help="only the first N wave-1 messages")
    parser.add_argument("--desk", choices=["plain", "full"], default="plain", help="see run.py")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="pomogu-profile-") as tmp:
        workdir = Path(tmp)
        files, _manifest = run.corpus(workdir)
        if args.limit:
            files = files[: args.limit]
        url = run.fresh_database(args.pg, "pomogu_bench_profile")
        env = run.prepare(url, workdir / "data", args.desk)
        os.environ.update({"DATABASE_URL": url, "POMOGU_DATA_DIR": env["POMOGU_DATA_DIR"]})
        os.environ.update({"POMOGU_LOG_LEVEL": "WARNING"})
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pomogu.settings")
        import django

        django.setup()
        from django.db import connection

        from pomogu.intake import services
        from pomogu.intake.lmtp import deliver

        services.prepare_process()  # as an LMTP worker does

        raws = [path.read_bytes() for path in files]
        profiler = cProfile.Profile() if args.profile else None
        walls: list[float] = []
        cpus: list[float] = []
        counts: list[int] = []
        db_seconds: list[float] = []
        totals: dict[str, int] = {}
        by_statement: dict[str, list[float]] = {}

        def one(raw: bytes) -> None:
            statements = Statements(by_statement)
            wall, cpu = time.perf_counter(), time.process_time()
            with connection.execute_wrapper(statements):
                reply = deliver(raw, "support@example.test", "customer@example.net")
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
            assert reply.startswith("250"), reply
            counts.append(statements.count)
            db_seconds.append(statements.seconds)
            for kind, n in statements.by_kind.items():
                totals[kind] = totals.get(kind, 0) + n

        started = time.perf_counter()
        if profiler:
            profiler.enable()
        for raw in raws:
            one(raw)
        replies = [] if args.limit else [r[0] for r in run.ack_replies(200)]
        for raw in replies:
            one(raw)
        if profiler:
            profiler.disable()
        elapsed = time.perf_counter() - started
        connection.close()

    n = len(walls)
    ms = 1000
    print(f"messages: {n} in {elapsed:.1f} s ({n / elapsed:.1f}/s in one thread)")
    print(
        f"wall ms per message: mean {statistics.mean(walls) * ms:.2f}, "
        f"median {statistics.median(walls) * ms:.2f}"
    )
    print(f"CPU ms per message (this process): mean {statistics.mean(cpus) * ms:.2f}")
    print(
        f"statements per message: mean {statistics.mean(counts):.1f}, "
        f"median {statistics.median(counts)}, max {max(counts)}"
    )
    print(
        "statements by kind, per message: "
        + ", ".join(f"{k} {v / n:.1f}" for k, v in sorted(totals.items(), key=lambda i: -i[1]))
    )
    print(f"waiting for PostgreSQL ms per message: mean {statistics.mean(db_seconds) * ms:.2f}")
    print("statements, per message: count, ms waiting for PostgreSQL (commit not included)")
    for name, (count, seconds) in sorted(by_statement.items(), key=lambda i: -i[1][1])[:25]:
        print(f"  {name:<45} {count / n:5.2f} {seconds / n * ms:6.3f}")
    if profiler:
        stats = pstats.Stats(profiler)
        raw_stats: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
        total = sum(v[2] for v in raw_stats.values())
        print(f"\ncProfile: {total / n * ms:.2f} ms per message (profiled)")
        for label, path, name in STEPS:
            cumulative = sum(
                v[3]
                for (file, _line, func), v in raw_stats.items()
                if func == name and path in file
            )
            print(f"  {label:<45} {cumulative / n * ms:7.2f} ms  {cumulative / total:6.1%}")
        if args.top:
            stats.sort_stats("cumulative").print_stats(args.top)
        if args.dump:
            stats.dump_stats(args.dump)


if __name__ == "__main__":
    main()
