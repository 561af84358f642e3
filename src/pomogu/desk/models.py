"""What the desk keeps of its own: the views agents save on a team queue."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class SavedView(models.Model):
    """A named set of filters on one team's queue ("my urgent unassigned"), one person's own.
    ``query`` is the queue's query string without the page cursor, as the filter form wrote
    it; it is validated again each time it is used."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views"
    )
    team = models.ForeignKey("people.Team", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("name"), max_length=80)
    query = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "team", "name"], name="saved_view_name")
        ]

    def __str__(self) -> str:
        return self.name
