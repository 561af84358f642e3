"""Celery tasks for deadlines and escalations (R4). They take ids and call the services.

``clocks.sweep_due`` (every ``POMOGU_SWEEP_SECONDS``) finds due deadlines and unacknowledged
escalations, claims each (``claim_deadline``, ``claim_escalation``: a conditional UPDATE that
sets ``claimed_until``) and sends their ids, a few per task, to ``clocks.breach_many`` and
``clocks.move_up_many``. The claim is the lease of the message in flight: while it holds, no
sweep sends that row again; if the message is lost (a Redis flush, a dead worker), the claim
expires and a later sweep sends the row again. So the broker never holds the only record.
``clocks.breach`` and ``clocks.move_up`` take one id, for a caller other than the sweep; they
claim the row if it is free, then call the service.

Exactly once comes from the services, not from the claim or the broker: ``breach`` and
``move_up`` lock the row and re-check its state in their transaction, and their effects are
unique in the database (``Failure.key``, one escalation per deadline and level, the outbox's
``dedupe_key``). A task delivered twice, redelivered after its worker died, or running beside
the in-process sweep, therefore does nothing the second time.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterator

from django.conf import settings

from pomogu.clocks import services
from pomogu.clocks.models import Deadline, DeadlineState, Escalation, EscalationState
from pomogu.core import clock
from pomogu.core.celery import app

log = logging.getLogger(__name__)

# Ids per task: small enough that a redelivered batch repeats little, big enough that the
# broker's cost per message does not dominate.
CHUNK = 10
# Rows claimed and not yet handled, at most. A claim lasts ``services.CLAIM_SECONDS`` (120 s);
# a row still queued when its claim expires is sent again (harmless, but wasted work that
# snowballs when the workers are slow). So the sweep keeps no more in flight than slow workers
# handle within a claim (1,000 needs 8.3 a second), and tops up every period: at most 200 a
# second with the default 5 s period.
MAX_IN_FLIGHT = 1000


def _in_flight(now: dt.datetime) -> int:
    deadlines = Deadline.objects.filter(
        state=DeadlineState.PENDING, due_at__lte=now, claimed_until__gt=now
    ).count()
    escalations = Escalation.objects.filter(
        state=EscalationState.OPEN, ack_due_at__lte=now, claimed_until__gt=now
    ).count()
    return deadlines + escalations


def _due(
    first: list[int], find: Callable[[dt.datetime, int], list[int]], now: dt.datetime
) -> Iterator[int]:
    """Due ids, batch after batch: a claimed row is not found again, nor one that changed."""
    ids = first
    while ids:
        yield from ids
        if len(ids) < services.BATCH:
            return
        ids = find(now, services.BATCH)


def _claim_and_send(
    due: Iterator[int],
    claim: Callable[[int, dt.datetime], bool],
    send: Callable[[list[int]], object],
    now: dt.datetime,
    budget: int,
    stop_at: float,
) -> int:
    """Claim due rows one by one and send them on a few at a time, as soon as they are won."""
    sent = 0
    chunk: list[int] = []
    for row_id in due:
        if sent + len(chunk) >= budget or time.monotonic() >= stop_at:
            break
        if claim(row_id, now):
            chunk.append(row_id)
            if len(chunk) == CHUNK:
                send(chunk)
                sent += len(chunk)
                chunk = []
    if chunk:
        send(chunk)
        sent += len(chunk)
    return sent


@app.task(name="clocks.sweep_due")
def sweep_due() -> int:
    """Claim what is due and send it to the workers; returns how many rows it sent. Safe to
    re-run and to run in several workers at once: a row is sent by whoever claims it."""
    now = clock.now()
    # Never sweep for longer than the period: the next sweep goes on where this one stopped.
    stop_at = time.monotonic() + float(settings.POMOGU["SWEEP_SECONDS"])
    deadline_ids = services.due_deadline_ids(now)
    escalation_ids = services.due_escalation_ids(now)
    if not deadline_ids and not escalation_ids:
        return 0  # the usual case: two scans of partial indexes that find nothing
    budget = MAX_IN_FLIGHT - _in_flight(now)
    sent = 0
    if budget > 0:
        sent += _claim_and_send(
            _due(deadline_ids, services.due_deadline_ids, now),
            services.claim_deadline,
            lambda ids: breach_many.delay(ids),
            now,
            budget,
            stop_at,
        )
    if budget - sent > 0:
        sent += _claim_and_send(
            _due(escalation_ids, services.due_escalation_ids, now),
            services.claim_escalation,
            lambda ids: move_up_many.delay(ids),
            now,
            budget - sent,
            stop_at,
        )
    if sent:
        log.info("sweep sent %s due deadlines and escalations to the workers", sent)
    return sent


def _breach(deadline_id: int) -> int:
    # Sent directly, not by a sweep: take the lease if nobody holds it, so that no sweep sends
    # the row as well while this runs. If someone holds it, go on anyway: ``breach`` locks the
    # row and re-checks it, so a second run is never a second effect.
    services.claim_deadline(deadline_id, clock.now())
    return services.breach(deadline_id)


def _move_up(escalation_id: int) -> int:
    services.claim_escalation(escalation_id, clock.now())
    return services.move_up(escalation_id)


def _each(ids: list[int], handle: Callable[[int], int], what: str) -> int:
    """Handle each id in its own transaction; one failing does not hold up the others."""
    done = 0
    for row_id in ids:
        try:
            done += handle(row_id)
        except Exception:
            # The row stays due (and keeps its claim): a later sweep sends it again.
            log.exception("%s %s failed; it is retried after its claim expires", what, row_id)
    return done


@app.task(name="clocks.breach")
def breach(deadline_id: int) -> int:
    """A deadline passed: record the failure and escalate (``services.breach``). Safe to
    re-run: the service re-checks the deadline under a row lock, and a breached one is done."""
    return _breach(deadline_id)


@app.task(name="clocks.breach_many")
def breach_many(deadline_ids: list[int]) -> int:
    """``clocks.breach`` for a few deadlines the sweep claimed and sent. Safe to re-run, for
    the same reason; no claim here, the sweep that sent them holds it."""
    return _each(deadline_ids, services.breach, "deadline")


@app.task(name="clocks.move_up")
def move_up(escalation_id: int) -> int:
    """An escalation nobody acknowledged in time goes one level up (``services.move_up``). Safe
    to re-run: the service re-checks it under a row lock, and the next level is unique."""
    return _move_up(escalation_id)


@app.task(name="clocks.move_up_many")
def move_up_many(escalation_ids: list[int]) -> int:
    """``clocks.move_up`` for a few escalations the sweep claimed and sent."""
    return _each(escalation_ids, services.move_up, "escalation")
