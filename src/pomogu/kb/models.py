"""The knowledge base (R9): articles that staff write and customers may read."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from pomogu.kb.choices import ArticleLanguage, Visibility
from pomogu.people.models import Team


class Article(models.Model):
    """An answer written down once: how to fix a problem, how a process works.

    ``body`` is plain text; a blank line starts a new paragraph (rendered with ``linebreaks``,
    never as HTML). A public article, once published, is on the help pages (/help/) and in the
    customer portal; an internal one only ever reaches staff. Drafts reach nobody but staff on
    the knowledge-base pages. Full-text indexes: migration 0002 (``pomogu.kb.schema``).
    """

    title = models.CharField(_("title"), max_length=200)
    slug = models.SlugField(_("address"), max_length=120, unique=True)
    body = models.TextField(_("text"))
    language = models.CharField(
        _("language"), max_length=2, choices=ArticleLanguage, default=ArticleLanguage.RU
    )
    visibility = models.CharField(
        _("visibility"), max_length=16, choices=Visibility, default=Visibility.INTERNAL
    )
    published = models.BooleanField(_("published"), default=False)
    team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="articles",
        verbose_name=_("team"),
        help_text=_("The team that answers for this article; its lead publishes it"),
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("author"),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("article")
        verbose_name_plural = _("articles")
        ordering = ["title", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(language__in=[c.value for c in ArticleLanguage]),
                name="article_language_valid",
            ),
            models.CheckConstraint(
                condition=Q(visibility__in=[c.value for c in Visibility]),
                name="article_visibility_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["published", "visibility", "language"], name="article_listing"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_public(self) -> bool:
        """Whether anyone, signed in or not, may read it now."""
        return self.published and self.visibility == Visibility.PUBLIC
