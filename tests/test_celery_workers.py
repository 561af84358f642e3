"""Background work on Celery (RELIABILITY.md EO-1, EO-3, FT-13; decision 0002).

The first tests run anywhere: the tasks called in this process, the beat schedule, the
``pomogu worker`` command line. The last one needs PostgreSQL and Redis: two real Celery
workers, every breach task delivered twice, the sweep running, one worker SIGKILLed mid-run;
every missed deadline still ends with exactly one failure, one level-1 escalation and one
escalation email.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count
from django.utils import timezone

from pomogu.cases.choices import EventKind
from pomogu.cases.models import Case, TimelineEvent
from pomogu.clocks import services as clocks
from pomogu.clocks import tasks
from pomogu.clocks.models import (
    Deadline,
    DeadlineKind,
    DeadlineState,
    Escalation,
    EscalationState,
    SlaPolicy,
)
from pomogu.contact.models import OutboxMessage, OutboxState
from pomogu.core import runner
from pomogu.core.celery import PERIODIC_QUEUE, PERIODIC_TASKS, STEP_TASKS, app
from pomogu.core.management.commands.worker import celery_argv
from pomogu.core.smtp_sink import SmtpSink
from pomogu.core.testing import (
    Cast,
    database_url_for_subprocesses,
    wait_until_subprocesses_disconnect,
)
from pomogu.failures.models import Failure


def _test_redis_url() -> str:
    """The Redis database these tests own and flush: one per pytest-xdist worker (the base
    number plus the worker's index), so that two tests with real workers running at once on
    two xdist workers never flush or consume each other's queues."""
    base = os.environ.get("POMOGU_TEST_REDIS_URL", "redis://127.0.0.1:6379/5")
    server, _slash, number = base.rpartition("/")
    index = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
    return f"{server}/{int(number or 0) + index}"


REDIS_URL = _test_redis_url()  # flushed
POSTGRES = os.environ.get("DATABASE_URL", "").startswith("postgres")


def _redis_answers() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


# --- the tasks, in this process ------------------------------------------------------------


@pytest.fixture
def sla(cast: Cast) -> SlaPolicy:
    return SlaPolicy.objects.create(
        name="support", team=cast.support, first_response_minutes=60, resolution_minutes=480
    )


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[list[int]]:
    """What the sweep sends to the workers, caught here instead of going to a broker."""
    batches: list[list[int]] = []
    monkeypatch.setattr(tasks.breach_many, "delay", batches.append)
    monkeypatch.setattr(tasks.move_up_many, "delay", batches.append)
    return batches


def test_the_sweep_sends_each_due_deadline_once_and_again_when_its_message_is_lost(
    cast: Cast, sla: SlaPolicy, sent: list[list[int]], settings: Any
) -> None:
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        due = [
            cast.open_case(subject=f"case {n}").deadlines.get(kind="first_response").pk
            for n in range(3)
        ]
        assert tasks.sweep_due() == 0  # nothing due yet
        traveller.shift(dt.timedelta(minutes=61))
        assert tasks.sweep_due() == 3
        assert sorted(pk for batch in sent for pk in batch) == sorted(due)
        # Claimed: the next sweeps leave them alone while their message is on its way.
        assert tasks.sweep_due() == 0
        # The message was lost (a Redis flush, FT-13): once the claims expire, within 60 s by
        # default, they go again.
        claim = settings.POMOGU["CLAIM_SECONDS"]
        assert claim <= 60
        traveller.shift(dt.timedelta(seconds=claim - 1))
        assert tasks.sweep_due() == 0
        traveller.shift(dt.timedelta(seconds=2))
        sent.clear()
        assert tasks.sweep_due() == 3
        # Delivered twice, and once more directly: one breach each.
        for batch in sent:
            assert tasks.breach_many(batch) == len(batch)
            assert tasks.breach_many(batch) == 0
        assert tasks.breach(due[0]) == 0
    assert Failure.objects.filter(kind="sla_first_response").count() == 3
    assert Escalation.objects.filter(level=1).count() == 3
    assert Deadline.objects.filter(pk__in=due, state=DeadlineState.BREACHED).count() == 3


def test_an_unacknowledged_escalation_moves_up_once_however_often_it_is_sent(
    cast: Cast, sla: SlaPolicy, sent: list[list[int]]
) -> None:
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        case = cast.open_case()
        traveller.shift(dt.timedelta(minutes=61))
        tasks.sweep_due()
        for batch in sent:
            tasks.breach_many(batch)
        sent.clear()
        escalation = Escalation.objects.get(case=case, level=1)
        traveller.shift(dt.timedelta(minutes=61))  # the lead's hour to acknowledge is over
        assert tasks.sweep_due() == 1
        assert sent == [[escalation.pk]]
        assert tasks.move_up_many(sent[0]) == 1
        assert tasks.move_up_many(sent[0]) == 0
        assert tasks.move_up(escalation.pk) == 0
    escalation.refresh_from_db()
    assert escalation.state == EscalationState.MOVED_UP
    assert list(case.escalations.values_list("level", flat=True).order_by("level")) == [1, 2]


def test_one_failing_deadline_does_not_hold_up_the_others_in_its_batch(
    cast: Cast, sla: SlaPolicy, monkeypatch: pytest.MonkeyPatch
) -> None:
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        ids = [cast.open_case().deadlines.get(kind="first_response").pk for _ in range(3)]
        traveller.shift(dt.timedelta(minutes=61))
        real = clocks._breach_failure

        def breach_failure(deadline: Deadline, *args: Any) -> Any:
            if deadline.pk == ids[1]:
                raise RuntimeError("the database went away")
            return real(deadline, *args)

        # The batch's transaction fails as a whole; then each deadline gets its own.
        monkeypatch.setattr(clocks, "_breach_failure", breach_failure)
        assert tasks.breach_many(ids) == 2
    assert Deadline.objects.get(pk=ids[1]).state == DeadlineState.PENDING  # the next sweep
    assert not Escalation.objects.filter(deadline_id=ids[1]).exists()
    for deadline_id in (ids[0], ids[2]):
        assert Deadline.objects.get(pk=deadline_id).state == DeadlineState.BREACHED
        assert Escalation.objects.filter(deadline_id=deadline_id, level=1).count() == 1


def test_every_runner_step_has_a_periodic_task_on_the_periodic_queue() -> None:
    names = {step.name for step in runner.steps()}
    assert names == {"clocks", *STEP_TASKS}
    schedule = app.conf.beat_schedule
    assert set(schedule) == set(PERIODIC_TASKS)
    app.loader.import_default_modules()
    for name in PERIODIC_TASKS:
        assert name in app.tasks
        assert app.amqp.router.route({}, name)["queue"].name == PERIODIC_QUEUE
        assert schedule[name]["options"]["expires"] == schedule[name]["schedule"]
    assert app.conf.task_acks_late
    assert app.conf.task_reject_on_worker_lost
    assert app.conf.worker_prefetch_multiplier == 1
    assert app.conf.task_ignore_result


def test_a_step_task_runs_the_runners_step(monkeypatch: pytest.MonkeyPatch) -> None:
    from pomogu.core import tasks as core_tasks

    calls: list[str] = []
    monkeypatch.setattr(
        runner,
        "steps",
        lambda: [
            runner.Step(name, lambda name=name: calls.append(name) or 7) for name in STEP_TASKS
        ],
    )
    assert core_tasks.send_due() == 7
    assert core_tasks.fetch_due() == 7
    assert core_tasks.retrain_due() == 7
    assert calls == ["outbox", "imap", "router"]


def test_worker_command_line() -> None:
    argv = celery_argv(concurrency=3, beat=True, beat_only=False, loglevel="INFO")
    assert argv[0] == "worker"
    assert argv[argv.index("--concurrency") + 1] == "3"
    assert "--beat" in argv
    assert celery_argv(concurrency=None, beat=False, beat_only=True, loglevel="INFO")[0] == "beat"


def test_worker_with_a_broker_is_a_celery_worker(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/9"
    started: list[list[str]] = []
    monkeypatch.setattr(app, "start", lambda argv: started.append(argv) or 0)
    call_command("worker", "--concurrency", "4", "--beat")
    call_command("worker", "--beat-only")
    assert started[0][0] == "worker"
    assert started[0][started[0].index("--concurrency") + 1] == "4"
    assert "--beat" in started[0]
    assert started[1][0] == "beat"
    with pytest.raises(CommandError, match="in-process"):
        call_command("worker", "--interval", "3")


def test_worker_celery_flags_without_a_broker_fail_clearly(settings: Any) -> None:
    settings.CELERY_BROKER_URL = ""
    for flag in ("--beat", "--beat-only"):
        with pytest.raises(CommandError, match="POMOGU_REDIS_URL"):
            call_command("worker", flag)


# --- two real workers on PostgreSQL and Redis ----------------------------------------------

CASES = 1000
KILL_AFTER = 400  # breached deadlines before worker A is killed


class Worker:
    """A ``pomogu worker`` process in its own process group, its log in a file."""

    def __init__(self, name: str, env: dict[str, str], directory: Path, *args: str) -> None:
        self.log = directory / f"worker-{name}.log"
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "pomogu", "worker", "--concurrency", "2", *args],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self, timeout: float = 60) -> None:
        _wait(lambda: " ready." in self.text(), timeout, f"{self.log.name} did not start", self)

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)  # the worker and its pool processes
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # warm shutdown
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()

    def tasks(self, event: str) -> set[str]:
        """Ids of the breach tasks this worker logged as ``received`` or ``succeeded``."""
        pattern = rf"Task clocks\.breach(?:_many)?\[([0-9a-f-]+)\] {event}"
        return set(re.findall(pattern, self.text()))


