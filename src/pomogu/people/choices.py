from django.db import models
from django.utils.translation import gettext_lazy as _


class StaffRole(models.TextChoices):
    AGENT = "agent", _("Agent")
    MANAGER = "manager", _("Manager")
    ADMIN = "admin", _("Administrator")


class TeamRole(models.TextChoices):
    MEMBER = "member", _("Member")
    LEAD = "lead", _("Lead")


class AbsenceKind(models.TextChoices):
    VACATION = "vacation", _("Vacation")
    SICK = "sick", _("Sick leave")
    MEETING = "meeting", _("Meeting")
    OTHER = "other", _("Other")
