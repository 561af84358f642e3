"""REST endpoints of the failure register (R8): the list, a CSV export and a summary.

Every answer starts from ``queries.visible_failures``: a manager reads every failure, a team lead
their teams', an agent those on cases they may see.
"""

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate

from pomogu.core.api_support import MAX_OFFSET, Id, Page, actor_of
from pomogu.core.errors import InvalidInput, NotFound
from pomogu.failures import export, queries, services
from pomogu.failures.models import Failure, FailureKind
from pomogu.people.api import resolve_team
from pomogu.people.models import Team, User

router = Router(tags=["failures"])


class FailureFilters(Schema):
    kind: FailureKind | None = None
    team: str | None = None
    person: str | None = None
    since: str | None = None
    until: str | None = None
    case: Id | None = None


class ExportFilters(FailureFilters):
    # Unlike the list, the export has no page size: without a limit it is every failure.
    limit: int | None = Field(None, ge=1, le=MAX_OFFSET)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)
    # Excel in a Russian locale splits CSV on ";" (the comma is the decimal separator there).
    sep: Literal[",", ";"] = Field(",", description='Field separator: "," or ";"')


class FailureOut(Schema):
    id: int
    kind: str
    kind_label: str
    case_id: int | None
    case_number: int | None
    team_id: int | None
    team_slug: str | None
    person_id: int | None
    person_name: str | None
    occurred_at: dt.datetime
    minutes_lost: float
    money_at_risk: Decimal
    summary: str
    detail: dict[str, Any]
    key: str

    @staticmethod
    def resolve_kind_label(obj: Failure) -> str:
        return str(obj.get_kind_display())

    @staticmethod
    def resolve_case_number(obj: Failure) -> int | None:
        return obj.case.number if obj.case is not None else None

    @staticmethod
    def resolve_team_slug(obj: Failure) -> str | None:
        return obj.team.slug if obj.team is not None else None

    @staticmethod
    def resolve_person_name(obj: Failure) -> str | None:
        return obj.person.display_name if obj.person is not None else None


class SummaryFilters(Schema):
    team: str | None = None
    kind: FailureKind | None = None
    since: str | None = None
    until: str | None = None
    by: str = "team,kind"


class SummaryRowOut(Schema):
    team_id: int | None = None
    team_slug: str | None = None
    team_name: str | None = None
    kind: str | None = None
    kind_label: str | None = None
    person_id: int | None = None
    person_name: str | None = None
    week: dt.date | None = None
    count: int
    minutes_lost: float
    money_at_risk: Decimal


class TotalOut(Schema):
    count: int
    minutes_lost: float
    money_at_risk: Decimal


class SummaryOut(Schema):
    items: list[SummaryRowOut]
    count: int
    total: TotalOut


def _invalid(detail: str) -> InvalidInput:
    return InvalidInput(detail, code="invalid_filter")


def _team(ref: str) -> Team:
    try:
        return resolve_team(ref.strip())
    except NotFound:
        raise _invalid(_("No such team: %(team)s.") % {"team": ref[:60]}) from None


def _person(ref: str) -> User:
    ref = ref.strip()
    # People who have left keep their failures, so inactive staff can be filtered on too.
    lookup = Q(pk=int(ref)) if ref.isdigit() else Q(username=ref)
    person = User.objects.filter(lookup).first()
    if person is None:
        raise _invalid(_("No such staff member: %(person)s.") % {"person": ref[:60]})
    return person


def _filtered(
    request: HttpRequest,
    *,
    kind: str | None = None,
    team: str | None = None,
    person: str | None = None,
    since: str | None = None,
    until: str | None = None,
    case: int | None = None,
) -> QuerySet[Failure]:
    qs = queries.visible_failures(actor_of(request))
    if kind:
        qs = qs.filter(kind=kind)
    if team:
        qs = qs.filter(team=_team(team))
    if person:
        qs = qs.filter(person=_person(person))
    start = queries.parse_moment(since, name="since") if since else None
    end = queries.parse_moment(until, name="until", end=True) if until else None
    if start is not None and end is not None and end <= start:
        raise _invalid(_("until must be after since."))
    if start is not None:
        qs = qs.filter(occurred_at__gte=start)
    if end is not None:
        qs = qs.filter(occurred_at__lt=end)
    if case is not None:
        qs = qs.filter(case_id=case)
    return qs


@router.get("/failures", response=list[FailureOut], summary="Failures of service (R8)")
@paginate(Page)
def list_failures(request: HttpRequest, filters: Query[FailureFilters]) -> QuerySet[Failure]:
    """Newest first. ``team`` is an id or short name, ``person`` an id or username, ``case`` a
    case id; ``since`` and ``until`` are dates (both days included) or ISO date-times."""
    qs = _filtered(request, **filters.dict())
    return qs.select_related("case", "team", "person").order_by("-occurred_at", "-id")


@router.get(
    "/failures.csv",
    summary="Failures as CSV",
    openapi_extra={"responses": {200: {"content": {"text/csv": {}}}}},
)
def export_failures(request: HttpRequest, filters: Query[ExportFilters]) -> HttpResponse:
    """The same filters as the list, newest first, as UTF-8 CSV with a byte order mark (so
    that Excel shows Cyrillic text); every matching failure unless ``limit`` is given. Cells
    that would start a formula get a leading apostrophe."""
    criteria = filters.dict(exclude={"limit", "offset", "sep"})
    qs = (
        _filtered(request, **criteria)
        .select_related("case", "team", "person")
        .order_by("-occurred_at", "-id")
    )
    if filters.limit is not None:
        qs = qs[filters.offset : filters.offset + filters.limit]
    elif filters.offset:
        qs = qs[filters.offset :]
    return export.csv_response(qs, sep=filters.sep)


@router.get("/failures/summary", response=SummaryOut, summary="Failures added up")
def summary(request: HttpRequest, filters: Query[SummaryFilters]) -> dict[str, Any]:
    """Failures the caller may see, grouped ``by`` any of team, kind, person and week
    (comma-separated; default ``team,kind``), with count, business minutes lost and money at
    risk, and the total."""
    by = [part.strip() for part in filters.by.split(",") if part.strip()]
    if not by or any(part not in services.DIMENSIONS for part in by) or len(set(by)) != len(by):
        raise _invalid(
            _("by must name some of: %(names)s.") % {"names": ", ".join(services.DIMENSIONS)}
        )
    qs = _filtered(
        request, kind=filters.kind, team=filters.team, since=filters.since, until=filters.until
    )
    rows = services.summarise(qs, by=by)
    return {"items": rows, "count": len(rows), "total": services.totals(rows)}
