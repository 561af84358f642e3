"""Forms of the agent desk. They only validate input; every change goes through a service."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from pomogu.cases import queries
from pomogu.cases.choices import Channel, Resolution
from pomogu.people.models import Team, User

TEXTAREA = {"rows": 4}


class ReplyForm(forms.Form):
    body = forms.CharField(label=_("Reply to the customer"), widget=forms.Textarea(attrs=TEXTAREA))
    wait_for_customer = forms.BooleanField(
        label=_("Wait for the customer to answer"),
        required=False,
        help_text=_("The case waits on the customer until they write back."),
    )
    override_reason = forms.CharField(
        label=_("Send anyway, because…"),
        required=False,
        max_length=500,
        help_text=_(
            "Only if the reply guard stopped this reply and you are sure it is right; "
            "the reason is recorded."
        ),
    )


class NoteForm(forms.Form):
    body = forms.CharField(
        label=_("Internal note (the customer does not see it)"),
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class HandoffForm(forms.Form):
    to_team = forms.ModelChoiceField(
        label=_("To team"), queryset=Team.objects.order_by("name"), empty_label=None
    )
    to_user = forms.TypedChoiceField(
        label=_("To a person (optional)"),
        required=False,
        coerce=int,
        empty_value=None,
        help_text=_("Leave empty to offer the case to anyone in the team."),
    )
    reason = forms.CharField(
        label=_("Why should the case move?"), widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        groups: dict[str, list[tuple[int, str]]] = {}
        for membership in queries.handoff_receivers():
            groups.setdefault(membership.team.name, []).append(
                (membership.user.pk, membership.user.display_name)
            )
        choices: list[Any] = [("", _("Anyone in the team"))]
        choices += list(groups.items())
        field = self.fields["to_user"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = choices

    def clean_to_user(self) -> User | None:
        user_id = self.cleaned_data.get("to_user")
        if user_id is None:
            return None
        user = User.objects.filter(pk=user_id, is_active=True).first()
        if user is None:
            raise forms.ValidationError(_("Choose a staff member from the list."))
        return user


class DeclineForm(forms.Form):
    reason = forms.CharField(
        label=_("Why do you decline?"), widget=forms.Textarea(attrs={"rows": 2})
    )


class ContractorTaskForm(forms.Form):
    contractor = forms.CharField(label=_("Contractor"), max_length=200)
    contact = forms.CharField(label=_("Contractor contact"), max_length=200, required=False)
    description = forms.CharField(
        label=_("What they must do"), widget=forms.Textarea(attrs={"rows": 2})
    )
    due_at = forms.DateTimeField(
        label=_("Due"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    wait = forms.BooleanField(
        label=_("Mark the case as waiting on the contractor"),
        required=False,
        initial=True,
        help_text=_("The customer's clock keeps running."),
    )


class PromiseForm(forms.Form):
    text = forms.CharField(label=_("What you promised"), max_length=500)
    due_at = forms.DateTimeField(
        label=_("By"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )


class AppointmentForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind"), choices=[("visit", _("Visit")), ("call", _("Call"))], initial="visit"
    )
    starts_at = forms.DateTimeField(
        label=_("Starts"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    minutes = forms.IntegerField(label=_("Minutes"), min_value=5, max_value=24 * 60, initial=60)
    place = forms.CharField(label=_("Where or which number"), max_length=300, required=False)


class FinishTaskForm(forms.Form):
    outcome = forms.CharField(label=_("Outcome"), widget=forms.Textarea(attrs={"rows": 2}))
    cancelled = forms.BooleanField(label=_("The task was cancelled"), required=False)


class ResolveForm(forms.Form):
    resolution = forms.ChoiceField(label=_("Resolution"), choices=Resolution.choices)
    summary = forms.CharField(
        label=_("Summary"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class ReopenForm(forms.Form):
    reason = forms.CharField(
        label=_("Why reopen the case?"), widget=forms.Textarea(attrs={"rows": 2})
    )


LOGGED_CHANNELS = [
    (Channel.PHONE.value, Channel.PHONE.label),
    (Channel.IN_PERSON.value, Channel.IN_PERSON.label),
    (Channel.EMAIL.value, Channel.EMAIL.label),
]


class NewCaseForm(forms.Form):
    """A request a staff member logs for a customer (R2), for example after a phone call."""

    # Plain text fields: the service validates the address strictly and says why it refuses.
    email = forms.CharField(
        label=_("Customer email"), max_length=254, required=False, widget=forms.EmailInput
    )
    phone = forms.CharField(
        label=_("Customer phone"),
        max_length=32,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel"}),
    )
    name = forms.CharField(label=_("Customer name"), max_length=200, required=False)
    subject = forms.CharField(label=_("Subject"), max_length=300)
    body = forms.CharField(
        label=_("What the customer asks, in their words"),
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    channel = forms.ChoiceField(label=_("How they contacted us"), choices=LOGGED_CHANNELS)
    team = forms.ModelChoiceField(
        label=_("Team"), queryset=Team.objects.order_by("name"), empty_label=None
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not (data.get("email") or "").strip() and not (data.get("phone") or "").strip():
            raise forms.ValidationError(
                _("Give the customer's email address or phone number."), code="contact"
            )
        return data


class RoutingForm(forms.Form):
    """Where a request belongs: a team, or no team at all."""

    NOT_OURS = "not_ours"
    choice = forms.ChoiceField(label=_("This request belongs to"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        teams = [(str(t.pk), t.name) for t in Team.objects.order_by("name")]
        field = self.fields["choice"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [
            *teams,
            (self.NOT_OURS, _("No team: it is not our business")),
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        choice = data.get("choice")
        if choice and choice != self.NOT_OURS:
            data["team"] = Team.objects.get(pk=int(choice))
        return data
