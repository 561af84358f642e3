"""The failure register (R8): one row for each time the desk failed a customer."""

from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import gettext_lazy as _


class FailureKind(models.TextChoices):
    SLA_FIRST_RESPONSE = "sla_first_response", _("First response deadline missed")
    SLA_NEXT_RESPONSE = "sla_next_response", _("Next response deadline missed")
    SLA_RESOLUTION = "sla_resolution", _("Resolution deadline missed")
    CONTRACTOR_LATE = "contractor_late", _("Contractor late")
    HANDOFF_DECLINED = "handoff_declined", _("Handoff declined")
    HANDOFF_TIMED_OUT = "handoff_timed_out", _("Handoff not answered in time")
    ESCALATION_UNACKNOWLEDGED = "escalation_unacknowledged", _("Escalation not acknowledged")
    APPOINTMENT_MISSED = "appointment_missed", _("Appointment missed")
    PROMISE_BROKEN = "promise_broken", _("Promise to the customer broken")
    ANGER = "anger", _("Customer driven to anger")
    REOPENED = "reopened", _("Case reopened")
    PESTERING_BLOCKED = "pestering_blocked", _("Pestering blocked")
    GUARD_OVERRIDDEN = "guard_overridden", _("Reply guard overridden")
    MISROUTED = "misrouted", _("Case sent to the wrong team")
    CUSTOMER_LEFT = "customer_left", _("Customer left")
    LOW_RATING = "low_rating", _("Low satisfaction rating")


class Failure(models.Model):
    """One failure of service (R8): a missed deadline, a bounced handoff, an angry customer, a
    reopened case, a customer who left… with the team and person who answer for it, the
    business minutes lost and the money at risk.

    Rows are written only by ``failures.services.record``; ``key`` is unique, so the same
    failure is never counted twice however often a job that finds it runs.
    """

    kind = models.CharField(_("kind"), max_length=32, choices=FailureKind, db_index=True)
    case = models.ForeignKey(
        "cases.Case",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="failures",
        verbose_name=_("case"),
    )
    team = models.ForeignKey(
        "people.Team",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("team"),
    )
    # Who answered for the case when the failure happened.
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("person"),
    )
    occurred_at = models.DateTimeField(_("occurred at"), db_index=True)
    minutes_lost = models.FloatField(_("business minutes lost"), default=0)
    money_at_risk = models.DecimalField(
        _("money at risk"), max_digits=12, decimal_places=2, default=0
    )
    # Facts for machines, e.g. {"target": "first_response", "due_at": iso, "late_by_minutes": 42}.
    detail = models.JSONField(_("detail"), default=dict, blank=True, encoder=DjangoJSONEncoder)
    # One sentence for people, in the desk's language at the time it was recorded.
    summary = models.CharField(_("summary"), max_length=300, blank=True, default="")
    # What makes a failure happen once: "deadline:17:breach", "handoff:5:declined", ...
    key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("failure")
        verbose_name_plural = _("failures")
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["team", "occurred_at"], name="failure_team_time"),
            models.Index(fields=["kind", "occurred_at"], name="failure_kind_time"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} at {self.occurred_at:%Y-%m-%d %H:%M}"
