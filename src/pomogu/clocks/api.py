"""REST endpoints for time (R4): calendars, SLA policies, escalation chains and absences (so an
installation can be set up by script), a case's clocks, appointments, promises, escalations."""

import datetime as dt
from typing import Any, Literal

from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from pomogu.cases import queries
from pomogu.cases.schemas import TeamRef, UserRef
from pomogu.clocks import services
from pomogu.clocks.calendar import BusinessCalendar
from pomogu.clocks.models import (
    Appointment,
    Calendar,
    Deadline,
    Escalation,
    EscalationChain,
    EscalationLevel,
    EscalationState,
    Promise,
    SlaPolicy,
)
from pomogu.core.api_support import (
    Id,
    Minutes,
    Moment,
    Page,
    Strict,
    TeamRefPath,
    actor_of,
    errors,
)
from pomogu.core.errors import DomainError, InvalidInput, NotFound, PermissionDenied
from pomogu.people import services as people
from pomogu.people.api import require_admin, resolve_team, resolve_user
from pomogu.people.choices import AbsenceKind
from pomogu.people.models import Absence, Team, User

router = Router(tags=["clocks"])


def _checked_config(config: dict[str, Any]) -> dict[str, Any]:
    try:
        return BusinessCalendar.from_config(config).to_config()
    except (ValueError, TypeError, KeyError) as error:
        raise InvalidInput(str(error), code="bad_calendar") from None


# --- calendars ------------------------------------------------------------------------------


