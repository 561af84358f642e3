"""How fast the mail parser is, on its own (no database): messages per second over the shared
CPython corpus, the peer corpus (mkmail.py) and a 100 KB message.

    .venv/bin/python bench/intake/parse_speed.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT / "src"))

from pomogu.intake.parsing import parse  # noqa: E402


def rate(raws: list[bytes], rounds: int = 5) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for raw in raws:
            parse(raw)
        best = min(best, time.perf_counter() - started)
    return len(raws) / best


def main() -> None:
    cpython = [p.read_bytes() for p in sorted((SHARED / "data/email_stdlib_cpython").glob("*.txt"))]
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [
                sys.executable,
                str(SHARED / "bench-peer/mkmail.py"),
                "--out",
                tmp,
                "--new",
                "1000",
                "--follow",
                "800",
            ],
            check=True,
            capture_output=True,
        )
        peer = [p.read_bytes() for p in sorted(Path(tmp, "wave1").iterdir())]
    text = ("Здравствуйте! Интернет пропадает каждые десять минут. " * 40 + "\n").encode()
    big = (
        b"From: ivan@example.ru\r\nTo: support@example.test\r\nSubject: big\r\n"
        b"Message-ID: <big@example.ru>\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n" + text * (100 * 1024 // len(text))
    )
    timings = []
    for _ in range(50):
        started = time.perf_counter()
        parse(big)
        timings.append(time.perf_counter() - started)
    print(f"cpython corpus ({len(cpython)} messages): {rate(cpython):.0f} messages/s")
    print(f"peer corpus ({len(peer)} messages): {rate(peer, 3):.0f} messages/s")
    print(f"100 KB message: median {statistics.median(timings) * 1000:.2f} ms")


if __name__ == "__main__":
    main()
