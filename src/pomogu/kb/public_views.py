"""The public help pages (/help/): published public articles for anyone, no login. Articles
in the reader's language (Django's, from the browser or the language switch) come first."""

from __future__ import annotations

from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import get_language
from django.views.decorators.http import require_GET

from pomogu.kb.choices import Visibility
from pomogu.kb.models import Article
from pomogu.kb.search import search_articles
from pomogu.kb.text import MAX_QUERY_CHARS

LIST_SIZE = 200
RESULTS = 30


def _language() -> str:
    return (get_language() or "en")[:2]


def public_articles() -> QuerySet[Article]:
    """What the world may read: published and public."""
    return Article.objects.filter(published=True, visibility=Visibility.PUBLIC)


@require_GET
def help_list(request: HttpRequest) -> HttpResponse:
    language = _language()
    query = (request.GET.get("q") or "").strip()[:MAX_QUERY_CHARS]
    if query:
        found = search_articles(query, public_only=True, limit=RESULTS)
        # Stable: best first within the reader's language, then the others.
        articles = sorted(found, key=lambda article: article.language != language)
    else:
        articles = list(
            public_articles()
            .annotate(
                other=Case(
                    When(language=language, then=Value(0)),
                    default=Value(1),
                    output_field=IntegerField(),
                )
            )
            .order_by("other", "title", "id")[:LIST_SIZE]
        )
    return render(
        request, "kb/public_list.html", {"articles": articles, "q": query, "language": language}
    )


@require_GET
def help_article(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        article = public_articles().get(slug=slug)
    except Article.DoesNotExist:
        raise Http404("No such article.") from None
    return render(request, "kb/public_article.html", {"article": article})
