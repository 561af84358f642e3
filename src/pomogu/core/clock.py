"""The one place that reads the time, so tests can move it with ``time_machine``."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone


def now() -> dt.datetime:
    return timezone.now()