def _wait(done: Callable[[], bool], timeout: float, what: str, *workers: Worker) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- {w.log.name}\n{w.text()[-3000:]}" for w in workers)
            pytest.fail(f"{what} within {timeout}s\n{logs}")
        time.sleep(0.2)


def _due_cases(cast: Cast, sla: SlaPolicy, count: int) -> list[int]:
    """``count`` open cases of bob's, each with a first-response deadline due a minute ago:
    the rows ``cases.open_case`` and the clocks write, made in bulk to be quick."""
    now = timezone.now()
    opened = now - dt.timedelta(minutes=61)
    made = Case.objects.bulk_create(
        Case(
            subject=f"Нет интернета {n}",
            customer=cast.dave,
            team=cast.support,
            owner=cast.bob,
            last_customer_message_at=opened,
        )
        for n in range(count)
    )
    ids = [case.pk for case in made]
    for case in made:
        case.number = case.pk
    Case.objects.bulk_update(made, ["number"], batch_size=500)
    deadlines = Deadline.objects.bulk_create(
        Deadline(
            case_id=case_id,
            kind=DeadlineKind.FIRST_RESPONSE,
            team=cast.support,
            responsible=cast.bob,
            started_at=opened,
            due_at=now - dt.timedelta(minutes=1),
            target_minutes=60,
            policy=sla,
        )
        for case_id in ids
    )
    return [deadline.pk for deadline in deadlines]


