"""The public web form: one more front door (R1). Anyone may write; nothing sent is lost."""

from __future__ import annotations

import datetime as dt
import secrets

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from pomogu.cases import services as cases
from pomogu.cases.choices import Channel
from pomogu.core import clock
from pomogu.core.clients import client_digest
from pomogu.core.errors import DomainError
from pomogu.intake.forms import RequestForm
from pomogu.intake.models import FormSubmission

SALT = "pomogu.intake.form"
FORM_MAX_AGE = 24 * 3600


def _over_limit(client: str) -> bool:
    window = int(settings.POMOGU.get("FORM_WINDOW_SECONDS", 600))
    budget = int(settings.POMOGU.get("FORM_PER_CLIENT", 5))
    since = clock.now() - dt.timedelta(seconds=window)
    return FormSubmission.objects.filter(client=client, created_at__gte=since).count() >= budget


@require_http_methods(["GET", "POST"])
def request_form(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        nonce = signing.dumps(secrets.token_hex(16), salt=SALT)
        return render(
            request, "intake/request_form.html", {"form": RequestForm(initial={"nonce": nonce})}
        )
    form = RequestForm(request.POST)
    if not form.is_valid():
        return render(request, "intake/request_form.html", {"form": form}, status=422)
    data = form.cleaned_data
    if data["website"]:
        # A bot. Answer as if all went well and keep nothing: it is not a customer's message.
        return render(request, "intake/request_sent.html", {"case": None})
    try:
        nonce = signing.loads(data["nonce"], salt=SALT, max_age=FORM_MAX_AGE)
    except signing.BadSignature:
        again = request.POST.copy()
        again["nonce"] = signing.dumps(secrets.token_hex(16), salt=SALT)
        form = RequestForm(again)
        form.is_valid()
        form.add_error(None, _("This form has expired. Please send it again."))
        return render(request, "intake/request_form.html", {"form": form}, status=422)
    done = FormSubmission.objects.filter(nonce=nonce).select_related("case").first()
    if done is not None:
        return render(request, "intake/request_sent.html", {"case": done.case})
    client = client_digest(request, "web form")
    if _over_limit(client):
        return render(
            request,
            "intake/request_form.html",
            {
                "form": form,
                "throttled": True,
            },
            status=429,
        )
    try:
        with transaction.atomic():
            case = cases.open_case_for(
                email=data["email"],
                name=data["name"],
                subject=data["subject"],
                body=data["body"],
                channel=Channel.WEB,
            )
            FormSubmission.objects.create(nonce=nonce, client=client, case=case)
    except IntegrityError:
        done = FormSubmission.objects.filter(nonce=nonce).select_related("case").first()
        return render(request, "intake/request_sent.html", {"case": done.case if done else None})
    except DomainError as error:
        form.add_error("email" if "email" in error.code else None, error.detail)
        return render(request, "intake/request_form.html", {"form": form}, status=422)
    return render(request, "intake/request_sent.html", {"case": case})
