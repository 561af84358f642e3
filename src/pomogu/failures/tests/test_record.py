"""services.record: each failure once, inside its caller's transaction, with money at risk."""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.core.exceptions import ImproperlyConfigured
from django.db import connections, transaction

from pomogu.core.testing import Cast
from pomogu.failures import services
from pomogu.failures.models import Failure, FailureKind
from pomogu.failures.tests.helpers import at, fail


def test_record_takes_team_owner_and_time_from_the_case_and_the_clock(cast: Cast) -> None:
    case = cast.open_case()
    with time_machine.travel(at(20, 15), tick=False):
        failure = services.record(
            FailureKind.SLA_FIRST_RESPONSE,
            key=f"deadline:{case.pk}:breach",
            case=case,
            minutes_lost=42,
            detail={"target": "first_response", "due_at": at(20, 14), "late_by_minutes": 42},
        )
    assert failure is not None
    stored = Failure.objects.get(pk=failure.pk)
    assert stored.team == cast.support
    assert stored.person == case.owner
    assert stored.occurred_at == at(20, 15)
    assert stored.minutes_lost == 42
    assert stored.detail["due_at"].startswith("2026-11-20T14:00:00")
    assert f"#{case.number}" in stored.summary


def test_explicit_team_and_person_win_over_the_case(cast: Cast) -> None:
    case = cast.open_case()
    failure = fail(
        case,
        FailureKind.HANDOFF_DECLINED,
        key="handoff:1:declined",
        team=cast.billing,
        person=cast.carol,
        summary="Billing declined the case",
    )
    failure.refresh_from_db()
    assert (failure.team, failure.person) == (cast.billing, cast.carol)
    assert failure.summary == "Billing declined the case"


def test_the_same_key_records_once_and_changes_nothing(cast: Cast) -> None:
    case = cast.open_case()
    first = fail(case, key="deadline:17:breach", minutes=10)
    second = services.record(
        FailureKind.SLA_RESOLUTION, key="deadline:17:breach", case=case, minutes_lost=999
    )
    assert second is None
    assert Failure.objects.count() == 1
    stored = Failure.objects.get()
    assert (stored.pk, stored.kind, stored.minutes_lost) == (first.pk, "sla_first_response", 10)


