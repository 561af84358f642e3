"""The desk's lists: a team's queue with filters, saved views, bulk actions and keyset pages,
and the small answers that tell an open page it is out of date (live updates).

Queues are read with keyset pagination (``after`` = the sort key of the last row shown,
signed), never OFFSET/COUNT: the next page of a queue costs the same with a million cases as
with a hundred (the active queue seeks into the partial index ``case_team_active``).

Live updates are polled by htmx (every few seconds, 204 when nothing changed) rather than
pushed: it needs no long-lived connection, so it works behind any WSGI server and proxy, and a
page that is not open costs nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Max, OuterRef, Q, QuerySet, Subquery
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from pomogu.cases import queries
from pomogu.cases import services as case_services
from pomogu.cases.choices import ACTIVE_STATES, CaseState, Priority
from pomogu.cases.models import Case, TimelineEvent
from pomogu.core.errors import DomainError, NotFound
from pomogu.desk.models import SavedView
from pomogu.people import services as people
from pomogu.people.models import Membership, Team, User

PAGE_SIZE = 50
CURSOR_SALT = "pomogu.desk.queue"
MAX_BULK = 200  # cases in one bulk action

# The orders a queue can be read in: (field, descending) pairs, the last one unique.
ORDERS: dict[str, tuple[tuple[str, bool], ...]] = {
    # Most urgent first, then the longest waiting: the default, the order work is taken in.
    "priority": (("priority", True), ("created_at", False), ("id", False)),
    # Most recent activity first.
    "updated": (("updated_at", True), ("id", True)),
    # Oldest first, whatever the priority.
    "oldest": (("created_at", False), ("id", False)),
}


def _actor(request: HttpRequest) -> User:
    return cast(User, request.user)


# --- filters ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueFilter:
    """What a queue page shows, read from (and written back to) its query string. Anything
    not understood falls back to the default rather than failing."""

    state: str = "active"
    owner: str = ""  # "", "me" or a member's id
    priority: int = 0  # at least this priority; 0: any
    sort: str = "priority"

    STATES = ("active", *CaseState.values, "all")

    @classmethod
    def read(cls, data: QueryDict, member_ids: Iterable[int] = ()) -> QueueFilter:
        state = data.get("state") or cls.state
        owner = data.get("owner") or ""
        if owner not in ("", "me") and not (owner.isdigit() and int(owner) in set(member_ids)):
            owner = ""
        try:
            priority = int(data.get("priority") or 0)
        except ValueError:
            priority = 0
        sort = data.get("sort") or cls.sort
        return cls(
            state=state if state in cls.STATES else cls.state,
            owner=owner,
            priority=priority if priority in Priority.values else 0,
            sort=sort if sort in ORDERS else cls.sort,
        )

    def states(self) -> tuple[str, ...]:
        if self.state == "active":
            return tuple(ACTIVE_STATES)
        if self.state == "all":
            return tuple(CaseState.values)
        return (self.state,)

    def apply(self, qs: QuerySet[Case], actor: User) -> QuerySet[Case]:
        qs = qs.filter(state__in=self.states())
        if self.owner == "me":
            qs = qs.filter(owner=actor)
        elif self.owner:
            qs = qs.filter(owner_id=int(self.owner))
        if self.priority:
            qs = qs.filter(priority__gte=self.priority)
        return qs

    def query(self) -> str:
        """The query string of this filter, defaults left out (saved views store this)."""
        default = QueueFilter()
        pairs = [
            (name, value)
            for name in ("state", "owner", "priority", "sort")
            if (value := getattr(self, name)) != getattr(default, name)
        ]
        return urlencode(pairs)


# --- keyset pages -----------------------------------------------------------------------------


def _encode(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.datetime) else value


def cursor_of(case: Case, sort: str) -> str:
    return signing.dumps(
        [_encode(getattr(case, name)) for name, _desc in ORDERS[sort]], salt=CURSOR_SALT
    )


def read_cursor(cursor: str | None, sort: str) -> list[Any] | None:
    """The sort key of a signed cursor, or None (first page) for a missing or bad one."""
    if not cursor:
        return None
    try:
        values = signing.loads(cursor, salt=CURSOR_SALT)
    except signing.BadSignature:
        return None
    fields = ORDERS[sort]
    if not isinstance(values, list) or len(values) != len(fields):
        return None
    decoded: list[Any] = []
    for (name, _desc), value in zip(fields, values, strict=True):
        if name.endswith("_at"):
            try:
                decoded.append(dt.datetime.fromisoformat(value))
            except (TypeError, ValueError):
                return None
        elif isinstance(value, int):
            decoded.append(value)
        else:
            return None
    return decoded


def after(qs: QuerySet[Case], sort: str, key: Sequence[Any]) -> QuerySet[Case]:
    """The rows that come after ``key`` in this order: (a > x) or (a = x and b > y) or ...

    The first column's bound (a >= x) is said on its own as well: it changes no result, but
    it is what lets the database seek into the index instead of reading it from the start."""
    condition = Q()
    equal = Q()
    fields = ORDERS[sort]
    for (name, descending), value in zip(fields, key, strict=True):
        beyond = Q(**{f"{name}__{'lt' if descending else 'gt'}": value})
        condition |= equal & beyond
        equal &= Q(**{name: value})
    first, descending = fields[0]
    seek = Q(**{f"{first}__{'lte' if descending else 'gte'}": key[0]})
    return qs.filter(seek, condition)


def ordered(qs: QuerySet[Case], sort: str) -> QuerySet[Case]:
    return qs.order_by(*[f"-{name}" if desc else name for name, desc in ORDERS[sort]])


def keyset_page(
    qs: QuerySet[Case], sort: str, cursor: str | None, size: int = PAGE_SIZE
) -> tuple[list[Case], str | None]:
    """One page of the queue and the cursor of the next one (None on the last page)."""
    key = read_cursor(cursor, sort)
    if key is not None:
        qs = after(qs, sort, key)
    rows = list(ordered(qs, sort)[: size + 1])
    if len(rows) <= size:
        return rows, None
    rows = rows[:size]
    return rows, cursor_of(rows[-1], sort)


def fingerprint(parts: Iterable[Any]) -> str:
    """A short digest of what a page shows; when it changes, the page is out of date."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(repr(part).encode())
        digest.update(b"\x00")
    return digest.hexdigest()[:16]


