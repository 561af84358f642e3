"""The case state machine: every legal move works, every other move is refused (R2)."""

from __future__ import annotations

import itertools

import pytest

from pomogu.cases import services
from pomogu.cases.choices import TRANSITIONS, CaseState, MessageKind, Resolution
from pomogu.cases.models import Case
from pomogu.core.errors import DomainError, InvalidTransition
from pomogu.core.testing import Cast

ALL = [s.value for s in CaseState]


def bring_to(cast: Cast, state: str) -> Case:
    """A case in ``state``, reached through services only."""
    case = cast.open_case()
    owner = case.owner
    if state == CaseState.NEW:
        return case
    services.add_message(case.pk, actor=owner, body="Разбираемся.")
    if state == CaseState.WAITING_CUSTOMER:
        services.set_state(case.pk, actor=owner, state=CaseState.WAITING_CUSTOMER)
    elif state == CaseState.WAITING_CONTRACTOR:
        services.add_contractor_task(
            case.pk, actor=owner, contractor="ООО Связь", description="Проверить линию"
        )
    elif state in (CaseState.RESOLVED, CaseState.CLOSED):
        services.resolve(case.pk, actor=owner)
        if state == CaseState.CLOSED:
            services.close(case.pk, actor=owner)
    case.refresh_from_db()
    assert case.state == state
    return case


def attempt(case: Case, to: str) -> None:
    owner = case.owner
    if to == CaseState.WAITING_CONTRACTOR:
        services.add_contractor_task(
            case.pk, actor=owner, contractor="ООО Связь", description="Заменить кабель"
        )
    elif to in (CaseState.OPEN, CaseState.WAITING_CUSTOMER):
        if case.state in (CaseState.RESOLVED, CaseState.CLOSED) and to == CaseState.OPEN:
            services.reopen(case.pk, actor=owner, reason="Снова сломалось")
        else:
            services.set_state(case.pk, actor=owner, state=CaseState(to))
    elif to == CaseState.RESOLVED:
        # Before any answer the only honest resolution is that the customer withdrew.
        withdrawn = case.state == CaseState.NEW
        services.resolve(
            case.pk,
            actor=owner,
            resolution=Resolution.WITHDRAWN if withdrawn else Resolution.SOLVED,
        )
    elif to == CaseState.CLOSED:
        services.close(case.pk, actor=owner)
    elif to == CaseState.NEW:
        services.set_state(case.pk, actor=owner, state=CaseState.NEW)


ILLEGAL = [(a, b) for a, b in itertools.product(ALL, ALL) if a != b and b not in TRANSITIONS[a]]
LEGAL = [(a, b) for a in ALL for b in sorted(TRANSITIONS[a])]


def test_the_table_has_no_way_back_to_new_and_closed_only_reopens() -> None:
    assert all(CaseState.NEW not in targets for targets in TRANSITIONS.values())
    assert TRANSITIONS[CaseState.CLOSED] == {CaseState.OPEN}
    assert TRANSITIONS[CaseState.RESOLVED] == {CaseState.OPEN, CaseState.CLOSED}


@pytest.mark.parametrize(("start", "target"), ILLEGAL)
def test_illegal_transition_is_refused(cast: Cast, start: str, target: str) -> None:
    case = bring_to(cast, start)
    with pytest.raises(InvalidTransition):
        attempt(case, target)
    assert Case.objects.get(pk=case.pk).state == start


@pytest.mark.parametrize(("start", "target"), LEGAL)
def test_legal_transition_is_allowed(cast: Cast, start: str, target: str) -> None:
    case = bring_to(cast, start)
    attempt(case, target)
    assert Case.objects.get(pk=case.pk).state == target


def test_reply_to_a_resolved_case_is_refused_until_reopened(cast: Cast) -> None:
    case = bring_to(cast, CaseState.RESOLVED)
    with pytest.raises(InvalidTransition):
        services.add_message(case.pk, actor=case.owner, body="Ещё одно", kind=MessageKind.REPLY)
    # An internal note is always allowed: it is not contact with the customer.
    services.add_message(case.pk, actor=case.owner, body="Заметка", kind=MessageKind.NOTE)


def test_customer_message_moves_a_waiting_case_back_to_open(cast: Cast) -> None:
    case = bring_to(cast, CaseState.WAITING_CUSTOMER)
    services.add_customer_message(case.pk, customer=cast.dave, body="Вот номер договора: 123")
    assert Case.objects.get(pk=case.pk).state == CaseState.OPEN


def test_waiting_on_a_contractor_needs_their_task(cast: Cast) -> None:
    case = bring_to(cast, CaseState.OPEN)
    with pytest.raises(DomainError) as refused:
        services.set_state(case.pk, actor=case.owner, state=CaseState.WAITING_CONTRACTOR)
    assert refused.value.code == "no_contractor_task"
