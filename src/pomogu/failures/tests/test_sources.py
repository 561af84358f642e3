"""Failures recorded where they happen (R8): anger, reopenings, misroutes, with the case's team
and the person answerable; once each."""

from __future__ import annotations

from pomogu.cases import services as cases
from pomogu.cases.choices import Resolution
from pomogu.core.testing import Cast
from pomogu.failures.models import Failure
from pomogu.triage import services as triage

ANGRY = "Вы там совсем о#уели?! Третий день без интернета, п.и.з.д.е.ц. Ухожу к конкурентам!"


def test_an_angry_message_is_a_failure_once(cast: Cast) -> None:
    case = cast.open_case(body=ANGRY)
    failure = Failure.objects.get(kind="anger")
    assert failure.case == case
    assert failure.team == cast.support
    assert failure.money_at_risk > 0
    cases.add_customer_message(case.pk, customer=cast.dave, body="Спасибо, всё заработало.")
    assert Failure.objects.filter(kind="anger").count() == 1  # the calm message adds nothing


def test_a_reopened_case_is_a_failure_of_its_resolver(cast: Cast) -> None:
    case = cast.open_case()
    owner = case.owner
    cases.add_message(case.pk, actor=owner, body="Перезагрузили порт.")
    cases.resolve(case.pk, actor=owner, resolution=Resolution.SOLVED, summary="Порт")
    cases.add_customer_message(case.pk, customer=cast.dave, body="Опять не работает.")
    failure = Failure.objects.get(kind="reopened")
    assert failure.person == owner
    assert failure.case == case


def test_a_corrected_routing_is_a_misroute(cast: Cast) -> None:
    cast.support.keywords = "Не работает интернет\nРоутер не раздаёт Wi-Fi\nInternet is down"
    cast.support.save()
    cast.billing.keywords = "Неверный счёт\nВерните деньги\nWe were charged twice"
    cast.billing.save()
    triage.train(reason="test")
    case = cases.open_case(
        customer=cast.dave, team=None, subject="Интернет", body="Не работает интернет с утра"
    )
    assert case.team == cast.support
    cases.move_to_team(case.pk, actor=cast.alice, team=cast.billing, reason="это про оплату")
    failure = Failure.objects.get(kind="misrouted")
    assert failure.team == cast.support
    assert failure.person == cast.alice
    cases.move_to_team(case.pk, actor=cast.carol, team=cast.support, reason="нет, техника")
    assert Failure.objects.filter(kind="misrouted").count() == 1