def rows_fingerprint(rows: Iterable[Case]) -> str:
    return fingerprint(
        (row.pk, row.updated_at, row.owner_id, getattr(row, "pending_handoff", None))
        for row in rows
    )


def with_next_due(qs: QuerySet[Case]) -> QuerySet[Case]:
    """Annotate each case with its soonest running deadline (``next_due``), for the lists."""
    from pomogu.clocks.models import Deadline, DeadlineState

    running = Deadline.objects.filter(
        case=OuterRef("pk"), state=DeadlineState.PENDING, met_at__isnull=True
    ).order_by("due_at")
    return qs.annotate(next_due=Subquery(running.values("due_at")[:1]))


# --- the team queue ---------------------------------------------------------------------------


def _team(actor: User, slug: str) -> Team:
    try:
        return queries.get_desk_team(actor, slug)
    except NotFound:
        raise Http404("No such team.") from None


def _members(team: Team) -> list[User]:
    return [
        membership.user
        for membership in Membership.objects.filter(team=team, user__is_active=True)
        .select_related("user")
        .order_by("user__first_name", "user__username")
    ]


def _queue(team: Team, actor: User, flt: QueueFilter) -> QuerySet[Case]:
    base = Case.objects.filter(team_id=team.pk).select_related("customer", "owner")
    return with_next_due(queries.with_pending_handoff(flt.apply(base, actor)))


def may_bulk(actor: User, team: Team) -> bool:
    """Bulk actions (assigning, re-prioritising many cases) are the team lead's and managers'."""
    return actor.sees_all_teams or people.is_team_lead(actor, team)


