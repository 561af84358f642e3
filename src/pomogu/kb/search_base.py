"""What the search backends share: the candidate limits, a hit, the user's scope, SQL helpers
and the statistics cache. The API is ``pomogu.kb.search``."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection

from pomogu.cases.choices import CaseState
from pomogu.kb.choices import Visibility

# Per search, at most this many of the newest matching messages (and subjects) are ranked.
CANDIDATES = 60
SUBJECT_CANDIDATES = 40
# Similar cases rank fewer: only five are shown, and matching keywords matters more than age.
SIMILAR_CANDIDATES = 30
SIMILAR_SUBJECT_CANDIDATES = 15
# A message is ranked on its first RANK_CHARS characters (the whole of it is searched).
RANK_CHARS = 4000
# How long the word statistics (how many messages hold a word) are reused.
STATISTICS_SECONDS = 600
RESOLVED_STATES = (CaseState.RESOLVED.value, CaseState.CLOSED.value)


@dataclass
class Hit:
    """One matching document (a message, a subject, an article) of an object (``key``)."""

    key: int
    at: datetime | None
    score: float = 0.0
    in_subject: bool = False
    terms: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Scope:
    """The cases a user may see, as SQL (empty: every case), and their teams (None: every
    team), which say about how many of the cases that is. ``case_sql`` is the same rule as a
    condition on a row of ``cases_case`` named ``c`` (empty: use ``sql``)."""

    sql: str = ""
    params: tuple[Any, ...] = ()
    teams: tuple[int, ...] | None = None
    case_sql: str = ""
    case_params: tuple[Any, ...] = ()


def in_scope(column: str, scope: Scope) -> tuple[str, list[Any]]:
    """SQL (and its parameters) keeping the rows whose ``column`` is a case in ``scope``."""
    if not scope.sql:
        return "", []
    return f" AND {column} IN ({scope.sql})", list(scope.params)


def on_case(scope: Scope) -> tuple[str, list[Any]]:
    """SQL (and its parameters) keeping the rows of ``cases_case c`` in ``scope``: a condition
    on the row itself where there is one (no semi-join, which PostgreSQL may plan as a nested
    loop over every pair), else ``c.id IN (...)``."""
    if not scope.sql:
        return "", []
    if scope.case_sql:
        return f" AND ({scope.case_sql})", list(scope.case_params)
    return in_scope("c.id", scope)


def article_filters(
    alias: str, *, public_only: bool, language: str | None, drafts: bool
) -> tuple[str, list[Any]]:
    """SQL (and its parameters) keeping the articles a search may return."""
    sql, params = "", []
    if not drafts:
        sql += f" AND {alias}.published"
    if public_only:
        sql += f" AND {alias}.visibility = %s"
        params.append(Visibility.PUBLIC.value)
    if language:
        sql += f" AND {alias}.language = %s"
        params.append(language)
    return sql, params


def fetch(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


class Statistics:
    """How many rows hold each word, reread every STATISTICS_SECONDS (per process)."""

    def __init__(self, load: Callable[[], dict[str, Any]]) -> None:
        self._load = load
        self._value: dict[str, Any] | None = None
        self._at = 0.0

    def get(self) -> dict[str, Any]:
        now = time.monotonic()
        if self._value is None or now - self._at > STATISTICS_SECONDS:
            self._value = self._load()
            self._at = now
        return self._value
