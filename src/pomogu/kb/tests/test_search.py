"""Full-text search of articles and cases, and similar articles and cases, on the database the
suite runs on (SQLite FTS5 or PostgreSQL): the same behaviour is asserted on both."""

from __future__ import annotations

import pytest
from django.db import connection

from pomogu.cases import services as cases
from pomogu.cases.choices import CaseState, MessageKind
from pomogu.cases.models import Case, Message
from pomogu.core.testing import Cast
from pomogu.kb import services
from pomogu.kb.choices import ArticleLanguage, Visibility
from pomogu.kb.models import Article
from pomogu.kb.search import (
    search_articles,
    search_cases,
    similar_articles,
    similar_cases,
)
from pomogu.kb.text import similarity_text
from pomogu.people.models import Team
from pomogu.people.services import find_or_create_customer

HOSTILE = [
    "",
    "   ",
    '"',
    '""',
    "'",
    "''; DROP TABLE cases_message; --",
    'NEAR("a" "b")',
    "NEAR(",
    "AND",
    "OR",
    "NOT",
    "a AND OR NOT b",
    "*",
    "**",
    "роутер*",
    "-",
    "--",
    "-роутер",
    "- -",
    "(",
    ")",
    "((роутер",
    ":",
    "title:роутер",
    "^роутер",
    "роутер +",
    '"unclosed phrase',
    "\\",
    "\x00",
    "роутер\x00модем",
    "\ud800 роутер",
    "%",
    "%s",
    "{}",
    "!!!",
    "<->",
    "a & b | !c",
    "😀 интернет",
    "и и и или the a an",
    "🙂" * 50,
    "роутер " * 1000,
    "x" * 5000,
    "ё" * 5000,
    "-" * 5000,
    '"' * 5000,
]


def article(
    title: str,
    body: str,
    *,
    language: str = ArticleLanguage.RU,
    visibility: str = Visibility.PUBLIC,
    published: bool = True,
    team: Team | None = None,
) -> Article:
    return services.create_article(
        actor=None,
        title=title,
        body=body,
        language=language,
        visibility=visibility,
        published=published,
        team=team,
    )


def titles(articles: list[Article]) -> list[str]:
    return [a.title for a in articles]


def resolved(case: Case, cast: Cast, summary: str) -> Case:
    owner = case.owner
    cases.add_message(case.pk, actor=owner, body="Посмотрели, всё исправили.")
    return cases.resolve(case.pk, actor=owner, summary=summary)


# --- articles ------------------------------------------------------------------------------------


def test_russian_inflections_find_each_other(db: None) -> None:
    article("Оплата", "Счета приходят первого числа, оплатить их можно картой.")
    article("Интернет", "Если нет интернета, перезагрузите роутер.")
    for query in ["счёт", "счет", "счетом", "счета", "оплатой"]:
        assert titles(search_articles(query)) == ["Оплата"], query
    assert titles(search_articles("интернетом")) == ["Интернет"]
    assert titles(search_articles("роутера")) == ["Интернет"]


def test_english_inflections_find_each_other(db: None) -> None:
    article("How refunds work", "We refund every day without service.", language="en")
    article("Router", "Restart the router.", language="en")
    assert titles(search_articles("refunds")) == ["How refunds work"]
    assert titles(search_articles("refunded")) == ["How refunds work"]
    assert titles(search_articles("routers")) == ["Router"]
    assert titles(search_articles("restarting")) == ["Router"]


def test_yo_and_ye_are_the_same_letter(db: None) -> None:
    article("Ёлка", "Зелёная ёлка во дворе.")
    article("Счёт", "Как оплатить счет.")
    assert titles(search_articles("елка")) == ["Ёлка"]
    assert titles(search_articles("зеленая")) == ["Ёлка"]
    assert titles(search_articles("ЁЛКА")) == ["Ёлка"]
    assert titles(search_articles("счёт")) == ["Счёт"]
    assert titles(search_articles("СЧЕТ")) == ["Счёт"]


def test_every_word_must_match_and_a_title_ranks_first(db: None) -> None:
    article("Роутер мигает красным", "Перезагрузите его.")
    article("Лампы", "Если лампа на роутере мигает, проверьте кабель. Роутер старый? Замените.")
    article("Кабель", "Проверьте кабель.")
    assert titles(search_articles("роутер мигает")) == ["Роутер мигает красным", "Лампы"]
    assert titles(search_articles("роутер кабель")) == ["Лампы"]


