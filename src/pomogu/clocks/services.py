"""Deadlines, their sweep and escalation (R4), and the failures they record (R8).

The case core does not call this module: every change of a case writes a timeline event, and
``on_event`` (connected to the event's ``post_save``) starts, stops, pauses and re-targets the
case's clocks inside the same transaction. So a clock can never disagree with the case.

SLA clocks run in business time (``clocks.calendar``). Waiting on the customer pauses the
resolution and next-response clocks; waiting on a contractor does not (the contractor's task has
its own deadline, reported apart).

``sweep`` is a background step: it claims due deadlines and unacknowledged escalations (one
UPDATE over rows locked with ``SKIP LOCKED``), then handles them ``CHUNK`` at a time, each chunk
in one transaction under row locks, re-checking their state (and one by one if a chunk fails).
Each effect is unique in the database: one breach failure per deadline (``Failure.key``), one
escalation per deadline and level. Running it twice, in two processes, or again after a crash,
never doubles an effect.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from pomogu.cases.choices import EventKind, HandoffState
from pomogu.cases.models import Case, Handoff, Notification, TimelineEvent
from pomogu.clocks.calendar import BusinessCalendar
from pomogu.clocks.models import (
    OPEN_DEADLINE_STATES,
    SLA_KINDS,
    Appointment,
    AppointmentState,
    Calendar,
    Deadline,
    DeadlineKind,
    DeadlineState,
    Escalation,
    EscalationChain,
    EscalationState,
    LevelTarget,
    Promise,
    PromiseState,
    SlaPolicy,
)
from pomogu.core import clock
from pomogu.core.errors import DomainError, InvalidTransition, NotFound, PermissionDenied
from pomogu.core.faults import fault_point

if TYPE_CHECKING:
    from pomogu.people.models import Team, User

log = logging.getLogger(__name__)

BATCH = 500
# Deadlines (or escalations) handled in one transaction: a few statements for all of them.
CHUNK = 25
MAX_LEVEL = 12  # past the chain's end the top level is repeated, up to this many levels

BREACH_FAILURE = {
    DeadlineKind.FIRST_RESPONSE: "sla_first_response",
    DeadlineKind.NEXT_RESPONSE: "sla_next_response",
    DeadlineKind.RESOLUTION: "sla_resolution",
    DeadlineKind.HANDOFF: "handoff_timed_out",
    DeadlineKind.APPOINTMENT: "appointment_missed",
    DeadlineKind.PROMISE: "promise_broken",
    DeadlineKind.CONTRACTOR: "contractor_late",
}


def _config(key: str) -> Any:
    return settings.POMOGU[key]


# --- calendars and policies -----------------------------------------------------------------


def default_calendar() -> Calendar | None:
    return Calendar.objects.filter(is_default=True).first()


def business_calendar(calendar: Calendar | None) -> BusinessCalendar:
    """The calendar's arithmetic; no calendar at all means round the clock."""
    if calendar is None:
        calendar = default_calendar()
    if calendar is None:
        return BusinessCalendar.always(timezone=settings.TIME_ZONE)
    return calendar.business()


def policy_for(team: Team, tier: str, priority: int) -> SlaPolicy | None:
    """The most specific active policy for a team, a customer tier and a priority."""
    candidates = (
        SlaPolicy.objects.filter(is_active=True)
        .filter(
            Q(team__isnull=True) | Q(team=team),
            Q(tier="") | Q(tier=tier),
            Q(priority__isnull=True) | Q(priority=priority),
        )
        .select_related("calendar")
    )
    best = None
    for policy in candidates.order_by("id"):
        if best is None or policy.specificity > best.specificity:
            best = policy
    return best


def _target(policy: SlaPolicy | None, kind: str) -> int | None:
    if policy is None:
        return None
    targets: dict[str, int | None] = {
        DeadlineKind.FIRST_RESPONSE: policy.first_response_minutes,
        DeadlineKind.NEXT_RESPONSE: policy.next_response_minutes,
        DeadlineKind.RESOLUTION: policy.resolution_minutes,
    }
    return targets.get(kind)


# --- reacting to the case's events ----------------------------------------------------------


def on_event(event: TimelineEvent) -> None:
    """Keep the case's clocks in step with what just happened to it (same transaction)."""
    handler = _HANDLERS.get(event.kind)
    if handler is not None:
        handler(event.case, event.data if isinstance(event.data, dict) else {})


def _opened(case: Case, data: dict[str, Any]) -> None:
    now = clock.now()
    policy = policy_for(case.team, case.customer.tier, case.priority)
    if policy is None:
        return  # no policy, no clocks: and no query for each of them
    start_slas(case, (DeadlineKind.FIRST_RESPONSE, DeadlineKind.RESOLUTION), now, policy=policy)


def _customer_wrote(case: Case, data: dict[str, Any]) -> None:
    if case.first_response_at is None:
        return  # the first-response clock already runs
    if not Deadline.objects.filter(
        case=case, kind=DeadlineKind.NEXT_RESPONSE, state__in=OPEN_DEADLINE_STATES
    ).exists():
        start_sla(case, DeadlineKind.NEXT_RESPONSE, clock.now())


def _replied(case: Case, data: dict[str, Any]) -> None:
    meet(case, (DeadlineKind.FIRST_RESPONSE, DeadlineKind.NEXT_RESPONSE))


def _state(case: Case, data: dict[str, Any]) -> None:
    to, before = data.get("to"), data.get("from")
    if to == "waiting_customer":
        pause(case)
    elif before == "waiting_customer":
        resume(case)


def _resolved(case: Case, data: dict[str, Any]) -> None:
    meet(case, (DeadlineKind.RESOLUTION,))
    # A resolved case needs no further answer; its customer-facing clocks stop.
    meet(case, (DeadlineKind.FIRST_RESPONSE, DeadlineKind.NEXT_RESPONSE), cancel=True)


