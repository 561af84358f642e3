"""Every write to a case, one function per use case (R2).

Each function is atomic, locks the case it changes, checks the rule, saves, writes its timeline
event(s) and, when the customer must hear about it, queues the outbound mail in the same
transaction. None of them takes a request, form or schema: views, the API, mail intake, workers
and commands all call these.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection, transaction
from django.utils.translation import gettext as _

from pomogu.cases.choices import (
    TRANSITIONS,
    CaseState,
    Channel,
    ContractorTaskState,
    EventKind,
    HandoffState,
    MessageKind,
    Priority,
    Resolution,
)
from pomogu.cases.models import Case, ContractorTask, Handoff, Message, TimelineEvent
from pomogu.cases.signals import team_changed
from pomogu.contact.models import OutboxKind
from pomogu.contact.services import enqueue_email
from pomogu.core import clock
from pomogu.core.errors import (
    DomainError,
    InvalidTransition,
    InvariantViolation,
    NotFound,
    PermissionDenied,
    ReplyGuarded,
)
from pomogu.people import services as people
from pomogu.people.models import Customer, Team, User

# --- plumbing -------------------------------------------------------------------------------


def _event(case: Case, kind: EventKind, actor: User | None = None, **data: Any) -> TimelineEvent:
    return TimelineEvent.objects.create(case=case, kind=kind, actor=actor, data=data)


def _lock(case_id: int) -> Case:
    """Lock the case row for the rest of the transaction, then read it with its relations.

    The lock is taken on the bare row: with joins, PostgreSQL re-checks a waiting ``FOR UPDATE``
    against the other transaction's new row and would drop the case from the result if its team
    or owner changed meanwhile. SQLite takes the database write lock at the start of every
    transaction (decision 0003), so the lock is implicit there.
    """
    if not list(Case.objects.select_for_update().filter(pk=case_id).values_list("pk")):
        raise NotFound(_("No such case."))
    return Case.objects.select_related("customer", "team", "owner").get(pk=case_id)


def _move(
    case: Case, to: CaseState, actor: User | None, *, record: bool = True, **data: Any
) -> None:
    """Move the case along the state machine or raise InvalidTransition. ``record=False`` when
    the caller writes a more specific event (resolved, reopened, closed) itself."""
    if to == case.state:
        return
    if to not in TRANSITIONS[case.state]:
        raise InvalidTransition(
            _("A case cannot go from %(from)s to %(to)s.")
            % {"from": CaseState(case.state).label, "to": CaseState(to).label},
            from_state=case.state,
            to_state=to,
        )
    if record:
        _event(case, EventKind.STATE, actor, **{"from": case.state, "to": str(to)}, **data)
    case.state = to


def _is_lead_or_manager(user: User, team: Team) -> bool:
    return user.sees_all_teams or people.is_team_lead(user, team)


def _require_staff(actor: User) -> None:
    if not actor.is_active:
        raise PermissionDenied(_("This account is disabled."))


# --- opening a case and messages ----------------------------------------------------------

# NO_SAVEPOINT: the functions that open a case or add the customer's words run in their
# caller's transaction when there is one, without a savepoint of their own: they are on the
# path of every message received, and a savepoint costs two statements. A failure inside
# them rolls back the caller's whole transaction (or the caller's own savepoint, as mail
# intake keeps around each message); none of their callers catches an error and goes on in
# the same transaction. Called outside a transaction, each is one.


@transaction.atomic(savepoint=False)  # see NO_SAVEPOINT
def open_case(
    *,
    customer: Customer,
    subject: str,
    body: str,
    channel: Channel = Channel.EMAIL,
    team: Team | None = None,
    priority: Priority = Priority.NORMAL,
    actor: User | None = None,
    language: str = "",
    message_id: str = "",
    body_html: str = "",
) -> Case:
    """Open a case for a customer's request (R1, R2).

    Any staff member may open a case on a customer's behalf (``actor``); the first message is
    always the customer's words. The case gets its team (when none is given, the triage
    router chooses, and records why) and an owner at once: it is never without one. Writes
    "opened" and "message" events.
    """
    case, _message = open_case_with_message(
        customer=customer,
        subject=subject,
        body=body,
        channel=channel,
        team=team,
        priority=priority,
        actor=actor,
        language=language,
        message_id=message_id,
        body_html=body_html,
    )
    return case


@transaction.atomic(savepoint=False)  # see NO_SAVEPOINT
def open_case_with_message(
    *,
    customer: Customer,
    subject: str,
    body: str,
    channel: Channel = Channel.EMAIL,
    team: Team | None = None,
    priority: Priority = Priority.NORMAL,
    actor: User | None = None,
    language: str = "",
    message_id: str = "",
    body_html: str = "",
    quoted: str = "",
) -> tuple[Case, Message]:
    """``open_case``, returning the first message too (mail intake keeps the mail's parts on
    it), with ``quoted``: the earlier mail the customer quoted, kept folded beside the text."""
    from pomogu.triage import services as triage

    subject = (subject or "").strip()[:300] or _("(no subject)")
    if not (body or "").strip():
        raise DomainError(_("A request needs some text."), code="empty_body")
    route = None
    if team is None:
        route = triage.route(subject, body, mailbox_team=None)
        team = route.team
    owner = people.pick_owner(team)
    # The display number is the row id (unless the case was imported with its own number).
    pk = _next_case_id()
    case = Case.objects.create(
        pk=pk,
        number=pk,
        subject=subject,
        customer=customer,
        team=team,
        owner=owner,
        priority=priority,
        channel=channel,
        language=language,
        created_by=actor,
        last_customer_message_at=clock.now(),
    )
    if pk is None:
        Case.objects.filter(pk=case.pk, number__isnull=True).update(number=case.pk)
        case.number = case.pk
    opened = TimelineEvent(
        case=case,
        kind=EventKind.OPENED,
        actor=actor,
        data={
            "channel": str(channel),
            "team": team.name,
            "owner": owner.username,
            "on_behalf": actor is not None,
        },
    )
    message = _record_customer_words(
        case,
        customer=customer,
        actor=actor,
        channel=channel,
        body=body,
        body_html=body_html,
        language=language,
        message_id=message_id,
        quoted=quoted,
        events_before=[opened],
    )
    if route is not None:
        triage.record(case, route)
    return case, message


def _next_case_id() -> int | None:
    """On PostgreSQL, the id the next case gets, so that its number is written with the row:
    setting it afterwards rewrote the row and every index of the table (the number's is one),
    the full-text index of subjects included. SQLite has no sequence to ask."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence('cases_case', 'id'))")
        return int(cursor.fetchone()[0])


