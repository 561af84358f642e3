"""Channels in (R1): mailboxes, every received message kept verbatim, attachments.

Raw first, parse second (REL-2): the bytes as received are a row before anything reads them;
what cannot be parsed, or breaks a limit, stays here in quarantine for a person.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from pomogu.people.models import Team


class Mailbox(models.Model):
    """An address customers write to. Each has a default team (R1: a message about another
    team's business is still routed there). Mail arrives by LMTP from the mail server, or is
    fetched over IMAP when ``imap_host`` is set."""

    name = models.CharField(_("name"), max_length=120)
    address = models.EmailField(_("address"), unique=True)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="mailboxes")
    active = models.BooleanField(default=True)
    imap_host = models.CharField(max_length=255, blank=True, default="")
    imap_port = models.PositiveIntegerField(default=993)
    imap_ssl = models.BooleanField(default=True)
    imap_user = models.CharField(max_length=255, blank=True, default="")
    imap_password = models.CharField(
        max_length=255, blank=True, default="", help_text=_("Write-only: never shown again")
    )
    imap_folder = models.CharField(max_length=255, default="INBOX")
    imap_archive_folder = models.CharField(
        max_length=255,
        blank=True,
        default="",
        help_text=_("Move imported mail here; if empty it stays, flagged as imported"),
    )
    # Progress is ours, not the server's \\Seen flag (REL-4): the UID high-water mark within
    # one UIDVALIDITY epoch.
    imap_uidvalidity = models.BigIntegerField(null=True, blank=True)
    imap_last_uid = models.BigIntegerField(default=0)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")

    class Meta:
        verbose_name = _("mailbox")
        verbose_name_plural = _("mailboxes")

    def __str__(self) -> str:
        return f"{self.name} <{self.address}>"

    @property
    def uses_imap(self) -> bool:
        return bool(self.imap_host)


class InboundState(models.TextChoices):
    PROCESSED = "processed", _("Processed")
    QUARANTINED = "quarantined", _("In quarantine")
    HELD = "held", _("Held for an agent")
    RELEASED = "released", _("Released from quarantine")


class InboundMessage(models.Model):
    """One message as received, byte for byte, and what became of it.

    ``dedupe_key`` is (queue, Message-ID), or (queue, SHA-256 of the bytes) when there is no
    Message-ID: a second delivery of the same message is recognised by the database (REL-3).
    The queue is the mailbox, or the recipient address when no mailbox is configured for it.
    """

    mailbox = models.ForeignKey(
        Mailbox, null=True, blank=True, on_delete=models.PROTECT, related_name="inbound"
    )
    queue = models.CharField(max_length=320)
    dedupe_key = models.CharField(max_length=1200, unique=True)
    source = models.CharField(max_length=16)  # lmtp, imap, api, reprocess
    envelope_from = models.CharField(max_length=998, blank=True, default="")
    envelope_to = models.CharField(max_length=998, blank=True, default="")
    sender = models.CharField(
        max_length=254, blank=True, default="", help_text=_("The From address, lower-cased")
    )
    rfc_message_id = models.CharField(
        "Message-ID", max_length=998, blank=True, default="", db_index=True
    )
    sha256 = models.CharField(max_length=64, db_index=True)
    size = models.PositiveIntegerField()
    raw = models.BinaryField()
    imap_uidvalidity = models.BigIntegerField(null=True, blank=True)
    imap_uid = models.BigIntegerField(null=True, blank=True)
    state = models.CharField(max_length=16, choices=InboundState)
    reason = models.CharField(max_length=64, blank=True, default="")
    detail = models.TextField(blank=True, default="")
    acknowledged = models.BooleanField(default=False)
    case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.PROTECT, related_name="inbound"
    )
    message = models.OneToOneField(
        "cases.Message", null=True, blank=True, on_delete=models.PROTECT, related_name="inbound"
    )
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("received message")
        indexes = [
            models.Index(
                fields=["received_at"], condition=Q(state="quarantined"), name="inbound_quarantine"
            ),
            models.Index(fields=["mailbox", "imap_uidvalidity", "imap_uid"], name="inbound_imap"),
            models.Index(fields=["sender", "received_at"], name="inbound_sender_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.rfc_message_id or self.sha256[:12]} ({self.state})"


class Attachment(models.Model):
    """A file that came with a message. Stored outside any served directory under a generated
    name; the customer's file name is kept only as a sanitised label."""

    message = models.ForeignKey(
        "cases.Message", on_delete=models.CASCADE, related_name="attachments"
    )
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=255)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    storage_name = models.CharField(max_length=100, unique=True)
    inline = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("attachment")

    def __str__(self) -> str:
        return self.filename


class IdempotentRequest(models.Model):
    """An API request made with an ``Idempotency-Key``: its answer is kept, so a client that
    retries after a lost response gets the same case, not a second one (REL-3)."""

    user = models.ForeignKey("people.User", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField()
    case = models.ForeignKey("cases.Case", null=True, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_per_user")
        ]

    def __str__(self) -> str:
        return self.key


class FormSubmission(models.Model):
    """A web-form submission. ``nonce`` comes from the form the customer loaded, so pressing
    Send twice (or a browser's resubmit) makes one case (REL-3); ``client`` is a hash of the
    address, kept for the rate limit, not the address itself."""

    nonce = models.CharField(max_length=64, unique=True)
    client = models.CharField(max_length=64, db_index=True)
    case = models.ForeignKey("cases.Case", null=True, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return self.nonce


class ThreadKey(models.Model):
    """A Message-ID that belongs to a case's conversation: each message registers its own id
    ("self") and the ids it answers ("ref"). A reply that arrives before the message it answers
    thus leaves a key its parent finds later, so both land on one case whatever the order."""

    rfc_message_id = models.CharField(max_length=998, db_index=True)
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+")
    own = models.BooleanField(help_text=_("The message's own id, not one it refers to"))

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["rfc_message_id", "case", "own"], name="thread_key_unique"
            )
        ]

    def __str__(self) -> str:
        return self.rfc_message_id