def test_phrases_or_and_exclusion(db: None) -> None:
    article("Один", "Вернуть деньги за услугу можно в течение месяца.")
    article("Два", "Деньги вернуть нельзя, услугу оказали.")
    article("Три", "Про роутер.")
    assert titles(search_articles('"вернуть деньги"')) == ["Один"]
    assert set(titles(search_articles("деньги"))) == {"Один", "Два"}
    assert titles(search_articles("деньги -оказали")) == ["Один"]
    assert set(titles(search_articles("роутер or оказали"))) == {"Три", "Два"}


def test_internal_and_draft_articles_are_never_public(db: None) -> None:
    article("Публичная", "Роутер: как перезагрузить.")
    article("Внутренняя", "Роутер: как отвечать клиенту.", visibility=Visibility.INTERNAL)
    article("Черновик", "Роутер: черновик.", published=False)
    assert titles(search_articles("роутер", public_only=True)) == ["Публичная"]
    assert set(titles(search_articles("роутер"))) == {"Публичная", "Внутренняя"}
    assert titles(similar_articles("роутер перезагрузить отвечать", public_only=True)) == [
        "Публичная"
    ]


def test_language_filter(db: None) -> None:
    article("Роутер", "Перезагрузите роутер.")
    article("Router", "Restart the router.", language="en")
    assert titles(search_articles("router", language="en")) == ["Router"]
    assert search_articles("router", language="ru") == []
    assert titles(search_articles("роутер", language="ru")) == ["Роутер"]


def test_limit_is_kept(db: None) -> None:
    for number in range(5):
        article(f"Роутер {number}", "Про роутер.")
    assert len(search_articles("роутер", limit=3)) == 3
    assert search_articles("роутер", limit=0) == []


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_queries_never_fail(cast: Cast, query: str) -> None:
    article("Роутер", "Перезагрузите роутер. NEAR AND OR NOT x.")
    cast.open_case(subject="Роутер мигает", body="Роутер мигает красным")
    assert isinstance(search_articles(query), list)
    assert isinstance(search_articles(query, public_only=True, language="ru"), list)
    assert isinstance(search_cases(cast.mallory, query), list)
    assert isinstance(search_cases(cast.carol, query), list)
    assert isinstance(similar_articles(query), list)


@pytest.mark.parametrize("query", ["", "   ", "и", "и в на", "the and of", '"и"', "-роутер"])
def test_empty_or_stop_words_only_finds_nothing(cast: Cast, query: str) -> None:
    article("Роутер", "И в на the and of роутер.")
    cast.open_case(subject="И в на", body="the and of роутер")
    assert search_articles(query) == []
    assert search_cases(cast.mallory, query) == []


def test_operators_typed_as_words_are_words(db: None) -> None:
    article("Near", "The NEAR button is on the left.", language="en")
    assert titles(search_articles("near")) == ["Near"]
    assert titles(search_articles("NEAR(")) == ["Near"]
    assert titles(search_articles('"near button"')) == ["Near"]


# --- cases --------------------------------------------------------------------------------------


def test_cases_are_found_by_subject_message_and_note(cast: Cast) -> None:
    by_subject = cast.open_case(subject="Роутер мигает красным", body="Помогите")
    by_message = cast.open_case(subject="Проблема", body="Не могу оплатить счёт картой")
    by_note = cast.open_case(subject="Другое", body="Здравствуйте")
    cases.add_message(
        by_note.pk, actor=cast.alice, body="Клиент звонил про коммутатор", kind=MessageKind.NOTE
    )
    assert search_cases(cast.bob, "роутера") == [by_subject]
    assert search_cases(cast.bob, "счета") == [by_message]
    assert search_cases(cast.bob, "коммутатором") == [by_note]
    assert search_cases(cast.bob, "refund") == []


def test_a_case_comes_back_once_whatever_matches(cast: Cast) -> None:
    case = cast.open_case(subject="Роутер", body="Роутер мигает")
    cases.add_message(case.pk, actor=cast.bob, body="Перезагрузите роутер, пожалуйста.")
    cases.add_message(case.pk, actor=cast.bob, body="Роутер? Роутер.", kind=MessageKind.NOTE)
    assert search_cases(cast.bob, "роутер") == [case]


def test_carol_never_finds_a_case_of_another_team(cast: Cast) -> None:
    support = cast.open_case(subject="Роутер мигает", body="Интернет пропал, роутер мигает")
    billing = cast.open_case(subject="Роутер в счёте", body="Роутер в счёте", team=cast.billing)
    assert search_cases(cast.carol, "роутер") == [billing]
    assert search_cases(cast.carol, f"#{support.number}") == []
    assert search_cases(cast.carol, str(support.number)) == []
    assert set(search_cases(cast.bob, "роутер")) == {support}
    assert set(search_cases(cast.alice, "роутер")) == {support}
    assert set(search_cases(cast.mallory, "роутер")) == {support, billing}


