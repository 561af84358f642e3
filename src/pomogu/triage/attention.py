"""An angry customer is never ignored (rule R3).

Every customer message is read by the anger detector when it is recorded. Its score and
reasons are stored on the message (the text itself is kept as written). At
``POMOGU_ANGER_PRIORITY_AT`` (percent) the case becomes at least high priority; at
``POMOGU_ANGER_NOTIFY_AT`` it becomes urgent and the team lead (or whoever stands in for them)
is told, on their "my work" page and by email, with the case's history: how long the customer
has waited, what went unanswered, the handoffs, declines and reopenings.

All of it happens in the transaction that records the message: the message, its score, the
priority change, the notification and its email commit together or not at all.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from pomogu.cases.choices import EventKind, HandoffState, MessageKind, Priority
from pomogu.cases.models import Case, Message, TimelineEvent
from pomogu.core import clock
from pomogu.triage.anger import Anger, assess

if TYPE_CHECKING:
    from pomogu.people.models import User

NOTIFICATION_KIND = "anger"


def thresholds() -> tuple[float, float]:
    """(raise priority at, notify the lead at), as scores from 0 to 1."""
    config = settings.POMOGU
    return config["ANGER_PRIORITY_AT"] / 100, config["ANGER_NOTIFY_AT"] / 100


def read(body: str, language: str) -> Anger:
    """The anger of a customer's message, before it is stored (see ``fields``)."""
    return assess(body, language=language if language in ("ru", "en") else "")


def fields(anger: Anger) -> dict[str, Any]:
    """The message's columns that keep ``anger``: the score and the reasons, each quoting the
    customer's words."""
    return {
        "anger_score": anger.score,
        "anger_reasons": [
            {"kind": r.kind, "fragment": r.fragment, "weight": r.weight} for r in anger.reasons
        ],
    }


def notice(case: Case, message: Message, anger: Anger) -> Anger:
    """Act on the anger of a customer's message (see the module docstring): ``anger`` is what
    ``read`` found, stored with the message (``fields``) when it was written.

    ``case`` is the caller's in-memory case; its priority is updated in memory and in the
    database, so a later ``case.save()`` by the caller keeps it.
    """
    raise_at, notify_at = thresholds()
    if anger.score < raise_at:
        return anger
    wanted = Priority.URGENT if anger.score >= notify_at else Priority.HIGH
    if case.priority < wanted:
        TimelineEvent.objects.create(
            case=case,
            kind=EventKind.PRIORITY,
            data={
                "from": case.priority,
                "to": int(wanted),
                "reason": _("The customer's message reads as angry."),
            },
        )
        case.priority = wanted
        Case.objects.filter(pk=case.pk).update(priority=wanted)
    from pomogu.failures.services import record

    record(
        "anger",
        key=f"anger:message:{message.pk}",
        case=case,
        person=case.owner,
        detail={"message_id": message.pk, "score": anger.score, "reasons": message.anger_reasons},
        summary=_("The customer wrote angrily (score %(score).2f)") % {"score": anger.score},
    )
    lead = None
    if anger.score >= notify_at:
        lead = lead_for(case)
        if lead is not None:
            _notify(lead, case, message, anger)
    TimelineEvent.objects.create(
        case=case,
        kind=EventKind.ANGER,
        data={
            "message_id": message.pk,
            "score": round(anger.score, 2),
            "reasons": [r.kind for r in anger.reasons],
            "lead_notified": lead.username if lead is not None else "",
        },
    )
    return anger


def lead_for(case: Case) -> User | None:
    """Who answers for the case's team now: its lead or their stand-in; failing a lead, the
    default team's lead; failing that, an administrator."""
    from pomogu.people.models import Team, User
    from pomogu.people.services import stand_in_for

    for team in (case.team, Team.objects.filter(is_default=True).first()):
        if team is not None and team.lead is not None and team.lead.is_active:
            return stand_in_for(team.lead)
    return User.objects.filter(is_active=True, is_superuser=True).order_by("id").first()


@dataclass(frozen=True)
class History:
    """What a lead needs to know at a glance about a case with an angry customer."""

    opened_at: dt.datetime
    waited: dt.timedelta  # since the oldest customer message not yet answered (0 if none)
    customer_messages: int
    unanswered: int  # customer messages since the last reply
    replies: int
    angry_messages: int
    handoffs: int
    declined: int  # handoffs declined or timed out
    reopened: int
    owner: str


