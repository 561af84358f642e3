"""Latency of ``search_cases`` and ``similar_cases`` on a big desk, the plans behind it, and
what the full-text indexes cost each new message.

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/pomogu_kb
    .venv/bin/python bench/search/generate.py --cases 1000000     # once, ~10 minutes
    .venv/bin/python bench/search/run.py search                   # latency, JSON
    .venv/bin/python bench/search/run.py explain                  # EXPLAIN ANALYZE
    .venv/bin/python bench/search/run.py insert [N]               # PostgreSQL index cost
    POMOGU_DATA_DIR=/tmp/kb-sqlite .venv/bin/python bench/search/run.py insert  # SQLite

``search`` calls the functions in-process (no HTTP), after one warm-up round, as the manager
(sees every case) and as an agent (sees one team of ten): every query REPEAT times, and
similar_cases for SIMILAR random cases. ``insert`` inserts 2,000 messages one transaction
each (as intake does), with the index or triggers and without, and removes them afterwards.
Results in docs/decisions/0009-search.md.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pomogu.settings")

QUERIES = [
    "интернет",  # in about a third of the messages
    "роутер мигает красным",
    "вернуть деньги",  # about 9 % of first messages
    "refund",
    "zeppelin",  # about 0.05 %
    "счёт",
    "wi-fi",
    '"сменить тариф"',
    "ошибка 651",
    "нет связи or обрывы",
    "router blinks red",
    "cannot log in",
    "абракадабра",  # nowhere
]
REPEAT = 10
SIMILAR = 40
INSERTS = 2000


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
        "n": len(ordered),
    }


def _timed(call: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = call()
    return time.perf_counter() - started, result


def search() -> None:
    import django

    django.setup()
    from pomogu.cases.models import Case
    from pomogu.kb.search import search_cases, similar_cases
    from pomogu.people.models import User

    people = {
        "manager": User.objects.get(username="bench-manager"),
        "agent": User.objects.get(username="bench-agent-0-0"),
    }
    rng = random.Random(9)
    top = Case.objects.order_by("-id").values_list("id", flat=True).first() or 0
    numbers = [f"#{rng.randint(1, top)}" for _ in range(3)]
    queries = [*QUERIES, *numbers]
    sample = list(Case.objects.filter(pk__in=[rng.randint(1, top) for _ in range(SIMILAR)]))
    report: dict[str, Any] = {}
    for role, user in people.items():
        for query in queries:  # warm-up
            search_cases(user, query)
        all_search: list[float] = []
        per_query = {}
        for query in queries:
            samples = []
            found = 0
            for _ in range(REPEAT):
                seconds, result = _timed(lambda q=query, u=user: search_cases(u, q))
                samples.append(seconds)
                found = len(result)
            all_search += samples
            per_query[query] = {**_percentiles(samples), "found": found}
        similar_samples = []
        similar_found = []
        for case in sample[:3]:
            similar_cases(case, user)  # warm-up
        for case in sample:
            seconds, result = _timed(lambda c=case, u=user: similar_cases(c, u))
            similar_samples.append(seconds)
            similar_found.append(len(result))
        report[role] = {
            "search_cases": _percentiles(all_search),
            "similar_cases": {
                **_percentiles(similar_samples),
                "found_median": statistics.median(similar_found),
            },
            "per_query": per_query,
        }
    print(json.dumps(report, ensure_ascii=False, indent=2))


def explain() -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of the statements search_cases and similar_cases run."""
    import django

    django.setup()
    from django.db import connection

    from pomogu.cases.models import Case
    from pomogu.kb import search as kb_search
    from pomogu.people.models import User

    executed: list[tuple[str, Any]] = []

    def capture(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if "@@" in sql:
            executed.append((sql, params))
        return execute(sql, params, many, context)

    manager = User.objects.get(username="bench-manager")
    agent = User.objects.get(username="bench-agent-0-0")
    case = Case.objects.filter(language="ru").order_by("-id")[5]
    with connection.execute_wrapper(capture):
        kb_search.search_cases(manager, "интернет")
        kb_search.search_cases(agent, "zeppelin")
        kb_search.search_cases(agent, "роутер мигает красным")
        kb_search.similar_cases(case, agent)
    with connection.cursor() as cursor:
        for sql, params in executed:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
            print("\n".join(row[0] for row in cursor.fetchall()))
            print("-" * 100)


def insert() -> None:
    import django

    django.setup()
    from django.db import connection, transaction

    from pomogu.cases.choices import MessageKind
    from pomogu.cases.models import Case, Message
    from pomogu.kb import schema

    bodies = list(
        Message.objects.filter(kind=MessageKind.INBOUND)
        .order_by("-id")
        .values_list("body", flat=True)[:INSERTS]
    )
    if len(bodies) < INSERTS:
        from pomogu.kb.demo import ARTICLES

        texts = ["\n\n".join(article.paragraphs) for article in ARTICLES]
        bodies = [texts[n % len(texts)] for n in range(INSERTS)]
    # `insert N`: each body N times over (real mail is longer than the generated messages).
    times = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    bodies = ["\n\n".join([body] * times) for body in bodies]
    case = Case.objects.order_by("-id").first()
    if case is None:
        from pomogu.core.testing import make_cast

        case = make_cast().open_case()

    def run() -> float:
        started = time.perf_counter()
        ids = []
        for body in bodies:
            with transaction.atomic():
                ids.append(
                    Message.objects.create(
                        case=case, kind=MessageKind.INBOUND, customer=case.customer, body=body
                    ).pk
                )
        seconds = time.perf_counter() - started
        Message.objects.filter(pk__in=ids).delete()
        return seconds

    average = statistics.mean(len(body) for body in bodies)
    results: dict[str, Any] = {"vendor": connection.vendor, "messages": INSERTS}
    results["average_body_chars"] = round(average)
    run()  # warm-up
    if connection.vendor == "postgresql":
        with_index = [run(), run()]
        with connection.cursor() as cursor:
            cursor.execute("DROP INDEX kb_message_body_fts")
        try:
            without = [run(), run()]
        finally:
            started = time.perf_counter()
            with connection.cursor() as cursor:
                cursor.execute("SET maintenance_work_mem = '512MB'")
                schema.create_pg_indexes(cursor)
            results["index_rebuild_s"] = round(time.perf_counter() - started, 1)
    else:
        with_index = [run(), run()]
        with connection.cursor() as cursor:
            for name in ("insert", "delete", "update"):
                cursor.execute(f"DROP TRIGGER kb_message_fts_{name}")
        try:
            without = [run(), run()]
        finally:
            schema.ensure_sqlite_index(connection)
    best_with, best_without = min(with_index), min(without)
    results.update(
        {
            "with_index_s": round(best_with, 2),
            "without_index_s": round(best_without, 2),
            "per_message_with_ms": round(best_with / INSERTS * 1000, 3),
            "per_message_without_ms": round(best_without / INSERTS * 1000, 3),
            "cost_per_message_ms": round((best_with - best_without) / INSERTS * 1000, 3),
        }
    )
    print(json.dumps(results, indent=2))


def main() -> None:
    command = sys.argv[1] if len(sys.argv) > 1 else "search"
    {"search": search, "explain": explain, "insert": insert}[command]()


if __name__ == "__main__":
    main()
