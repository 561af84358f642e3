"""The contact governor (R6): the desk contacts a customer only with a reason, within a budget,
and never at night, at weekends or on holidays in the customer's own time zone.

Every outbound contact that is not a direct answer to the customer (acknowledgements, surveys,
reminders, appointment notices, promised call backs, proactive messages and calls, incident
notices) goes through ``contact``. It writes a ``ContactAttempt`` whatever happens:

- **made**: the email is in the outbox (or, for a phone call, a task is on the staff member's
  "my work" page), in the caller's transaction;
- **deferred** to the next allowed moment (quiet hours, a weekend, a holiday): ``release_due``
  asks the policy again then and makes it, defers it again or refuses it;
- **refused**, with the reason: no case or incident, a check-in without a concrete reason, the
  customer opted out of the purpose or the channel, the budget of proactive contacts is spent.

A deferred or refused contact is on the case's timeline and in the failure register
("pestering prevented"). Nothing is dropped silently.

Acknowledgements are the one exception to quiet hours and the budget: they answer a message the
customer sent a moment ago, so they are not a disturbance; opt-outs still apply.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from pomogu.cases.choices import EventKind
from pomogu.cases.models import TimelineEvent
from pomogu.contact.models import (
    ContactAttempt,
    ContactChannel,
    ContactPreference,
    ContactPurpose,
    ContactState,
    OutboxKind,
)
from pomogu.core import clock
from pomogu.core.errors import DomainError

if TYPE_CHECKING:
    from pomogu.cases.models import Case
    from pomogu.people.models import Customer, User

log = logging.getLogger(__name__)

# Proactive purposes: they count against the customer's (and organisation's) budget.
BUDGETED = frozenset(
    {
        ContactPurpose.SURVEY,
        ContactPurpose.REMINDER,
        ContactPurpose.PROACTIVE,
        ContactPurpose.INCIDENT,
        ContactPurpose.CHECK_IN,
    }
)
# Answers to what the customer just did: not held for quiet hours, not counted.
IMMEDIATE = frozenset({ContactPurpose.ACKNOWLEDGEMENT})
CLAIM_SECONDS = 60
BATCH = 200

# Why a contact was deferred or refused (``ContactAttempt.decision``).
NO_PURPOSE = "no_purpose"
NO_REASON = "no_reason"
OPTED_OUT = "opted_out"
CHANNEL_REFUSED = "channel_refused"
NO_ADDRESS = "no_address"
BUDGET = "budget"
ORGANISATION_BUDGET = "organisation_budget"
QUIET_HOURS = "quiet_hours"
WEEKEND = "weekend"
HOLIDAY = "holiday"
WITHDRAWN = "withdrawn"


@dataclass(frozen=True)
class Verdict:
    """What the policy says about a contact now: ``state`` is made, deferred or refused;
    ``decision`` the reason when not made; ``until`` the next allowed moment when deferred."""

    state: ContactState
    decision: str = ""
    until: dt.datetime | None = None


# --- configuration ----------------------------------------------------------------------------


def _budget(name: str) -> tuple[int, int]:
    raw = str(settings.POMOGU[name]).strip()
    match = re.fullmatch(r"(\d+)\s*/\s*(\d+)", raw)
    if match is None or int(match.group(2)) < 1:
        raise ImproperlyConfigured(
            f"POMOGU_{name} must look like 2/30 (contacts/days), got {raw!r}"
        )
    return int(match.group(1)), int(match.group(2))


@lru_cache(maxsize=8)
def _parse_quiet(raw: str) -> tuple[dt.time, dt.time]:
    match = re.fullmatch(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})", raw.strip())
    if match is None:
        raise ImproperlyConfigured(f"POMOGU_QUIET_HOURS must look like 21:00-09:00, got {raw!r}")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise ImproperlyConfigured(f"POMOGU_QUIET_HOURS has an impossible time: {raw!r}")
    return dt.time(h1, m1), dt.time(h2, m2)


def quiet_hours() -> tuple[dt.time, dt.time]:
    """(start, end) of the nightly quiet hours, local to the customer."""
    return _parse_quiet(str(settings.POMOGU["QUIET_HOURS"]))


@lru_cache(maxsize=8)
def _holidays(country: str) -> holidays.HolidayBase | None:
    if not country:
        return None
    try:
        return holidays.country_holidays(country)
    except NotImplementedError:
        raise ImproperlyConfigured(
            f"POMOGU_CONTACT_HOLIDAYS: unknown country {country!r}"
        ) from None


def check_configuration() -> None:
    """Fail at start-up, not at the first contact, when the settings are wrong."""
    _budget("CONTACT_BUDGET")
    _budget("CONTACT_BUDGET_ORGANISATION")
    quiet_hours()
    _holidays(str(settings.POMOGU["CONTACT_HOLIDAYS"]).strip().upper())


def customer_zone(customer: Customer) -> ZoneInfo:
    try:
        return ZoneInfo(customer.time_zone or settings.TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(settings.TIME_ZONE)


# --- the policy (pure given the counts) -------------------------------------------------------


def quiet_reason(at: dt.datetime, zone: ZoneInfo) -> str:
    """Why ``at`` is not a moment to contact someone living in ``zone`` ("" if it is)."""
    local = at.astimezone(zone)
    calendar = _holidays(str(settings.POMOGU["CONTACT_HOLIDAYS"]).strip().upper())
    if local.weekday() >= 5:
        return WEEKEND
    if calendar is not None and local.date() in calendar:
        return HOLIDAY
    start, end = quiet_hours()
    moment = local.time()
    if start == end:
        return ""
    # 09:00-18:00 is quiet within a day; 21:00-09:00 over midnight.
    quiet = start <= moment < end if start < end else moment >= start or moment < end
    return QUIET_HOURS if quiet else ""


def next_allowed(at: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """The first moment at or after ``at`` that is not quiet for someone living in ``zone``."""
    _start, end = quiet_hours()
    moment = at
    for _day in range(400):  # a year of days at most: every calendar has a working day
        if not quiet_reason(moment, zone):
            return moment
        local = moment.astimezone(zone)
        day = local.date()
        if local.time() >= end:
            day += dt.timedelta(days=1)
        # The end of tonight's (or this morning's) quiet hours, as a wall-clock time there;
        # fold=0 and normalisation through UTC handle a DST jump at that hour.
        moment = dt.datetime.combine(day, end, tzinfo=zone).astimezone(dt.UTC)
    raise ImproperlyConfigured("no moment in the next year is outside quiet hours")


def preferences(customer: Customer) -> tuple[set[str], set[str]]:
    """(allowed channels, purposes opted out of); no allowed channels means all."""
    pref = ContactPreference.objects.filter(customer=customer).first()
    if pref is None:
        return set(), set()
    return set(pref.channels or []), set(pref.opted_out or [])


def made_within(customer: Customer, days: int, now: dt.datetime, *, organisation: bool) -> int:
    """Proactive contacts made to the customer (or their organisation) in the last ``days``."""
    since = now - dt.timedelta(days=days)
    made = ContactAttempt.objects.filter(
        state=ContactState.SENT, purpose__in=list(BUDGETED), made_at__gt=since
    )
    if organisation and customer.organisation_id is not None:
        return made.filter(customer__organisation_id=customer.organisation_id).count()
    return made.filter(customer=customer).count()


def judge(attempt: ContactAttempt, now: dt.datetime) -> Verdict:
    """What the policy says about ``attempt`` at ``now``."""
    purpose = ContactPurpose(attempt.purpose)
    if attempt.case_id is None and not attempt.incident:
        return Verdict(ContactState.REFUSED, NO_PURPOSE)
    if purpose == ContactPurpose.CHECK_IN and not attempt.reason.strip():
        return Verdict(ContactState.REFUSED, NO_REASON)
    customer = attempt.customer
    channels, opted_out = preferences(customer)
    if purpose.value in opted_out:
        return Verdict(ContactState.REFUSED, OPTED_OUT)
    if channels and attempt.channel not in channels:
        return Verdict(ContactState.REFUSED, CHANNEL_REFUSED)
    if attempt.channel == ContactChannel.EMAIL and (
        not customer.email or customer.mail_bounced_at is not None
    ):
        return Verdict(ContactState.REFUSED, NO_ADDRESS)
    if attempt.channel == ContactChannel.PHONE and not customer.phone:
        return Verdict(ContactState.REFUSED, NO_ADDRESS)
    if purpose in BUDGETED:
        limit, days = _budget("CONTACT_BUDGET")
        if made_within(customer, days, now, organisation=False) >= limit:
            return Verdict(ContactState.REFUSED, BUDGET)
        if customer.organisation_id is not None:
            limit, days = _budget("CONTACT_BUDGET_ORGANISATION")
            if made_within(customer, days, now, organisation=True) >= limit:
                return Verdict(ContactState.REFUSED, ORGANISATION_BUDGET)
    if purpose not in IMMEDIATE:
        zone = customer_zone(customer)
        quiet = quiet_reason(now, zone)
        if quiet:
            return Verdict(ContactState.DEFERRED, quiet, next_allowed(now, zone))
    return Verdict(ContactState.SENT)


# --- contacting -------------------------------------------------------------------------------


def contact(
    *,
    customer: Customer,
    purpose: ContactPurpose | str,
    case: Case | None = None,
    incident: str = "",
    channel: ContactChannel | str = ContactChannel.EMAIL,
    reason: str = "",
    subject: str = "",
    body: str = "",
    headers: dict[str, str] | None = None,
    staff: User | None = None,
    actor: User | None = None,
    dedupe_key: str | None = None,
) -> ContactAttempt:
    """Ask to contact a customer; the governor makes, defers or refuses it, and records which.

    In the caller's transaction. ``dedupe_key`` makes it happen once: a second call with the
    same key returns the first attempt and does nothing. An email needs ``subject`` and
    ``body``; a phone call becomes a task for ``staff`` (default: the case's owner).
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("contact must run inside the transaction of its cause")
    purpose = ContactPurpose(purpose)
    channel = ContactChannel(channel)
    if channel == ContactChannel.EMAIL and not (subject.strip() and body.strip()):
        raise DomainError(_("An email needs a subject and a text."), code="contact_empty")
    now = clock.now()
    attempt = ContactAttempt(
        customer=customer,
        case=case,
        incident=incident.strip()[:100],
        purpose=purpose,
        channel=channel,
        reason=reason.strip()[:300],
        subject=subject[:400],
        body=body,
        headers=dict(headers or {}),
        staff=staff or (case.owner if case is not None else None),
        created_by=actor,
        requested_at=now,
        dedupe_key=dedupe_key,
    )
    verdict = judge(attempt, now)
    # Judged first, then written once with its verdict (and its outbox row). A second call
    # with the same key fails the unique key in the savepoint and returns the first attempt:
    # repeats are rare, so no read before the insert.
    try:
        with transaction.atomic():
            _decide(attempt, verdict, now)
            sent = verdict.state == ContactState.SENT
            if sent:
                attempt.made_at = now
            if sent and attempt.channel == ContactChannel.EMAIL:
                _make(attempt)  # the outbox row first: the attempt points to it
            attempt.save(force_insert=True)
            if sent and attempt.channel != ContactChannel.EMAIL:
                _make(attempt)  # the staff member's task names the attempt
    except IntegrityError:
        earlier = (
            ContactAttempt.objects.filter(dedupe_key=dedupe_key).first() if dedupe_key else None
        )
        if earlier is None:
            raise
        return earlier
    _after_decision(attempt, verdict)
    return attempt


def _decide(attempt: ContactAttempt, verdict: Verdict, now: dt.datetime) -> None:
    """Put the verdict on the attempt and in its history (not saved)."""
    attempt.state = verdict.state
    attempt.decision = verdict.decision
    attempt.due_at = verdict.until
    attempt.claimed_until = None
    attempt.history = [
        *attempt.history,
        {"at": now.isoformat(), "state": verdict.state.value, "decision": verdict.decision},
    ]


def _apply(attempt: ContactAttempt, verdict: Verdict, now: dt.datetime) -> None:
    """Record the verdict on the attempt (and its history), and act on it."""
    _decide(attempt, verdict, now)
    if verdict.state == ContactState.SENT:
        attempt.made_at = now
        _make(attempt)
    attempt.save()
    _after_decision(attempt, verdict)


def _after_decision(attempt: ContactAttempt, verdict: Verdict) -> None:
    """The case's timeline (and, for a held contact, the register) after a saved verdict."""
    if verdict.state != ContactState.SENT:
        _record_held(attempt, verdict)
    elif attempt.case_id is not None:
        TimelineEvent.objects.create(
            case_id=attempt.case_id,
            kind=EventKind.CONTACT_MADE,
            actor=attempt.created_by,
            data={"contact_id": attempt.pk, "purpose": attempt.purpose, "channel": attempt.channel},
        )


def _make(attempt: ContactAttempt) -> None:
    from pomogu.contact.services import enqueue_email, notify_staff

    if attempt.channel == ContactChannel.EMAIL:
        kind = {
            ContactPurpose.ACKNOWLEDGEMENT: OutboxKind.ACKNOWLEDGEMENT,
            ContactPurpose.SURVEY: OutboxKind.SURVEY,
        }.get(ContactPurpose(attempt.purpose), OutboxKind.NOTIFICATION)
        attempt.outbox = enqueue_email(
            to_email=attempt.customer.email,
            subject=attempt.subject,
            body=attempt.body,
            kind=kind,
            case=attempt.case,
            automated=True,
            dedupe_key=attempt.dedupe_key,
            headers=attempt.headers,
            at_most_once=attempt.purpose == ContactPurpose.SURVEY,
        )
        return
    staff = attempt.staff
    if staff is None or attempt.case is None:
        return  # a phone contact about an incident with nobody named: the log is the task
    customer = attempt.customer
    notify_staff(
        staff,
        case=attempt.case,
        kind="call",
        title=_("Call %(customer)s (%(phone)s): %(purpose)s")
        % {
            "customer": customer.name or customer.phone,
            "phone": customer.phone,
            "purpose": ContactPurpose(attempt.purpose).label,
        },
        body=attempt.reason or attempt.body,
        data={"contact_id": attempt.pk},
        dedupe_key=f"call:{attempt.pk}",
    )


def _record_held(attempt: ContactAttempt, verdict: Verdict) -> None:
    from pomogu.failures.services import record

    purpose = ContactPurpose(attempt.purpose)
    data: dict[str, Any] = {
        "contact_id": attempt.pk,
        "purpose": purpose.value,
        "channel": attempt.channel,
        "state": verdict.state.value,
        "decision": verdict.decision,
        "until": verdict.until.isoformat() if verdict.until else None,
    }
    if attempt.case_id is not None:
        TimelineEvent.objects.create(
            case_id=attempt.case_id,
            kind=EventKind.CONTACT_HELD,
            actor=attempt.created_by,
            data=data,
        )
    # Counted once per attempt and outcome: a contact deferred twice is one deferral.
    record(
        "pestering_blocked",
        key=f"contact:{attempt.pk}:{verdict.state.value}",
        case=attempt.case,
        person=attempt.created_by,
        detail=data,
        summary=_("%(purpose)s %(state)s: %(why)s")
        % {
            "purpose": purpose.label,
            "state": ContactState(verdict.state).label.lower(),
            "why": describe(verdict.decision),
        },
    )


def _after(attempt: ContactAttempt) -> None:
    """What depends on a released contact's fate: a survey is sent or skipped with it. (When a
    contact is first asked for, its caller acts on the returned attempt itself.)"""
    if attempt.purpose == ContactPurpose.SURVEY:
        from pomogu.contact.surveys import contact_decided

        contact_decided(attempt)


def describe(decision: str) -> str:
    """The reason of a deferral or refusal, for people."""
    reasons = {
        NO_PURPOSE: _("no case or incident to contact the customer about"),
        NO_REASON: _("a check-in needs a concrete reason"),
        OPTED_OUT: _("the customer opted out of this kind of contact"),
        CHANNEL_REFUSED: _("the customer does not want to be contacted this way"),
        NO_ADDRESS: _("no working address or number for this channel"),
        BUDGET: _("the customer's budget of proactive contacts is spent"),
        ORGANISATION_BUDGET: _("the organisation's budget of proactive contacts is spent"),
        QUIET_HOURS: _("quiet hours in the customer's time zone"),
        WEEKEND: _("a weekend in the customer's time zone"),
        HOLIDAY: _("a public holiday in the customer's time zone"),
        WITHDRAWN: _("its reason went away before it was made"),
    }
    return str(reasons.get(decision, decision))


def withdraw(attempt: ContactAttempt, decision: str) -> None:
    """A deferred contact whose reason went away (the case was reopened before its survey
    went out): it is not made. Its key is freed, so a later contact for the same thing can be
    asked for again."""
    if attempt.state != ContactState.DEFERRED:
        return
    verdict = Verdict(ContactState.REFUSED, decision)
    _decide(attempt, verdict, clock.now())
    attempt.dedupe_key = None
    attempt.save(
        update_fields=["state", "decision", "dedupe_key", "due_at", "claimed_until", "history"]
    )
    _record_held(attempt, verdict)


# --- the background step ----------------------------------------------------------------------


def release_due(now: dt.datetime | None = None, limit: int = BATCH) -> int:
    """Ask the policy again about deferred contacts whose moment has come; returns how many
    were decided. Claimed by a conditional update, so any number of workers may run it."""
    now = now or clock.now()
    due = list(
        ContactAttempt.objects.filter(state=ContactState.DEFERRED, due_at__lte=now)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("due_at")
        .values_list("pk", flat=True)[:limit]
    )
    done = 0
    for attempt_id in due:
        claimed = (
            ContactAttempt.objects.filter(pk=attempt_id, state=ContactState.DEFERRED)
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
            .update(claimed_until=now + dt.timedelta(seconds=CLAIM_SECONDS))
        )
        if claimed != 1:
            continue
        try:
            done += _release(attempt_id)
        except Exception:
            log.exception("deferred contact %s failed; it is retried", attempt_id)
    return done


@transaction.atomic
def _release(attempt_id: int) -> int:
    attempt = (
        ContactAttempt.objects.select_for_update(of=("self",))
        .select_related("customer", "case")
        .filter(pk=attempt_id, state=ContactState.DEFERRED)
        .first()
    )
    now = clock.now()
    if attempt is None or attempt.due_at is None or attempt.due_at > now:
        return 0
    _apply(attempt, judge(attempt, now), now)
    _after(attempt)
    return 1
