"""Who may see what came in: quarantine and held mail (SEC-1)."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from pomogu.core.errors import NotFound
from pomogu.intake.models import InboundMessage, InboundState
from pomogu.people.models import Team, User


def visible_inbound(user: User) -> QuerySet[InboundMessage]:
    """Managers and admins see everything that came in; a team lead sees what came to their
    team's mailboxes (and, for the default team, to addresses with no mailbox); others nothing.
    Quarantined mail can hold anything, so it is not for every agent."""
    if not user.is_authenticated or not user.is_active:
        return InboundMessage.objects.none()
    if user.sees_all_teams:
        return InboundMessage.objects.all()
    led = Team.objects.filter(Q(lead=user) | Q(memberships__user=user, memberships__role="lead"))
    scope = Q(mailbox__team__in=led)
    if led.filter(is_default=True).exists():
        scope |= Q(mailbox__isnull=True)
    return InboundMessage.objects.filter(scope)


def quarantine_of(user: User) -> QuerySet[InboundMessage]:
    return (
        visible_inbound(user)
        .filter(state=InboundState.QUARANTINED)
        .select_related("mailbox")
        .defer("raw")
        .order_by("-received_at", "-id")
    )


def get_visible_inbound(user: User, inbound_id: int) -> InboundMessage:
    row = visible_inbound(user).filter(pk=inbound_id).first()
    if row is None:
        raise NotFound(_("No such message."))
    return row
