"""The demo desk: a small internet and telephony provider with a few weeks of history.

``seed()`` builds it once through the service functions, like real use would: staff, teams,
organisations, customers and about forty cases in every state, in Russian and English, with the
stories of ``seeds/`` (an outage mailed to accounting, a repair that fails again, weekly pestering
calls, "not my competence", an angry customer). It is deterministic: no randomness in the data;
only the admin's password and API token are random.

``prepare()`` is what ``pomogu demo`` calls: it seeds if needed and keeps the admin's password and
plain API token in ``demo-credentials.json`` in the data directory (mode 0600), so that every run
prints the same login.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from django.db import transaction

from pomogu.cases import services as cases
from pomogu.cases.choices import MessageKind
from pomogu.cases.models import Case, ContractorTask, Handoff, Message, TimelineEvent
from pomogu.contact.models import OutboxMessage
from pomogu.core import clock
from pomogu.core.demo_data.stories import (
    ABSENT,
    ADMIN_USERNAME,
    CUSTOMERS,
    DEPUTY,
    ORGANISATIONS,
    OWNER,
    STAFF,
    STORIES,
    TEAMS,
    Accept,
    Close,
    Decline,
    HandOff,
    Note,
    Raise,
    Reopen,
    Reply,
    Resolve,
    Story,
    Task,
    TaskDone,
    Wrote,
)
from pomogu.people import services as people
from pomogu.people.models import Customer, Organisation, Team, User
from pomogu.triage import services as triage

__all__ = ["ADMIN_USERNAME", "CREDENTIALS_FILE", "DemoCredentials", "prepare", "seed"]

CREDENTIALS_FILE = "demo-credentials.json"


class Writer(Protocol):
    def write(self, text: str, /) -> object: ...


@dataclass(frozen=True)
class DemoCredentials:
    """The demo's login. ``password`` is None when it is not known (the credentials file was
    removed after the data was built); ``token`` is None when ``seed()`` did not make one."""

    username: str
    password: str | None
    token: str | None
    created: bool


# --- building it ----------------------------------------------------------------------------


def seed(*, stdout: Writer | None = None, password: str | None = None) -> DemoCredentials:
    """Build the demo desk once, through the service functions. Does nothing if the demo admin
    exists (then ``password`` is returned as given and ``token`` is None).

    Every staff member gets ``password`` (a random one if not given), the admin an API token.
    All in one transaction: a failure leaves nothing half-built.
    """
    if User.objects.filter(username=ADMIN_USERNAME).exists():
        return DemoCredentials(ADMIN_USERNAME, password, None, created=False)
    password = password or secrets.token_urlsafe(12)
    with transaction.atomic():
        token = _build(password)
    if stdout is not None:
        stdout.write(
            f"Demo data: {len(STAFF)} staff, {len(TEAMS)} teams, {len(CUSTOMERS)} customers, "
            f"{len(STORIES)} cases.\n"
        )
    return DemoCredentials(ADMIN_USERNAME, password, token, created=True)


def _build(password: str) -> str:
    since = clock.now()
    staff = {
        spec.username: people.create_staff(
            spec.username,
            name=spec.name,
            email=f"{spec.username}@pomogu.localhost",
            password=password,
            role=spec.role,
            language=spec.language,
        )
        for spec in STAFF
    }
    for spec in TEAMS:
        team = people.create_team(
            spec.name,
            slug=spec.slug,
            lead=staff[spec.lead],
            description=spec.description,
            keywords=spec.keywords,
            email=f"{spec.slug}@pomogu.localhost",
            is_default=spec.is_default,
        )
        for username in spec.members:
            people.add_member(team, staff[username])
    teams = {team.slug: team for team in Team.objects.all()}
    for name, domains, value in ORGANISATIONS:
        people.create_organisation(name, domains=domains, value=value)
    customers = {
        key: people.find_or_create_customer(email=email, name=name, phone=phone, language=lang)
        for key, (name, email, phone, lang) in CUSTOMERS.items()
    }
    for story in sorted(STORIES, key=lambda s: -s.days_ago):
        _play(story, staff=staff, teams=teams, customers=customers, since=since)
    # The absence is added last, so that the person on vacation still owns the cases they took
    # before leaving: that is what a deputy is for.
    people.add_absence(
        staff[ABSENT],
        starts_at=since - dt.timedelta(days=1),
        ends_at=since + dt.timedelta(days=7),
        deputy=staff[DEPUTY],
        note="Отпуск; срочное — Максиму Кузнецову / on vacation",
    )
    # Back-dating (the one write outside services the demo allows): the desk, its customers and
    # organisations existed before the first case.
    long_ago = since - dt.timedelta(days=120)
    Team.objects.update(created_at=long_ago)
    Organisation.objects.update(created_at=long_ago)
    Customer.objects.update(created_at=long_ago)
    _clocks(staff, teams)
    # The knowledge base: public articles for /help/ and the portal, internal ones for staff.
    from pomogu.kb.demo import load_demo_articles

    load_demo_articles(staff["o.volkova"])
    # The router learns from the teams' typical requests and the demo's history (R1).
    triage.train(reason="demo data")
    return people.create_token(staff[ADMIN_USERNAME], name="demo")


def _clocks(staff: dict[str, User], teams: dict[str, Team]) -> None:
    """Moscow office hours with Russian holidays, SLA targets, an escalation chain ending at
    the head of service; then the clocks the demo's open cases should have. The background
    runner then finds what is overdue, escalates it and fills the failure register (R4, R8)."""
    from pomogu.clocks import services as clocks
    from pomogu.clocks.models import (
        Calendar,
        EscalationChain,
        EscalationLevel,
        LevelTarget,
        SlaPolicy,
    )

    office = Calendar.objects.create(
        name="Москва, рабочие дни 9–18",
        config={
            "timezone": "Europe/Moscow",
            "hours": {day: [["09:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
            "country": "RU",
        },
        is_default=True,
    )
    SlaPolicy.objects.create(
        name="Обычные обращения / standard",
        calendar=office,
        first_response_minutes=4 * 60,
        next_response_minutes=8 * 60,
        resolution_minutes=3 * 9 * 60,
    )
    SlaPolicy.objects.create(
        name="Срочные / urgent",
        priority=4,
        calendar=office,
        first_response_minutes=60,
        next_response_minutes=2 * 60,
        resolution_minutes=9 * 60,
    )
    chain = EscalationChain.objects.create(team=None, head=staff["o.volkova"])
    EscalationLevel.objects.create(
        chain=chain, position=1, target=LevelTarget.TEAM_LEAD, ack_minutes=60
    )
    EscalationLevel.objects.create(
        chain=chain, position=2, target=LevelTarget.HEAD, ack_minutes=120
    )
    for case in Case.objects.select_related("customer", "team", "owner").order_by("id"):
        clocks.backfill(case)


def _play(
    story: Story,
    *,
    staff: dict[str, User],
    teams: dict[str, Team],
    customers: dict[str, Customer],
    since: dt.datetime,
) -> None:
    customer = customers[story.customer]
    opened_at = since - dt.timedelta(days=story.days_ago)
    case = cases.open_case(
        customer=customer,
        subject=story.subject,
        body=story.body,
        channel=story.channel,
        team=teams[story.team],
        priority=story.priority,
        actor=staff[story.logged_by] if story.logged_by else None,
        language=customer.language,
    )
    _backdate(case.pk, opened_at, since)
    handoff_id: int | None = None
    task_id: int | None = None

    def who(name: str) -> User:
        if name == OWNER:
            return Case.objects.select_related("owner").get(pk=case.pk).owner
        return staff[name]

    for step in story.steps:
        when = opened_at + dt.timedelta(hours=step.at)
        if when >= since:
            raise ValueError(f"{story.subject!r}: a step at +{step.at}h would be in the future")
        match step:
            case Reply():
                cases.add_message(
                    case.pk, actor=who(step.by), body=step.text, wait_for_customer=step.wait
                )
            case Note():
                cases.add_message(
                    case.pk, actor=who(step.by), body=step.text, kind=MessageKind.NOTE
                )
            case Wrote():
                cases.add_customer_message(
                    case.pk,
                    customer=customer,
                    body=step.text,
                    channel=story.channel,
                    language=customer.language,
                )
            case HandOff():
                handoff_id = cases.request_handoff(
                    case.pk, actor=who(step.by), to_team=teams[step.to], reason=step.reason
                ).pk
            case Accept():
                assert handoff_id is not None, story.subject
                cases.accept_handoff(handoff_id, actor=staff[step.by])
            case Decline():
                assert handoff_id is not None, story.subject
                cases.decline_handoff(handoff_id, actor=staff[step.by], reason=step.reason)
            case Task():
                task_id = cases.add_contractor_task(
                    case.pk,
                    actor=who(step.by),
                    contractor=step.contractor,
                    description=step.description,
                    contact=step.contact,
                    due_at=when + dt.timedelta(hours=step.due_hours),
                ).pk
            case TaskDone():
                assert task_id is not None, story.subject
                cases.finish_contractor_task(task_id, actor=who(step.by), outcome=step.outcome)
            case Resolve():
                cases.resolve(
                    case.pk, actor=who(step.by), resolution=step.resolution, summary=step.summary
                )
            case Close():
                cases.close(case.pk, actor=None)
            case Reopen():
                cases.reopen(case.pk, actor=staff[step.by], reason=step.reason)
            case Raise():
                cases.set_priority(
                    case.pk, actor=staff[step.by], priority=step.priority, reason=step.reason
                )
        _backdate(case.pk, when, since)


def _backdate(case_id: int, when: dt.datetime, since: dt.datetime) -> None:
    """Move what the last service call wrote on this case (every timestamp at or after
    ``since``, the start of seeding) to ``when``, so the demo shows weeks of history.

    This is the one write outside the services that the demo allows: plain QuerySet updates of
    timestamps, after the services have done (and checked) the real work. The timeline is
    append-only for the application; moving its times here changes no fact on it.
    """
    Case.objects.filter(pk=case_id).update(updated_at=when)
    for field in (
        "created_at",
        "first_response_at",
        "last_customer_message_at",
        "resolved_at",
        "closed_at",
    ):
        Case.objects.filter(pk=case_id, **{f"{field}__gte": since}).update(**{field: when})
    Message.objects.filter(case_id=case_id, created_at__gte=since).update(created_at=when)
    TimelineEvent.objects.filter(case_id=case_id, created_at__gte=since).update(created_at=when)
    OutboxMessage.objects.filter(case_id=case_id, created_at__gte=since).update(created_at=when)
    Handoff.objects.filter(case_id=case_id, created_at__gte=since).update(created_at=when)
    Handoff.objects.filter(case_id=case_id, decided_at__gte=since).update(decided_at=when)
    ContractorTask.objects.filter(case_id=case_id, created_at__gte=since).update(created_at=when)
    ContractorTask.objects.filter(case_id=case_id, finished_at__gte=since).update(finished_at=when)


# --- the credentials file -------------------------------------------------------------------


def prepare(data_dir: Path, *, stdout: Writer | None = None) -> DemoCredentials:
    """Seed if needed and return the login to print, the same on every run.

    The plain password and token live only in ``data_dir/demo-credentials.json`` (mode 0600):
    the database keeps hashes. If the file is gone but the data is there, a new token is made
    and the password is reported as unknown (``pomogu changepassword admin`` sets one).
    """
    path = data_dir / CREDENTIALS_FILE
    stored = _read_credentials(path)
    stored_password = stored.get("password") or None
    result = seed(stdout=stdout, password=stored_password)
    password = result.password
    if not result.created and password is not None:
        admin = User.objects.get(username=ADMIN_USERNAME)
        if not admin.check_password(password):
            password = None  # changed since; the file no longer knows it
    token = result.token or stored.get("token") or None
    token_user = people.user_for_token(token) if token else None
    if token_user is None or token_user.username != ADMIN_USERNAME:
        token = people.create_token(User.objects.get(username=ADMIN_USERNAME), name="demo")
    fresh = {"username": ADMIN_USERNAME, "password": password, "token": token}
    if fresh != {key: stored.get(key) for key in fresh}:
        _write_credentials(path, fresh)
    return DemoCredentials(ADMIN_USERNAME, password, token, created=result.created)


def _read_credentials(path: Path) -> dict[str, str | None]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}
    if not isinstance(raw, dict):
        return {}
    return {key: value for key, value in raw.items() if isinstance(value, str) or value is None}


def _write_credentials(path: Path, data: dict[str, str | None]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(
            {**data, "note": "Written by pomogu demo. Keep it private."},
            handle,
            ensure_ascii=False,
            indent=2,
        )
        handle.write("\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
