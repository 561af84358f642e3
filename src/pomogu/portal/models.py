"""The customer portal's own records: sign-in links, sign-in requests (for the throttle) and
replies sent from the portal (so that a double click sends one message)."""

from __future__ import annotations

import hashlib

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class SignInLink(models.Model):
    """A one-time link that signs a customer in to the portal, mailed to their address.

    Only the SHA-256 of the token is stored: the database (or a backup of it) cannot sign
    anyone in. A link works once (``used_at``) and for a few minutes (``expires_at``)."""

    digest = models.CharField(max_length=64, unique=True)
    email = models.EmailField(_("email"), max_length=254)
    client = models.CharField(max_length=64, help_text=_("Who asked: a keyed hash of the address"))
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("sign-in link")
        indexes = [models.Index(fields=["email", "created_at"], name="signin_link_email")]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("created_at")), name="signin_link_expires"
            )
        ]

    def __str__(self) -> str:
        return f"sign-in link for {self.email}"

    @staticmethod
    def digest_of(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()


class SignInRequest(models.Model):
    """One request for a sign-in link, known address or not: what the per-client cap counts.
    Rows older than a day are removed as new ones arrive."""

    client = models.CharField(max_length=64)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("sign-in request")
        indexes = [models.Index(fields=["client", "created_at"], name="signin_request_client")]

    def __str__(self) -> str:
        return f"sign-in request at {self.created_at:%Y-%m-%d %H:%M}"


class PortalReply(models.Model):
    """A message the customer sent from the portal, keyed by the one-time nonce of the form
    it came from (unique): the same form sent twice makes one message (REL-3)."""

    nonce = models.CharField(max_length=64, unique=True)
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+")
    message = models.OneToOneField(
        "cases.Message", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("portal reply")
        verbose_name_plural = _("portal replies")

    def __str__(self) -> str:
        return f"portal reply on case {self.case_id}"
