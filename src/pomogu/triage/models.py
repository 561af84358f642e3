"""The router's versions, its decision on each case, and what people taught it (R1)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from pomogu.cases.models import Case
from pomogu.people.models import Team


class RouterVersion(models.Model):
    """One trained router. Exactly one is active; older ones stay for rollback until pruned.
    ``model`` holds numpy arrays and JSON (see triage.router), never a pickle."""

    created_at = models.DateTimeField(auto_now_add=True)
    is_active = models.BooleanField(default=False)
    examples = models.PositiveIntegerField(default=0)
    # The newest RoutingFeedback the version learned from: feedback after it counts towards
    # the next retraining.
    feedback_until = models.PositiveBigIntegerField(default=0)
    metrics = models.JSONField(default=dict, blank=True)
    model = models.BinaryField()
    # sha256 of ``model``: processes cache the loaded model under (id, checksum).
    checksum = models.CharField(max_length=64, default="")
    trained_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        verbose_name = _("router version")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"], condition=Q(is_active=True), name="one_active_router"
            )
        ]

    def __str__(self) -> str:
        return f"router v{self.pk}{' (active)' if self.is_active else ''}"


class RoutingSource(models.TextChoices):
    MODEL = "model", _("the router")
    MAILBOX = "mailbox", _("the address it was sent to")
    STAFF = "staff", _("the person who opened it")


class RoutingDecision(models.Model):
    """How a case got its first team, and whether a person still has to decide (R1)."""

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="routing")
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="+")
    source = models.CharField(max_length=16, choices=RoutingSource)
    version = models.ForeignKey(
        RouterVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    suggested_team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    confidence = models.FloatField(null=True, blank=True)
    unsure = models.BooleanField(default=False)
    # The router thinks no team owns the request ("not our business at all").
    not_ours = models.BooleanField(default=False)
    evidence = models.JSONField(default=list, blank=True)  # [[words, weight], ...]
    ranked = models.JSONField(default=list, blank=True)  # [{"team", "name", "confidence"}]
    needs_person = models.BooleanField(default=False, db_index=True)
    settled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    settled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("routing decision")

    def __str__(self) -> str:
        return f"routing of case {self.case_id}"


class FeedbackKind(models.TextChoices):
    CONFIRMED = "confirmed", _("A person confirmed the team")
    CORRECTED = "corrected", _("A person moved the case to another team")
    NOT_OURS = "not_ours", _("A person said no team owns it")


class RoutingFeedback(models.Model):
    """A labelled example from a person: the case's text and the team it belongs to (or none).
    Enough new feedback makes the runner retrain the router."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="routing_feedback")
    kind = models.CharField(max_length=16, choices=FeedbackKind)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("routing feedback")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="not_ours", team__isnull=True)
                | (~Q(kind="not_ours") & Q(team__isnull=False)),
                name="feedback_team_unless_not_ours",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} on case {self.case_id}"
