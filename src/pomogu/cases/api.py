"""REST endpoints for cases, messages, handoffs and contractor tasks.

Each endpoint: load the object through the caller's scope (404 outside it), call one service,
shape the answer. No ORM writes here.
"""

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from pomogu.cases import queries, recurrence, services
from pomogu.cases.choices import Channel, MessageKind, Priority, Resolution
from pomogu.cases.models import Case, ContractorTask, Handoff, Message, TimelineEvent
from pomogu.cases.schemas import (
    PRIORITY_BY_NAME,
    AssignIn,
    CaseDetailOut,
    CaseIn,
    CaseOut,
    ContractorTaskIn,
    ContractorTaskOut,
    DeclineIn,
    EventOut,
    FinishTaskIn,
    HandoffIn,
    HandoffOut,
    MessageIn,
    MessageOut,
    ReasonIn,
    ResolveIn,
    StateName,
)
from pomogu.core.api_support import Id, Page, Strict, actor_of, errors
from pomogu.core.errors import NotFound
from pomogu.intake import idempotency
from pomogu.people.api import resolve_team, resolve_user

router = Router(tags=["cases"])

HANDOFF_RELATED = ("from_user", "from_team", "to_team", "to_user")


class CaseFilters(Schema):
    state: StateName | None = None
    team: str | None = None
    owner: str | None = None
    customer: Id | None = None


@router.post(
    "/cases",
    response={201: CaseOut, **errors(404, 409)},
    summary="Open a case",
    description="Send an `Idempotency-Key` header to make a retry safe: the same key and body "
    "return the case the first request created.",
    openapi_extra={
        "parameters": [
            {
                "in": "header",
                "name": "Idempotency-Key",
                "required": False,
                "schema": {"type": "string", "minLength": 1, "maxLength": 200},
            }
        ]
    },
)
def create_case(request: HttpRequest, payload: CaseIn) -> Status[Case]:
    """Any staff member may open a case for a customer (R2); it gets a team and an owner at once.
    The answer shows the case even when it went to a team the caller cannot see."""
    actor = actor_of(request)
    team = resolve_team(payload.team) if payload.team is not None else None

    def create() -> Case:
        return services.open_case_for(
            email=payload.customer.email or "",
            name=payload.customer.name,
            phone=payload.customer.phone,
            subject=payload.subject,
            body=payload.body,
            channel=Channel(payload.channel),
            team=team,
            priority=Priority(PRIORITY_BY_NAME[payload.priority]),
            actor=actor,
        )

    key = request.headers.get("Idempotency-Key")
    if key is None:
        case = create()
    else:
        case, _replayed = idempotency.run_once(
            actor, key, idempotency.fingerprint(request.body), create
        )
    created = queries.with_pending_handoff(
        Case.objects.select_related("customer", "team", "owner")
    ).get(pk=case.pk)
    return Status(201, created)


@router.get(
    "/cases",
    response={200: list[CaseOut], **errors(404)},
    summary="List the cases the caller may see",
)
@paginate(Page)
def list_cases(request: HttpRequest, filters: Query[CaseFilters]) -> QuerySet[Case]:
    actor = actor_of(request)
    qs = queries.visible_cases(actor).select_related("customer", "team", "owner")
    if filters.state:
        qs = qs.filter(state=filters.state)
    if filters.team:
        qs = qs.filter(team=resolve_team(filters.team))
    if filters.owner:
        qs = qs.filter(owner=actor if filters.owner == "me" else resolve_user(filters.owner))
    if filters.customer:
        qs = qs.filter(customer_id=filters.customer)
    return queries.with_pending_handoff(qs).order_by("-created_at", "-id")


@router.get(
    "/cases/{case_id}",
    response={200: CaseDetailOut, **errors(404)},
    summary="A case with its messages",
)
def get_case(request: HttpRequest, case_id: int) -> Case:
    return queries.case_for_api(actor_of(request), case_id)


@router.get(
    "/cases/{case_id}/timeline",
    response={200: list[EventOut], **errors(404)},
    summary="The case's history",
)
def get_timeline(request: HttpRequest, case_id: int) -> QuerySet[TimelineEvent]:
    case = queries.get_visible_case(actor_of(request), case_id)
    return case.events.select_related("actor")


