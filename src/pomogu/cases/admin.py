"""Read-only admin views of cases: every change to a case goes through its services (the desk or
the API), so that it is checked, locked and written to the timeline."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from pomogu.cases.models import Case, Handoff, Message, TimelineEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Case)
class CaseAdmin(ReadOnlyAdmin):
    list_display = ("number", "subject", "state", "priority", "team", "owner", "created_at")
    list_filter = ("state", "priority", "team", "channel")
    search_fields = ("subject", "customer__email", "customer__name")
    list_select_related = ("team", "owner")
    exclude = ()


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = ("case", "kind", "author", "customer", "created_at")
    list_filter = ("kind", "channel")
    list_select_related = ("case", "author", "customer")


@admin.register(TimelineEvent)
class TimelineEventAdmin(ReadOnlyAdmin):
    list_display = ("case", "kind", "actor", "created_at")
    list_filter = ("kind",)
    list_select_related = ("case", "actor")


@admin.register(Handoff)
class HandoffAdmin(ReadOnlyAdmin):
    list_display = ("case", "from_user", "to_team", "to_user", "state", "created_at")
    list_filter = ("state",)
    list_select_related = ("case", "from_user", "to_team", "to_user")
