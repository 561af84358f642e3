"""Writing to the failure register (R8) and adding it up.

Every part of the desk that notices a failure of service (a deadline missed, a handoff declined
or timed out, an angry customer, a reopened case, a customer who left…) calls ``record`` inside
its own transaction. The register is only ever added to, and each failure counts once: its
``key`` is unique in the database.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.db.models import Count, F, QuerySet, Sum
from django.db.models.functions import TruncWeek
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from pomogu.core import clock
from pomogu.failures.models import Failure, FailureKind

if TYPE_CHECKING:
    from pomogu.cases.models import Case
    from pomogu.people.models import Customer, Team, User

log = logging.getLogger(__name__)

CENT = Decimal("0.01")
KEY_LENGTH = 200  # Failure.key's max_length

# The share of a customer's value that one failure of each kind puts at risk. A customer who
# left is all of it; an angry customer a fifth; a missed deadline or a broken promise a little,
# a bounced handoff or a blocked message less. POMOGU_FAILURE_RISK_SHARE changes single kinds.
DEFAULT_RISK_SHARE: dict[str, Decimal] = {
    FailureKind.SLA_FIRST_RESPONSE: Decimal("0.05"),
    FailureKind.SLA_NEXT_RESPONSE: Decimal("0.05"),
    FailureKind.SLA_RESOLUTION: Decimal("0.05"),
    FailureKind.CONTRACTOR_LATE: Decimal("0.05"),
    FailureKind.HANDOFF_DECLINED: Decimal("0.02"),
    FailureKind.HANDOFF_TIMED_OUT: Decimal("0.05"),
    FailureKind.ESCALATION_UNACKNOWLEDGED: Decimal("0.05"),
    FailureKind.APPOINTMENT_MISSED: Decimal("0.1"),
    FailureKind.PROMISE_BROKEN: Decimal("0.1"),
    FailureKind.ANGER: Decimal("0.2"),
    FailureKind.REOPENED: Decimal("0.1"),
    FailureKind.PESTERING_BLOCKED: Decimal("0.02"),
    FailureKind.GUARD_OVERRIDDEN: Decimal("0.05"),
    FailureKind.MISROUTED: Decimal("0.02"),
    FailureKind.CUSTOMER_LEFT: Decimal("1"),
    FailureKind.LOW_RATING: Decimal("0.1"),
}

DEFAULT_TIER = "standard"


# --- configuration ----------------------------------------------------------------------------


def _numbers(name: str, *, most: Decimal | None = None) -> dict[str, Decimal]:
    """``POMOGU[name]``: a JSON object (or a dict, in tests) of names to non-negative numbers."""
    raw: Any = settings.POMOGU.get(name, {})
    if isinstance(raw, str):
        try:
            raw = json.loads(raw or "{}")
        except json.JSONDecodeError as error:
            raise ImproperlyConfigured(f"POMOGU_{name} is not valid JSON: {error}") from None
    if not isinstance(raw, Mapping):
        raise ImproperlyConfigured(f'POMOGU_{name} must be a JSON object like {{"name": 1.5}}')
    numbers: dict[str, Decimal] = {}
    for key, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
            raise ImproperlyConfigured(f"POMOGU_{name}: {key!r} must be a number")
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise ImproperlyConfigured(f"POMOGU_{name}: {key!r} must be a number") from None
        if not number.is_finite() or number < 0 or (most is not None and number > most):
            limit = f" and at most {most}" if most is not None else ""
            raise ImproperlyConfigured(f"POMOGU_{name}: {key!r} must be 0 or more{limit}")
        numbers[str(key)] = number
    return numbers


def tier_values() -> dict[str, Decimal]:
    """What a customer of each tier is worth (``POMOGU_TIER_VALUES``)."""
    return _numbers("TIER_VALUES")


def risk_shares() -> dict[str, Decimal]:
    """The share of a customer's value each kind of failure puts at risk: the defaults above,
    with the kinds ``POMOGU_FAILURE_RISK_SHARE`` names replaced."""
    overrides = _numbers("FAILURE_RISK_SHARE", most=Decimal(1))
    unknown = sorted(set(overrides) - set(FailureKind.values))
    if unknown:
        raise ImproperlyConfigured(
            f"POMOGU_FAILURE_RISK_SHARE names unknown kinds {unknown}; "
            f"known: {', '.join(FailureKind.values)}"
        )
    return {str(kind): share for kind, share in {**DEFAULT_RISK_SHARE, **overrides}.items()}


def check_configuration() -> None:
    """Fail at start-up, not at the first failure, when the settings are wrong."""
    tier_values()
    risk_shares()


def money_at_risk(kind: str, customer: Customer | None) -> Decimal:
    """What the customer is worth times the kind's share. A customer is worth their
    organisation's yearly value when it has one, else the value of their tier (an unknown tier
    counts as "standard"); no customer at all (a failure without a case) risks nothing
    measurable."""
    if customer is None:
        return Decimal("0.00")
    share = risk_shares().get(kind, Decimal(0))
    return (customer_value(customer) * share).quantize(CENT)


def customer_value(customer: Customer) -> Decimal:
    organisation = customer.organisation if customer.organisation_id else None
    if organisation is not None and organisation.value > 0:
        return Decimal(organisation.value)
    values = tier_values()
    return values.get(customer.tier or DEFAULT_TIER, values.get(DEFAULT_TIER, Decimal(0)))


# --- writing ----------------------------------------------------------------------------------


def record(
    kind: FailureKind | str,
    *,
    key: str,
    case: Case | None = None,
    team: Team | None = None,
    person: User | None = None,
    at: dt.datetime | None = None,
    minutes_lost: float = 0.0,
    detail: Mapping[str, Any] | None = None,
    summary: str = "",
) -> Failure | None:
    """Put a failure of service on the record (R8), once.

    Runs inside the caller's transaction (in a savepoint of its own), so the failure is
    recorded exactly when the caller's change commits. ``key`` names the failure
    ("deadline:17:breach", "handoff:5:declined"): a second call with the same key changes
    nothing and returns None, so a job that finds failures is safe to run again. The team
    defaults to the case's team, the person to its owner, the time to now. Money at risk
    is the customer's value (``customer_value``) × the kind's share (``risk_shares``).
    ``summary`` is one sentence for people; without one, the kind's name in the desk's
    language is used.
    No other side effects: the caller writes its own timeline event.
    """
    failure = draft(
        kind,
        key=key,
        case=case,
        team=team,
        person=person,
        at=at,
        minutes_lost=minutes_lost,
        detail=detail,
        summary=summary,
    )
    recorded = record_many([failure])
    return recorded[0] if recorded else None


def draft(
    kind: FailureKind | str,
    *,
    key: str,
    case: Case | None = None,
    team: Team | None = None,
    person: User | None = None,
    at: dt.datetime | None = None,
    minutes_lost: float = 0.0,
    detail: Mapping[str, Any] | None = None,
    summary: str = "",
) -> Failure:
    """A failure checked and filled in as ``record`` describes, not yet saved: for
    ``record_many``."""
    kind = FailureKind(kind)
    if not key or len(key) > KEY_LENGTH:
        raise ValueError(f"a failure key must have 1 to {KEY_LENGTH} characters, got {key!r}")
    if at is not None and timezone.is_naive(at):
        raise ValueError("a failure's time must be timezone-aware")
    if minutes_lost < 0:
        raise ValueError(f"minutes lost cannot be negative, got {minutes_lost}")
    if not summary:
        summary = default_summary(kind, case)
    return Failure(
        kind=kind,
        key=key,
        case=case,
        team_id=team.pk if team is not None else (case.team_id if case is not None else None),
        person_id=person.pk if person is not None else (case.owner_id if case else None),
        occurred_at=at or clock.now(),
        minutes_lost=float(minutes_lost),
        money_at_risk=money_at_risk(kind, case.customer if case is not None else None),
        detail=dict(detail or {}),
        summary=summary[:300],
    )


def record_many(failures: Sequence[Failure]) -> list[Failure]:
    """Record the drafts (``draft``) whose key is not on the register yet, in the caller's
    transaction, with one query and one insert however many there are. Returns those recorded;
    a key already there (or twice among the drafts) is recorded once."""
    fresh: dict[str, Failure] = {}
    for failure in failures:
        fresh.setdefault(failure.key, failure)
    if not fresh:
        return []
    for key in _recorded_keys(list(fresh)):
        del fresh[key]
    if not fresh:
        return []
    new = list(fresh.values())
    try:
        with transaction.atomic():
            Failure.objects.bulk_create(new)
    except IntegrityError:
        # Another transaction recorded one of them between our check and our insert: one by
        # one, so that the others are still recorded.
        new = [failure for failure in new if _insert(failure)]
    for failure in new:
        log.info("failure recorded: %s %s", failure.kind, failure.key)
    return new


def _insert(failure: Failure) -> bool:
    try:
        with transaction.atomic():
            failure.save(force_insert=True)
    except IntegrityError:
        if _recorded_keys([failure.key]):
            return False
        raise
    return True


def _recorded_keys(keys: Sequence[str]) -> set[str]:
    return set(Failure.objects.filter(key__in=keys).order_by().values_list("key", flat=True))


def default_summary(kind: FailureKind, case: Case | None) -> str:
    """The kind's name (and the case number), in the desk's language."""
    with translation.override(settings.LANGUAGE_CODE):
        label = str(kind.label)
        if case is None or case.number is None:
            return label
        return _("%(failure)s: case #%(number)s") % {"failure": label, "number": case.number}


# --- adding up --------------------------------------------------------------------------------

DIMENSIONS = ("team", "kind", "person", "week")


def summarise(
    queryset: QuerySet[Failure], by: Sequence[str] = ("team", "kind")
) -> list[dict[str, Any]]:
    """Failures grouped by any of team, kind, person and week (Monday, in the desk's time
    zone), with their count, business minutes lost and money at risk, in one query.

    Each row has, for each dimension: team → ``team_id``, ``team_slug``, ``team_name``;
    kind → ``kind``, ``kind_label``; person → ``person_id``, ``person_name``; week → ``week``
    (a date); then ``count``, ``minutes_lost`` (float) and ``money_at_risk`` (Decimal).
    """
    unknown = [name for name in by if name not in DIMENSIONS]
    if unknown or not by:
        raise ValueError(f"summarise by any of {DIMENSIONS}, got {list(by)}")
    fields: list[str] = []
    order: list[Any] = []
    qs = queryset.order_by()
    if "week" in by:
        qs = qs.annotate(week=TruncWeek("occurred_at"))
    for name in by:
        if name == "team":
            fields += ["team_id", "team__slug", "team__name"]
            order.append(F("team__name").asc(nulls_last=True))
        elif name == "kind":
            fields.append("kind")
            order.append("kind")
        elif name == "person":
            fields += ["person_id", "person__username", "person__first_name", "person__last_name"]
            order.append(F("person__username").asc(nulls_last=True))
        else:
            fields.append("week")
            order.append("week")
    rows = (
        qs.values(*fields)
        .annotate(failures=Count("id"), minutes=Sum("minutes_lost"), money=Sum("money_at_risk"))
        .order_by(*order)
    )
    return [_summary_row(row, by) for row in rows]


def _summary_row(row: Mapping[str, Any], by: Iterable[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in by:
        if name == "team":
            out.update(team_id=row["team_id"], team_slug=row["team__slug"] or "")
            out["team_name"] = row["team__name"] or ""
        elif name == "kind":
            out.update(kind=row["kind"], kind_label=str(FailureKind(row["kind"]).label))
        elif name == "person":
            full = f"{row['person__first_name'] or ''} {row['person__last_name'] or ''}".strip()
            out.update(person_id=row["person_id"], person_name=full or row["person__username"])
        else:
            week = row["week"]
            out["week"] = timezone.localtime(week).date() if week is not None else None
    out["count"] = row["failures"]
    out["minutes_lost"] = float(row["minutes"] or 0)
    out["money_at_risk"] = Decimal(row["money"] or 0).quantize(CENT)
    return out


def totals(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The sum of ``summarise`` rows."""
    count, minutes, money = 0, 0.0, Decimal("0.00")
    for row in rows:
        count += row["count"]
        minutes += row["minutes_lost"]
        money += row["money_at_risk"]
    return {"count": count, "minutes_lost": minutes, "money_at_risk": money.quantize(CENT)}


def on_event(sender: Any, instance: Any, created: bool, raw: bool = False, **kwargs: Any) -> None:
    """Case events that are failures in themselves (same transaction as the event). Missed
    deadlines and declined handoffs are recorded by ``clocks``; anger by ``triage.attention``."""
    if not created or raw:
        return
    from pomogu.cases.choices import EventKind

    if instance.kind == EventKind.REOPENED:
        case = instance.case
        data = instance.data if isinstance(instance.data, dict) else {}
        record(
            FailureKind.REOPENED,
            key=f"reopened:event:{instance.pk}",
            case=case,
            person=case.owner,
            detail={"reason": data.get("reason", ""), "count": data.get("count")},
            summary=_("Reopened: %(reason)s") % {"reason": data.get("reason", "")},
        )
