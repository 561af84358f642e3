"""One creation at a time inside a Django process, without HTTP: the SQL statements each takes
and its wall time. Run by the driver in either side's environment:

    python in_process.py peer      # django-helpdesk: POST /api/tickets/ (DRF, token)
    python in_process.py pomogu    # pomogu: POST /api/v1/cases (ninja, bearer token)

The database is the one the API figure has just filled (the driver's environment says which).
Prints one JSON line.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import sys
import time
from collections import Counter

N = 30


def body(side: str, i: int) -> dict[str, object]:
    text = "Hello, I have a problem with my order. The login is not working since yesterday."
    if side == "peer":
        return {
            "queue": 1 + i % 5,
            "title": f"Problem with order and login (in-process {i})",
            "description": text,
            "submitter_email": f"customer{i % 50}@example.test",
            "priority": 3,
        }
    return {
        "team": ["support", "billing", "shipping", "returns", "tech"][i % 5],
        "subject": f"Problem with order and login (in-process {i})",
        "body": text,
        "customer": {"email": f"customer{i % 50}@example.test"},
    }


def main() -> None:
    side = sys.argv[1]
    import django

    os.environ.setdefault(
        "DJANGO_SETTINGS_MODULE", "peer_site.settings" if side == "peer" else "pomogu.settings"
    )
    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    if side == "peer":
        from rest_framework.authtoken.models import Token

        client = Client(
            SERVER_NAME="localhost", HTTP_AUTHORIZATION=f"Token {Token.objects.first().key}"
        )
        url = "/api/tickets/"
    else:
        from pomogu.people.models import User
        from pomogu.people.services import create_token

        token = create_token(User.objects.get(username="bench"), name="in-process")
        client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
        url = "/api/v1/cases"
    counts, times, kinds = [], [], Counter()
    for i in range(N + 3):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            answer = client.post(
                url, data=json.dumps(body(side, i)), content_type="application/json"
            )
            elapsed = (time.perf_counter() - started) * 1000
        assert answer.status_code == 201, answer.content[:300]
        if i < 3:  # warm-up
            continue
        counts.append(len(captured.captured_queries))
        times.append(elapsed)
        if i == N + 2:
            for query in captured.captured_queries:
                kinds[re.split(r"\s", query["sql"].strip(), maxsplit=1)[0].upper()] += 1
    print(
        json.dumps(
            {
                "creations": N,
                "statements_median": statistics.median(counts),
                "statement_kinds": dict(kinds),
                "ms_median": round(statistics.median(times), 1),
                "ms_min": round(min(times), 1),
            }
        )
    )


if __name__ == "__main__":
    main()
