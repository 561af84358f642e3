"""A repair is a promise too (R5): the same problem coming back is the old case, not "a new
problem"; and agents can merge and split cases.

``find`` looks at the customer's cases resolved within their team's warranty window
(``Team.warranty_days``, else ``POMOGU_WARRANTY_DAYS``) with the matcher of
``triage.recurrence``. A certain match reopens the old case with the new message (intake calls
``cases.services.add_customer_message`` with it): it goes back to whoever resolved it, or their
deputy, and the reopen is on the register against the team that resolved it. An uncertain one
opens a new case linked to the old as a possible recurrence (``link``), for an agent to confirm
(the new case is merged into the reopened old one) or dismiss.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from pomogu.cases import services
from pomogu.cases.choices import CaseState, EventKind, MessageKind, Resolution
from pomogu.cases.models import Case, Message
from pomogu.core import clock
from pomogu.core.errors import DomainError, InvalidTransition, PermissionDenied
from pomogu.people.models import Customer, User

log = logging.getLogger(__name__)

CANDIDATES = 20  # the customer's most recently resolved cases the matcher looks at
MAX_WINDOW_DAYS = 366  # no warranty window is longer than this
TEXT_PER_CASE = 4000


def warranty_days(case: Case) -> int:
    days = case.team.warranty_days
    return int(days if days is not None else settings.POMOGU["WARRANTY_DAYS"])


def find(customer: Customer, subject: str, text: str, *, now: dt.datetime | None = None) -> Any:
    """The customer's resolved case this message is the same problem as, if any: a
    ``triage.recurrence.Match`` (``certain`` or only possible), or None."""
    from pomogu.triage.recurrence import Candidate, match

    now = now or clock.now()
    # One query: the customer's recently resolved cases (a year back at most; each team's own
    # window is applied below). A new customer, the usual case, costs just this.
    resolved = list(
        Case.objects.filter(
            customer=customer,
            state__in=[CaseState.RESOLVED, CaseState.CLOSED],
            resolved_at__gte=now - dt.timedelta(days=MAX_WINDOW_DAYS),
            merged_into__isnull=True,
        )
        .exclude(resolution__in=[Resolution.DUPLICATE, Resolution.WITHDRAWN])
        .select_related("team")
        .order_by("-resolved_at")[:CANDIDATES]
    )
    if not resolved:
        return None
    in_window = [
        case
        for case in resolved
        if case.resolved_at is not None
        and case.resolved_at >= now - dt.timedelta(days=warranty_days(case))
    ]
    # The customer's words of every candidate in one query (the first few of each case).
    words: dict[int, list[str]] = {case.pk: [] for case in in_window}
    inbound = Message.objects.filter(case__in=in_window, kind=MessageKind.INBOUND)
    for case_id, body in inbound.order_by("case_id", "created_at", "id").values_list(
        "case_id", "body"
    ):
        if len(words[case_id]) < 5:
            words[case_id].append(body)
    candidates = [
        Candidate(
            case_id=case.pk,
            subject=case.subject,
            text="\n".join([*words[case.pk], case.resolution_summary])[:TEXT_PER_CASE],
            resolved_at=case.resolved_at,
            identifiers=frozenset(),
        )
        for case in in_window
        if case.resolved_at is not None
    ]
    if not candidates:
        return None
    # Each candidate was checked against its own team's window above; the matcher's window is
    # the longest, so it drops none of them.
    return match(f"{subject}\n{text}", candidates, now=now, window_days=MAX_WINDOW_DAYS)


def find_safely(customer: Customer, subject: str, text: str) -> Any:
    """``find``, but a failing matcher must not cost the customer's message: it then opens a
    new case as usual (and the error is logged)."""
    try:
        with transaction.atomic():
            return find(customer, subject, text)
    except Exception:
        log.exception("recurrence matching failed; the message opens a new case")
        return None


def last_resolved(customer: Customer, *, now: dt.datetime | None = None) -> Case | None:
    """The customer's most recently resolved case still within its warranty window."""
    now = now or clock.now()
    case = (
        Case.objects.filter(
            customer=customer,
            state__in=[CaseState.RESOLVED, CaseState.CLOSED],
            merged_into__isnull=True,
            resolved_at__isnull=False,
        )
        .select_related("team")
        .order_by("-resolved_at")
        .first()
    )
    if case is None or case.resolved_at is None:
        return None
    if case.resolved_at < now - dt.timedelta(days=warranty_days(case)):
        return None
    return case


def reopen_reason(found: Any) -> str:
    return _("The problem came back (%(why)s).") % {"why": "; ".join(found.reasons) or "—"}


def link(case: Case, found: Any) -> None:
    """The new case may be the old problem again: linked, for an agent to decide."""
    case.possible_recurrence_of_id = found.case_id
    case.save(update_fields=["possible_recurrence_of"])
    services._event(
        case,
        EventKind.RECURRENCE,
        None,
        of_case_id=found.case_id,
        score=round(float(found.score), 3),
        reasons=list(found.reasons),
    )


