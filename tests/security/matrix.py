"""The authorization matrix: every route × method × role × object owner, and what must happen.

Each route of the URL configuration, and each operation of ``/api/v1/openapi.json``, has an
entry here; ``test_matrix.py`` fails for a route without one (deny by default). An entry names
who may use the route (a *policy*) and how to fill in its path (ids of side X's or side Y's
objects, see ``world.py``). The test then asks, for each role and each side:

- ``OK``: served (a status in the entry's ``ok`` set: never 403, never 404);
- ``NOT_FOUND``: the object does not exist for this person (404, never 403: no existence oracle);
- ``FORBIDDEN``: the object is theirs to see but the action is not theirs to take (403);
- ``STAFF_LOGIN`` / ``PORTAL_LOGIN`` / ``ADMIN_LOGIN``: sent to sign in first (302);
- ``UNAUTHORIZED``: the API without a valid token (401);

and, whatever the status, that no canary of a side the role may not see, and for a customer
no internal canary, is anywhere in the body.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.security.world import Side, World

# --- roles ---------------------------------------------------------------------------------


class Kind(enum.Enum):
    ANONYMOUS = "anonymous"
    CUSTOMER = "customer"
    STAFF = "staff"


@dataclass(frozen=True)
class Role:
    name: str
    kind: Kind
    sides: frozenset[str]  # whose cases this role sees
    lead_of: frozenset[str] = frozenset()  # the sides whose team this role leads
    manager: bool = False
    admin: bool = False

    @property
    def staff(self) -> bool:
        return self.kind is Kind.STAFF


ROLES = (
    Role("anonymous", Kind.ANONYMOUS, frozenset()),
    Role("dave", Kind.CUSTOMER, frozenset({"x"})),  # customer A, organisation Vektor
    Role("dana", Kind.CUSTOMER, frozenset()),  # customer A2: Vektor, sharing off
    Role("erin", Kind.CUSTOMER, frozenset({"y"})),  # customer B, organisation Other
    Role("bob", Kind.STAFF, frozenset({"x"})),  # agent of team X
    Role("yuri", Kind.STAFF, frozenset({"y"})),  # agent of team Y
    Role("alice", Kind.STAFF, frozenset({"x"}), lead_of=frozenset({"x"})),  # lead of X
    Role("mallory", Kind.STAFF, frozenset({"x", "y"}), manager=True),
    Role("root", Kind.STAFF, frozenset({"x", "y"}), manager=True, admin=True),
)
ROLE = {role.name: role for role in ROLES}


class Expect(enum.Enum):
    OK = "served"
    NOT_FOUND = "404"
    FORBIDDEN = "403"
    STAFF_LOGIN = "302 to the staff sign-in"
    PORTAL_LOGIN = "302 to the portal's sign-in"
    ADMIN_LOGIN = "302 to the admin sign-in"
    UNAUTHORIZED = "401"


Policy = Callable[[Role, "str | None"], Expect]

# --- policies: who may use a route, on whose object ---------------------------------------


def public(role: Role, side: str | None) -> Expect:
    return Expect.OK


def staff(role: Role, side: str | None) -> Expect:
    """Any signed-in staff member; the page shows each only what they may see."""
    return Expect.OK if role.staff else Expect.STAFF_LOGIN


def staff_case(role: Role, side: str | None) -> Expect:
    """A case (or something of a case) of ``side``."""
    if not role.staff:
        return Expect.STAFF_LOGIN
    return Expect.OK if side in role.sides else Expect.NOT_FOUND


def publisher(role: Role, side: str | None) -> Expect:
    """Publishing a knowledge-base article: the lead of its team, or a manager. The internal
    knowledge base is every staff member's to read, so others are told no (403)."""
    if not role.staff:
        return Expect.STAFF_LOGIN
    return Expect.OK if (side in role.lead_of or role.manager) else Expect.FORBIDDEN


def nobody(role: Role, side: str | None) -> Expect:
    """A forged or unknown token: nothing there for anyone."""
    return Expect.NOT_FOUND


def both_sides(role: Role, side: str | None) -> Expect:
    """Something that joins this side's object with the other side's: only for someone who
    sees both (and then the service decides); for anyone else the other object is not there."""
    if not role.staff:
        return Expect.STAFF_LOGIN
    return Expect.OK if {"x", "y"} <= role.sides else Expect.NOT_FOUND


