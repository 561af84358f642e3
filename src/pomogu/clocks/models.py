"""Time is a promise (R4): calendars, SLA policies, deadlines, escalation chains, appointments and
the promises agents make. Every deadline is a row with ``due_at`` and ``state``; the sweep
(``clocks.services.sweep``) claims due rows with a conditional update, and every effect is unique
in the database (one breach per deadline, one escalation per deadline and level), so any number of
workers can run and a crash or a second delivery never doubles an effect."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from pomogu.clocks.calendar import BusinessCalendar


class Calendar(models.Model):
    """Working hours in a time zone, with a country's holidays and exceptions. ``config`` is
    the JSON form of ``clocks.calendar.BusinessCalendar`` (see ``BusinessCalendar.from_config``)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    config = models.JSONField(_("hours, time zone, holidays"))
    is_default = models.BooleanField(
        _("default calendar"), default=False, help_text=_("Used by policies that name none")
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("calendar")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="one_default_calendar"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def business(self) -> BusinessCalendar:
        from pomogu.clocks.calendar import BusinessCalendar

        return BusinessCalendar.from_config(self.config)


class SlaPolicy(models.Model):
    """Targets for a team × customer tier × priority, in business minutes. Empty team, tier or
    priority means "any"; the most specific active policy wins."""

    name = models.CharField(_("name"), max_length=100)
    team = models.ForeignKey(
        "people.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="sla_policies"
    )
    tier = models.CharField(_("customer tier"), max_length=32, blank=True, default="")
    priority = models.PositiveSmallIntegerField(_("priority"), null=True, blank=True)
    calendar = models.ForeignKey(
        Calendar, null=True, blank=True, on_delete=models.PROTECT, related_name="policies"
    )
    first_response_minutes = models.PositiveIntegerField(
        _("first response (business minutes)"), null=True, blank=True
    )
    next_response_minutes = models.PositiveIntegerField(
        _("next response (business minutes)"), null=True, blank=True
    )
    resolution_minutes = models.PositiveIntegerField(
        _("resolution (business minutes)"), null=True, blank=True
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def specificity(self) -> int:
        return (4 if self.team_id else 0) + (2 if self.tier else 0) + (1 if self.priority else 0)


class DeadlineKind(models.TextChoices):
    FIRST_RESPONSE = "first_response", _("First response")
    NEXT_RESPONSE = "next_response", _("Next response")
    RESOLUTION = "resolution", _("Resolution")
    HANDOFF = "handoff", _("Handoff acceptance")
    APPOINTMENT = "appointment", _("Appointment")
    PROMISE = "promise", _("Promise to the customer")
    CONTRACTOR = "contractor", _("Contractor's task")


SLA_KINDS = (DeadlineKind.FIRST_RESPONSE, DeadlineKind.NEXT_RESPONSE, DeadlineKind.RESOLUTION)


class DeadlineState(models.TextChoices):
    PENDING = "pending", _("Running")
    PAUSED = "paused", _("Paused (waiting on the customer)")
    MET = "met", _("Met")
    BREACHED = "breached", _("Missed")
    CANCELLED = "cancelled", _("No longer needed")


OPEN_DEADLINE_STATES = (DeadlineState.PENDING, DeadlineState.PAUSED)


class Deadline(models.Model):
    """One promise with a time. A breached deadline stays breached (the register has it) and
    still gets ``met_at`` when it is finally kept, which gives the minutes lost."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="deadlines")
    kind = models.CharField(max_length=16, choices=DeadlineKind)
    state = models.CharField(max_length=16, choices=DeadlineState, default=DeadlineState.PENDING)
    team = models.ForeignKey("people.Team", on_delete=models.PROTECT, related_name="+")
    responsible = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField()
    due_at = models.DateTimeField(null=True, blank=True)
    target_minutes = models.FloatField(
        null=True, blank=True, help_text=_("Business minutes allowed (SLA deadlines)")
    )
    remaining_minutes = models.FloatField(
        null=True, blank=True, help_text=_("Business minutes left when the clock was paused")
    )
    calendar = models.ForeignKey(
        Calendar, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    policy = models.ForeignKey(
        SlaPolicy, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    handoff = models.ForeignKey(
        "cases.Handoff", null=True, blank=True, on_delete=models.CASCADE, related_name="deadlines"
    )
    contractor_task = models.ForeignKey(
        "cases.ContractorTask",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="deadlines",
    )
    appointment = models.ForeignKey(
        "Appointment", null=True, blank=True, on_delete=models.CASCADE, related_name="deadlines"
    )
    promise = models.ForeignKey(
        "Promise", null=True, blank=True, on_delete=models.CASCADE, related_name="deadlines"
    )
    met_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("deadline")
        ordering = ["due_at", "id"]
        constraints = [
            # One running clock of each SLA kind per case.
            models.UniqueConstraint(
                fields=["case", "kind"],
                condition=Q(state__in=["pending", "paused"])
                & Q(kind__in=["first_response", "next_response", "resolution"]),
                name="one_open_sla_clock_per_kind",
            ),
        ]
        indexes = [
            # The sweep's query: a partial index keeps an idle sweep fast with millions of rows.
            models.Index(
                fields=["due_at"], condition=Q(state="pending"), name="deadline_pending_due"
            ),
            models.Index(fields=["case", "state"], name="deadline_case_state"),
            # The register's SLA attainment: the deadlines that came due in a period.
            models.Index(fields=["due_at", "kind"], name="deadline_due_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} of case {self.case_id} due {self.due_at}"


class EscalationChain(models.Model):
    """Who hears about a missed deadline, level by level. A team without a chain uses the
    default chain (team lead, then the head of service)."""

    team = models.OneToOneField(
        "people.Team",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="escalation_chain",
        help_text=_("Empty: the desk's default chain"),
    )
    head = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("The head of service: where the chain ends"),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("escalation chain")
        constraints = [
            models.UniqueConstraint(
                fields=["team"], condition=Q(team__isnull=True), name="one_default_chain"
            )
        ]

    def __str__(self) -> str:
        return f"chain of team {self.team_id or 'default'}"


class LevelTarget(models.TextChoices):
    OWNER = "owner", _("The case's owner")
    TEAM_LEAD = "team_lead", _("The team lead")
    HEAD = "head", _("The head of service")
    USER = "user", _("A named person")


class EscalationLevel(models.Model):
    chain = models.ForeignKey(EscalationChain, on_delete=models.CASCADE, related_name="levels")
    position = models.PositiveSmallIntegerField()
    target = models.CharField(max_length=16, choices=LevelTarget)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    ack_minutes = models.PositiveIntegerField(
        _("minutes to acknowledge"),
        default=60,
        help_text=_("Unacknowledged after this many minutes, the escalation moves up"),
    )

    class Meta:
        verbose_name = _("escalation level")
        ordering = ["chain", "position"]
        constraints = [
            models.UniqueConstraint(fields=["chain", "position"], name="one_level_per_position"),
            models.CheckConstraint(
                condition=~Q(target="user") | Q(user__isnull=False), name="user_level_names_user"
            ),
        ]

    def __str__(self) -> str:
        return f"level {self.position}: {self.target}"


class EscalationState(models.TextChoices):
    OPEN = "open", _("Waiting for acknowledgement")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    MOVED_UP = "moved_up", _("Not acknowledged in time; moved up")
    CLOSED = "closed", _("Closed: the deadline was kept or is moot")


class Escalation(models.Model):
    """One level of escalation of one missed deadline. Unique per deadline and level."""

    deadline = models.ForeignKey(Deadline, on_delete=models.CASCADE, related_name="escalations")
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="escalations")
    level = models.PositiveSmallIntegerField()
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="escalations"
    )
    intended = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Who the level names, when an absence sent it to someone else"),
    )
    state = models.CharField(max_length=16, choices=EscalationState, default=EscalationState.OPEN)
    created_at = models.DateTimeField()
    ack_due_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    claimed_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("escalation")
        ordering = ["deadline", "level"]
        constraints = [
            models.UniqueConstraint(fields=["deadline", "level"], name="one_escalation_per_level")
        ]
        indexes = [
            models.Index(fields=["ack_due_at"], condition=Q(state="open"), name="escalation_open")
        ]

    def __str__(self) -> str:
        return f"escalation {self.level} of deadline {self.deadline_id}"


class AppointmentKind(models.TextChoices):
    VISIT = "visit", _("Visit")
    CALL = "call", _("Call")


class AppointmentState(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    KEPT = "kept", _("Kept")
    MISSED = "missed", _("Missed")
    CANCELLED = "cancelled", _("Cancelled")


class Appointment(models.Model):
    """A visit or call with the customer at a time, with a staff member."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="appointments")
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="appointments"
    )
    kind = models.CharField(max_length=8, choices=AppointmentKind, default=AppointmentKind.VISIT)
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    place = models.CharField(_("where or which number"), max_length=300, blank=True, default="")
    state = models.CharField(
        max_length=16, choices=AppointmentState, default=AppointmentState.SCHEDULED
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True, default="")
    replaces = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replaced_by"
    )

    class Meta:
        verbose_name = _("appointment")
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="appointment_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} on case {self.case_id} at {self.starts_at}"


class PromiseState(models.TextChoices):
    OPEN = "open", _("Open")
    KEPT = "kept", _("Kept")
    BROKEN = "broken", _("Broken")
    CANCELLED = "cancelled", _("Withdrawn")


class Promise(models.Model):
    """Anything an agent promised the customer by a time ("I'll call you back by Friday 12:00")."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="promises")
    made_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="promises"
    )
    text = models.CharField(_("what was promised"), max_length=500)
    due_at = models.DateTimeField(_("by"))
    state = models.CharField(max_length=16, choices=PromiseState, default=PromiseState.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("promise")
        ordering = ["due_at"]

    def __str__(self) -> str:
        return self.text