def thanks_only(text: str) -> bool:
    """A mere thank-you, with nothing to answer (``triage.recurrence.thanks_only``)."""
    from pomogu.triage.recurrence import thanks_only as only_thanks

    return bool(only_thanks(text))


def _record_customer_words(
    case: Case,
    *,
    customer: Customer,
    actor: User | None,
    channel: Channel,
    body: str,
    body_html: str,
    language: str,
    message_id: str,
    quoted: str = "",
    events_before: Sequence[TimelineEvent] = (),
) -> Message:
    """The customer's message on the case (as they sent it, or as staff logged it for them),
    with its timeline event; then triage reads it (language, anger: R3). The message is read
    before it is written, so its row is inserted once, complete; its event goes in one insert
    with ``events_before`` (the case's "opened")."""
    from pomogu.triage import attention
    from pomogu.triage.text import detect_language

    language = detect_language(body) or language
    anger = attention.read(body, language)
    message = Message.objects.create(
        case=case,
        kind=MessageKind.INBOUND,
        customer=customer,
        author=actor,
        channel=channel,
        body=body,
        quoted=quoted,
        body_html=body_html,
        language=language,
        message_id=message_id,
        **attention.fields(anger),
    )
    TimelineEvent.objects.create_many(
        [
            *events_before,
            TimelineEvent(
                case=case, kind=EventKind.MESSAGE, actor=actor, data={"message_id": message.pk}
            ),
        ]
    )
    attention.notice(case, message, anger)
    return message


