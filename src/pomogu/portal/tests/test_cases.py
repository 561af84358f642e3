"""The customer's list of cases: theirs only, in their words, with who has it, when to expect an
answer and their place in the queue; one query however many cases (AZ-1, SEC-1)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from pomogu.cases import queries as case_queries
from pomogu.cases import services as cases
from pomogu.cases.choices import CaseState, Priority
from pomogu.cases.models import Case
from pomogu.clocks.models import SlaPolicy
from pomogu.clocks.services import expected_answer_by
from pomogu.core.testing import PASSWORD, Cast
from pomogu.people import services as people
from pomogu.portal import queries
from pomogu.portal.tests.support import sign_in

MOSCOW = ZoneInfo("Europe/Moscow")
MONDAY_10 = dt.datetime(2026, 11, 23, 10, 0, tzinfo=MOSCOW)


@pytest.fixture
def now() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(MONDAY_10, tick=False) as traveller:
        yield traveller


@pytest.fixture
def sla(cast: Cast) -> SlaPolicy:
    return SlaPolicy.objects.create(
        name="support",
        team=cast.support,
        first_response_minutes=60,
        next_response_minutes=120,
        resolution_minutes=480,
    )


def page(client: Client, path: str = "/my/") -> str:
    response = client.get(path)
    assert response.status_code == 200
    return response.content.decode()


def test_my_cases_are_every_case_of_my_address_and_nobody_elses(
    cast: Cast, now: time_machine.Coordinates
) -> None:
    first = cast.open_case(subject="Router blinks red")
    now.shift(dt.timedelta(minutes=5))
    second = cast.open_case(subject="Invoice twice", team=cast.billing)
    other = cast.open_case(customer=cast.erin, subject="Erin's secret matter")

    html = page(sign_in(Client(), "Dave@Customer.test"))
    assert "Router blinks red" in html
    assert "Invoice twice" in html
    assert f"/my/cases/{first.number}/" in html
    assert f"/my/cases/{second.number}/" in html
    assert "Erin&#x27;s secret matter" not in html
    assert f"/my/cases/{other.number}/" not in html
    # Newest activity first.
    assert html.index("Invoice twice") < html.index("Router blinks red")


def test_the_list_orders_by_the_last_message_the_customer_can_see(
    cast: Cast, now: time_machine.Coordinates
) -> None:
    old = cast.open_case(subject="Old request")
    now.shift(dt.timedelta(minutes=5))
    cast.open_case(subject="Newer request")
    now.shift(dt.timedelta(minutes=5))
    client = sign_in(Client(), "dave@customer.test")
    cases.add_message(old.pk, actor=cast.alice, body="Internal: check the line", kind="note")
    assert page(client).index("Newer request") < page(client).index("Old request")
    cases.add_message(old.pk, actor=old.owner, body="We are on it.")
    assert page(client).index("Old request") < page(client).index("Newer request")


def test_each_case_says_where_it_stands_in_the_customers_words(
    cast: Cast, sla: SlaPolicy, now: time_machine.Coordinates
) -> None:
    waiting = cast.open_case(subject="Waiting one")
    cases.add_message(
        waiting.pk, actor=waiting.owner, body="Which router model?", wait_for_customer=True
    )
    solved = cast.open_case(subject="Solved one")
    cases.add_message(solved.pk, actor=solved.owner, body="Fixed.")
    cases.resolve(solved.pk, actor=solved.owner)
    fresh = cast.open_case(subject="Fresh one")

    client = sign_in(Client(), "dave@customer.test")
    html = page(client)
    assert "Waiting for your answer" in html
    assert "Solved" in html
    assert "We have your request" in html
    assert fresh.owner.display_name in html

    one = page(client, f"/my/cases/{fresh.number}/")
    assert "We have your request" in one
    assert f"Handled by</dt>\n    <dd>{fresh.owner.display_name}</dd>" in one
    # The first answer is due in 60 minutes: 11:00 Moscow time, the customer's zone by default.
    assert "Expect it by Nov. 23, 2026, 11 a.m. (MSK)" in one
    assert "Next in line" in one


def test_an_answer_past_due_says_so_and_is_sorry(
    cast: Cast, sla: SlaPolicy, now: time_machine.Coordinates
) -> None:
    case = cast.open_case(subject="Slow one")
    client = sign_in(Client(), "dave@customer.test")
    assert "Overdue, sorry" not in page(client, f"/my/cases/{case.number}/")
    now.shift(dt.timedelta(minutes=61))
    html = page(client, f"/my/cases/{case.number}/")
    assert "Overdue, sorry: we meant to answer by Nov. 23, 2026, 11 a.m. (MSK)" in html
    assert "Overdue, sorry" in page(client)
    cases.add_message(case.pk, actor=case.owner, body="Sorry for the wait, looking now.")
    assert "Overdue, sorry" not in page(client, f"/my/cases/{case.number}/")


def test_times_are_shown_in_the_customers_time_zone(
    cast: Cast, sla: SlaPolicy, now: time_machine.Coordinates
) -> None:
    cast.dave.time_zone = "Asia/Vladivostok"  # Moscow + 7 hours
    cast.dave.save(update_fields=["time_zone"])
    case = cast.open_case()
    html = page(sign_in(Client(), "dave@customer.test"), f"/my/cases/{case.number}/")
    assert "Expect it by Nov. 23, 2026, 6 p.m." in html


def test_queue_positions_follow_the_team_queue(cast: Cast, now: time_machine.Coordinates) -> None:
    frank = people.find_or_create_customer(email="frank@third.test", name="Frank")

    def opened(customer: Any, **kwargs: Any) -> Case:
        now.shift(dt.timedelta(minutes=1))
        return cast.open_case(customer=customer, **kwargs)

    dave_normal = opened(cast.dave, subject="dave normal")  # 1st normal
    erin_high = opened(cast.erin, subject="erin high")
    frank_normal = opened(frank, subject="frank normal")
    dave_open = opened(cast.dave, subject="dave open")  # answered: open, still waits for us
    erin_waiting = opened(cast.erin, subject="erin waits on herself")
    frank_billing = opened(frank, subject="frank billing", team=cast.billing)
    dave_urgent_later = opened(cast.dave, subject="dave urgent")
    frank_solved = opened(frank, subject="frank solved")

    cases.set_priority(erin_high.pk, actor=cast.alice, priority=Priority.HIGH)
    cases.set_priority(dave_urgent_later.pk, actor=cast.alice, priority=Priority.URGENT)
    for skipped in (erin_waiting, frank_billing, frank_solved):  # Billing's too: a manager
        cases.set_priority(skipped.pk, actor=cast.mallory, priority=Priority.URGENT)
    cases.add_message(dave_open.pk, actor=dave_open.owner, body="Looking into it.")
    cases.add_message(
        erin_waiting.pk, actor=erin_waiting.owner, body="Photo please?", wait_for_customer=True
    )
    cases.add_message(frank_solved.pk, actor=frank_solved.owner, body="Done.")
    cases.resolve(frank_solved.pk, actor=frank_solved.owner)

    # The team's own queue, waiting cases only: urgent, high, then normal oldest first.
    expected = [dave_urgent_later, erin_high, dave_normal, frank_normal, dave_open]
    team = case_queries.team_queue(cast.support.pk, states=(CaseState.NEW, CaseState.OPEN))
    assert list(team) == expected

    positions = dict(
        queries.cases_of([cast.dave, cast.erin, frank]).values_list("subject", "queue_position")
    )
    assert positions == {
        "dave urgent": 1,
        "erin high": 2,
        "dave normal": 3,
        "frank normal": 4,
        "dave open": 5,
        "erin waits on herself": None,
        "frank billing": 1,  # first in Billing's queue
        "frank solved": None,
    }

    html = page(sign_in(Client(), "dave@customer.test"))
    assert "Next in line" in html
    assert "Number 3 in our team's queue" in html
    assert "Number 5 in our team's queue" in html


def test_equal_priority_and_time_are_settled_by_the_id(
    cast: Cast, now: time_machine.Coordinates
) -> None:
    first = cast.open_case(subject="same moment 1")
    second = cast.open_case(subject="same moment 2", customer=cast.erin)
    assert first.created_at == second.created_at
    positions = dict(queries.cases_of([cast.dave, cast.erin]).values_list("pk", "queue_position"))
    assert positions == {first.pk: 1, second.pk: 2}


def test_the_list_answers_as_the_clocks_do(
    cast: Cast, sla: SlaPolicy, now: time_machine.Coordinates
) -> None:
    fresh = cast.open_case()
    answered = cast.open_case()
    cases.add_message(answered.pk, actor=answered.owner, body="On it.")
    cases.add_customer_message(answered.pk, customer=cast.dave, body="Still broken.")
    waiting = cast.open_case()
    cases.add_message(waiting.pk, actor=waiting.owner, body="Model?", wait_for_customer=True)
    listed = {case.pk: case.answer_due for case in queries.cases_of([cast.dave])}
    for case in (fresh, answered, waiting):
        assert listed[case.pk] == expected_answer_by(case)
    assert listed[waiting.pk] is None
    assert listed[fresh.pk] is not None


def test_the_list_takes_the_same_queries_for_one_case_or_many(
    cast: Cast, sla: SlaPolicy, django_assert_max_num_queries: Any
) -> None:
    cast.open_case(subject="only one")
    client = sign_in(Client(), "dave@customer.test")
    client.get("/my/")  # warm up the session
    with CaptureQueriesContext(connection) as one:
        assert client.get("/my/").status_code == 200
    for n in range(8):
        case = cast.open_case(subject=f"more {n}", team=cast.billing if n % 2 else None)
        cases.add_message(case.pk, actor=case.owner, body="Answer")
    # The session, the customer, and the cases with everything shown about them.
    with django_assert_max_num_queries(len(one.captured_queries)) as many:
        html = page(client)
    assert html.count('class="card"') == 9
    assert len(many.captured_queries) <= 3


def test_another_customers_case_is_a_404_like_a_case_that_does_not_exist(
    cast: Cast, erin_client: Client
) -> None:
    daves = cast.open_case(subject="Dave's private matter")
    erins = cast.open_case(customer=cast.erin)
    missing = (Case.objects.order_by("-number").values_list("number", flat=True)[0] or 0) + 1
    assert erin_client.get(f"/my/cases/{erins.number}/").status_code == 200
    foreign = erin_client.get(f"/my/cases/{daves.number}/")
    nothing = erin_client.get(f"/my/cases/{missing}/")
    assert foreign.status_code == nothing.status_code == 404
    assert foreign.content == nothing.content
    assert "private matter" not in foreign.content.decode()
    for path in ("reply", "rating"):
        for number in (daves.number, missing):
            answer = erin_client.post(f"/my/cases/{number}/{path}/", {"body": "hi", "rating": 1})
            assert answer.status_code == 404
    assert daves.messages.count() == 1
    for number in ("99999999999999999999999999", "0", "-1", "abc"):
        assert erin_client.get(f"/my/cases/{number}/").status_code == 404


def test_a_staff_session_alone_opens_no_portal_page(cast: Cast, client: Client) -> None:
    case = cast.open_case()
    for user in ("bob", "mallory", "root"):
        assert client.login(username=user, password=PASSWORD)
        response = client.get(f"/my/cases/{case.number}/")
        assert (response.status_code, response["Location"]) == (302, "/my/")
        assert 'name="email"' in page(client)  # the sign-in form, no case list
        assert case.subject not in page(client)
        assert client.post(f"/my/cases/{case.number}/reply/", {"body": "x"}).status_code == 302
    assert case.messages.count() == 1


def test_signed_out_every_case_address_goes_to_the_same_sign_in_page(
    cast: Cast, client: Client
) -> None:
    case = cast.open_case()
    for number in (case.number, case.number + 1000):
        response = client.get(f"/my/cases/{number}/")
        assert (response.status_code, response["Location"]) == (302, "/my/")
        attachment = client.get(f"/my/cases/{number}/attachments/1/")
        assert (attachment.status_code, attachment["Location"]) == (302, "/my/")
