"""Full-text search on PostgreSQL: expression GIN indexes with the ``russian`` configuration
(``schema.py``), user input through ``websearch_to_tsquery``, and the choice of how to find
the newest matches (``Postgres._newest``). See docs/decisions/0009-search.md."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction

from pomogu.kb.schema import PG_CONFIG, pg_article_vector, pg_vector
from pomogu.kb.search_base import (
    CANDIDATES,
    RANK_CHARS,
    RESOLVED_STATES,
    SIMILAR_CANDIDATES,
    SIMILAR_SUBJECT_CANDIDATES,
    SUBJECT_CANDIDATES,
    Hit,
    Scope,
    Statistics,
    article_filters,
    fetch,
    on_case,
)
from pomogu.kb.text import (
    MAX_TEXT_CHARS,
    MIN_CORPUS,
    Keyword,
    Query,
    clean,
    keyword_groups,
    pick_keywords,
)

_PG_QUERY = f"websearch_to_tsquery('{PG_CONFIG}'::regconfig, %s)"
_PG_MESSAGE = pg_vector("m.body")
_PG_SUBJECT = pg_vector("c.subject", limit=False)
_PG_RANKED_BODY = (
    f"to_tsvector('{PG_CONFIG}'::regconfig, translate(left(h.body, {RANK_CHARS}), 'ёЁ', 'еЕ'))"
)
_PG_RANKED_SUBJECT = pg_vector("h.subject", limit=False)
_PG_ARTICLE = pg_article_vector("a")


def _pg_lexeme(term: str) -> str:
    return "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"


def _pg_any(keywords: Sequence[Keyword]) -> str:
    return " | ".join(_pg_lexeme(keyword.term) for keyword in keywords)


def _pg_groups(keywords: Sequence[Keyword]) -> str:
    return " | ".join(
        "(" + " & ".join(_pg_lexeme(keyword.term) for keyword in group) + ")"
        for group in keyword_groups(keywords)
    )


# How PostgreSQL finds the newest matches (Postgres._newest; docs/decisions/0009-search.md).
# Two ways, chosen step by step by their expected cost, from PostgreSQL's own statistics:
# - walk the newest rows through the primary key, checking each row's case (JOIN_US) and
#   reading the text of those the user may see (one to_tsvector: ~2 µs + 0.045 µs a byte),
#   over SCAN_SLACK times the rows expected to hold the matches still wanted: cheap for a
#   common word;
# - ask the GIN index for the matches among the newest rows only (a BitmapAnd with a range of
#   the primary key, so that only the window's matches are read), the window holding about
#   WINDOW_MATCHES times the matches wanted (at least MIN_WINDOW rows): the index reads each
#   word's whole list (~0.1 µs an entry), each match costs ~6 µs.
# After a step that found too few, the density of candidates is measured on the rows read and
# the next step is planned with it, bounded by the statistics (STEP_MATCHES, STEP_US). When
# the statistics expect at most FEW_MATCHES below the rows read, one query asks for all.
SCAN_SLACK = 3
WINDOW_MATCHES = 3
MIN_WINDOW = 20_000
FEW_MATCHES = 3000
# Every step is bounded, whatever the measured share says: a GIN window holds at most
# STEP_MATCHES matches by the statistics, a walk at most STEP_US of work, each step at least
# GROWTH times the last; after MAX_STEPS the candidates found are all there are.
STEP_MATCHES = 3000
STEP_US = 20_000
GROWTH = 4
ROW_US = 2.0
BYTE_US = 0.045
GIN_ENTRY_US = 0.1
RANGE_ROW_US = 0.04
MATCH_US = 6.0
JOIN_US = 3.0
MAX_STEPS = 4
# Without statistics (an index not yet analyzed), on a table this big, the first step walks
# PROBE_ROWS of the newest rows and measures the share of matches.
PROBE_TABLE = 200_000
PROBE_ROWS = 2000
_PG_INDEXES = ("kb_message_body_fts", "kb_case_subject_fts")


@dataclass(frozen=True)
class _Shares:
    """Of one index: the share of rows holding each common lexeme, and the share of the
    rarest of them (a lexeme not listed is rarer still: half of it is our guess)."""

    shares: dict[str, float] = field(default_factory=dict)
    rarest: float = 0.0

    def of(self, lexeme: str) -> float:
        return self.shares.get(lexeme, self.rarest / 2)


def _pg_statistics() -> dict[str, Any]:
    """PostgreSQL's own statistics: for each GIN index the most common lexemes and their
    frequencies (ANALYZE keeps them for an expression index), and the share of cases of each
    team. Nothing below MIN_CORPUS rows."""
    rows = fetch(
        "SELECT s.tablename, s.most_common_elems::text::text[], s.most_common_elem_freqs, "
        "t.reltuples FROM pg_stats s JOIN pg_index i ON i.indexrelid = "
        "(quote_ident(s.schemaname) || '.' || quote_ident(s.tablename))::regclass "
        "JOIN pg_class t ON t.oid = i.indrelid "
        "WHERE s.schemaname = current_schema() AND s.tablename = ANY(%s)",
        [list(_PG_INDEXES)],
    )
    found: dict[str, Any] = {}
    for name, elems, freqs, tuples in rows:
        if elems is None or tuples < MIN_CORPUS:
            continue
        shares = {str(elem): float(freq) for elem, freq in zip(elems, freqs, strict=False)}
        rarest = float(freqs[len(elems)]) if len(freqs) > len(elems) else min(shares.values())
        found[name] = _Shares(shares, rarest)
    teams = fetch(
        "SELECT most_common_vals::text::bigint[], most_common_freqs FROM pg_stats "
        "WHERE schemaname = current_schema() AND tablename = 'cases_case' "
        "AND attname = 'team_id'",
        [],
    )
    if teams and teams[0][0] is not None:
        found["teams"] = dict(zip(teams[0][0], teams[0][1], strict=False))
    widths = fetch(
        "SELECT tablename, avg_width FROM pg_stats WHERE schemaname = current_schema() AND "
        "((tablename = 'cases_message' AND attname = 'body') OR "
        "(tablename = 'cases_case' AND attname = 'subject'))",
        [],
    )
    found["widths"] = {table: float(width) for table, width in widths}
    return found


@dataclass(frozen=True)
class _Plan:
    """What a search expects: the ``share`` of rows that match, the share the user may see
    (``visible``), and how many index entries it reads (the sum of its words' shares)."""

    share: float
    visible: float
    entries: float


@dataclass
class _Source:
    """One candidate query: rows of ``table`` (alias ``alias``) whose ``vector`` matches
    ``match``, with ``where`` (joins and filters), newest first, ``select`` computed over the
    ``limit`` kept (as ``h``, from the ``inner`` columns, which hold ``text``).

    When the index cannot answer ``match`` exactly (a phrase, an excluded word), ``loose``
    (which it can, and which matches at least as much) finds the candidates, and ``match``
    is checked only on those the user may see: PostgreSQL would otherwise read every
    candidate's text again, seen or not."""

    table: str
    alias: str
    columns: str
    vector: str
    match: str
    match_params: list[Any]
    select: str
    select_params: list[Any]
    inner: str
    text: str
    where: str
    where_params: list[Any]
    limit: int
    join: str = ""
    loose: str = ""
    loose_params: list[Any] = field(default_factory=list)

    scoped_by_row: bool = True

    @property
    def checks_cases(self) -> bool:
        return bool(self.join or self.where)

    def sql(
        self, lower: int, upper: int, *, scan: bool, window: bool = False, limit: int = 0
    ) -> tuple[str, list[Any]]:
        """The SQL for at most ``limit`` rows (default: ``self.limit``): ``scan`` walks the
        primary key; otherwise the GIN index gives the matches, in a ``window`` of the newest
        rows ANDed with the primary key's range."""
        a = self.alias
        limit = limit or self.limit
        bounds = f"{a}.id > %s AND {a}.id <= %s"
        ordered = f"ORDER BY {a}.id DESC LIMIT %s"
        text = pg_vector(f"v.{self.text}", limit=self.text == "body")
        if scan:
            # The rows newest first, the cases they belong to checked first (by primary key,
            # a few µs), the text last (to_tsvector, ~25 µs): OFFSET 0 keeps that order.
            inner = (
                f"SELECT v.* FROM (SELECT {self.inner}, {a}.id AS _id FROM {self.table} {a} "  # noqa: S608 - SQL from constants; input is bound
                f"{self.join} WHERE {bounds}{self.where} ORDER BY {a}.id DESC OFFSET 0) v "
                f"WHERE {text} @@ {self.match} ORDER BY v._id DESC LIMIT %s"
            )
            inner_params = [lower, upper, *self.where_params, *self.match_params, limit]
            return (
                f"SELECT {self.select} FROM ({inner}) h",  # noqa: S608 - SQL from constants; input is bound
                [*self.select_params, *inner_params],
            )
        # In a window, the tsquery as an InitPlan: PostgreSQL then plans for an average word
        # and ANDs the GIN bitmap with the primary key's range, reading only the window's rows
        # (for the constant, it reads every match, then drops most).
        match, match_params = (
            (self.loose, self.loose_params)
            if self.loose
            else (
                self.match,
                self.match_params,
            )
        )
        if window:
            match = f"(SELECT {match})"
        # The user's scope and the state are checked inside the candidate query, on each
        # match (by primary key), so that only the candidates that count are kept.
        prefix = (
            f"WITH cand AS MATERIALIZED (SELECT {self.columns} FROM {self.table} {a} "  # noqa: S608 - SQL from constants; input is bound
            f"{self.join} WHERE {self.vector} @@ {match} AND {bounds}{self.where}) "
        )
        if self.loose:
            # OFFSET 0 keeps the check on the candidates (else PostgreSQL would push it down
            # into the candidate query, reading the text of every match).
            inner = (
                f"SELECT v.* FROM (SELECT {self.inner}, {a}.id AS _id FROM cand {a} "  # noqa: S608 - SQL from constants; input is bound
                f"OFFSET 0) v WHERE {text} @@ {self.match} ORDER BY v._id DESC LIMIT %s"
            )
            inner_params = [*self.match_params, limit]
        else:
            inner = f"SELECT {self.inner} FROM cand {a} {ordered}"  # noqa: S608 - SQL from constants; input is bound
            inner_params = [limit]
        return (
            f"{prefix}SELECT {self.select} FROM ({inner}) h",  # noqa: S608 - SQL from constants; input is bound
            [*match_params, lower, upper, *self.where_params, *self.select_params, *inner_params],
        )


# The planner's options for the candidate queries, set with SET LOCAL (set_config(..., true))
# in the transaction of one search: joins only as nested loops by primary key (hash and merge
# joins off), exact bitmaps (no page rechecks), no parallel workers (a few thousand rows at
# most: workers would cost more than they save, and a walk must stop at its LIMIT, not run
# ahead in parallel), no JIT compilation.
_BASE_OPTIONS = {
    "enable_hashjoin": "off",
    "enable_mergejoin": "off",
    "work_mem": "32MB",
    "max_parallel_workers_per_gather": "0",
    # The costs of a window's plan reach jit_above_cost (its guesses for the whole index),
    # though it reads a few rows: compiling it cost 10-13 ms a statement.
    "jit": "off",
}
_TOPS = (
    "(SELECT coalesce(max(id), 0) FROM cases_message), "
    "(SELECT coalesce(max(id), 0) FROM cases_case)"
)


def _set_options(options: dict[str, str]) -> tuple[str, list[Any]]:
    # The names are ours (constants), the values bound.
    return (
        ", ".join(f"set_config('{name}', %s, true)" for name in options),
        list(options.values()),
    )


class _Session:
    """One search's statements: one transaction, its options set once (with whatever else
    the first statement asks), then changed only when a step needs others (a walk: no bitmap
    or sequential scans; a scope as a subquery: hash joins)."""

    def __init__(self, cursor: Any) -> None:
        self.cursor = cursor
        self.options = {"enable_bitmapscan": "on", "enable_seqscan": "on", **_BASE_OPTIONS}

    def start(self, columns: str, params: Sequence[Any]) -> tuple[Any, ...]:
        sql, options = _set_options(_BASE_OPTIONS)
        self.cursor.execute(f"SELECT {sql}, {columns}", [*options, *params])
        row = self.cursor.fetchone()
        return tuple(row[len(_BASE_OPTIONS) :])

    def run(
        self, sql: tuple[str, list[Any]], *, walk: bool = False, use_hash: bool = False
    ) -> list[tuple[Any, ...]]:
        scans = "off" if walk else "on"
        wanted = {
            "enable_bitmapscan": scans,
            "enable_seqscan": scans,
            "enable_hashjoin": "on" if use_hash else "off",
        }
        changed = {name: value for name, value in wanted.items() if self.options[name] != value}
        if changed:
            options, params = _set_options(changed)
            self.cursor.execute(f"SELECT {options}", params)
            self.options.update(changed)
        self.cursor.execute(*sql)
        return list(self.cursor.fetchall())


class Postgres:
    statistics = Statistics(_pg_statistics)

    def _shares(self, index: str) -> _Shares:
        found = self.statistics.get().get(index)
        return found if isinstance(found, _Shares) else _Shares()

    def _visible_share(self, scope: Scope) -> float:
        """About what share of the cases the user may see (1 for every case)."""
        if scope.teams is None:
            return 1.0
        teams = self.statistics.get().get("teams") or {}
        return min(1.0, max(sum(teams.get(team, 0.0) for team in scope.teams), 0.01))

    def _newest(
        self, session: _Session, source: _Source, plan: _Plan, *, top: int
    ) -> list[tuple[Any, ...]]:
        """Up to ``source.limit`` rows of ``source``, newest first, reading as few rows as
        ``plan`` (what share of the rows match, and of them the user may see) allows.

        PostgreSQL's planner cannot make these choices itself: a word missing from its
        statistics (every rare word) is 0.5 % of the rows to it, so for a word that is nowhere
        it walked a million subjects (4 s), and it plans a window as if the GIN index could
        give the newest matches first (it cannot)."""
        rows: list[tuple[Any, ...]] = []
        upper, entries = top, plan.entries
        width = self.statistics.get().get("widths", {}).get(source.table, 200.0)
        row_us = ROW_US + BYTE_US * width
        # The candidates meet their cases (state, visibility) by primary key, one index
        # look-up each: a nested loop, linear in the matches. The user's scope is a
        # condition on the case's row (Scope.case_sql); only when it is a subquery
        # (``c.id IN (...)``, a semi-join that a nested loop would make quadratic) are
        # hash joins left to the planner.
        use_hash = not source.scoped_by_row

        def run(sql: tuple[str, list[Any]], *, walk: bool = False) -> list[tuple[Any, ...]]:
            return session.run(sql, walk=walk, use_hash=use_hash and not walk)

        # ``prior``: the share of rows matching, from the statistics (before the user's
        # scope and the state); it bounds what a step may read. ``density``: the share of
        # rows that are candidates, expected, then measured on the rows read.
        prior = plan.share
        density = prior * plan.visible
        last = 0
        if prior <= 0 and top >= PROBE_TABLE:
            window = min(upper, PROBE_ROWS)
            rows += run(source.sql(upper - window, upper, scan=True), walk=True)
            density = max(len(rows), 0.5) / window
            prior = density / plan.visible
            entries = max(entries, prior)
            upper -= window
            last = window
        for _step in range(MAX_STEPS):
            need = source.limit - len(rows)
            if need <= 0 or upper <= 0:
                break
            if prior <= 0 or prior * upper <= FEW_MATCHES:
                # Few matches in all that is left (by the statistics): read them all.
                rows += run(source.sql(0, upper, scan=False, limit=need))
                break
            walk = need / max(density, 1e-9)
            # A window grows at least GROWTH times from the last one, and never holds more
            # than STEP_MATCHES matches (by the statistics): a step costs at most ~20 ms.
            window = max(MIN_WINDOW, int(WINDOW_MATCHES * walk), GROWTH * last)
            window = min(upper, window, max(MIN_WINDOW, int(STEP_MATCHES / prior)))
            # A walk checks each row's case, then reads the text of the candidates.
            walk_row_us = (JOIN_US if source.checks_cases else 0.0) + row_us * plan.visible
            scan_us = walk_row_us * walk
            gin_us = GIN_ENTRY_US * entries * top
            bitmap_us = gin_us + RANGE_ROW_US * window + MATCH_US * prior * window
            if scan_us < bitmap_us:
                window = max(1, int(SCAN_SLACK * walk), GROWTH * last)
                window = min(upper, window, max(PROBE_ROWS, int(STEP_US / walk_row_us)))
                found = run(source.sql(upper - window, upper, scan=True, limit=need), walk=True)
            else:
                found = run(source.sql(upper - window, upper, scan=False, window=True, limit=need))
            rows += found
            if len(found) < need:
                # Fewer than expected: the density, as measured on the rows just read.
                density = max(len(found), 0.5) / window
            upper -= window
            last = window
        return rows[: source.limit]

    def _words(self, query: Query) -> list[str]:
        return sorted({word.text for word in query.terms if not word.stop})

    def _query_plan(
        self, query: Query, lexemes: dict[str, list[str]], index: str, visible: float
    ) -> _Plan:
        """About what share of the index's rows the query matches (an AND of words as its
        rarest word, an OR as the sum), from the statistics."""
        stats = self._shares(index)
        if not stats.shares:
            return _Plan(0.0, visible, 0.0)
        total = 0.0
        for group in query.groups:
            group_share = 1.0
            for clause in group:
                if clause.negated:
                    continue
                for word in clause.words:
                    found = lexemes.get(word.text) or []
                    if found:
                        group_share = min(group_share, max(stats.of(lex) for lex in found))
            total += group_share
        entries = sum(stats.of(lex) for found in lexemes.values() for lex in set(found))
        return _Plan(min(total, 1.0), visible, entries)

    def case_hits(self, query: Query, scope: Scope) -> list[Hit]:
        text = query.websearch()
        loose, loose_params = "", []
        if not query.exact_in_index:
            loose, loose_params = _PG_QUERY, [query.loose_websearch()]
        visible = self._visible_share(scope)
        scope_sql, scope_params = on_case(scope)
        by_row = not scope.sql or bool(scope.case_sql)
        with transaction.atomic(), connection.cursor() as cursor:
            session = _Session(cursor)
            # PostgreSQL's lexemes of each word of the query, with the newest rows' ids.
            top_message, top_case, lexemes = session.start(
                f"{_TOPS}, (SELECT json_object_agg(w, tsvector_to_array("  # noqa: S608 - SQL from constants; input is bound
                f"to_tsvector('{PG_CONFIG}'::regconfig, w))) FROM unnest(%s::text[]) AS w)",
                [self._words(query) if self._shares("kb_message_body_fts").shares else []],
            )
            lexemes = lexemes or {}
            messages = self._newest(
                session,
                _Source(
                    table="cases_message",
                    alias="m",
                    columns="m.id, m.case_id, m.created_at, m.body",
                    vector=_PG_MESSAGE,
                    match=_PG_QUERY,
                    match_params=[text],
                    select=f"h.case_id, h.created_at, ts_rank({_PG_RANKED_BODY}, {_PG_QUERY}, 32)",
                    select_params=[text],
                    inner="m.case_id, m.created_at, m.body",
                    text="body",
                    join="JOIN cases_case c ON c.id = m.case_id" if scope_sql else "",
                    where=scope_sql,
                    where_params=scope_params,
                    limit=CANDIDATES,
                    loose=loose,
                    loose_params=loose_params,
                    scoped_by_row=by_row,
                ),
                self._query_plan(query, lexemes, "kb_message_body_fts", visible),
                top=top_message,
            )
            subjects = self._newest(
                session,
                _Source(
                    table="cases_case",
                    alias="c",
                    columns="c.id, c.created_at, c.subject",
                    vector=_PG_SUBJECT,
                    match=_PG_QUERY,
                    match_params=[text],
                    select=f"h.id, h.created_at, ts_rank({_PG_RANKED_SUBJECT}, {_PG_QUERY}, 32)",
                    select_params=[text],
                    inner="c.id, c.created_at, c.subject",
                    text="subject",
                    where=scope_sql,
                    where_params=scope_params,
                    limit=SUBJECT_CANDIDATES,
                    loose=loose,
                    loose_params=loose_params,
                    scoped_by_row=by_row,
                ),
                self._query_plan(query, lexemes, "kb_case_subject_fts", visible),
                top=top_case,
            )
        return [Hit(row[0], row[1], float(row[2])) for row in messages] + [
            Hit(row[0], row[1], float(row[2]), in_subject=True) for row in subjects
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
        text = query.websearch()
        rows = fetch(
            f"SELECT a.id FROM kb_article a WHERE {_PG_ARTICLE} @@ {_PG_QUERY}{filters} "  # noqa: S608 - SQL from constants; input is bound
            f"ORDER BY ts_rank({_PG_ARTICLE}, {_PG_QUERY}) DESC, a.updated_at DESC, a.id DESC "
            f"LIMIT %s",
            [text, *params, text, limit],
        )
        return [row[0] for row in rows]

    def keywords(self, texts: Sequence[tuple[str, float]]) -> list[Keyword]:
        """Keywords as PostgreSQL's own lexemes, so that they match its index exactly."""
        counts: dict[str, tuple[float, str]] = {}
        texts = [(text, weight) for text, weight in texts if text.strip()]
        if texts:
            # Every text in one statement: its lexemes and how often each comes.
            rows = fetch(
                f"SELECT t.i, v.lexeme, cardinality(v.positions) "  # noqa: S608 - SQL from constants; input is bound
                f"FROM unnest(%s::text[]) WITH ORDINALITY AS t(x, i), unnest(to_tsvector("
                f"'{PG_CONFIG}'::regconfig, translate(left(t.x, {MAX_TEXT_CHARS}), 'ёЁ', 'еЕ'))) "
                f"WITH ORDINALITY AS v(lexeme, positions, weights, n) ORDER BY t.i, v.n",
                [[clean(text[:MAX_TEXT_CHARS]) for text, _weight in texts]],
            )
            for index, lexeme, count in rows:
                weight = texts[index - 1][1]
                before, form = counts.get(lexeme, (0.0, lexeme))
                counts[lexeme] = (before + weight * count, form)
        stats = self._shares("kb_message_body_fts")
        return pick_keywords(counts, stats.shares or None, rare=stats.rarest / 2)

    def _keywords_plan(self, keywords: Sequence[Keyword], index: str, visible: float) -> _Plan:
        """About what share of the rows hold enough of the keywords. Words of one problem
        come together: a pair is taken to be in half the rows of its rarer word (as if they
        were independent, the guess would be far too low), and the pairs to overlap (between
        the largest and the sum); the first step measures it anyway."""
        stats = self._shares(index)
        if not stats.shares:
            return _Plan(0.0, visible, 0.0)
        groups = keyword_groups(keywords)
        shares = [
            min(stats.of(keyword.term) for keyword in group) * (0.5 if len(group) > 1 else 1.0)
            for group in groups
        ]
        share = (max(shares) * sum(shares)) ** 0.5 if shares else 0.0
        terms = {keyword.term for group in groups for keyword in group}
        return _Plan(min(1.0, share), visible, sum(stats.of(term) for term in terms))

    def case_keyword_hits(
        self, keywords: Sequence[Keyword], scope: Scope, *, exclude: int
    ) -> list[Hit]:
        any_of = _pg_groups(keywords)
        terms = [keyword.term for keyword in keywords]
        # Most cases are resolved or closed: the state filter hardly changes the share.
        visible = self._visible_share(scope)
        scope_sql, scope_params = on_case(scope)
        by_row = not scope.sql or bool(scope.case_sql)
        matched = "ARRAY(SELECT t FROM unnest(tsvector_to_array({})) t WHERE t = ANY(%s::text[]))"
        with transaction.atomic(), connection.cursor() as cursor:
            session = _Session(cursor)
            top_message, top_case = session.start(_TOPS, [])
            messages = self._newest(
                session,
                _Source(
                    table="cases_message",
                    alias="m",
                    columns="m.id, m.case_id, m.created_at, m.body",
                    vector=_PG_MESSAGE,
                    match="%s::tsquery",
                    match_params=[any_of],
                    select=f"h.case_id, h.created_at, {matched.format(_PG_RANKED_BODY)}",
                    select_params=[terms],
                    inner="m.case_id, m.created_at, m.body",
                    text="body",
                    join="JOIN cases_case c ON c.id = m.case_id",
                    where=f" AND c.state IN (%s, %s) AND m.case_id <> %s{scope_sql}",
                    where_params=[*RESOLVED_STATES, exclude, *scope_params],
                    limit=SIMILAR_CANDIDATES,
                    scoped_by_row=by_row,
                ),
                self._keywords_plan(keywords, "kb_message_body_fts", visible),
                top=top_message,
            )
            subjects = self._newest(
                session,
                _Source(
                    table="cases_case",
                    alias="c",
                    columns="c.id, c.created_at, c.subject, c.state",
                    vector=_PG_SUBJECT,
                    match="%s::tsquery",
                    match_params=[any_of],
                    select=f"h.id, h.created_at, {matched.format(_PG_RANKED_SUBJECT)}",
                    select_params=[terms],
                    inner="c.id, c.created_at, c.subject",
                    text="subject",
                    where=f" AND c.state IN (%s, %s) AND c.id <> %s{scope_sql}",
                    where_params=[*RESOLVED_STATES, exclude, *scope_params],
                    limit=SIMILAR_SUBJECT_CANDIDATES,
                    scoped_by_row=by_row,
                ),
                self._keywords_plan(keywords, "kb_case_subject_fts", visible),
                top=top_case,
            )
        return [
            Hit(row[0], row[1], terms=frozenset(row[2]), in_subject=index >= len(messages))
            for index, row in enumerate(messages + subjects)
        ]

    def article_keyword_hits(
        self, keywords: Sequence[Keyword], *, public_only: bool, language: str | None
    ) -> list[Hit]:
        filters, params = article_filters(
            "a", public_only=public_only, language=language, drafts=False
        )
        rows = fetch(
            f"SELECT a.id, a.updated_at, ARRAY(SELECT t FROM unnest(tsvector_to_array("  # noqa: S608 - SQL from constants; input is bound
            f"{_PG_ARTICLE})) t WHERE t = ANY(%s::text[])) "
            f"FROM kb_article a WHERE {_PG_ARTICLE} @@ %s::tsquery{filters} "
            f"ORDER BY a.id DESC LIMIT %s",
            [[k.term for k in keywords], _pg_any(keywords), *params, CANDIDATES],
        )
        return [Hit(row[0], row[1], terms=frozenset(row[2])) for row in rows]
