"""Full-text search on SQLite: FTS5 tables kept by triggers (``schema.py``) hold the words as
written; stems are searched as prefixes (``text.py``). See docs/decisions/0009-search.md."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from django.utils.dateparse import parse_datetime

from pomogu.kb.search_base import (
    CANDIDATES,
    RESOLVED_STATES,
    SIMILAR_CANDIDATES,
    SIMILAR_SUBJECT_CANDIDATES,
    SUBJECT_CANDIDATES,
    Hit,
    Scope,
    article_filters,
    fetch,
    in_scope,
)
from pomogu.kb.text import (
    MIN_CORPUS,
    Keyword,
    Query,
    any_of_keywords_fts5,
    count_terms,
    keyword_groups_fts5,
    pick_keywords,
)


class Sqlite:
    def case_hits(self, query: Query, scope: Scope) -> list[Hit]:
        match = query.fts5()
        scope_sql, scope_params = in_scope("m.case_id", scope)
        messages = fetch(
            "SELECT m.case_id, m.created_at, bm25(kb_message_fts) FROM kb_message_fts "  # noqa: S608 - SQL from constants; input is bound
            "JOIN cases_message m ON m.id = kb_message_fts.rowid "
            f"WHERE kb_message_fts MATCH %s{scope_sql} "
            "ORDER BY kb_message_fts.rowid DESC LIMIT %s",
            [match, *scope_params, CANDIDATES],
        )
        scope_sql, scope_params = in_scope("c.id", scope)
        subjects = fetch(
            "SELECT c.id, c.created_at, bm25(kb_case_fts) FROM kb_case_fts "  # noqa: S608 - SQL from constants; input is bound
            "JOIN cases_case c ON c.id = kb_case_fts.rowid "
            f"WHERE kb_case_fts MATCH %s{scope_sql} "
            "ORDER BY kb_case_fts.rowid DESC LIMIT %s",
            [match, *scope_params, SUBJECT_CANDIDATES],
        )
        return [Hit(row[0], _at(row[1]), _bm25(row[2])) for row in messages] + [
            Hit(row[0], _at(row[1]), _bm25(row[2]), in_subject=True) for row in subjects
        ]

    def article_ids(
        self,
        query: Query,
        *,
        public_only: bool,
        language: str | None,
        drafts: bool,
        limit: int,
    ) -> list[int]:
        filters, params = article_filters(
            "a", public_only=public_only, language=language, drafts=drafts
        )
        rows = fetch(
            "SELECT a.id FROM kb_article_fts JOIN kb_article a ON a.id = kb_article_fts.rowid "  # noqa: S608 - SQL from constants; input is bound
            f"WHERE kb_article_fts MATCH %s{filters} "
            "ORDER BY bm25(kb_article_fts, 4.0, 1.0), a.updated_at DESC, a.id DESC LIMIT %s",
            [query.fts5(), *params, limit],
        )
        return [row[0] for row in rows]

    def keywords(self, texts: Sequence[tuple[str, float]]) -> list[Keyword]:
        counts = count_terms(texts)
        if not counts:
            return []
        # About how many messages there are (ids only grow; a few deleted ones do not matter).
        total = float(fetch("SELECT coalesce(max(id), 0) FROM cases_message", [])[0][0])
        if total < MIN_CORPUS:
            return pick_keywords(counts)
        shares = {}
        for term in counts:
            rows = fetch(
                "SELECT sum(doc) FROM kb_message_vocab WHERE term >= %s AND term < %s",
                [term, term + "\U0010ffff"],
            )
            shares[term] = min(1.0, float(rows[0][0] or 0) / total)
        return pick_keywords(counts, shares, rare=1.0 / total)

    def _matched_terms(
        self, fts: str, keywords: Sequence[Keyword], rowids: Sequence[int]
    ) -> dict[int, set[str]]:
        """Which keywords each of these rows holds (one indexed lookup per keyword)."""
        found: dict[int, set[str]] = {rowid: set() for rowid in rowids}
        if not rowids:
            return found
        placeholders = ", ".join(["%s"] * len(rowids))
        for keyword in keywords:
            rows = fetch(
                f"SELECT rowid FROM {fts} WHERE {fts} MATCH %s AND rowid IN ({placeholders})",  # noqa: S608 - SQL from constants; input is bound
                [keyword.fts5(), *rowids],
            )
            for (rowid,) in rows:
                found[rowid].add(keyword.term)
        return found

    def case_keyword_hits(
        self, keywords: Sequence[Keyword], scope: Scope, *, exclude: int
    ) -> list[Hit]:
        match = keyword_groups_fts5(keywords)
        scope_sql, scope_params = in_scope("m.case_id", scope)
        messages = fetch(
            "SELECT kb_message_fts.rowid, m.case_id, m.created_at FROM kb_message_fts "  # noqa: S608 - SQL from constants; input is bound
            "JOIN cases_message m ON m.id = kb_message_fts.rowid "
            "JOIN cases_case c ON c.id = m.case_id "
            f"WHERE kb_message_fts MATCH %s AND c.state IN (%s, %s) AND m.case_id <> %s"
            f"{scope_sql} ORDER BY kb_message_fts.rowid DESC LIMIT %s",
            [match, *RESOLVED_STATES, exclude, *scope_params, SIMILAR_CANDIDATES],
        )
        scope_sql, scope_params = in_scope("c.id", scope)
        subjects = fetch(
            "SELECT c.id, c.id, c.created_at FROM kb_case_fts "  # noqa: S608 - SQL from constants; input is bound
            "JOIN cases_case c ON c.id = kb_case_fts.rowid "
            f"WHERE kb_case_fts MATCH %s AND c.state IN (%s, %s) AND c.id <> %s{scope_sql} "
            "ORDER BY kb_case_fts.rowid DESC LIMIT %s",
            [match, *RESOLVED_STATES, exclude, *scope_params, SIMILAR_SUBJECT_CANDIDATES],
        )
        in_messages = self._matched_terms("kb_message_fts", keywords, [r[0] for r in messages])
        in_subjects = self._matched_terms("kb_case_fts", keywords, [r[0] for r in subjects])
        return [
            Hit(row[1], _at(row[2]), terms=frozenset(in_messages[row[0]])) for row in messages
        ] + [
            Hit(row[1], _at(row[2]), terms=frozenset(in_subjects[row[0]]), in_subject=True)
            for row in subjects
        ]

    def article_keyword_hits(
        self, keywords: Sequence[Keyword], *, public_only: bool, language: str | None
    ) -> list[Hit]:
        filters, params = article_filters(
            "a", public_only=public_only, language=language, drafts=False
        )
        rows = fetch(
            "SELECT a.id, a.updated_at FROM kb_article_fts "  # noqa: S608 - SQL from constants; input is bound
            "JOIN kb_article a ON a.id = kb_article_fts.rowid "
            f"WHERE kb_article_fts MATCH %s{filters} ORDER BY a.id DESC LIMIT %s",
            [any_of_keywords_fts5(keywords), *params, CANDIDATES],
        )
        matched = self._matched_terms("kb_article_fts", keywords, [row[0] for row in rows])
        return [Hit(row[0], _at(row[1]), terms=frozenset(matched[row[0]])) for row in rows]


def _bm25(value: float) -> float:
    """FTS5's bm25 (lower is better, unbounded) as 0..1, higher better, like ts_rank's
    normalisation 32."""
    score = max(-float(value), 0.0)
    return score / (score + 1.0)


def _at(value: Any) -> datetime | None:
    """A timestamp of a raw SQLite row (stored in UTC, without its zone) as an aware one."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return None
