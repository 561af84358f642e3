"""Outbound contact. Every message to a customer is first a row here, written in the same
transaction as the change that caused it, then sent by a worker (DESIGN.md, REL-5)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _


class OutboxState(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    SENDING = "sending", _("Being sent")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    # Sent at most once (surveys): a sender died between taking the row and marking it sent,
    # so it may or may not have gone out; it is not sent again.
    UNKNOWN = "unknown", _("Perhaps sent")


class OutboxKind(models.TextChoices):
    REPLY = "reply", _("Reply from an agent")
    ACKNOWLEDGEMENT = "ack", _("Acknowledgement")
    NOTIFICATION = "notification", _("Notification")
    SURVEY = "survey", _("Satisfaction survey")
    SIGN_IN = "sign_in", _("Portal sign-in link")


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
    at_most_once = models.BooleanField(
        default=False,
        help_text=_("Never sent twice: if a sender dies while sending it, it is given up"),
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


# --- the contact governor (R6) ----------------------------------------------------------------


class ContactPurpose(models.TextChoices):
    """Why the desk contacts a customer when the customer did not just ask. Every contact
    needs one, tied to a case or an incident."""

    ACKNOWLEDGEMENT = "acknowledgement", _("Acknowledgement of a request")
    SURVEY = "survey", _("Satisfaction survey")
    REMINDER = "reminder", _("Reminder")
    APPOINTMENT = "appointment", _("Appointment notice")
    CALLBACK = "callback", _("Promised call back")
    PROACTIVE = "proactive", _("Proactive message about a case")
    INCIDENT = "incident", _("Incident notice")
    CHECK_IN = "check_in", _("Check-in")


class ContactChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    PHONE = "phone", _("Phone call")


class ContactState(models.TextChoices):
    SENT = "sent", _("Made")
    DEFERRED = "deferred", _("Deferred")
    REFUSED = "refused", _("Refused")


class ContactAttempt(models.Model):
    """One outbound contact the desk wanted to make, and what the governor decided: made now,
    deferred to the next allowed moment (a row with ``due_at``, released by the background
    runner), or refused with a reason. Nothing is dropped silently: every decision is here."""

    customer = models.ForeignKey(
        "people.Customer", on_delete=models.CASCADE, related_name="contact_attempts"
    )
    case = models.ForeignKey(
        "cases.Case",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="contact_attempts",
    )
    incident = models.CharField(_("incident"), max_length=100, blank=True, default="")
    purpose = models.CharField(_("purpose"), max_length=20, choices=ContactPurpose)
    channel = models.CharField(
        _("channel"), max_length=10, choices=ContactChannel, default=ContactChannel.EMAIL
    )
    reason = models.CharField(_("reason"), max_length=300, blank=True, default="")
    subject = models.CharField(max_length=400, blank=True, default="")
    body = models.TextField(blank=True, default="")
    headers = models.JSONField(default=dict, blank=True)
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Who makes the call (phone contacts)"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    state = models.CharField(max_length=10, choices=ContactState)
    decision = models.CharField(
        max_length=40, blank=True, default="", help_text=_("Why it was deferred or refused")
    )
    history = models.JSONField(default=list, blank=True)
    dedupe_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    requested_at = models.DateTimeField()
    due_at = models.DateTimeField(null=True, blank=True)
    made_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    outbox = models.OneToOneField(
        OutboxMessage, null=True, blank=True, on_delete=models.SET_NULL, related_name="contact"
    )

    class Meta:
        verbose_name = _("contact attempt")
        ordering = ["-requested_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "made_at"], name="contact_customer_made"),
            models.Index(
                fields=["due_at"], condition=Q(state="deferred"), name="contact_deferred_due"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.purpose} to customer {self.customer_id}: {self.state}"


class ContactPreference(models.Model):
    """What a customer agreed to: the channels the desk may use and the purposes they opted
    out of. No row means every channel and every purpose."""

    customer = models.OneToOneField(
        "people.Customer", on_delete=models.CASCADE, related_name="contact_preference"
    )
    channels = models.JSONField(
        default=list, blank=True, help_text=_("Allowed channels; empty means all")
    )
    opted_out = models.JSONField(
        default=list, blank=True, help_text=_("Purposes the customer does not want")
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("contact preference")

    def __str__(self) -> str:
        return f"preferences of customer {self.customer_id}"


# --- surveys (R6) -----------------------------------------------------------------------------


class SurveyState(models.TextChoices):
    WAITING = "waiting", _("Waiting for the resolution to stand")
    SENT = "sent", _("Sent")
    ANSWERED = "answered", _("Answered")
    SKIPPED = "skipped", _("Skipped")
    CANCELLED = "cancelled", _("Cancelled: the case was reopened")


class Survey(models.Model):
    """The one satisfaction survey of a case (unique: never a second, not even after a reopen
    and another resolution). Sent only after the resolution has stood for a while."""

    case = models.OneToOneField("cases.Case", on_delete=models.CASCADE, related_name="survey")
    customer = models.ForeignKey("people.Customer", on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=10, choices=SurveyState, default=SurveyState.WAITING)
    due_at = models.DateTimeField()
    skip_reason = models.CharField(max_length=40, blank=True, default="")
    token = models.CharField(max_length=120, unique=True)
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    comment = models.TextField(blank=True, default="")
    claimed_until = models.DateTimeField(null=True, blank=True)
    contact = models.OneToOneField(
        ContactAttempt, null=True, blank=True, on_delete=models.SET_NULL, related_name="survey"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("survey")
        indexes = [
            models.Index(fields=["due_at"], condition=Q(state="waiting"), name="survey_due"),
            models.Index(fields=["due_at"], name="survey_period"),  # the register's results
            models.Index(fields=["customer", "sent_at"], name="survey_customer_sent"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5),
                name="survey_rating_1_to_5",
            )
        ]

    def __str__(self) -> str:
        return f"survey of case {self.case_id} ({self.state})"


# --- the reply guard (R7) ---------------------------------------------------------------------


class GuardPhrase(models.Model):
    """A phrase this installation adds to the reply guard's own (matched in its inflected
    forms, like them): "обратитесь в головной офис", "ask your installer"."""

    text = models.CharField(_("phrase"), max_length=200, unique=True)
    note = models.CharField(_("why"), max_length=300, blank=True, default="")
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("reply guard phrase")
        ordering = ["text"]

    def __str__(self) -> str:
        return self.text
