from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_save


class ClocksConfig(AppConfig):
    name = "pomogu.clocks"
    label = "clocks"

    def ready(self) -> None:
        from pomogu.cases.models import TimelineEvent

        post_save.connect(_on_event, sender=TimelineEvent, dispatch_uid="clocks-on-event")


def _on_event(sender: Any, instance: Any, created: bool, raw: bool = False, **kwargs: Any) -> None:
    """Every case event keeps the case's clocks in step (clocks.services.on_event)."""
    if created and not raw:
        from pomogu.clocks.services import on_event

        on_event(instance)
