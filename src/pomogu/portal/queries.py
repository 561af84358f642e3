"""What a signed-in customer may see (SEC-1, AZ-1, AZ-2): the cases of the customers with their
address, and of their colleagues when their organisation shares cases; only the messages meant
for customers, and those messages' attachments. Everything else does not exist for them (404),
whatever its number or id.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import Case as Choose
from django.db.models import (
    Count,
    DateTimeField,
    Exists,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from pomogu.cases.choices import CaseState, MessageKind
from pomogu.cases.models import Case, Message
from pomogu.clocks.services import answer_due_times
from pomogu.core.errors import NotFound
from pomogu.intake.models import Attachment
from pomogu.people.models import Customer
from pomogu.people.services import by_email

# What the customer sees of a conversation: their own messages (and those of people an agent
# accepted onto the case) and the replies to them; never internal notes, never held mail.
VISIBLE_KINDS = (MessageKind.INBOUND, MessageKind.REPLY)
# The case waits for the team: it is in the team's queue (waiting on the customer, on a
# contractor, or solved, it is not).
WAITING_FOR_TEAM = (CaseState.NEW, CaseState.OPEN)


def customers_with(email: str) -> list[Customer]:
    """The customers with this address (at most one: addresses are unique whatever their
    case, ``customer_email_unique_ci``); none for ""."""
    customer = by_email(email)
    return [customer] if customer is not None else []


def with_portal_facts(cases: QuerySet[Case]) -> QuerySet[Case]:
    """Annotate each case, in the same query, with what its page and list show:

    - ``last_activity``: the last message the customer can see (else the opening);
    - ``answer_due``: when an answer is due (``clocks.services.answer_due_times``);
    - ``queue_position``: while it waits for its team, 1 + the team's waiting cases ahead of
      it in ``cases.queries.team_queue`` order (higher priority, or the same priority and
      opened earlier; the id settles a tie); None otherwise.
    """
    last_seen = (
        Message.objects.filter(case=OuterRef("pk"), kind__in=VISIBLE_KINDS)
        .order_by("-created_at", "-id")
        .values("created_at")[:1]
    )
    due = answer_due_times(OuterRef("pk"))[:1]
    ahead = (
        Case.objects.filter(team=OuterRef("team"), state__in=WAITING_FOR_TEAM)
        .filter(
            Q(priority__gt=OuterRef("priority"))
            | Q(priority=OuterRef("priority"), created_at__lt=OuterRef("created_at"))
            | Q(
                priority=OuterRef("priority"),
                created_at=OuterRef("created_at"),
                pk__lt=OuterRef("pk"),
            )
        )
        .order_by()
        .values("team")
        .annotate(ahead=Count("pk"))
        .values("ahead")
    )
    return cases.annotate(
        last_activity=Coalesce(Subquery(last_seen, output_field=DateTimeField()), "created_at"),
        answer_due=Subquery(due, output_field=DateTimeField()),
        queue_position=Choose(
            When(
                state__in=WAITING_FOR_TEAM,
                then=Coalesce(Subquery(ahead, output_field=IntegerField()), Value(0)) + 1,
            ),
            default=None,
            output_field=IntegerField(),
        ),
    )


def readable_by(customers: Sequence[Customer]) -> Q:
    """The cases these customers may read: their own, and their colleagues' where the
    organisation shares cases (AZ-2). Sharing is read by the query, so turning it off closes
    the colleagues' cases at once."""
    own = Q(customer__in=[c.pk for c in customers])
    sharing = [c.organisation_id for c in customers if c.organisation_id is not None]
    if not sharing:
        return own
    return own | Q(customer__organisation__in=sharing, customer__organisation__shares_cases=True)


def cases_of(customers: Sequence[Customer]) -> QuerySet[Case]:
    """The cases the customers may read, newest activity first, in one query with their
    owner and the customer who opened each."""
    return (
        with_portal_facts(Case.objects.filter(readable_by(customers)))
        .select_related("owner", "merged_into", "customer")
        .order_by("-last_activity", "-pk")
    )


def case_of(customers: Sequence[Customer], number: int) -> Case:
    """One of the cases the customers may read, by its number; NotFound for any other."""
    try:
        return cases_of(customers).get(number=number)
    except (Case.DoesNotExist, ValueError, TypeError, OverflowError):
        raise NotFound(_("No such case.")) from None


def is_theirs(customers: Sequence[Customer], case: Case) -> bool:
    """Whether the case was opened by one of these customers: only they answer and rate it;
    a colleague who may read it through a shared organisation may not."""
    return case.customer_id in {c.pk for c in customers}


def thread_of(case: Case) -> QuerySet[Message]:
    """The conversation as the customer sees it, oldest first, with authors and attachments."""
    return (
        case.messages.filter(kind__in=VISIBLE_KINDS)
        .select_related("author", "customer")
        .prefetch_related("attachments")
        .order_by("created_at", "id")
    )


def attachment_of(customers: Sequence[Customer], number: int, attachment_id: int) -> Attachment:
    """An attachment of a message the customer can see on one of their cases (AZ-13: checked
    against the case as it is now); NotFound otherwise, a note's attachment included."""
    readable = Case.objects.filter(readable_by(customers), pk=OuterRef("message__case_id"))
    try:
        return (
            Attachment.objects.select_related("message__case")
            .filter(Exists(readable))
            .get(pk=attachment_id, message__kind__in=VISIBLE_KINDS, message__case__number=number)
        )
    except (Attachment.DoesNotExist, ValueError, TypeError, OverflowError):
        raise NotFound(_("No such attachment.")) from None
