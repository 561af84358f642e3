"""The customer portal at /my/: sign in by a one-time link, see one's cases, follow and answer
the conversation, rate a solved case.

Who is signed in is the address under ``portal_email`` in the session, put there only by
spending a sign-in link; the staff login (``django.contrib.auth``) is a different thing and
opens nothing here. Every case, message and attachment is loaded through ``portal.queries``
scoped to that address: anything else is a 404, never a 403 (AZ-1). Pages are plain forms
(POST, then a redirect): no script is needed, and none runs inline (CSP).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
)
from django.http.response import HttpResponseBase
from django.middleware.csrf import rotate_token
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from pomogu.cases.choices import CaseState, MessageKind
from pomogu.cases.models import Case, Message
from pomogu.clocks.services import expected_answer_by
from pomogu.contact import surveys
from pomogu.contact.governor import customer_zone
from pomogu.contact.models import Survey, SurveyState
from pomogu.core import clock, throttle
from pomogu.core.clients import client_digest
from pomogu.core.errors import DomainError, NotFound
from pomogu.intake.downloads import attachment_download
from pomogu.intake.services import limits
from pomogu.people.models import Customer
from pomogu.portal import queries, services
from pomogu.portal.forms import EmailForm, RatingForm, ReplyForm

logger = logging.getLogger(__name__)

SESSION_EMAIL = "portal_email"
SESSION_SINCE = "portal_since"

# The case's state in the customer's words.
STATE_WORDS = {
    CaseState.NEW: _lazy("We have your request"),
    CaseState.OPEN: _lazy("We're working on it"),
    CaseState.WAITING_CUSTOMER: _lazy("Waiting for your answer"),
    CaseState.WAITING_CONTRACTOR: _lazy("We're working on it with a partner"),
    CaseState.RESOLVED: _lazy("Solved"),
    CaseState.CLOSED: _lazy("Solved and closed"),
}


@dataclass(frozen=True)
class Visitor:
    """The signed-in customer: an address and the customers that have it."""

    email: str
    customers: list[Customer]

    @property
    def name(self) -> str:
        return next((c.name for c in self.customers if c.name), "") or self.email

    @property
    def language(self) -> str:
        return next((c.language for c in self.customers if c.language), "")

    @property
    def zone(self) -> ZoneInfo:
        if self.customers:
            return customer_zone(self.customers[0])
        return ZoneInfo(settings.TIME_ZONE)


# --- the portal session -----------------------------------------------------------------------


def signed_in_email(request: HttpRequest) -> str:
    """The address this browser signed in with, or "" (never signed in, signed out, or
    longer ago than ``POMOGU_PORTAL_SESSION_DAYS``)."""
    email = request.session.get(SESSION_EMAIL)
    since = request.session.get(SESSION_SINCE)
    if not isinstance(email, str) or not email or not isinstance(since, str):
        return ""
    try:
        started = dt.datetime.fromisoformat(since)
    except ValueError:
        started = None
    days = services.setting("POMOGU_PORTAL_SESSION_DAYS")
    if started is None or clock.now() - started > dt.timedelta(days=days):
        _forget(request)
        return ""
    return email


def _forget(request: HttpRequest) -> None:
    request.session.pop(SESSION_EMAIL, None)
    request.session.pop(SESSION_SINCE, None)


def _language(code: str) -> str:
    """A language the portal speaks for the customer's ``language``, or "" (then the browser's,
    as LocaleMiddleware chose it)."""
    if not code:
        return ""
    try:
        return translation.get_supported_language_variant(code)
    except LookupError:
        return ""


def _in_customer_terms(
    request: HttpRequest, visitor: Visitor | None, view: Callable[[], HttpResponseBase]
) -> HttpResponseBase:
    """Run ``view`` in the customer's language (else the browser's) and time zone."""
    language = _language(visitor.language) if visitor else ""
    zone = visitor.zone if visitor else ZoneInfo(settings.TIME_ZONE)
    with timezone.override(zone), translation.override(language or translation.get_language()):
        response = view()
        if language:
            request.LANGUAGE_CODE = language
            response["Content-Language"] = language
    return response


def customer_page(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """For pages of a signed-in customer: anyone else goes to the sign-in page (whatever the
    case number, so the redirect says nothing about it). The view gets the ``Visitor``."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        email = signed_in_email(request)
        if not email:
            return redirect("portal:home")
        visitor = Visitor(email, queries.customers_with(email))
        return _in_customer_terms(request, visitor, lambda: view(request, visitor, *args, **kwargs))

    return wrapper


def _unlogged(response: HttpResponseBase) -> HttpResponseBase:
    """Django logs every answer of 400 and more with its path; a sign-in link's path holds its
    token, which must never reach a log (a dead token is no key, but still no log's business).
    ``_has_been_logged`` is how Django marks a response as logged (django.utils.log)."""
    response._has_been_logged = True  # type: ignore[attr-defined]
    # Requests from this page (its stylesheet, its form) name our origin, never the path with
    # the token. Not "no-referrer": a form posted under it has "Origin: null", which CSRF
    # protection rightly refuses.
    response["Referrer-Policy"] = "origin"
    return response


