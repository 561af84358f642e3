"""``pomogu report``: failures by team and kind for a period, and the customer's effort."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError

from pomogu.cases import services as cases
from pomogu.core.testing import Cast
from pomogu.failures.models import FailureKind
from pomogu.failures.tests.helpers import at, fail


def report(*args: str) -> list[str]:
    out = io.StringIO()
    call_command("report", *args, stdout=out)
    return out.getvalue().splitlines()


def cells(lines: list[str], first: str) -> list[str]:
    """The cells of the first line that starts with ``first``."""
    line = next(line for line in lines if line.startswith(first))
    return re.split(r"\s{2,}", line.strip())


@pytest.fixture
def week(cast: Cast) -> Cast:
    """The week of 16–22 November 2026: two cases opened, four failures; more outside it."""
    with time_machine.travel(at(18, 10), tick=False):
        broadband = cast.open_case()
        cases.add_customer_message(broadband.pk, customer=cast.dave, body="Ну что там?")
        cases.add_customer_message(broadband.pk, customer=cast.dave, body="Алло!")
        cases.request_handoff(
            broadband.pk, actor=broadband.owner, to_team=cast.billing, reason="Это про счёт"
        )
        invoice = cast.open_case(team=cast.billing, customer=cast.erin, subject="Счёт")
    with time_machine.travel(at(10), tick=False):
        cast.open_case(subject="Old case")
    fail(broadband, key="a", when=at(18), minutes=90)
    fail(broadband, key="b", when=at(22, 23), minutes=30)  # Sunday, late evening
    fail(broadband, FailureKind.ANGER, key="c", when=at(20))
    fail(invoice, FailureKind.CUSTOMER_LEFT, key="d", when=at(21))
    fail(broadband, FailureKind.REOPENED, key="before", when=at(15, 23))
    fail(invoice, FailureKind.REOPENED, key="after", when=at(23, 0))  # Monday, midnight
    return cast


def test_report_adds_up_failures_by_team_and_kind_for_the_period(week: Cast) -> None:
    lines = report("--since", "2026-11-16", "--until", "2026-11-22")
    assert lines[0] == "Failures of service, 2026-11-16 to 2026-11-22"
    assert cells(lines, "Team") == ["Team", "Failure", "Count", "Hours lost", "Money at risk"]
    assert cells(lines, "Billing") == ["Billing", "Customer left", "1", "0.0", "1 000.00"]
    assert cells(lines, "Technical support  Customer driven") == [
        "Technical support",
        "Customer driven to anger",
        "1",
        "0.0",
        "200.00",
    ]
    assert cells(lines, "Technical support  First response") == [
        "Technical support",
        "First response deadline missed",
        "2",
        "2.0",
        "100.00",
    ]
    assert cells(lines, "Total") == ["Total", "4", "2.0", "1 300.00"]
    assert not any("reopened" in line for line in lines)
    # An aligned table: the right-aligned numbers end in the same column on every line.
    table = lines[2 : next(i for i, line in enumerate(lines) if line.startswith("Total")) + 1]
    assert len({len(line) for line in table}) == 1, table


def test_report_shows_customer_effort_per_team_for_cases_opened_in_the_period(
    week: Cast,
) -> None:
    lines = report("--since", "2026-11-16", "--until", "2026-11-22")
    start = lines.index("Customer effort (cases opened in the period)")
    effort = lines[start:]
    assert cells(effort, "Team") == ["Team", "Cases", "Contacts per case", "Handoffs per case"]
    assert cells(effort, "Billing") == ["Billing", "1", "1.00", "0.00"]
    # The old case opened on the 10th is not counted: one case, three messages, one handoff.
    assert cells(effort, "Technical support") == ["Technical support", "1", "3.00", "1.00"]


def test_report_defaults_to_the_last_seven_days(week: Cast) -> None:
    with time_machine.travel(at(25, 9), tick=False):
        lines = report()
    assert lines[0] == "Failures of service, 2026-11-19 to 2026-11-25"
    # 20th (anger), 21st (left), 22nd (late), 23rd (reopened); not the 18th nor the 15th.
    assert cells(lines, "Total") == ["Total", "4", "0.5", "1 350.00"]
    assert any(line.startswith("No cases opened in this period.") for line in lines)


def test_report_for_one_team_by_week(week: Cast) -> None:
    lines = report("--since", "2026-11-09", "--until", "2026-11-29", "--team", "support")
    assert cells(lines, "Total") == ["Total", "4", "2.0", "400.00"]
    lines = report(
        "--since", "2026-11-09", "--until", "2026-11-29", "--team", "support", "--by", "week"
    )
    assert cells(lines, "Week of") == ["Week of", "Count", "Hours lost", "Money at risk"]
    assert cells(lines, "2026-11-09") == ["2026-11-09", "1", "0.0", "100.00"]
    assert cells(lines, "2026-11-16") == ["2026-11-16", "3", "2.0", "300.00"]
    assert not any(line.startswith("2026-11-23") for line in lines)
    assert not any(line.startswith("Billing") for line in lines)


def test_report_by_kind_says_when_there_is_nothing(cast: Cast) -> None:
    lines = report("--since", "2026-01-01", "--until", "2026-01-31", "--by", "kind")
    assert cells(lines, "Total") == ["Total", "0", "0.0", "0.00"]
    assert "No failures in this period." in lines


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--team", "nobody"], "no team"),
        (["--since", "2026-11-22", "--until", "2026-11-16"], "--until"),
        (["--since", "22.11.2026"], "not a date"),
    ],
)
def test_report_refuses_bad_arguments(cast: Cast, args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        report(*args)


def test_report_adds_the_surveys_of_the_period(cast: Cast) -> None:
    from pomogu.contact import surveys

    with time_machine.travel(at(17, 10), tick=False) as traveller:
        for rating in (5, 2):
            customer = cast.erin if rating == 2 else cast.dave
            case = cast.open_case(customer=customer)
            cases.add_message(case.pk, actor=case.owner, body="Починили.")
            cases.resolve(case.pk, actor=case.owner)
        traveller.shift(dt.timedelta(days=1))
        surveys.send_due()
        for survey in surveys.Survey.objects.all():
            surveys.answer(survey.token, rating=2 if survey.customer == cast.erin else 5)
    lines = report("--since", "2026-11-16", "--until", "2026-11-22")
    assert "Surveys: 2 sent, 2 answered, average rating 3.50" in lines
