"""The portal's forms: ask for a sign-in link, reply on a case (with files), rate a solved case."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from pomogu.core.errors import InvalidInput
from pomogu.intake.parsing import ParsedAttachment, safe_filename
from pomogu.intake.services import limits
from pomogu.people.services import normalise_email
from pomogu.portal.services import setting


class EmailForm(forms.Form):
    email = forms.CharField(
        label=_("Your email address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "inputmode": "email"}),
    )

    def clean_email(self) -> str:
        try:
            return normalise_email(self.cleaned_data["email"])
        except InvalidInput:
            raise forms.ValidationError(
                _("Please enter an email address like name@example.com."), code="invalid"
            ) from None


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class FilesField(forms.FileField):
    """Several files from one input (Django's documented pattern); the list may be empty."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


class ReplyForm(forms.Form):
    body = forms.CharField(
        label=_("Your message"),
        max_length=50_000,
        widget=forms.Textarea(attrs={"rows": 6}),
        error_messages={"required": _("Please write a message.")},
    )
    attachments = FilesField(label=_("Attach files (optional)"))
    nonce = forms.CharField(widget=forms.HiddenInput)

    def clean_body(self) -> str:
        body = self.cleaned_data["body"]
        if not body.strip():
            raise forms.ValidationError(_("Please write a message."), code="empty")
        return body

    def clean_attachments(self) -> list[ParsedAttachment]:
        """The files as attachments, within the mail intake's limits (SEC-5): so many files,
        so big each and together. Their names are sanitised; their types are only labels
        (an attachment is always served as a download that cannot run)."""
        uploads: list[UploadedFile] = self.cleaned_data.get("attachments") or []
        most = setting("POMOGU_PORTAL_MAX_FILES")
        if len(uploads) > most:
            raise forms.ValidationError(
                ngettext(
                    "You can attach at most %(count)d file.",
                    "You can attach at most %(count)d files.",
                    most,
                )
                % {"count": most}
            )
        bounds = limits()
        total = 0
        parts = []
        for upload in uploads:
            size = upload.size or 0
            total += size
            if size == 0:
                raise forms.ValidationError(
                    _("%(name)s is empty.") % {"name": safe_filename(upload.name)}
                )
            if size > bounds.max_attachment_bytes:
                raise forms.ValidationError(
                    _("%(name)s is too big: a file may have at most %(size)s.")
                    % {
                        "name": safe_filename(upload.name),
                        "size": filesizeformat(bounds.max_attachment_bytes),
                    }
                )
            if total > bounds.max_bytes:
                raise forms.ValidationError(
                    _("The files are too big together: at most %(size)s.")
                    % {"size": filesizeformat(bounds.max_bytes)}
                )
        for upload in uploads:
            content_type = (upload.content_type or "application/octet-stream")[:255]
            parts.append(
                ParsedAttachment(
                    filename=safe_filename(upload.name, content_type),
                    content_type=content_type,
                    content=upload.read(),
                    inline=False,
                    content_id="",
                )
            )
        return parts


RATINGS = [(n, str(n)) for n in range(5, 0, -1)]


class RatingForm(forms.Form):
    rating = forms.TypedChoiceField(
        label=_("How satisfied are you, from 1 (not at all) to 5 (fully)?"),
        choices=RATINGS,
        coerce=int,
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Anything you want to tell us (optional)"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
