"""The agent desk: server-rendered pages, with htmx fragments for the case page's forms.

Each view loads what the user may see through ``pomogu.cases.queries`` (a case outside
``visible_cases`` is a 404), validates a form, calls one service and renders. A ``DomainError``
from a service is shown next to the form that caused it (status 422), never as a 500. Without
JavaScript every form works as a normal POST followed by a redirect.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import html
import logging
import re
from collections.abc import Callable
from enum import Enum
from typing import Any, cast
from urllib.parse import unquote

from django import forms
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import Q
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
)
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from pomogu.cases import queries, services
from pomogu.cases.choices import (
    CaseState,
    Channel,
    ContractorTaskState,
    EventKind,
    MessageKind,
    Priority,
    Resolution,
)
from pomogu.cases.models import Case, Handoff, Message, Notification, TimelineEvent
from pomogu.clocks.models import Appointment, Promise
from pomogu.core import clock, throttle
from pomogu.core.clients import client_digest
from pomogu.core.errors import DomainError, NotFound
from pomogu.desk.forms import (
    AppointmentForm,
    ContractorTaskForm,
    DeclineForm,
    FinishTaskForm,
    HandoffForm,
    NewCaseForm,
    NoteForm,
    PromiseForm,
    ReopenForm,
    ReplyForm,
    ResolveForm,
    RoutingForm,
)
from pomogu.desk.lists import case_stamp, with_next_due
from pomogu.intake.downloads import (
    attachment_download,
    private_file_headers,
    served_type,
)
from pomogu.intake.models import Attachment, InboundMessage
from pomogu.intake.parsing import ParseError, parse
from pomogu.intake.services import limits as intake_limits
from pomogu.people import services as people
from pomogu.people.models import User
from pomogu.triage import services as triage
from pomogu.triage.models import RoutingDecision

logger = logging.getLogger(__name__)

# The two parts of the case page that its forms re-render (htmx targets).
ACTIVITY = "activity"  # the thread, the reply and note forms, the timeline
ACTIONS = "actions"  # handoffs, contractor tasks, resolve and reopen

DUE_SOON = dt.timedelta(hours=4)  # "due soon" on my work
MY_WORK_LIMIT = 50  # cases listed on my work; the team queues filtered to "me" show the rest
UNROUTED_LIMIT = 20  # requests waiting for a routing decision listed on my work, oldest first


def _actor(request: HttpRequest) -> User:
    return cast(User, request.user)


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _page(
    request: HttpRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    context.setdefault("nav_teams", list(queries.desk_teams(_actor(request))))
    return render(request, template, context, status=status)


def _visible_case(user: User, number: int) -> Case:
    try:
        return queries.get_visible_case_by_number(user, number)
    except NotFound:
        raise Http404("No such case.") from None


def case_url(case: Case) -> str:
    return reverse("desk:case", kwargs={"number": case.number})


# --- my work and team queues ----------------------------------------------------------------


@require_GET
@login_required
def home(request: HttpRequest) -> HttpResponse:
    """My work: the active cases I own and the handoffs waiting for my answer."""
    from pomogu.clocks.models import Deadline, DeadlineState, Escalation, EscalationState

    actor = _actor(request)
    now = clock.now()
    mine = list(
        with_next_due(queries.with_pending_handoff(queries.my_queue(actor)))[: MY_WORK_LIMIT + 1]
    )
    waiting_for_routing = queries.visible_cases(actor).filter(routing__needs_person=True)
    unrouted = list(
        waiting_for_routing.select_related("team", "customer").order_by("created_at")[
            : UNROUTED_LIMIT + 1
        ]
    )
    context = {
        "cases": mine[:MY_WORK_LIMIT],
        "more_cases": queries.my_queue(actor).count() if len(mine) > MY_WORK_LIMIT else 0,
        "escalations": list(
            Escalation.objects.filter(recipient=actor, state=EscalationState.OPEN)
            .select_related("case", "case__owner", "deadline")
            .order_by("created_at")[:50]
        ),
        "due_soon": list(
            Deadline.objects.filter(
                case__owner=actor,
                state=DeadlineState.PENDING,
                met_at__isnull=True,
                due_at__lte=now + DUE_SOON,
            )
            .select_related("case")
            .order_by("due_at")[:20]
        ),
        "now": now,
        "awaiting": list(queries.handoffs_awaiting(actor)),
        "sent": list(queries.handoffs_sent_waiting(actor)),
        "decline_form": DeclineForm(),
        "notifications": list(
            actor.notifications.filter(read_at__isnull=True).select_related("case")[:20]
        ),
        "unrouted": unrouted[:UNROUTED_LIMIT],
        "more_unrouted": waiting_for_routing.count() if len(unrouted) > UNROUTED_LIMIT else 0,
    }
    return _page(request, "desk/home.html", context)


# A browser someone signed in from before carries this signed cookie with their username; the
# per-username limit does not apply to it, so that strangers failing on purpose cannot lock a
# staff member out of the desk (AZ-16). The per-client limit still does.
KNOWN_BROWSER_COOKIE = "pomogu_known"
KNOWN_BROWSER_SALT = "pomogu.desk.known-browser"
KNOWN_BROWSER_DAYS = 180


class SignInView(auth_views.LoginView):
    """Django's sign-in, slowed down for guessers: after too many failures for one username
    (from browsers it never signed in from) or from one client in the window, it answers 429
    with a clear message and checks no password until the window has passed (AZ-16)."""

    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        from django.conf import settings

        minutes = settings.POMOGU_SIGN_IN_WINDOW_MINUTES
        username = (request.POST.get("username") or "").strip().lower()[:150]
        client = client_digest(request, "sign-in")
        known = request.get_signed_cookie(KNOWN_BROWSER_COOKIE, default="", salt=KNOWN_BROWSER_SALT)
        limit_user = settings.POMOGU_SIGN_IN_FAILURES_PER_USER
        limit_client = settings.POMOGU_SIGN_IN_FAILURES_PER_CLIENT
        if (
            known != username
            and throttle.too_many("sign-in user", username, limit=limit_user, minutes=minutes)
        ) or throttle.too_many("sign-in client", client, limit=limit_client, minutes=minutes):
            form = self.get_form()
            form.errors.clear()
            form.add_error(
                None,
                _("Too many failed sign-ins. Wait %(minutes)d minutes and try again.")
                % {"minutes": minutes},
            )
            return self.render_to_response(self.get_context_data(form=form), status=429)
        response = super().post(request, *args, **kwargs)
        if request.user.is_authenticated:
            throttle.forget("sign-in user", username)
            response.set_signed_cookie(
                KNOWN_BROWSER_COOKIE,
                username,
                salt=KNOWN_BROWSER_SALT,
                max_age=KNOWN_BROWSER_DAYS * 24 * 3600,
                httponly=True,
                secure=settings.SESSION_COOKIE_SECURE,
                samesite="Lax",
            )
        else:
            throttle.strike("sign-in user", username, minutes=minutes)
            throttle.strike("sign-in client", client, minutes=minutes)
        return response


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Django's language switch, which also remembers a staff member's choice on their
    account, so every device and every mail they get from the desk follows it."""
    from django.conf import settings
    from django.views.i18n import set_language as switch

    language = request.POST.get("language", "")
    user = request.user
    if user.is_authenticated and language in dict(settings.LANGUAGES):
        actor = _actor(request)
        if actor.language != language:
            actor.language = language
            actor.save(update_fields=["language"])
    return switch(request)


