"""The API of R6 and R7: contacts through the governor, preferences, surveys, the reply guard
on agents' replies (422 with the phrases and a better wording; an override is recorded)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from pomogu.cases.choices import EventKind
from pomogu.cases.models import Message, TimelineEvent
from pomogu.contact.models import ContactAttempt, GuardPhrase, OutboxKind, OutboxMessage
from pomogu.core.testing import Cast
from pomogu.failures.models import Failure

TUESDAY_11 = dt.datetime(2026, 11, 24, 11, 0, tzinfo=ZoneInfo("Europe/Moscow"))


@pytest.fixture(autouse=True)
def now() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(TUESDAY_11, tick=False) as traveller:
        yield traveller


def test_a_check_in_with_no_case_is_refused_with_a_reason_and_kept(api: Any, cast: Cast) -> None:
    response = api("mallory").post(
        "/contacts",
        json={
            "purpose": "check_in",
            "customer_id": cast.dave.pk,
            "subject": "Как дела?",
            "body": "Всё ли в порядке?",
        },
    )
    assert response.status_code == 422, response.content
    body = response.json()
    assert (body["state"], body["decision"]) == ("refused", "no_purpose")
    assert "no case or incident" in body["decision_text"]
    listed = api("mallory").get(f"/contacts?customer_id={cast.dave.pk}&state=refused").json()
    assert [item["id"] for item in listed["items"]] == [body["id"]]
    assert not OutboxMessage.objects.exists()


def test_a_contact_about_a_case_is_made_or_deferred(api: Any, cast: Cast, now: Any) -> None:
    case = cast.open_case()
    payload = {
        "purpose": "proactive",
        "case_id": case.pk,
        "reason": "Роутер отремонтирован",
        "subject": "Роутер готов",
        "body": "Здравствуйте! Ваш роутер готов, можно забрать в любой день.",
    }
    made = api("bob").post("/contacts", json=payload)
    assert made.status_code == 201, made.content
    assert (
        OutboxMessage.objects.get(case=case, kind=OutboxKind.NOTIFICATION).subject == "Роутер готов"
    )
    now.move_to(TUESDAY_11.replace(hour=23))
    deferred = api("bob").post("/contacts", json={**payload, "purpose": "appointment"})
    assert deferred.status_code == 202
    assert deferred.json()["due_at"].startswith("2026-11-25T06:00:00")  # 09:00 in Moscow
    # Somebody else's customer, with no case they can see: 404.
    other = api("carol").post("/contacts", json=payload)
    assert other.status_code == 404


def test_only_a_manager_contacts_without_a_case(api: Any, cast: Cast) -> None:
    cast.open_case()
    payload = {
        "purpose": "incident",
        "customer_id": cast.dave.pk,
        "incident": "INC-42",
        "subject": "Авария на линии",
        "body": "Сейчас нет связи в вашем районе; чиним, ожидаем к 15:00.",
    }
    assert api("bob").post("/contacts", json=payload).status_code == 403
    assert api("mallory").post("/contacts", json=payload).status_code == 201


def test_preferences_are_read_and_set(api: Any, cast: Cast) -> None:
    cast.open_case()
    path = f"/customers/{cast.dave.pk}/contact-preferences"
    assert api("bob").get(path).json() == {
        "customer_id": cast.dave.pk,
        "channels": [],
        "opted_out": [],
    }
    changed = api("bob").put(path, json={"channels": ["email"], "opted_out": ["survey"]})
    assert changed.json()["opted_out"] == ["survey"]
    assert api("bob").put(path, json={"opted_out": ["spam"]}).status_code == 422


BRUSH_OFF = "Это не моя компетенция, звоните в бухгалтерию."


def test_a_brush_off_reply_is_stopped_with_the_phrase_and_a_suggestion(
    api: Any, cast: Cast
) -> None:
    case = cast.open_case()
    response = api("bob").post(f"/cases/{case.pk}/messages", json={"body": BRUSH_OFF})
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["error"] == "reply_guard"
    found = " ".join(finding["text"] for finding in body["findings"]).lower()
    assert "не моя компетенция" in found
    assert body["suggestion"]
    assert not Message.objects.filter(case=case, kind="reply").exists()
    assert not OutboxMessage.objects.filter(case=case, kind=OutboxKind.REPLY).exists()


def test_sent_anyway_with_a_reason_is_sent_and_recorded(api: Any, cast: Cast) -> None:
    case = cast.open_case()
    response = api("bob").post(
        f"/cases/{case.pk}/messages",
        json={"body": BRUSH_OFF, "override_reason": "Клиент сам просил телефон бухгалтерии"},
    )
    assert response.status_code == 201, response.content
    assert OutboxMessage.objects.filter(case=case, kind=OutboxKind.REPLY).count() == 1
    failure = Failure.objects.get(kind="guard_overridden")
    assert failure.person == cast.bob
    assert failure.detail["reason"] == "Клиент сам просил телефон бухгалтерии"
    event = TimelineEvent.objects.get(case=case, kind=EventKind.GUARD_OVERRIDDEN)
    assert event.data["phrases"]


def test_a_neutral_reply_passes(api: Any, cast: Cast) -> None:
    case = cast.open_case()
    response = api("bob").post(
        f"/cases/{case.pk}/messages",
        json={"body": "Я передал ваш вопрос в бухгалтерию, они позвонят вам до 15:00 сегодня."},
    )
    assert response.status_code == 201, response.content
    assert not Failure.objects.filter(kind="guard_overridden").exists()


def test_a_note_is_not_guarded(api: Any, cast: Cast) -> None:
    case = cast.open_case()
    response = api("bob").post(
        f"/cases/{case.pk}/messages", json={"body": BRUSH_OFF, "kind": "note"}
    )
    assert response.status_code == 201


def test_an_installations_own_phrase_is_guarded_in_its_forms(api: Any, cast: Cast) -> None:
    case = cast.open_case()
    reply = "Замена кабеля — это платные услуги, стоимость 500 рублей."
    assert api("bob").post("/guard/check", json={"text": reply}).json()["flagged"] is False
    added = api("root").post("/guard/phrases", json={"text": "платная услуга"})
    assert added.status_code == 201, added.content
    assert api("bob").post("/guard/phrases", json={"text": "что-то ещё"}).status_code == 403
    response = api("bob").post(f"/cases/{case.pk}/messages", json={"body": reply})
    assert response.status_code == 422, response.content
    assert response.json()["findings"][0]["text"] == "платные услуги"  # another form of it
    phrase = GuardPhrase.objects.get()
    assert api("root").delete(f"/guard/phrases/{phrase.pk}").status_code == 204
    assert api("bob").post(f"/cases/{case.pk}/messages", json={"body": reply}).status_code == 201


def test_the_acknowledgement_texts_pass_the_guard() -> None:
    """Our own templates pass the guard they impose on agents (R7)."""
    from django.utils import translation

    from pomogu.contact.guard import check

    for language in ("ru", "en"):
        with translation.override(language):
            from django.utils.translation import gettext as _

            lines = [
                _("Thank you for writing. Your request is case number %(number)s.") % {"number": 7},
                _("%(team)s has it, and %(owner)s is responsible for it until it is solved.")
                % {"team": "Support", "owner": "Bob"},
                _(
                    "You wrote to %(address)s; we passed your message on ourselves, so there is "
                    "nothing more you need to do."
                )
                % {"address": "sales@desk.test"},
                _("You will have an answer within %(hours)s working hours.") % {"hours": 8},
                _("To add anything, just reply to this message."),
                _("We are sorry: we did not keep our appointment of %(when)s.") % {"when": "x"},
                _("If that time does not suit you, reply to this message with one that does."),
            ]
        result = check("\n".join(lines))
        assert not result.flagged, (language, result.findings)


def test_survey_results_for_managers(api: Any, cast: Cast) -> None:
    response = api("mallory").get("/surveys/results")
    assert response.status_code == 200
    assert response.json()["sent"] == 0
    assert ContactAttempt.objects.count() == 0
