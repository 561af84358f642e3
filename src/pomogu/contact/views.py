"""The customer's survey page (R6): no login; the link's token is signed. Opening the page
records nothing (mail scanners open links); only its form does."""

from __future__ import annotations

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from pomogu.contact import surveys
from pomogu.contact.models import Survey, SurveyState
from pomogu.core import throttle
from pomogu.core.errors import DomainError, NotFound

RATINGS = [(n, str(n)) for n in range(5, 0, -1)]


class AnswerForm(forms.Form):
    rating = forms.TypedChoiceField(
        label=_("Your rating"), choices=RATINGS, coerce=int, widget=forms.RadioSelect
    )
    comment = forms.CharField(
        label=_("Anything you want to tell us (optional)"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


def _survey(request: HttpRequest, token: str) -> Survey:
    try:
        return surveys.by_token(token)
    except NotFound:
        throttle.token_failed(request)
        raise Http404("No such survey.") from None


@require_http_methods(["GET", "POST"])
def answer(request: HttpRequest, token: str) -> HttpResponse:
    if throttle.tokens_blocked(request):
        return throttle.too_many_tokens(request, "desk/base.html")
    survey = _survey(request, token)
    case = survey.case
    language = survey.case.customer.language or case.language or None
    with translation.override(language or translation.get_language()):
        context: dict[str, object] = {"survey": survey, "case": case}
        if survey.state == SurveyState.ANSWERED:
            return render(request, "contact/survey_thanks.html", context)
        if survey.state != SurveyState.SENT:
            return render(request, "contact/survey_closed.html", context, status=410)
        if request.method == "GET":
            chosen = request.GET.get("rating", "")
            initial = {"rating": int(chosen)} if chosen in {"1", "2", "3", "4", "5"} else {}
            context["form"] = AnswerForm(initial=initial)
            return render(request, "contact/survey.html", context)
        form = AnswerForm(request.POST)
        if form.is_valid():
            try:
                surveys.answer(
                    token, rating=form.cleaned_data["rating"], comment=form.cleaned_data["comment"]
                )
            except DomainError as error:
                form.add_error(None, error.detail)
            else:
                return render(request, "contact/survey_thanks.html", context)
        context["form"] = form
        return render(request, "contact/survey.html", context, status=422)