def test_inactive_staff_find_nothing(cast: Cast) -> None:
    cast.open_case(subject="Роутер", body="Роутер")
    cast.bob.is_active = False
    cast.bob.save()
    assert search_cases(cast.bob, "роутер") == []


def test_a_case_number_finds_that_case_first(cast: Cast) -> None:
    wanted = cast.open_case(subject="Счёт", body="Оплата")
    other = cast.open_case(subject="Про заказ", body=f"Номер {wanted.number} в письме")
    assert search_cases(cast.bob, f"#{wanted.number}")[0] == wanted
    found = search_cases(cast.bob, str(wanted.number))
    assert found[0] == wanted
    assert other in found
    assert search_cases(cast.bob, "#999999") == []


def test_newer_cases_come_first_among_equal_matches(cast: Cast) -> None:
    older = cast.open_case(subject="Вопрос", body="Роутер мигает")
    newer = cast.open_case(subject="Вопрос", body="Роутер мигает")
    assert search_cases(cast.bob, "роутер") == [newer, older]


def test_limit_of_cases(cast: Cast) -> None:
    for _ in range(4):
        cast.open_case(subject="Роутер", body="Роутер")
    assert len(search_cases(cast.bob, "роутер", limit=2)) == 2


def test_bulk_created_and_changed_messages_are_searchable(cast: Cast) -> None:
    case = cast.open_case(subject="Вопрос", body="Здравствуйте")
    bulk = Message.objects.bulk_create(
        [
            Message(case=case, kind=MessageKind.INBOUND, customer=cast.dave, body="Свитч сгорел"),
            Message(case=case, kind=MessageKind.INBOUND, customer=cast.dave, body="Модем"),
        ]
    )
    assert search_cases(cast.bob, "свитча") == [case]
    Message.objects.filter(pk=bulk[0].pk).update(body="Коммутатор сгорел")
    assert search_cases(cast.bob, "свитч") == []
    assert search_cases(cast.bob, "коммутатор") == [case]
    Message.objects.filter(pk=bulk[1].pk).delete()
    assert search_cases(cast.bob, "модем") == []
    Case.objects.filter(pk=case.pk).update(subject="Антенна")
    assert search_cases(cast.bob, "антенны") == [case]


# --- similar ------------------------------------------------------------------------------------


def test_similar_cases_are_resolved_cases_about_the_same_problem(cast: Cast) -> None:
    same = cast.open_case(
        subject="Нет интернета, роутер мигает красным",
        body="С утра пропал интернет, на роутере мигает красная лампа WAN.",
    )
    resolved(same, cast, "Заменили блок питания роутера.")
    unrelated = cast.open_case(
        subject="Неверная сумма в счёте за октябрь",
        body="В счёте за октябрь сумма больше, чем по тарифу.",
    )
    resolved(unrelated, cast, "Сделали перерасчёт.")
    still_open = cast.open_case(
        subject="Роутер мигает красным, интернета нет",
        body="Мигает красная лампа на роутере, интернета нет.",
    )
    current = cast.open_case(
        subject="Пропал интернет",
        body="Добрый день! Интернета нет второй день, роутер мигает красным.",
    )
    found = similar_cases(current, cast.alice)
    assert found == [same]
    assert found[0].resolution_summary == "Заменили блок питания роутера."
    assert current not in found
    assert still_open not in found
    assert unrelated not in found


def test_similar_cases_include_closed_ones_and_respect_visibility(cast: Cast) -> None:
    old = cast.open_case(subject="Роутер мигает красным", body="Роутер мигает красным")
    resolved(old, cast, "Перезагрузили роутер.")
    cases.close(old.pk, actor=cast.alice)
    assert Case.objects.get(pk=old.pk).state == CaseState.CLOSED
    current = cast.open_case(subject="Роутер мигает", body="Опять роутер мигает красным")
    assert similar_cases(current, cast.bob) == [old]
    billing = cast.open_case(team=cast.billing, subject="Роутер мигает", body="Роутер мигает")
    assert similar_cases(billing, cast.carol) == []
    assert similar_cases(billing, cast.mallory) == [old]


def test_similar_cases_of_a_case_with_nothing_to_say(cast: Cast) -> None:
    old = cast.open_case(subject="Роутер", body="Роутер")
    resolved(old, cast, "Готово.")
    current = cast.open_case(subject="и в на", body="!!! ???")
    assert similar_cases(current, cast.alice) == []


