"""Cases and what happens on them: messages, the timeline, handoffs and contractor tasks (R2)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.signals import post_save
from django.utils.translation import gettext_lazy as _

from pomogu.cases.choices import (
    ACTIVE_STATES,
    CaseState,
    Channel,
    ContractorTaskState,
    EventKind,
    HandoffState,
    MessageKind,
    Priority,
    Resolution,
)
from pomogu.people.models import Customer, Team

THREAD_TOKEN_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # noqa: S105 - an alphabet


def new_thread_token() -> str:
    """13 characters from a 32-letter alphabet: 65 bits, so a subject tag cannot be guessed
    (RELIABILITY.md AZ-7 (d))."""
    return "".join(secrets.choice(THREAD_TOKEN_ALPHABET) for _ in range(13))


class Case(models.Model):
    """One customer request, from first contact until it is solved, with one accountable owner.

    ``owner`` is NOT NULL: the database itself refuses a case without an owner, in every state
    (R2). The owner of a resolved case stays answerable for the repair (R5).
    """

    number = models.PositiveBigIntegerField(_("number"), unique=True, null=True, editable=False)
    thread_token = models.CharField(
        max_length=16,
        default=new_thread_token,
        editable=False,
        help_text=_("The secret half of the subject tag that threads mail to this case"),
    )
    subject = models.CharField(_("subject"), max_length=300)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="cases")
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="cases")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_cases"
    )
    state = models.CharField(_("state"), max_length=24, choices=CaseState, default=CaseState.NEW)
    priority = models.PositiveSmallIntegerField(
        _("priority"), choices=Priority, default=Priority.NORMAL
    )
    channel = models.CharField(_("channel"), max_length=16, choices=Channel, default=Channel.EMAIL)
    language = models.CharField(_("language"), max_length=8, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("The staff member who logged the request for the customer, if any"),
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    last_customer_message_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolution = models.CharField(max_length=16, choices=Resolution, blank=True, default="")
    resolution_summary = models.TextField(blank=True, default="")
    closed_at = models.DateTimeField(null=True, blank=True)
    reopen_count = models.PositiveIntegerField(default=0)
    possible_recurrence_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("An earlier case this one may be the same problem as, for an agent to decide"),
    )
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_cases"
    )

    class Meta:
        verbose_name = _("case")
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=[s.value for s in CaseState]), name="case_state_valid"
            ),
            models.CheckConstraint(
                condition=~Q(state__in=[CaseState.RESOLVED, CaseState.CLOSED])
                | Q(resolved_at__isnull=False),
                name="case_resolved_has_time",
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "state", "-updated_at"], name="case_owner_queue"),
            models.Index(fields=["team", "state", "-updated_at"], name="case_team_queue"),
            # The team queue's default order (desk.lists.ORDERS["priority"]), read by keyset:
            # the active cases (a few percent of all, so a small index), and every case.
            models.Index(
                fields=["team", "-priority", "created_at", "id"],
                condition=Q(state__in=ACTIVE_STATES),
                name="case_team_active",
            ),
            models.Index(fields=["team", "-priority", "created_at", "id"], name="case_team_urgent"),
            models.Index(fields=["customer", "-created_at"], name="case_customer_history"),
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.subject}"

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def tag(self) -> str:
        """The subject tag of outbound mail, e.g. ``[#1042-k3x9p2q7mzab4]``."""
        return f"[#{self.number}-{self.thread_token}]"


class Message(models.Model):
    """A message on a case: from the customer, a reply to them, or an internal note.

    For mail, the bytes as received are the linked ``intake.InboundMessage.raw``."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(max_length=16, choices=MessageKind)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="messages"
    )
    channel = models.CharField(max_length=16, choices=Channel, default=Channel.EMAIL)
    body = models.TextField(_("text"))
    quoted = models.TextField(
        blank=True, default="", help_text=_("Quoted history and signature, folded for display")
    )
    body_html = models.TextField(blank=True, default="", help_text=_("Sanitised HTML, if any"))
    language = models.CharField(max_length=8, blank=True, default="")
    message_id = models.CharField(max_length=998, blank=True, default="", db_index=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # The anger detector's view of a customer's message (R3): a score 0..1 and its reasons
    # ([{"kind", "fragment", "weight"}]). The text itself is always kept as written.
    anger_score = models.FloatField(null=True, blank=True)
    anger_reasons = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = _("message")
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=[MessageKind.INBOUND, MessageKind.HELD])
                | Q(author__isnull=False),
                name="message_staff_has_author",
            ),
        ]
        indexes = [models.Index(fields=["case", "created_at"], name="message_thread")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on case {self.case_id}"

    @property
    def is_public(self) -> bool:
        return self.kind != MessageKind.NOTE


class AppendOnlyError(RuntimeError):
    pass


class TimelineEventManager(models.Manager["TimelineEvent"]):
    def create_many(self, events: Sequence[TimelineEvent]) -> list[TimelineEvent]:
        """Add many events in one insert. Unlike ``bulk_create`` alone, each event still sends
        ``post_save`` (the clocks and the failure register listen), as ``create`` does."""
        created = self.bulk_create(events)
        for event in created:
            post_save.send(
                sender=TimelineEvent,
                instance=event,
                created=True,
                update_fields=None,
                raw=False,
                using=self.db,
            )
        return created


class TimelineEvent(models.Model):
    """One entry of a case's history. The timeline is the audit log: rows are only ever added.

    The model refuses updates and deletes; services are the only writers.
    """

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=32, choices=EventKind)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TimelineEventManager()

    class Meta:
        verbose_name = _("timeline event")
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["case", "created_at"], name="timeline_of_case"),
            # The register's reopen rate: resolved and reopened events of a period.
            models.Index(fields=["kind", "created_at"], name="timeline_kind_time"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} on case {self.case_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise AppendOnlyError("timeline events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("timeline events are append-only")


class Handoff(models.Model):
    """A request to pass a case to another team or person (R2).

    Until the receiver accepts, the sender stays the owner and accountable. At most one handoff
    per case is waiting at a time (a database constraint).
    """

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="handoffs")
    from_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="handoffs_sent"
    )
    from_team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="+")
    to_team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="handoffs_in")
    to_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="handoffs_received",
    )
    reason = models.TextField(_("reason"))
    state = models.CharField(max_length=16, choices=HandoffState, default=HandoffState.REQUESTED)
    created_at = models.DateTimeField(auto_now_add=True)
    due_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decline_reason = models.TextField(blank=True, default="")

    class Meta:
        verbose_name = _("handoff")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["case"],
                condition=Q(state=HandoffState.REQUESTED),
                name="one_pending_handoff_per_case",
            ),
        ]
        indexes = [
            models.Index(fields=["to_user", "state"], name="handoff_to_user"),
            models.Index(fields=["to_team", "state"], name="handoff_to_team"),
        ]

    def __str__(self) -> str:
        return f"handoff of case {self.case_id} to {self.to_team}"


class ContractorTask(models.Model):
    """Work a contractor does inside our case (R2): the case stays ours, and the customer's
    clock keeps running while the contractor works; the task has its own due date."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="contractor_tasks")
    contractor = models.CharField(_("contractor"), max_length=200)
    contact = models.CharField(_("contractor contact"), max_length=200, blank=True, default="")
    description = models.TextField(_("what they must do"))
    state = models.CharField(
        max_length=16, choices=ContractorTaskState, default=ContractorTaskState.OPEN
    )
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.TextField(blank=True, default="")

    class Meta:
        verbose_name = _("contractor task")
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.contractor}: {self.description[:40]}"


class Notification(models.Model):
    """Something a staff member must look at about a case (an angry customer for the team
    lead, and later escalations). Shown on their "my work" page and also mailed to them."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=32)
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True, default="")
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "read_at", "-created_at"], name="notification_inbox")
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.recipient_id} on case {self.case_id}"