@transaction.atomic
def open_case_for(
    *,
    email: str = "",
    name: str = "",
    phone: str = "",
    subject: str,
    body: str,
    channel: Channel = Channel.EMAIL,
    team: Team | None = None,
    priority: Priority = Priority.NORMAL,
    actor: User | None = None,
) -> Case:
    """Identify (or create) the customer by email or phone and open their case, in one
    transaction: a refused case leaves no orphan customer behind.

    The same problem as one of the customer's cases solved within the warranty window (R5)
    is not a new case: that case reopens with this message (and is returned); a possible
    match opens the new case linked to it for an agent to decide."""
    from pomogu.cases import recurrence

    customer, new = people.identify_customer(email=email, name=name, phone=phone)
    # Someone unknown until this request has no solved problem that could come back.
    found = None if new else recurrence.find_safely(customer, subject, body)
    if found is not None and found.certain:
        message = add_customer_message(
            found.case_id,
            customer=customer,
            body=body,
            channel=channel,
            actor=actor,
            reopen_reason=recurrence.reopen_reason(found),
        )
        return message.case
    case = open_case(
        customer=customer,
        subject=subject,
        body=body,
        channel=channel,
        team=team,
        priority=priority,
        actor=actor,
    )
    if found is not None:
        recurrence.link(case, found)  # perhaps the old problem: an agent decides
    return case


@transaction.atomic(savepoint=False)  # see NO_SAVEPOINT
def add_customer_message(
    case_id: int,
    *,
    customer: Customer,
    body: str,
    channel: Channel = Channel.EMAIL,
    actor: User | None = None,
    message_id: str = "",
    body_html: str = "",
    language: str = "",
    reopen_reason: str = "",
    quoted: str = "",
) -> Message:
    """Record a new message from the customer on an existing case (``quoted``: what of the
    earlier mail it quotes, kept folded beside the text).

    A case waiting on the customer goes back to open; a resolved or closed case is reopened
    (the customer is not told to start again; ``reopen_reason`` says why, for the record),
    unless the message only says thank you.
    """
    case = _lock(case_id)
    if not body.strip():
        raise DomainError(_("The message is empty."), code="empty_body")
    message = _record_customer_words(
        case,
        customer=customer,
        actor=actor,
        channel=channel,
        body=body,
        body_html=body_html,
        language=language,
        message_id=message_id,
        quoted=quoted,
    )
    case.last_customer_message_at = clock.now()
    if case.state in (CaseState.RESOLVED, CaseState.CLOSED) and thanks_only(body):
        pass  # "Спасибо, всё работает": kept on the case, which stays solved (R5)
    elif case.state in (CaseState.RESOLVED, CaseState.CLOSED):
        _reopen(case, actor, reason=reopen_reason or _("The customer wrote again."))
    elif case.state == CaseState.WAITING_CUSTOMER:
        _move(case, CaseState.OPEN, actor)
    case.save()
    return message


