"""Who is who: staff and their teams, customers and their organisations, absences and deputies."""

from __future__ import annotations

import datetime as dt
import hashlib

from django.contrib.auth.models import AbstractUser
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from pomogu.people.choices import AbsenceKind, StaffRole, TeamRole


class User(AbstractUser):
    """A person who signs in to the desk: a staff member (agent, lead, manager, admin).

    Customers are not users; a customer may later get a portal account linked from ``Customer``.
    ``role`` decides what a staff member sees beyond their own teams: a manager sees every team,
    an admin also configures the desk.
    """

    role = models.CharField(_("role"), max_length=16, choices=StaffRole, default=StaffRole.AGENT)
    language = models.CharField(_("language"), max_length=8, default="", blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, default="", blank=True)

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff")

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username

    @property
    def sees_all_teams(self) -> bool:
        return self.is_superuser or self.role in (StaffRole.MANAGER, StaffRole.ADMIN)


class Organisation(models.Model):
    """A company whose people are customers; recognised by its email domains."""

    name = models.CharField(_("name"), max_length=200)
    domains = models.JSONField(_("email domains"), default=list, blank=True)
    value = models.DecimalField(
        _("yearly value"),
        max_digits=14,
        decimal_places=2,
        default=0,
        help_text=_("For money at risk"),
    )
    shares_cases = models.BooleanField(
        _("shares cases"),
        default=False,
        help_text=_(
            "Its people see each other's cases in the portal (never internal notes); only the "
            "person who opened a case answers or rates it"
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("organisation")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Customer(models.Model):
    """A person the desk serves. Identified by email (unique, case-insensitive) or phone."""

    name = models.CharField(_("name"), max_length=200, blank=True)
    email = models.EmailField(_("email"), max_length=254, blank=True, default="")
    phone = models.CharField(_("phone"), max_length=32, blank=True, default="")
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="customers"
    )
    tier = models.CharField(_("tier"), max_length=32, default="standard")
    language = models.CharField(_("language"), max_length=8, default="", blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, default="", blank=True)
    mail_bounced_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("Mail to this address bounced for good: no automated mail goes to it"),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("customer")
        constraints = [
            models.UniqueConstraint(
                Lower("email"), condition=~Q(email=""), name="customer_email_unique_ci"
            ),
            models.CheckConstraint(
                condition=~Q(email="") | ~Q(phone=""), name="customer_has_contact"
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.email or self.phone

    @property
    def display_name(self) -> str:
        return self.name or self.email or self.phone


class Team(models.Model):
    """A group of staff that owns a kind of request; it has a lead who answers for it.

    Exactly one team is the desk's default: where a request goes when nothing says otherwise.
    """

    name = models.CharField(_("name"), max_length=120, unique=True)
    slug = models.SlugField(_("short name"), max_length=60, unique=True)
    description = models.TextField(_("what the team handles"), blank=True)
    keywords = models.TextField(
        _("typical requests"),
        blank=True,
        default="",
        help_text=_(
            "One typical request or keyword phrase a line, in any language. The router learns "
            "from these until the desk has its own history."
        ),
    )
    email = models.EmailField(_("team address"), blank=True, default="")
    warranty_days = models.PositiveIntegerField(
        _("warranty window (days)"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(366)],
        help_text=_(
            "A problem that comes back this long after the team solved it reopens the case "
            "(R5); empty: the desk's default (POMOGU_WARRANTY_DAYS)"
        ),
    )
    lead = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="led_teams"
    )
    is_default = models.BooleanField(_("default team"), default=False)
    members: models.ManyToManyField[User, Membership] = models.ManyToManyField(
        User, through="Membership", related_name="teams"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("team")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="one_default_team"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A staff member's place in a team."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=TeamRole, default=TeamRole.MEMBER)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="membership_unique")]

    def __str__(self) -> str:
        return f"{self.user} in {self.team}"


class Absence(models.Model):
    """A period a staff member is away; their deputy takes what would have gone to them (R4)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="absences")
    kind = models.CharField(max_length=16, choices=AbsenceKind, default=AbsenceKind.VACATION)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    deputy = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="deputising"
    )
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = _("absence")
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="absence_ends_after_start"
            ),
            models.CheckConstraint(
                condition=~Q(deputy=models.F("user")), name="absence_deputy_not_self"
            ),
        ]
        indexes = [models.Index(fields=["user", "ends_at"])]

    def __str__(self) -> str:
        return f"{self.user} away {self.starts_at:%Y-%m-%d}–{self.ends_at:%Y-%m-%d}"

    def covers(self, moment: dt.datetime) -> bool:
        return self.starts_at <= moment < self.ends_at


class ApiToken(models.Model):
    """A bearer token for the REST API. Only its SHA-256 is stored; the token is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, default="")
    prefix = models.CharField(max_length=12, db_index=True)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API token")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @staticmethod
    def digest_of(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()