def history_of(case: Case) -> History:
    messages = list(
        case.messages.filter(kind__in=[MessageKind.INBOUND, MessageKind.REPLY])
        .order_by("created_at", "id")
        .values_list("kind", "created_at", "anger_score")
    )
    unanswered: list[dt.datetime] = []
    for kind, created_at, _score in messages:
        if kind == MessageKind.REPLY:
            unanswered = []
        else:
            unanswered.append(created_at)
    handoffs = list(case.handoffs.values_list("state", flat=True))
    angry_at = thresholds()[0]
    return History(
        opened_at=case.created_at,
        waited=(clock.now() - unanswered[0]) if unanswered else dt.timedelta(0),
        customer_messages=sum(1 for m in messages if m[0] == MessageKind.INBOUND),
        unanswered=len(unanswered),
        replies=sum(1 for m in messages if m[0] == MessageKind.REPLY),
        angry_messages=sum(1 for m in messages if m[2] is not None and m[2] >= angry_at),
        handoffs=len(handoffs),
        declined=sum(1 for s in handoffs if s in (HandoffState.DECLINED, HandoffState.TIMED_OUT)),
        reopened=case.reopen_count,
        owner=case.owner.display_name,
    )


def _duration(delta: dt.timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}
    hours = minutes // 60
    if hours < 48:
        return ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours}
    days = hours // 24
    return ngettext("%(n)d day", "%(n)d days", days) % {"n": days}


def describe(case: Case, message: Message, anger: Anger) -> tuple[str, str]:
    """Title and body of the lead's notification, in the active language."""
    title = _("Angry customer on case #%(number)s: %(subject)s") % {
        "number": case.number,
        "subject": case.subject,
    }
    history = history_of(case)
    reasons = "\n".join(
        f"  - {reason_label(r.kind)}" + (f": «{r.fragment}»" if r.fragment else "")
        for r in anger.reasons
    )
    opened = formats.date_format(timezone.localtime(history.opened_at), "DATETIME_FORMAT")
    lines = [
        _("%(customer)s wrote angrily (score %(score).2f). Why:")
        % {"customer": case.customer.display_name, "score": anger.score},
        reasons,
        "",
        _("Their message, as written:"),
        _quote(message.body),
        "",
        _("History of the case:"),
        "  - " + _("opened %(when)s, owner %(owner)s") % {"when": opened, "owner": history.owner},
        "  - "
        + _("messages from the customer: %(messages)s, replies: %(replies)s")
        % {"messages": history.customer_messages, "replies": history.replies},
    ]
    if history.unanswered:
        lines.append(
            "  - "
            + _("unanswered customer messages: %(count)s, the oldest waiting for %(waited)s")
            % {"count": history.unanswered, "waited": _duration(history.waited)}
        )
    if history.handoffs:
        lines.append(
            "  - "
            + _("handoffs: %(count)s, declined or timed out: %(declined)s")
            % {"count": history.handoffs, "declined": history.declined}
        )
    if history.reopened:
        lines.append("  - " + _("times reopened: %(count)s") % {"count": history.reopened})
    if history.angry_messages > 1:
        lines.append(
            "  - " + _("angry messages so far: %(count)s") % {"count": history.angry_messages}
        )
    from pomogu.contact.services import case_link

    lines += ["", _("Open the case: %(url)s") % {"url": case_link(case)}]
    return title, "\n".join(lines)


def reason_label(kind: str) -> str:
    labels = {
        "profanity": _("swearing"),
        "insult": _("insult"),
        "shouting": _("shouting"),
        "threat": _("threat to leave or complain"),
        "model": _("angry wording (learned model)"),
    }
    return labels.get(kind, kind)


def _quote(body: str, limit: int = 2000) -> str:
    text = body if len(body) <= limit else body[:limit] + " […]"
    return "\n".join("> " + line for line in text.splitlines() or [""])


def _notify(lead: User, case: Case, message: Message, anger: Anger) -> None:
    from pomogu.contact.services import notify_staff

    with translation.override(lead.language or settings.LANGUAGE_CODE):
        title, body = describe(case, message, anger)
    notify_staff(
        lead,
        case=case,
        kind=NOTIFICATION_KIND,
        title=title,
        body=body,
        data={"message_id": message.pk, "score": anger.score},
        dedupe_key=f"anger-lead:{message.pk}",
    )
