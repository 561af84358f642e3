"""The knowledge base for staff (/kb/): the list with a search box, an article, writing and
editing, publishing. Every change is a POST through ``services``; a refusal is a 403, a bad
value an error next to the form (422)."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as Forbidden
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from pomogu.cases.queries import desk_teams
from pomogu.core.errors import DomainError, NotFound, PermissionDenied
from pomogu.kb import services
from pomogu.kb.forms import ArticleForm
from pomogu.kb.models import Article
from pomogu.kb.search import search_articles_for_staff
from pomogu.kb.text import MAX_QUERY_CHARS
from pomogu.people.models import User

PAGE_SIZE = 50


def _actor(request: HttpRequest) -> User:
    return cast(User, request.user)


def _page(
    request: HttpRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    context.setdefault("nav_teams", list(desk_teams(_actor(request))))
    return render(request, template, context, status=status)


def _article(slug: str) -> Article:
    try:
        return Article.objects.select_related("team", "author").get(slug=slug)
    except Article.DoesNotExist:
        raise Http404("No such article.") from None


def _refused(error: DomainError) -> None:
    """Turn a service's refusal into Django's answer (403 or 404)."""
    if isinstance(error, PermissionDenied):
        raise Forbidden(error.detail) from error
    if isinstance(error, NotFound):
        raise Http404(error.detail) from error


@require_GET
@login_required
def article_list(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    query = (request.GET.get("q") or "").strip()[:MAX_QUERY_CHARS]
    context: dict[str, Any] = {"q": query}
    if query:
        context["articles"] = search_articles_for_staff(query)
    else:
        articles = Article.objects.select_related("team").order_by("published", "title", "id")
        page = Paginator(articles, PAGE_SIZE).get_page(request.GET.get("page"))
        context["page"] = page
        context["articles"] = page.object_list
    context["can_publish"] = services.can_publish(actor, None)
    return _page(request, "kb/list.html", context)


@require_GET
@login_required
def article_detail(request: HttpRequest, slug: str) -> HttpResponse:
    actor = _actor(request)
    article = _article(slug)
    return _page(
        request,
        "kb/article.html",
        {
            "article": article,
            "can_edit": services.can_edit(actor, article),
            "can_publish": services.can_publish(actor, article.team),
        },
    )


def _form_values(form: ArticleForm) -> dict[str, Any]:
    data = form.cleaned_data
    return {
        "title": data["title"],
        "body": data["body"],
        "language": data["language"],
        "visibility": data["visibility"],
        "team": data["team"],
        "slug": data["slug"] or "",
    }


@require_http_methods(["GET", "POST"])
@login_required
def article_new(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    form = ArticleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            article = services.create_article(actor=actor, **_form_values(form))
        except DomainError as error:
            _refused(error)
            form.add_error(None, error.detail)
        else:
            messages.success(request, _("Draft saved. A team lead or a manager publishes it."))
            return redirect("kb:article", slug=article.slug)
    status = 422 if request.method == "POST" else 200
    return _page(request, "kb/form.html", {"form": form, "article": None}, status=status)


@require_http_methods(["GET", "POST"])
@login_required
def article_edit(request: HttpRequest, slug: str) -> HttpResponse:
    actor = _actor(request)
    article = _article(slug)
    if not services.can_edit(actor, article):
        raise Forbidden("Only a team lead or a manager can change a published article.")
    initial = {
        "title": article.title,
        "body": article.body,
        "language": article.language,
        "visibility": article.visibility,
        "team": article.team,
        "slug": article.slug,
    }
    form = ArticleForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            article = services.update_article(article.pk, actor=actor, **_form_values(form))
        except DomainError as error:
            _refused(error)
            form.add_error(None, error.detail)
        else:
            messages.success(request, _("Article saved."))
            return redirect("kb:article", slug=article.slug)
    status = 422 if request.method == "POST" else 200
    return _page(request, "kb/form.html", {"form": form, "article": article}, status=status)


def _set_published(request: HttpRequest, slug: str, published: bool) -> HttpResponse:
    article = _article(slug)
    try:
        services.set_published(article.pk, actor=_actor(request), published=published)
    except DomainError as error:
        _refused(error)
        raise
    if published:
        messages.success(request, _("Published."))
    else:
        messages.success(request, _("Taken back to a draft."))
    return redirect("kb:article", slug=article.slug)


@require_POST
@login_required
def article_publish(request: HttpRequest, slug: str) -> HttpResponse:
    return _set_published(request, slug, True)


@require_POST
@login_required
def article_unpublish(request: HttpRequest, slug: str) -> HttpResponse:
    return _set_published(request, slug, False)