@transaction.atomic
def add_message(
    case_id: int,
    *,
    actor: User,
    body: str,
    kind: MessageKind = MessageKind.REPLY,
    wait_for_customer: bool = False,
    override_reason: str = "",
) -> Message:
    """An agent's reply to the customer or internal note.

    A reply is queued in the outbox in the same transaction (REL-5), counts as the first
    response, and opens a new case; ``wait_for_customer`` parks the case until they answer.
    A note changes nothing the customer sees.

    A reply passes the reply guard first (R7): a brush-off ("это не моя компетенция", "call
    back later") is not sent (``ReplyGuarded``, with the phrases and a better wording) unless
    the agent gives an ``override_reason``; an override is on the timeline and in the register.
    """
    from pomogu.contact.services import review_reply

    _require_staff(actor)
    if kind not in (MessageKind.REPLY, MessageKind.NOTE):
        raise DomainError(_("Staff can write replies and notes."), code="invalid_kind")
    if not (body or "").strip():
        raise DomainError(_("The message is empty."), code="empty_body")
    guarded = review_reply(body) if kind == MessageKind.REPLY else None
    if guarded is not None and guarded.flagged and not override_reason.strip():
        raise ReplyGuarded(
            _(
                "This reply sends the customer away or blames someone else: %(phrases)s. "
                "Say what you will do and by when (for example: %(suggestion)s), or send it "
                "anyway with a reason."
            )
            % {
                "phrases": ", ".join(f"«{f.text}»" for f in guarded.findings),
                "suggestion": guarded.suggestion,
            },
            **guarded.to_dict(),
        )
    case = _lock(case_id)
    message = Message.objects.create(
        case=case, kind=kind, author=actor, channel=Channel.EMAIL, body=body
    )
    if kind == MessageKind.NOTE:
        _event(case, EventKind.NOTE, actor, message_id=message.pk)
        case.save(update_fields=["updated_at"])
        return message

    if case.state in (CaseState.RESOLVED, CaseState.CLOSED):
        raise InvalidTransition(
            _("This case is %(state)s: reopen it before replying.")
            % {"state": CaseState(case.state).label}
        )
    now = clock.now()
    delivered_by = ""
    if case.customer.email:
        last_inbound = case.messages.filter(kind=MessageKind.INBOUND).exclude(message_id="").last()
        headers = {}
        if last_inbound is not None:
            headers = {
                "In-Reply-To": last_inbound.message_id,
                "References": last_inbound.message_id,
            }
        outbound = enqueue_email(
            to_email=case.customer.email,
            subject=reply_subject(case),
            body=body,
            kind=OutboxKind.REPLY,
            case=case,
            message=message,
            headers=headers,
        )
        message.message_id = outbound.rfc_message_id
        message.save(update_fields=["message_id"])
        delivered_by = "email"
    _event(case, EventKind.REPLY, actor, message_id=message.pk, delivered_by=delivered_by)
    if guarded is not None and guarded.flagged:
        _guard_overridden(case, actor, message, guarded, override_reason.strip())
    if case.first_response_at is None:
        case.first_response_at = now
    if wait_for_customer:
        _move(case, CaseState.WAITING_CUSTOMER, actor)
    elif case.state == CaseState.NEW:
        _move(case, CaseState.OPEN, actor)
    case.save()
    return message


def _guard_overridden(case: Case, actor: User, message: Message, guarded: Any, reason: str) -> None:
    """The agent sent a guarded reply anyway: on the timeline and in the register (R7, R8)."""
    from pomogu.failures.services import record

    phrases = [finding.text for finding in guarded.findings]
    _event(
        case,
        EventKind.GUARD_OVERRIDDEN,
        actor,
        message_id=message.pk,
        phrases=phrases,
        reason=reason[:500],
    )
    record(
        "guard_overridden",
        key=f"guard:message:{message.pk}",
        case=case,
        person=actor,
        detail={"message_id": message.pk, "phrases": phrases, "reason": reason[:500]},
        summary=_("Reply sent despite the guard (%(phrases)s): %(reason)s")
        % {"phrases": ", ".join(phrases), "reason": reason[:200]},
    )


def reply_subject(case: Case) -> str:
    subject = case.subject
    if not subject.lower().startswith(("re:", "на:")):
        subject = "Re: " + subject
    return f"{subject} {case.tag}"


# --- ownership ------------------------------------------------------------------------------


@transaction.atomic
def assign(case_id: int, *, actor: User, to_user: User) -> Case:
    """A team lead (or manager) gives the case to a member of its team. The new owner is a
    present member; giving a case away between peers is a handoff, not an assignment."""
    _require_staff(actor)
    case = _lock(case_id)
    if not _is_lead_or_manager(actor, case.team):
        raise PermissionDenied(_("Only the team lead can assign; ask for a handoff instead."))
    if to_user is None or not to_user.is_active:
        raise InvariantViolation(_("A case must always have an active owner."))
    if not people.is_member(to_user, case.team):
        raise DomainError(
            _("%(user)s is not in team %(team)s.") % {"user": to_user, "team": case.team},
            code="not_in_team",
        )
    if to_user.pk == case.owner_id:
        return case
    _set_owner(case, to_user, actor)
    case.save()
    return case


def _set_owner(case: Case, to_user: User, actor: User | None, **data: Any) -> None:
    if to_user is None:
        raise InvariantViolation(_("A case must always have an owner."))
    _event(
        case,
        EventKind.ASSIGNED,
        actor,
        **{"from": case.owner.username if case.owner_id else None, "to": to_user.username},
        **data,
    )
    case.owner = to_user