def _reopened(case: Case, data: dict[str, Any]) -> None:
    now = clock.now()
    start_sla(case, DeadlineKind.RESOLUTION, now)
    start_sla(case, DeadlineKind.NEXT_RESPONSE, now)


def _closed(case: Case, data: dict[str, Any]) -> None:
    _finish_open(Deadline.objects.filter(case=case, kind__in=SLA_KINDS), DeadlineState.CANCELLED)


def _priority(case: Case, data: dict[str, Any]) -> None:
    if isinstance(data.get("to"), int):
        retarget(case, priority=data["to"])


def _team(case: Case, data: dict[str, Any]) -> None:
    from pomogu.people.models import Team

    team = Team.objects.filter(name=data.get("to")).first()
    if team is not None:
        retarget(case, team=team)


def _handoff_requested(case: Case, data: dict[str, Any]) -> None:
    handoff = Handoff.objects.select_related("to_team").get(pk=data["handoff_id"])
    now = clock.now()
    if handoff.due_at is None:
        calendar = business_calendar(_team_calendar(handoff.to_team))
        handoff.due_at = calendar.add_business_minutes(now, _config("HANDOFF_ACCEPT_MINUTES"))
        Handoff.objects.filter(pk=handoff.pk).update(due_at=handoff.due_at)
    Deadline.objects.create(
        case=case,
        kind=DeadlineKind.HANDOFF,
        team=handoff.to_team,
        responsible=handoff.to_user or handoff.to_team.lead,
        started_at=now,
        due_at=handoff.due_at,
        handoff=handoff,
    )


def _handoff_answered(case: Case, data: dict[str, Any]) -> None:
    _finish_open(Deadline.objects.filter(handoff_id=int(data.get("handoff_id") or 0)))


def _handoff_declined(case: Case, data: dict[str, Any]) -> None:
    _handoff_answered(case, data)
    handoff = Handoff.objects.select_related("to_team", "decided_by").get(pk=data["handoff_id"])
    _record_failure(
        "handoff_declined",
        key=f"handoff:{handoff.pk}:declined",
        case=case,
        team=handoff.to_team,
        person=handoff.decided_by,
        detail={"handoff_id": handoff.pk, "reason": data.get("reason", "")},
        summary=_("Handoff to %(team)s declined: %(reason)s")
        % {"team": handoff.to_team.name, "reason": data.get("reason", "")},
    )


def _contractor_task(case: Case, data: dict[str, Any]) -> None:
    from pomogu.cases.models import ContractorTask

    task = ContractorTask.objects.filter(pk=int(data.get("task_id") or 0)).first()
    if task is None or task.due_at is None:
        return
    Deadline.objects.create(
        case=case,
        kind=DeadlineKind.CONTRACTOR,
        team=case.team,
        responsible=case.owner,
        started_at=clock.now(),
        due_at=task.due_at,
        contractor_task=task,
    )


def _contractor_task_done(case: Case, data: dict[str, Any]) -> None:
    _finish_open(Deadline.objects.filter(contractor_task_id=int(data.get("task_id") or 0)))


_HANDLERS: dict[str, Callable[[Case, dict[str, Any]], None]] = {
    EventKind.OPENED: _opened,
    EventKind.MESSAGE: _customer_wrote,
    EventKind.REPLY: _replied,
    EventKind.STATE: _state,
    EventKind.RESOLVED: _resolved,
    EventKind.REOPENED: _reopened,
    EventKind.CLOSED: _closed,
    EventKind.PRIORITY: _priority,
    EventKind.TEAM: _team,
    EventKind.HANDOFF_REQUESTED: _handoff_requested,
    EventKind.HANDOFF_ACCEPTED: _handoff_answered,
    EventKind.HANDOFF_CANCELLED: _handoff_answered,
    EventKind.HANDOFF_DECLINED: _handoff_declined,
    EventKind.CONTRACTOR_TASK: _contractor_task,
    EventKind.CONTRACTOR_TASK_DONE: _contractor_task_done,
}


def _team_calendar(team: Team) -> Calendar | None:
    policy = SlaPolicy.objects.filter(team=team, is_active=True, calendar__isnull=False).first()
    return policy.calendar if policy is not None else None


# --- SLA clocks -----------------------------------------------------------------------------


def start_sla(
    case: Case, kind: DeadlineKind, at: dt.datetime, *, policy: SlaPolicy | None = None
) -> Deadline | None:
    """Start one SLA clock on the case, if its policy (``policy``, else the case's) sets that
    target and none runs yet."""
    started = start_slas(case, (kind,), at, policy=policy)
    return started[0] if started else None


def start_slas(
    case: Case, kinds: tuple[DeadlineKind, ...], at: dt.datetime, *, policy: SlaPolicy | None
) -> list[Deadline]:
    """``start_sla`` for several clocks at once: one look for running clocks, one insert."""
    if policy is None:
        policy = policy_for(case.team, case.customer.tier, case.priority)
    targets = [(kind, minutes) for kind in kinds if (minutes := _target(policy, kind)) is not None]
    if not targets:
        return []
    running = set(
        Deadline.objects.filter(case=case)
        .filter(kind__in=[kind for kind, _minutes in targets], state__in=OPEN_DEADLINE_STATES)
        .values_list("kind", flat=True)
    )
    assert policy is not None
    calendar = policy.calendar or default_calendar()
    arithmetic = business_calendar(calendar)
    return Deadline.objects.bulk_create(
        [
            Deadline(
                case=case,
                kind=kind,
                team=case.team,
                responsible=case.owner,
                started_at=at,
                due_at=arithmetic.add_business_minutes(at, minutes),
                target_minutes=minutes,
                calendar=calendar,
                policy=policy,
            )
            for kind, minutes in targets
            if kind not in running
        ]
    )