def team_lead(role: Role, side: str | None) -> Expect:
    """Something of a team only its lead or a manager may do; members see it and are refused."""
    if not role.staff:
        return Expect.STAFF_LOGIN
    if side not in role.sides:
        return Expect.NOT_FOUND
    return Expect.OK if (side in role.lead_of or role.manager) else Expect.FORBIDDEN


def register(role: Role, side: str | None) -> Expect:
    """The failure register: managers, and leads for the teams they lead; others: no page."""
    if not role.staff:
        return Expect.STAFF_LOGIN
    return Expect.OK if (role.lead_of or role.manager) else Expect.NOT_FOUND


def own_thing(role: Role, side: str | None) -> Expect:
    """A person's own object (a saved view, a notification): the side's agent only."""
    if not role.staff:
        return Expect.STAFF_LOGIN
    return Expect.OK if role.name in ("bob", "yuri") and side in role.sides else Expect.NOT_FOUND


def escalation(role: Role, side: str | None) -> Expect:
    """An escalation on a case one sees; the service says who may acknowledge it (its
    recipient, a manager) and answers the others on the page; anyone else: no such thing."""
    if not role.staff:
        return Expect.STAFF_LOGIN
    return Expect.OK if side in role.sides else Expect.NOT_FOUND


def portal(role: Role, side: str | None) -> Expect:
    return Expect.OK if role.kind is Kind.CUSTOMER else Expect.PORTAL_LOGIN


def portal_case(role: Role, side: str | None) -> Expect:
    if role.kind is not Kind.CUSTOMER:
        return Expect.PORTAL_LOGIN
    return Expect.OK if side in role.sides else Expect.NOT_FOUND


def admin_site(role: Role, side: str | None) -> Expect:
    return Expect.OK if role.admin else Expect.ADMIN_LOGIN


# API policies: no token is 401; customers have no API identity (they are "anonymous" there).


def api(policy: Policy) -> Policy:
    def wrapped(role: Role, side: str | None) -> Expect:
        if not role.staff:
            return Expect.UNAUTHORIZED
        return policy(role, side)

    wrapped.__name__ = f"api_{policy.__name__}"
    return wrapped


def admin_only(role: Role, side: str | None) -> Expect:
    return Expect.OK if role.admin else Expect.FORBIDDEN


def manager_only(role: Role, side: str | None) -> Expect:
    return Expect.OK if role.manager else Expect.FORBIDDEN


def lead_or_admin(role: Role, side: str | None) -> Expect:
    """Team membership: an administrator, or the lead of that team (teams are no secret among
    staff, so anyone else is told no)."""
    return Expect.OK if (role.admin or side in role.lead_of) else Expect.FORBIDDEN


def lead_for_failures(role: Role, side: str | None) -> Expect:
    """Failures in the API: a lead reads their teams', a manager everyone's; an agent's list is
    empty (served, nothing in it)."""
    return Expect.OK


def case_staff_write(role: Role, side: str | None) -> Expect:
    return staff_case(role, side)


def handoff_answer(role: Role, side: str | None) -> Expect:
    """Accept or decline: the receiver (the side's lead) or a manager; the sender (the side's
    agent) sees the handoff and is refused."""
    if side not in role.sides:
        return Expect.NOT_FOUND
    return Expect.OK if (side in role.lead_of or role.manager) else Expect.FORBIDDEN


def handoff_cancel(role: Role, side: str | None) -> Expect:
    """Cancel: the sender (the owner, the side's agent), their lead or a manager."""
    if side not in role.sides:
        return Expect.NOT_FOUND
    return Expect.OK


def customer_of(role: Role, side: str | None) -> Expect:
    return Expect.OK if side in role.sides else Expect.NOT_FOUND


def inbound(role: Role, side: str | None) -> Expect:
    """Received messages: a lead for the mailboxes of their teams, managers for all."""
    return Expect.OK if (side in role.lead_of or role.manager) else Expect.NOT_FOUND


def absence(role: Role, side: str | None) -> Expect:
    """An absence of the side's agent: theirs, their lead's or a manager's to cancel; another
    team's member is refused."""
    if role.manager or side in role.sides:
        return Expect.OK
    return Expect.FORBIDDEN