# --- the case page --------------------------------------------------------------------------


def _label(choices: type[Enum], value: Any) -> str:
    try:
        return str(choices(value).label)  # type: ignore[attr-defined]
    except ValueError:
        return str(value)


def describe_event(event: TimelineEvent, names: dict[str, str]) -> str:
    """One timeline event as a readable, translated sentence. Impersonal on purpose: the actor
    is shown beside it, and Russian verbs would otherwise need the actor's gender."""
    data = event.data if isinstance(event.data, dict) else {}

    def name(username: Any) -> str:
        if not username:
            return _("anyone in the team")
        return names.get(str(username), str(username))

    kind = event.kind
    if kind == EventKind.OPENED:
        values = {
            "channel": _label(Channel, data.get("channel", "")),
            "team": data.get("team", ""),
            "owner": name(data.get("owner")),
        }
        if data.get("on_behalf"):
            return (
                _("Request logged for the customer (%(channel)s); team %(team)s, owner %(owner)s.")
                % values
            )
        return _("Case opened (%(channel)s); team %(team)s, owner %(owner)s.") % values
    if kind == EventKind.MESSAGE:
        return _("The customer wrote.")
    if kind == EventKind.REPLY:
        if data.get("delivered_by") == "email":
            return _("Reply sent to the customer by email.")
        return _("Reply written; the customer has no email address, so tell them another way.")
    if kind == EventKind.NOTE:
        return _("Internal note added.")
    if kind == EventKind.STATE:
        return _("State changed from “%(from)s” to “%(to)s”.") % {
            "from": _label(CaseState, data.get("from")),
            "to": _label(CaseState, data.get("to")),
        }
    if kind == EventKind.ASSIGNED:
        values = {"from": name(data.get("from")), "to": name(data.get("to"))}
        if data.get("reason") == "reopen":
            return _("Owner changed from %(from)s to %(to)s, who resolved it.") % values
        return _("Owner changed from %(from)s to %(to)s.") % values
    if kind == EventKind.PRIORITY:
        text = _("Priority changed from “%(from)s” to “%(to)s”.") % {
            "from": _label(Priority, data.get("from")),
            "to": _label(Priority, data.get("to")),
        }
        if data.get("reason"):
            text += " " + _("Reason: %(reason)s") % {"reason": data["reason"]}
        return text
    if kind == EventKind.HANDOFF_REQUESTED:
        values = {
            "team": data.get("to_team", ""),
            "user": name(data.get("to_user")),
            "reason": data.get("reason", ""),
        }
        if data.get("to_user"):
            return _("Handoff to %(user)s (%(team)s) requested: %(reason)s") % values
        return _("Handoff to team %(team)s requested: %(reason)s") % values
    if kind == EventKind.HANDOFF_ACCEPTED:
        return _("Handoff accepted.")
    if kind == EventKind.HANDOFF_DECLINED:
        return _("Handoff declined: %(reason)s") % {"reason": data.get("reason", "")}
    if kind == EventKind.HANDOFF_CANCELLED:
        return _("Handoff withdrawn.")
    if kind == EventKind.HANDOFF_TIMED_OUT:
        return _("Nobody answered the handoff in time; it went to the team lead.")
    if kind == EventKind.TEAM:
        return _("Team changed from %(from)s to %(to)s.") % {
            "from": data.get("from", ""),
            "to": data.get("to", ""),
        }
    if kind == EventKind.CONTRACTOR_TASK:
        if data.get("due_at"):
            return _("Contractor task for %(contractor)s added, due %(due)s.") % {
                "contractor": data.get("contractor", ""),
                "due": str(data["due_at"])[:16].replace("T", " "),
            }
        return _("Contractor task for %(contractor)s added.") % {
            "contractor": data.get("contractor", "")
        }
    if kind == EventKind.CONTRACTOR_TASK_DONE:
        values = {"outcome": data.get("outcome", "") or "—"}
        if data.get("state") == ContractorTaskState.CANCELLED:
            return _("Contractor task cancelled: %(outcome)s") % values
        return _("Contractor task finished: %(outcome)s") % values
    if kind == EventKind.RESOLVED:
        text = _("Resolved: %(resolution)s.") % {
            "resolution": _label(Resolution, data.get("resolution"))
        }
        if data.get("summary"):
            text += " " + str(data["summary"])
        return text
    if kind == EventKind.REOPENED:
        return _("Reopened (time %(count)s): %(reason)s") % {
            "count": data.get("count", ""),
            "reason": data.get("reason", ""),
        }
    if kind == EventKind.CLOSED:
        return _("Closed.")
    if kind == EventKind.OUTBOUND_FAILED:
        return _("A message to the customer could not be sent.")
    if kind == EventKind.ROUTED:
        return describe_routing(data)
    if kind == EventKind.ROUTING_SETTLED:
        if data.get("decision") == "not_ours":
            return _("A person decided that no team owns this request; it is answered here.")
        return _("A person decided the request belongs to %(team)s.") % {
            "team": data.get("team", "")
        }
    if kind in _CLOCK_EVENTS:
        return describe_clock_event(kind, data, name)
    if kind == EventKind.ANGER:
        text = _("The customer's message reads as angry (score %(score)s).") % {
            "score": data.get("score", "")
        }
        if data.get("lead_notified"):
            text += " " + _("The team lead (%(lead)s) was told.") % {
                "lead": name(data["lead_notified"])
            }
        return text
    return _label(EventKind, kind)