@transaction.atomic
def request_handoff(
    case_id: int,
    *,
    actor: User,
    to_team: Team,
    reason: str,
    to_user: User | None = None,
) -> Handoff:
    """Offer the case to another team or person (R2). The sender stays the owner, and
    accountable, until the receiver accepts. One handoff waits at a time."""
    _require_staff(actor)
    case = _lock(case_id)
    if not case.is_active:
        raise InvalidTransition(_("Only an active case can be handed off."))
    if actor.pk != case.owner_id and not _is_lead_or_manager(actor, case.team):
        raise PermissionDenied(_("Only the owner or the team lead can hand a case off."))
    if not (reason or "").strip():
        raise DomainError(_("Say why the case should move."), code="reason_required")
    if to_user is not None:
        if not to_user.is_active or not people.is_member(to_user, to_team):
            raise DomainError(
                _("%(user)s is not in team %(team)s.") % {"user": to_user, "team": to_team},
                code="not_in_team",
            )
        if to_user.pk == case.owner_id:
            raise DomainError(_("This person already owns the case."), code="already_owner")
    elif to_team.pk == case.team_id:
        raise DomainError(
            _("The case is already with %(team)s; name a person.") % {"team": to_team},
            code="same_team",
        )
    if case.handoffs.filter(state=HandoffState.REQUESTED).exists():
        raise DomainError(
            _("A handoff of this case is already waiting for an answer."), code="handoff_pending"
        )
    handoff = Handoff.objects.create(
        case=case,
        from_user=case.owner,
        from_team=case.team,
        to_team=to_team,
        to_user=to_user,
        reason=reason.strip(),
    )
    _event(
        case,
        EventKind.HANDOFF_REQUESTED,
        actor,
        handoff_id=handoff.pk,
        to_team=to_team.name,
        to_user=to_user.username if to_user else None,
        reason=handoff.reason,
    )
    case.save(update_fields=["updated_at"])
    return handoff


def can_answer_handoff(user: User, handoff: Handoff) -> bool:
    if user.sees_all_teams:
        return True
    if handoff.to_user_id is not None:
        return user.pk == handoff.to_user_id or people.is_team_lead(user, handoff.to_team)
    return people.is_member(user, handoff.to_team)


def _lock_pending_handoff(handoff_id: int) -> tuple[Handoff, Case]:
    handoff = Handoff.objects.filter(pk=handoff_id).first()
    if handoff is None:
        raise NotFound(_("No such handoff."))
    case = _lock(handoff.case_id)
    Handoff.objects.select_for_update().filter(pk=handoff_id).values_list("pk").get()
    handoff = Handoff.objects.select_related("to_team", "to_user").get(pk=handoff_id)
    if handoff.state != HandoffState.REQUESTED:
        raise InvalidTransition(
            _("This handoff was already %(state)s.")
            % {"state": HandoffState(handoff.state).label.lower()},
            code="handoff_closed",
        )
    return handoff, case


@transaction.atomic
def accept_handoff(handoff_id: int, *, actor: User) -> Handoff:
    """The receiver accepts: from now on they own the case (and their team has it).
    Writes "handoff accepted" and "owner changed" (and "team changed" if it moves team)."""
    _require_staff(actor)
    handoff, case = _lock_pending_handoff(handoff_id)
    if not can_answer_handoff(actor, handoff):
        raise PermissionDenied(_("This handoff is addressed to someone else."))
    new_owner = handoff.to_user or actor
    if not people.is_member(new_owner, handoff.to_team):
        raise DomainError(
            _("%(user)s is not in team %(team)s.") % {"user": new_owner, "team": handoff.to_team},
            code="not_in_team",
        )
    now = clock.now()
    handoff.state = HandoffState.ACCEPTED
    handoff.decided_at = now
    handoff.decided_by = actor
    handoff.save(update_fields=["state", "decided_at", "decided_by"])
    _event(case, EventKind.HANDOFF_ACCEPTED, actor, handoff_id=handoff.pk)
    from_team = case.team
    if case.team_id != handoff.to_team_id:
        _event(case, EventKind.TEAM, actor, **{"from": case.team.name, "to": handoff.to_team.name})
        case.team = handoff.to_team
    _set_owner(case, new_owner, actor, handoff_id=handoff.pk)
    case.save()
    if from_team.pk != handoff.to_team_id:
        team_changed.send(
            sender=Case, case=case, from_team=from_team, to_team=case.team, actor=actor, teach=True
        )
    return handoff