def test_record_many_records_each_new_key_once_in_one_insert(cast: Cast) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    case = cast.open_case()
    fail(case, key="deadline:1:breach")
    drafts = [
        services.draft(FailureKind.SLA_RESOLUTION, key=key, case=case, minutes_lost=5)
        for key in ("deadline:1:breach", "deadline:2:breach", "deadline:3:breach")
    ]
    drafts.append(services.draft(FailureKind.SLA_RESOLUTION, key="deadline:2:breach", case=case))
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        recorded = services.record_many(drafts)
    assert [failure.key for failure in recorded] == ["deadline:2:breach", "deadline:3:breach"]
    assert all(failure.pk for failure in recorded)
    inserts = [q for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == 1
    assert Failure.objects.filter(key="deadline:1:breach").get().kind == "sla_first_response"
    assert Failure.objects.count() == 3


def test_a_lost_race_in_a_batch_still_records_the_others(
    cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = cast.open_case()
    fail(case, key="deadline:8:breach")
    # The check before the insert missed deadline:8 (another transaction was committing it):
    # the batch insert fails, and one by one the others are still recorded.
    real = services._recorded_keys
    calls: list[list[str]] = []

    def recorded_keys(keys: list[str]) -> set[str]:
        calls.append(list(keys))
        return set() if len(calls) == 1 else real(keys)

    monkeypatch.setattr(services, "_recorded_keys", recorded_keys)
    drafts = [
        services.draft(FailureKind.SLA_RESOLUTION, key=f"deadline:{n}:breach", case=case)
        for n in (7, 8, 9)
    ]
    with transaction.atomic():
        recorded = services.record_many(drafts)
    assert [failure.key for failure in recorded] == ["deadline:7:breach", "deadline:9:breach"]
    assert calls[1] == ["deadline:8:breach"]  # the one-by-one insert that lost asked again
    assert Failure.objects.count() == 3


def test_failure_disappears_when_its_callers_transaction_rolls_back(cast: Cast) -> None:
    case = cast.open_case()
    recorded: list[Failure | None] = []

    def callers_change() -> None:
        with transaction.atomic():
            recorded.append(services.record(FailureKind.ANGER, key="anger:msg:88", case=case))
            raise RuntimeError("the caller's change failed")

    with pytest.raises(RuntimeError, match="change failed"):
        callers_change()
    assert isinstance(recorded[0], Failure)
    assert not Failure.objects.filter(key="anger:msg:88").exists()
    # Rolled back, the failure is not "already recorded": the next attempt records it.
    assert services.record(FailureKind.ANGER, key="anger:msg:88", case=case) is not None


def test_losing_the_race_for_a_key_leaves_the_callers_transaction_usable(
    cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = cast.open_case()
    fail(case, key="handoff:5:timed_out")
    # Another transaction inserted the key after our check: the check says "not yet", the
    # insert hits the unique constraint, the check after it says "yes".
    answers = iter([set(), {"handoff:5:timed_out"}])
    monkeypatch.setattr(services, "_recorded_keys", lambda keys: next(answers))
    with transaction.atomic():
        assert services.record(FailureKind.HANDOFF_TIMED_OUT, key="handoff:5:timed_out") is None
        monkeypatch.undo()
        # On PostgreSQL an unhandled IntegrityError would abort the whole transaction here.
        fail(case, key="after-the-race")
    assert set(Failure.objects.values_list("key", flat=True)) == {
        "handoff:5:timed_out",
        "after-the-race",
    }


def _race(*actions: Callable[[], Any]) -> list[Any]:
    barrier = threading.Barrier(len(actions))
    results: list[Any] = [None] * len(actions)

    def run(index: int, action: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = action()
        except Exception as error:  # reported in the assertion below
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


@pytest.mark.django_db(transaction=True)
def test_two_workers_finding_one_failure_at_once_record_it_once(cast: Cast) -> None:
    case = cast.open_case()

    def worker(name: str) -> Failure | None:
        with transaction.atomic():
            failure = services.record(
                FailureKind.SLA_RESOLUTION, key="deadline:9:breach", case=case
            )
            # The worker's own work goes on in the same transaction either way.
            services.record(FailureKind.REOPENED, key=f"side:{name}", case=case)
            return failure

    results = _race(lambda: worker("a"), lambda: worker("b"))
    assert sum(isinstance(r, Failure) for r in results) == 1, results
    assert sum(r is None for r in results) == 1, results
    assert Failure.objects.filter(key="deadline:9:breach").count() == 1
    assert Failure.objects.filter(key__startswith="side:").count() == 2


def test_money_at_risk_is_the_tier_value_times_the_kinds_share(cast: Cast) -> None:
    cast.erin.tier = "vip"
    cast.erin.save()
    vip_case = cast.open_case(customer=cast.erin)
    standard_case = cast.open_case()
    assert fail(vip_case, FailureKind.ANGER, key="a").money_at_risk == Decimal("2000.00")
    assert fail(standard_case, FailureKind.ANGER, key="b").money_at_risk == Decimal("200.00")
    left = fail(standard_case, FailureKind.CUSTOMER_LEFT, key="c")
    assert left.money_at_risk == Decimal("1000.00")
    sla = fail(vip_case, FailureKind.SLA_FIRST_RESPONSE, key="d")
    assert Failure.objects.get(pk=sla.pk).money_at_risk == Decimal("500.00")


def test_an_organisations_yearly_value_wins_over_the_tier(cast: Cast) -> None:
    from pomogu.people.models import Organisation

    cast.erin.tier = "vip"
    cast.erin.organisation = Organisation.objects.create(name="ООО Ромашка", value=250_000)
    cast.erin.save()
    valued = cast.open_case(customer=cast.erin)
    assert fail(valued, FailureKind.ANGER, key="a").money_at_risk == Decimal("50000.00")
    # An organisation without a value set (0) leaves the customer's tier in charge.
    cast.erin.organisation = Organisation.objects.create(name="ИП Петров")
    cast.erin.save()
    unvalued = cast.open_case(customer=cast.erin)
    assert fail(unvalued, FailureKind.ANGER, key="b").money_at_risk == Decimal("2000.00")


def test_an_unknown_tier_counts_as_standard_and_no_case_risks_nothing(cast: Cast) -> None:
    cast.dave.tier = "gold"
    cast.dave.save()
    case = cast.open_case()
    assert fail(case, FailureKind.CUSTOMER_LEFT, key="a").money_at_risk == Decimal("1000.00")
    orphan = fail(None, FailureKind.ESCALATION_UNACKNOWLEDGED, key="b", team=cast.support)
    assert orphan.money_at_risk == Decimal("0.00")
    assert orphan.team == cast.support
    assert orphan.person is None


def test_tier_values_and_shares_come_from_the_settings(cast: Cast, settings: Any) -> None:
    settings.POMOGU = {
        **settings.POMOGU,
        "TIER_VALUES": '{"standard": 500, "vip": 50000}',
        "FAILURE_RISK_SHARE": '{"reopened": 0.5}',
    }
    case = cast.open_case()
    assert fail(case, FailureKind.REOPENED, key="a").money_at_risk == Decimal("250.00")
    # Kinds the setting does not name keep their default share.
    assert fail(case, FailureKind.ANGER, key="b").money_at_risk == Decimal("100.00")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TIER_VALUES", "{not json"),
        ("TIER_VALUES", "[1000]"),
        ("TIER_VALUES", '{"vip": -5}'),
        ("TIER_VALUES", '{"vip": true}'),
        ("FAILURE_RISK_SHARE", '{"angry": 0.2}'),
        ("FAILURE_RISK_SHARE", '{"anger": 1.5}'),
    ],
)
def test_bad_money_settings_fail_loudly(settings: Any, name: str, value: str) -> None:
    settings.POMOGU = {**settings.POMOGU, name: value}
    with pytest.raises(ImproperlyConfigured, match=f"POMOGU_{name}"):
        services.check_configuration()


def test_record_refuses_an_unknown_kind_a_naive_time_and_a_bad_key(cast: Cast) -> None:
    import datetime as dt

    case = cast.open_case()
    with pytest.raises(ValueError, match="no_such_kind"):
        services.record("no_such_kind", key="x", case=case)
    with pytest.raises(ValueError, match="timezone-aware"):
        services.record(FailureKind.ANGER, key="x", case=case, at=dt.datetime(2026, 11, 20))
    with pytest.raises(ValueError, match="1 to 200"):
        services.record(FailureKind.ANGER, key="k" * 201, case=case)
    with pytest.raises(ValueError, match="negative"):
        services.record(FailureKind.ANGER, key="x", case=case, minutes_lost=-1)
    assert not Failure.objects.exists()


def test_summarise_adds_up_by_team_and_kind(cast: Cast) -> None:
    support_case = cast.open_case()
    billing_case = cast.open_case(team=cast.billing, customer=cast.erin)
    fail(support_case, FailureKind.SLA_FIRST_RESPONSE, key="a", minutes=30)
    fail(support_case, FailureKind.SLA_FIRST_RESPONSE, key="b", minutes=15)
    fail(support_case, FailureKind.ANGER, key="c")
    fail(billing_case, FailureKind.CUSTOMER_LEFT, key="d", minutes=5)

    rows = services.summarise(Failure.objects.all())
    assert [(r["team_slug"], r["kind"], r["count"], r["minutes_lost"]) for r in rows] == [
        ("billing", "customer_left", 1, 5.0),
        ("support", "anger", 1, 0.0),
        ("support", "sla_first_response", 2, 45.0),
    ]
    assert rows[2]["money_at_risk"] == Decimal("100.00")
    assert services.totals(rows) == {
        "count": 4,
        "minutes_lost": 50.0,
        "money_at_risk": Decimal("1300.00"),
    }


def test_summarise_by_week_starts_weeks_on_monday_in_the_desks_time_zone(cast: Cast) -> None:
    import datetime as dt

    case = cast.open_case()
    fail(case, key="sun", when=at(22, 23))  # Sunday 22 November, 23:00 in Moscow
    fail(case, key="mon", when=at(23, 1))  # Monday 23 November, 01:00 (Sunday 22:00 UTC)
    fail(case, key="tue", when=at(24, 9))
    rows = services.summarise(Failure.objects.all(), by=["week"])
    assert [(r["week"], r["count"]) for r in rows] == [
        (dt.date(2026, 11, 16), 1),
        (dt.date(2026, 11, 23), 2),
    ]
    with pytest.raises(ValueError, match="summarise by"):
        services.summarise(Failure.objects.all(), by=["month"])
