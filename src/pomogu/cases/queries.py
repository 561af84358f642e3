"""Reads with a business meaning, above all who may see which case (SEC-1).

Every path that shows a case (pages, htmx fragments, API, exports) starts from
``visible_cases(user)``; a case outside it does not exist for that user (404).
"""

from __future__ import annotations

from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery
from django.utils.translation import gettext as _

from pomogu.cases.choices import ACTIVE_STATES, HandoffState, MessageKind
from pomogu.cases.models import Case, ContractorTask, Handoff, Message, TimelineEvent
from pomogu.core.errors import NotFound
from pomogu.people.models import Customer, Membership, Team, User


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


def visible_customers(user: User) -> QuerySet[Customer]:
    """The customers whose cases the staff member may see (AZ-3: another team's customer is
    not there for them); managers and admins see every customer."""
    if not user.is_authenticated or not user.is_active:
        return Customer.objects.none()
    if user.sees_all_teams:
        return Customer.objects.all()
    return Customer.objects.filter(Exists(visible_cases(user).filter(customer=OuterRef("pk"))))


def get_visible_case(user: User, case_id: int) -> Case:
    try:
        return visible_cases(user).select_related("customer", "team", "owner").get(pk=case_id)
    except (Case.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("No such case.")) from None


def get_visible_case_by_number(user: User, number: int) -> Case:
    try:
        return visible_cases(user).select_related("customer", "team", "owner").get(number=number)
    except (Case.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("No such case.")) from None


def visible_handoffs(user: User) -> QuerySet[Handoff]:
    return Handoff.objects.filter(case__in=visible_cases(user))


def get_visible_handoff(user: User, handoff_id: int) -> Handoff:
    try:
        return (
            visible_handoffs(user).select_related("case", "to_team", "to_user").get(pk=handoff_id)
        )
    except (Handoff.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("No such handoff.")) from None


def my_queue(user: User) -> QuerySet[Case]:
    return (
        Case.objects.filter(owner=user, state__in=ACTIVE_STATES)
        .select_related("customer", "team")
        .order_by("-priority", "created_at")
    )


def handoffs_awaiting(user: User) -> QuerySet[Handoff]:
    """Handoffs this person may accept: addressed to them, to one of their teams with no named
    receiver, or to any member of a team they lead."""
    teams = team_ids_of(user)
    led = Team.objects.filter(Q(lead=user) | Q(memberships__user=user, memberships__role="lead"))
    return (
        Handoff.objects.filter(state=HandoffState.REQUESTED)
        .filter(
            Q(to_user=user)
            | Q(to_user__isnull=True, to_team_id__in=teams)
            # A lead may answer for a member of their team (cases.services.can_answer_handoff).
            | Q(to_team__in=led.values("pk"))
        )
        .exclude(from_user=user)
        .select_related("case", "case__customer", "from_user", "to_team")
        .order_by("created_at")
    )


def team_queue(team_id: int, *, states: tuple[str, ...] = ACTIVE_STATES) -> QuerySet[Case]:
    return (
        Case.objects.filter(team_id=team_id, state__in=states)
        .select_related("customer", "owner")
        .order_by("-priority", "created_at", "id")
    )


def pending_handoff(case: Case) -> Handoff | None:
    return (
        case.handoffs.filter(state=HandoffState.REQUESTED)
        .select_related("to_team", "to_user", "from_user")
        .first()
    )


def with_pending_handoff(qs: QuerySet[Case]) -> QuerySet[Case]:
    """Annotate each case with the id of its waiting handoff (or None), for lists and the API."""
    pending = Handoff.objects.filter(case=OuterRef("pk"), state=HandoffState.REQUESTED)
    return qs.annotate(pending_handoff=Subquery(pending.values("id")[:1]))


def latest_customer_words(case: Case) -> str:
    """The text of the customer's latest message on the case ("" before any)."""
    body = (
        Message.objects.filter(case=case, kind=MessageKind.INBOUND)
        .order_by("-created_at", "-id")
        .values_list("body", flat=True)
        .first()
    )
    return body or ""


def case_for_api(user: User, case_id: int) -> Case:
    try:
        return with_pending_handoff(
            visible_cases(user).select_related("customer", "team", "owner")
        ).get(pk=case_id)
    except (Case.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("No such case.")) from None


# --- the agent desk (pages) -----------------------------------------------------------------


def desk_teams(user: User) -> QuerySet[Team]:
    """Teams whose queue this staff member may open: their own (with ``my_role``, their role
    in the team, from the same join), or every team for managers."""
    if not user.is_authenticated or not user.is_active:
        return Team.objects.none()
    if user.sees_all_teams:
        return Team.objects.order_by("name")
    return (
        Team.objects.filter(memberships__user=user)
        .annotate(my_role=F("memberships__role"))
        .order_by("name")
    )


def get_desk_team(user: User, slug: str) -> Team:
    """A team queue the user may open, or NotFound (a team outside the user's reach is hidden)."""
    try:
        return desk_teams(user).get(slug=slug)
    except Team.DoesNotExist:
        raise NotFound("No such team.") from None


def thread_of(case: Case) -> QuerySet[Message]:
    """The case's messages, oldest first, with who wrote them and their attachments."""
    return (
        case.messages.select_related("author", "customer")
        .prefetch_related("attachments")
        .order_by("created_at", "id")
    )


def timeline_of(case: Case) -> QuerySet[TimelineEvent]:
    """The case's timeline, oldest first, with who acted."""
    return case.events.select_related("actor").order_by("created_at", "id")


def contractor_tasks_of(case: Case) -> QuerySet[ContractorTask]:
    return case.contractor_tasks.select_related("created_by").order_by("created_at", "id")


def handoffs_sent_waiting(user: User) -> QuerySet[Handoff]:
    """Handoffs of cases this person still owns that nobody has answered yet (R2: the sender
    stays accountable meanwhile)."""
    return (
        Handoff.objects.filter(state=HandoffState.REQUESTED, case__owner=user)
        .select_related("case", "to_team", "to_user")
        .order_by("created_at")
    )


def handoff_receivers() -> QuerySet[Membership]:
    """Every active staff member with their team, for choosing who should receive a handoff."""
    return (
        Membership.objects.filter(user__is_active=True)
        .select_related("team", "user")
        .order_by("team__name", "user__first_name", "user__username")
    )