def retarget(case: Case, *, priority: int | None = None, team: Team | None = None) -> None:
    """After a change of priority or team, running SLA clocks follow the new policy, counted
    from when each started (minutes already used stay used)."""
    team = team or case.team
    policy = policy_for(team, case.customer.tier, priority or case.priority)
    for deadline in Deadline.objects.filter(case=case).filter(
        kind__in=SLA_KINDS, state__in=OPEN_DEADLINE_STATES
    ):
        minutes = _target(policy, deadline.kind)
        if minutes is None:
            _finish(deadline, DeadlineState.CANCELLED)
            continue
        assert policy is not None
        calendar = policy.calendar or default_calendar()
        arithmetic = business_calendar(calendar)
        if deadline.state == DeadlineState.PAUSED:
            used = (deadline.target_minutes or 0) - (deadline.remaining_minutes or 0)
            deadline.remaining_minutes = max(minutes - used, 0)
        else:
            deadline.due_at = arithmetic.add_business_minutes(deadline.started_at, minutes)
        deadline.target_minutes = minutes
        deadline.team = team
        deadline.calendar = calendar
        deadline.policy = policy
        deadline.save()
    # A breached first response on a new team is still breached; nothing else to do.


def pause(case: Case) -> None:
    """The customer has the ball: resolution and next-response clocks stop."""
    now = clock.now()
    for deadline in Deadline.objects.filter(case=case).filter(
        kind__in=(DeadlineKind.RESOLUTION, DeadlineKind.NEXT_RESPONSE),
        state=DeadlineState.PENDING,
    ):
        assert deadline.due_at is not None
        arithmetic = business_calendar(deadline.calendar)
        deadline.remaining_minutes = max(
            arithmetic.business_minutes_between(now, deadline.due_at), 0
        )
        deadline.state = DeadlineState.PAUSED
        deadline.due_at = None
        deadline.save(update_fields=["remaining_minutes", "state", "due_at"])


def resume(case: Case) -> None:
    now = clock.now()
    for deadline in Deadline.objects.filter(case=case).filter(state=DeadlineState.PAUSED):
        arithmetic = business_calendar(deadline.calendar)
        deadline.due_at = arithmetic.add_business_minutes(now, deadline.remaining_minutes or 0)
        deadline.state = DeadlineState.PENDING
        deadline.remaining_minutes = None
        deadline.save(update_fields=["remaining_minutes", "state", "due_at"])


def meet(case: Case, kinds: tuple[str, ...], *, cancel: bool = False) -> None:
    """The promise was kept (or is moot): running clocks stop; breached ones get their end."""
    _finish_open(
        Deadline.objects.filter(case=case, kind__in=kinds),
        DeadlineState.CANCELLED if cancel else DeadlineState.MET,
    )
    for deadline in Deadline.objects.filter(case=case).filter(
        kind__in=kinds, state=DeadlineState.BREACHED, met_at__isnull=True
    ):
        _close_breach(deadline)


def _finish_open(deadlines: QuerySet[Deadline], state: DeadlineState = DeadlineState.MET) -> None:
    """End every running or paused deadline among ``deadlines`` in ``state``."""
    for deadline in deadlines.filter(state__in=OPEN_DEADLINE_STATES):
        _finish(deadline, state)


def _finish(deadline: Deadline, state: DeadlineState) -> None:
    deadline.state = state
    deadline.met_at = clock.now() if state == DeadlineState.MET else None
    deadline.save(update_fields=["state", "met_at"])
    Escalation.objects.filter(deadline=deadline, state=EscalationState.OPEN).update(
        state=EscalationState.CLOSED
    )


def _breach_key(deadline: Deadline) -> str:
    """The failure register's key of a deadline's breach: one failure per deadline."""
    return f"deadline:{deadline.pk}:breach"


def _mark_breached(deadline: Deadline, now: dt.datetime) -> None:
    deadline.state = DeadlineState.BREACHED
    deadline.breached_at = now
    deadline.save(update_fields=["state", "breached_at"])


def _close_breach(deadline: Deadline) -> None:
    """A missed deadline is finally kept: the register gets the business minutes it was late."""
    from pomogu.failures.models import Failure

    now = clock.now()
    deadline.met_at = now
    deadline.save(update_fields=["met_at"])
    Escalation.objects.filter(deadline=deadline, state=EscalationState.OPEN).update(
        state=EscalationState.CLOSED
    )
    if deadline.due_at is not None:
        lost = max(
            business_calendar(deadline.calendar).business_minutes_between(deadline.due_at, now), 0.0
        )
        failure = Failure.objects.filter(key=_breach_key(deadline)).first()
        if failure is not None:
            failure.minutes_lost = round(lost, 1)
            failure.detail = {
                **failure.detail,
                "late_by_minutes": round(lost, 1),
                "kept_at": now.isoformat(),
            }
            failure.save(update_fields=["minutes_lost", "detail"])


def backfill(case: Case) -> int:
    """Start the SLA clocks an existing case should have, from its own history (after an
    import, or when the first policy is configured). Returns how many clocks it started."""
    from pomogu.cases.choices import ACTIVE_STATES, MessageKind

    if case.state not in ACTIVE_STATES:
        return 0
    started = 0
    if case.first_response_at is None:
        started += start_sla(case, DeadlineKind.FIRST_RESPONSE, case.created_at) is not None
    started += start_sla(case, DeadlineKind.RESOLUTION, case.created_at) is not None
    last_reply = (
        case.messages.filter(kind=MessageKind.REPLY).order_by("-created_at").first()
        if case.first_response_at is not None
        else None
    )
    last_word = case.last_customer_message_at
    if last_reply is not None and last_word is not None and last_word > last_reply.created_at:
        started += start_sla(case, DeadlineKind.NEXT_RESPONSE, last_word) is not None
    if case.state == "waiting_customer":
        pause(case)
    return started


