"""Finding things from the desk: the global search page and the case page's related panel,
both over the knowledge base's full-text search and both inside what the user may see."""

from __future__ import annotations

from typing import Any

from django.test import Client

from pomogu.cases import services
from pomogu.cases.models import Case
from pomogu.core.testing import PASSWORD, Cast
from pomogu.kb.services import create_article


def login(client: Client, username: str) -> Client:
    assert client.login(username=username, password=PASSWORD)
    return client


def solved(cast: Cast, case: Case, summary: str) -> Case:
    owner = Case.objects.get(pk=case.pk).owner
    services.add_message(case.pk, actor=owner, body="Сделали.")
    services.resolve(case.pk, actor=owner, summary=summary)
    return Case.objects.get(pk=case.pk)


def test_search_finds_cases_by_words_number_and_address_only_where_the_user_may_look(
    cast: Cast, client: Client
) -> None:
    router = cast.open_case(subject="Роутер перезагружается", body="Роутер сам перезагружается.")
    billing = cast.open_case(
        team=cast.billing, customer=cast.erin, subject="Счёт за роутер", body="Роутеры в счёте."
    )
    login(client, "bob")
    page = client.get("/search/?q=роутеры").content.decode()
    assert f'href="/cases/{router.number}/"' in page
    assert f'href="/cases/{billing.number}/"' not in page  # Billing's, not bob's to see
    by_number = client.get(f"/search/?q=%23{router.number}").content.decode()
    assert f'href="/cases/{router.number}/"' in by_number
    assert cast.dave.email
    by_address = client.get(f"/search/?q={cast.dave.email.upper()}").content.decode()
    assert f'href="/cases/{router.number}/"' in by_address
    assert "No case you can see matches." in client.get("/search/?q=цеппелин").content.decode()
    login(client, "carol")
    carol = client.get("/search/?q=роутеры").content.decode()
    assert f'href="/cases/{billing.number}/"' in carol
    assert f'href="/cases/{router.number}/"' not in carol
    hostile = client.get('/search/?q="NEAR(*+OR+-)')
    assert hostile.status_code == 200


def test_search_lists_articles_too(cast: Cast, client: Client) -> None:
    create_article(
        actor=cast.alice,
        title="Как перезагрузить роутер",
        body="Выключите роутер на 30 секунд.",
        published=True,
    )
    login(client, "bob")
    page = client.get("/search/?q=роутер").content.decode()
    assert "Как перезагрузить роутер" in page


def test_the_related_panel_shows_history_solved_cases_and_articles(
    cast: Cast, client: Client, django_assert_max_num_queries: Any
) -> None:
    earlier = solved(
        cast,
        cast.open_case(subject="Роутер мигает красным", body="Роутер мигает красным светом."),
        "Заменили блок питания роутера.",
    )
    unrelated = solved(
        cast,
        cast.open_case(customer=cast.erin, subject="Смена тарифа", body="Хочу другой тариф."),
        "Тариф сменили.",
    )
    create_article(
        actor=cast.alice,
        title="Роутер мигает красным: что делать",
        body="Проверьте блок питания и кабель.",
        published=True,
    )
    current = cast.open_case(subject="Снова мигает роутер", body="Роутер опять мигает красным.")
    login(client, "bob")
    # Bounded by the words looked for (at most 8 per kind), not by the data: measured 30 on
    # SQLite (FTS5 asks term by term which words matched), fewer on PostgreSQL.
    with django_assert_max_num_queries(40):
        response = client.get(f"/cases/{current.number}/related/")
    page = response.content.decode()
    assert f'href="/cases/{earlier.number}/"' in page  # the customer's history and solved
    assert "Заменили блок питания роутера." in page
    assert f'href="/cases/{unrelated.number}/"' not in page
    assert "Роутер мигает красным: что делать" in page
    assert f'href="/cases/{current.number}/"' not in page
    case_page = client.get(f"/cases/{current.number}/").content.decode()
    assert f'hx-get="/cases/{current.number}/related/" hx-trigger="load"' in case_page
    login(client, "carol")
    assert client.get(f"/cases/{current.number}/related/").status_code == 404