def any_staff(role: Role, side: str | None) -> Expect:
    return Expect.OK


# --- routes ----------------------------------------------------------------------------------

Params = Callable[[World, Side], dict[str, Any]]
Body = Callable[[World, Side, Side], Any]


@dataclass(frozen=True)
class Route:
    """One route (``desk:case``) or API operation (``GET /api/v1/cases/{case_id}``)."""

    key: str
    policy: Policy
    params: Params | None = None  # None: the route names no object
    methods: tuple[str, ...] = ("GET",)
    ok: frozenset[int] = frozenset({200})
    query: dict[str, str] | Callable[[World, Side], dict[str, str]] | None = None
    body: Body | None = None  # POST/PUT data; gets (world, target side, the other side)
    # Parameters naming a second object: the test also tries them with the *other* side's
    # object under this side's first one (AZ-4); that must be a 404 for everyone.
    crossed: tuple[str, ...] = ()
    note: str = ""
    variants: tuple[str, ...] = field(default=())
    # Whether the route acts on one side's object (path, query or body); by default when it
    # names an object in its path.
    sided: bool | None = None
    # On a public page reached with one side's token (a survey link): the canaries of that
    # side the token holder may read.
    token_shows: tuple[str, ...] = ()
    # The canaries of the target side a served answer must hold: proof that the route showed
    # the object, so that the absence of the other side's canaries means something.
    must_show: tuple[str, ...] = ()
    # What a method the route does not list gets: 405, or for a plain redirect (which changes
    # nothing whatever the method) the redirect.
    other_methods: frozenset[int] = frozenset({405})
    # Content that is the same for everyone and may be cached (the health probe).
    cacheable: bool = False

    @property
    def on_a_side(self) -> bool:
        return self.params is not None if self.sided is None else self.sided

    @property
    def label(self) -> str:
        return self.key + (f" ({', '.join(self.variants)})" if self.variants else "")


POSTED = frozenset({200, 204, 302, 303, 409, 422})
API_WRITE = frozenset({200, 201, 204, 409, 422})


def case(w: World, s: Side) -> dict[str, Any]:
    return {"number": s.case.number}


def solved(w: World, s: Side) -> dict[str, Any]:
    return {"number": s.solved.number}


def team(w: World, s: Side) -> dict[str, Any]:
    return {"slug": s.team.slug}