@router.post(
    "/cases/{case_id}/messages",
    response={201: MessageOut, **errors(404, 409)},
    summary="Reply or note",
    description="422 `reply_guard`: the reply guard (R7) stopped the reply; the answer lists "
    "the phrases it found and a better wording. Send it anyway with `override_reason`.",
)
def add_message(request: HttpRequest, case_id: int, payload: MessageIn) -> Status[Message]:
    actor = actor_of(request)
    case = queries.get_visible_case(actor, case_id)
    message = services.add_message(
        case.pk,
        actor=actor,
        body=payload.body,
        kind=MessageKind(payload.kind),
        wait_for_customer=payload.wait_for_customer,
        override_reason=payload.override_reason,
    )
    return Status(201, Message.objects.select_related("author").get(pk=message.pk))


@router.post(
    "/cases/{case_id}/handoffs",
    response={201: HandoffOut, **errors(403, 404, 409)},
    summary="Request a handoff",
)
def request_handoff(request: HttpRequest, case_id: int, payload: HandoffIn) -> Status[Handoff]:
    actor = actor_of(request)
    case = queries.get_visible_case(actor, case_id)
    to_team = resolve_team(payload.to_team)
    to_user = resolve_user(payload.to_user) if payload.to_user is not None else None
    handoff = services.request_handoff(
        case.pk, actor=actor, to_team=to_team, to_user=to_user, reason=payload.reason
    )
    return Status(201, Handoff.objects.select_related(*HANDOFF_RELATED).get(pk=handoff.pk))


@router.get("/handoffs", response=list[HandoffOut], summary="Handoffs waiting for the caller")
@paginate(Page)
def list_handoffs(request: HttpRequest) -> QuerySet[Handoff]:
    return queries.handoffs_awaiting(actor_of(request)).select_related(*HANDOFF_RELATED)


def _visible_handoff(request: HttpRequest, handoff_id: int) -> Handoff:
    return queries.get_visible_handoff(actor_of(request), handoff_id)


@router.get(
    "/handoffs/{handoff_id}", response={200: HandoffOut, **errors(404)}, summary="One handoff"
)
def get_handoff(request: HttpRequest, handoff_id: int) -> Handoff:
    return _visible_handoff(request, handoff_id)


@router.post(
    "/handoffs/{handoff_id}/accept",
    response={200: HandoffOut, **errors(403, 404, 409)},
    summary="Accept a handoff",
)
def accept_handoff(request: HttpRequest, handoff_id: int) -> Handoff:
    handoff = _visible_handoff(request, handoff_id)
    return services.accept_handoff(handoff.pk, actor=actor_of(request))


@router.post(
    "/handoffs/{handoff_id}/decline",
    response={200: HandoffOut, **errors(403, 404, 409)},
    summary="Decline a handoff",
)
def decline_handoff(request: HttpRequest, handoff_id: int, payload: DeclineIn) -> Handoff:
    handoff = _visible_handoff(request, handoff_id)
    return services.decline_handoff(handoff.pk, actor=actor_of(request), reason=payload.reason)


@router.post(
    "/handoffs/{handoff_id}/cancel",
    response={200: HandoffOut, **errors(403, 404, 409)},
    summary="Withdraw a handoff",
)
def cancel_handoff(request: HttpRequest, handoff_id: int) -> Handoff:
    handoff = _visible_handoff(request, handoff_id)
    return services.cancel_handoff(handoff.pk, actor=actor_of(request))


@router.post(
    "/cases/{case_id}/assign",
    response={200: CaseOut, **errors(403, 404, 409)},
    summary="Assign within the team",
)
def assign(request: HttpRequest, case_id: int, payload: AssignIn) -> Case:
    actor = actor_of(request)
    case = queries.get_visible_case(actor, case_id)
    services.assign(case.pk, actor=actor, to_user=resolve_user(payload.to_user))
    return queries.case_for_api(actor, case.pk)


@router.post(
    "/cases/{case_id}/resolve",
    response={200: CaseOut, **errors(403, 404, 409)},
    summary="Resolve the case",
)
def resolve(request: HttpRequest, case_id: int, payload: ResolveIn | None = None) -> Case:
    actor = actor_of(request)
    payload = payload or ResolveIn(resolution="solved", summary="")
    case = queries.get_visible_case(actor, case_id)
    services.resolve(
        case.pk, actor=actor, resolution=Resolution(payload.resolution), summary=payload.summary
    )
    return queries.case_for_api(actor, case.pk)


