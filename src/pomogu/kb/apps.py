from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class KbConfig(AppConfig):
    name = "pomogu.kb"
    label = "kb"
    verbose_name = _("Knowledge base")

    def ready(self) -> None:
        post_migrate.connect(_repair_sqlite_index, sender=self)


def _repair_sqlite_index(using: str = "default", **kwargs: Any) -> None:
    """Django's SQLite schema editor rebuilds a table to alter it, which drops its triggers:
    after every ``migrate``, put back what is missing of the full-text index."""
    from django.db import connections

    from pomogu.kb.schema import ensure_sqlite_index

    ensure_sqlite_index(connections[using])