def answer_due_times(case: Any) -> QuerySet[Deadline, dt.datetime | None]:
    """The due times of the case's running response clocks, soonest first: the first is when
    the customer can expect an answer. ``case`` is a case or an ``OuterRef`` to one (lists
    annotate each of their cases with it)."""
    return (
        Deadline.objects.filter(
            case=case,
            kind__in=(DeadlineKind.FIRST_RESPONSE, DeadlineKind.NEXT_RESPONSE),
            state__in=(DeadlineState.PENDING, DeadlineState.BREACHED),
            met_at__isnull=True,
            due_at__isnull=False,
        )
        .order_by("due_at")
        .values_list("due_at", flat=True)
    )


def expected_answer_by(case: Case) -> dt.datetime | None:
    """When the customer can expect an answer: the earliest running response clock."""
    return answer_due_times(case).first()


# --- the sweep ------------------------------------------------------------------------------


def sweep(now: dt.datetime | None = None, batch: int = BATCH) -> int:
    """One pass: breach due deadlines, move unacknowledged escalations up. Returns how many
    deadlines and escalations it handled. Safe in any number of processes at once."""
    now = now or clock.now()
    done = 0
    # Usually nothing is due: one read of a partial index each, no transaction, no lock.
    if due_deadline_ids(now, 1):
        for chunk in _chunks(claim_due_deadlines(now, batch), CHUNK):
            done += each_in_batch(chunk, breach_many, "deadline")
    if due_escalation_ids(now, 1):
        for chunk in _chunks(claim_due_escalations(now, batch), CHUNK):
            done += each_in_batch(chunk, move_up_many, "escalation")
    return done


def _chunks(ids: list[int], size: int) -> list[list[int]]:
    return [ids[start : start + size] for start in range(0, len(ids), size)]


def each_in_batch(ids: list[int], handle: Callable[[list[int]], int], what: str) -> int:
    """Handle ``ids`` in one transaction; if that fails, each in its own, so that one row that
    cannot be handled does not hold up the others. A row that fails stays due (and keeps its
    claim): a later sweep takes it again when the claim expires."""
    try:
        return handle(ids)
    except Exception:
        if len(ids) == 1:
            log.exception("%s %s failed; it is retried after its claim expires", what, ids[0])
            return 0
        log.warning("a batch of %s %ss failed; handling them one by one", len(ids), what)
    return sum(each_in_batch([row_id], handle, what) for row_id in ids)


def _due_deadlines(now: dt.datetime) -> QuerySet[Deadline]:
    return (
        Deadline.objects.filter(state=DeadlineState.PENDING, due_at__lte=now)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("due_at")
    )


def _due_escalations(now: dt.datetime) -> QuerySet[Escalation]:
    return (
        Escalation.objects.filter(state=EscalationState.OPEN, ack_due_at__lte=now)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("ack_due_at")
    )


def due_deadline_ids(now: dt.datetime, limit: int = BATCH) -> list[int]:
    return list(_due_deadlines(now).values_list("pk", flat=True)[:limit])


def due_escalation_ids(now: dt.datetime, limit: int = BATCH) -> list[int]:
    return list(_due_escalations(now).values_list("pk", flat=True)[:limit])


def claim_until(now: dt.datetime) -> dt.datetime:
    """When a claim taken now expires (``POMOGU_CLAIM_SECONDS``)."""
    return now + dt.timedelta(seconds=_config("CLAIM_SECONDS"))


def claim_due_deadlines(now: dt.datetime, limit: int = BATCH) -> list[int]:
    """Take up to ``limit`` due deadlines at once: rows another sweep is taking right now are
    skipped (``FOR UPDATE SKIP LOCKED``), so two sweeps never wait for each other nor take the
    same row. A claim whose worker died expires and the row can be taken again."""
    return _claim_due(_due_deadlines(now), now, limit)


def claim_due_escalations(now: dt.datetime, limit: int = BATCH) -> list[int]:
    return _claim_due(_due_escalations(now), now, limit)


def _claim_due(due: QuerySet[Any], now: dt.datetime, limit: int) -> list[int]:
    with transaction.atomic():
        ids = list(
            due.select_for_update(skip_locked=True, of=("self",)).values_list("pk", flat=True)[
                :limit
            ]
        )
        if ids:
            due.model.objects.filter(pk__in=ids).update(claimed_until=claim_until(now))
    return ids


def claim_deadline(deadline_id: int, now: dt.datetime) -> bool:
    """Take one due deadline: a conditional UPDATE, so exactly one worker wins."""
    return _due_deadlines(now).filter(pk=deadline_id).update(claimed_until=claim_until(now)) == 1


def claim_escalation(escalation_id: int, now: dt.datetime) -> bool:
    return (
        _due_escalations(now).filter(pk=escalation_id).update(claimed_until=claim_until(now)) == 1
    )


def breach(deadline_id: int) -> int:
    """A deadline passed: record the failure, do what its kind needs, escalate. Re-checks the
    state under a row lock, so a second run (or a deadline met meanwhile) does nothing."""
    return breach_many([deadline_id])


