"""Surveys (R6): one per case after a resolution that stood, never repeated, skipped for the
right reasons; a link that records nothing when merely opened; a low rating reaches the lead."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client

from pomogu.cases import services as cases
from pomogu.cases.models import Case, Notification
from pomogu.contact import surveys
from pomogu.contact.models import (
    ContactPreference,
    OutboxKind,
    OutboxMessage,
    OutboxState,
    Survey,
    SurveyState,
)
from pomogu.contact.services import send_due as send_outbox
from pomogu.core.testing import Cast
from pomogu.failures.models import Failure

MOSCOW = ZoneInfo("Europe/Moscow")
MONDAY_10 = dt.datetime(2026, 11, 23, 10, 0, tzinfo=MOSCOW)


@pytest.fixture
def now() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(MONDAY_10, tick=False) as traveller:
        yield traveller


def solved(cast: Cast, case: Case | None = None, **kwargs: Any) -> Case:
    case = case or cast.open_case(**kwargs)
    cases.add_message(case.pk, actor=case.owner, body="Заменили кабель, всё должно работать.")
    return cases.resolve(case.pk, actor=case.owner, summary="Заменён кабель")


def survey_mail() -> Any:
    return OutboxMessage.objects.filter(kind=OutboxKind.SURVEY)


def test_the_survey_goes_once_after_the_resolution_stood_a_working_day(
    cast: Cast, now: time_machine.Coordinates
) -> None:
    case = solved(cast)
    survey = Survey.objects.get(case=case)
    assert survey.due_at == MONDAY_10 + dt.timedelta(days=1)
    now.shift(dt.timedelta(hours=23))
    assert surveys.send_due() == 0
    now.shift(dt.timedelta(hours=1))
    assert surveys.send_due() == 1
    survey.refresh_from_db()
    assert survey.state == SurveyState.SENT
    mail = survey_mail().get()
    assert (mail.at_most_once, mail.to_email) == (True, "dave@customer.test")
    assert f"/survey/{survey.token}/?rating=5" in mail.body
    # Reopened and solved again: never a second survey for this case.
    cases.reopen(case.pk, actor=case.owner, reason="Снова не работает")
    solved(cast, case)
    now.shift(dt.timedelta(days=3))
    assert surveys.send_due() == 0
    assert survey_mail().count() == 1


def test_a_resolution_on_friday_is_surveyed_on_monday(
    cast: Cast, now: time_machine.Coordinates
) -> None:
    now.move_to(dt.datetime(2026, 11, 27, 16, 0, tzinfo=MOSCOW))  # Friday
    case = solved(cast)
    assert Survey.objects.get(case=case).due_at == dt.datetime(2026, 11, 30, 16, 0, tzinfo=MOSCOW)


def test_a_reopen_before_the_survey_cancels_it_and_the_next_resolution_sends_one(
    cast: Cast, now: time_machine.Coordinates
) -> None:
    case = solved(cast)
    now.shift(dt.timedelta(hours=5))
    cases.reopen(case.pk, actor=case.owner, reason="Не помогло")
    assert Survey.objects.get(case=case).state == SurveyState.CANCELLED
    now.shift(dt.timedelta(days=2))
    assert surveys.send_due() == 0
    solved(cast, case)
    now.shift(dt.timedelta(days=1))
    assert surveys.send_due() == 1
    assert survey_mail().count() == 1


def test_a_reopen_withdraws_a_survey_waiting_for_the_morning(
    cast: Cast, now: time_machine.Coordinates
) -> None:
    now.move_to(dt.datetime(2026, 11, 23, 22, 0, tzinfo=MOSCOW))
    case = solved(cast)
    now.move_to(dt.datetime(2026, 11, 24, 22, 30, tzinfo=MOSCOW))
    surveys.send_due()  # due at 22:00: the governor holds it until 9:00
    survey = Survey.objects.get(case=case)
    assert survey.contact is not None
    assert survey.contact.state == "deferred"
    cases.reopen(case.pk, actor=case.owner, reason="Опять пропал интернет")
    now.move_to(dt.datetime(2026, 11, 25, 9, 30, tzinfo=MOSCOW))
    from pomogu.contact import governor

    governor.release_due()
    assert not survey_mail().exists()
    survey.refresh_from_db()
    assert survey.state == SurveyState.CANCELLED


@pytest.mark.parametrize("why", ["anger", "opted_out", "recent", "withdrawn"])
def test_skipped_for_the_right_reasons(cast: Cast, now: time_machine.Coordinates, why: str) -> None:
    from pomogu.failures.services import record

    if why == "recent":
        solved(cast, subject="Первое обращение")
        now.shift(dt.timedelta(days=1))
        surveys.send_due()
        now.shift(dt.timedelta(days=9))  # Thursday: the next survey would be due on Friday
    case = cast.open_case(subject="Нет интернета")
    cases.add_message(case.pk, actor=case.owner, body="Смотрим.")
    if why == "anger":
        record("anger", key="anger:test", case=case)
    if why == "opted_out":
        ContactPreference.objects.create(customer=cast.dave, opted_out=["survey"])
    resolution = "withdrawn" if why == "withdrawn" else "solved"
    cases.resolve(case.pk, actor=case.owner, resolution=resolution)  # type: ignore[arg-type]
    now.shift(dt.timedelta(days=1, minutes=1))
    surveys.send_due()
    survey = Survey.objects.get(case=case)
    assert survey.state == SurveyState.SKIPPED
    assert (
        survey.skip_reason
        == {
            "anger": "ended_in_anger",
            "opted_out": "opted_out",
            "recent": "surveyed_recently",
            "withdrawn": "not_solved",
        }[why]
    )
    assert survey_mail().count() == (1 if why == "recent" else 0)


def sent_survey(cast: Cast, now: time_machine.Coordinates) -> Survey:
    case = solved(cast)
    now.shift(dt.timedelta(days=1))
    surveys.send_due()
    return Survey.objects.get(case=case)


def test_opening_the_link_records_nothing_only_the_form_does(
    cast: Cast, now: time_machine.Coordinates
) -> None:
    survey = sent_survey(cast, now)
    browser = Client()
    page = browser.get(f"/survey/{survey.token}/?rating=1")
    assert page.status_code == 200
    assert re.search(r'value="1"[^>]*checked', page.content.decode())
    survey.refresh_from_db()
    assert (survey.state, survey.rating) == (SurveyState.SENT, None)  # a scanner's visit
    answer = browser.post(f"/survey/{survey.token}/", {"rating": "1", "comment": "Долго ждал"})
    assert answer.status_code == 200
    survey.refresh_from_db()
    assert (survey.state, survey.rating, survey.comment) == (SurveyState.ANSWERED, 1, "Долго ждал")
    # A low rating: the lead hears of it and it is on the register.
    assert Notification.objects.filter(kind="low_rating", recipient=cast.alice).exists()
    assert Failure.objects.get(kind="low_rating").detail["rating"] == 1
    # A second answer changes nothing.
    browser.post(f"/survey/{survey.token}/", {"rating": "5"})
    survey.refresh_from_db()
    assert survey.rating == 1


def test_a_forged_or_unknown_token_is_404(cast: Cast, now: time_machine.Coordinates) -> None:
    survey = sent_survey(cast, now)
    value, signature = survey.token.rsplit(":", 1)
    assert Client().get(f"/survey/{value}:{signature[::-1]}/").status_code == 404
    assert Client().get("/survey/nothing/").status_code == 404


def test_a_good_rating_is_only_counted(cast: Cast, now: time_machine.Coordinates) -> None:
    survey = sent_survey(cast, now)
    surveys.answer(survey.token, rating=5)
    assert not Failure.objects.filter(kind="low_rating").exists()
    assert surveys.results()["ratings"]["5"] == 1
    assert surveys.results()["average"] == 5.0


def test_a_survey_whose_sender_died_is_given_up_not_sent_twice(
    cast: Cast, now: time_machine.Coordinates
) -> None:
    sent_survey(cast, now)
    mail = survey_mail().get()
    # A sender took it and died before marking it sent (the mail may have gone out).
    OutboxMessage.objects.filter(pk=mail.pk).update(
        state=OutboxState.SENDING, claimed_until=MONDAY_10 + dt.timedelta(days=1, seconds=30)
    )
    now.shift(dt.timedelta(minutes=10))
    assert send_outbox() == 1  # the agent's reply; not the survey
    mail.refresh_from_db()
    assert mail.state == OutboxState.UNKNOWN
    assert send_outbox() == 0