_CLOCK_EVENTS = {
    EventKind.DEADLINE_MISSED,
    EventKind.ESCALATED,
    EventKind.ESCALATION_ACKNOWLEDGED,
    EventKind.APPOINTMENT,
    EventKind.APPOINTMENT_KEPT,
    EventKind.APPOINTMENT_MISSED,
    EventKind.PROMISE,
    EventKind.PROMISE_KEPT,
}


def _at(value: Any) -> str:
    return str(value or "")[:16].replace("T", " ")


def describe_clock_event(kind: str, data: dict[str, Any], name: Callable[[Any], str]) -> str:
    """Deadlines, escalations, appointments and promises on the timeline (R4)."""
    from pomogu.clocks.models import DeadlineKind

    what = data.get("what", "")
    what_label = DeadlineKind(what).label if what in DeadlineKind.values else what
    if kind == EventKind.DEADLINE_MISSED:
        return _("Missed: %(what)s, due %(due)s.") % {
            "what": what_label,
            "due": _at(data.get("due_at")),
        }
    if kind == EventKind.ESCALATED:
        text = _("Escalated (level %(level)s) to %(person)s.") % {
            "level": data.get("level", ""),
            "person": name(data.get("to")),
        }
        if data.get("instead_of"):
            text += " " + _("%(person)s is away.") % {"person": name(data["instead_of"])}
        return text
    if kind == EventKind.ESCALATION_ACKNOWLEDGED:
        return _("Escalation (level %(level)s) acknowledged.") % {"level": data.get("level", "")}
    if kind == EventKind.APPOINTMENT:
        return _("Appointment with %(person)s at %(when)s.") % {
            "person": name(data.get("staff")),
            "when": _at(data.get("starts_at")),
        }
    if kind == EventKind.APPOINTMENT_KEPT:
        return _("Appointment kept.")
    if kind == EventKind.APPOINTMENT_MISSED:
        return _("Appointment missed; the customer was offered %(when)s.") % {
            "when": _at(data.get("proposed_at"))
        }
    if kind == EventKind.PROMISE:
        return _("Promised the customer: %(text)s (by %(when)s).") % {
            "text": data.get("text", ""),
            "when": _at(data.get("due_at")),
        }
    if data.get("late"):
        return _("Promise kept, late.")
    return _("Promise kept.")


def describe_routing(data: dict[str, Any]) -> str:
    values = {"team": data.get("team", ""), "words": ", ".join(data.get("words") or []) or "—"}
    if data.get("source") != "model" and data.get("confidence") is None:
        return _("Given to %(team)s, the team of the address it was sent to.") % values
    if data.get("not_ours"):
        return (
            _(
                "The router thinks no team owns this request; it waits with %(team)s for a person "
                "to decide."
            )
            % values
        )
    if data.get("unsure"):
        return (
            _("The router was unsure; the request waits with %(team)s for a person to decide.")
            % values
        )
    return _("Routed to %(team)s by the router (words that weighed most: %(words)s).") % values


def _timeline(case: Case) -> list[dict[str, Any]]:
    events = list(queries.timeline_of(case))
    # Events name people by username; show their names, fetched in one query.
    person_keys: dict[str, tuple[str, ...]] = {
        EventKind.OPENED: ("owner",),
        EventKind.ASSIGNED: ("from", "to"),
        EventKind.HANDOFF_REQUESTED: ("to_user",),
        EventKind.ANGER: ("lead_notified",),
        EventKind.ESCALATED: ("to", "instead_of"),
        EventKind.APPOINTMENT: ("staff",),
    }
    usernames: set[str] = set()
    for event in events:
        data = event.data if isinstance(event.data, dict) else {}
        for key in person_keys.get(event.kind, ()):
            if isinstance(data.get(key), str):
                usernames.add(data[key])
    names = (
        {user.username: user.display_name for user in User.objects.filter(username__in=usernames)}
        if usernames
        else {}
    )
    return [
        {
            "event": event,
            "text": describe_event(event, names),
            "actor": event.actor.display_name if event.actor else _("the desk"),
        }
        for event in events
    ]


