"""The full-text indexes of articles, case subjects and messages, for each backend.

Migration 0002 creates them; ``ensure_sqlite_index`` (run after every ``migrate``) puts back
SQLite triggers that a later migration dropped: Django's SQLite schema editor rebuilds a table
to alter it, and the triggers go with the old table. Change an expression here only together
with a migration that rebuilds its index (and, on PostgreSQL, the same text in ``search.py``,
which must repeat it exactly for the planner to use the index). See
docs/decisions/0009-search.md.

PostgreSQL: expression GIN indexes with the ``russian`` configuration (it stems Cyrillic words
with the Russian Snowball stemmer and Latin ones with the English one), "ё" read as "е", at most
MAX_INDEXED_CHARS of a text (so that a huge mail can never make an insert fail: a tsvector
holds at most 1 MB).

SQLite: FTS5 tables without content (``content=''``: only the index, no second copy of the
text), filled by triggers with the words as written, "ё" read as "е". Queries search stems as
prefixes (``pomogu.kb.text``). The triggers need nothing but SQLite, so every writer is indexed:
``bulk_create``, ``QuerySet.update``, raw SQL, another process.
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)

MAX_INDEXED_CHARS = 100_000

# --- PostgreSQL ----------------------------------------------------------------------------------

PG_CONFIG = "russian"


def pg_vector(column: str, *, limit: bool = True) -> str:
    """The indexed tsvector of a column, exactly as the index expression spells it."""
    text = f"left({column}, {MAX_INDEXED_CHARS})" if limit else column
    return f"to_tsvector('{PG_CONFIG}'::regconfig, translate({text}, 'ёЁ', 'еЕ'))"


PG_MESSAGE_VECTOR = pg_vector("body")
PG_SUBJECT_VECTOR = pg_vector("subject", limit=False)


def pg_article_vector(alias: str = "") -> str:
    """Title (weight A) and text (weight B) of an article; ``alias`` is a table alias."""
    prefix = f"{alias}." if alias else ""
    title = pg_vector(f"{prefix}title", limit=False)
    return f"(setweight({title}, 'A') || setweight({pg_vector(f'{prefix}body')}, 'B'))"


PG_ARTICLE_VECTOR = pg_article_vector()

PG_INDEXES = {
    # name: (table, expression)
    "kb_message_body_fts": ("cases_message", PG_MESSAGE_VECTOR),
    "kb_case_subject_fts": ("cases_case", PG_SUBJECT_VECTOR),
    "kb_article_fts": ("kb_article", PG_ARTICLE_VECTOR),
}


def create_pg_indexes(cursor: Any) -> None:
    """Build the GIN indexes without blocking writers (``CONCURRENTLY``: the migration is not
    atomic). An invalid index left by an interrupted build is dropped and built again. Then
    ANALYZE, so that PostgreSQL has the statistics of the new indexes (which words are common)
    at once: search plans with them (``search_pg``), and a big table may otherwise wait long
    for autovacuum."""
    built = set()
    for name, (table, expression) in PG_INDEXES.items():
        cursor.execute(
            "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE c.relname = %s AND pg_table_is_visible(c.oid)",
            [name],
        )
        row = cursor.fetchone()
        if row is not None and row[0]:
            continue
        if row is not None:
            cursor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
        cursor.execute(f"CREATE INDEX CONCURRENTLY {name} ON {table} USING gin (({expression}))")
        built.add(table)
    for table in sorted(built):
        cursor.execute(f"ANALYZE {table}")


def drop_pg_indexes(cursor: Any) -> None:
    for name in PG_INDEXES:
        cursor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


# --- SQLite --------------------------------------------------------------------------------------


def sqlite_text(value: str) -> str:
    """The SQL expression of the text a trigger indexes: "ё" as "е", bounded."""
    return f"replace(replace(substr({value}, 1, {MAX_INDEXED_CHARS}), 'ё', 'е'), 'Ё', 'Е')"


# name: (indexed table, [(FTS column, table column)])
SQLITE_FTS = {
    "kb_message_fts": ("cases_message", [("body", "body")]),
    "kb_case_fts": ("cases_case", [("subject", "subject")]),
    "kb_article_fts": ("kb_article", [("title", "title"), ("body", "body")]),
}
# Words as written, case folded (all of Unicode), diacritics kept: "й" is not "и".
SQLITE_TOKENIZER = "unicode61 remove_diacritics 0"
# How many messages hold each word: for choosing the informative words of a text.
SQLITE_VOCABULARY = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS kb_message_vocab USING fts5vocab(kb_message_fts, 'row')"
)


def _sqlite_statements(fts: str) -> tuple[str, list[tuple[str, str]]]:
    """The FTS table and its triggers (name, SQL)."""
    table, columns = SQLITE_FTS[fts]
    names = ", ".join(name for name, _ in columns)
    create = (
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5({names}, content='', "
        f"tokenize='{SQLITE_TOKENIZER}')"
    )

    def values(row: str) -> str:
        return ", ".join(sqlite_text(f"{row}.{column}") for _, column in columns)

    insert = f"INSERT INTO {fts}(rowid, {names}) VALUES (new.id, {values('new')});"  # noqa: S608 - SQL from constants; input is bound
    # A table without content forgets its texts: deleting needs the values that were indexed.
    delete = f"INSERT INTO {fts}({fts}, rowid, {names}) VALUES ('delete', old.id, {values('old')});"  # noqa: S608 - SQL from constants; input is bound
    changed = " OR ".join(f"old.{column} IS NOT new.{column}" for _, column in columns)
    of = ", ".join(column for _, column in columns)
    triggers = [
        (
            f"{fts}_insert",
            f"CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} BEGIN {insert} END",
        ),
        (
            f"{fts}_delete",
            f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} BEGIN {delete} END",
        ),
        (
            f"{fts}_update",
            f"CREATE TRIGGER {fts}_update AFTER UPDATE OF {of} ON {table} "
            f"WHEN {changed} BEGIN {delete} {insert} END",
        ),
    ]
    return create, triggers


def _fill_sqlite(cursor: Any, fts: str) -> None:
    table, columns = SQLITE_FTS[fts]
    names = ", ".join(name for name, _ in columns)
    texts = ", ".join(sqlite_text(column) for _, column in columns)
    cursor.execute(f"INSERT INTO {fts}({fts}) VALUES ('delete-all')")  # noqa: S608 - SQL from constants; input is bound
    cursor.execute(f"INSERT INTO {fts}(rowid, {names}) SELECT id, {texts} FROM {table}")  # noqa: S608 - SQL from constants; input is bound


def create_sqlite_index(cursor: Any) -> None:
    """Create the FTS tables and triggers and index what the tables already hold."""
    for fts in SQLITE_FTS:
        create, triggers = _sqlite_statements(fts)
        cursor.execute(create)
        for _name, sql in triggers:
            cursor.execute(sql)
        _fill_sqlite(cursor, fts)
    cursor.execute(SQLITE_VOCABULARY)


def drop_sqlite_index(cursor: Any) -> None:
    cursor.execute("DROP TABLE IF EXISTS kb_message_vocab")
    for fts in SQLITE_FTS:
        for name, _sql in _sqlite_statements(fts)[1]:
            cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
        cursor.execute(f"DROP TABLE IF EXISTS {fts}")


def ensure_sqlite_index(connection: Any) -> list[str]:
    """Put back missing FTS tables and triggers and re-index their tables; returns what was
    repaired. Cheap when nothing is missing (one read of ``sqlite_master``)."""
    if connection.vendor != "sqlite":
        return []
    repaired: list[str] = []
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")
        existing = {row[0] for row in cursor.fetchall()}
        for fts, (table, _columns) in SQLITE_FTS.items():
            if table not in existing:
                continue  # not migrated yet
            create, triggers = _sqlite_statements(fts)
            missing = [sql for name, sql in triggers if name not in existing]
            if fts in existing and not missing:
                continue
            cursor.execute(create)
            for sql in missing:
                cursor.execute(sql)
            _fill_sqlite(cursor, fts)
            repaired.append(fts)
        if "kb_message_fts" in existing or "kb_message_fts" in repaired:
            cursor.execute(SQLITE_VOCABULARY)
    for fts in repaired:
        logger.warning("Full-text index %s was incomplete; triggers restored, re-indexed", fts)
    return repaired
