"""REST endpoints for respecting the customer (R6, R7): contacts through the governor, a
customer's contact preferences, surveys and their results, and the reply guard (a check of a
draft, and the installation's own phrases)."""

import datetime as dt
from typing import Any, Literal

from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from pomogu.cases import queries
from pomogu.cases.models import Case
from pomogu.contact import governor, surveys
from pomogu.contact.models import (
    ContactAttempt,
    ContactChannel,
    ContactPreference,
    ContactPurpose,
    ContactState,
    GuardPhrase,
    Survey,
    SurveyState,
)
from pomogu.contact.queries import visible_surveys
from pomogu.contact.services import review_reply
from pomogu.core.api_support import Day, ErrorOut, Id, Page, Strict, actor_of, errors
from pomogu.core.errors import DomainError, NotFound, PermissionDenied
from pomogu.people.api import require_admin
from pomogu.people.models import Customer, User

router = Router(tags=["contact"])


# --- contacts ---------------------------------------------------------------------------------


class ContactIn(Strict):
    purpose: Literal[tuple(ContactPurpose.values)] = Field(  # type: ignore[valid-type]
        ...,
        description="acknowledgement, survey, reminder, appointment, callback, proactive, "
        "incident, check_in",
    )
    channel: Literal["email", "phone"] = "email"
    case_id: Id | None = None
    customer_id: Id | None = Field(None, description="Needed without a case (incidents)")
    incident: str = Field("", max_length=100, description="The incident it is about, if any")
    reason: str = Field("", max_length=300, description="Why: concrete, for the customer")
    subject: str = Field("", max_length=400)
    body: str = Field("", max_length=20_000)


class ContactOut(Schema):
    id: int
    customer_id: int
    case_id: int | None
    incident: str
    purpose: str
    channel: str
    reason: str
    state: str
    decision: str
    decision_text: str
    due_at: dt.datetime | None
    requested_at: dt.datetime
    made_at: dt.datetime | None
    history: list[dict[str, Any]]

    @staticmethod
    def resolve_decision_text(obj: ContactAttempt) -> str:
        return governor.describe(obj.decision) if obj.decision else ""


def _contact_target(actor: User, payload: ContactIn) -> tuple[Customer, Case | None]:
    case = None
    if payload.case_id is not None:
        case = queries.get_visible_case(actor, payload.case_id)
        customer = case.customer
        if payload.customer_id is not None and payload.customer_id != customer.pk:
            raise DomainError(_("The case belongs to another customer."), code="customer_mismatch")
        return customer, case
    if payload.customer_id is None:
        raise DomainError(_("Name a case or a customer."), code="contact_target")
    found = queries.visible_customers(actor).filter(pk=payload.customer_id).first()
    if found is None:
        raise NotFound(_("No such customer."))
    if not actor.sees_all_teams:
        raise PermissionDenied(_("Only a manager contacts customers without a case."))
    return found, None


@router.post(
    "/contacts",
    response={
        201: ContactOut,
        202: ContactOut,
        422: ContactOut | ErrorOut,
        **errors(403, 404, 409),
    },
    summary="Contact a customer, through the contact governor",
    description="201: made (the email is queued, or a call task is on the staff member's "
    "page); 202: deferred to the next allowed moment (quiet hours, weekend, holiday); 422: "
    "refused, with the reason (no case or incident, a check-in without a concrete reason, "
    "an opt-out, the budget). Every attempt is kept and can be listed.",
)
def create_contact(request: HttpRequest, payload: ContactIn) -> Status[ContactAttempt]:
    actor = actor_of(request)
    with transaction.atomic():
        customer, case = _contact_target(actor, payload)
        attempt = governor.contact(
            customer=customer,
            purpose=payload.purpose,
            case=case,
            incident=payload.incident,
            channel=ContactChannel(payload.channel),
            reason=payload.reason,
            subject=payload.subject,
            body=payload.body,
            actor=actor,
        )
    # Returned after the commit: a refused attempt is on record, not rolled back with an error.
    status = {ContactState.SENT: 201, ContactState.DEFERRED: 202}.get(
        ContactState(attempt.state), 422
    )
    return Status(status, attempt)


@router.get(
    "/contacts",
    response={200: list[ContactOut], **errors(404)},
    summary="Contact attempts and decisions",
)
@paginate(Page)
def list_contacts(
    request: HttpRequest,
    customer_id: Id | None = None,
    case_id: Id | None = None,
    state: Literal["sent", "deferred", "refused"] | None = None,
) -> QuerySet[ContactAttempt]:
    actor = actor_of(request)
    attempts = ContactAttempt.objects.filter(customer__in=queries.visible_customers(actor))
    if customer_id is not None:
        attempts = attempts.filter(customer_id=customer_id)
    if case_id is not None:
        attempts = attempts.filter(case=queries.get_visible_case(actor, case_id))
    if state is not None:
        attempts = attempts.filter(state=state)
    return attempts.order_by("-requested_at", "-id")


class PreferencesIn(Strict):
    channels: list[Literal["email", "phone"]] = Field(
        default_factory=list, description="Allowed channels; empty means all"
    )
    opted_out: list[Literal[tuple(ContactPurpose.values)]] = Field(  # type: ignore[valid-type]
        default_factory=list, description="Purposes the customer does not want"
    )