def _clocks_of(case: Case, actor: User) -> list[dict[str, Any]]:
    """The case's running and missed deadlines, soonest first, with the escalation the viewer
    may acknowledge (R4)."""
    from pomogu.clocks.models import Deadline, DeadlineState, EscalationState

    now = clock.now()
    rows = []
    deadlines = (
        Deadline.objects.filter(case=case)
        .filter(
            Q(state__in=[DeadlineState.PENDING, DeadlineState.PAUSED])
            | Q(state=DeadlineState.BREACHED, met_at__isnull=True)
        )
        .select_related("responsible")
        .prefetch_related("escalations__recipient")
        .order_by("due_at", "id")
    )
    for deadline in deadlines:
        open_escalations = [
            e for e in deadline.escalations.all() if e.state == EscalationState.OPEN
        ]
        rows.append(
            {
                "deadline": deadline,
                "overdue": deadline.state == DeadlineState.BREACHED
                or (deadline.due_at is not None and deadline.due_at <= now),
                "escalation": open_escalations[-1] if open_escalations else None,
                "may_acknowledge": any(
                    e.recipient_id == actor.pk or actor.sees_all_teams for e in open_escalations
                ),
            }
        )
    return rows


@require_POST
@login_required
def acknowledge_escalation(request: HttpRequest, escalation_id: int) -> HttpResponse:
    """The recipient has the missed deadline in hand: the escalation stops moving up."""
    from pomogu.clocks import services as clocks
    from pomogu.clocks.models import Escalation

    actor = _actor(request)
    escalation = Escalation.objects.filter(pk=escalation_id).select_related("case").first()
    if (
        escalation is None
        or not queries.visible_cases(actor).filter(pk=escalation.case_id).exists()
    ):
        raise Http404
    try:
        clocks.acknowledge(escalation_id, actor=actor)
        messages.success(request, _("Acknowledged: it will not go further up."))
    except DomainError as error:
        messages.error(request, error.detail)
    return redirect("desk:case", number=escalation.case.number)


def _case_context(
    request: HttpRequest,
    case: Case,
    bound: dict[str, forms.Form] | None = None,
    failed_task: tuple[int, forms.Form] | None = None,
    open_form: str | None = None,
) -> dict[str, Any]:
    actor = _actor(request)
    bound = bound or {}
    handoff = queries.pending_handoff(case)
    is_lead = actor.sees_all_teams or people.is_team_lead(actor, case.team)
    may_manage = is_lead or actor.pk == case.owner_id
    tasks = []
    for task in queries.contractor_tasks_of(case):
        form: forms.Form | None = None
        if task.state == ContractorTaskState.OPEN:
            if failed_task and failed_task[0] == task.pk:
                form = failed_task[1]
            else:
                form = FinishTaskForm(auto_id=f"id_task{task.pk}_%s")
        tasks.append({"task": task, "form": form})
    defaults: dict[str, Callable[[], forms.Form]] = {
        "reply_form": ReplyForm,
        "note_form": NoteForm,
        "handoff_form": lambda: HandoffForm(auto_id="id_handoff_%s"),
        "decline_form": lambda: DeclineForm(auto_id="id_decline_%s"),
        "task_form": lambda: ContractorTaskForm(auto_id="id_task_%s"),
        "promise_form": lambda: PromiseForm(auto_id="id_promise_%s"),
        "appointment_form": lambda: AppointmentForm(auto_id="id_appointment_%s"),
        "resolve_form": ResolveForm,
        "reopen_form": lambda: ReopenForm(auto_id="id_reopen_%s"),
    }
    routing = RoutingDecision.objects.filter(case=case).select_related("team").first()
    context: dict[str, Any] = {
        "case": case,
        "clocks": _clocks_of(case, actor),
        "promises": list(
            Promise.objects.filter(case=case).select_related("made_by").order_by("due_at")
        ),
        "appointments": list(
            Appointment.objects.filter(case=case).select_related("staff").order_by("starts_at")
        ),
        "routing": routing,
        "routing_form": bound.get("routing_form") or RoutingForm(),
        "thread": list(queries.thread_of(case)),
        "timeline": _timeline(case),
        "handoff": handoff,
        "tasks": tasks,
        "may_manage": may_manage,
        "may_answer": handoff is not None and services.can_answer_handoff(actor, handoff),
        "may_cancel": handoff is not None
        and (actor.pk in (handoff.from_user_id, case.owner_id) or is_lead),
        "is_active": case.is_active,
        "live_url": reverse("desk:case_changes", kwargs={"number": case.number})
        + "?seen="
        + case_stamp(case),
    }
    for key, make in defaults.items():
        lazy = key in LAZY_FORMS.values() and LAZY_FORMS.get(open_form or "") != key
        if key in bound:
            context[key] = bound[key]
        elif not lazy:
            context[key] = make()
    context["open_form"] = open_form
    return context


# The forms of the case page that are seldom opened are fetched when their panel opens (htmx),
# or, without JavaScript, by a link that shows the page with that form open. Rendering them
# for every view of a case cost a third of its time.
LAZY_FORMS = {
    "handoff": "handoff_form",
    "task": "task_form",
    "promise": "promise_form",
    "appointment": "appointment_form",
}


