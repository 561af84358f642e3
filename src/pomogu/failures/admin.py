"""A read-only view of the failure register: failures are written only by
``failures.services.record``, never by hand, so that each one counts once and is real."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from pomogu.failures.models import Failure


@admin.register(Failure)
class FailureAdmin(admin.ModelAdmin):
    list_display = (
        "occurred_at",
        "kind",
        "case_number",
        "team",
        "person",
        "minutes_lost",
        "money_at_risk",
        "summary",
    )
    list_filter = ("kind", "team")
    search_fields = ("=case__number", "key")
    search_help_text = _("Case number (exact) or failure key")
    date_hierarchy = "occurred_at"
    list_select_related = ("case", "team", "person")
    ordering = ("-occurred_at", "-id")

    @admin.display(description=_("case"), ordering="case__number")
    def case_number(self, obj: Failure) -> str:
        return f"#{obj.case.number}" if obj.case is not None else "—"

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Failure], search_term: str
    ) -> tuple[QuerySet[Failure], bool]:
        # "#1042" as shown in the list finds case 1042 too.
        return super().get_search_results(request, queryset, search_term.strip().lstrip("#"))

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