@transaction.atomic
def move_to_team(
    case_id: int, *, actor: User, team: Team, reason: str = "", teach: bool = True
) -> Case:
    """Re-route a case to another team at once (a misrouted request, or a router that was
    unsure). The case gets an owner in the new team straight away: it is never without one.
    Writes "team changed" and "owner changed"."""
    _require_staff(actor)
    case = _lock(case_id)
    if case.team_id == team.pk:
        return case
    from_team = case.team
    _event(case, EventKind.TEAM, actor, **{"from": from_team.name, "to": team.name}, reason=reason)
    case.team = team
    if not people.is_member(case.owner, team):
        _set_owner(case, people.pick_owner(team), actor, reason=reason)
    case.save()
    team_changed.send(
        sender=Case, case=case, from_team=from_team, to_team=team, actor=actor, teach=teach
    )
    return case


@transaction.atomic
def decline_handoff(handoff_id: int, *, actor: User, reason: str) -> Handoff:
    """The receiver declines, saying why. The case stays with the sender, who still owns it;
    the refusal is on the timeline (and, with the register, counted as a bounced handoff)."""
    _require_staff(actor)
    handoff, case = _lock_pending_handoff(handoff_id)
    if not can_answer_handoff(actor, handoff):
        raise PermissionDenied(_("This handoff is addressed to someone else."))
    if not (reason or "").strip():
        raise DomainError(
            _("Say why you decline, so the owner knows what to do."), code="reason_required"
        )
    handoff.state = HandoffState.DECLINED
    handoff.decided_at = clock.now()
    handoff.decided_by = actor
    handoff.decline_reason = reason.strip()
    handoff.save(update_fields=["state", "decided_at", "decided_by", "decline_reason"])
    _event(case, EventKind.HANDOFF_DECLINED, actor, handoff_id=handoff.pk, reason=reason.strip())
    case.save(update_fields=["updated_at"])
    return handoff


@transaction.atomic
def time_out_handoff(handoff_id: int) -> Handoff:
    """Nobody accepted in time (R4): the case goes to the receiving team anyway, owned by its
    lead (or whoever stands in for them), who can pass it on inside the team. The sender is no
    longer left holding a case they said is not theirs, and the receiver cannot stall it."""
    handoff, case = _lock_pending_handoff(handoff_id)
    now = clock.now()
    handoff.state = HandoffState.TIMED_OUT
    handoff.decided_at = now
    handoff.save(update_fields=["state", "decided_at"])
    _event(case, EventKind.HANDOFF_TIMED_OUT, None, handoff_id=handoff.pk)
    to_team = handoff.to_team
    if to_team.lead is not None and to_team.lead.is_active:
        new_owner = people.stand_in_for(to_team.lead, now)
    else:
        new_owner = people.pick_owner(to_team, now)
    from_team = case.team
    if case.team_id != to_team.pk:
        _event(case, EventKind.TEAM, None, **{"from": case.team.name, "to": to_team.name})
        case.team = to_team
    if case.owner_id != new_owner.pk:
        _set_owner(case, new_owner, None, handoff_id=handoff.pk, reason="handoff timed out")
    case.save()
    if from_team.pk != to_team.pk:
        team_changed.send(
            sender=Case, case=case, from_team=from_team, to_team=to_team, actor=None, teach=True
        )
    return handoff


@transaction.atomic
def cancel_handoff(handoff_id: int, *, actor: User) -> Handoff:
    """The sender withdraws a handoff nobody has answered yet."""
    _require_staff(actor)
    handoff, case = _lock_pending_handoff(handoff_id)
    if actor.pk not in (handoff.from_user_id, case.owner_id) and not _is_lead_or_manager(
        actor, case.team
    ):
        raise PermissionDenied(_("Only the sender can withdraw a handoff."))
    handoff.state = HandoffState.CANCELLED
    handoff.decided_at = clock.now()
    handoff.decided_by = actor
    handoff.save(update_fields=["state", "decided_at", "decided_by"])
    _event(case, EventKind.HANDOFF_CANCELLED, actor, handoff_id=handoff.pk)
    case.save(update_fields=["updated_at"])
    return handoff