# --- signing in and out -----------------------------------------------------------------------


@require_GET
def home(request: HttpRequest) -> HttpResponseBase:
    """Signed in: the customer's cases. Signed out: the form that asks for a sign-in link."""
    email = signed_in_email(request)
    if not email:
        return render(request, "portal/sign_in.html", {"form": EmailForm()})
    visitor = Visitor(email, queries.customers_with(email))
    return _in_customer_terms(request, visitor, lambda: _case_list(request, visitor))


@require_http_methods(["GET", "POST"])
def request_link(request: HttpRequest) -> HttpResponseBase:
    """Mail a sign-in link. The answer is the same for a known and an unknown address, and
    past the throttle: nobody learns from it who is a customer (SEC-6)."""
    if request.method == "GET":
        return redirect("portal:home")
    form = EmailForm(request.POST)
    if not form.is_valid():
        return render(request, "portal/sign_in.html", {"form": form}, status=422)
    services.request_link(form.cleaned_data["email"], client=client_digest(request, "portal"))
    return redirect("portal:link_sent")


@require_GET
def link_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/link_sent.html")


def link(request: HttpRequest, token: str) -> HttpResponseBase:
    """The page a sign-in link opens: a button, and nothing else happens (mail scanners open
    links, some with HEAD). The button posts the token in the form, not in the address, so
    that no log line of the POST (a CSRF refusal, say) can hold it. Other methods are refused
    here without the log line ``require_GET`` would write."""
    if request.method not in ("GET", "HEAD"):
        return _unlogged(HttpResponseNotAllowed(["GET", "HEAD"]))
    if throttle.tokens_blocked(request):
        return _unlogged(throttle.too_many_tokens(request, "portal/base.html"))
    found = services.usable_link(token)
    if found is None:
        throttle.token_failed(request)
        return _unlogged(render(request, "portal/link_invalid.html", status=410))
    visitor = Visitor(found.email, queries.customers_with(found.email))
    return _unlogged(
        _in_customer_terms(
            request, visitor, lambda: render(request, "portal/link.html", {"token": token})
        )
    )


@require_POST
def use_link(request: HttpRequest) -> HttpResponseBase:
    """Spend the link once and sign this browser in, under a new session key."""
    if throttle.tokens_blocked(request):
        return throttle.too_many_tokens(request, "portal/base.html")
    email = services.use_link(str(request.POST.get("token", ""))[:200])
    if email is None:
        throttle.token_failed(request)
        return render(request, "portal/link_invalid.html", status=410)
    # A new session key (no fixation) and a new CSRF token, as django.contrib.auth.login does;
    # a staff login in the same browser stays as it was.
    request.session.cycle_key()
    rotate_token(request)
    request.session[SESSION_EMAIL] = email
    request.session[SESSION_SINCE] = clock.now().isoformat()
    return redirect("portal:home")


@require_POST
def sign_out(request: HttpRequest) -> HttpResponseBase:
    """Forget the portal sign-in (and change the session key); a staff login is untouched."""
    _forget(request)
    request.session.cycle_key()
    return redirect("portal:home")


# --- cases ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseFacts:
    """What the customer is told about where their case stands."""

    case: Case
    state_words: str
    owner_name: str
    answer_due: dt.datetime | None
    overdue: bool
    queue_position: int | None
    last_activity: dt.datetime
    # Who opened the case, when it is a colleague's seen through a shared organisation.
    opened_by: str = ""


def _facts(
    case: Case, answer_due: dt.datetime | None, now: dt.datetime, visitor: Visitor
) -> CaseFacts:
    active = case.state not in (CaseState.RESOLVED, CaseState.CLOSED)
    due = answer_due if active else None
    owner = case.owner
    return CaseFacts(
        case=case,
        state_words=str(STATE_WORDS.get(CaseState(case.state), case.get_state_display())),
        owner_name=owner.display_name if owner is not None else "",
        answer_due=due,
        overdue=due is not None and due < now,
        queue_position=getattr(case, "queue_position", None),
        last_activity=getattr(case, "last_activity", None) or case.created_at,
        opened_by=""
        if queries.is_theirs(visitor.customers, case)
        else (case.customer.name or _("a colleague")),
    )


def _case_list(request: HttpRequest, visitor: Visitor) -> HttpResponse:
    now = clock.now()
    rows = [
        _facts(case, getattr(case, "answer_due", None), now, visitor)
        for case in queries.cases_of(visitor.customers)
    ]
    return render(request, "portal/cases.html", {"visitor": visitor, "rows": rows})


def _case_or_404(visitor: Visitor, number: int) -> Case:
    try:
        return queries.case_of(visitor.customers, number)
    except NotFound:
        raise Http404("No such case.") from None


