"""Time is a promise (R4): SLA clocks in business time, escalation up a chain that never ends at
an absent person, handoffs that time out to the lead, missed appointments and broken promises,
and every breach in the register with the minutes lost (R8)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from pomogu.cases import services as cases
from pomogu.cases.choices import CaseState, EventKind, HandoffState
from pomogu.cases.models import Case, Handoff, Notification, TimelineEvent
from pomogu.clocks import services as clocks
from pomogu.clocks.models import (
    AppointmentState,
    Calendar,
    Deadline,
    DeadlineKind,
    DeadlineState,
    Escalation,
    EscalationChain,
    EscalationLevel,
    EscalationState,
    LevelTarget,
    PromiseState,
    SlaPolicy,
)
from pomogu.contact.models import OutboxKind, OutboxMessage
from pomogu.core import clock
from pomogu.core.testing import Cast
from pomogu.failures.models import Failure
from pomogu.people import services as people

MOSCOW = ZoneInfo("Europe/Moscow")
# Monday 2026-11-23, 10:00 in Moscow.
MONDAY_10 = dt.datetime(2026, 11, 23, 10, 0, tzinfo=MOSCOW)


@pytest.fixture
def now() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(MONDAY_10, tick=False) as traveller:
        yield traveller


@pytest.fixture
def sla(cast: Cast) -> SlaPolicy:
    """Round the clock: 60 minutes to a first answer, 120 to the next, 8 hours to resolve."""
    return SlaPolicy.objects.create(
        name="support",
        team=cast.support,
        first_response_minutes=60,
        next_response_minutes=120,
        resolution_minutes=480,
    )


def later(traveller: time_machine.Coordinates, minutes: float) -> None:
    traveller.shift(dt.timedelta(minutes=minutes))


def first_response(case: Case) -> Deadline:
    return case.deadlines.get(kind=DeadlineKind.FIRST_RESPONSE)


def test_opening_a_case_starts_its_clocks(
    cast: Cast, sla: SlaPolicy, now: time_machine.Coordinates
) -> None:
    case = cast.open_case()
    kinds = {d.kind: d for d in case.deadlines.all()}
    assert set(kinds) == {DeadlineKind.FIRST_RESPONSE, DeadlineKind.RESOLUTION}
    assert kinds[DeadlineKind.FIRST_RESPONSE].due_at == MONDAY_10 + dt.timedelta(minutes=60)
    assert kinds[DeadlineKind.RESOLUTION].due_at == MONDAY_10 + dt.timedelta(hours=8)
    assert clocks.expected_answer_by(case) == MONDAY_10 + dt.timedelta(minutes=60)


def test_a_reply_in_time_meets_the_first_response_and_nothing_is_recorded(
    cast: Cast, sla: SlaPolicy, now: time_machine.Coordinates
) -> None:
    case = cast.open_case()
    later(now, 30)
    cases.add_message(case.pk, actor=cast.bob, body="Смотрим.")
    later(now, 60)
    assert clocks.sweep() == 0
    deadline = first_response(case)
    assert deadline.state == DeadlineState.MET
    assert not Failure.objects.exists()
    assert not Escalation.objects.exists()


def test_a_first_response_breach_escalates_to_the_lead_and_is_registered(
    cast: Cast, sla: SlaPolicy, now: time_machine.Coordinates
) -> None:
    case = cast.open_case()
    later(now, 59)
    assert clocks.sweep() == 0  # not yet due
    later(now, 2)
    assert clocks.sweep() == 1

    deadline = first_response(case)
    assert deadline.state == DeadlineState.BREACHED
    escalation = Escalation.objects.get(deadline=deadline)
    assert escalation.level == 1
    assert escalation.recipient == cast.alice  # the support lead
    assert Notification.objects.filter(recipient=cast.alice, kind="escalation").exists()
    email = OutboxMessage.objects.get(dedupe_key=f"escalation:{escalation.pk}")
    assert email.to_email == "alice@desk.test"
    assert email.kind == OutboxKind.NOTIFICATION
    failure = Failure.objects.get(kind="sla_first_response")
    assert failure.case == case
    assert failure.team == cast.support
    assert TimelineEvent.objects.filter(case=case, kind=EventKind.DEADLINE_MISSED).exists()

    # The late answer closes the breach: the register gets the business minutes lost.
    later(now, 29)  # 90 minutes after opening, 30 after the due time
    cases.add_message(case.pk, actor=cast.bob, body="Извините за задержку, смотрим.")
    failure.refresh_from_db()
    assert failure.minutes_lost == pytest.approx(30, abs=0.1)
    escalation.refresh_from_db()
    assert escalation.state == EscalationState.CLOSED


def test_with_the_lead_away_the_escalation_goes_to_the_deputy(
    cast: Cast, sla: SlaPolicy, now: time_machine.Coordinates
) -> None:
    people.add_absence(
        cast.alice,
        starts_at=MONDAY_10 - dt.timedelta(days=1),
        ends_at=MONDAY_10 + dt.timedelta(days=7),
        deputy=cast.bob,
    )
    case = cast.open_case()
    later(now, 61)
    clocks.sweep()
    escalation = Escalation.objects.get(deadline=first_response(case))
    assert escalation.recipient == cast.bob
    assert escalation.intended == cast.alice


def test_an_unacknowledged_escalation_moves_up_and_an_acknowledged_one_stays(
    cast: Cast, sla: SlaPolicy, now: time_machine.Coordinates
) -> None:
    chain = EscalationChain.objects.create(team=cast.support, head=cast.mallory)
    EscalationLevel.objects.create(
        chain=chain, position=1, target=LevelTarget.TEAM_LEAD, ack_minutes=30
    )
    EscalationLevel.objects.create(chain=chain, position=2, target=LevelTarget.HEAD, ack_minutes=60)
    moved = cast.open_case(subject="Первое")
    kept = cast.open_case(subject="Второе")
    later(now, 61)
    assert clocks.sweep() == 2
    kept_level_1 = Escalation.objects.get(deadline=first_response(kept))
    clocks.acknowledge(kept_level_1.pk, actor=cast.alice)
    later(now, 31)
    assert clocks.sweep() == 1  # only the unacknowledged one moves

    levels = list(Escalation.objects.filter(deadline=first_response(moved)).order_by("level"))
    assert [(e.level, e.recipient, e.state) for e in levels] == [
        (1, cast.alice, EscalationState.MOVED_UP),
        (2, cast.mallory, EscalationState.OPEN),
    ]
    assert Escalation.objects.filter(deadline=first_response(kept)).count() == 1
    unacknowledged = Failure.objects.get(kind="escalation_unacknowledged")
    assert unacknowledged.person == cast.alice


def test_the_chain_never_stops_at_an_absent_person(
    cast: Cast, sla: SlaPolicy, now: time_machine.Coordinates
) -> None:
    chain = EscalationChain.objects.create(team=cast.support, head=cast.mallory)
    EscalationLevel.objects.create(chain=chain, position=1, target=LevelTarget.TEAM_LEAD)
    EscalationLevel.objects.create(chain=chain, position=2, target=LevelTarget.HEAD)
    week = {"starts_at": MONDAY_10 - dt.timedelta(days=1), "ends_at": MONDAY_10 + dt.timedelta(7)}
    # The lead is away and so is her deputy; the head is away without a deputy.
    people.add_absence(cast.alice, deputy=cast.bob, **week)
    people.add_absence(cast.bob, **week)
    people.add_absence(cast.mallory, **week)
    case = cast.open_case()
    later(now, 61)
    clocks.sweep()
    escalation = Escalation.objects.get(deadline=first_response(case))
    assert escalation.recipient == cast.root  # the one senior person present
    assert escalation.recipient.pk not in people.absent_user_ids(clock.now())


def test_a_handoff_nobody_accepts_times_out_to_the_receiving_lead(
    cast: Cast, now: time_machine.Coordinates, settings: object
) -> None:
    case = cast.open_case()
    handoff = cases.request_handoff(
        case.pk, actor=case.owner, to_team=cast.billing, reason="Это вопрос оплаты"
    )
    handoff.refresh_from_db()
    assert handoff.due_at == MONDAY_10 + dt.timedelta(minutes=120)  # round the clock
    later(now, 121)
    clocks.sweep()
    handoff = Handoff.objects.get(pk=handoff.pk)
    assert handoff.state == HandoffState.TIMED_OUT
    case.refresh_from_db()
    assert case.team == cast.billing
    assert case.owner == cast.carol  # billing's lead
    assert Failure.objects.get(kind="handoff_timed_out").team == cast.billing


def test_a_declined_handoff_is_registered(cast: Cast, now: time_machine.Coordinates) -> None:
    case = cast.open_case()
    handoff = cases.request_handoff(
        case.pk, actor=case.owner, to_team=cast.billing, reason="Оплата"
    )
    cases.decline_handoff(handoff.pk, actor=cast.carol, reason="Счёт оплачен, это техника")
    failure = Failure.objects.get(kind="handoff_declined")
    assert failure.person == cast.carol
    assert "техника" in failure.summary
    later(now, 500)
    assert clocks.sweep() == 0  # an answered handoff has no clock left


def test_waiting_on_a_contractor_keeps_the_customers_clock_running(
    cast: Cast, sla: SlaPolicy, now: time_machine.Coordinates
) -> None:
    contractor_case = cast.open_case(subject="Подрядчик")
    customer_case = cast.open_case(subject="Клиент", customer=cast.erin)
    for case in (contractor_case, customer_case):
        cases.add_message(case.pk, actor=cast.bob, body="Приняли.")
    cases.add_contractor_task(
        contractor_case.pk,
        actor=cast.bob,
        contractor="ООО Кабель",
        description="Заменить кабель",
        due_at=MONDAY_10 + dt.timedelta(hours=4),
    )
    assert Case.objects.get(pk=contractor_case.pk).state == CaseState.WAITING_CONTRACTOR
    cases.set_state(customer_case.pk, actor=cast.bob, state=CaseState.WAITING_CUSTOMER)
    later(now, 481)
    clocks.sweep()
    resolution = contractor_case.deadlines.get(kind=DeadlineKind.RESOLUTION)
    assert resolution.state == DeadlineState.BREACHED  # the contractor's delay is ours
    contractor = contractor_case.deadlines.get(kind=DeadlineKind.CONTRACTOR)
    assert contractor.state == DeadlineState.BREACHED  # and tracked on its own clock
    assert Failure.objects.filter(kind="contractor_late", case=contractor_case).exists()
    paused = customer_case.deadlines.get(kind=DeadlineKind.RESOLUTION)
    assert paused.state == DeadlineState.PAUSED  # the customer has the ball
    assert paused.remaining_minutes == pytest.approx(480, abs=0.1)
    # The customer answers 8 hours later: the clock resumes with its minutes left.
    cases.add_customer_message(customer_case.pk, customer=cast.erin, body="Вот данные.")
    paused.refresh_from_db()
    assert paused.state == DeadlineState.PENDING
    assert paused.due_at == clock.now() + dt.timedelta(minutes=480)


def test_business_hours_move_the_due_time_over_the_weekend(
    cast: Cast, now: time_machine.Coordinates
) -> None:
    office = Calendar.objects.create(
        name="Москва",
        config={
            "timezone": "Europe/Moscow",
            "hours": {day: [["09:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
            "country": "RU",
        },
    )
    SlaPolicy.objects.create(
        name="office", team=cast.support, calendar=office, first_response_minutes=60
    )
    now.move_to(dt.datetime(2026, 11, 27, 17, 30, tzinfo=MOSCOW))  # Friday
    case = cast.open_case()
    assert first_response(case).due_at == dt.datetime(2026, 11, 30, 9, 30, tzinfo=MOSCOW)


def test_a_more_specific_policy_wins_and_priority_changes_retarget(
    cast: Cast, sla: SlaPolicy, now: time_machine.Coordinates
) -> None:
    SlaPolicy.objects.create(
        name="urgent", team=cast.support, priority=4, first_response_minutes=15
    )
    case = cast.open_case()
    later(now, 5)
    cases.set_priority(case.pk, actor=cast.alice, priority=4)
    assert first_response(case).due_at == MONDAY_10 + dt.timedelta(minutes=15)


def test_a_missed_appointment_is_registered_escalated_and_a_new_time_proposed(
    cast: Cast, now: time_machine.Coordinates
) -> None:
    case = cast.open_case()
    visit = clocks.schedule_appointment(
        case.pk,
        actor=cast.bob,
        staff=cast.bob,
        starts_at=MONDAY_10 + dt.timedelta(hours=3),
        ends_at=MONDAY_10 + dt.timedelta(hours=4),
        place="ул. Ленина, 1",
    )
    later(now, 4 * 60 + 61)  # an hour after its end, nobody reported it
    clocks.sweep()
    visit.refresh_from_db()
    assert visit.state == AppointmentState.MISSED
    assert Failure.objects.get(kind="appointment_missed").person == cast.bob
    assert Escalation.objects.get(deadline__appointment=visit).recipient == cast.alice
    proposal = visit.replaced_by
    assert proposal.state == AppointmentState.SCHEDULED
    assert proposal.starts_at > clock.now()
    letter = OutboxMessage.objects.get(dedupe_key=f"appointment:{visit.pk}:missed")
    assert letter.to_email == "dave@customer.test"


def test_a_kept_appointment_records_nothing(cast: Cast, now: time_machine.Coordinates) -> None:
    case = cast.open_case()
    visit = clocks.schedule_appointment(
        case.pk,
        actor=cast.bob,
        staff=cast.bob,
        starts_at=MONDAY_10 + dt.timedelta(hours=1),
        ends_at=MONDAY_10 + dt.timedelta(hours=2),
    )
    later(now, 125)
    clocks.report_appointment(visit.pk, actor=cast.bob, kept=True)
    later(now, 600)
    assert clocks.sweep() == 0
    assert not Failure.objects.exists()


def test_a_broken_promise_is_registered_and_escalated(
    cast: Cast, now: time_machine.Coordinates
) -> None:
    case = cast.open_case()
    promise = clocks.make_promise(
        case.pk, actor=cast.bob, text="Перезвоню до 12:00", due_at=MONDAY_10 + dt.timedelta(hours=2)
    )
    later(now, 121)
    clocks.sweep()
    promise.refresh_from_db()
    assert promise.state == PromiseState.BROKEN
    assert Failure.objects.get(kind="promise_broken").person == cast.bob
    assert Escalation.objects.filter(deadline__promise=promise).exists()


def test_sweeping_twice_or_claiming_twice_never_doubles_an_effect(
    cast: Cast, sla: SlaPolicy, now: time_machine.Coordinates
) -> None:
    case = cast.open_case()
    later(now, 61)
    deadline = first_response(case)
    assert clocks.claim_deadline(deadline.pk, clock.now())
    assert not clocks.claim_deadline(deadline.pk, clock.now())  # a second worker loses
    assert clocks.breach(deadline.pk) == 1
    assert clocks.breach(deadline.pk) == 0  # a redelivered task does nothing
    assert clocks.sweep() == 0
    assert Escalation.objects.filter(deadline=deadline).count() == 1
    assert Failure.objects.filter(kind="sla_first_response").count() == 1
    assert OutboxMessage.objects.filter(kind=OutboxKind.NOTIFICATION).count() == 1


def test_the_acknowledgement_tells_the_customer_when_to_expect_an_answer(
    cast: Cast, sla: SlaPolicy, now: time_machine.Coordinates
) -> None:
    from pomogu.intake.models import Mailbox
    from pomogu.intake.services import receive

    box = Mailbox.objects.create(name="Support", address="support@desk.test", team=cast.support)
    raw = (
        b"From: Dave <dave@customer.test>\r\nTo: support@desk.test\r\nSubject: Internet\r\n"
        b"Message-ID: <sla-1@customer.test>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        b"My internet is down since this morning.\r\n"
    )
    receive(
        raw,
        mailbox=box,
        recipient="support@desk.test",
        envelope_from="dave@customer.test",
        source="lmtp",
    )
    ack = OutboxMessage.objects.get(kind=OutboxKind.ACKNOWLEDGEMENT)
    # Opened at 10:00 Moscow time with a 60-minute first-response target.
    assert "You will have an answer by" in ack.body
    assert "Nov. 23, 2026, 11 a.m. (MSK)" in ack.body


def test_the_case_page_shows_the_clocks_and_the_lead_acknowledges_there(
    cast: Cast, sla: SlaPolicy, now: time_machine.Coordinates, client: Any
) -> None:
    from django.urls import reverse

    from pomogu.core.testing import PASSWORD

    case = cast.open_case()
    later(now, 61)
    clocks.sweep()
    escalation = Escalation.objects.get(deadline=first_response(case))
    assert client.login(username="alice", password=PASSWORD)
    page = client.get(reverse("desk:case", kwargs={"number": case.number})).content.decode()
    assert "clock--overdue" in page
    url = reverse("desk:acknowledge_escalation", kwargs={"escalation_id": escalation.pk})
    assert url in page
    assert client.post(url).status_code == 302
    escalation.refresh_from_db()
    assert escalation.state == EscalationState.ACKNOWLEDGED
    assert not Notification.objects.filter(recipient=cast.alice, read_at__isnull=True).exists()


def test_promises_and_appointments_from_the_case_page(
    cast: Cast, now: time_machine.Coordinates, client: Any
) -> None:
    from django.urls import reverse

    from pomogu.clocks.models import Appointment, Promise
    from pomogu.core.testing import PASSWORD

    case = cast.open_case()
    owner = case.owner
    assert client.login(username=owner.username, password=PASSWORD)
    number = {"number": case.number}
    bad = client.post(reverse("desk:add_promise", kwargs=number), {"text": "", "due_at": ""})
    assert bad.status_code == 422
    assert not Promise.objects.exists()
    client.post(
        reverse("desk:add_promise", kwargs=number),
        {"text": "Перезвоню после проверки линии", "due_at": "2026-11-23T15:00"},
    )
    promise = Promise.objects.get(case=case)
    assert promise.due_at == dt.datetime(2026, 11, 23, 15, 0, tzinfo=MOSCOW)
    assert promise.made_by == owner
    client.post(
        reverse("desk:add_appointment", kwargs=number),
        {"kind": "visit", "starts_at": "2026-11-24T10:00", "minutes": "90", "place": "Ленина, 1"},
    )
    visit = Appointment.objects.get(case=case)
    assert visit.ends_at - visit.starts_at == dt.timedelta(minutes=90)
    page = client.get(reverse("desk:case", kwargs=number)).content.decode()
    assert "Перезвоню после проверки линии" in page
    assert "Ленина, 1" in page

    client.post(
        reverse("desk:report_appointment", kwargs={**number, "appointment_id": visit.pk}),
        {"kept": "0"},
    )
    visit.refresh_from_db()
    assert visit.state == AppointmentState.MISSED
    assert Failure.objects.filter(kind="appointment_missed", case=case).exists()
    client.post(reverse("desk:keep_promise", kwargs={**number, "promise_id": promise.pk}))
    promise.refresh_from_db()
    assert promise.state == PromiseState.KEPT
    assert not Failure.objects.filter(kind="promise_broken").exists()


def test_a_batch_costs_the_same_few_statements_for_two_deadlines_as_for_twelve(
    cast: Cast, sla: SlaPolicy, now: time_machine.Coordinates
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    ids = [first_response(cast.open_case()).pk for _ in range(14)]
    later(now, 61)
    with CaptureQueriesContext(connection) as two:
        assert clocks.breach_many(ids[:2]) == 2
    with CaptureQueriesContext(connection) as twelve:
        assert clocks.breach_many(ids[2:]) == 12
    assert len(twelve.captured_queries) == len(two.captured_queries) <= 25
    assert Escalation.objects.filter(deadline_id__in=ids, level=1).count() == 14
    assert Failure.objects.filter(kind="sla_first_response").count() == 14
    assert OutboxMessage.objects.filter(dedupe_key__startswith="escalation:").count() == 14
    assert TimelineEvent.objects.filter(kind=EventKind.ESCALATED).count() == 14
    # A second delivery of the same batch finds them breached and does nothing.
    assert clocks.breach_many(ids) == 0
    assert Escalation.objects.count() == 14


def test_one_batch_of_mixed_kinds_and_teams_does_what_each_needs(
    cast: Cast, sla: SlaPolicy, now: time_machine.Coordinates
) -> None:
    # Support's lead is away, Bob stands in; Billing's lead Carol is at work.
    people.add_absence(
        cast.alice,
        starts_at=MONDAY_10 - dt.timedelta(days=1),
        ends_at=MONDAY_10 + dt.timedelta(days=7),
        deputy=cast.bob,
    )
    slow = cast.open_case(subject="Ответа нет")
    billing = cast.open_case(team=cast.billing, subject="Счёт", customer=cast.erin)
    promise = clocks.make_promise(
        billing.pk,
        actor=cast.carol,
        text="Пересчитаю к 11:00",
        due_at=MONDAY_10 + dt.timedelta(minutes=59),
    )
    handed = cast.open_case(subject="Это к биллингу")
    handoff = cases.request_handoff(
        handed.pk, actor=handed.owner, to_team=cast.billing, reason="Вопрос оплаты"
    )
    later(now, 121)
    due = clocks.due_deadline_ids(clock.now())
    assert clocks.breach_many(due) == len(due) >= 4

    first = Escalation.objects.get(deadline=first_response(slow))
    assert (first.recipient, first.intended) == (cast.bob, cast.alice)
    promise.refresh_from_db()
    assert promise.state == PromiseState.BROKEN
    broken = Escalation.objects.get(deadline__promise=promise)
    assert (broken.recipient, broken.intended) == (cast.carol, None)
    assert Handoff.objects.get(pk=handoff.pk).state == HandoffState.TIMED_OUT
    kinds = set(Failure.objects.values_list("kind", flat=True))
    assert {"sla_first_response", "promise_broken", "handoff_timed_out"} <= kinds
    # Every breached deadline has its event, escalation and failure, and nothing twice.
    for deadline in Deadline.objects.filter(pk__in=due):
        assert deadline.state == DeadlineState.BREACHED
        assert Failure.objects.filter(key=f"deadline:{deadline.pk}:breach").count() == 1
        assert Escalation.objects.filter(deadline=deadline, level=1).count() == 1


def test_unacknowledged_escalations_move_up_together(
    cast: Cast, sla: SlaPolicy, now: time_machine.Coordinates, settings: Any
) -> None:
    ids = [first_response(cast.open_case()).pk for _ in range(3)]
    later(now, 61)
    assert clocks.sweep() == 3
    later(now, settings.POMOGU["ESCALATION_ACK_MINUTES"] + 1)
    level_1 = list(Escalation.objects.filter(deadline_id__in=ids).values_list("pk", flat=True))
    assert clocks.move_up_many(level_1) == 3
    assert clocks.move_up_many(level_1) == 0  # delivered twice: nothing more
    assert Escalation.objects.filter(deadline_id__in=ids, level=2).count() == 3
    assert set(Escalation.objects.filter(level=2).values_list("recipient", flat=True)) == {
        cast.mallory.pk  # no chain: the head of service is the first manager
    }
    assert Failure.objects.filter(kind="escalation_unacknowledged").count() == 3


@pytest.mark.django_db(transaction=True)
def test_a_sweep_skips_rows_another_sweep_is_claiming(
    cast: Cast, sla: SlaPolicy, now: time_machine.Coordinates
) -> None:
    import threading

    from django.db import connection, connections, transaction

    if connection.vendor != "postgresql":
        pytest.skip("row locks: SQLite takes the whole database instead")
    ids = [first_response(cast.open_case()).pk for _ in range(4)]
    later(now, 61)
    locked, release = threading.Event(), threading.Event()

    def other_sweep() -> None:
        try:
            with transaction.atomic():
                list(Deadline.objects.select_for_update().filter(pk=ids[0]))
                locked.set()
                release.wait(10)
        finally:
            connections.close_all()

    thread = threading.Thread(target=other_sweep)
    thread.start()
    try:
        assert locked.wait(10)
        # The locked row is skipped, not waited for.
        assert sorted(clocks.claim_due_deadlines(clock.now())) == ids[1:]
        assert clocks.claim_due_deadlines(clock.now()) == []  # claimed rows are not taken again
    finally:
        release.set()
        thread.join(10)
    assert clocks.claim_due_deadlines(clock.now()) == [ids[0]]