@transaction.atomic
def settle(case_id: int, *, actor: User, same: bool) -> Case:
    """An agent decides a possible recurrence. The same problem: the new case is merged into
    the old, which is reopened (and goes back to who resolved it). Not the same: the link goes."""
    case = services._lock(case_id)
    services._require_staff(actor)
    old_id = case.possible_recurrence_of_id
    if old_id is None:
        raise InvalidTransition(_("This case is not linked to an earlier one."))
    case.possible_recurrence_of = None
    case.save(update_fields=["possible_recurrence_of"])
    services._event(case, EventKind.RECURRENCE_SETTLED, actor, of_case_id=old_id, same=bool(same))
    if same:
        return merge(
            case.pk,
            into_id=old_id,
            actor=actor,
            reopen_reason=_("The problem came back (confirmed by %(who)s).")
            % {"who": actor.display_name},
        )
    return case


@transaction.atomic
def merge(source_id: int, *, into_id: int, actor: User, reopen_reason: str = "") -> Case:
    """Move the messages of one case into another of the same customer; the source is
    resolved as a duplicate pointing at the target. A resolved target is reopened: the
    customer's problem is open again."""
    services._require_staff(actor)
    if source_id == into_id:
        raise DomainError(_("A case cannot be merged into itself."), code="merge_self")
    # Lock both in id order, so two merges never wait for each other in a circle.
    first, second = sorted([source_id, into_id])
    locked = {first: services._lock(first), second: services._lock(second)}
    source, target = locked[source_id], locked[into_id]
    if source.customer_id != target.customer_id:
        raise DomainError(
            _("Only cases of the same customer can be merged."), code="merge_customer"
        )
    for case in (source, target):
        if not _may_change(actor, case):
            raise PermissionDenied(_("Only the owner or the team lead can merge this case."))
    if source.merged_into_id is not None:
        raise InvalidTransition(_("This case was already merged."))
    moved = Message.objects.filter(case=source).update(case=target)
    source.merged_into = target
    if source.state not in (CaseState.RESOLVED, CaseState.CLOSED):
        services._mark_resolved(
            source,
            actor,
            Resolution.DUPLICATE,
            _("Merged into case #%(number)s") % {"number": target.number},
        )
    source.save()
    services._event(source, EventKind.MERGED, actor, into_case_id=target.pk, messages=moved)
    services._event(target, EventKind.MERGED, actor, from_case_id=source.pk, messages=moved)
    if target.state in (CaseState.RESOLVED, CaseState.CLOSED):
        services._reopen(
            target,
            actor,
            reason=reopen_reason
            or _("Case #%(number)s was merged into it.") % {"number": source.number},
        )
    target.last_customer_message_at = max(
        filter(None, [target.last_customer_message_at, source.last_customer_message_at]),
        default=None,
    )
    target.save()
    return target


@transaction.atomic
def split(case_id: int, *, message_ids: list[int], actor: User, subject: str) -> Case:
    """Take some of a case's customer messages into a case of their own (two problems in one
    thread): same customer, team and owner; the original keeps the rest."""
    services._require_staff(actor)
    case = services._lock(case_id)
    if not _may_change(actor, case):
        raise PermissionDenied(_("Only the owner or the team lead can split this case."))
    if not subject.strip():
        raise DomainError(_("Give the new case a subject."), code="subject_required")
    chosen = Message.objects.filter(case=case, pk__in=message_ids)
    if chosen.count() != len(set(message_ids)) or not message_ids:
        raise DomainError(_("Choose messages of this case."), code="split_messages")
    if chosen.exclude(kind=MessageKind.INBOUND).exists():
        raise DomainError(_("Only the customer's messages can be split off."), code="split_kind")
    if (
        Message.objects.filter(case=case, kind=MessageKind.INBOUND)
        .exclude(pk__in=message_ids)
        .count()
        == 0
    ):
        raise DomainError(
            _("The case must keep at least one of the customer's messages."), code="split_all"
        )
    new = Case.objects.create(
        customer=case.customer,
        team=case.team,
        owner=case.owner,
        subject=subject.strip()[:300],
        channel=case.channel,
        language=case.language,
        created_by=actor,
        priority=case.priority,
        last_customer_message_at=clock.now(),
    )
    Case.objects.filter(pk=new.pk, number__isnull=True).update(number=new.pk)
    new.number = new.pk
    moved = chosen.update(case=new)
    # "Opened" starts the new case's clocks like any other case's.
    services._event(
        new,
        EventKind.OPENED,
        actor,
        channel=str(case.channel),
        team=case.team.name,
        owner=case.owner.username,
        on_behalf=True,
        split_from=case.pk,
    )
    services._event(new, EventKind.SPLIT, actor, from_case_id=case.pk, messages=moved)
    services._event(case, EventKind.SPLIT, actor, into_case_id=new.pk, messages=moved)
    return new


def _may_change(actor: User, case: Case) -> bool:
    return actor.pk == case.owner_id or services._is_lead_or_manager(actor, case.team)