@require_GET
@login_required
def team_queue(request: HttpRequest, slug: str) -> HttpResponse:
    """One team's cases, active ones by default; only for its members and managers."""
    from pomogu.desk.views import _page

    actor = _actor(request)
    team = _team(actor, slug)
    members = _members(team)
    flt = QueueFilter.read(request.GET, [member.pk for member in members])
    cursor = request.GET.get("after")
    rows, next_cursor = keyset_page(_queue(team, actor, flt), flt.sort, cursor, PAGE_SIZE)
    query = flt.query()
    here = reverse("desk:team", kwargs={"slug": team.slug})
    context = {
        "team": team,
        "cases": rows,
        "filter": flt,
        "query": query,
        "members": members,
        "priorities": Priority.choices,
        "state_choices": [("active", _("Active")), *CaseState.choices, ("all", _("All"))],
        "sort_choices": [
            ("priority", _("Most urgent first")),
            ("oldest", _("Oldest first")),
            ("updated", _("Recent activity first")),
        ],
        "first_url": f"{here}?{query}" if query else here,
        "next_url": f"{here}?{urlencode([*QueryDict(query).items(), ('after', next_cursor)])}"
        if next_cursor
        else None,
        "paged": bool(read_cursor(cursor, flt.sort)),
        "saved_views": list(SavedView.objects.filter(owner=actor, team=team)),
        "may_bulk": may_bulk(actor, team),
        "live_url": f"{reverse('desk:team_changes', kwargs={'slug': team.slug})}?"
        + urlencode([*QueryDict(query).items(), ("seen", rows_fingerprint(rows))]),
    }
    return _page(request, "desk/team.html", context)


@require_GET
@login_required
def team_changes(request: HttpRequest, slug: str) -> HttpResponse:
    """Polled by the queue's first page: 204 while it is current, else a notice to refresh."""
    actor = _actor(request)
    team = _team(actor, slug)
    flt = QueueFilter.read(request.GET, [member.pk for member in _members(team)])
    rows, _next = keyset_page(_queue(team, actor, flt), flt.sort, None, PAGE_SIZE)
    if rows_fingerprint(rows) == request.GET.get("seen"):
        return HttpResponse(status=204)
    here = reverse("desk:team", kwargs={"slug": team.slug})
    query = flt.query()
    return render(
        request,
        "desk/partials/live_notice.html",
        {"url": f"{here}?{query}" if query else here, "what": _("This queue has changed.")},
    )


# --- saved views ------------------------------------------------------------------------------


@require_POST
@login_required
def save_view(request: HttpRequest, slug: str) -> HttpResponse:
    actor = _actor(request)
    team = _team(actor, slug)
    flt = QueueFilter.read(QueryDict(request.POST.get("query", "")), [m.pk for m in _members(team)])
    name = (request.POST.get("name") or "").strip()[:80]
    here = reverse("desk:team", kwargs={"slug": team.slug})
    if not name:
        messages.error(request, _("Give the view a name."))
        return HttpResponseRedirect(f"{here}?{flt.query()}")
    SavedView.objects.update_or_create(
        owner=actor, team=team, name=name, defaults={"query": flt.query()}
    )
    messages.success(request, _("View “%(name)s” saved.") % {"name": name})
    return HttpResponseRedirect(f"{here}?{flt.query()}")


@require_POST
@login_required
def delete_view(request: HttpRequest, view_id: int) -> HttpResponse:
    view = (
        SavedView.objects.filter(pk=view_id, owner=_actor(request)).select_related("team").first()
    )
    if view is None:
        raise Http404("No such view.")
    view.delete()
    messages.success(request, _("View “%(name)s” deleted.") % {"name": view.name})
    return HttpResponseRedirect(reverse("desk:team", kwargs={"slug": view.team.slug}))


# --- bulk actions -----------------------------------------------------------------------------


