"""Admin for configuration: staff, teams, memberships, absences, organisations, customers.

These are configuration data an administrator edits directly; API tokens are shown without
their secret (only the digest is stored) and can be revoked but not created here.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from pomogu.core import clock
from pomogu.people.models import (
    Absence,
    ApiToken,
    Customer,
    Membership,
    Organisation,
    Team,
    User,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(User)
class StaffAdmin(UserAdmin):
    list_display = ("username", "first_name", "last_name", "email", "role", "is_active")
    list_filter = ("role", "is_active")
    fieldsets = (
        *(UserAdmin.fieldsets or ()),
        (_("Desk"), {"fields": ("role", "language", "time_zone")}),
    )


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "lead", "is_default")
    prepopulated_fields = {"slug": ("name",)}
    search_fields = ("name", "slug")
    autocomplete_fields = ["lead"]
    inlines = [MembershipInline]


@admin.register(Absence)
class AbsenceAdmin(admin.ModelAdmin):
    list_display = ("user", "kind", "starts_at", "ends_at", "deputy")
    list_filter = ("kind",)
    autocomplete_fields = ["user", "deputy"]


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ("name", "value", "shares_cases")
    list_filter = ("shares_cases",)
    search_fields = ("name",)


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("name", "email", "phone", "organisation", "tier")
    search_fields = ("name", "email", "phone")
    list_filter = ("tier",)
    autocomplete_fields = ["organisation"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "user", "name", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("user", "name", "prefix", "created_at", "last_used_at", "revoked_at")
    exclude = ("digest",)
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # tokens are made with `pomogu token create`, which shows them once

    @admin.action(description=_("Revoke the selected tokens"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        queryset.filter(revoked_at__isnull=True).update(revoked_at=clock.now())
