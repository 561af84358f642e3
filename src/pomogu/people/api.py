"""REST endpoints for teams and customers (configuration by script, DESIGN.md "Interfaces")."""

from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Status
from ninja.pagination import paginate

from pomogu.cases import queries
from pomogu.core.api_support import Page, TeamRefPath, actor_of, errors
from pomogu.core.errors import DomainError, NotFound, PermissionDenied
from pomogu.people import services
from pomogu.people.choices import TeamRole
from pomogu.people.models import Customer, Team, User
from pomogu.people.schemas import CustomerCreateIn, CustomerOut, MemberIn, TeamIn, TeamOut

router = Router(tags=["people"])


def resolve_team(ref: int | str) -> Team:
    """A team by id or slug, or NotFound (teams are not secret from staff)."""
    lookup = Q(pk=ref) if isinstance(ref, int) or str(ref).isdigit() else Q(slug=ref)
    team = Team.objects.filter(lookup).select_related("lead").first()
    if team is None:
        raise NotFound(_("No such team."))
    return team


def resolve_user(ref: int | str) -> User:
    lookup = Q(pk=ref) if isinstance(ref, int) or str(ref).isdigit() else Q(username=ref)
    user = User.objects.filter(lookup, is_active=True).first()
    if user is None:
        raise NotFound(_("No such staff member."))
    return user


def require_admin(user: User) -> None:
    if not (user.is_superuser or user.role == "admin"):
        raise PermissionDenied(_("Only an administrator can change the desk's configuration."))


@router.get("/teams", response=list[TeamOut], summary="Teams")
@paginate(Page)
def list_teams(request: HttpRequest) -> QuerySet[Team]:
    return Team.objects.select_related("lead").prefetch_related("members")


@router.get(
    "/teams/{team_ref}", response={200: TeamOut, **errors(404)}, summary="One team, by id or slug"
)
def get_team(request: HttpRequest, team_ref: TeamRefPath) -> Team:
    return resolve_team(team_ref)


@router.post(
    "/teams", response={201: TeamOut, **errors(403, 404, 409)}, summary="Create a team (admin)"
)
def create_team(request: HttpRequest, payload: TeamIn) -> Status[Team]:
    require_admin(actor_of(request))
    if Team.objects.filter(Q(slug=payload.slug) | Q(name=payload.name)).exists():
        raise DomainError(_("A team with this name or short name exists."), code="team_exists")
    lead = resolve_user(payload.lead) if payload.lead is not None else None
    team = services.create_team(
        payload.name,
        slug=payload.slug,
        lead=lead,
        description=payload.description,
        email=services.normalise_email(payload.email) if payload.email else "",
        is_default=payload.is_default,
    )
    return Status(201, team)


@router.post(
    "/teams/{team_ref}/members",
    response={200: TeamOut, **errors(403, 404)},
    summary="Add a member (admin, lead)",
)
def add_member(request: HttpRequest, team_ref: TeamRefPath, payload: MemberIn) -> Team:
    actor = actor_of(request)
    team = resolve_team(team_ref)
    if not (actor.is_superuser or actor.role == "admin" or services.is_team_lead(actor, team)):
        raise PermissionDenied(_("Only an administrator or the team lead can add members."))
    services.add_member(team, resolve_user(payload.user), role=TeamRole(payload.role))
    return resolve_team(team.pk)


@router.get("/customers", response=list[CustomerOut], summary="Customers the caller serves")
@paginate(Page)
def list_customers(request: HttpRequest, q: str = "") -> QuerySet[Customer]:
    qs = queries.visible_customers(actor_of(request)).order_by("-created_at", "-id")
    if q:
        qs = qs.filter(Q(email__icontains=q) | Q(name__icontains=q) | Q(phone__icontains=q))
    return qs


@router.get(
    "/customers/{customer_id}", response={200: CustomerOut, **errors(404)}, summary="One customer"
)
def get_customer(request: HttpRequest, customer_id: int) -> Customer:
    customer = queries.visible_customers(actor_of(request)).filter(pk=customer_id).first()
    if customer is None:
        raise NotFound(_("No such customer."))
    return customer


@router.post(
    "/customers", response={201: CustomerOut, **errors(403)}, summary="Find or create (manager)"
)
def create_customer(request: HttpRequest, payload: CustomerCreateIn) -> Status[Customer]:
    """For import scripts; it answers with an existing customer too, so it is for managers and
    admins. Agents open cases (``POST /cases``), which finds or creates the customer."""
    if not actor_of(request).sees_all_teams:
        raise PermissionDenied(_("Only a manager or administrator can manage customers."))
    customer = services.find_or_create_customer(
        email=str(payload.email or ""), name=payload.name, phone=payload.phone
    )
    return Status(201, customer)