class CalendarIn(Strict):
    name: str = Field(..., min_length=1, max_length=100)
    config: dict[str, Any] = Field(
        ...,
        description='{"timezone": "Europe/Moscow", "hours": {"mon": [["09:00", "18:00"]], ...}, '
        '"country": "RU", "closed": ["2026-12-31"], '
        '"special": {"2026-12-30": [["09:00", "16:00"]]}}',
        examples=[
            {
                "timezone": "Europe/Moscow",
                "hours": {day: [["09:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
                "country": "RU",
                "closed": ["2026-12-31"],
                "special": {"2026-12-30": [["09:00", "16:00"]]},
            }
        ],
    )
    is_default: bool = False


class CalendarOut(Schema):
    id: int
    name: str
    config: dict[str, Any]
    is_default: bool


@router.get("/calendars", response=list[CalendarOut], summary="Business calendars")
@paginate(Page)
def list_calendars(request: HttpRequest) -> QuerySet[Calendar]:
    return Calendar.objects.all()


@router.post(
    "/calendars",
    response={201: CalendarOut, **errors(403, 409)},
    summary="Create a calendar (admin)",
)
@transaction.atomic
def create_calendar(request: HttpRequest, payload: CalendarIn) -> Status[Calendar]:
    require_admin(actor_of(request))
    if Calendar.objects.filter(name=payload.name).exists():
        raise DomainError(_("A calendar with this name exists."), code="calendar_exists")
    if payload.is_default:
        Calendar.objects.filter(is_default=True).update(is_default=False)
    calendar = Calendar.objects.create(
        name=payload.name, config=_checked_config(payload.config), is_default=payload.is_default
    )
    return Status(201, calendar)


@router.put(
    "/calendars/{calendar_id}",
    response={200: CalendarOut, **errors(403, 404, 409)},
    summary="Change a calendar (admin)",
)
@transaction.atomic
def update_calendar(request: HttpRequest, calendar_id: int, payload: CalendarIn) -> Calendar:
    require_admin(actor_of(request))
    calendar = Calendar.objects.filter(pk=calendar_id).first()
    if calendar is None:
        raise NotFound(_("No such calendar."))
    if Calendar.objects.filter(name=payload.name).exclude(pk=calendar.pk).exists():
        raise DomainError(_("A calendar with this name exists."), code="calendar_exists")
    if payload.is_default:
        Calendar.objects.filter(is_default=True).exclude(pk=calendar.pk).update(is_default=False)
    calendar.name = payload.name
    calendar.config = _checked_config(payload.config)
    calendar.is_default = payload.is_default
    calendar.save()
    return calendar


# --- SLA policies ---------------------------------------------------------------------------

PRIORITIES = {"low": 1, "normal": 2, "high": 3, "urgent": 4}


class PolicyIn(Strict):
    name: str = Field(..., min_length=1, max_length=100)
    team: int | str | None = Field(None, description="Team id or slug; empty: every team")
    tier: str = Field("", max_length=32, description="Customer tier; empty: every tier")
    priority: Literal["low", "normal", "high", "urgent"] | None = None
    calendar: Id | None = Field(None, description="Calendar id; empty: the default calendar")
    first_response_minutes: Minutes | None = None
    next_response_minutes: Minutes | None = None
    resolution_minutes: Minutes | None = None
    is_active: bool = True


class PolicyOut(Schema):
    id: int
    name: str
    team: TeamRef | None
    tier: str
    priority: str | None
    calendar_id: int | None
    first_response_minutes: int | None
    next_response_minutes: int | None
    resolution_minutes: int | None
    is_active: bool

    @staticmethod
    def resolve_priority(obj: SlaPolicy) -> str | None:
        names = {v: k for k, v in PRIORITIES.items()}
        return names.get(obj.priority) if obj.priority else None


def _apply_policy(policy: SlaPolicy, payload: PolicyIn) -> SlaPolicy:
    calendar = None
    if payload.calendar is not None:
        calendar = Calendar.objects.filter(pk=payload.calendar).first()
        if calendar is None:
            raise NotFound(_("No such calendar."))
    policy.name = payload.name
    policy.team = resolve_team(payload.team) if payload.team is not None else None
    policy.tier = payload.tier
    policy.priority = PRIORITIES[payload.priority] if payload.priority else None
    policy.calendar = calendar
    policy.first_response_minutes = payload.first_response_minutes
    policy.next_response_minutes = payload.next_response_minutes
    policy.resolution_minutes = payload.resolution_minutes
    policy.is_active = payload.is_active
    policy.save()
    return policy


@router.get("/sla-policies", response=list[PolicyOut], summary="SLA policies")
@paginate(Page)
def list_policies(request: HttpRequest) -> QuerySet[SlaPolicy]:
    return SlaPolicy.objects.select_related("team")


@router.post(
    "/sla-policies",
    response={201: PolicyOut, **errors(403, 404)},
    summary="Create an SLA policy (admin)",
)
@transaction.atomic
def create_policy(request: HttpRequest, payload: PolicyIn) -> Status[SlaPolicy]:
    require_admin(actor_of(request))
    return Status(201, _apply_policy(SlaPolicy(), payload))


@router.put(
    "/sla-policies/{policy_id}",
    response={200: PolicyOut, **errors(403, 404)},
    summary="Change an SLA policy (admin)",
)
@transaction.atomic
def update_policy(request: HttpRequest, policy_id: int, payload: PolicyIn) -> SlaPolicy:
    require_admin(actor_of(request))
    policy = SlaPolicy.objects.filter(pk=policy_id).first()
    if policy is None:
        raise NotFound(_("No such SLA policy."))
    return _apply_policy(policy, payload)


# --- escalation chains ----------------------------------------------------------------------


class LevelIn(Strict):
    target: Literal["owner", "team_lead", "head", "user"]
    user: int | str | None = Field(None, description="Staff id or username, for target 'user'")
    ack_minutes: int = Field(60, ge=1, le=10080)


class ChainIn(Strict):
    head: int | str | None = Field(None, description="The head of service: staff id or username")
    levels: list[LevelIn] = Field(..., min_length=1, max_length=10)


class LevelOut(Schema):
    position: int
    target: str
    user: UserRef | None
    ack_minutes: int


class ChainOut(Schema):
    team: TeamRef | None
    head: UserRef | None
    levels: list[LevelOut]

    @staticmethod
    def resolve_levels(obj: EscalationChain) -> list[EscalationLevel]:
        return list(obj.levels.select_related("user"))


def _chain(team_ref: str) -> tuple[Team | None, EscalationChain | None]:
    if team_ref == "default":
        return None, EscalationChain.objects.filter(team__isnull=True).first()
    team = resolve_team(team_ref)
    return team, EscalationChain.objects.filter(team=team).first()


@router.get(
    "/escalation-chains/{team_ref}",
    response={200: ChainOut, **errors(404)},
    summary="A team's escalation chain ('default' for the desk's)",
)
def get_chain(request: HttpRequest, team_ref: TeamRefPath) -> EscalationChain:
    _team, chain = _chain(team_ref)
    if chain is None:
        raise NotFound(_("This team has no chain of its own; the default chain applies."))
    return chain


@router.put(
    "/escalation-chains/{team_ref}",
    response={200: ChainOut, **errors(403, 404, 409)},
    summary="Set a chain (admin)",
)
@transaction.atomic
def put_chain(request: HttpRequest, team_ref: TeamRefPath, payload: ChainIn) -> EscalationChain:
    require_admin(actor_of(request))
    team, chain = _chain(team_ref)
    if chain is None:
        chain = EscalationChain.objects.create(team=team)
    chain.head = resolve_user(payload.head) if payload.head is not None else None
    chain.save()
    chain.levels.all().delete()
    for position, level in enumerate(payload.levels, start=1):
        if level.target == "user" and level.user is None:
            raise DomainError(_("A level for a named person must name them."), code="level_user")
        EscalationLevel.objects.create(
            chain=chain,
            position=position,
            target=level.target,
            user=resolve_user(level.user) if level.user is not None else None,
            ack_minutes=level.ack_minutes,
        )
    return chain


# --- absences -------------------------------------------------------------------------------


class AbsenceIn(Strict):
    user: int | str
    starts_at: Moment
    ends_at: Moment
    deputy: int | str | None = None
    kind: Literal["vacation", "sick", "meeting", "other"] = "vacation"
    note: str = Field("", max_length=200)


class AbsenceOut(Schema):
    id: int
    user: UserRef
    kind: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    deputy: UserRef | None
    note: str


def _may_manage_absence(actor: User, user: User) -> bool:
    if actor.pk == user.pk or actor.sees_all_teams:
        return True
    return any(people.is_team_lead(actor, team) for team in user.teams.all())


@router.get(
    "/absences",
    response={200: list[AbsenceOut], **errors(404)},
    summary="Absences now and to come",
)
@paginate(Page)
def list_absences(request: HttpRequest, user: str = "") -> QuerySet[Absence]:
    from pomogu.core import clock

    qs = Absence.objects.filter(ends_at__gt=clock.now()).select_related("user", "deputy")
    if user:
        qs = qs.filter(user=resolve_user(user))
    return qs.order_by("starts_at", "id")


@router.post(
    "/absences",
    response={201: AbsenceOut, **errors(403, 404, 409)},
    summary="Record an absence",
)
def create_absence(request: HttpRequest, payload: AbsenceIn) -> Status[Absence]:
    actor = actor_of(request)
    user = resolve_user(payload.user)
    if not _may_manage_absence(actor, user):
        raise PermissionDenied(_("Only the person, their team lead or a manager can do that."))
    if payload.kind not in AbsenceKind.values:
        raise DomainError(_("Unknown kind of absence."), code="absence_kind")
    absence = people.add_absence(
        user,
        starts_at=payload.starts_at,
        ends_at=payload.ends_at,
        deputy=resolve_user(payload.deputy) if payload.deputy is not None else None,
        kind=AbsenceKind(payload.kind),
        note=payload.note,
    )
    return Status(201, absence)


@router.delete(
    "/absences/{absence_id}",
    response={204: None, **errors(403, 404)},
    summary="Cancel an absence",
)
def delete_absence(request: HttpRequest, absence_id: int) -> Status[None]:
    actor = actor_of(request)
    absence = Absence.objects.filter(pk=absence_id).select_related("user").first()
    if absence is None:
        raise NotFound(_("No such absence."))
    if not _may_manage_absence(actor, absence.user):
        raise PermissionDenied(_("Only the person, their team lead or a manager can do that."))
    absence.delete()
    return Status(204, None)


# --- a case's clocks, appointments, promises --------------------------------------------------


class DeadlineOut(Schema):
    id: int
    kind: str
    state: str
    started_at: dt.datetime
    due_at: dt.datetime | None
    target_minutes: float | None
    remaining_minutes: float | None
    met_at: dt.datetime | None
    breached_at: dt.datetime | None
    responsible: UserRef | None


class ClocksOut(Schema):
    expected_answer_by: dt.datetime | None
    deadlines: list[DeadlineOut]


@router.get(
    "/cases/{case_id}/clocks",
    response={200: ClocksOut, **errors(404)},
    summary="A case's deadlines",
)
def case_clocks(request: HttpRequest, case_id: int) -> dict[str, Any]:
    case = queries.get_visible_case(actor_of(request), case_id)
    return {
        "expected_answer_by": services.expected_answer_by(case),
        "deadlines": list(
            Deadline.objects.filter(case=case).select_related("responsible").order_by("id")
        ),
    }


class AppointmentIn(Strict):
    staff: int | str | None = Field(None, description="Who goes or calls; default: the caller")
    starts_at: Moment
    ends_at: Moment
    kind: Literal["visit", "call"] = "visit"
    place: str = Field("", max_length=300)


class AppointmentOut(Schema):
    id: int
    case_id: int
    staff: UserRef
    kind: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    place: str
    state: str
    replaces_id: int | None


class ReportIn(Strict):
    kept: bool
    note: str = Field("", max_length=2000)


@router.post(
    "/cases/{case_id}/appointments",
    response={201: AppointmentOut, **errors(404, 409)},
    summary="Book a visit or call",
)
def create_appointment(
    request: HttpRequest, case_id: int, payload: AppointmentIn
) -> Status[Appointment]:
    actor = actor_of(request)
    case = queries.get_visible_case(actor, case_id)
    staff = resolve_user(payload.staff) if payload.staff is not None else actor
    appointment = services.schedule_appointment(
        case.pk,
        actor=actor,
        staff=staff,
        starts_at=payload.starts_at,
        ends_at=payload.ends_at,
        kind=payload.kind,
        place=payload.place,
    )
    return Status(201, appointment)


@router.post(
    "/appointments/{appointment_id}/report",
    response={200: AppointmentOut, **errors(404, 409)},
    summary="Report an appointment kept or missed",
)
def report_appointment(request: HttpRequest, appointment_id: int, payload: ReportIn) -> Appointment:
    return services.report_appointment(
        appointment_id, actor=actor_of(request), kept=payload.kept, note=payload.note
    )


class PromiseIn(Strict):
    text: str = Field(..., min_length=1, max_length=500)
    due_at: Moment


class PromiseOut(Schema):
    id: int
    case_id: int
    made_by: UserRef
    text: str
    due_at: dt.datetime
    state: str


@router.post(
    "/cases/{case_id}/promises",
    response={201: PromiseOut, **errors(404, 409)},
    summary="Record a promise",
)
def create_promise(request: HttpRequest, case_id: int, payload: PromiseIn) -> Status[Promise]:
    actor = actor_of(request)
    case = queries.get_visible_case(actor, case_id)
    promise = services.make_promise(case.pk, actor=actor, text=payload.text, due_at=payload.due_at)
    return Status(201, promise)


@router.post(
    "/promises/{promise_id}/kept",
    response={200: PromiseOut, **errors(404, 409)},
    summary="Mark a promise kept",
)
def keep_promise(request: HttpRequest, promise_id: int) -> Promise:
    return services.keep_promise(promise_id, actor=actor_of(request))


class EscalationOut(Schema):
    id: int
    case_id: int
    deadline_id: int
    level: int
    recipient: UserRef
    intended: UserRef | None
    state: str
    created_at: dt.datetime
    ack_due_at: dt.datetime
    acknowledged_at: dt.datetime | None


@router.get("/escalations", response=list[EscalationOut], summary="Escalations for the caller")
@paginate(Page)
def list_escalations(
    request: HttpRequest,
    state: Literal[(*EscalationState.values, "")] = Query(  # type: ignore[valid-type]
        "open", description="Empty: every state"
    ),
) -> QuerySet[Escalation]:
    actor = actor_of(request)
    qs = Escalation.objects.select_related("recipient", "intended")
    if not actor.sees_all_teams:
        qs = qs.filter(Q(recipient=actor) | Q(intended=actor))
    if state:
        qs = qs.filter(state=state)
    return qs.order_by("ack_due_at", "id")


@router.post(
    "/escalations/{escalation_id}/acknowledge",
    response={200: EscalationOut, **errors(403, 404, 409)},
    summary="Acknowledge an escalation: it stops moving up",
)
def acknowledge(request: HttpRequest, escalation_id: int) -> Escalation:
    return services.acknowledge(escalation_id, actor=actor_of(request))