WEB: list[Route] = [
    Route("healthz", public, cacheable=True),
    # Django's set_language: a GET only goes back, it changes nothing.
    Route(
        "set_language",
        public,
        methods=("POST",),
        ok=frozenset({302}),
        other_methods=frozenset({302}),
    ),
    Route("request_form", public, methods=("GET", "POST"), ok=frozenset({200, 302, 422})),
    Route(
        "survey",
        public,
        params=lambda w, s: {"token": s.survey_token},
        methods=("GET", "POST"),
        ok=frozenset({200, 302, 422}),
        token_shows=("solved", "name"),
        note="the token is the capability: anyone holding it may rate, and sees no thread",
    ),
    Route(
        "survey",
        nobody,
        params=lambda w, s: {"token": s.survey_token[:-4] + "AAAA"},
        methods=("GET", "POST"),
        variants=("a forged token",),
    ),
    Route("register:dashboard", register),
    Route("register:failures", register),
    Route("register:failures_csv", register),
    Route("kb:list", staff),
    Route("kb:new", staff, methods=("GET", "POST"), ok=frozenset({200, 302, 422})),
    # The internal knowledge base is shared by all staff on purpose: a draft is anyone's to
    # improve (kb.services.can_edit); publishing is a lead's (403 for the others).
    Route("kb:article", staff, params=lambda w, s: {"slug": s.article_slug}),
    Route(
        "kb:edit",
        staff,
        params=lambda w, s: {"slug": s.article_slug},
        methods=("GET", "POST"),
        ok=frozenset({200, 302, 422}),
    ),
    Route(
        "kb:publish",
        publisher,
        params=lambda w, s: {"slug": s.article_slug},
        methods=("POST",),
        ok=POSTED,
    ),
    Route(
        "kb:unpublish",
        publisher,
        params=lambda w, s: {"slug": s.article_slug},
        methods=("POST",),
        ok=POSTED,
    ),
    Route("help:list", public),
    Route(
        "help:article",
        public,
        params=lambda w, s: {"slug": s.article_slug},
        ok=frozenset({404}),
        note="drafts and internal articles are never on the help pages",
    ),
    Route("portal:home", public, note="the case list when signed in, the sign-in form if not"),
    Route("portal:request_link", public, methods=("GET", "POST"), ok=frozenset({200, 302, 422})),
    Route("portal:link_sent", public),
    Route("portal:use_link", public, methods=("POST",), ok=frozenset({200, 302, 400, 410, 422})),
    Route(
        "portal:link",
        public,
        params=lambda w, s: {"token": "not-a-token"},
        ok=frozenset({200, 400, 404, 410}),
    ),
    Route("portal:sign_out", public, methods=("POST",), ok=frozenset({302})),
    Route("portal:case", portal_case, params=case, must_show=("subject", "body", "reply")),
    Route("portal:reply", portal_case, params=case, methods=("POST",), ok=POSTED),
    Route("portal:rating", portal_case, params=solved, methods=("POST",), ok=POSTED),
    Route(
        "portal:attachment",
        portal_case,
        params=lambda w, s: {"number": s.case.number, "attachment_id": s.attachment_id},
        crossed=("attachment_id",),
        must_show=("file",),
    ),
    Route("desk:login", public, methods=("GET", "POST"), ok=frozenset({200, 302})),
    Route("desk:logout", public, methods=("POST",), ok=frozenset({302})),
    Route("desk:home", staff),
    Route("desk:set_language", public, methods=("POST",), ok=frozenset({302})),
    Route(
        "desk:desk",
        public,
        ok=frozenset({301, 302}),
        other_methods=frozenset({302}),
        note="a redirect to the home page",
    ),
    Route("desk:team", staff_case, params=team),
    Route("desk:team_changes", staff_case, params=team, ok=frozenset({200, 204})),
    Route("desk:bulk", team_lead, params=team, methods=("POST",), ok=POSTED),
    Route("desk:save_view", staff_case, params=team, methods=("POST",), ok=POSTED),
    Route(
        "desk:delete_view",
        own_thing,
        params=lambda w, s: {"view_id": s.saved_view_id},
        methods=("POST",),
        ok=POSTED,
    ),
    Route("desk:case_changes", staff_case, params=case, ok=frozenset({200, 204})),
    Route("desk:related", staff_case, params=case),
    # The panel lists the customer's other cases: for someone on one side, none of the other
    # side's (the canary check); a manager sees them.
    Route(
        "desk:related",
        staff_case,
        params=lambda w, s: {"number": s.frank_case.number},
        variants=("a customer with cases on both sides",),
    ),
    Route(
        "desk:case",
        staff_case,
        params=lambda w, s: {"number": s.frank_case.number},
        must_show=("frank",),
        variants=("a customer with cases on both sides",),
    ),
    Route(
        "desk:case_form",
        staff_case,
        params=lambda w, s: {"number": s.case.number, "name": "handoff"},
    ),
    Route("desk:search", staff, query={"q": "router"}),
    Route("desk:new_case", staff, methods=("GET", "POST"), ok=frozenset({200, 302, 422})),
    Route(
        "desk:acknowledge_escalation",
        escalation,
        params=lambda w, s: {"escalation_id": s.escalation_id},
        methods=("POST",),
        ok=POSTED,
    ),
    Route(
        "desk:notification_seen",
        own_thing,
        params=lambda w, s: {"notification_id": s.notification_id},
        methods=("POST",),
        ok=POSTED,
    ),
    Route(
        "desk:case",
        staff_case,
        params=case,
        must_show=("subject", "body", "note", "held", "task", "promise", "handoff"),
    ),
    Route("desk:reply", staff_case, params=case, methods=("POST",), ok=POSTED),
    Route("desk:check_reply", staff_case, params=case, methods=("POST",), ok=POSTED),
    Route("desk:settle_routing", staff_case, params=case, methods=("POST",), ok=POSTED),
    Route("desk:note", staff_case, params=case, methods=("POST",), ok=POSTED),
    Route("desk:request_handoff", staff_case, params=case, methods=("POST",), ok=POSTED),
    Route(
        "desk:accept_handoff",
        staff_case,
        params=lambda w, s: {"number": s.case.number, "handoff_id": s.handoff.pk},
        methods=("POST",),
        ok=POSTED,
        crossed=("handoff_id",),
    ),
    Route(
        "desk:decline_handoff",
        staff_case,
        params=lambda w, s: {"number": s.case.number, "handoff_id": s.handoff.pk},
        methods=("POST",),
        ok=POSTED,
        crossed=("handoff_id",),
    ),
    Route(
        "desk:cancel_handoff",
        staff_case,
        params=lambda w, s: {"number": s.case.number, "handoff_id": s.handoff.pk},
        methods=("POST",),
        ok=POSTED,
        crossed=("handoff_id",),
    ),
    Route("desk:add_task", staff_case, params=case, methods=("POST",), ok=POSTED),
    Route("desk:add_promise", staff_case, params=case, methods=("POST",), ok=POSTED),
    Route(
        "desk:keep_promise",
        staff_case,
        params=lambda w, s: {"number": s.case.number, "promise_id": s.promise_id},
        methods=("POST",),
        ok=POSTED,
        crossed=("promise_id",),
    ),
    Route("desk:add_appointment", staff_case, params=case, methods=("POST",), ok=POSTED),
    Route(
        "desk:report_appointment",
        staff_case,
        params=lambda w, s: {"number": s.case.number, "appointment_id": s.appointment_id},
        methods=("POST",),
        ok=POSTED,
        crossed=("appointment_id",),
    ),
    Route(
        "desk:finish_task",
        staff_case,
        params=lambda w, s: {"number": s.case.number, "task_id": s.task_id},
        methods=("POST",),
        ok=POSTED,
        crossed=("task_id",),
    ),
    Route("desk:resolve", staff_case, params=case, methods=("POST",), ok=POSTED),
    Route("desk:reopen", staff_case, params=solved, methods=("POST",), ok=POSTED),
    Route("desk:recurrence", staff_case, params=case, methods=("POST",), ok=POSTED),
    Route(
        "desk:attachment",
        staff_case,
        params=lambda w, s: {"number": s.case.number, "attachment_id": s.attachment_id},
        crossed=("attachment_id",),
        must_show=("file",),
    ),
    Route(
        "desk:message_html",
        staff_case,
        params=lambda w, s: {"number": s.case.number, "message_id": s.html_message_id},
        crossed=("message_id",),
        must_show=("html",),
    ),
]


