"""Finding things from the desk: the global search (cases, by words, number or the customer's
address, and knowledge-base articles) and the case page's "related" panel (the customer's other
cases, resolved cases like this one with how they were solved, articles that may answer it).

The related panel is loaded by htmx after the case page (``hx-trigger="load"``): the page
itself stays within its query budget and appears at once, and a slow similarity search on a
large desk delays only the panel. Without JavaScript it is one click away.
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from pomogu.cases import queries
from pomogu.cases.models import Case
from pomogu.people.models import User
from pomogu.people.services import by_email

MAX_QUERY = 200  # characters of a search that are used
HISTORY = 8  # the customer's other cases shown


def _actor(request: HttpRequest) -> User:
    return cast(User, request.user)


def find_cases(user: User, query: str, limit: int = 25) -> list[Case]:
    """Cases for a search box: an email address finds that customer's cases, anything else
    goes to the full-text search (which also knows case numbers)."""
    from pomogu.kb.search import search_cases

    query = query.strip()[:MAX_QUERY]
    if not query:
        return []
    if "@" in query and " " not in query:
        customer = by_email(query)
        if customer is None:
            return []
        return list(
            queries.visible_cases(user)
            .filter(customer=customer)
            .select_related("customer", "team", "owner")
            .order_by("-created_at")[:limit]
        )
    return search_cases(user, query, limit=limit)


@require_GET
@login_required
def search(request: HttpRequest) -> HttpResponse:
    from pomogu.desk.views import _page
    from pomogu.kb.search import search_articles

    actor = _actor(request)
    query = (request.GET.get("q") or "").strip()[:MAX_QUERY]
    context: dict[str, Any] = {"q": query, "cases": [], "articles": []}
    if query:
        context["cases"] = find_cases(actor, query)
        context["articles"] = search_articles(query, limit=10)
    return _page(request, "desk/search.html", context)


@require_GET
@login_required
def related(request: HttpRequest, number: int) -> HttpResponse:
    from pomogu.desk.views import _visible_case
    from pomogu.kb.search import similar_articles, similar_cases

    actor = _actor(request)
    case = _visible_case(actor, number)
    history = list(
        queries.visible_cases(actor)
        .filter(customer_id=case.customer_id)
        .exclude(pk=case.pk)
        .select_related("team", "owner")
        .order_by("-created_at")[:HISTORY]
    )
    latest = queries.latest_customer_words(case)
    text = f"{case.subject}\n{latest}"
    context = {
        "case": case,
        "history": history,
        "similar": similar_cases(case, actor, limit=5, latest=latest),
        "articles": similar_articles(text, language=case.language or None, limit=3),
    }
    return render(request, "desk/partials/related.html", context)