@transaction.atomic
def breach_many(deadline_ids: list[int]) -> int:
    """``breach`` for several deadlines in one transaction, with a few statements for all of
    them rather than a score for each. Returns how many it breached."""
    fault_point("clocks.breach")
    now = clock.now()
    # Only the deadlines are locked (``of``): locking the joined team would make every breach
    # of a team wait for the one before. Locked in id order, so two runs never deadlock; the
    # filter is checked again after a wait, so a deadline met meanwhile drops out.
    deadlines = list(
        Deadline.objects.select_for_update(of=("self",))
        .select_related(
            "case",
            "case__customer__organisation",
            "case__owner",
            "case__team",
            "team",
            "responsible",
        )
        .filter(pk__in=deadline_ids, state=DeadlineState.PENDING, due_at__lte=now)
        .order_by("pk")
    )
    if not deadlines:
        return 0
    Deadline.objects.filter(pk__in=[d.pk for d in deadlines]).update(
        state=DeadlineState.BREACHED, breached_at=now
    )
    calendars = _Calendars()
    drafts = []
    for deadline in deadlines:
        deadline.state, deadline.breached_at = DeadlineState.BREACHED, now
        drafts.append(_breach_failure(deadline, calendars.get(deadline.calendar_id), now))
    recorded = {failure.key for failure in _record_failures(drafts)}
    # A deadline whose failure an earlier run recorded has had all of it: nothing more to do.
    missed = [d for d in deadlines if _breach_key(d) in recorded]
    TimelineEvent.objects.create_many(
        [
            TimelineEvent(
                case=deadline.case,
                kind=EventKind.DEADLINE_MISSED,
                data={
                    "deadline_id": deadline.pk,
                    "what": deadline.kind,
                    "due_at": deadline.due_at.isoformat() if deadline.due_at else None,
                },
            )
            for deadline in missed
        ]
    )
    for deadline in missed:
        if deadline.kind == DeadlineKind.HANDOFF and deadline.handoff_id is not None:
            _time_out_handoff(deadline)
        elif deadline.kind == DeadlineKind.APPOINTMENT and deadline.appointment_id is not None:
            _appointment_missed(deadline.appointment_id, actor=None, reported=False)
        elif deadline.kind == DeadlineKind.PROMISE and deadline.promise_id is not None:
            Promise.objects.filter(pk=deadline.promise_id, state=PromiseState.OPEN).update(
                state=PromiseState.BROKEN, decided_at=now
            )
    escalate_many([(deadline, 1) for deadline in missed], at=now)
    return len(missed)


class _Calendars:
    """Each calendar's arithmetic built once per batch (the default one when none is named)."""

    def __init__(self) -> None:
        self._built: dict[int | None, BusinessCalendar] = {}

    def get(self, calendar_id: int | None) -> BusinessCalendar:
        if calendar_id not in self._built:
            calendar = Calendar.objects.filter(pk=calendar_id).first() if calendar_id else None
            self._built[calendar_id] = business_calendar(calendar)
        return self._built[calendar_id]


def _breach_failure(deadline: Deadline, calendar: BusinessCalendar, now: dt.datetime) -> Any:
    from pomogu.failures.services import draft

    kind = DeadlineKind(deadline.kind)
    due_at = deadline.due_at or now
    # Business minutes already lost when the sweep notices (more when it ran late); the final
    # figure is written when the deadline is finally kept (_close_breach).
    lost = max(calendar.business_minutes_between(due_at, now), 0)
    return draft(
        BREACH_FAILURE[kind],
        key=_breach_key(deadline),
        case=deadline.case,
        team=deadline.team,
        person=deadline.responsible,
        at=due_at,
        minutes_lost=round(lost, 1),
        detail={
            "deadline_id": deadline.pk,
            "target": kind.value,
            "due_at": due_at.isoformat(),
            "target_minutes": deadline.target_minutes,
        },
        summary=_("%(what)s missed (due %(due)s)") % {"what": kind.label, "due": _when(due_at)},
    )


def _record_failures(drafts: list[Any]) -> list[Any]:
    from pomogu.failures.services import record_many

    return record_many(drafts)


def _time_out_handoff(deadline: Deadline) -> None:
    from pomogu.cases import services as cases

    handoff = Handoff.objects.get(pk=int(deadline.handoff_id or 0))
    if handoff.state == HandoffState.REQUESTED:
        cases.time_out_handoff(handoff.pk)


# --- escalation -----------------------------------------------------------------------------


def chain_for(team: Team) -> tuple[list[tuple[str, User | None, int]], User | None]:
    """The levels (target, named user, minutes to acknowledge) and the head of service."""
    chain = (
        EscalationChain.objects.filter(team=team).first()
        or EscalationChain.objects.filter(team__isnull=True).first()
    )
    levels: list[tuple[str, User | None, int]] = []
    if chain is not None:
        levels = [
            (lv.target, lv.user, lv.ack_minutes) for lv in chain.levels.select_related("user")
        ]
    if not levels:
        ack = _config("ESCALATION_ACK_MINUTES")
        levels = [(LevelTarget.TEAM_LEAD, None, ack), (LevelTarget.HEAD, None, ack * 2)]
    head = chain.head if chain is not None and chain.head is not None else default_head()
    return levels, head


def default_head() -> User | None:
    """The head of service when no chain names one: the first manager, else an administrator."""
    from pomogu.people.models import StaffRole, User

    active = User.objects.filter(is_active=True).order_by("id")
    return (
        active.filter(role=StaffRole.MANAGER).first()
        or active.filter(Q(role=StaffRole.ADMIN) | Q(is_superuser=True)).first()
    )


