"""Satisfaction surveys (R6): one per case, after a real resolution, never repeated.

A resolution schedules the case's survey (``on_event``) for when it has stood a while
(``POMOGU_SURVEY_DELAY_HOURS``, counted in working days). A reopen before then cancels it; the
next resolution schedules it again. Once sent, a case never gets another (``Survey.case`` is
unique, and a sent survey is never scheduled again). ``send_due`` sends what is due through the
contact governor, or skips it with the reason: the case was not solved, ended in anger, the
customer was surveyed recently, opted out, or the budget is spent.

The link in the mail opens a page that asks for the rating; only the page's form (a POST)
records it, so a mail scanner following the link records nothing. The token is signed, and
needs no login. A low rating tells the team lead and goes to the failure register.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext as _

from pomogu.cases.choices import CaseState, EventKind, Resolution
from pomogu.cases.models import Case, TimelineEvent
from pomogu.contact import governor
from pomogu.contact.models import ContactAttempt, ContactPurpose, ContactState, Survey, SurveyState
from pomogu.core import clock
from pomogu.core.errors import DomainError, NotFound

log = logging.getLogger(__name__)

CLAIM_SECONDS = 60
BATCH = 200
SALT = "pomogu.survey"


def _config(name: str) -> int:
    return int(settings.POMOGU[name])


# --- scheduling, from the case's events --------------------------------------------------------


def on_event(
    sender: Any, instance: TimelineEvent, created: bool, raw: bool = False, **kw: Any
) -> None:
    """Resolved: schedule the case's survey; reopened: cancel it if it has not gone out."""
    if not created or raw:
        return
    if instance.kind == EventKind.RESOLVED:
        schedule(instance.case)
    elif instance.kind == EventKind.REOPENED:
        cancel(instance.case_id)


def cancel(case_id: int) -> None:
    """The case was reopened before its survey went out: no survey until it is solved again
    (a deferred survey mail is withdrawn too)."""
    survey = (
        Survey.objects.select_for_update(of=("self",))
        .select_related("contact")
        .filter(case_id=case_id, state=SurveyState.WAITING)
        .first()
    )
    if survey is None:
        return
    if survey.contact is not None:
        governor.withdraw(survey.contact, governor.WITHDRAWN)
    survey.state = SurveyState.CANCELLED
    survey.skip_reason = "reopened"
    survey.claimed_until = None
    survey.contact = None
    survey.save(update_fields=["state", "skip_reason", "claimed_until", "contact"])


def due_after(resolved_at: dt.datetime, case: Case) -> dt.datetime:
    """When a resolution has stood long enough: the delay in hours, moved past the days the
    customer is not contacted (weekends, holidays) so that it counts working days."""
    hours = _config("SURVEY_DELAY_HOURS")
    zone = governor.customer_zone(case.customer)
    moment = resolved_at
    left = dt.timedelta(hours=hours)
    while left > dt.timedelta(0):
        step = min(left, dt.timedelta(hours=24))
        moment += step
        while governor.quiet_reason(moment, zone) in (governor.WEEKEND, governor.HOLIDAY):
            moment += dt.timedelta(hours=24)
        left -= step
    return moment


def schedule(case: Case) -> Survey | None:
    """The case was resolved: its survey waits for the resolution to stand. A survey that was
    sent, answered or skipped is never scheduled again."""
    resolved_at = case.resolved_at or clock.now()
    due = due_after(resolved_at, case)
    survey = Survey.objects.select_for_update().filter(case=case).first()
    if survey is None:
        with transaction.atomic():
            return Survey.objects.create(
                case=case, customer=case.customer, due_at=due, token=_new_token()
            )
    if survey.state in (SurveyState.WAITING, SurveyState.CANCELLED):
        survey.state = SurveyState.WAITING
        survey.due_at = due
        survey.skip_reason = ""
        survey.save(update_fields=["state", "due_at", "skip_reason"])
        return survey
    return None


def _new_token() -> str:
    return signing.Signer(salt=SALT).sign(secrets.token_urlsafe(18))


# --- sending -----------------------------------------------------------------------------------


def send_due(now: dt.datetime | None = None, limit: int = BATCH) -> int:
    """Send (or skip) the surveys whose resolution has stood long enough; returns how many
    were decided. Claimed by a conditional update: any number of workers may run it."""
    now = now or clock.now()
    due = list(
        Survey.objects.filter(state=SurveyState.WAITING, due_at__lte=now, contact__isnull=True)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("due_at")
        .values_list("pk", flat=True)[:limit]
    )
    done = 0
    for survey_id in due:
        claimed = (
            Survey.objects.filter(pk=survey_id, state=SurveyState.WAITING, contact__isnull=True)
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
            .update(claimed_until=now + dt.timedelta(seconds=CLAIM_SECONDS))
        )
        if claimed != 1:
            continue
        try:
            done += send(survey_id)
        except Exception:
            log.exception("survey %s failed; it is retried", survey_id)
    return done