class PreferencesOut(Schema):
    customer_id: int
    channels: list[str]
    opted_out: list[str]


def _customer(actor: User, customer_id: int) -> Customer:
    customer = queries.visible_customers(actor).filter(pk=customer_id).first()
    if customer is None:
        raise NotFound(_("No such customer."))
    return customer


@router.get(
    "/customers/{customer_id}/contact-preferences",
    response={200: PreferencesOut, **errors(404)},
    summary="A customer's contact preferences",
)
def get_preferences(request: HttpRequest, customer_id: int) -> dict[str, Any]:
    customer = _customer(actor_of(request), customer_id)
    channels, opted_out = governor.preferences(customer)
    return {
        "customer_id": customer.pk,
        "channels": sorted(channels),
        "opted_out": sorted(opted_out),
    }


@router.put(
    "/customers/{customer_id}/contact-preferences",
    response={200: PreferencesOut, **errors(404)},
    summary="Set a customer's contact preferences (what they told us)",
)
@transaction.atomic
def set_preferences(
    request: HttpRequest, customer_id: int, payload: PreferencesIn
) -> dict[str, Any]:
    customer = _customer(actor_of(request), customer_id)
    ContactPreference.objects.update_or_create(
        customer=customer,
        defaults={
            "channels": sorted(set(payload.channels)),
            "opted_out": sorted(set(payload.opted_out)),
        },
    )
    return get_preferences(request, customer_id)


# --- surveys ----------------------------------------------------------------------------------


class SurveyOut(Schema):
    id: int
    case_id: int
    customer_id: int
    state: str
    due_at: dt.datetime
    skip_reason: str
    rating: int | None
    comment: str
    sent_at: dt.datetime | None
    answered_at: dt.datetime | None


@router.get("/surveys", response=list[SurveyOut], summary="Surveys")
@paginate(Page)
def list_surveys(
    request: HttpRequest,
    state: Literal[tuple(SurveyState.values)] | None = None,  # type: ignore[valid-type]
    case_id: Id | None = None,
) -> QuerySet[Survey]:
    found = visible_surveys(actor_of(request))
    if state is not None:
        found = found.filter(state=state)
    if case_id is not None:
        found = found.filter(case_id=case_id)
    return found.order_by("-due_at", "-id")


class SurveyResults(Schema):
    sent: int
    answered: int
    average: float | None
    ratings: dict[str, int]
    skipped: dict[str, int]


@router.get("/surveys/results", response=SurveyResults, summary="Survey results for a period")
def survey_results(
    request: HttpRequest,
    since: Day | None = None,
    until: Day | None = None,
    team: str | None = None,
) -> dict[str, Any]:
    found = visible_surveys(actor_of(request))
    if since is not None:
        found = found.filter(due_at__date__gte=since)
    if until is not None:
        found = found.filter(due_at__date__lte=until)
    if team:
        found = found.filter(case__team__slug=team)
    return surveys.results(found)


# --- the reply guard --------------------------------------------------------------------------


class DraftIn(Strict):
    text: str = Field(..., min_length=1, max_length=200_000)


class FindingOut(Schema):
    phrase: str
    category: str
    text: str
    start: int
    end: int
    language: str


class GuardResultOut(Schema):
    flagged: bool
    language: str
    findings: list[FindingOut]
    suggestion: str


@router.post(
    "/guard/check",
    response=GuardResultOut,
    summary="Check a draft reply with the reply guard (R7)",
)
def check_draft(request: HttpRequest, payload: DraftIn) -> dict[str, Any]:
    actor_of(request)
    result: dict[str, Any] = review_reply(payload.text).to_dict()
    return result


class PhraseIn(Strict):
    text: str = Field(..., min_length=3, max_length=200)
    note: str = Field("", max_length=300)


class PhraseOut(Schema):
    id: int
    text: str
    note: str
    is_active: bool


@router.get("/guard/phrases", response=list[PhraseOut], summary="This desk's own guard phrases")
@paginate(Page)
def list_phrases(request: HttpRequest) -> QuerySet[GuardPhrase]:
    actor_of(request)
    return GuardPhrase.objects.all()


@router.post(
    "/guard/phrases",
    response={201: PhraseOut, **errors(403, 409)},
    summary="Add a guard phrase (admin)",
)
@transaction.atomic
def add_phrase(request: HttpRequest, payload: PhraseIn) -> Status[GuardPhrase]:
    actor = actor_of(request)
    require_admin(actor)
    text = " ".join(payload.text.split())
    if GuardPhrase.objects.filter(text__iexact=text).exists():
        raise DomainError(_("This phrase is already guarded."), code="phrase_exists")
    return Status(201, GuardPhrase.objects.create(text=text, note=payload.note, created_by=actor))


@router.delete(
    "/guard/phrases/{phrase_id}",
    response={204: None, **errors(403, 404)},
    summary="Remove (admin)",
)
@transaction.atomic
def delete_phrase(request: HttpRequest, phrase_id: int) -> Status[None]:
    require_admin(actor_of(request))
    deleted, _rows = GuardPhrase.objects.filter(pk=phrase_id).delete()
    if not deleted:
        raise NotFound(_("No such phrase."))
    return Status(204, None)