class _Escalator:
    """Who receives escalations at one moment. Reads each team's chain, the absences and the
    last resort once, however many escalations it decides."""

    def __init__(self, at: dt.datetime) -> None:
        from pomogu.people.services import Presence

        self.at = at
        self.presence = Presence(at)
        self._chains: dict[int, tuple[list[tuple[str, User | None, int]], User | None]] = {}
        self._last_resort: dict[int | None, User | None] = {}
        self._users: dict[int, User | None] = {}

    def chain(self, team: Team) -> tuple[list[tuple[str, User | None, int]], User | None]:
        if team.pk not in self._chains:
            self._chains[team.pk] = chain_for(team)
        return self._chains[team.pk]

    def user(self, user_id: int | None) -> User | None:
        from pomogu.people.models import User

        if user_id is None:
            return None
        if user_id not in self._users:
            self._users[user_id] = User.objects.filter(pk=user_id).first()
        return self._users[user_id]

    def named(
        self, target: str, user: User | None, deadline: Deadline, head: User | None
    ) -> User | None:
        """Who a level of the chain names for this deadline."""
        case = deadline.case
        if target == LevelTarget.OWNER:
            return case.owner
        if target == LevelTarget.TEAM_LEAD:
            return self.user(deadline.team.lead_id) or self.user(case.team.lead_id)
        if target == LevelTarget.HEAD:
            return head
        return user

    def someone_present(self, head: User | None) -> User | None:
        """The end of every chain: the head's deputy, else any present manager or
        administrator."""
        from pomogu.people.models import StaffRole, User

        key = head.pk if head is not None else None
        if key not in self._last_resort:
            found = self.presence.present_stand_in(head) if head is not None else None
            if found is None:
                found = (
                    User.objects.filter(is_active=True)
                    .filter(Q(role__in=[StaffRole.MANAGER, StaffRole.ADMIN]) | Q(is_superuser=True))
                    .exclude(pk__in=self.presence.absent_ids)
                    .order_by("-role", "id")
                    .first()
                )
            self._last_resort[key] = found
        return self._last_resort[key]

    def escalation(self, deadline: Deadline, level: int) -> Escalation:
        """The escalation of ``deadline`` at ``level`` (1-based) or the first level above it
        whose person (or their deputy) is present. Past the chain's end the top level repeats,
        and the chain's end is always someone present when anyone senior is."""
        levels, head = self.chain(deadline.team)
        recipient: User | None = None
        intended: User | None = None
        used = level
        ack_minutes = levels[-1][2]
        for index in range(min(level, len(levels)) - 1, len(levels)):
            target, user, minutes = levels[index]
            named = self.named(target, user, deadline, head)
            if named is None:
                continue
            found = self.presence.present_stand_in(named)
            if found is not None:
                recipient, intended, ack_minutes = found, named, minutes
                used = max(level, index + 1)
                break
        if recipient is None:
            intended = head or self.named(levels[-1][0], levels[-1][1], deadline, head)
            recipient = self.someone_present(head) or intended or deadline.case.owner
            used = max(level, len(levels))
        return Escalation(
            deadline=deadline,
            case=deadline.case,
            level=used,
            recipient=recipient,
            intended=intended if intended is not None and intended.pk != recipient.pk else None,
            created_at=self.at,
            ack_due_at=self.at + dt.timedelta(minutes=ack_minutes),
        )


def escalate(deadline: Deadline, *, level: int, at: dt.datetime) -> Escalation | None:
    """Escalate a missed deadline at ``level`` (1-based) or the first level above it whose
    person (or their deputy) is present. Past the chain's end the top level repeats, and the
    chain's end is always someone present when anyone senior is. Unique per deadline and
    level: None if that level was escalated already (or the chain is exhausted)."""
    made = escalate_many([(deadline, level)], at=at)
    return made[0] if made else None


def escalate_many(wanted: list[tuple[Deadline, int]], *, at: dt.datetime) -> list[Escalation]:
    """``escalate`` for many deadlines at once: one query for what exists, one insert each for
    the escalations, their events, the notifications and the emails."""
    escalator = _Escalator(at)
    drafts: dict[tuple[int, int], Escalation] = {}
    for deadline, level in wanted:
        if level <= MAX_LEVEL:
            escalation = escalator.escalation(deadline, level)
            drafts.setdefault((deadline.pk, escalation.level), escalation)
    if not drafts:
        return []
    existing = Escalation.objects.filter(deadline_id__in={pk for pk, _level in drafts})
    for pair in existing.order_by().values_list("deadline_id", "level"):
        drafts.pop(pair, None)  # this level was already escalated
    new = list(drafts.values())
    try:
        with transaction.atomic():
            Escalation.objects.bulk_create(new)
    except IntegrityError:
        # Another transaction escalated one of them since we looked: one by one.
        new = [escalation for escalation in new if _insert_escalation(escalation)]
    TimelineEvent.objects.create_many(
        [
            TimelineEvent(
                case=escalation.case,
                kind=EventKind.ESCALATED,
                data={
                    "escalation_id": escalation.pk,
                    "level": escalation.level,
                    "to": escalation.recipient.username,
                    "instead_of": escalation.intended.username if escalation.intended else "",
                    "what": escalation.deadline.kind,
                },
            )
            for escalation in new
        ]
    )
    _notify_escalations(new)
    return new


def _insert_escalation(escalation: Escalation) -> bool:
    try:
        with transaction.atomic():
            escalation.save(force_insert=True)
    except IntegrityError:
        return False
    return True


def move_up(escalation_id: int) -> int:
    """An escalation nobody acknowledged in time goes one level up (and is a failure itself)."""
    return move_up_many([escalation_id])


@transaction.atomic
def move_up_many(escalation_ids: list[int]) -> int:
    """``move_up`` for several escalations in one transaction."""
    from pomogu.failures.services import draft

    now = clock.now()
    escalations = list(
        Escalation.objects.select_for_update(of=("self",))
        .select_related(
            "deadline",
            "deadline__case",
            "deadline__case__customer__organisation",
            "deadline__case__owner",
            "deadline__case__team",
            "deadline__team",
            "recipient",
        )
        .filter(pk__in=escalation_ids, state=EscalationState.OPEN, ack_due_at__lte=now)
        .order_by("pk")
    )
    if not escalations:
        return 0
    Escalation.objects.filter(pk__in=[e.pk for e in escalations]).update(
        state=EscalationState.MOVED_UP
    )
    drafts = []
    for escalation in escalations:
        escalation.state = EscalationState.MOVED_UP
        drafts.append(
            draft(
                "escalation_unacknowledged",
                key=f"escalation:{escalation.pk}:unacknowledged",
                case=escalation.deadline.case,
                team=escalation.deadline.team,
                person=escalation.recipient,
                at=escalation.ack_due_at,
                detail={"escalation_id": escalation.pk, "level": escalation.level},
                summary=_("Escalation (level %(level)s) not acknowledged by %(who)s")
                % {"level": escalation.level, "who": escalation.recipient.display_name},
            )
        )
    _record_failures(drafts)
    escalate_many([(e.deadline, e.level + 1) for e in escalations], at=now)
    return len(escalations)