@require_GET
@login_required
def case_form(request: HttpRequest, number: int, name: str) -> HttpResponse:
    if name not in LAZY_FORMS:
        raise Http404("No such form.")
    case = _visible_case(_actor(request), number)
    context = _case_context(request, case, open_form=name)
    if _is_htmx(request):
        return render(request, f"desk/partials/forms/{name}.html", context)
    return _page(request, "desk/case.html", context)


@require_GET
@login_required
def case_detail(request: HttpRequest, number: int) -> HttpResponse:
    case = _visible_case(_actor(request), number)
    return _page(request, "desk/case.html", _case_context(request, case))


def _after_success(request: HttpRequest, number: int, region: str, notice: str) -> HttpResponse:
    """Show the case again after an action, or go home if the user can no longer see it (for
    example after declining a handoff that was their only way in)."""
    try:
        case = queries.get_visible_case_by_number(_actor(request), number)
    except NotFound:
        messages.success(request, notice)
        home_url = reverse("desk:home")
        if _is_htmx(request):
            response = HttpResponse(status=204)
            response["HX-Redirect"] = home_url
            return response
        return HttpResponseRedirect(home_url)
    if _is_htmx(request):
        context = _case_context(request, case)
        context.update(region=region, notice=notice, oob=True)
        return render(request, "desk/partials/case_regions.html", context)
    messages.success(request, notice)
    return HttpResponseRedirect(f"{case_url(case)}#{region}")


def _after_failure(
    request: HttpRequest,
    case: Case,
    region: str,
    bound: dict[str, forms.Form],
    failed_task: tuple[int, forms.Form] | None = None,
) -> HttpResponse:
    context = _case_context(request, case, bound, failed_task)
    if _is_htmx(request):
        context.update(region=region, only_region=True)
        return render(request, "desk/partials/case_regions.html", context, status=422)
    return _page(request, "desk/case.html", context, status=422)


def _run(
    request: HttpRequest,
    case: Case,
    *,
    form: forms.Form,
    form_name: str,
    region: str,
    action: Callable[[dict[str, Any]], str],
    task_id: int | None = None,
    back_home: bool = False,
) -> HttpResponse:
    """Validate the form, call the service through ``action`` (which returns the notice to
    show) and answer; a DomainError becomes an error on the form."""
    if form.is_valid():
        try:
            notice = action(form.cleaned_data)
        except NotFound:
            raise Http404("Not found.") from None
        except DomainError as error:
            form.add_error(None, error.detail)
        else:
            if back_home and not _is_htmx(request):
                messages.success(request, notice)
                return redirect("desk:home")
            assert case.number is not None
            return _after_success(request, case.number, region, notice)
    if task_id is not None:
        return _after_failure(request, case, region, {}, (task_id, form))
    return _after_failure(request, case, region, {form_name: form})


@require_POST
@login_required
def notification_seen(request: HttpRequest, notification_id: int) -> HttpResponse:
    """The recipient has dealt with a notification: it leaves their "for your attention" list
    (it stays on record, with the time it was seen)."""
    actor = _actor(request)
    updated = Notification.objects.filter(
        pk=notification_id, recipient=actor, read_at__isnull=True
    ).update(read_at=clock.now())
    if (
        not updated
        and not Notification.objects.filter(pk=notification_id, recipient=actor).exists()
    ):
        raise Http404
    if request.headers.get("HX-Request"):
        return HttpResponse("")
    return redirect("desk:home")


@require_POST
@login_required
def settle_routing(request: HttpRequest, number: int) -> HttpResponse:
    """A person decides where a request the router was unsure about belongs (R1)."""
    actor = _actor(request)
    case = _visible_case(actor, number)

    def act(data: dict[str, Any]) -> str:
        if data["choice"] == RoutingForm.NOT_OURS:
            triage.settle(case.pk, actor=actor, not_ours=True)
            return _("Noted: no team owns this request. Please answer the customer yourself.")
        team = data["team"]
        triage.settle(case.pk, actor=actor, team=team)
        return _("Noted: the request belongs to %(team)s.") % {"team": team.name}

    return _run(
        request,
        case,
        form=RoutingForm(request.POST),
        form_name="routing_form",
        region=ACTIONS,
        action=act,
    )


@require_POST
@login_required
def reply(request: HttpRequest, number: int) -> HttpResponse:
    actor = _actor(request)
    case = _visible_case(actor, number)

    def act(data: dict[str, Any]) -> str:
        services.add_message(
            case.pk,
            actor=actor,
            body=data["body"],
            kind=MessageKind.REPLY,
            wait_for_customer=data["wait_for_customer"],
            override_reason=data["override_reason"],
        )
        return _("Reply sent.")

    return _run(
        request,
        case,
        form=ReplyForm(request.POST),
        form_name="reply_form",
        region=ACTIVITY,
        action=act,
    )


GUARD_CATEGORIES = {
    "not_my_job": _lazy("says it is not our job"),
    "go_elsewhere": _lazy("sends the customer elsewhere"),
    "call_later": _lazy("asks the customer to call or write again later"),
    "absent_person": _lazy("waits for someone who is away"),
    "blame_third_party": _lazy("blames a contractor or partner"),
    "blame_customer": _lazy("blames the customer"),
    "refusal": _lazy("refuses without a way forward"),
    "red_tape": _lazy("hides behind procedure"),
    "custom": _lazy("a phrase this desk has banned"),
}


