"""Forms of the knowledge-base pages: they validate; ``services`` decides and writes."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from pomogu.kb.choices import ArticleLanguage, Visibility
from pomogu.kb.services import SLUG_MAX
from pomogu.people.models import Team


class ArticleForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    body = forms.CharField(
        label=_("Text"),
        widget=forms.Textarea(attrs={"rows": 16}),
        help_text=_("Plain text. A blank line starts a new paragraph."),
    )
    language = forms.ChoiceField(label=_("Language"), choices=ArticleLanguage.choices)
    visibility = forms.ChoiceField(
        label=_("Who may read it once published"), choices=Visibility.choices
    )
    team = forms.ModelChoiceField(
        label=_("Team"),
        queryset=Team.objects.order_by("name"),
        required=False,
        empty_label=_("(no team)"),
        help_text=_("Its lead publishes the article and answers for it."),
    )
    slug = forms.SlugField(
        label=_("Address"),
        max_length=SLUG_MAX,
        required=False,
        help_text=_("Latin letters, digits and hyphens; made from the title when empty."),
    )