def _own_case(visitor: Visitor, number: int) -> Case:
    """A case the visitor opened: a colleague's, readable through a shared organisation, is
    refused (403: they can see it exists); anyone else's is a 404."""
    case = _case_or_404(visitor, number)
    if not queries.is_theirs(visitor.customers, case):
        raise PermissionDenied(_("Only the person who opened this request can answer or rate it."))
    return case


def _render_case(
    request: HttpRequest,
    visitor: Visitor,
    case: Case,
    *,
    reply_form: ReplyForm | None = None,
    rating_form: RatingForm | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    survey = Survey.objects.filter(case=case).only("state", "rating", "comment").first()
    rated = survey if survey is not None and survey.state == SurveyState.ANSWERED else None
    solved = case.state in (CaseState.RESOLVED, CaseState.CLOSED)
    theirs = queries.is_theirs(visitor.customers, case)
    if reply_form is None:
        reply_form = ReplyForm(initial={"nonce": services.new_nonce(case)})
    if rating_form is None and solved and rated is None:
        rating_form = RatingForm()
    context = {
        "visitor": visitor,
        "case": case,
        "facts": _facts(case, expected_answer_by(case), clock.now(), visitor),
        "thread": [_entry(message, visitor) for message in queries.thread_of(case)],
        "reply_form": reply_form if case.merged_into_id is None and theirs else None,
        "rating_form": rating_form if solved and rated is None and theirs else None,
        "rated": rated,
        "error": error,
        "solved": solved,
        "max_files": services.setting("POMOGU_PORTAL_MAX_FILES"),
        "max_file_bytes": limits().max_attachment_bytes,
    }
    return render(request, "portal/case.html", context, status=status)


@require_GET
@customer_page
def case_page(request: HttpRequest, visitor: Visitor, number: int) -> HttpResponse:
    return _render_case(request, visitor, _case_or_404(visitor, number))


@require_POST
@customer_page
def reply(request: HttpRequest, visitor: Visitor, number: int) -> HttpResponseBase:
    """The customer's message, with files, once per form (its nonce), then back to the case."""
    case = _own_case(visitor, number)
    form = ReplyForm(request.POST, request.FILES)
    if case.merged_into_id is not None:
        return redirect("portal:case", number=number)
    if not form.is_valid():
        return _render_case(request, visitor, case, reply_form=form, status=422)
    nonce = services.nonce_of(form.cleaned_data["nonce"], case)
    if nonce is None:
        again = request.POST.copy()
        again["nonce"] = services.new_nonce(case)
        form = ReplyForm(again)
        form.is_valid()
        form.add_error(None, _("This form has expired. Please attach your files and send again."))
        return _render_case(request, visitor, case, reply_form=form, status=422)
    try:
        message, new = services.send_reply(
            case,
            body=form.cleaned_data["body"],
            files=form.cleaned_data["attachments"],
            nonce=nonce,
        )
    except DomainError as error:
        form.add_error(None, error.detail)
        return _render_case(request, visitor, case, reply_form=form, status=422)
    if new:
        messages.success(request, _("Your message was sent. Thank you."))
    return redirect(reverse("portal:case", kwargs={"number": number}) + f"#message-{message.pk}")


@require_POST
@customer_page
def rate(request: HttpRequest, visitor: Visitor, number: int) -> HttpResponseBase:
    """The customer's rating of a solved case: once; a second one changes nothing."""
    case = _own_case(visitor, number)
    form = RatingForm(request.POST)
    if not form.is_valid():
        return _render_case(request, visitor, case, rating_form=form, status=422)
    try:
        surveys.answer_in_portal(
            case, rating=form.cleaned_data["rating"], comment=form.cleaned_data["comment"]
        )
    except DomainError as error:
        return _render_case(request, visitor, case, error=error.detail, status=422)
    messages.success(request, _("Thank you for your rating."))
    return redirect(reverse("portal:case", kwargs={"number": number}) + "#rating")


# --- attachments (SEC-2, SEC-5, AZ-13) ------------------------------------------------------


@require_GET
@customer_page
def attachment(
    request: HttpRequest, visitor: Visitor, number: int, attachment_id: int
) -> HttpResponseBase:
    """An attachment of a message the customer can see, always as a download under a type
    that cannot run; anyone else's, or a note's, is a 404."""
    try:
        item = queries.attachment_of(visitor.customers, number, attachment_id)
    except NotFound:
        raise Http404("No such attachment.") from None
    return attachment_download(item, where=f"case #{number} (portal)")


@dataclass(frozen=True)
class Entry:
    """A message of the conversation as the customer sees it."""

    message: Message
    author: str
    mine: bool


def _entry(message: Message, visitor: Visitor) -> Entry:
    if message.kind == MessageKind.INBOUND:
        person = message.customer
        mine = person is None or person.pk in {c.pk for c in visitor.customers}
        return Entry(message, person.display_name if person is not None else _("You"), mine)
    author = message.author.display_name if message.author is not None else _("Our team")
    return Entry(message, author, False)