@require_POST
@login_required
def check_reply(request: HttpRequest, number: int) -> HttpResponse:
    """The reply guard's verdict while the agent types (R7): what it would stop and a better
    wording, before anything is sent. Changes nothing; sending checks again."""
    from pomogu.contact.services import review_reply

    case = _visible_case(_actor(request), number)
    body = (request.POST.get("body") or "")[:20_000]
    result = review_reply(body) if body.strip() else None
    findings = []
    if result is not None:
        for finding in result.findings:
            label = GUARD_CATEGORIES.get(finding.category, finding.category)
            findings.append({"text": finding.text, "why": label})
    context = {"case": case, "result": result, "findings": findings}
    return render(request, "desk/partials/guard_feedback.html", context)


@require_POST
@login_required
def note(request: HttpRequest, number: int) -> HttpResponse:
    actor = _actor(request)
    case = _visible_case(actor, number)

    def act(data: dict[str, Any]) -> str:
        services.add_message(case.pk, actor=actor, body=data["body"], kind=MessageKind.NOTE)
        return _("Note added.")

    return _run(
        request,
        case,
        form=NoteForm(request.POST),
        form_name="note_form",
        region=ACTIVITY,
        action=act,
    )


@require_POST
@login_required
def request_handoff(request: HttpRequest, number: int) -> HttpResponse:
    actor = _actor(request)
    case = _visible_case(actor, number)

    def act(data: dict[str, Any]) -> str:
        handoff = services.request_handoff(
            case.pk,
            actor=actor,
            to_team=data["to_team"],
            to_user=data["to_user"],
            reason=data["reason"],
        )
        return _("Handoff to %(team)s requested; you own the case until it is accepted.") % {
            "team": handoff.to_team.name
        }

    form = HandoffForm(request.POST, auto_id="id_handoff_%s")
    return _run(request, case, form=form, form_name="handoff_form", region=ACTIONS, action=act)


def _case_handoff(user: User, number: int, handoff_id: int) -> tuple[Case, Handoff]:
    case = _visible_case(user, number)
    try:
        handoff = queries.get_visible_handoff(user, handoff_id)
    except NotFound:
        raise Http404("No such handoff.") from None
    if handoff.case_id != case.pk:
        raise Http404("No such handoff.")
    return case, handoff


class _NoFields(forms.Form):
    pass


@require_POST
@login_required
def accept_handoff(request: HttpRequest, number: int, handoff_id: int) -> HttpResponse:
    actor = _actor(request)
    case, handoff = _case_handoff(actor, number, handoff_id)

    def act(data: dict[str, Any]) -> str:
        services.accept_handoff(handoff.pk, actor=actor)
        return _("You accepted the handoff of case #%(number)s.") % {"number": case.number}

    return _run(
        request,
        case,
        form=_NoFields(request.POST),
        form_name="accept",
        region=ACTIONS,
        action=act,
    )


@require_POST
@login_required
def decline_handoff(request: HttpRequest, number: int, handoff_id: int) -> HttpResponse:
    actor = _actor(request)
    case, handoff = _case_handoff(actor, number, handoff_id)

    def act(data: dict[str, Any]) -> str:
        services.decline_handoff(handoff.pk, actor=actor, reason=data["reason"])
        return _("You declined the handoff of case #%(number)s.") % {"number": case.number}

    form = DeclineForm(request.POST, auto_id="id_decline_%s")
    return _run(
        request,
        case,
        form=form,
        form_name="decline_form",
        region=ACTIONS,
        action=act,
        back_home=request.POST.get("back") == "home",
    )


@require_POST
@login_required
def cancel_handoff(request: HttpRequest, number: int, handoff_id: int) -> HttpResponse:
    actor = _actor(request)
    case, handoff = _case_handoff(actor, number, handoff_id)

    def act(data: dict[str, Any]) -> str:
        services.cancel_handoff(handoff.pk, actor=actor)
        return _("Handoff withdrawn.")

    return _run(
        request,
        case,
        form=_NoFields(request.POST),
        form_name="cancel",
        region=ACTIONS,
        action=act,
    )


@require_POST
@login_required
def add_task(request: HttpRequest, number: int) -> HttpResponse:
    actor = _actor(request)
    case = _visible_case(actor, number)

    def act(data: dict[str, Any]) -> str:
        services.add_contractor_task(
            case.pk,
            actor=actor,
            contractor=data["contractor"],
            contact=data["contact"],
            description=data["description"],
            due_at=data["due_at"],
            wait=data["wait"],
        )
        return _("Contractor task added.")

    form = ContractorTaskForm(request.POST, auto_id="id_task_%s")
    return _run(request, case, form=form, form_name="task_form", region=ACTIONS, action=act)


@require_POST
@login_required
def add_promise(request: HttpRequest, number: int) -> HttpResponse:
    """Record what was promised to the customer, by when: a deadline like any other (R4)."""
    from pomogu.clocks import services as clocks

    actor = _actor(request)
    case = _visible_case(actor, number)

    def act(data: dict[str, Any]) -> str:
        clocks.make_promise(case.pk, actor=actor, text=data["text"], due_at=data["due_at"])
        return _("Promise recorded; it is watched like any deadline.")

    form = PromiseForm(request.POST, auto_id="id_promise_%s")
    return _run(request, case, form=form, form_name="promise_form", region=ACTIONS, action=act)