@transaction.atomic
def acknowledge(escalation_id: int, *, actor: User) -> Escalation:
    """The recipient (or a manager) has it in hand: it stops moving up."""
    escalation = Escalation.objects.select_for_update().filter(pk=escalation_id).first()
    if escalation is None or not _may_see_case(actor, escalation.case_id):
        raise NotFound(_("No such escalation."))
    if escalation.recipient_id != actor.pk and not actor.sees_all_teams:
        raise PermissionDenied(_("This escalation is addressed to someone else."))
    if escalation.state != EscalationState.OPEN:
        raise InvalidTransition(
            _("This escalation is already %(state)s.")
            % {"state": EscalationState(escalation.state).label.lower()},
            code="escalation_closed",
        )
    escalation.state = EscalationState.ACKNOWLEDGED
    escalation.acknowledged_at = clock.now()
    escalation.acknowledged_by = actor
    escalation.save(update_fields=["state", "acknowledged_at", "acknowledged_by"])
    Notification.objects.filter(
        recipient_id=escalation.recipient_id, kind="escalation", data__escalation_id=escalation.pk
    ).update(read_at=escalation.acknowledged_at)
    TimelineEvent.objects.create(
        case_id=escalation.case_id,
        kind=EventKind.ESCALATION_ACKNOWLEDGED,
        actor=actor,
        data={"escalation_id": escalation.pk, "level": escalation.level},
    )
    return escalation


def _notify_escalations(escalations: list[Escalation]) -> None:
    from pomogu.contact.services import StaffNote, case_link, notify_staff_many

    notes = []
    for escalation in escalations:
        recipient, deadline = escalation.recipient, escalation.deadline
        case = deadline.case
        with translation.override(recipient.language or settings.LANGUAGE_CODE):
            title = _("Missed: %(what)s on case #%(number)s (escalation level %(level)s)") % {
                "what": DeadlineKind(deadline.kind).label,
                "number": case.number,
                "level": escalation.level,
            }
            lines = [
                _('%(what)s on case #%(number)s "%(subject)s" was due %(due)s.')
                % {
                    "what": DeadlineKind(deadline.kind).label,
                    "number": case.number,
                    "subject": case.subject,
                    "due": _when(deadline.due_at),
                },
                _("Owner: %(owner)s. Team: %(team)s.")
                % {"owner": case.owner.display_name, "team": deadline.team.name},
            ]
            if escalation.intended is not None:
                lines.append(
                    _("You receive this instead of %(person)s, who is away.")
                    % {"person": escalation.intended.display_name}
                )
            lines.append(
                _("Acknowledge it by %(when)s, or it goes up to the next level.")
                % {"when": _when(escalation.ack_due_at)}
            )
            lines.append(_("Open the case: %(url)s") % {"url": case_link(case)})
        notes.append(
            StaffNote(
                recipient=recipient,
                case=case,
                kind="escalation",
                title=title,
                body="\n".join(lines),
                data={"escalation_id": escalation.pk, "deadline_id": deadline.pk},
                dedupe_key=f"escalation:{escalation.pk}",
            )
        )
    notify_staff_many(notes)


def _when(moment: dt.datetime | None) -> str:
    if moment is None:
        return "—"
    return formats.date_format(timezone.localtime(moment), "DATETIME_FORMAT")


def _record_failure(kind: str, **kwargs: Any) -> Any:
    from pomogu.failures.services import record

    return record(kind, **kwargs)


# --- appointments and promises --------------------------------------------------------------


def _may_see_case(actor: User, case_id: int) -> bool:
    from pomogu.cases import queries

    return queries.visible_cases(actor).filter(pk=case_id).exists()


def _require_case_staff(actor: User, case: Case) -> None:
    from pomogu.cases import queries

    queries.get_visible_case(actor, case.pk)  # NotFound when the actor may not see it


@transaction.atomic
def schedule_appointment(
    case_id: int,
    *,
    actor: User,
    staff: User,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    kind: str = "visit",
    place: str = "",
    replaces: Appointment | None = None,
) -> Appointment:
    """Book a visit or call with the customer. It must be reported kept or missed by
    ``POMOGU_APPOINTMENT_REPORT_MINUTES`` after its end; unreported, it counts as missed."""
    case = Case.objects.select_for_update().get(pk=case_id)
    _require_case_staff(actor, case)
    if ends_at <= starts_at:
        raise DomainError(_("An appointment must end after it starts."), code="appointment_times")
    appointment = Appointment.objects.create(
        case=case,
        staff=staff,
        kind=kind,
        starts_at=starts_at,
        ends_at=ends_at,
        place=place,
        created_by=actor,
        replaces=replaces,
    )
    Deadline.objects.create(
        case=case,
        kind=DeadlineKind.APPOINTMENT,
        team=case.team,
        responsible=staff,
        started_at=clock.now(),
        due_at=ends_at + dt.timedelta(minutes=_config("APPOINTMENT_REPORT_MINUTES")),
        appointment=appointment,
    )
    TimelineEvent.objects.create(
        case=case,
        kind=EventKind.APPOINTMENT,
        actor=actor,
        data={
            "appointment_id": appointment.pk,
            "kind": kind,
            "starts_at": starts_at.isoformat(),
            "staff": staff.username,
        },
    )
    return appointment