@transaction.atomic
def send(survey_id: int) -> int:
    """Skip the survey or hand it to the contact governor. Safe to run twice: the survey is
    locked and re-checked, and its contact is unique (``survey:<case>``)."""
    survey = (
        Survey.objects.select_for_update(of=("self",))
        .select_related("case", "case__customer", "case__team")
        .filter(pk=survey_id)
        .first()
    )
    now = clock.now()
    if (
        survey is None
        or survey.state != SurveyState.WAITING
        or survey.contact_id is not None
        or survey.due_at > now
    ):
        return 0
    case = survey.case
    reason = skip_reason(survey, now)
    if reason:
        _skip(survey, reason)
        return 1
    customer = case.customer
    with translation.override(customer.language or case.language or settings.LANGUAGE_CODE):
        link = f"{settings.SITE_URL}/survey/{survey.token}/"
        subject = _("How did we do? %(tag)s") % {"tag": case.tag}
        body = "\n".join(
            [
                _("Hello%(name)s,") % {"name": f" {customer.name}" if customer.name else ""},
                "",
                _('Your request "%(subject)s" (case %(number)s) was solved.')
                % {"subject": case.subject, "number": case.number},
                _("How satisfied are you, from 1 (not at all) to 5 (fully)? One click:"),
                *[f"  {n}: {link}?rating={n}" for n in range(5, 0, -1)],
                "",
                _("This is the only time we ask about this request."),
            ]
        )
    attempt = governor.contact(
        customer=customer,
        purpose=ContactPurpose.SURVEY,
        case=case,
        reason=_("Satisfaction survey after the resolution"),
        subject=subject,
        body=body,
        dedupe_key=f"survey:{case.pk}",
    )
    # The governor decided: made, deferred (it follows when released) or refused.
    survey.contact = attempt
    survey.save(update_fields=["contact"])
    _follow(survey, attempt)
    return 1


def skip_reason(survey: Survey, now: dt.datetime) -> str:
    """Why this survey is not sent ("" when it is): R6's reasons."""
    from pomogu.failures.models import Failure, FailureKind

    case = survey.case
    if case.state not in (CaseState.RESOLVED, CaseState.CLOSED):
        return "not_resolved"
    if case.resolution != Resolution.SOLVED:
        return "not_solved"
    if Failure.objects.filter(case=case, kind=FailureKind.ANGER).exists():
        return "ended_in_anger"
    since = now - dt.timedelta(days=_config("SURVEY_QUIET_DAYS"))
    recently = Survey.objects.filter(customer_id=survey.customer_id, sent_at__gt=since)
    if recently.exclude(pk=survey.pk).exists():
        return "surveyed_recently"
    return ""


def _skip(survey: Survey, reason: str) -> None:
    survey.state = SurveyState.SKIPPED
    survey.skip_reason = reason
    survey.claimed_until = None
    survey.save(update_fields=["state", "skip_reason", "claimed_until"])
    TimelineEvent.objects.create(
        case_id=survey.case_id,
        kind=EventKind.CONTACT_HELD,
        data={"survey_id": survey.pk, "purpose": "survey", "state": "skipped", "decision": reason},
    )


def contact_decided(attempt: ContactAttempt) -> None:
    """The governor released a deferred survey contact (made or refused it): the survey
    follows."""
    survey = Survey.objects.filter(contact=attempt).first()
    if survey is not None:
        _follow(survey, attempt)


def _follow(survey: Survey, attempt: ContactAttempt) -> None:
    """The survey takes the fate of its contact: sent when made, skipped when refused, still
    waiting while deferred."""
    if attempt.state == ContactState.SENT and survey.state == SurveyState.WAITING:
        survey.state = SurveyState.SENT
        survey.sent_at = attempt.made_at
        survey.save(update_fields=["state", "sent_at"])
    elif attempt.state == ContactState.REFUSED and survey.state == SurveyState.WAITING:
        survey.state = SurveyState.SKIPPED
        survey.skip_reason = attempt.decision
        survey.save(update_fields=["state", "skip_reason"])


# --- answering ---------------------------------------------------------------------------------


def by_token(token: str) -> Survey:
    """The survey of a link; NotFound for a forged or unknown token."""
    try:
        signing.Signer(salt=SALT).unsign(token)
    except signing.BadSignature:
        raise NotFound(_("This survey link is not valid.")) from None
    survey = Survey.objects.select_related("case").filter(token=token).first()
    if survey is None:
        raise NotFound(_("This survey link is not valid."))
    return survey


@transaction.atomic
def answer(token: str, *, rating: int, comment: str = "") -> Survey:
    """Record the customer's rating (once; a second answer changes nothing). A low rating
    tells the team lead and is a failure of service."""
    survey = by_token(token)
    survey = (
        Survey.objects.select_for_update(of=("self",))
        .select_related("case", "case__team")
        .get(pk=survey.pk)
    )
    if not 1 <= rating <= 5:
        raise DomainError(_("A rating is a number from 1 to 5."), code="invalid_rating")
    if survey.state == SurveyState.ANSWERED:
        return survey
    if survey.state != SurveyState.SENT:
        raise DomainError(_("This survey is not open."), code="survey_closed")
    return _record_answer(survey, rating=rating, comment=comment)


