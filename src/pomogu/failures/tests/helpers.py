"""Building failures for the tests: through ``services.record``, like the rest of the desk."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pomogu.cases.models import Case
from pomogu.failures import services
from pomogu.failures.models import Failure, FailureKind

MSK = dt.timezone(dt.timedelta(hours=3))


def at(day: int, hour: int = 12, month: int = 11) -> dt.datetime:
    """A moment in November 2026, Moscow time (the desk's time zone in the tests)."""
    return dt.datetime(2026, month, day, hour, tzinfo=MSK)


def fail(
    case: Case | None,
    kind: FailureKind = FailureKind.SLA_FIRST_RESPONSE,
    *,
    key: str,
    when: dt.datetime | None = None,
    minutes: float = 0.0,
    **extra: Any,
) -> Failure:
    failure = services.record(
        kind, key=key, case=case, at=when or at(20), minutes_lost=minutes, **extra
    )
    assert failure is not None
    return failure