# --- contractor work ------------------------------------------------------------------------


@transaction.atomic
def add_contractor_task(
    case_id: int,
    *,
    actor: User,
    contractor: str,
    description: str,
    due_at: Any = None,
    contact: str = "",
    wait: bool = True,
) -> ContractorTask:
    """Ask a contractor to do part of the work (R2). The case stays ours and keeps its owner;
    ``wait`` marks it "waiting on contractor", which does not stop the customer's clock."""
    _require_staff(actor)
    case = _lock(case_id)
    if not case.is_active:
        raise InvalidTransition(_("Only an active case can get contractor work."))
    if not contractor.strip() or not description.strip():
        raise DomainError(_("Name the contractor and what they must do."), code="task_incomplete")
    task = ContractorTask.objects.create(
        case=case,
        contractor=contractor.strip(),
        contact=contact.strip(),
        description=description.strip(),
        due_at=due_at,
        created_by=actor,
    )
    _event(
        case,
        EventKind.CONTRACTOR_TASK,
        actor,
        task_id=task.pk,
        contractor=task.contractor,
        due_at=due_at.isoformat() if due_at else None,
    )
    if wait:
        _move(case, CaseState.WAITING_CONTRACTOR, actor)
    case.save()
    return task


@transaction.atomic
def finish_contractor_task(
    task_id: int, *, actor: User, outcome: str, cancelled: bool = False
) -> ContractorTask:
    """Record the contractor's result. When no task is left open the case goes back to open:
    the work is ours again."""
    _require_staff(actor)
    task = ContractorTask.objects.filter(pk=task_id).first()
    if task is None:
        raise NotFound(_("No such task."))
    case = _lock(task.case_id)
    task = ContractorTask.objects.select_for_update().get(pk=task_id)
    if task.state != ContractorTaskState.OPEN:
        raise InvalidTransition(_("This task is already finished."))
    task.state = ContractorTaskState.CANCELLED if cancelled else ContractorTaskState.DONE
    task.finished_at = clock.now()
    task.outcome = outcome.strip()
    task.save(update_fields=["state", "finished_at", "outcome"])
    _event(
        case,
        EventKind.CONTRACTOR_TASK_DONE,
        actor,
        task_id=task.pk,
        state=task.state,
        outcome=task.outcome,
    )
    still_open = case.contractor_tasks.filter(state=ContractorTaskState.OPEN).exists()
    if case.state == CaseState.WAITING_CONTRACTOR and not still_open:
        _move(case, CaseState.OPEN, actor)
    case.save()
    return task


# --- state ----------------------------------------------------------------------------------


@transaction.atomic
def set_state(case_id: int, *, actor: User, state: CaseState) -> Case:
    """Move an active case between open and waiting; resolving, closing and reopening have
    their own functions because they carry their own rules."""
    _require_staff(actor)
    if state not in (CaseState.OPEN, CaseState.WAITING_CUSTOMER, CaseState.WAITING_CONTRACTOR):
        raise InvalidTransition(_("Use resolve, close or reopen for that."))
    case = _lock(case_id)
    if (
        state == CaseState.WAITING_CONTRACTOR
        and not case.contractor_tasks.filter(state=ContractorTaskState.OPEN).exists()
    ):
        raise DomainError(
            _("Add the contractor's task first, so their work has a record and a due date."),
            code="no_contractor_task",
        )
    _move(case, state, actor)
    case.save()
    return case


@transaction.atomic
def set_priority(case_id: int, *, actor: User | None, priority: Priority, reason: str = "") -> Case:
    """Change how urgent the case is: its owner, the team lead or a manager (``actor`` None:
    the desk itself, for example when anger raises it)."""
    case = _lock(case_id)
    if (
        actor is not None
        and actor.pk != case.owner_id
        and not _is_lead_or_manager(actor, case.team)
    ):
        raise PermissionDenied(_("Only the owner, the team lead or a manager sets the priority."))
    if case.priority != priority:
        _event(
            case,
            EventKind.PRIORITY,
            actor,
            **{"from": case.priority, "to": int(priority)},
            reason=reason,
        )
        case.priority = priority
        case.save()
    return case


