"""The outbox, read-only: what was sent, what waits, what failed and why."""

from __future__ import annotations

from django.contrib import admin

from pomogu.cases.admin import ReadOnlyAdmin
from pomogu.contact.models import OutboxMessage


@admin.register(OutboxMessage)
class OutboxAdmin(ReadOnlyAdmin):
    list_display = (
        "to_email",
        "subject",
        "kind",
        "state",
        "attempts",
        "next_attempt_at",
        "sent_at",
    )
    list_filter = ("state", "kind")
    search_fields = ("to_email", "subject", "rfc_message_id")
