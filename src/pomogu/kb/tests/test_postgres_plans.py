"""On PostgreSQL, search reads the newest rows in steps chosen by their expected cost (a walk
of the primary key, or the GIN index in windows of it, or everything at once). Whatever the
steps, the answer must be the same: here each way is forced on a small desk and compared with
the plain one."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from pomogu.cases import services as cases
from pomogu.cases.choices import MessageKind
from pomogu.core.testing import Cast
from pomogu.kb import search_pg
from pomogu.kb.search import search_cases, similar_cases
from pomogu.kb.search_pg import Postgres, _Plan

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL plans")

QUERIES = [
    "роутер",
    "роутер мигает",
    '"мигает красным"',
    "роутер -красным",
    "счёт or модем",
    "refund",
    "zeppelin",
]


@pytest.fixture
def desk(cast: Cast) -> Cast:
    texts = [
        ("Роутер мигает красным", "С утра роутер мигает красным, интернета нет."),
        ("Роутер мигает зелёным", "Роутер мигает, но интернет есть. Красным не горит."),
        ("Счёт за октябрь", "В счёте лишняя строка за модем."),
        ("Refund please", "I would like a refund for the outage."),
        ("Модем", "Модем перегревается, роутер тоже."),
    ]
    for number in range(24):
        subject, body = texts[number % len(texts)]
        team = cast.billing if number % 4 == 3 else cast.support
        case = cast.open_case(subject=subject, body=body, team=team)
        cases.add_message(
            case.pk,
            actor=case.owner,
            body=f"Проверили роутер, заявка {number}.",
            kind=MessageKind.NOTE,
        )
        if number % 3 == 0:
            cases.add_message(case.pk, actor=case.owner, body="Перезагрузите роутер.")
            cases.resolve(case.pk, actor=case.owner, summary="Помогла перезагрузка.")
    return cast


def force(monkeypatch: pytest.MonkeyPatch, share: float, entries: float, **constants: Any) -> None:
    """Make every search expect ``share`` and read ``entries`` (index entries per row)."""

    def plan(self: Postgres, *args: Any) -> _Plan:
        return _Plan(share, args[-1], entries)

    monkeypatch.setattr(Postgres, "_query_plan", plan)
    monkeypatch.setattr(Postgres, "_keywords_plan", plan)
    for name, value in {"FEW_MATCHES": 0, "MIN_WINDOW": 2, **constants}.items():
        monkeypatch.setattr(search_pg, name, value)


WAYS = {
    # A walk of the primary key (the index would be dear), a right guess, then a wrong one.
    "walk": {"share": 0.5, "entries": 1e6},
    "walk, too hopeful": {"share": 1.0, "entries": 1e6, "SCAN_SLACK": 1},
    # The GIN index in windows of two rows (reading a row's text would be dear).
    "windows": {"share": 0.05, "entries": 0.0, "ROW_US": 1e9, "WINDOW_MATCHES": 1},
    # Too many steps: the last one takes everything that is left.
    "few steps": {"share": 0.05, "entries": 0.0, "ROW_US": 1e9, "MAX_STEPS": 1},
}
# What each way must have sent to PostgreSQL.
SIGNS = {
    "walk": ["set_config('enable_bitmapscan'", "OFFSET 0) v WHERE to_tsvector"],
    "walk, too hopeful": ["set_config('enable_bitmapscan'", "set_config('enable_bitmapscan'"],
    "windows": ["@@ (SELECT websearch_to_tsquery", "@@ (SELECT %s::tsquery"],
    "few steps": ["@@ (SELECT websearch_to_tsquery", "WITH cand"],
}


class Recorder:
    def __init__(self) -> None:
        self.sql: list[str] = []

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.sql.append(sql)
        return execute(sql, params, many, context)

    def saw(self, fragment: str) -> bool:
        return any(fragment in sql for sql in self.sql)


@pytest.mark.parametrize("way", WAYS)
def test_every_way_finds_the_same_cases(
    desk: Cast, monkeypatch: pytest.MonkeyPatch, way: str
) -> None:
    people = [desk.mallory, desk.bob, desk.carol]
    plain = {(p.username, q): search_cases(p, q) for p in people for q in QUERIES}
    assert any(plain.values())
    assert plain["carol", "роутер"] != plain["mallory", "роутер"]
    force(monkeypatch, **WAYS[way])
    recorder = Recorder()
    with connection.execute_wrapper(recorder):
        for (username, query), expected in plain.items():
            person = next(p for p in people if p.username == username)
            assert search_cases(person, query) == expected, (username, query)
    for sign in SIGNS[way][:1]:
        assert recorder.saw(sign), sign


@pytest.mark.parametrize("way", WAYS)
def test_every_way_finds_the_same_similar_cases(
    desk: Cast, monkeypatch: pytest.MonkeyPatch, way: str
) -> None:
    current = desk.open_case(subject="Роутер мигает красным", body="Роутер мигает красным")
    plain = {p.username: similar_cases(current, p) for p in [desk.mallory, desk.bob, desk.carol]}
    assert plain["mallory"]
    force(monkeypatch, **WAYS[way])
    recorder = Recorder()
    with connection.execute_wrapper(recorder):
        for person in [desk.mallory, desk.bob, desk.carol]:
            assert similar_cases(current, person) == plain[person.username], person.username
    for sign in SIGNS[way][1:]:
        assert recorder.saw(sign), sign


def test_statistics_are_read_from_postgresql(desk: Cast) -> None:
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE cases_message")
        cursor.execute("ANALYZE cases_case")
    statistics = search_pg._pg_statistics()
    assert set(statistics["widths"]) == {"cases_message", "cases_case"}
    assert statistics["teams"]


def test_a_search_sets_its_options_once(desk: Cast) -> None:
    """One transaction per search, its options (JIT off among them) set by its first
    statement, and the user's teams read once."""
    recorder = Recorder()
    with connection.execute_wrapper(recorder):
        assert search_cases(desk.bob, "роутер")
    options = [sql for sql in recorder.sql if "set_config('jit'" in sql]
    assert len(options) == 1
    assert sum("people_membership" in sql for sql in recorder.sql) == 1
