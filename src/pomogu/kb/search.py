"""Full-text search of articles and cases, and "similar" articles and resolved cases (R9).

One API for both databases (dispatch on ``connection.vendor``); docs/decisions/0009-search.md
says why it is built this way and what it costs.

- PostgreSQL (``search_pg.py``): expression GIN indexes with the ``russian`` configuration
  (``schema.py``); user input through ``websearch_to_tsquery``, after our own parser
  (``text.py``) has reduced it to words, quotes, "-" and "or".
- SQLite (``search_sqlite.py``): FTS5 tables kept by triggers, stems searched as prefixes.

Every search ranks a bounded set of candidates: the newest CANDIDATES matching messages and
SUBJECT_CANDIDATES matching subjects, so that a common word costs no more than a rare one on a
million cases; an older case is found by adding words. On PostgreSQL, how to find the newest
matches (walk the newest rows, or ask the GIN index about a window of them) is chosen here,
step by step, from PostgreSQL's own statistics (``search_pg.Postgres._newest``): its planner guesses
badly for rare words and cannot know that only the newest matches are wanted.

Similar cases are those sharing the most informative words (``text.pick_keywords``: frequent
in the text, rare in the desk's messages), at least two of them, weighted; candidates are the
newest documents holding two of the first five.

Both backends share ``search_base.py`` (a hit, the user's scope, the candidate limits).

Cases are always scoped by ``pomogu.cases.queries.visible_cases(user)``, inside the SQL and
again when the cases are loaded: a case outside it never comes back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from django.db import connection
from django.db.models import Model, QuerySet

from pomogu.cases.models import Case
from pomogu.cases.queries import latest_customer_words, team_ids_of, visible_cases
from pomogu.kb.choices import ArticleLanguage, Visibility
from pomogu.kb.models import Article
from pomogu.kb.search_base import Hit, Scope
from pomogu.kb.text import Keyword, parse_query, shared_needed, similarity_text
from pomogu.people.models import User

if TYPE_CHECKING:
    from pomogu.kb.search_pg import Postgres
    from pomogu.kb.search_sqlite import Sqlite

__all__ = ["search_articles", "search_cases", "similar_articles", "similar_cases"]

MAX_LIMIT = 100
# A subject that matches puts its case above cases where only a message does.
SUBJECT_BONUS = 1.0
# A similar case must share at least this share of the keywords' weight, and at least two
# keywords when the text has more than two.
MIN_SIMILARITY = 0.2

M = TypeVar("M", bound=Model)


# --- the public API ----------------------------------------------------------------------------


def search_articles(
    query: str, *, public_only: bool = False, language: str | None = None, limit: int = 20
) -> list[Article]:
    """Published articles matching ``query``, best first. ``public_only``: never an internal
    one (the help pages and the portal). ``language``: only articles in it."""
    return _search_articles(query, public_only=public_only, language=language, limit=limit)


def search_cases(user: User, query: str, *, limit: int = 25) -> list[Case]:
    """Cases ``user`` may see whose subject or one of whose messages (notes included) matches
    ``query``, each once, best and newest first. A query that is a case number ("#123",
    "123") puts that case first."""
    limit = _bounded(limit)
    visible = visible_cases(user)
    scope = _scope(user, visible)
    if scope is None:
        return []
    parsed = parse_query(query)
    first: list[int] = []
    if parsed.number is not None:
        first = list(visible.filter(number=parsed.number).values_list("pk", flat=True)[:1])
    ranked: list[int] = []
    if parsed:
        hits = _backend().case_hits(parsed, scope)
        ranked = [hit.key for hit in _rank(hits)]
    ids = _unique(first + ranked)[:limit]
    return _load_cases(visible, ids)


def similar_articles(
    text: str, *, language: str | None = None, limit: int = 3, public_only: bool = False
) -> list[Article]:
    """Published articles most like ``text`` (a case's subject and message, say): sharing the
    most of its most informative words. ``language`` keeps articles in that language (an
    unknown code, such as a case's "other", keeps all). ``public_only``: never an internal
    one."""
    limit = _bounded(limit)
    backend = _backend()
    keywords = backend.keywords([(similarity_text(text), 1.0)])
    if not keywords:
        return []
    if language not in ArticleLanguage.values:
        language = None
    hits = backend.article_keyword_hits(keywords, public_only=public_only, language=language)
    ids = [hit.key for hit in _similar(hits, keywords)][:limit]
    articles = Article.objects.filter(published=True)
    if public_only:
        articles = articles.filter(visibility=Visibility.PUBLIC)
    return _load(articles, ids)


def similar_cases(
    case: Case, user: User, *, limit: int = 5, latest: str | None = None
) -> list[Case]:
    """Resolved and closed cases ``user`` may see, other than ``case``, most like its subject
    and latest customer message (``latest``, when the caller has read it already), best first
    (``resolution_summary`` says how each was solved)."""
    limit = _bounded(limit)
    visible = visible_cases(user)
    scope = _scope(user, visible)
    if scope is None:
        return []
    if latest is None:
        latest = latest_customer_words(case)
    backend = _backend()
    # Not the customer's name, email, signature or account numbers: they say who wrote, not
    # what the problem is (and would make every case of that customer a candidate).
    customer = case.customer
    avoid = [customer.name, customer.email]
    # The subject is written to say what the case is about: it counts twice.
    keywords = backend.keywords(
        [
            (similarity_text(case.subject, avoid), 2.0),
            (similarity_text(latest, avoid), 1.0),
        ]
    )
    if not keywords:
        return []
    hits = backend.case_keyword_hits(keywords, scope, exclude=case.pk)
    ids = [hit.key for hit in _similar(hits, keywords)][:limit]
    return _load_cases(visible, ids)


# --- ranking, shared by both backends ----------------------------------------------------------


@dataclass
class _Ranked:
    key: int
    score: float = 0.0
    at: datetime | None = None
    terms: set[str] = field(default_factory=set)
    subject: bool = False


def _collect(hits: Iterable[Hit]) -> list[_Ranked]:
    by_key: dict[int, _Ranked] = {}
    for hit in hits:
        ranked = by_key.setdefault(hit.key, _Ranked(hit.key))
        ranked.score = max(ranked.score, hit.score)
        ranked.subject = ranked.subject or hit.in_subject
        ranked.terms |= hit.terms
        if hit.at is not None and (ranked.at is None or hit.at > ranked.at):
            ranked.at = hit.at
    return list(by_key.values())


def _newest(item: _Ranked) -> float:
    return item.at.timestamp() if item.at is not None else 0.0


def _rank(hits: Iterable[Hit]) -> list[_Ranked]:
    """Search results: a matching subject first, then the better match, then the newer."""
    items = _collect(hits)
    for item in items:
        item.score += SUBJECT_BONUS if item.subject else 0.0
    items.sort(key=lambda item: (-round(item.score, 3), -_newest(item), -item.key))
    return items


def _similar(hits: Iterable[Hit], keywords: Sequence[Keyword]) -> list[_Ranked]:
    """Similar objects: the weight of the keywords they share (over all their documents),
    enough of it, then the newer."""
    weights = {keyword.term: keyword.weight for keyword in keywords}
    total = sum(weights.values()) or 1.0
    needed = shared_needed(keywords)
    items = []
    for item in _collect(hits):
        shared = item.terms & weights.keys()
        item.score = sum(weights[term] for term in shared) / total
        if len(shared) >= needed and item.score >= MIN_SIMILARITY:
            items.append(item)
    items.sort(key=lambda item: (-round(item.score, 3), -_newest(item), -item.key))
    return items


# --- helpers -----------------------------------------------------------------------------------


def _bounded(limit: int) -> int:
    return max(0, min(int(limit), MAX_LIMIT))


def _unique(ids: Iterable[int]) -> list[int]:
    return list(dict.fromkeys(ids))


def _scope(user: User, cases: QuerySet[Case]) -> Scope | None:
    """Which cases ``user`` may see (``cases``: ``visible_cases(user)``), None for none.
    Built from ``visible_cases`` itself, so the rule lives in one place."""
    if cases.query.is_empty():
        return None
    if not cases.query.where:
        return Scope()
    sql, params = cases.values("pk").query.sql_with_params()
    # The same rule as a condition on a row named "c" (Django names the base table after
    # itself; the subqueries' tables have aliases of their own, U0...).
    where, where_params = cases.query.get_compiler(connection=connection).compile(cases.query.where)
    case_sql = where.replace('"cases_case".', "c.")
    if '"cases_case"' in case_sql:  # not the shape expected: the subquery form is exact too
        case_sql, where_params = "", []
    return Scope(sql, tuple(params), _teams(user, cases), case_sql, tuple(where_params))


def _teams(user: User, cases: QuerySet[Case]) -> tuple[int, ...]:
    """The user's teams, as ``visible_cases`` already read them (its ``team_id IN (...)``),
    else from the database. They only say about how many cases the user sees."""
    for child in cases.query.where.children:
        for lookup in getattr(child, "children", [child]):
            target = getattr(getattr(lookup, "lhs", None), "target", None)
            rhs = getattr(lookup, "rhs", None)
            if (
                getattr(lookup, "lookup_name", None) == "in"
                and getattr(target, "attname", None) == "team_id"
                and getattr(target, "model", None) is Case
                and isinstance(rhs, (list, tuple, set))
            ):
                return tuple(int(team) for team in rhs)
    return tuple(team_ids_of(user))


def _load_cases(visible: QuerySet[Case], ids: Sequence[int]) -> list[Case]:
    # Loaded through visible_cases again: whatever the SQL above did, nothing else comes back.
    return _load(visible.select_related("customer", "team", "owner"), ids)


def _load(queryset: QuerySet[M], ids: Sequence[int]) -> list[M]:
    found = queryset.in_bulk(list(ids))
    return [found[pk] for pk in ids if pk in found]


def _search_articles(
    query: str,
    *,
    public_only: bool,
    language: str | None,
    limit: int,
    drafts: bool = False,
) -> list[Article]:
    limit = _bounded(limit)
    parsed = parse_query(query)
    if not parsed or limit == 0:
        return []
    ids = _backend().article_ids(
        parsed, public_only=public_only, language=language, drafts=drafts, limit=limit
    )
    articles = Article.objects.select_related("team")
    if not drafts:
        articles = articles.filter(published=True)
    if public_only:
        articles = articles.filter(visibility=Visibility.PUBLIC)
    return _load(articles, ids)


def search_articles_for_staff(query: str, *, limit: int = 50) -> list[Article]:
    """The knowledge-base pages' search: drafts too (staff write them together)."""
    return _search_articles(query, public_only=False, language=None, limit=limit, drafts=True)


def _backend() -> Postgres | Sqlite:
    if connection.vendor == "postgresql":
        from pomogu.kb.search_pg import Postgres

        return Postgres()
    if connection.vendor == "sqlite":
        from pomogu.kb.search_sqlite import Sqlite

        return Sqlite()
    raise NotImplementedError(f"full-text search on {connection.vendor}")
