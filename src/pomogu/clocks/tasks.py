"""Celery tasks for deadlines and escalations (R4). They take ids and call the services.

``clocks.sweep_due`` (every ``POMOGU_SWEEP_SECONDS``) finds due deadlines and unacknowledged
escalations, claims them a batch at a time (``claim_due_deadlines``, ``claim_due_escalations``:
one UPDATE of ``claimed_until`` over rows locked with ``SKIP LOCKED``) and sends their ids,
``services.CHUNK`` per task, to ``clocks.breach_many`` and ``clocks.move_up_many``, which handle
a chunk in one transaction. The claim is the lease of the message in flight: while it holds, no
sweep sends that row again; if the message is lost (a Redis flush, a dead worker), the claim
expires and a later sweep sends the row again. So the broker never holds the only record.
``clocks.breach`` and ``clocks.move_up`` take one id, for a caller other than the sweep; they
claim the row if it is free, then call the service.

Exactly once comes from the services, not from the claim or the broker: ``breach_many`` and
``move_up_many`` lock the rows and re-check their state in their transaction, and their effects
are unique in the database (``Failure.key``, one escalation per deadline and level, the outbox's
``dedupe_key``). A task delivered twice, redelivered after its worker died, or running beside
the in-process sweep, therefore does nothing the second time.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable

from django.conf import settings

from pomogu.clocks import services
from pomogu.clocks.models import Deadline, DeadlineState, Escalation, EscalationState
from pomogu.core import clock
from pomogu.core.celery import app

log = logging.getLogger(__name__)

# Rows claimed and not yet handled, at most. A claim lasts ``POMOGU_CLAIM_SECONDS`` (60 s); a
# row still queued when its claim expires is sent again (harmless, but wasted work that
# snowballs when the workers are slow). So the sweep keeps no more in flight than slow workers
# handle within a claim (2,000 in 60 s needs 33 a second; two worker processes on two cores
# handle over 150), and tops up every period.
MAX_IN_FLIGHT = 2000


def _in_flight(now: dt.datetime) -> int:
    deadlines = Deadline.objects.filter(
        state=DeadlineState.PENDING, due_at__lte=now, claimed_until__gt=now
    ).count()
    escalations = Escalation.objects.filter(
        state=EscalationState.OPEN, ack_due_at__lte=now, claimed_until__gt=now
    ).count()
    return deadlines + escalations


def _claim_and_send(
    claim: Callable[[dt.datetime, int], list[int]],
    send: Callable[[list[int]], object],
    now: dt.datetime,
    budget: int,
    stop_at: float,
) -> int:
    """Claim due rows a batch at a time and send them on, ``services.CHUNK`` ids per task."""
    sent = 0
    while sent < budget and time.monotonic() < stop_at:
        ids = claim(now, min(services.BATCH, budget - sent))
        for start in range(0, len(ids), services.CHUNK):
            send(ids[start : start + services.CHUNK])
        sent += len(ids)
        if len(ids) < services.BATCH:
            break  # nothing more is due
    return sent


@app.task(name="clocks.sweep_due")
def sweep_due() -> int:
    """Claim what is due and send it to the workers; returns how many rows it sent. Safe to
    re-run and to run in several workers at once: a row is sent by whoever claims it."""
    now = clock.now()
    # Never sweep for longer than the period: the next sweep goes on where this one stopped.
    stop_at = time.monotonic() + float(settings.POMOGU["SWEEP_SECONDS"])
    deadline_ids = services.due_deadline_ids(now, 1)
    escalation_ids = services.due_escalation_ids(now, 1)
    if not deadline_ids and not escalation_ids:
        return 0  # the usual case: two scans of partial indexes that find nothing
    budget = MAX_IN_FLIGHT - _in_flight(now)
    sent = 0
    if budget > 0 and deadline_ids:
        sent += _claim_and_send(
            services.claim_due_deadlines, breach_many.delay, now, budget, stop_at
        )
    if budget - sent > 0 and escalation_ids:
        sent += _claim_and_send(
            services.claim_due_escalations, move_up_many.delay, now, budget - sent, stop_at
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


@app.task(name="clocks.breach")
def breach(deadline_id: int) -> int:
    """A deadline passed: record the failure and escalate (``services.breach``). Safe to
    re-run: the service re-checks the deadline under a row lock, and a breached one is done."""
    return _breach(deadline_id)


@app.task(name="clocks.breach_many")
def breach_many(deadline_ids: list[int]) -> int:
    """``clocks.breach`` for a few deadlines the sweep claimed and sent. Safe to re-run, for
    the same reason; no claim here, the sweep that sent them holds it."""
    return services.each_in_batch(deadline_ids, services.breach_many, "deadline")


@app.task(name="clocks.move_up")
def move_up(escalation_id: int) -> int:
    """An escalation nobody acknowledged in time goes one level up (``services.move_up``). Safe
    to re-run: the service re-checks it under a row lock, and the next level is unique."""
    return _move_up(escalation_id)


@app.task(name="clocks.move_up_many")
def move_up_many(escalation_ids: list[int]) -> int:
    """``clocks.move_up`` for a few escalations the sweep claimed and sent."""
    return services.each_in_batch(escalation_ids, services.move_up_many, "escalation")