# --- the API ---------------------------------------------------------------------------------


def cid(w: World, s: Side) -> dict[str, Any]:
    return {"case_id": s.case.pk}


def solved_id(w: World, s: Side) -> dict[str, Any]:
    return {"case_id": s.solved.pk}


def hid(w: World, s: Side) -> dict[str, Any]:
    return {"handoff_id": s.handoff.pk}


def team_ref(w: World, s: Side) -> dict[str, Any]:
    return {"team_ref": s.team.slug}


def customer_id(w: World, s: Side) -> dict[str, Any]:
    return {"customer_id": s.customer.pk}


def inbound_id(w: World, s: Side) -> dict[str, Any]:
    return {"inbound_id": s.inbound_id}


def later(days: int, hours: int = 0) -> str:
    import datetime as dt

    from pomogu.core import clock

    return (clock.now() + dt.timedelta(days=days, hours=hours)).isoformat()


def glob(name: str) -> Params:
    """A desk-wide object: the same for either side."""
    return lambda w, s: {name: getattr(w, name)}


A = "/api/v1"
API: list[Route] = [
    # POST /cases returns the new case even when it went to a team the caller cannot see
    # (ARCHITECTURE "Authorization in one place"): the caller wrote it.
    Route(
        f"POST {A}/cases",
        api(any_staff),
        methods=("POST",),
        ok=API_WRITE,
        body=lambda w, s, o: {
            "customer": {"email": "new.person@example.test"},
            "subject": "Printer",
            "body": "It jams.",
            "team": s.team.slug,
        },
    ),
    Route(f"GET {A}/cases", api(any_staff)),
    Route(
        f"GET {A}/cases",
        api(any_staff),
        sided=True,
        query=lambda w, s: {"customer": str(s.customer.pk)},
        variants=("filtered by a customer",),
    ),
    Route(f"GET {A}/cases/{{case_id}}", api(staff_case), params=cid, must_show=("subject",)),
    Route(
        f"GET {A}/cases/{{case_id}}/timeline", api(staff_case), params=cid, must_show=("handoff",)
    ),
    Route(
        f"POST {A}/cases/{{case_id}}/messages",
        api(staff_case),
        params=cid,
        methods=("POST",),
        ok=API_WRITE,
        body=lambda w, s, o: {"body": "Checked the line.", "kind": "note"},
    ),
    Route(
        f"POST {A}/cases/{{case_id}}/handoffs",
        api(staff_case),
        params=cid,
        methods=("POST",),
        ok=API_WRITE | {403},
        body=lambda w, s, o: {
            "to_team": s.team.slug,
            "to_user": s.lead.username,
            "reason": "Needs a lead",
        },
    ),
    Route(f"GET {A}/handoffs", api(any_staff)),
    Route(f"GET {A}/handoffs/{{handoff_id}}", api(staff_case), params=hid),
    Route(
        f"POST {A}/handoffs/{{handoff_id}}/accept",
        api(handoff_answer),
        params=hid,
        methods=("POST",),
        ok=API_WRITE,
    ),
    Route(
        f"POST {A}/handoffs/{{handoff_id}}/decline",
        api(handoff_answer),
        params=hid,
        methods=("POST",),
        ok=API_WRITE,
        body=lambda w, s, o: {"reason": "Not yet"},
    ),
    Route(
        f"POST {A}/handoffs/{{handoff_id}}/cancel",
        api(handoff_cancel),
        params=hid,
        methods=("POST",),
        ok=API_WRITE | {403},
    ),
    Route(
        f"POST {A}/cases/{{case_id}}/assign",
        api(team_lead),
        params=cid,
        methods=("POST",),
        ok=API_WRITE,
        body=lambda w, s, o: {"to_user": s.lead.username},
    ),
    Route(
        f"POST {A}/cases/{{case_id}}/resolve",
        api(staff_case),
        params=cid,
        methods=("POST",),
        ok=API_WRITE | {403},
        body=lambda w, s, o: {},
    ),
    Route(
        f"POST {A}/cases/{{case_id}}/recurrence",
        api(staff_case),
        params=cid,
        methods=("POST",),
        ok=API_WRITE | {403},
        body=lambda w, s, o: {"same": True},
    ),
    Route(
        f"POST {A}/cases/{{case_id}}/merge",
        api(staff_case),
        params=cid,
        methods=("POST",),
        ok=API_WRITE | {403},
        body=lambda w, s, o: {"into_case_id": s.solved.pk},
    ),
    # AZ-4: into another side's case.
    Route(
        f"POST {A}/cases/{{case_id}}/merge",
        api(both_sides),
        params=cid,
        methods=("POST",),
        ok=API_WRITE | {403},
        body=lambda w, s, o: {"into_case_id": o.case.pk},
        variants=("into the other side's case",),
    ),
    Route(
        f"POST {A}/cases/{{case_id}}/split",
        api(staff_case),
        params=cid,
        methods=("POST",),
        ok=API_WRITE | {403},
        body=lambda w, s, o: {"message_ids": [s.html_message_id], "subject": "Second issue"},
    ),
    # Another case's message is refused as "not of this case" (409), the same answer as for an
    # id that does not exist: no oracle, no change.
    Route(
        f"POST {A}/cases/{{case_id}}/split",
        api(staff_case),
        params=cid,
        methods=("POST",),
        ok=API_WRITE | {403},
        body=lambda w, s, o: {"message_ids": [o.html_message_id], "subject": "Second issue"},
        variants=("the other side's message",),
    ),
    Route(
        f"POST {A}/cases/{{case_id}}/reopen",
        api(staff_case),
        params=solved_id,
        methods=("POST",),
        ok=API_WRITE | {403},
        body=lambda w, s, o: {"reason": "Again"},
    ),
    Route(
        f"POST {A}/cases/{{case_id}}/close",
        api(staff_case),
        params=solved_id,
        methods=("POST",),
        ok=API_WRITE | {403},
    ),
    Route(
        f"POST {A}/cases/{{case_id}}/contractor-tasks",
        api(staff_case),
        params=cid,
        methods=("POST",),
        ok=API_WRITE | {403},
        body=lambda w, s, o: {"contractor": "Linemen", "description": "Dig"},
    ),
    Route(
        f"POST {A}/contractor-tasks/{{task_id}}/finish",
        api(staff_case),
        params=lambda w, s: {"task_id": s.task_id},
        methods=("POST",),
        ok=API_WRITE | {403},
        body=lambda w, s, o: {"outcome": "Done"},
    ),
    Route(f"GET {A}/teams", api(any_staff)),
    Route(
        f"POST {A}/teams",
        api(admin_only),
        methods=("POST",),
        ok=API_WRITE,
        body=lambda w, s, o: {"name": "Field work", "slug": "field"},
    ),
    Route(
        f"GET {A}/teams/{{team_ref}}",
        api(any_staff),
        params=team_ref,
        note="team names and members are not secret among staff",
    ),
    Route(
        f"POST {A}/teams/{{team_ref}}/members",
        api(lead_or_admin),
        params=team_ref,
        methods=("POST",),
        ok=API_WRITE,
        body=lambda w, s, o: {"user": "mallory"},
    ),
    Route(f"GET {A}/customers", api(any_staff)),
    Route(f"GET {A}/customers", api(any_staff), query={"q": "customer"}, variants=("searched",)),
    Route(
        f"GET {A}/customers/{{customer_id}}",
        api(customer_of),
        params=customer_id,
        must_show=("name",),
    ),
    Route(
        f"POST {A}/customers",
        api(manager_only),
        methods=("POST",),
        ok=API_WRITE,
        body=lambda w, s, o: {"email": s.customer.email},
    ),
    Route(f"GET {A}/quarantine", api(any_staff)),
    Route(f"GET {A}/inbound/{{inbound_id}}", api(inbound), params=inbound_id),
    Route(f"GET {A}/inbound/{{inbound_id}}/raw", api(inbound), params=inbound_id),
    Route(
        f"POST {A}/inbound/{{inbound_id}}/reprocess",
        api(inbound),
        params=inbound_id,
        methods=("POST",),
        ok=API_WRITE,
    ),
    Route(f"GET {A}/cases/{{case_id}}/routing", api(staff_case), params=cid),
    Route(
        f"POST {A}/cases/{{case_id}}/routing",
        api(staff_case),
        params=cid,
        methods=("POST",),
        ok=API_WRITE | {403},
        body=lambda w, s, o: {"team": s.team.slug},
    ),
    Route(f"GET {A}/router/versions", api(manager_only)),
    Route(f"POST {A}/router/train", api(manager_only), methods=("POST",), ok=API_WRITE),
    Route(f"POST {A}/router/rollback", api(manager_only), methods=("POST",), ok=API_WRITE),
    Route(f"GET {A}/calendars", api(any_staff)),
    Route(
        f"POST {A}/calendars",
        api(admin_only),
        methods=("POST",),
        ok=API_WRITE,
        body=lambda w, s, o: {"name": "Night shift", "config": {"time_zone": "UTC"}},
    ),
    Route(
        f"PUT {A}/calendars/{{calendar_id}}",
        api(admin_only),
        params=glob("calendar_id"),
        sided=False,
        methods=("PUT",),
        ok=API_WRITE,
        body=lambda w, s, o: {"name": "Office hours", "config": {"time_zone": "UTC"}},
    ),
    Route(f"GET {A}/sla-policies", api(any_staff)),
    Route(
        f"POST {A}/sla-policies",
        api(admin_only),
        methods=("POST",),
        ok=API_WRITE,
        body=lambda w, s, o: {"name": "Gold", "first_response_minutes": 30},
    ),
    Route(
        f"PUT {A}/sla-policies/{{policy_id}}",
        api(admin_only),
        params=glob("policy_id"),
        sided=False,
        methods=("PUT",),
        ok=API_WRITE,
        body=lambda w, s, o: {"name": "Standard", "first_response_minutes": 90},
    ),
    Route(f"GET {A}/escalation-chains/{{team_ref}}", api(any_staff), params=team_ref),
    Route(
        f"PUT {A}/escalation-chains/{{team_ref}}",
        api(admin_only),
        params=team_ref,
        methods=("PUT",),
        ok=API_WRITE,
        body=lambda w, s, o: {"levels": [{"target": "team_lead", "ack_minutes": 30}]},
    ),
    Route(f"GET {A}/absences", api(any_staff), note="who is away is not secret among staff"),
    Route(
        f"POST {A}/absences",
        api(absence),
        methods=("POST",),
        ok=API_WRITE,
        sided=True,
        body=lambda w, s, o: {
            "user": s.agent.username,
            "starts_at": later(20),
            "ends_at": later(21),
        },
    ),
    Route(
        f"DELETE {A}/absences/{{absence_id}}",
        api(absence),
        params=lambda w, s: {"absence_id": s.absence_id},
        methods=("DELETE",),
        ok=API_WRITE,
    ),
    Route(f"GET {A}/cases/{{case_id}}/clocks", api(staff_case), params=cid),
    Route(
        f"POST {A}/cases/{{case_id}}/appointments",
        api(staff_case),
        params=cid,
        methods=("POST",),
        ok=API_WRITE | {403},
        body=lambda w, s, o: {"starts_at": later(3), "ends_at": later(3, 1)},
    ),
    Route(
        f"POST {A}/appointments/{{appointment_id}}/report",
        api(staff_case),
        params=lambda w, s: {"appointment_id": s.appointment_id},
        methods=("POST",),
        ok=API_WRITE | {403},
        body=lambda w, s, o: {"kept": True},
    ),
    Route(
        f"POST {A}/cases/{{case_id}}/promises",
        api(staff_case),
        params=cid,
        methods=("POST",),
        ok=API_WRITE | {403},
        body=lambda w, s, o: {"text": "Call back", "due_at": later(1)},
    ),
    Route(
        f"POST {A}/promises/{{promise_id}}/kept",
        api(staff_case),
        params=lambda w, s: {"promise_id": s.promise_id},
        methods=("POST",),
        ok=API_WRITE | {403},
    ),
    Route(f"GET {A}/escalations", api(any_staff)),
    Route(
        f"POST {A}/escalations/{{escalation_id}}/acknowledge",
        api(escalation),
        params=lambda w, s: {"escalation_id": s.escalation_id},
        methods=("POST",),
        ok=API_WRITE | {403},
    ),
    Route(f"GET {A}/failures", api(any_staff)),
    Route(
        f"GET {A}/failures",
        api(any_staff),
        sided=True,
        query=lambda w, s: {"case": str(s.case.pk)},
        variants=("filtered by a case",),
    ),
    Route(f"GET {A}/failures.csv", api(any_staff)),
    Route(f"GET {A}/failures/summary", api(any_staff)),
    Route(
        f"POST {A}/contacts",
        api(staff_case),
        methods=("POST",),
        ok=API_WRITE | {403},
        sided=True,
        body=lambda w, s, o: {
            "purpose": "appointment",
            "case_id": s.case.pk,
            "reason": "Confirm the visit",
        },
        variants=("about a case",),
    ),
    Route(f"GET {A}/contacts", api(any_staff)),
    Route(
        f"GET {A}/contacts",
        api(staff_case),
        sided=True,
        query=lambda w, s: {"case_id": str(s.case.pk)},
        variants=("filtered by a case",),
    ),
    Route(
        f"GET {A}/customers/{{customer_id}}/contact-preferences",
        api(customer_of),
        params=customer_id,
    ),
    Route(
        f"PUT {A}/customers/{{customer_id}}/contact-preferences",
        api(customer_of),
        params=customer_id,
        methods=("PUT",),
        ok=API_WRITE,
        body=lambda w, s, o: {"channels": ["email"], "opted_out": []},
    ),
    Route(f"GET {A}/surveys", api(any_staff)),
    Route(f"GET {A}/surveys/results", api(any_staff)),
    Route(
        f"POST {A}/guard/check",
        api(any_staff),
        methods=("POST",),
        ok=API_WRITE,
        body=lambda w, s, o: {"text": "Это не наш отдел."},
    ),
    Route(f"GET {A}/guard/phrases", api(any_staff)),
    Route(
        f"POST {A}/guard/phrases",
        api(admin_only),
        methods=("POST",),
        ok=API_WRITE,
        body=lambda w, s, o: {"text": "обратитесь к подрядчику", "note": "blame"},
    ),
    Route(
        f"DELETE {A}/guard/phrases/{{phrase_id}}",
        api(admin_only),
        params=glob("phrase_id"),
        sided=False,
        methods=("DELETE",),
        ok=API_WRITE,
    ),
]