@transaction.atomic
def report_appointment(
    appointment_id: int, *, actor: User, kept: bool, note: str = ""
) -> Appointment:
    appointment = Appointment.objects.select_for_update().filter(pk=appointment_id).first()
    if appointment is None:
        raise NotFound(_("No such appointment."))
    _require_case_staff(actor, appointment.case)
    if appointment.state != AppointmentState.SCHEDULED:
        raise InvalidTransition(
            _("This appointment was already reported."), code="appointment_done"
        )
    if kept:
        appointment.state = AppointmentState.KEPT
        appointment.decided_at = clock.now()
        appointment.note = note
        appointment.save(update_fields=["state", "decided_at", "note"])
        _finish_open(appointment.deadlines.all())
        TimelineEvent.objects.create(
            case_id=appointment.case_id,
            kind=EventKind.APPOINTMENT_KEPT,
            actor=actor,
            data={"appointment_id": appointment.pk},
        )
        return appointment
    open_deadline = appointment.deadlines.filter(state__in=OPEN_DEADLINE_STATES).first()
    _appointment_missed(appointment.pk, actor=actor, reported=True, note=note)
    if open_deadline is not None:
        deadline = open_deadline
        _mark_breached(deadline, clock.now())
        _record_failure(
            "appointment_missed",
            key=_breach_key(deadline),
            case=appointment.case,
            team=deadline.team,
            person=appointment.staff,
            at=appointment.starts_at,
            detail={"appointment_id": appointment.pk, "reported_by": actor.username, "note": note},
            summary=_("Appointment of %(when)s missed") % {"when": _when(appointment.starts_at)},
        )
        escalate(deadline, level=1, at=clock.now())
    appointment.refresh_from_db()
    return appointment


def _appointment_missed(
    appointment_id: int, *, actor: User | None, reported: bool, note: str = ""
) -> None:
    """Mark missed and propose a new time to the customer: the same hour on the next working
    day of the team's calendar, with the same person."""
    from pomogu.contact import governor
    from pomogu.contact.models import ContactPurpose

    appointment = Appointment.objects.select_related("case", "case__customer", "staff").get(
        pk=appointment_id
    )
    if appointment.state != AppointmentState.SCHEDULED:
        return
    now = clock.now()
    appointment.state = AppointmentState.MISSED
    appointment.decided_at = now
    appointment.note = note
    appointment.save(update_fields=["state", "decided_at", "note"])
    case = appointment.case
    length = appointment.ends_at - appointment.starts_at
    calendar = business_calendar(_team_calendar(case.team))
    proposal = calendar.next_open(max(now, appointment.starts_at) + dt.timedelta(days=1))
    new = Appointment.objects.create(
        case=case,
        staff=appointment.staff,
        kind=appointment.kind,
        starts_at=proposal,
        ends_at=proposal + length,
        place=appointment.place,
        created_by=actor,
        replaces=appointment,
    )
    Deadline.objects.create(
        case=case,
        kind=DeadlineKind.APPOINTMENT,
        team=case.team,
        responsible=appointment.staff,
        started_at=now,
        due_at=new.ends_at + dt.timedelta(minutes=_config("APPOINTMENT_REPORT_MINUTES")),
        appointment=new,
    )
    TimelineEvent.objects.create(
        case=case,
        kind=EventKind.APPOINTMENT_MISSED,
        actor=actor,
        data={
            "appointment_id": appointment.pk,
            "proposed_id": new.pk,
            "proposed_at": proposal.isoformat(),
            "reported": reported,
        },
    )
    customer = case.customer
    if customer.email:
        with translation.override(customer.language or case.language or settings.LANGUAGE_CODE):
            subject = _("We missed our appointment: a new time") + f" {case.tag}"
            body = "\n".join(
                [
                    _("We are sorry: we did not keep our appointment of %(when)s.")
                    % {"when": _when(appointment.starts_at)},
                    _("We propose %(when)s instead, with %(person)s.")
                    % {"when": _when(new.starts_at), "person": appointment.staff.display_name},
                    _("If that time does not suit you, reply to this message with one that does."),
                ]
            )
        # A notice the customer did not ask for: through the contact governor (R6), so it
        # waits for the morning rather than arriving at night.
        governor.contact(
            customer=customer,
            purpose=ContactPurpose.APPOINTMENT,
            case=case,
            reason=_("A new time for a missed appointment"),
            subject=subject,
            body=body,
            dedupe_key=f"appointment:{appointment.pk}:missed",
        )


@transaction.atomic
def make_promise(case_id: int, *, actor: User, text: str, due_at: dt.datetime) -> Promise:
    """Record what an agent promised the customer, by when; it is a deadline like any other."""
    case = Case.objects.select_for_update().get(pk=case_id)
    _require_case_staff(actor, case)
    if not text.strip():
        raise DomainError(_("Say what was promised."), code="promise_text")
    promise = Promise.objects.create(case=case, made_by=actor, text=text.strip(), due_at=due_at)
    Deadline.objects.create(
        case=case,
        kind=DeadlineKind.PROMISE,
        team=case.team,
        responsible=actor,
        started_at=clock.now(),
        due_at=due_at,
        promise=promise,
    )
    TimelineEvent.objects.create(
        case=case,
        kind=EventKind.PROMISE,
        actor=actor,
        data={"promise_id": promise.pk, "text": promise.text, "due_at": due_at.isoformat()},
    )
    return promise


@transaction.atomic
def keep_promise(promise_id: int, *, actor: User) -> Promise:
    promise = Promise.objects.select_for_update().filter(pk=promise_id).first()
    if promise is None:
        raise NotFound(_("No such promise."))
    _require_case_staff(actor, promise.case)
    if promise.state not in (PromiseState.OPEN, PromiseState.BROKEN):
        raise InvalidTransition(_("This promise is closed."), code="promise_closed")
    late = promise.state == PromiseState.BROKEN
    promise.state = PromiseState.KEPT
    promise.decided_at = clock.now()
    promise.save(update_fields=["state", "decided_at"])
    for deadline in promise.deadlines.all():
        if deadline.state in OPEN_DEADLINE_STATES:
            _finish(deadline, DeadlineState.MET)
        elif deadline.state == DeadlineState.BREACHED and deadline.met_at is None:
            _close_breach(deadline)
    TimelineEvent.objects.create(
        case_id=promise.case_id,
        kind=EventKind.PROMISE_KEPT,
        actor=actor,
        data={"promise_id": promise.pk, "late": late},
    )
    return promise
