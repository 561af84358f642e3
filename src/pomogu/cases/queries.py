"""Reads with a business meaning, above all who may see which case (SEC-1).

Every path that shows a case (pages, htmx fragments, API, exports) starts from
``visible_cases(user)``; a case outside it does not exist for that user (404).
"""

from __future__ import annotations

from django.db.models import OuterRef, Q, QuerySet, Subquery

from pomogu.cases.choices import ACTIVE_STATES, HandoffState
from pomogu.cases.models import Case, Handoff
from pomogu.core.errors import NotFound
from pomogu.people.models import Membership, User


def team_ids_of(user: User) -> list[int]:
    return list(Membership.objects.filter(user=user).values_list("team_id", flat=True))


def visible_cases(user: User) -> QuerySet[Case]:
    """Cases a staff member may see: their teams' cases, cases they own, and cases offered to
    them or their team by a pending handoff. Managers and admins see every case."""
    if not user.is_authenticated or not user.is_active:
        return Case.objects.none()
    if user.sees_all_teams:
        return Case.objects.all()
    teams = team_ids_of(user)
    offered = Handoff.objects.filter(state=HandoffState.REQUESTED).filter(
        Q(to_user=user) | Q(to_team_id__in=teams)
    )
    return Case.objects.filter(
        Q(team_id__in=teams) | Q(owner=user) | Q(pk__in=offered.values("case_id"))
    )


def get_visible_case(user: User, case_id: int) -> Case:
    try:
        return visible_cases(user).select_related("customer", "team", "owner").get(pk=case_id)
    except (Case.DoesNotExist, ValueError, TypeError):
        raise NotFound("No such case.") from None


def get_visible_case_by_number(user: User, number: int) -> Case:
    try:
        return (
            visible_cases(user).select_related("customer", "team", "owner").get(number=number)
        )
    except (Case.DoesNotExist, ValueError, TypeError):
        raise NotFound("No such case.") from None


def visible_handoffs(user: User) -> QuerySet[Handoff]:
    return Handoff.objects.filter(case__in=visible_cases(user))


def get_visible_handoff(user: User, handoff_id: int) -> Handoff:
    try:
        return visible_handoffs(user).select_related("case", "to_team", "to_user").get(
            pk=handoff_id
        )
    except (Handoff.DoesNotExist, ValueError, TypeError):
        raise NotFound("No such handoff.") from None


def my_queue(user: User) -> QuerySet[Case]:
    return (
        Case.objects.filter(owner=user, state__in=ACTIVE_STATES)
        .select_related("customer", "team")
        .order_by("-priority", "created_at")
    )


def handoffs_awaiting(user: User) -> QuerySet[Handoff]:
    """Handoffs this person may accept: addressed to them, or to one of their teams with no
    named receiver."""
    teams = team_ids_of(user)
    return (
        Handoff.objects.filter(state=HandoffState.REQUESTED)
        .filter(Q(to_user=user) | Q(to_user__isnull=True, to_team_id__in=teams))
        .exclude(from_user=user)
        .select_related("case", "case__customer", "from_user", "to_team")
        .order_by("created_at")
    )


def team_queue(team_id: int, *, states: tuple[str, ...] = ACTIVE_STATES) -> QuerySet[Case]:
    return (
        Case.objects.filter(team_id=team_id, state__in=states)
        .select_related("customer", "owner")
        .order_by("-priority", "created_at")
    )


def pending_handoff(case: Case) -> Handoff | None:
    return case.handoffs.filter(state=HandoffState.REQUESTED).select_related(
        "to_team", "to_user", "from_user"
    ).first()


def with_pending_handoff(qs: QuerySet[Case]) -> QuerySet[Case]:
    """Annotate each case with the id of its waiting handoff (or None), for lists and the API."""
    pending = Handoff.objects.filter(case=OuterRef("pk"), state=HandoffState.REQUESTED)
    return qs.annotate(pending_handoff=Subquery(pending.values("id")[:1]))


def case_for_api(user: User, case_id: int) -> Case:
    try:
        return with_pending_handoff(
            visible_cases(user).select_related("customer", "team", "owner")
        ).get(pk=case_id)
    except (Case.DoesNotExist, ValueError, TypeError):
        raise NotFound("No such case.") from None