@require_POST
@login_required
def keep_promise(request: HttpRequest, number: int, promise_id: int) -> HttpResponse:
    from pomogu.clocks import services as clocks

    actor = _actor(request)
    case = _visible_case(actor, number)
    if not Promise.objects.filter(case=case, pk=promise_id).exists():
        raise Http404("No such promise.")
    try:
        clocks.keep_promise(promise_id, actor=actor)
        messages.success(request, _("Promise kept."))
    except DomainError as error:
        messages.error(request, error.detail)
    return HttpResponseRedirect(f"{case_url(case)}#{ACTIONS}")


@require_POST
@login_required
def add_appointment(request: HttpRequest, number: int) -> HttpResponse:
    """Book a visit or call with the customer, with the one booking it."""
    import datetime as dt

    from pomogu.clocks import services as clocks

    actor = _actor(request)
    case = _visible_case(actor, number)

    def act(data: dict[str, Any]) -> str:
        clocks.schedule_appointment(
            case.pk,
            actor=actor,
            staff=actor,
            starts_at=data["starts_at"],
            ends_at=data["starts_at"] + dt.timedelta(minutes=data["minutes"]),
            kind=data["kind"],
            place=data["place"],
        )
        return _("Appointment booked.")

    form = AppointmentForm(request.POST, auto_id="id_appointment_%s")
    return _run(request, case, form=form, form_name="appointment_form", region=ACTIONS, action=act)


@require_POST
@login_required
def report_appointment(request: HttpRequest, number: int, appointment_id: int) -> HttpResponse:
    """Kept or missed: a missed one is registered, escalated, and a new time is proposed."""
    from pomogu.clocks import services as clocks

    actor = _actor(request)
    case = _visible_case(actor, number)
    if not Appointment.objects.filter(case=case, pk=appointment_id).exists():
        raise Http404("No such appointment.")
    kept = request.POST.get("kept") == "1"
    try:
        clocks.report_appointment(appointment_id, actor=actor, kept=kept)
        if kept:
            messages.success(request, _("Appointment kept."))
        else:
            messages.success(request, _("Recorded as missed; the customer was offered a new time."))
    except DomainError as error:
        messages.error(request, error.detail)
    return HttpResponseRedirect(f"{case_url(case)}#{ACTIONS}")


@require_POST
@login_required
def finish_task(request: HttpRequest, number: int, task_id: int) -> HttpResponse:
    actor = _actor(request)
    case = _visible_case(actor, number)
    if not case.contractor_tasks.filter(pk=task_id).exists():
        raise Http404("No such task.")

    def act(data: dict[str, Any]) -> str:
        services.finish_contractor_task(
            task_id, actor=actor, outcome=data["outcome"], cancelled=data["cancelled"]
        )
        return _("Contractor task finished.")

    form = FinishTaskForm(request.POST, auto_id=f"id_task{task_id}_%s")
    return _run(
        request, case, form=form, form_name="finish", region=ACTIONS, action=act, task_id=task_id
    )


@require_POST
@login_required
def resolve(request: HttpRequest, number: int) -> HttpResponse:
    actor = _actor(request)
    case = _visible_case(actor, number)

    def act(data: dict[str, Any]) -> str:
        services.resolve(
            case.pk,
            actor=actor,
            resolution=Resolution(data["resolution"]),
            summary=data["summary"],
        )
        return _("Case resolved.")

    return _run(
        request,
        case,
        form=ResolveForm(request.POST),
        form_name="resolve_form",
        region=ACTIONS,
        action=act,
    )


@require_POST
@login_required
def reopen(request: HttpRequest, number: int) -> HttpResponse:
    actor = _actor(request)
    case = _visible_case(actor, number)

    def act(data: dict[str, Any]) -> str:
        services.reopen(case.pk, actor=actor, reason=data["reason"])
        return _("Case reopened.")

    form = ReopenForm(request.POST, auto_id="id_reopen_%s")
    return _run(request, case, form=form, form_name="reopen_form", region=ACTIONS, action=act)


@require_POST
@login_required
def recurrence(request: HttpRequest, number: int) -> HttpResponse:
    """An agent decides whether a case is an earlier problem come back (R5)."""
    from pomogu.cases import recurrence as recurrences

    actor = _actor(request)
    case = _visible_case(actor, number)
    same = request.POST.get("same") == "yes"
    try:
        kept = recurrences.settle(case.pk, actor=actor, same=same)
    except NotFound:
        raise Http404("Not found.") from None
    except DomainError as error:
        messages.error(request, error.detail)
        return redirect("desk:case", number=number)
    if same:
        messages.success(
            request,
            _("Merged into case #%(number)s, which is open again.") % {"number": kept.number},
        )
    else:
        messages.success(request, _("Noted: a new problem."))
    return redirect("desk:case", number=kept.number)


# --- logging a request for a customer -------------------------------------------------------


@require_http_methods(["GET", "POST"])
@login_required
def new_case(request: HttpRequest) -> HttpResponse:
    """Any staff member may open a case on a customer's behalf, e.g. after a call (R2)."""
    actor = _actor(request)
    if request.method == "POST":
        form = NewCaseForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                with transaction.atomic():
                    customer = people.find_or_create_customer(
                        email=data["email"].strip(),
                        name=data["name"].strip(),
                        phone=data["phone"].strip(),
                    )
                    case = services.open_case(
                        customer=customer,
                        subject=data["subject"],
                        body=data["body"],
                        channel=Channel(data["channel"]),
                        team=data["team"],
                        actor=actor,
                    )
            except DomainError as error:
                form.add_error(None, error.detail)
            else:
                return _after_opening(request, case)
        return _page(request, "desk/new_case.html", {"form": form}, status=422)
    initial: dict[str, Any] = {"channel": Channel.PHONE.value}
    with contextlib.suppress(DomainError):
        initial["team"] = people.default_team()
    return _page(request, "desk/new_case.html", {"form": NewCaseForm(initial=initial)})


