"""API shapes for cases. Write schemas list their fields: nothing else can be set (SEC-7)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from ninja import Schema
from pydantic import Field

from pomogu.cases.choices import Priority
from pomogu.cases.models import Case, Message
from pomogu.core.api_support import Email, Moment, Strict

PRIORITY_NAMES = {p.value: p.name.lower() for p in Priority}
PRIORITY_BY_NAME = {name: value for value, name in PRIORITY_NAMES.items()}
PriorityName = Literal["low", "normal", "high", "urgent"]
ChannelName = Literal["email", "web", "portal", "api", "phone", "chat", "in_person"]
StateName = Literal["new", "open", "waiting_customer", "waiting_contractor", "resolved", "closed"]


class TeamRef(Schema):
    id: int
    slug: str
    name: str


class UserRef(Schema):
    id: int
    username: str
    name: str

    @staticmethod
    def resolve_name(obj: object) -> str:
        return str(obj)


class CustomerRef(Schema):
    id: int
    name: str
    email: str
    phone: str


class CustomerIn(Strict):
    email: Email = None
    name: str = Field("", max_length=200)
    phone: str = Field("", max_length=32)


class CaseIn(Strict):
    customer: CustomerIn
    subject: str = Field(..., min_length=1, max_length=300)
    body: str = Field(..., min_length=1, max_length=200_000)
    channel: ChannelName = "api"
    team: int | str | None = Field(None, description="Team id or slug; the default team if absent")
    priority: PriorityName = "normal"


class CaseOut(Schema):
    """A case as the API shows it. Read from the model; ``pending_handoff`` is the id of the
    handoff waiting for an answer, annotated by ``queries.with_pending_handoff``."""

    id: int
    number: int
    subject: str
    state: StateName
    priority: PriorityName
    channel: str
    team: TeamRef
    owner: UserRef
    customer: CustomerRef
    created_at: dt.datetime
    updated_at: dt.datetime
    first_response_at: dt.datetime | None
    resolved_at: dt.datetime | None
    resolution: str
    pending_handoff: int | None = None
    possible_recurrence_of: int | None = Field(None, alias="possible_recurrence_of_id")
    merged_into: int | None = Field(None, alias="merged_into_id")

    @staticmethod
    def resolve_priority(obj: Case) -> str:
        return PRIORITY_NAMES[obj.priority]


class MessageIn(Strict):
    body: str = Field(..., min_length=1, max_length=200_000)
    kind: Literal["reply", "note"] = "reply"
    wait_for_customer: bool = False
    # Send a reply the reply guard stopped (422 reply_guard) anyway; recorded (R7).
    override_reason: str = Field("", max_length=500)


class MessageOut(Schema):
    id: int
    kind: str
    body: str
    author: UserRef | None
    customer_id: int | None
    channel: str
    created_at: dt.datetime
    language: str
    anger_score: float | None
    anger_reasons: list[dict[str, Any]]


class CaseDetailOut(CaseOut):
    messages: list[MessageOut]

    @staticmethod
    def resolve_messages(obj: Case) -> list[Message]:
        return list(obj.messages.select_related("author"))


class EventOut(Schema):
    id: int
    kind: str
    actor: UserRef | None
    data: dict[str, object]
    created_at: dt.datetime


class HandoffIn(Strict):
    to_team: int | str = Field(..., description="Team id or slug")
    to_user: int | str | None = Field(None, description="Staff id or username")
    reason: str = Field(..., min_length=1, max_length=5000)


class DeclineIn(Strict):
    reason: str = Field(..., min_length=1, max_length=5000)


class HandoffOut(Schema):
    id: int
    case_id: int
    state: str
    from_user: UserRef
    from_team: TeamRef
    to_team: TeamRef
    to_user: UserRef | None
    reason: str
    decline_reason: str
    created_at: dt.datetime
    decided_at: dt.datetime | None


class ResolveIn(Strict):
    resolution: Literal["solved", "workaround", "answered", "duplicate", "withdrawn"] = "solved"
    summary: str = Field("", max_length=10_000)


class ReasonIn(Strict):
    reason: str = Field(..., min_length=1, max_length=5000)


class AssignIn(Strict):
    to_user: int | str


class ContractorTaskIn(Strict):
    contractor: str = Field(..., min_length=1, max_length=200)
    description: str = Field(..., min_length=1, max_length=10_000)
    contact: str = Field("", max_length=200)
    due_at: Moment | None = None
    wait: bool = True


class FinishTaskIn(Strict):
    outcome: str = Field("", max_length=10_000)
    cancelled: bool = False


class ContractorTaskOut(Schema):
    id: int
    case_id: int
    contractor: str
    contact: str
    description: str
    state: str
    due_at: dt.datetime | None
    created_at: dt.datetime
    finished_at: dt.datetime | None
    outcome: str
