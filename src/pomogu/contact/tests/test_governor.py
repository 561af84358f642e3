"""The contact governor (R6): a reason, a budget, quiet hours in the customer's time zone,
their preferences; every deferred or refused contact is kept, on the case and in the register."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import transaction

from pomogu.cases.choices import EventKind
from pomogu.cases.models import Case, Notification, TimelineEvent
from pomogu.contact import governor
from pomogu.contact.models import (
    ContactAttempt,
    ContactPreference,
    ContactState,
    OutboxMessage,
)
from pomogu.core.testing import Cast
from pomogu.failures.models import Failure
from pomogu.people.models import Organisation

MOSCOW = ZoneInfo("Europe/Moscow")
# Tuesday 2026-11-24, 11:00 in Moscow: a working morning.
TUESDAY_11 = dt.datetime(2026, 11, 24, 11, 0, tzinfo=MOSCOW)


@pytest.fixture
def now() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(TUESDAY_11, tick=False) as traveller:
        yield traveller


def ask(case: Case | None, purpose: str = "proactive", **kwargs: Any) -> ContactAttempt:
    customer = kwargs.pop("customer", None) or (case.customer if case else None)
    assert customer is not None
    with transaction.atomic():
        return governor.contact(
            customer=customer,
            purpose=purpose,
            case=case,
            reason=kwargs.pop("reason", "Ваш роутер готов, можно забирать"),
            subject=kwargs.pop("subject", "Ваш роутер готов"),
            body=kwargs.pop("body", "Здравствуйте! Роутер после ремонта готов."),
            **kwargs,
        )


def test_a_check_in_without_a_case_is_refused_kept_and_registered(
    cast: Cast, now: time_machine.Coordinates
) -> None:
    attempt = ask(None, "check_in", customer=cast.dave, reason="")
    assert (attempt.state, attempt.decision) == (ContactState.REFUSED, governor.NO_PURPOSE)
    assert ContactAttempt.objects.get(pk=attempt.pk).history[0]["decision"] == "no_purpose"
    assert not OutboxMessage.objects.exists()
    failure = Failure.objects.get(kind="pestering_blocked")
    assert failure.detail["decision"] == "no_purpose"


def test_a_check_in_on_a_case_still_needs_a_concrete_reason(
    cast: Cast, now: time_machine.Coordinates
) -> None:
    case = cast.open_case()
    refused = ask(case, "check_in", reason="  ")
    assert (refused.state, refused.decision) == (ContactState.REFUSED, governor.NO_REASON)
    held = TimelineEvent.objects.get(case=case, kind=EventKind.CONTACT_HELD)
    assert held.data["decision"] == "no_reason"
    made = ask(case, "check_in", reason="Проверить, что после замены кабеля интернет работает")
    assert made.state == ContactState.SENT
    assert made.outbox is not None
    assert made.outbox.to_email == "dave@customer.test"


def test_at_night_a_contact_waits_for_the_morning_and_then_goes(
    cast: Cast, now: time_machine.Coordinates
) -> None:
    case = cast.open_case()
    now.move_to(dt.datetime(2026, 11, 24, 23, 30, tzinfo=MOSCOW))
    attempt = ask(case)
    assert (attempt.state, attempt.decision) == (ContactState.DEFERRED, governor.QUIET_HOURS)
    assert attempt.due_at == dt.datetime(2026, 11, 25, 9, 0, tzinfo=MOSCOW)
    assert attempt.outbox is None
    now.move_to(dt.datetime(2026, 11, 25, 8, 59, tzinfo=MOSCOW))
    assert governor.release_due() == 0
    now.move_to(dt.datetime(2026, 11, 25, 9, 0, tzinfo=MOSCOW))
    assert governor.release_due() == 1
    attempt.refresh_from_db()
    assert attempt.state == ContactState.SENT
    assert attempt.made_at == dt.datetime(2026, 11, 25, 9, 0, tzinfo=MOSCOW)
    assert OutboxMessage.objects.filter(pk=attempt.outbox_id).exists()
    # One deferral, one entry in the register however often it was looked at.
    assert Failure.objects.filter(kind="pestering_blocked").count() == 1
    assert [h["state"] for h in attempt.history] == ["deferred", "sent"]


def test_weekends_and_holidays_wait_for_the_next_working_morning(
    cast: Cast, now: time_machine.Coordinates
) -> None:
    case = cast.open_case()
    now.move_to(dt.datetime(2026, 11, 27, 22, 0, tzinfo=MOSCOW))  # Friday night
    assert ask(case).due_at == dt.datetime(2026, 11, 30, 9, 0, tzinfo=MOSCOW)  # Monday
    # New year in Russia: 31 December (moved from 4 January) to 8 January are days off, then a
    # weekend: the next working morning is Monday 11 January.
    now.move_to(dt.datetime(2026, 12, 30, 20, 0, tzinfo=MOSCOW))
    attempt = ask(case, reason="Мастер придёт в понедельник", subject="Визит", body="Визит мастера")
    assert attempt.state == ContactState.SENT  # Wednesday 30 December, 20:00: still allowed
    now.move_to(dt.datetime(2026, 12, 31, 12, 0, tzinfo=MOSCOW))
    held = ask(case, "appointment", subject="Визит", body="Визит мастера")
    assert held.decision == governor.HOLIDAY
    assert held.due_at == dt.datetime(2027, 1, 11, 9, 0, tzinfo=MOSCOW)


def test_quiet_hours_are_the_customers_own(cast: Cast, now: time_machine.Coordinates) -> None:
    cast.dave.time_zone = "Asia/Vladivostok"  # Moscow + 7 hours
    cast.dave.save()
    case = cast.open_case()
    assert ask(case).state == ContactState.SENT  # 11:00 in Moscow is 18:00 in Vladivostok
    now.move_to(TUESDAY_11 + dt.timedelta(hours=3))  # 21:00 in Vladivostok
    attempt = ask(case, "appointment")
    assert attempt.state == ContactState.DEFERRED
    assert attempt.due_at is not None
    assert attempt.due_at.astimezone(ZoneInfo("Asia/Vladivostok")).hour == 9


def test_the_budget_of_proactive_contacts_holds_across_purposes_and_periods(
    cast: Cast, now: time_machine.Coordinates, settings: Any
) -> None:
    settings.POMOGU = {**settings.POMOGU, "CONTACT_BUDGET": "2/30"}
    case = cast.open_case()
    assert ask(case, "proactive").state == ContactState.SENT
    assert ask(case, "acknowledgement").state == ContactState.SENT  # not counted
    assert ask(case, "appointment").state == ContactState.SENT  # not counted
    assert ask(case, "reminder").state == ContactState.SENT
    third = ask(case, "incident", incident="INC-7")
    assert (third.state, third.decision) == (ContactState.REFUSED, governor.BUDGET)
    now.shift(dt.timedelta(days=29))
    assert ask(case, "proactive").decision == governor.BUDGET
    now.shift(dt.timedelta(days=1, minutes=1))
    assert ask(case, "proactive").state == ContactState.SENT
    assert Failure.objects.filter(kind="pestering_blocked").count() == 2


def test_an_organisation_has_its_own_budget(
    cast: Cast, now: time_machine.Coordinates, settings: Any
) -> None:
    settings.POMOGU = {**settings.POMOGU, "CONTACT_BUDGET_ORGANISATION": "1/30"}
    firm = Organisation.objects.create(name="ООО Ромашка")
    for customer in (cast.dave, cast.erin):
        customer.organisation = firm
        customer.save()
    assert ask(cast.open_case()).state == ContactState.SENT
    refused = ask(cast.open_case(customer=cast.erin))
    assert refused.decision == governor.ORGANISATION_BUDGET


def test_preferences_opt_out_of_a_purpose_or_a_channel(
    cast: Cast, now: time_machine.Coordinates
) -> None:
    case = cast.open_case()
    ContactPreference.objects.create(customer=cast.dave, channels=["email"], opted_out=["survey"])
    assert ask(case, "survey").decision == governor.OPTED_OUT
    cast.dave.phone = "+79161234567"
    cast.dave.save()
    assert ask(case, "callback", channel="phone").decision == governor.CHANNEL_REFUSED
    assert ask(case, "reminder").state == ContactState.SENT


def test_a_phone_contact_is_a_task_for_staff(cast: Cast, now: time_machine.Coordinates) -> None:
    cast.dave.phone = "+79161234567"
    cast.dave.save()
    case = cast.open_case()
    attempt = ask(case, "callback", channel="phone", reason="Обещали перезвонить после 11:00")
    assert attempt.state == ContactState.SENT
    task = Notification.objects.get(kind="call", recipient=case.owner)
    assert "+79161234567" in task.title
    assert task.body == "Обещали перезвонить после 11:00"


def test_a_deferred_contact_is_refused_if_the_budget_went_meanwhile(
    cast: Cast, now: time_machine.Coordinates, settings: Any
) -> None:
    settings.POMOGU = {**settings.POMOGU, "CONTACT_BUDGET": "1/30"}
    case = cast.open_case()
    now.move_to(dt.datetime(2026, 11, 24, 22, 0, tzinfo=MOSCOW))
    night = ask(case, "reminder")
    assert night.state == ContactState.DEFERRED
    now.move_to(dt.datetime(2026, 11, 25, 8, 0, tzinfo=MOSCOW))
    # An agent's message at 9:00 sharp goes first (it was deferred too, and released first).
    now.move_to(dt.datetime(2026, 11, 25, 9, 30, tzinfo=MOSCOW))
    assert ask(case, "proactive").state == ContactState.SENT
    governor.release_due()
    night.refresh_from_db()
    assert (night.state, night.decision) == (ContactState.REFUSED, governor.BUDGET)


def test_the_same_key_contacts_once(cast: Cast, now: time_machine.Coordinates) -> None:
    case = cast.open_case()
    first = ask(case, dedupe_key="reminder:1")
    second = ask(case, dedupe_key="reminder:1")
    assert first.pk == second.pk
    assert ContactAttempt.objects.filter(purpose="proactive").count() == 1


@pytest.mark.parametrize(
    ("value", "setting"),
    [("2 per month", "CONTACT_BUDGET"), ("0/0", "CONTACT_BUDGET"), ("25:00-09:00", "QUIET_HOURS")],
)
def test_bad_settings_stop_the_desk(value: str, setting: str, settings: Any) -> None:
    from django.core.exceptions import ImproperlyConfigured

    governor._parse_quiet.cache_clear()
    settings.POMOGU = {**settings.POMOGU, setting: value}
    with pytest.raises(ImproperlyConfigured, match=setting):
        governor.check_configuration()