@transaction.atomic
def resolve(
    case_id: int,
    *,
    actor: User,
    resolution: Resolution = Resolution.SOLVED,
    summary: str = "",
) -> Case:
    """Mark the case solved (R2). Refused while a handoff waits or contractor work is open, and
    before the customer has had any answer: "not our department" is not a resolution."""
    _require_staff(actor)
    case = _lock(case_id)
    if actor.pk != case.owner_id and not _is_lead_or_manager(actor, case.team):
        raise PermissionDenied(_("Only the owner or the team lead can resolve this case."))
    if CaseState.RESOLVED not in TRANSITIONS[case.state]:
        raise InvalidTransition(
            _("A case cannot go from %(from)s to %(to)s.")
            % {"from": CaseState(case.state).label, "to": CaseState.RESOLVED.label}
        )
    if resolution not in Resolution.values:
        raise DomainError(_("Unknown resolution."), code="invalid_resolution")
    if case.handoffs.filter(state=HandoffState.REQUESTED).exists():
        raise DomainError(
            _("A handoff is waiting for an answer; settle it first."), code="handoff_pending"
        )
    if case.contractor_tasks.filter(state=ContractorTaskState.OPEN).exists():
        raise DomainError(
            _("Contractor work is still open on this case; the customer is still waiting."),
            code="contractor_task_open",
        )
    answered = case.messages.filter(kind=MessageKind.REPLY).exists()
    if not answered and resolution != Resolution.WITHDRAWN:
        raise DomainError(
            _("The customer has not had an answer yet. Reply first, then resolve."),
            code="customer_not_answered",
        )
    _mark_resolved(case, actor, resolution, summary)
    case.save()
    return case


def _mark_resolved(case: Case, actor: User, resolution: Resolution, summary: str) -> None:
    """Move the case to resolved with its resolution, and say so on the timeline (not saved)."""
    _move(case, CaseState.RESOLVED, actor, record=False)
    case.resolved_at = clock.now()
    case.resolved_by = actor
    case.resolution = resolution
    case.resolution_summary = summary.strip()
    _event(case, EventKind.RESOLVED, actor, resolution=str(resolution), summary=summary.strip())


def _reopen(case: Case, actor: User | None, *, reason: str) -> None:
    previous = case.state
    _move(case, CaseState.OPEN, actor, record=False)
    case.reopen_count += 1
    case.closed_at = None
    # The person who resolved it answers for the repair (R5), or whoever stands in for them.
    resolver = case.resolved_by
    if resolver is not None and resolver.is_active:
        keeper = people.stand_in_for(resolver)
        if keeper.pk != case.owner_id:
            _set_owner(case, keeper, actor, reason="reopen")
    _event(
        case,
        EventKind.REOPENED,
        actor,
        reason=reason,
        count=case.reopen_count,
        **{"from": previous},
    )


@transaction.atomic
def reopen(case_id: int, *, actor: User | None, reason: str) -> Case:
    """Reopen a resolved or closed case; it goes back to whoever resolved it (R5)."""
    case = _lock(case_id)
    if case.state not in (CaseState.RESOLVED, CaseState.CLOSED):
        raise InvalidTransition(_("Only a resolved or closed case can be reopened."))
    if not (reason or "").strip():
        raise DomainError(_("Say why the case is reopened."), code="reason_required")
    _reopen(case, actor, reason=reason.strip())
    case.save()
    return case


@transaction.atomic
def close(case_id: int, *, actor: User | None) -> Case:
    """Close a resolved case for good (normally done by the runner after the warranty window;
    a customer's new message still reopens it)."""
    case = _lock(case_id)
    if case.state != CaseState.RESOLVED:
        raise InvalidTransition(
            _("A case cannot go from %(from)s to %(to)s.")
            % {"from": CaseState(case.state).label, "to": CaseState.CLOSED.label}
        )
    _move(case, CaseState.CLOSED, actor, record=False)
    case.closed_at = clock.now()
    _event(case, EventKind.CLOSED, actor)
    case.save()
    return case