def _record_answer(survey: Survey, *, rating: int, comment: str) -> Survey:
    """Store the rating of a locked, not yet answered survey, with its timeline event; a low
    rating tells the team lead and is a failure of service. Shared by both ways to answer."""
    from pomogu.contact.services import case_link, notify_staff
    from pomogu.failures.services import record
    from pomogu.people.services import stand_in_for

    survey.state = SurveyState.ANSWERED
    survey.rating = rating
    survey.comment = comment.strip()[:4000]
    survey.answered_at = clock.now()
    survey.save(update_fields=["state", "rating", "comment", "answered_at"])
    case = survey.case
    TimelineEvent.objects.create(
        case=case,
        kind=EventKind.SURVEY_ANSWERED,
        data={"survey_id": survey.pk, "rating": rating, "comment": survey.comment[:500]},
    )
    if rating <= _config("SURVEY_LOW_RATING"):
        record(
            "low_rating",
            key=f"survey:{survey.pk}:low",
            case=case,
            person=case.resolved_by or case.owner,
            detail={"survey_id": survey.pk, "rating": rating, "comment": survey.comment[:500]},
            summary=_("Rated %(rating)s of 5: %(comment)s")
            % {"rating": rating, "comment": survey.comment[:200] or "—"},
        )
        lead = case.team.lead
        if lead is not None:
            recipient = stand_in_for(lead)
            with translation.override(recipient.language or settings.LANGUAGE_CODE):
                title = _("Low rating (%(rating)s of 5) on case #%(number)s") % {
                    "rating": rating,
                    "number": case.number,
                }
                body = "\n".join(
                    [
                        _('The customer rated case #%(number)s "%(subject)s" %(rating)s of 5.')
                        % {"number": case.number, "subject": case.subject, "rating": rating},
                        _("Comment: %(comment)s") % {"comment": survey.comment or "—"},
                        _("Open the case: %(url)s") % {"url": case_link(case)},
                    ]
                )
            notify_staff(
                recipient,
                case=case,
                kind="low_rating",
                title=title,
                body=body,
                data={"survey_id": survey.pk, "rating": rating},
                dedupe_key=f"survey:{survey.pk}:low",
            )
    return survey


@transaction.atomic
def answer_in_portal(case: Case, *, rating: int, comment: str = "") -> Survey:
    """Record a rating the customer gives on the case's page in the portal, by the same rules
    as the survey link: once only (a second rating changes nothing), and a low rating tells
    the team lead and is a failure of service.

    The customer may rate a solved case before its survey went out: a case with no survey yet
    gets one, created answered; a waiting survey is answered and so never sent (a deferred
    survey mail is withdrawn). A skipped or cancelled survey is answered too: those reasons
    are about not asking, and here the customer offered the rating. Refused for a case that
    is not resolved or closed."""
    if not 1 <= rating <= 5:
        raise DomainError(_("A rating is a number from 1 to 5."), code="invalid_rating")
    # The bare row is locked (as cases.services._lock does), so two ratings of a case with no
    # survey yet take turns instead of both creating one.
    if not list(Case.objects.select_for_update().filter(pk=case.pk).values_list("pk")):
        raise NotFound(_("No such case."))
    case = Case.objects.select_related("customer", "team").get(pk=case.pk)
    if case.state not in (CaseState.RESOLVED, CaseState.CLOSED):
        raise DomainError(_("Only a solved request can be rated."), code="not_resolved")
    survey = (
        Survey.objects.select_for_update(of=("self",))
        .select_related("case", "case__team", "contact")
        .filter(case=case)
        .first()
    )
    if survey is None:
        survey = Survey.objects.create(
            case=case,
            customer=case.customer,
            due_at=clock.now(),
            token=_new_token(),
            state=SurveyState.WAITING,
        )
    if survey.state == SurveyState.ANSWERED:
        return survey
    if survey.contact is not None:
        governor.withdraw(survey.contact, governor.WITHDRAWN)
    return _record_answer(survey, rating=rating, comment=comment)


def results(queryset: Any = None) -> dict[str, Any]:
    """Sent, answered, the average rating and the count of each rating, for the reports."""
    from django.db.models import Avg, Count

    surveys = queryset if queryset is not None else Survey.objects.all()
    sent = surveys.filter(state__in=[SurveyState.SENT, SurveyState.ANSWERED]).count()
    answered = surveys.filter(state=SurveyState.ANSWERED)
    counts = dict(answered.values_list("rating").annotate(n=Count("id")).order_by())
    average = answered.aggregate(avg=Avg("rating"))["avg"]
    return {
        "sent": sent,
        "answered": answered.count(),
        "average": round(float(average), 2) if average is not None else None,
        "ratings": {str(n): int(counts.get(n, 0)) for n in range(1, 6)},
        "skipped": dict(
            surveys.filter(state=SurveyState.SKIPPED)
            .values_list("skip_reason")
            .annotate(n=Count("id"))
            .order_by()
        ),
    }
