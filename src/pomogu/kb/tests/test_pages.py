"""The knowledge-base pages for staff (/kb/) and the public help pages (/help/), through the
Django test client."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from pomogu.core.testing import PASSWORD, Cast
from pomogu.kb import services
from pomogu.kb.choices import Visibility
from pomogu.kb.demo import ARTICLES, load_demo_articles
from pomogu.kb.models import Article
from pomogu.people.models import User


def login(client: Client, user: User) -> Client:
    assert client.login(username=user.username, password=PASSWORD)
    return client


def draft(cast: Cast, **fields: object) -> Article:
    values: dict[str, object] = {
        "title": "Роутер мигает красным",
        "body": "Перезагрузите роутер.\n\nЕсли не помогло, напишите нам.",
        "language": "ru",
        "visibility": Visibility.PUBLIC,
        "team": cast.support,
    }
    values.update(fields)
    return services.create_article(actor=cast.bob, **values)  # type: ignore[arg-type]


def form_data(**fields: str) -> dict[str, str]:
    data = {
        "title": "Как оплатить счёт",
        "body": "Картой в личном кабинете.",
        "language": "ru",
        "visibility": "public",
        "team": "",
        "slug": "",
    }
    data.update(fields)
    return data


# --- staff pages: access ---------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/kb/", "/kb/new/", "/kb/some-article/", "/kb/x/edit/"])
def test_anonymous_is_sent_to_the_login_page(cast: Cast, client: Client, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("desk:login"))


def test_anonymous_cannot_publish(cast: Cast, client: Client) -> None:
    article = draft(cast)
    response = client.post(reverse("kb:publish", args=[article.slug]))
    assert response.status_code == 302
    assert not Article.objects.get(pk=article.pk).published


def test_list_shows_drafts_and_internal_articles_to_staff(cast: Cast, client: Client) -> None:
    draft(cast, title="Черновик про роутер")
    services.create_article(
        actor=cast.alice,
        title="Внутренняя памятка",
        body="Только для нас.",
        visibility=Visibility.INTERNAL,
        published=True,
    )
    body = login(client, cast.carol).get("/kb/").content.decode()
    assert "Черновик про роутер" in body
    assert "Внутренняя памятка" in body


def test_staff_search_finds_inflected_words_and_drafts(cast: Cast, client: Client) -> None:
    draft(cast, title="Роутер мигает красным")
    draft(cast, title="Оплата", body="Счета оплачиваются картой.")
    login(client, cast.bob)
    body = client.get("/kb/", {"q": "роутера"}).content.decode()
    assert "Роутер мигает красным" in body
    assert "Оплата" not in body
    hostile = client.get("/kb/", {"q": 'NEAR(" -- *'})
    assert hostile.status_code == 200


def test_article_page_renders_text_safely(cast: Cast, client: Client) -> None:
    article = draft(cast, body="<script>alert(1)</script>\n\nВторой абзац")
    body = login(client, cast.bob).get(reverse("kb:article", args=[article.slug])).content
    text = body.decode()
    assert "<script>alert(1)</script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<p>Второй абзац</p>" in text
    assert "<script>" not in text
    assert "style=" not in text


def test_missing_article_is_404(cast: Cast, client: Client) -> None:
    assert login(client, cast.bob).get("/kb/nothing-here/").status_code == 404


# --- staff pages: writing and publishing ---------------------------------------------------


def test_agent_writes_a_draft(cast: Cast, client: Client) -> None:
    response = login(client, cast.bob).post(reverse("kb:new"), form_data())
    article = Article.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("kb:article", args=[article.slug])
    assert article.slug == "kak-oplatit-schet"
    assert article.author == cast.bob
    assert not article.published


def test_a_taken_address_is_numbered_or_refused(cast: Cast, client: Client) -> None:
    login(client, cast.bob)
    client.post(reverse("kb:new"), form_data())
    client.post(reverse("kb:new"), form_data())
    assert set(Article.objects.values_list("slug", flat=True)) == {
        "kak-oplatit-schet",
        "kak-oplatit-schet-2",
    }
    refused = client.post(reverse("kb:new"), form_data(slug="kak-oplatit-schet"))
    assert refused.status_code == 422
    assert "This address is taken." in refused.content.decode()
    reserved = client.post(reverse("kb:new"), form_data(slug="new"))
    assert reserved.status_code == 422
    assert Article.objects.count() == 2


def test_invalid_form_is_422_and_writes_nothing(cast: Cast, client: Client) -> None:
    response = login(client, cast.bob).post(reverse("kb:new"), form_data(title=""))
    assert response.status_code == 422
    assert Article.objects.count() == 0


def test_agent_cannot_publish(cast: Cast, client: Client) -> None:
    article = draft(cast)
    login(client, cast.bob)
    page = client.get(reverse("kb:article", args=[article.slug])).content.decode()
    assert reverse("kb:publish", args=[article.slug]) not in page
    response = client.post(reverse("kb:publish", args=[article.slug]))
    assert response.status_code == 403
    assert not Article.objects.get(pk=article.pk).published


def test_agent_cannot_create_published_article_through_the_service(cast: Cast) -> None:
    from pomogu.core.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.create_article(actor=cast.bob, title="T", body="B", published=True)


def test_lead_publishes_and_unpublishes(cast: Cast, client: Client) -> None:
    article = draft(cast)
    login(client, cast.alice)
    page = client.get(reverse("kb:article", args=[article.slug])).content.decode()
    assert reverse("kb:publish", args=[article.slug]) in page
    response = client.post(reverse("kb:publish", args=[article.slug]))
    assert response.status_code == 302
    assert Article.objects.get(pk=article.pk).published
    client.post(reverse("kb:unpublish", args=[article.slug]))
    assert not Article.objects.get(pk=article.pk).published


def test_lead_of_another_team_cannot_publish(cast: Cast, client: Client) -> None:
    article = draft(cast, team=cast.support)
    response = login(client, cast.carol).post(reverse("kb:publish", args=[article.slug]))
    assert response.status_code == 403
    assert not Article.objects.get(pk=article.pk).published


def test_any_lead_publishes_an_article_of_no_team_and_so_does_a_manager(
    cast: Cast, client: Client
) -> None:
    first = draft(cast, team=None, title="Первая")
    second = draft(cast, team=cast.support, title="Вторая")
    login(client, cast.carol).post(reverse("kb:publish", args=[first.slug]))
    assert Article.objects.get(pk=first.pk).published
    login(Client(), cast.mallory).post(reverse("kb:publish", args=[second.slug]))
    assert Article.objects.get(pk=second.pk).published


def test_publishing_is_get_proof(cast: Cast, client: Client) -> None:
    article = draft(cast)
    response = login(client, cast.alice).get(reverse("kb:publish", args=[article.slug]))
    assert response.status_code == 405
    assert not Article.objects.get(pk=article.pk).published


def test_posts_need_the_csrf_token(cast: Cast) -> None:
    article = draft(cast)
    client = login(Client(enforce_csrf_checks=True), cast.alice)
    assert client.post(reverse("kb:publish", args=[article.slug])).status_code == 403
    assert client.post(reverse("kb:new"), form_data()).status_code == 403
    assert not Article.objects.get(pk=article.pk).published
    assert Article.objects.count() == 1
    page = client.get(reverse("kb:article", args=[article.slug])).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token is not None
    response = client.post(
        reverse("kb:publish", args=[article.slug]), {"csrfmiddlewaretoken": token.group(1)}
    )
    assert response.status_code == 302
    assert Article.objects.get(pk=article.pk).published


def test_agent_edits_a_draft_but_not_a_published_article(cast: Cast, client: Client) -> None:
    article = draft(cast)
    login(client, cast.bob)
    response = client.post(
        reverse("kb:edit", args=[article.slug]), form_data(title="Новый заголовок")
    )
    assert response.status_code == 302
    assert Article.objects.get(pk=article.pk).title == "Новый заголовок"
    services.set_published(article.pk, actor=cast.alice, published=True)
    assert client.get(reverse("kb:edit", args=[article.slug])).status_code == 403
    refused = client.post(reverse("kb:edit", args=[article.slug]), form_data(title="Взлом"))
    assert refused.status_code == 403
    assert Article.objects.get(pk=article.pk).title == "Новый заголовок"


def test_lead_edits_a_published_article(cast: Cast, client: Client) -> None:
    article = draft(cast)
    services.set_published(article.pk, actor=cast.alice, published=True)
    response = login(client, cast.alice).post(
        reverse("kb:edit", args=[article.slug]),
        form_data(title="Исправлено", team=str(cast.support.pk), slug=article.slug),
    )
    assert response.status_code == 302
    assert Article.objects.get(pk=article.pk).title == "Исправлено"


def test_lead_cannot_move_a_published_article_to_a_team_she_does_not_lead(cast: Cast) -> None:
    from pomogu.core.errors import PermissionDenied

    article = draft(cast)
    services.set_published(article.pk, actor=cast.alice, published=True)
    with pytest.raises(PermissionDenied):
        services.update_article(
            article.pk,
            actor=cast.alice,
            title=article.title,
            body=article.body,
            language="ru",
            visibility=Visibility.PUBLIC,
            team=cast.billing,
        )


def test_staff_pages_have_no_inline_script_or_style(cast: Cast, client: Client) -> None:
    article = draft(cast)
    login(client, cast.alice)
    for url in ["/kb/", "/kb/?q=роутер", "/kb/new/", reverse("kb:article", args=[article.slug])]:
        body = client.get(url).content.decode()
        for forbidden in ("<script>", "style=", "<style"):
            assert forbidden not in body, (url, forbidden)


# --- public help pages ---------------------------------------------------------------------


def publish(article: Article, cast: Cast) -> Article:
    return services.set_published(article.pk, actor=cast.mallory, published=True)


def test_help_works_logged_out_and_shows_only_public_published(cast: Cast) -> None:
    public = publish(draft(cast, title="Публичная про роутер"), cast)
    internal = publish(
        draft(cast, title="Внутренняя про роутер", visibility=Visibility.INTERNAL), cast
    )
    hidden = draft(cast, title="Черновик про роутер")
    client = Client()
    for url in ["/help/", "/help/?q=роутер"]:
        response = client.get(url)
        assert response.status_code == 200
        body = response.content.decode()
        assert "Публичная про роутер" in body
        assert "Внутренняя про роутер" not in body
        assert "Черновик про роутер" not in body
    assert client.get(reverse("help:article", args=[public.slug])).status_code == 200
    assert client.get(reverse("help:article", args=[internal.slug])).status_code == 404
    assert client.get(reverse("help:article", args=[hidden.slug])).status_code == 404
    assert client.get("/help/no-such-article/").status_code == 404


def test_help_puts_the_readers_language_first(cast: Cast) -> None:
    publish(draft(cast, title="Роутер мигает", language="ru"), cast)
    publish(draft(cast, title="Router blinks", language="en", body="Restart the router."), cast)
    english = Client(headers={"accept-language": "en"}).get("/help/").content.decode()
    assert english.index("Router blinks") < english.index("Роутер мигает")
    russian = Client(headers={"accept-language": "ru"}).get("/help/").content.decode()
    assert russian.index("Роутер мигает") < russian.index("Router blinks")


def test_help_search_stems_and_survives_hostile_input(cast: Cast) -> None:
    publish(draft(cast, title="Как вернуть деньги", body="Вернём деньги за каждый день."), cast)
    client = Client()
    assert "Как вернуть деньги" in client.get("/help/", {"q": "деньгами"}).content.decode()
    for query in ['"', "NEAR(", "-", "*", "x" * 5000, "AND OR"]:
        assert client.get("/help/", {"q": query}).status_code == 200


def test_help_pages_are_standalone_and_script_free(cast: Cast) -> None:
    article = publish(draft(cast, body="<b>жирный</b>"), cast)
    client = Client()
    for url in ["/help/", reverse("help:article", args=[article.slug])]:
        body = client.get(url).content.decode()
        assert '<meta name="viewport"' in body
        assert "/static/kb/help.css" in body
        assert "desk.css" not in body
        for forbidden in ("<script", "style=", "<style"):
            assert forbidden not in body, (url, forbidden)
    assert (
        "&lt;b&gt;жирный&lt;/b&gt;"
        in client.get(reverse("help:article", args=[article.slug])).content.decode()
    )


# --- demo ------------------------------------------------------------------------------------


def test_demo_articles_load_once(cast: Cast) -> None:
    assert load_demo_articles(cast.alice) == len(ARTICLES)
    assert load_demo_articles(cast.alice) == 0
    assert Article.objects.count() == len(ARTICLES) >= 10
    assert Article.objects.filter(published=True).count() == len(ARTICLES)
    assert {a.language for a in Article.objects.all()} == {"ru", "en"}
    assert Article.objects.filter(visibility=Visibility.INTERNAL).exists()
    assert set(Article.objects.values_list("author", flat=True)) == {cast.alice.pk}
    body = Client().get("/help/", {"q": "refunds"}).content.decode()
    assert "How refunds work" in body
    assert "double charge" not in body


def test_demo_articles_need_no_author_or_teams(db: None) -> None:
    assert load_demo_articles(None) == len(ARTICLES)
    assert Article.objects.filter(team__isnull=False).count() == 0