@pytest.fixture
def quiet_sink() -> Iterator[None]:
    # aiosmtpd logs every SMTP command at INFO; a thousand sessions of it cost real time here.
    log = logging.getLogger("mail.log")
    level = log.level
    log.setLevel(logging.WARNING)
    yield
    log.setLevel(level)


@pytest.fixture
def broker() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()  # only the test's own database number
    yield client
    client.flushdb()


@pytest.mark.skipif(
    not POSTGRES,
    reason="two real Celery workers need PostgreSQL: run with DATABASE_URL=postgres://...",
)
@pytest.mark.skipif(POSTGRES and not _redis_answers(), reason=f"needs Redis at {REDIS_URL}")
@pytest.mark.django_db(transaction=True)
def test_two_workers_a_kill_and_every_task_twice_breach_each_deadline_exactly_once(
    cast: Cast, sla: SlaPolicy, broker: redis.Redis, quiet_sink: None, tmp_path: Path
) -> None:
    deadline_ids = _due_cases(cast, sla, CASES)
    with SmtpSink() as sink:
        env = {
            **os.environ,
            "DATABASE_URL": database_url_for_subprocesses(),
            "POMOGU_REDIS_URL": REDIS_URL,
            "POMOGU_DATA_DIR": str(tmp_path),
            "POMOGU_SWEEP_SECONDS": "1",
            "POMOGU_RUNNER_INTERVAL": "1",
            "POMOGU_CELERY_VISIBILITY_TIMEOUT": "10",  # a dead worker's tasks go on after 10 s
            "POMOGU_EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "POMOGU_SMTP_PORT": str(sink.port),
            "POMOGU_LOG_LEVEL": "INFO",
        }
        env.pop("CELERY_BROKER_URL", None)
        env.pop("POMOGU_FAULTS", None)
        # Worker A is slow (0.2 s per breach task), so it is surely in the middle of some when
        # it is killed: batches are fast enough that a normal A may have nothing in hand.
        worker_a = Worker("a", {**env, "POMOGU_FAULTS": "clocks.breach:sleep=0.2"}, tmp_path)
        worker_b = Worker("b", env, tmp_path, "--beat")
        try:
            worker_a.wait_ready()
            worker_b.wait_ready()
            with app.connection_for_write(REDIS_URL) as connection:
                producer = app.amqp.Producer(connection)
                for deadline_id in deadline_ids:  # every breach task twice, and a sweep between
                    tasks.breach.apply_async((deadline_id,), producer=producer)
                tasks.sweep_due.apply_async(producer=producer)
                for deadline_id in deadline_ids:
                    tasks.breach.apply_async((deadline_id,), producer=producer)

            def breached() -> int:
                return Deadline.objects.filter(state=DeadlineState.BREACHED).count()

            def a_holds_a_task() -> bool:
                return bool(worker_a.tasks("received") - worker_a.tasks("succeeded"))

            # Killed while it holds a task (received, not yet done): on a busy machine B could
            # otherwise have drained the queue while A sat between two of its slow tasks.
            _wait(
                lambda: breached() >= KILL_AFTER and a_holds_a_task(),
                120,
                "no deadline breached while worker A held a task",
                worker_a,
                worker_b,
            )
            worker_a.kill()
            in_flight = worker_a.tasks("received") - worker_a.tasks("succeeded")
            _wait(lambda: breached() == CASES, 180, "not every deadline breached", worker_b)
            # acks_late: what A held when it died is delivered again, to B (after the
            # visibility timeout), and does nothing the second time.
            assert in_flight, f"worker A held no task when killed\n{worker_a.text()[-4000:]}"
            _wait(
                lambda: in_flight <= worker_b.tasks("succeeded"),
                120,
                "the killed worker's tasks were not delivered again",
                worker_b,
            )
            escalation_mail = OutboxMessage.objects.filter(dedupe_key__startswith="escalation:")
            # Sent, or held by the killed worker's claim (sent again, with the same
            # Message-ID, when it expires: at least once for notifications, §5.4).
            _wait(
                lambda: (
                    escalation_mail.filter(state=OutboxState.SENT).count()
                    + escalation_mail.filter(state=OutboxState.SENDING).count()
                    == CASES
                ),
                120,
                "the escalation emails were not sent",
                worker_b,
            )
        finally:
            worker_a.kill()
            worker_b.stop()
            wait_until_subprocesses_disconnect(10)
        received = Counter(message["Message-ID"] for message in sink.handler.received)

    assert Deadline.objects.filter(pk__in=deadline_ids, state=DeadlineState.BREACHED).count() == (
        CASES
    )
    # One failure per deadline (Failure.key), one level-1 escalation (unique per level) and one
    # escalation email (the outbox's dedupe_key), whatever ran twice.
    failures = Failure.objects.filter(kind="sla_first_response")
    assert failures.count() == CASES
    assert set(failures.values_list("key", flat=True)) == {
        f"deadline:{pk}:breach" for pk in deadline_ids
    }
    escalations = Escalation.objects.filter(deadline_id__in=deadline_ids)
    assert escalations.count() == CASES
    assert set(escalations.values_list("level", flat=True)) == {1}
    assert set(escalations.values_list("recipient__username", flat=True)) == {"alice"}
    per_deadline = escalations.values("deadline").annotate(n=Count("id"))
    assert {row["n"] for row in per_deadline} == {1}
    emails = OutboxMessage.objects.filter(dedupe_key__startswith="escalation:")
    assert emails.count() == CASES
    assert set(emails.values_list("dedupe_key", flat=True)) == {
        f"escalation:{pk}" for pk in escalations.values_list("pk", flat=True)
    }
    for kind in (EventKind.DEADLINE_MISSED, EventKind.ESCALATED):
        events = TimelineEvent.objects.filter(kind=kind).values("case").annotate(n=Count("id"))
        assert len(events) == CASES
        assert {row["n"] for row in events} == {1}
    # No escalation email reached the relay twice; every one marked sent reached it.
    message_ids = dict(emails.values_list("rfc_message_id", "state"))
    assert set(received) <= set(message_ids)
    assert max(received.values()) == 1
    assert {mid for mid, state in message_ids.items() if state == OutboxState.SENT} <= set(received)


