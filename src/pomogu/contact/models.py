"""Outbound contact. Every message to a customer is first a row here, written in the same
transaction as the change that caused it, then sent by a worker (DESIGN.md, REL-5)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _


class OutboxState(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    SENDING = "sending", _("Being sent")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class OutboxKind(models.TextChoices):
    REPLY = "reply", _("Reply from an agent")
    ACKNOWLEDGEMENT = "ack", _("Acknowledgement")
    NOTIFICATION = "notification", _("Notification")


class OutboxMessage(models.Model):
    """One email to send. ``rfc_message_id`` (the Message-ID header) is fixed when the row is
    written, so a retry after a crash re-sends the same message (recipients' systems can
    de-duplicate), never a new one.

    ``dedupe_key`` makes an automated effect happen once (for example one acknowledgement per
    case): a second insert with the same key fails in the database.
    """

    case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.CASCADE, related_name="outbox"
    )
    message = models.OneToOneField(
        "cases.Message", null=True, blank=True, on_delete=models.CASCADE, related_name="outbound"
    )
    kind = models.CharField(max_length=16, choices=OutboxKind)
    automated = models.BooleanField(
        default=False, help_text=_("Sent by the desk itself; carries Auto-Submitted")
    )
    to_email = models.EmailField(max_length=254)
    subject = models.CharField(max_length=400)
    body = models.TextField()
    headers = models.JSONField(default=dict, blank=True)
    rfc_message_id = models.CharField("Message-ID", max_length=250, unique=True)
    dedupe_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    state = models.CharField(max_length=16, choices=OutboxState, default=OutboxState.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("outbound message")
        indexes = [
            models.Index(Lower("to_email"), "created_at", name="outbox_recipient_recent"),
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(state__in=["pending", "sending"]),
                name="outbox_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.to_email} ({self.state})"
