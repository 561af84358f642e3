"""pomogu's side of the mail figure: ``bench/intake/run.py`` as it is (its corpus, its LMTP and
IMAP runs, its check against the manifest), with this bench's own database names.

``bench/intake/run.py`` already drives the peer's corpus (``../shared/bench-peer/mkmail.py``,
the same seed, so the same 2,000 messages the peer imports). What it cannot do is run beside
another engineer's intake benchmark: it drops and recreates ``pomogu_bench_lmtp`` and
``pomogu_bench_imap``. So this adapter imports it and only renames its databases
(``bench_peer_pomogu_bench_lmtp``...); every measured step is its code.

    .venv/bin/python bench/peer/intake_adapter.py --json OUT [--quick] [--skip-imap]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import platform
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "bench_peer_"


def load_intake() -> Any:
    spec = importlib.util.spec_from_file_location("intake_run", ROOT / "bench/intake/run.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    original = module.fresh_database

    def fresh_database(base: str, name: str) -> str:
        return original(base, PREFIX + name)

    module.fresh_database = fresh_database
    return module


def small_corpus(intake: Any, workdir: Path, new: int, follow: int) -> tuple[list[Path], list]:
    """The same generator with fewer threads, for a smoke run."""
    out = workdir / "corpus"
    intake.sh(
        sys.executable,
        str(intake.MKMAIL),
        "--out",
        str(out),
        "--new",
        str(new),
        "--follow",
        str(follow),
    )
    manifest = json.loads((out / "manifest_wave1.json").read_text())
    return [out / "wave1" / m["file"] for m in manifest], manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="100 threads and 80 follow-ups")
    parser.add_argument("--skip-imap", action="store_true")
    parser.add_argument("--json", type=Path, required=True)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    intake = load_intake()
    result: dict[str, Any] = {"machine": {"arch": platform.machine(), **intake.machine()}}
    try:
        with tempfile.TemporaryDirectory(prefix="bench-peer-intake-") as tmp:
            workdir = Path(tmp)
            if args.quick:
                files, manifest = small_corpus(intake, workdir, 100, 80)
            else:
                files, manifest = intake.corpus(workdir)
            result["corpus_messages"] = len(files)
            result["lmtp"] = intake.run_lmtp(
                args.pg, args.connections, args.processes, files, manifest, workdir
            )
            if not args.skip_imap:
                result["imap"] = intake.run_imap(
                    args.pg, files, workdir, processes=args.processes, manifest=manifest
                )
    finally:
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        for name in ("pomogu_bench_lmtp", "pomogu_bench_imap"):
            intake.sh(
                "psql",
                f"{args.pg}/postgres",
                "-qc",
                f"DROP DATABASE IF EXISTS {PREFIX}{name} WITH (FORCE)",
                check=False,
            )
    args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
