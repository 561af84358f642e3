"""R2: every case has exactly one accountable owner; a handoff moves it only on acceptance."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from pomogu.cases import services
from pomogu.cases.choices import CaseState, EventKind, HandoffState, MessageKind, Resolution
from pomogu.cases.models import Case, Handoff, TimelineEvent
from pomogu.core import clock
from pomogu.core.errors import (
    DomainError,
    InvalidTransition,
    InvariantViolation,
    PermissionDenied,
)
from pomogu.core.testing import Cast
from pomogu.people import services as people


def events(case: Case) -> list[str]:
    return list(TimelineEvent.objects.filter(case=case).values_list("kind", flat=True))


def test_new_case_gets_team_and_owner_at_once(cast: Cast) -> None:
    case = cast.open_case()
    case.refresh_from_db()
    assert case.team == cast.support
    assert case.owner in (cast.alice, cast.bob)
    assert case.state == CaseState.NEW
    assert events(case) == [EventKind.OPENED, EventKind.MESSAGE]


def test_owner_is_the_least_loaded_present_member(cast: Cast) -> None:
    first = cast.open_case()
    second = cast.open_case()
    assert {first.owner, second.owner} == {cast.alice, cast.bob}


def test_absent_member_gets_no_new_cases(cast: Cast) -> None:
    now = clock.now()
    people.add_absence(
        cast.bob,
        starts_at=now - dt.timedelta(hours=1),
        ends_at=now + dt.timedelta(days=3),
        deputy=cast.alice,
    )
    owners = {cast.open_case().owner for _ in range(3)}
    assert owners == {cast.alice}


def test_team_with_everyone_away_gives_the_case_to_the_leads_deputy(cast: Cast) -> None:
    now = clock.now()
    for user in (cast.alice, cast.bob):
        people.add_absence(
            user,
            starts_at=now - dt.timedelta(hours=1),
            ends_at=now + dt.timedelta(days=1),
            deputy=cast.mallory,
        )
    assert cast.open_case().owner == cast.mallory


def test_database_refuses_a_case_without_owner(cast: Cast) -> None:
    case = cast.open_case()
    with pytest.raises(IntegrityError), transaction.atomic():
        Case.objects.filter(pk=case.pk).update(owner=None)
    case.refresh_from_db()
    assert case.owner_id is not None


def test_service_refuses_to_remove_the_owner(cast: Cast) -> None:
    case = cast.open_case()
    with pytest.raises(InvariantViolation):
        services.assign(case.pk, actor=cast.alice, to_user=None)  # type: ignore[arg-type]
    assert Case.objects.get(pk=case.pk).owner_id == case.owner_id


def test_only_the_lead_assigns_and_only_within_the_team(cast: Cast) -> None:
    case = cast.open_case()
    with pytest.raises(PermissionDenied):
        services.assign(case.pk, actor=cast.bob, to_user=cast.bob)
    with pytest.raises(DomainError) as refused:
        services.assign(case.pk, actor=cast.alice, to_user=cast.carol)
    assert refused.value.code == "not_in_team"
    services.assign(case.pk, actor=cast.alice, to_user=cast.bob)
    assert Case.objects.get(pk=case.pk).owner == cast.bob


def test_handoff_keeps_sender_accountable_until_accepted(cast: Cast) -> None:
    case = cast.open_case()
    services.assign(case.pk, actor=cast.alice, to_user=cast.bob)
    handoff = services.request_handoff(
        case.pk, actor=cast.bob, to_team=cast.billing, reason="Вопрос по счёту"
    )
    case.refresh_from_db()
    assert case.owner == cast.bob
    assert case.team == cast.support
    assert handoff.state == HandoffState.REQUESTED

    services.accept_handoff(handoff.pk, actor=cast.carol)

    case.refresh_from_db()
    handoff.refresh_from_db()
    assert case.owner == cast.carol
    assert case.team == cast.billing
    assert handoff.state == HandoffState.ACCEPTED
    assert handoff.decided_by == cast.carol
    kinds = events(case)
    assert kinds[-4:] == [
        EventKind.HANDOFF_REQUESTED,
        EventKind.HANDOFF_ACCEPTED,
        EventKind.TEAM,
        EventKind.ASSIGNED,
    ]
    assigned = TimelineEvent.objects.filter(case=case, kind=EventKind.ASSIGNED).last()
    assert assigned is not None
    assert assigned.data == {"from": "bob", "to": "carol", "handoff_id": handoff.pk}


def test_declined_handoff_stays_with_sender_and_is_recorded(cast: Cast) -> None:
    case = cast.open_case()
    owner = case.owner
    handoff = services.request_handoff(
        case.pk, actor=cast.alice, to_team=cast.billing, reason="Похоже на вопрос оплаты"
    )
    services.decline_handoff(handoff.pk, actor=cast.carol, reason="Оплата прошла, это сбой сети")
    case.refresh_from_db()
    handoff.refresh_from_db()
    assert case.owner == owner
    assert case.team == cast.support
    assert handoff.state == HandoffState.DECLINED
    assert handoff.decline_reason == "Оплата прошла, это сбой сети"
    declined = TimelineEvent.objects.get(case=case, kind=EventKind.HANDOFF_DECLINED)
    assert declined.actor == cast.carol
    assert declined.data["reason"] == "Оплата прошла, это сбой сети"


def test_decline_needs_a_reason(cast: Cast) -> None:
    case = cast.open_case()
    handoff = services.request_handoff(
        case.pk, actor=cast.alice, to_team=cast.billing, reason="счёт"
    )
    with pytest.raises(DomainError) as refused:
        services.decline_handoff(handoff.pk, actor=cast.carol, reason="  ")
    assert refused.value.code == "reason_required"


def test_handoff_to_a_named_person_can_only_be_accepted_by_them_or_their_lead(cast: Cast) -> None:
    case = cast.open_case(team=cast.billing)
    billing_agent = people.create_staff("frank", name="Frank Billing")
    people.add_member(cast.support, billing_agent)
    handoff = services.request_handoff(
        case.pk, actor=cast.carol, to_team=cast.support, to_user=cast.bob, reason="роутер"
    )
    with pytest.raises(PermissionDenied):
        services.accept_handoff(handoff.pk, actor=billing_agent)
    services.accept_handoff(handoff.pk, actor=cast.bob)
    assert Case.objects.get(pk=case.pk).owner == cast.bob


def test_only_one_handoff_waits_at_a_time(cast: Cast) -> None:
    case = cast.open_case()
    services.request_handoff(case.pk, actor=cast.alice, to_team=cast.billing, reason="a")
    with pytest.raises(DomainError) as refused:
        services.request_handoff(case.pk, actor=cast.alice, to_team=cast.billing, reason="b")
    assert refused.value.code == "handoff_pending"
    # The database says the same, whatever a service might forget.
    with pytest.raises(IntegrityError), transaction.atomic():
        Handoff.objects.create(
            case=case,
            from_user=cast.alice,
            from_team=cast.support,
            to_team=cast.billing,
            reason="c",
        )


def test_answered_handoff_cannot_be_answered_again(cast: Cast) -> None:
    case = cast.open_case()
    handoff = services.request_handoff(case.pk, actor=cast.alice, to_team=cast.billing, reason="a")
    services.accept_handoff(handoff.pk, actor=cast.carol)
    with pytest.raises(DomainError) as refused:
        services.decline_handoff(handoff.pk, actor=cast.carol, reason="передумала")
    assert refused.value.code == "handoff_closed"


def test_a_peer_cannot_hand_off_someone_elses_case(cast: Cast) -> None:
    case = cast.open_case()
    services.assign(case.pk, actor=cast.alice, to_user=cast.alice)
    with pytest.raises(PermissionDenied):
        services.request_handoff(case.pk, actor=cast.bob, to_team=cast.billing, reason="не моё")


def test_not_our_department_is_not_a_resolution(cast: Cast) -> None:
    """A case nobody answered cannot be closed away; there is no "wrong department" code."""
    case = cast.open_case()
    with pytest.raises(DomainError) as refused:
        services.resolve(case.pk, actor=case.owner, resolution=Resolution.SOLVED)
    assert refused.value.code == "customer_not_answered"
    assert "wrong_department" not in Resolution.values
    assert Case.objects.get(pk=case.pk).state == CaseState.NEW


def test_resolve_waits_for_pending_handoff_and_contractor_work(cast: Cast) -> None:
    case = cast.open_case()
    owner = case.owner
    services.add_message(case.pk, actor=owner, body="Отправили мастера.")
    task = services.add_contractor_task(
        case.pk, actor=owner, contractor="ООО Кабель", description="Заменить кабель в подъезде"
    )
    assert Case.objects.get(pk=case.pk).state == CaseState.WAITING_CONTRACTOR
    with pytest.raises(InvalidTransition):
        services.resolve(case.pk, actor=owner)
    # Contractor work in parallel, the case staying open, blocks resolution just the same.
    parallel = services.add_contractor_task(
        case.pk, actor=owner, contractor="ООО Свет", description="Проверить питание", wait=False
    )
    services.finish_contractor_task(task.pk, actor=owner, outcome="Кабель заменён")
    assert Case.objects.get(pk=case.pk).state == CaseState.WAITING_CONTRACTOR
    services.set_state(case.pk, actor=owner, state=CaseState.OPEN)
    with pytest.raises(DomainError) as refused:
        services.resolve(case.pk, actor=owner)
    assert refused.value.code == "contractor_task_open"
    services.finish_contractor_task(parallel.pk, actor=owner, outcome="Питание в норме")
    assert Case.objects.get(pk=case.pk).state == CaseState.OPEN

    handoff = services.request_handoff(case.pk, actor=owner, to_team=cast.billing, reason="x")
    with pytest.raises(DomainError) as refused:
        services.resolve(case.pk, actor=owner)
    assert refused.value.code == "handoff_pending"
    services.cancel_handoff(handoff.pk, actor=owner)
    resolved = services.resolve(case.pk, actor=owner, summary="Кабель заменён")
    assert resolved.state == CaseState.RESOLVED
    assert resolved.resolved_by == owner
    assert resolved.owner == owner


def test_contractor_work_keeps_the_case_ours(cast: Cast) -> None:
    case = cast.open_case()
    owner = case.owner
    services.add_contractor_task(
        case.pk, actor=owner, contractor="Подрядчик", description="Проверить линию"
    )
    case.refresh_from_db()
    assert case.owner == owner
    assert case.team == cast.support


def test_reopen_returns_the_case_to_whoever_resolved_it(cast: Cast) -> None:
    case = cast.open_case()
    services.assign(case.pk, actor=cast.alice, to_user=cast.bob)
    services.add_message(case.pk, actor=cast.bob, body="Роутер заменили.")
    services.resolve(case.pk, actor=cast.bob)
    reopened = services.add_customer_message(
        case.pk, customer=cast.dave, body="Опять пропадает соединение!"
    )
    case.refresh_from_db()
    assert reopened.kind == MessageKind.INBOUND
    assert case.state == CaseState.OPEN
    assert case.owner == cast.bob
    assert case.reopen_count == 1
    assert events(case)[-1] == EventKind.REOPENED


def test_reopen_goes_to_the_resolvers_deputy_when_they_are_away(cast: Cast) -> None:
    case = cast.open_case()
    services.assign(case.pk, actor=cast.alice, to_user=cast.bob)
    services.add_message(case.pk, actor=cast.bob, body="Готово.")
    services.resolve(case.pk, actor=cast.bob)
    now = clock.now()
    people.add_absence(
        cast.bob,
        starts_at=now - dt.timedelta(minutes=5),
        ends_at=now + dt.timedelta(days=7),
        deputy=cast.alice,
    )
    services.reopen(case.pk, actor=cast.alice, reason="Клиент звонил: снова не работает")
    assert Case.objects.get(pk=case.pk).owner == cast.alice


def test_timeline_is_append_only(cast: Cast) -> None:
    case = cast.open_case()
    event = TimelineEvent.objects.filter(case=case).first()
    assert event is not None
    event.data = {"forged": True}
    with pytest.raises(RuntimeError):
        event.save()
    with pytest.raises(RuntimeError):
        event.delete()
    assert TimelineEvent.objects.get(pk=event.pk).data != {"forged": True}


def test_lead_sees_handoffs_addressed_to_their_members(cast: Cast) -> None:
    from pomogu.cases.queries import handoffs_awaiting

    case = cast.open_case(team=cast.billing)
    handoff = services.request_handoff(
        case.pk, actor=cast.carol, to_team=cast.support, to_user=cast.bob, reason="роутер"
    )
    assert list(handoffs_awaiting(cast.alice)) == [handoff]
    assert list(handoffs_awaiting(cast.bob)) == [handoff]
    services.accept_handoff(handoff.pk, actor=cast.alice)  # the lead answers for bob
    assert Case.objects.get(pk=case.pk).owner == cast.bob


def test_unknown_ids_are_not_found_not_crashes(cast: Cast) -> None:
    from pomogu.core.errors import NotFound

    with pytest.raises(NotFound):
        services.accept_handoff(999_999, actor=cast.alice)
    with pytest.raises(NotFound):
        services.finish_contractor_task(999_999, actor=cast.alice, outcome="")
    with pytest.raises(NotFound):
        services.add_message(999_999, actor=cast.alice, body="x")


def test_refused_case_leaves_no_orphan_customer(cast: Cast) -> None:
    from pomogu.people.models import Customer

    before = Customer.objects.count()
    with pytest.raises(DomainError):
        services.open_case_for(email="new@customer.test", subject="x", body="   ")
    assert Customer.objects.count() == before


def test_only_the_owner_the_lead_or_a_manager_sets_the_priority(cast: Cast) -> None:
    from pomogu.cases.choices import EventKind, Priority
    from pomogu.cases.models import Case, TimelineEvent

    case = cast.open_case()
    services.assign(case.pk, actor=cast.alice, to_user=cast.bob)
    owner = cast.bob
    with pytest.raises(PermissionDenied):  # another team's agent
        services.set_priority(case.pk, actor=cast.carol, priority=Priority.URGENT)
    people.add_member(cast.support, cast.carol)
    with pytest.raises(PermissionDenied):  # a member of the team, but not the owner or lead
        services.set_priority(case.pk, actor=cast.carol, priority=Priority.URGENT)
    assert Case.objects.get(pk=case.pk).priority != Priority.URGENT
    services.set_priority(case.pk, actor=owner, priority=Priority.HIGH)
    services.set_priority(case.pk, actor=cast.alice, priority=Priority.URGENT)  # the lead
    services.set_priority(case.pk, actor=cast.mallory, priority=Priority.LOW)  # a manager
    services.set_priority(case.pk, actor=None, priority=Priority.NORMAL)  # the desk itself
    changes = TimelineEvent.objects.filter(case=case, kind=EventKind.PRIORITY)
    assert [event.data["to"] for event in changes.order_by("id")] == [3, 4, 1, 2]
