"""The public request form (R1)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class RequestForm(forms.Form):
    name = forms.CharField(label=_("Your name"), max_length=200, required=False)
    email = forms.CharField(label=_("Your email"), max_length=254)
    subject = forms.CharField(label=_("Subject"), max_length=300)
    body = forms.CharField(label=_("How can we help?"), widget=forms.Textarea, max_length=50_000)
    nonce = forms.CharField(widget=forms.HiddenInput)
    # A field people do not see; bots fill it in. Hidden by CSS, not by type=hidden.
    website = forms.CharField(label=_("Leave this empty"), required=False)