def _numbers(values: Sequence[str]) -> list[int]:
    numbers = []
    for value in values:
        if value.isdigit():
            numbers.append(int(value))
    return list(dict.fromkeys(numbers))[:MAX_BULK]


@require_POST
@login_required
def bulk(request: HttpRequest, slug: str) -> HttpResponse:
    """Assign or re-prioritise the ticked cases of a team's queue. Each case changes in its
    own transaction, with its own timeline event; one that cannot change (moved to another
    team meanwhile, not a member) is reported and the rest go ahead."""
    actor = _actor(request)
    team = _team(actor, slug)
    if not may_bulk(actor, team):
        raise PermissionDenied(_("Only the team lead or a manager can change many cases at once."))
    members = _members(team)
    flt = QueueFilter.read(QueryDict(request.POST.get("query", "")), [m.pk for m in members])
    back = reverse("desk:team", kwargs={"slug": team.slug}) + (
        f"?{flt.query()}" if flt.query() else ""
    )
    numbers = _numbers(request.POST.getlist("case"))
    action = request.POST.get("action")
    if not numbers:
        messages.error(request, _("Tick the cases to change first."))
        return HttpResponseRedirect(back)
    cases = {
        case.number: case
        for case in queries.visible_cases(actor).filter(team=team, number__in=numbers)
    }
    if action == "assign":
        to_user = next((m for m in members if str(m.pk) == request.POST.get("to_user")), None)
        if to_user is None:
            messages.error(request, _("Choose the member to give the cases to."))
            return HttpResponseRedirect(back)

        def change(case: Case) -> None:
            case_services.assign(case.pk, actor=actor, to_user=to_user)

    elif action == "priority":
        try:
            priority = Priority(int(request.POST.get("priority") or 0))
        except ValueError:
            messages.error(request, _("Choose a priority."))
            return HttpResponseRedirect(back)

        def change(case: Case) -> None:
            case_services.set_priority(
                case.pk, actor=actor, priority=priority, reason=_("Changed from the team queue")
            )

    else:
        messages.error(request, _("Choose what to do with the ticked cases."))
        return HttpResponseRedirect(back)
    done = 0
    problems = []
    for number in numbers:
        case = cases.get(number)
        if case is None:
            problems.append(_("#%(number)s is not in this queue") % {"number": number})
            continue
        try:
            with transaction.atomic():
                change(case)
        except (DomainError, PermissionDenied, IntegrityError) as error:
            problems.append(f"#{number}: {getattr(error, 'detail', error)}")
        else:
            done += 1
    if done:
        messages.success(
            request,
            ngettext("%(count)d case changed.", "%(count)d cases changed.", done) % {"count": done},
        )
    if problems:
        messages.error(request, _("Not changed: %(list)s.") % {"list": "; ".join(problems)})
    return HttpResponseRedirect(back)


# --- the case page's live updates -------------------------------------------------------------


def case_stamp(case: Case) -> str:
    """What changes whenever anything happens on the case: every change writes a timeline
    event (the audit record), and the case row's own time."""
    last = TimelineEvent.objects.filter(case=case).aggregate(last=Max("id"))["last"]
    return fingerprint((last, case.updated_at, case.owner_id, case.state))


@require_GET
@login_required
def case_changes(request: HttpRequest, number: int) -> HttpResponse:
    """Polled by an open case page: 204 while nothing changed, else who changed what."""
    from pomogu.desk.views import _visible_case

    case = _visible_case(_actor(request), number)
    if case_stamp(case) == request.GET.get("seen"):
        return HttpResponse(status=204)
    last = TimelineEvent.objects.filter(case=case).select_related("actor").order_by("-id").first()
    who = last.actor.display_name if last is not None and last.actor is not None else ""
    what = (
        _("%(person)s changed this case.") % {"person": who}
        if who and last is not None and last.actor_id != request.user.pk
        else _("This case has changed.")
    )
    url = reverse("desk:case", kwargs={"number": case.number})
    return render(request, "desk/partials/live_notice.html", {"url": url, "what": what})
