"""The outbox, read-only: what was sent, what waits, what failed and why."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from pomogu.cases.admin import ReadOnlyAdmin
from pomogu.contact.models import OutboxKind, OutboxMessage

# Mail whose text carries a personal link (portal sign-in, survey): whoever reads the text can
# use the link, so the admin does not show it.
PERSONAL_LINK_KINDS = (OutboxKind.SIGN_IN, OutboxKind.SURVEY)


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
    exclude = ("body",)
    readonly_fields = ("text",)

    @admin.display(description=_("text"))
    def text(self, row: OutboxMessage) -> str:
        if row.kind in PERSONAL_LINK_KINDS:
            return str(_("(not shown: it holds the customer's personal link)"))
        return row.body
