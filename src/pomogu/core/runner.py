"""The in-process background runner (embedded mode; see docs/decisions/0002-background-runner.md).

Durable work lives in the database as rows with a due time and a state (the outbox, deadlines,
...). A *step* is a function that claims due rows with a conditional update and does their work,
so it is safe to run in any number of processes at once and to run again after a crash. The
runner calls each registered step in a loop; Celery workers (`pomogu worker`) call the same steps.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from django.db import close_old_connections, connection

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Step:
    name: str
    run: Callable[[], int]


def steps() -> list[Step]:
    """Every periodic step, in the order one pass runs them."""
    from pomogu.clocks.services import sweep
    from pomogu.contact.governor import release_due
    from pomogu.contact.services import send_due
    from pomogu.contact.surveys import send_due as send_due_surveys
    from pomogu.failures.figures import warm
    from pomogu.intake.imap import fetch_due
    from pomogu.triage.services import retrain_due

    return [
        Step("clocks", sweep),
        # Before the outbox, so that what they queue goes out in the same pass.
        Step("contacts", release_due),
        Step("surveys", send_due_surveys),
        Step("outbox", send_due),
        Step("imap", fetch_due),
        Step("router", retrain_due),
        # Last: the slowest, and nothing waits on it (at most every few minutes).
        Step("register", warm),
    ]


def run_once() -> dict[str, int]:
    """One pass over every step. A failing step is logged and does not stop the others."""
    done: dict[str, int] = {}
    for step in steps():
        try:
            done[step.name] = step.run()
        except Exception:
            log.exception("background step %s failed; it will run again next pass", step.name)
            done[step.name] = -1
        finally:
            # Between steps, drop a broken or too old connection, but never one in the middle
            # of a transaction (a caller's, or a test's).
            if not connection.in_atomic_block:
                close_old_connections()
    return done


class Runner(threading.Thread):
    """A daemon thread that runs a pass every ``interval`` seconds until stopped."""

    def __init__(self, interval: float) -> None:
        super().__init__(name="pomogu-runner", daemon=True)
        self.interval = interval
        self._stop_event = threading.Event()

    def run(self) -> None:
        log.info("background runner started (every %ss)", self.interval)
        while not self._stop_event.is_set():
            run_once()
            self._stop_event.wait(self.interval)
        close_old_connections()
        log.info("background runner stopped")

    def stop(self, timeout: float = 10) -> None:
        self._stop_event.set()
        self.join(timeout)