class RecurrenceIn(Strict):
    same: bool = Field(..., description="True: the earlier case's problem came back")


@router.post(
    "/cases/{case_id}/recurrence",
    response={200: CaseOut, **errors(404, 409)},
    summary="Decide a possible recurrence (R5)",
    description="A case linked to an earlier one as a possible recurrence: same=true merges it "
    "into the earlier case, which is reopened and goes back to whoever resolved it (the reopen "
    "is on the register); same=false removes the link. Returns the case that goes on.",
)
def settle_recurrence(request: HttpRequest, case_id: int, payload: RecurrenceIn) -> Case:
    actor = actor_of(request)
    case = queries.get_visible_case(actor, case_id)
    kept = recurrence.settle(case.pk, actor=actor, same=payload.same)
    return queries.case_for_api(actor, kept.pk)


class MergeIn(Strict):
    into_case_id: Id


@router.post(
    "/cases/{case_id}/merge",
    response={200: CaseOut, **errors(403, 404, 409)},
    summary="Merge into another case",
)
def merge(request: HttpRequest, case_id: int, payload: MergeIn) -> Case:
    actor = actor_of(request)
    case = queries.get_visible_case(actor, case_id)
    target = queries.get_visible_case(actor, payload.into_case_id)
    kept = recurrence.merge(case.pk, into_id=target.pk, actor=actor)
    return queries.case_for_api(actor, kept.pk)


class SplitIn(Strict):
    message_ids: list[Id] = Field(..., min_length=1, max_length=500)
    subject: str = Field(..., min_length=1, max_length=300)


@router.post(
    "/cases/{case_id}/split",
    response={201: CaseOut, **errors(403, 404, 409)},
    summary="Split messages into a new case",
)
def split(request: HttpRequest, case_id: int, payload: SplitIn) -> Status[Case]:
    actor = actor_of(request)
    case = queries.get_visible_case(actor, case_id)
    new = recurrence.split(
        case.pk, message_ids=payload.message_ids, actor=actor, subject=payload.subject
    )
    return Status(201, queries.case_for_api(actor, new.pk))


@router.post(
    "/cases/{case_id}/reopen",
    response={200: CaseOut, **errors(404, 409)},
    summary="Reopen the case",
)
def reopen(request: HttpRequest, case_id: int, payload: ReasonIn) -> Case:
    actor = actor_of(request)
    case = queries.get_visible_case(actor, case_id)
    services.reopen(case.pk, actor=actor, reason=payload.reason)
    return queries.case_for_api(actor, case.pk)


@router.post(
    "/cases/{case_id}/close",
    response={200: CaseOut, **errors(404, 409)},
    summary="Close a resolved case",
)
def close(request: HttpRequest, case_id: int) -> Case:
    actor = actor_of(request)
    case = queries.get_visible_case(actor, case_id)
    services.close(case.pk, actor=actor)
    return queries.case_for_api(actor, case.pk)


@router.post(
    "/cases/{case_id}/contractor-tasks",
    response={201: ContractorTaskOut, **errors(404, 409)},
    summary="Add contractor work to the case",
)
def add_contractor_task(
    request: HttpRequest, case_id: int, payload: ContractorTaskIn
) -> Status[ContractorTask]:
    actor = actor_of(request)
    case = queries.get_visible_case(actor, case_id)
    task = services.add_contractor_task(
        case.pk,
        actor=actor,
        contractor=payload.contractor,
        description=payload.description,
        contact=payload.contact,
        due_at=payload.due_at,
        wait=payload.wait,
    )
    return Status(201, task)


@router.post(
    "/contractor-tasks/{task_id}/finish",
    response={200: ContractorTaskOut, **errors(404, 409)},
    summary="Record the contractor's result",
)
def finish_contractor_task(
    request: HttpRequest, task_id: int, payload: FinishTaskIn
) -> ContractorTask:
    actor = actor_of(request)
    task = ContractorTask.objects.filter(pk=task_id, case__in=queries.visible_cases(actor)).first()
    if task is None:
        raise NotFound("No such task.")
    return services.finish_contractor_task(
        task.pk, actor=actor, outcome=payload.outcome, cancelled=payload.cancelled
    )