SURVEYS = 40


@pytest.mark.skipif(
    not POSTGRES,
    reason="two real Celery workers need PostgreSQL: run with DATABASE_URL=postgres://...",
)
@pytest.mark.skipif(POSTGRES and not _redis_answers(), reason=f"needs Redis at {REDIS_URL}")
@pytest.mark.django_db(transaction=True)
def test_two_workers_and_a_sender_killed_after_the_smtp_answer_send_no_survey_twice(
    cast: Cast, broker: redis.Redis, quiet_sink: None, tmp_path: Path
) -> None:
    """RELIABILITY.md EO-1 and EO-2: surveys due for 40 customers, every survey task sent twice
    on top of beat's, two workers; worker A's pool process dies after the SMTP server took a
    survey and before it is marked sent (again for every survey it takes). No survey reaches
    the relay twice; the ones whose fate is unknown are given up, none is left "sending"."""
    from pomogu.cases import services as cases
    from pomogu.contact.models import OutboxKind, Survey, SurveyState
    from pomogu.core.tasks import send_due_surveys
    from pomogu.people import services as people

    for n in range(SURVEYS):
        customer = people.find_or_create_customer(email=f"c{n}@customer.test", name=f"C {n}")
        case = cases.open_case(
            customer=customer, team=cast.support, subject=f"Роутер {n}", body="Нет интернета."
        )
        cases.add_message(case.pk, actor=case.owner, body="Заменили роутер, всё работает.")
        cases.resolve(case.pk, actor=case.owner)
    assert Survey.objects.count() == SURVEYS  # EO-2: one per case, however it was resolved
    Survey.objects.update(due_at=timezone.now() - dt.timedelta(minutes=1))
    OutboxMessage.objects.update(state=OutboxState.SENT)  # the agents' replies went out earlier
    with SmtpSink() as sink:
        env = {
            **os.environ,
            "DATABASE_URL": database_url_for_subprocesses(),
            "POMOGU_REDIS_URL": REDIS_URL,
            "POMOGU_DATA_DIR": str(tmp_path),
            "POMOGU_RUNNER_INTERVAL": "1",
            "POMOGU_OUTBOX_CLAIM_SECONDS": "5",  # a dead sender's row is looked at after 5 s
            "POMOGU_CELERY_VISIBILITY_TIMEOUT": "10",
            "POMOGU_EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "POMOGU_SMTP_PORT": str(sink.port),
            "POMOGU_LOG_LEVEL": "INFO",
            # Any hour is fine for this test: no quiet hours.
            "POMOGU_QUIET_HOURS": "00:00-00:00",
            "POMOGU_CONTACT_HOLIDAYS": "",
        }
        env.pop("CELERY_BROKER_URL", None)
        env.pop("POMOGU_FAULTS", None)
        mail = OutboxMessage.objects.filter(kind=OutboxKind.SURVEY)
        # A starts alone (with beat), so that it surely sends some surveys and dies after each.
        worker_a = Worker(
            "a", {**env, "POMOGU_FAULTS": "outbox.after_smtp:kill"}, tmp_path, "--beat"
        )
        worker_b: Worker | None = None
        try:
            worker_a.wait_ready()
            with app.connection_for_write(REDIS_URL) as connection:
                producer = app.amqp.Producer(connection)
                for _ in range(2):
                    send_due_surveys.apply_async(producer=producer)
            _wait(lambda: len(sink.handler.received) >= 3, 120, "A sent no survey", worker_a)
            worker_b = Worker("b", env, tmp_path)
            worker_b.wait_ready()
            _wait(
                lambda: Survey.objects.filter(state=SurveyState.SENT).count() == SURVEYS,
                120,
                "not every survey was handed to the outbox",
                worker_a,
                worker_b,
            )
            _wait(
                lambda: (
                    mail.count() == SURVEYS
                    and not mail.filter(
                        state__in=[OutboxState.PENDING, OutboxState.SENDING]
                    ).exists()
                ),
                120,
                "survey mail still pending or held by a dead sender",
                worker_a,
                worker_b,
            )
        finally:
            worker_a.kill()
            if worker_b is not None:
                worker_b.stop()
            wait_until_subprocesses_disconnect(10)
        received = Counter(message["Message-ID"] for message in sink.handler.received)

    states = dict(mail.values_list("rfc_message_id", "state"))
    assert len(states) == SURVEYS
    assert max(received.values()) == 1  # no survey reached the relay twice
    # A's pool processes died after the relay took a survey: those are "perhaps sent", and
    # indeed they went out once. Every survey marked sent went out once too.
    unknown = {mid for mid, state in states.items() if state == OutboxState.UNKNOWN}
    assert unknown, "worker A never died after an SMTP answer"
    assert unknown <= set(received)
    assert {mid for mid, state in states.items() if state == OutboxState.SENT} <= set(received)
    assert set(states.values()) <= {OutboxState.SENT, OutboxState.UNKNOWN}
