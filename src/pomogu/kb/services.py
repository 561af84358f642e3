"""Writing the knowledge base. Any staff member may write and improve a draft; publishing, and
changing what is published, is for a team lead (of the article's team, or of any team when it
has none), a manager or an administrator: customers read public articles as the desk's word.
"""

from __future__ import annotations

import re
import unicodedata

from django.db import transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _

from pomogu.core.errors import InvalidInput, NotFound, PermissionDenied
from pomogu.kb.choices import ArticleLanguage, Visibility
from pomogu.kb.models import Article
from pomogu.people.choices import TeamRole
from pomogu.people.models import Membership, Team, User
from pomogu.people.services import is_team_lead

SLUG_MAX = 80
# Addresses the pages use themselves (/kb/new/).
RESERVED_SLUGS = frozenset({"new"})

_CYRILLIC_LATIN = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z",
    "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya",
}  # fmt: skip


def slug_for(title: str) -> str:
    """An address for a title, in Latin letters (a Russian title is transliterated)."""
    latin = "".join(_CYRILLIC_LATIN.get(char, char) for char in title.lower())
    latin = unicodedata.normalize("NFKD", latin)
    slug = slugify(latin)[:SLUG_MAX].strip("-")
    return slug or "article"


def _unique_slug(base: str) -> str:
    existing = set(Article.objects.filter(slug__startswith=base).values_list("slug", flat=True))
    existing |= RESERVED_SLUGS
    if base not in existing:
        return base
    number = 2
    while f"{base}-{number}" in existing:
        number += 1
    return f"{base}-{number}"


def can_publish(user: User, team: Team | None) -> bool:
    """Whether ``user`` may publish, or change once published, an article of ``team``."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.sees_all_teams:
        return True
    if team is not None:
        return is_team_lead(user, team)
    return (
        Team.objects.filter(lead=user).exists()
        or Membership.objects.filter(user=user, role=TeamRole.LEAD).exists()
    )


def can_edit(user: User, article: Article) -> bool:
    """A draft is anyone's to improve; a published article is a publisher's."""
    if not user.is_authenticated or not user.is_active:
        return False
    return not article.published or can_publish(user, article.team)


def _check(
    title: str, body: str, language: str, visibility: str, slug: str
) -> tuple[str, str, str]:
    title, body, slug = title.strip(), body.strip(), slug.strip()
    if not title:
        raise InvalidInput(_("An article needs a title."), code="empty_title")
    if not body:
        raise InvalidInput(_("An article needs some text."), code="empty_body")
    if language not in ArticleLanguage.values:
        raise InvalidInput(_("Unknown language."), code="invalid_language")
    if visibility not in Visibility.values:
        raise InvalidInput(_("Unknown visibility."), code="invalid_visibility")
    if slug in RESERVED_SLUGS:
        raise InvalidInput(_("This address is taken."), code="slug_taken")
    if slug and not re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", slug):
        raise InvalidInput(
            _("An address may hold small Latin letters, digits and hyphens only."),
            code="invalid_slug",
        )
    return title[:200], body, slug[:SLUG_MAX]


@transaction.atomic
def create_article(
    *,
    actor: User | None,
    title: str,
    body: str,
    language: str = ArticleLanguage.RU,
    visibility: str = Visibility.INTERNAL,
    team: Team | None = None,
    slug: str = "",
    published: bool = False,
    author: User | None = None,
) -> Article:
    """A new article, a draft unless ``published`` (which needs a publisher). ``actor`` None
    is the desk itself (demo data, imports), writing for ``author``. The address comes from
    the title unless given; a taken address is refused when given, numbered when derived."""
    title, body, slug = _check(title, body, language, visibility, slug)
    if actor is not None:
        if not actor.is_active:
            raise PermissionDenied(_("Only active staff can write articles."))
        if published and not can_publish(actor, team):
            raise PermissionDenied(_("Only a team lead or a manager can publish an article."))
    if slug:
        if Article.objects.filter(slug=slug).exists():
            raise InvalidInput(_("This address is taken."), code="slug_taken")
    else:
        slug = _unique_slug(slug_for(title))
    return Article.objects.create(
        title=title,
        slug=slug,
        body=body,
        language=language,
        visibility=visibility,
        team=team,
        author=actor or author,
        published=published,
    )


def _lock(article_id: int) -> Article:
    try:
        return Article.objects.select_for_update().get(pk=article_id)
    except Article.DoesNotExist:
        raise NotFound(_("No such article.")) from None


@transaction.atomic
def update_article(
    article_id: int,
    *,
    actor: User,
    title: str,
    body: str,
    language: str,
    visibility: str,
    team: Team | None,
    slug: str = "",
) -> Article:
    """Change an article. A published one, or moving it to a team, needs a publisher of its
    team (before and after the change): otherwise an agent could publish by editing."""
    article = _lock(article_id)
    if not can_edit(actor, article):
        raise PermissionDenied(_("Only a team lead or a manager can change a published article."))
    if article.published and not can_publish(actor, team):
        raise PermissionDenied(_("Only a team lead or a manager can change a published article."))
    title, body, slug = _check(title, body, language, visibility, slug)
    if slug and slug != article.slug:
        if Article.objects.filter(slug=slug).exclude(pk=article.pk).exists():
            raise InvalidInput(_("This address is taken."), code="slug_taken")
        article.slug = slug
    article.title, article.body = title, body
    article.language, article.visibility, article.team = language, visibility, team
    article.save()
    return article


@transaction.atomic
def set_published(article_id: int, *, actor: User, published: bool) -> Article:
    """Publish an article (customers see a public one at once) or take it back to a draft."""
    article = _lock(article_id)
    if not can_publish(actor, article.team):
        raise PermissionDenied(_("Only a team lead or a manager can publish an article."))
    if article.published != published:
        article.published = published
        article.save(update_fields=["published", "updated_at"])
    return article
