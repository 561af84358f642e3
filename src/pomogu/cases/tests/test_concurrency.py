"""Two people acting on one case at the same moment, each on their own database connection:
the row lock (PostgreSQL) or the write lock (SQLite) lets exactly one of them win."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connections

from pomogu.cases import services
from pomogu.cases.choices import HandoffState
from pomogu.cases.models import Case, Handoff, TimelineEvent
from pomogu.core.errors import DomainError
from pomogu.core.testing import Cast
from pomogu.people import services as people


def race(*actions: Callable[[], Any]) -> list[Any]:
    """Run the actions in threads released together; return each result or exception."""
    barrier = threading.Barrier(len(actions))
    results: list[Any] = [None] * len(actions)

    def run(index: int, action: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = action()
        except Exception as error:  # the loser's refusal is the point of the test
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
def test_two_people_accepting_one_handoff_give_it_one_owner(cast: Cast) -> None:
    frank = people.create_staff("frank", name="Frank Billing")
    people.add_member(cast.billing, frank)
    case = cast.open_case()
    handoff = services.request_handoff(
        case.pk, actor=case.owner, to_team=cast.billing, reason="Счёт"
    )
    results = race(
        lambda: services.accept_handoff(handoff.pk, actor=cast.carol),
        lambda: services.accept_handoff(handoff.pk, actor=frank),
    )
    refusals = [r for r in results if isinstance(r, DomainError)]
    winners = [r for r in results if isinstance(r, Handoff)]
    assert len(winners) == 1, results
    assert len(refusals) == 1, results
    assert refusals[0].code == "handoff_closed"
    case.refresh_from_db()
    assert case.owner == winners[0].decided_by
    assert TimelineEvent.objects.filter(case=case, kind="handoff_accepted").count() == 1
    assert Handoff.objects.get(pk=handoff.pk).state == HandoffState.ACCEPTED


@pytest.mark.django_db(transaction=True)
def test_two_handoff_requests_at_once_leave_one_waiting(cast: Cast) -> None:
    case = cast.open_case()
    services.assign(case.pk, actor=cast.alice, to_user=cast.alice)
    results = race(
        lambda: services.request_handoff(
            case.pk, actor=cast.alice, to_team=cast.billing, reason="a"
        ),
        lambda: services.request_handoff(
            case.pk, actor=cast.alice, to_team=cast.billing, reason="b"
        ),
    )
    assert sum(isinstance(r, Handoff) for r in results) == 1, results
    assert Handoff.objects.filter(case=case, state=HandoffState.REQUESTED).count() == 1
    assert Case.objects.get(pk=case.pk).owner == cast.alice
