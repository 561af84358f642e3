"""Admin for mail in: mailboxes (the IMAP password is write-only) and what came in, read-only,
with the quarantine's two actions: download the bytes, process again."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from pomogu.cases.admin import ReadOnlyAdmin
from pomogu.intake import imap, services
from pomogu.intake.downloads import raw_message_download
from pomogu.intake.models import InboundMessage, InboundState, Mailbox


class MailboxForm(forms.ModelForm):
    imap_password = forms.CharField(
        label=_("IMAP password"),
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Leave empty to keep the current password. It is never shown."),
    )

    class Meta:
        model = Mailbox
        fields = (
            "name",
            "address",
            "team",
            "active",
            "imap_host",
            "imap_port",
            "imap_ssl",
            "imap_user",
            "imap_password",
            "imap_folder",
            "imap_archive_folder",
        )

    def clean_imap_password(self) -> str:
        value: str = self.cleaned_data.get("imap_password") or ""
        if not value and self.instance.pk:
            return str(self.instance.imap_password)
        return value


@admin.register(Mailbox)
class MailboxAdmin(admin.ModelAdmin):
    form = MailboxForm
    list_display = (
        "address",
        "name",
        "team",
        "active",
        "imap_host",
        "last_polled_at",
        "last_error",
    )
    readonly_fields = ("imap_uidvalidity", "imap_last_uid", "last_polled_at", "last_error")
    actions = ["reconcile"]

    @admin.action(description=_("Compare with the IMAP server (reconciliation)"))
    def reconcile(self, request: HttpRequest, queryset: QuerySet[Mailbox]) -> None:
        """REL-10: what the server has that pomogu does not, per mailbox, as a message on the
        page (the same check as `pomogu mail reconcile`)."""
        for mailbox in queryset.exclude(imap_host=""):
            report = imap.reconcile(mailbox.pk)
            if report.error:
                self.message_user(
                    request,
                    _("%(box)s: the server could not be read: %(error)s")
                    % {"box": mailbox.address, "error": report.error},
                    messages.ERROR,
                )
                continue
            missing = [m.uid for m in report.missing]
            level = messages.WARNING if missing or report.unmarked else messages.SUCCESS
            self.message_user(
                request,
                _(
                    "%(box)s: %(on_server)s on the server; missing in pomogu: %(missing)s "
                    "(UIDs %(uids)s); imported but not marked: %(unmarked)s."
                )
                % {
                    "box": mailbox.address,
                    "on_server": report.on_server,
                    "missing": len(missing),
                    "uids": ", ".join(map(str, missing[:50])) or "-",
                    "unmarked": len(report.unmarked),
                },
                level,
            )


@admin.register(InboundMessage)
class InboundMessageAdmin(ReadOnlyAdmin):
    list_display = (
        "received_at",
        "state",
        "reason",
        "sender",
        "envelope_to",
        "rfc_message_id",
        "size",
        "case",
    )
    list_filter = ("state", "reason", "source")
    search_fields = ("rfc_message_id", "sender", "envelope_from", "sha256")
    exclude = ("raw",)
    actions = ["reprocess", "download"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[InboundMessage]:
        return super().get_queryset(request).defer("raw").select_related("case")

    @admin.action(description=_("Process the selected quarantined messages again"))
    def reprocess(self, request: HttpRequest, queryset: QuerySet[InboundMessage]) -> None:
        done = 0
        for row in queryset.filter(state=InboundState.QUARANTINED):
            if services.reprocess(row.pk).state != InboundState.QUARANTINED:
                done += 1
        self.message_user(
            request, _("%(n)s message(s) left the quarantine.") % {"n": done}, messages.INFO
        )

    @admin.action(description=_("Download the message as received (one at a time)"))
    def download(self, request: HttpRequest, queryset: QuerySet[InboundMessage]) -> Any:
        row = queryset.first()
        return raw_message_download(row) if row is not None else None
