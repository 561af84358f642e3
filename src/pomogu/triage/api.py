"""REST endpoints for routing (R1): a case's routing decision, a person's decision, and the
router's versions (training and rollback are for managers and admins)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status
from pydantic import model_validator

from pomogu.cases import queries
from pomogu.core.api_support import Strict, actor_of, errors
from pomogu.core.errors import NotFound, PermissionDenied
from pomogu.people.api import resolve_team
from pomogu.triage import services
from pomogu.triage.models import RouterVersion, RoutingDecision

router = Router(tags=["triage"])


class RoutingOut(Schema):
    team_id: int
    source: str
    suggested_team_id: int | None
    confidence: float | None
    unsure: bool
    not_ours: bool
    needs_person: bool
    evidence: list[Any]
    ranked: list[dict[str, Any]]
    version_id: int | None
    settled_by_id: int | None
    settled_at: dt.datetime | None


class RoutingIn(Strict):
    team: int | str | None = None
    not_ours: bool = False

    @model_validator(mode="after")
    def one_choice(self) -> RoutingIn:
        if (self.team is None) == (not self.not_ours):
            raise ValueError("give a team, or not_ours: true")
        return self


class VersionOut(Schema):
    id: int
    created_at: dt.datetime
    is_active: bool
    examples: int
    metrics: dict[str, Any]
    reason: str


def _decision(request: HttpRequest, case_id: int) -> RoutingDecision:
    case = queries.get_visible_case(actor_of(request), case_id)
    decision = RoutingDecision.objects.filter(case=case).first()
    if decision is None:
        raise NotFound(_("This case has no routing decision (a person chose its team)."))
    return decision


@router.get(
    "/cases/{case_id}/routing",
    response={200: RoutingOut, **errors(404)},
    summary="Why the case has its team",
)
def get_routing(request: HttpRequest, case_id: int) -> RoutingDecision:
    return _decision(request, case_id)


@router.post(
    "/cases/{case_id}/routing",
    response={200: RoutingOut, **errors(404, 409)},
    summary="Decide the team",
)
def settle_routing(request: HttpRequest, case_id: int, payload: RoutingIn) -> RoutingDecision:
    """A person's decision: a team (the same or another; the case moves at once) or "no team
    owns this" (`not_ours`). It becomes training data for the router. A case without a routing
    decision (its team chosen by a person) gets one now."""
    actor = actor_of(request)
    team = resolve_team(payload.team) if payload.team is not None else None
    case = services.settle(case_id, actor=actor, team=team, not_ours=payload.not_ours)
    # Answered even when the case has moved to a team the caller is not in.
    return RoutingDecision.objects.get(case=case)


def _manager(request: HttpRequest) -> None:
    if not actor_of(request).sees_all_teams:
        raise PermissionDenied(_("Only a manager or administrator can manage the router."))


@router.get(
    "/router/versions",
    response={200: list[VersionOut], **errors(403)},
    summary="Router versions (manager)",
)
def versions(request: HttpRequest) -> list[RouterVersion]:
    _manager(request)
    return list(RouterVersion.objects.defer("model").order_by("-id"))


@router.post(
    "/router/train",
    response={201: VersionOut, **errors(403, 409)},
    summary="Retrain now (manager)",
)
def train(request: HttpRequest) -> Status[RouterVersion]:
    _manager(request)
    return Status(201, services.train(actor=actor_of(request), reason="API"))


@router.post(
    "/router/rollback",
    response={200: VersionOut, **errors(403, 409)},
    summary="Previous version (manager)",
)
def rollback(request: HttpRequest) -> RouterVersion:
    _manager(request)
    return services.rollback()