def _after_opening(request: HttpRequest, case: Case) -> HttpResponse:
    if queries.visible_cases(_actor(request)).filter(pk=case.pk).exists():
        messages.success(request, _("Case #%(number)s opened.") % {"number": case.number})
        return redirect(case_url(case))
    messages.success(
        request,
        _("Case #%(number)s opened: team %(team)s has it, and %(owner)s owns it.")
        % {"number": case.number, "team": case.team.name, "owner": case.owner.display_name},
    )
    return redirect("desk:home")


# --- attachments and the original HTML of a message (SEC-2, SEC-5, IN-6, IN-7, AZ-13) -------

# Images that may be shown inside the frame of a message's original HTML (never SVG).
INLINE_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif"})
# A mail's HTML: shown only inside the case page's own frame (frame-ancestors), runs nothing.
MAIL_HTML_CSP = (
    "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox; "
    "frame-ancestors 'self'"
)
_DATA_CID_RE = re.compile(r' data-cid="([^"]{0,500})"')
_MAIL_DOCUMENT = (
    '<!doctype html><html><head><meta charset="utf-8"><base target="_blank">'
    '<meta name="referrer" content="no-referrer">'
    "<style>body{{margin:0.5rem;font:14px/1.45 system-ui,sans-serif;color:#111;"
    "background:#fff;overflow-wrap:anywhere}}img{{max-width:100%;height:auto}}</style>"
    "</head><body>{}</body></html>"
)


def _visible_attachment(user: User, number: int, attachment_id: int) -> tuple[Case, Attachment]:
    """The attachment, if it belongs to a message of a case the user may see now (AZ-13)."""
    case = _visible_case(user, number)
    try:
        return case, Attachment.objects.get(pk=attachment_id, message__case=case)
    except Attachment.DoesNotExist:
        raise Http404("No such attachment.") from None


@require_GET
@login_required
def attachment(request: HttpRequest, number: int, attachment_id: int) -> HttpResponseBase:
    """An attachment, always as a download, under a type that cannot run (SEC-2, IN-7)."""
    case, item = _visible_attachment(_actor(request), number, attachment_id)
    return attachment_download(item, where=f"case #{case.number}")


# The sandboxed frame has an opaque origin, so its image requests carry no session cookie:
# images that are part of the message are embedded as data: URLs (the frame's CSP allows them),
# up to this size each; a bigger one is left without a source.
INLINE_IMAGE_MAX_BYTES = 2 * 1024 * 1024


def _inline_images(case: Case, message: Message) -> dict[str, str]:
    """Content-ID -> data: URL for the message's inline images (PNG, JPEG, GIF; never SVG).

    Attachments do not keep their Content-ID, so the message as received is parsed again and
    its parts are matched to the stored attachments by SHA-256. Only done when the HTML refers
    to a part at all; if anything does not match, the image is simply left without a source."""
    if "data-cid=" not in message.body_html:
        return {}
    inbound = InboundMessage.objects.filter(message=message).only("raw").first()
    if inbound is None:
        return {}
    try:
        parsed = parse(bytes(inbound.raw), intake_limits())
    except ParseError:
        logger.warning("message %s of case #%s no longer parses", message.pk, case.number)
        return {}
    images = {
        item.sha256: served_type(item.content_type)
        for item in message.attachments.all()
        if served_type(item.content_type) in INLINE_IMAGE_TYPES
    }
    found: dict[str, str] = {}
    for part in parsed.attachments:
        if not part.content_id or len(part.content) > INLINE_IMAGE_MAX_BYTES:
            continue
        media_type = images.get(hashlib.sha256(part.content).hexdigest())
        if media_type is not None:
            encoded = base64.b64encode(part.content).decode("ascii")
            found[part.content_id] = f"data:{media_type};base64,{encoded}"
    return found


def _point_images_at_attachments(case: Case, message: Message) -> str:
    images = _inline_images(case, message)

    def rewrite(match: re.Match[str]) -> str:
        content_id = html.unescape(match.group(1))
        url = images.get(content_id) or images.get(unquote(content_id))
        if url is None:
            return ""  # an image we cannot find stays without a source
        return f' src="{url}"'

    return _DATA_CID_RE.sub(rewrite, message.body_html)


@xframe_options_sameorigin
@require_GET
@login_required
def message_html(request: HttpRequest, number: int, message_id: int) -> HttpResponse:
    """A message's original HTML as its own small document, only ever shown in an
    ``<iframe sandbox="">`` on the case page (SEC-2, IN-6). X-Frame-Options is SAMEORIGIN
    here alone, so that only our own pages can frame it."""
    case = _visible_case(_actor(request), number)
    try:
        message = case.messages.get(pk=message_id)
    except Message.DoesNotExist:
        raise Http404("No such message.") from None
    if not message.body_html:
        raise Http404("This message has no HTML.")
    # Safe to mark safe here, and only here: body_html was sanitised by nh3 with an allowlist at
    # intake (pomogu.intake.parsing.sanitize_html: no scripts, handlers, frames, forms, remote
    # URLs), it is shown only in a frame sandboxed without scripts or same-origin, and this
    # response's CSP allows no script, no connection and images from our origin only.
    body = mark_safe(_point_images_at_attachments(case, message))  # noqa: S308
    response = HttpResponse(format_html(_MAIL_DOCUMENT, body), content_type="text/html")
    private_file_headers(response, MAIL_HTML_CSP)
    return response