def test_similar_articles_in_the_cases_language(db: None) -> None:
    article("Нет интернета: что проверить", "Если роутер мигает красным, перезагрузите его.")
    article("Как оплатить счёт", "Счёт можно оплатить картой.")
    article("Resetting your router", "If the router blinks red, restart it.", language="en")
    text = "Пропал интернет\nРоутер мигает красным с утра"
    assert titles(similar_articles(text)) == ["Нет интернета: что проверить"]
    assert titles(similar_articles(text, language="ru")) == ["Нет интернета: что проверить"]
    assert similar_articles(text, language="en") == []
    english = "No internet, the router blinks red"
    assert titles(similar_articles(english, language="en")) == ["Resetting your router"]
    assert titles(similar_articles(english, language="other")) == ["Resetting your router"]
    assert similar_articles("") == []
    assert similar_articles("и в на") == []


# --- the indexes --------------------------------------------------------------------------------


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite triggers")
def test_sqlite_triggers_dropped_by_a_table_rebuild_are_restored(cast: Cast) -> None:
    from pomogu.kb.schema import ensure_sqlite_index

    case = cast.open_case(subject="Вопрос", body="Здравствуйте")
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER kb_message_fts_insert")
    Message.objects.create(case=case, kind=MessageKind.INBOUND, customer=cast.dave, body="Свитч")
    assert search_cases(cast.bob, "свитч") == []
    assert ensure_sqlite_index(connection) == ["kb_message_fts"]
    assert search_cases(cast.bob, "свитч") == [case]
    assert ensure_sqlite_index(connection) == []
    Message.objects.create(case=case, kind=MessageKind.INBOUND, customer=cast.dave, body="Модем")
    assert search_cases(cast.bob, "модем") == [case]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL indexes")
def test_postgresql_queries_use_the_expression_indexes(cast: Cast) -> None:
    from pomogu.kb.search_pg import _PG_ARTICLE, _PG_MESSAGE, _PG_QUERY, _PG_SUBJECT

    cast.open_case(subject="Роутер", body="Роутер")
    plans = {}
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        for name, table, vector in [
            ("kb_message_body_fts", "cases_message m", _PG_MESSAGE),
            ("kb_case_subject_fts", "cases_case c", _PG_SUBJECT),
            ("kb_article_fts", "kb_article a", _PG_ARTICLE),
        ]:
            sql = " ".join(["EXPLAIN SELECT 1 FROM", table, "WHERE", vector, "@@", _PG_QUERY])
            cursor.execute(sql, ["роутер"])
            plans[name] = "\n".join(row[0] for row in cursor.fetchall())
    for name, plan in plans.items():
        assert name in plan, plan


def test_similarity_text_drops_names_emails_numbers_and_signatures() -> None:
    text = (
        "Пропал интернет у Кузнецова, лицевой счёт 55501234, заявка A-1234567.\n\n"
        "С уважением,\nИван Кузнецов\n+7 916 555-01-23"
    )
    kept = similarity_text(text, ["Иван Кузнецов", "ivan.kuznetsov77@example.ru"])
    assert "интернет" in kept
    assert "счёт" in kept
    for gone in ("Кузнецов", "Иван", "55501234", "1234567", "916", "уважением"):
        assert gone not in kept
    assert "Best regards" not in similarity_text("The router is down.\n\nBest regards,\nJames")
    # A line of thanks inside the letter is not a signature.
    inside = "Thanks,\nthe router is down again since Monday.\nIt blinks red.\nAnd more.\nAgain."
    assert "router" in similarity_text(inside)


def test_a_customers_name_email_and_account_do_not_make_cases_similar(cast: Cast) -> None:
    customer = find_or_create_customer(email="ivan.kuznetsov77@example.ru", name="Иван Кузнецов")
    signature = "\n\nС уважением,\nИван Кузнецов\nivan.kuznetsov77@example.ru"
    # The same customer, another problem: only the name, the email and the account are shared.
    other = cast.open_case(
        customer=customer,
        subject="Кузнецов 55501234: двойное списание",
        body="Деньги списали дважды за октябрь. Лицевой 55501234." + signature,
    )
    resolved(other, cast, "Вернули деньги.")
    current = cast.open_case(
        customer=customer,
        subject="Кузнецов 55501234: роутер мигает красным",
        body="Роутер мигает красным, интернета нет. Лицевой 55501234." + signature,
    )
    from pomogu.kb.search import _backend

    customer_words = {"кузнецов", "иван", "ива", "ivan", "kuznetsov77", "55501234", "example"}
    text = similarity_text(current.subject, [customer.name, customer.email])
    terms = {keyword.term for keyword in _backend().keywords([(text, 2.0)])}
    assert terms
    assert not terms & customer_words
    assert not any(term.isdigit() for term in terms)
    assert similar_cases(current, cast.alice) == []
