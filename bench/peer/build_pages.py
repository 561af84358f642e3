"""pomogu's data for the page figures, built the way ``bench/pages/run.py`` builds its million
cases (its ``build()``, unchanged: people through the services, then bulk ``INSERT ... SELECT``,
the full-text migration, ``VACUUM ANALYZE``), into a database of this bench's own
(``bench_peer_pages_<cases>``), so that the kept ``pomogu_bench_pages`` is never written.

    .venv/bin/python bench/peer/build_pages.py --cases 100000 --database bench_peer_pages_100000
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def load_pages(database: str) -> Any:
    spec = importlib.util.spec_from_file_location("pages_run", ROOT / "bench/pages/run.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    module.DATABASE = database  # build() creates, fills and describes this one
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--cases", type=int, required=True)
    parser.add_argument("--database", required=True)
    args = parser.parse_args()
    if not args.database.startswith("bench_peer_"):
        raise SystemExit("this bench writes only to databases named bench_peer_*")
    pages = load_pages(args.database)
    env = {
        **os.environ,
        "DATABASE_URL": f"{args.pg}/{args.database}",
        "POMOGU_DATA_DIR": tempfile.mkdtemp(prefix="bench-peer-pages-data-"),
        "POMOGU_LOG_LEVEL": "WARNING",
        "POMOGU_EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
    }
    for name in ("POMOGU_FAULTS", "CELERY_BROKER_URL", "POMOGU_REDIS_URL", "POMOGU_DEBUG"):
        env.pop(name, None)
    customers = max(1000, args.cases // 10)
    timings = pages.build(args.pg, args.cases, customers, args.cases * 3 // 100, env)
    print(json.dumps(timings, default=str))


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    main()
