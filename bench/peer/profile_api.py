"""Where one ``POST /api/v1/cases`` spends its time, with nothing else contending: pyinstrument
around N creations made one at a time in a Django process (the test client, no HTTP), on the
database the API figure has just filled. py-spy in run.py shows the same path under load.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_peer_pomogu_api \\
        .venv/bin/python bench/peer/profile_api.py [--n 200] [--text OUT]

Prints one JSON line: wall time per creation and the share of it spent inside each step.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

# (label, function name, a piece of its file path): inclusive time inside that frame.
STEPS = [
    (
        "Django request handling in all (middleware, URL, view)",
        "get_response",
        "django/core/handlers",
    ),
    ("bearer token check", "authenticate", "pomogu/core/api_support.py"),
    ("resolve_team (the team by slug)", "resolve_team", "pomogu/"),
    ("open_case_for (the service)", "open_case_for", "pomogu/cases/services.py"),
    ("  find_or_create_customer", "find_or_create_customer", "pomogu/people/services.py"),
    ("  recurrence: the customer's solved cases (R5)", "find_safely", "pomogu/cases/recurrence.py"),
    ("  open_case", "open_case", "pomogu/cases/services.py"),
    ("    pick_owner", "pick_owner", "pomogu/people/services.py"),
    ("    timeline events (deadlines included)", "create_many", "pomogu/cases/models.py"),
    ("    deadlines (clocks.on_event)", "on_event", "pomogu/clocks/services.py"),
    (
        "    the customer's words: message, language, anger",
        "_record_customer_words",
        "pomogu/cases/services.py",
    ),
    ("      anger detector", "assess", "pomogu/triage/anger.py"),
    ("      language", "detect_language", "pomogu/triage/text.py"),
    ("transaction commit", "commit", "django/db/backends/base/base.py"),
    (
        "reading the case back and the JSON answer",
        "with_pending_handoff",
        "pomogu/cases/queries.py",
    ),
    ("SQL: psycopg execute (round trips to PostgreSQL)", "execute", "psycopg/cursor.py"),
    ("Django ORM compiling SQL", "as_sql", "django/db/models/sql/compiler.py"),
]


def walk(frame: Any, active: set[str], totals: dict[str, float]) -> None:
    entered = []
    for label, function, path in STEPS:
        if label in active:
            continue
        if frame.function == function and path in (frame.file_path or ""):
            totals[label] = totals.get(label, 0.0) + frame.time
            active.add(label)
            entered.append(label)
    for child in frame.children:
        walk(child, active, totals)
    for label in entered:
        active.discard(label)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--text", type=Path, help="pyinstrument's own tree, as text")
    args = parser.parse_args()
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pomogu.settings")
    django.setup()
    from django.test import Client
    from pyinstrument import Profiler

    from pomogu.people.models import User
    from pomogu.people.services import create_token

    token = create_token(User.objects.get(username="bench"), name="profile")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    teams = ["support", "billing", "shipping", "returns", "tech"]

    def create(i: int) -> None:
        body = {
            "team": teams[i % 5],
            "subject": f"Problem with order and login (profile {i})",
            "body": "Hello, I have a problem with my order. The login is not working since "
            f"yesterday. Order number {100000 + i}. Please help.",
            "customer": {"email": f"customer{i % 5000}@example.test"},
        }
        answer = client.post(
            "/api/v1/cases", data=json.dumps(body), content_type="application/json"
        )
        assert answer.status_code == 201, answer.content[:300]

    for i in range(5):
        create(-i - 1)
    profiler = Profiler(interval=0.001)
    started = time.perf_counter()
    profiler.start()
    for i in range(args.n):
        create(i)
    profiler.stop()
    wall = time.perf_counter() - started
    session = profiler.last_session
    root = session.root_frame() if session else None
    totals: dict[str, float] = {}
    if root is not None:
        walk(root, set(), totals)
    if args.text:
        args.text.write_text(profiler.output_text(unicode=True, color=False))
    print(
        json.dumps(
            {
                "creations": args.n,
                "ms_per_creation": round(wall * 1000 / args.n, 2),
                "percent_of_wall": {
                    label: round(100 * totals.get(label, 0.0) / wall, 1) for label, _f, _p in STEPS
                },
            }
        )
    )


if __name__ == "__main__":
    main()
