"""The demo: ``seed()`` builds a desk with every state and story, once; ``pomogu demo`` prints a
working login and serves the real app end to end."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.db.models import Model

from pomogu.cases.choices import (
    ACTIVE_STATES,
    CaseState,
    Channel,
    ContractorTaskState,
    EventKind,
    HandoffState,
    Priority,
)
from pomogu.cases.models import Case, ContractorTask, Handoff, Message, TimelineEvent
from pomogu.contact.models import OutboxMessage
from pomogu.core import clock
from pomogu.core.demo_data import ADMIN_USERNAME, DemoCredentials, seed
from pomogu.core.demo_data.stories import ABSENT, DEPUTY, TEAMS
from pomogu.people.models import Absence, ApiToken, Customer, Membership, Organisation, Team, User
from pomogu.people.services import absent_user_ids, is_member, user_for_token

TOKEN_RE = re.compile(r"pmg_[A-Za-z0-9_-]{20,}")
CYRILLIC = re.compile(r"[А-Яа-яЁё]")


@pytest.fixture
def demo(db: Any) -> DemoCredentials:
    return seed()


def test_seed_returns_a_login_whose_token_works(demo: DemoCredentials) -> None:
    assert demo.created
    assert demo.username == ADMIN_USERNAME
    assert demo.token is not None
    assert demo.password
    admin = user_for_token(demo.token)
    assert admin is not None
    assert admin.username == "admin"
    assert admin.is_superuser
    assert admin.check_password(demo.password)


def test_seed_puts_a_case_in_every_state_including_reopened(demo: DemoCredentials) -> None:
    states = set(Case.objects.values_list("state", flat=True))
    assert states == set(CaseState.values)
    reopened = Case.objects.filter(reopen_count__gt=0)
    assert reopened.filter(state__in=ACTIVE_STATES).count() >= 2
    # One of them reopened because the customer wrote again (R5), not by a person.
    assert TimelineEvent.objects.filter(
        kind=EventKind.REOPENED, actor__isnull=True, case__in=reopened
    ).exists()
    assert 35 <= Case.objects.count() <= 50


def test_seed_speaks_russian_and_english(demo: DemoCredentials) -> None:
    subjects = list(Case.objects.values_list("subject", flat=True))
    assert any(CYRILLIC.search(s) for s in subjects)
    assert any(not CYRILLIC.search(s) and re.search("[A-Za-z]", s) for s in subjects)
    assert set(Case.objects.values_list("language", flat=True)) == {"ru", "en"}


def test_seed_has_pending_accepted_and_declined_handoffs(demo: DemoCredentials) -> None:
    states = set(Handoff.objects.values_list("state", flat=True))
    assert {HandoffState.REQUESTED, HandoffState.ACCEPTED, HandoffState.DECLINED} <= states
    # The outage mailed to accounting went to technical support and was accepted there.
    accepted = Handoff.objects.get(state=HandoffState.ACCEPTED)
    assert accepted.from_team.slug == "billing"
    assert accepted.case.team.slug == "support"
    assert accepted.case.owner == accepted.decided_by
    # A waiting handoff leaves the sender the owner (R2).
    for pending in Handoff.objects.filter(state=HandoffState.REQUESTED):
        assert pending.case.owner_id == pending.from_user_id
        assert pending.case.team_id == pending.from_team_id
    for declined in Handoff.objects.filter(state=HandoffState.DECLINED):
        assert declined.decline_reason
        assert declined.case.team_id == declined.from_team_id


def test_seed_has_an_absence_now_with_a_deputy(demo: DemoCredentials) -> None:
    now = clock.now()
    absence = Absence.objects.get(user__username=ABSENT)
    assert absence.covers(now)
    assert absence.deputy is not None
    assert absence.deputy.username == DEPUTY
    assert absence.user_id in absent_user_ids(now)
    assert absence.deputy.pk not in absent_user_ids(now)
    # The person away still owns cases they took before leaving: that is what the deputy is for.
    assert Case.objects.filter(owner=absence.user, state__in=ACTIVE_STATES).exists()


def test_every_case_has_an_active_owner_in_its_team(demo: DemoCredentials) -> None:
    for case in Case.objects.select_related("owner", "team"):
        assert case.owner.is_active
        assert is_member(case.owner, case.team), case


def test_seed_tells_the_stories(demo: DemoCredentials) -> None:
    tasks = set(ContractorTask.objects.values_list("state", flat=True))
    assert {ContractorTaskState.OPEN, ContractorTaskState.DONE} <= tasks
    assert Case.objects.filter(state=CaseState.WAITING_CONTRACTOR).exists()
    angry = Case.objects.filter(priority=Priority.URGENT)
    assert TimelineEvent.objects.filter(kind=EventKind.PRIORITY, case__in=angry).exists()
    by_phone = Case.objects.filter(channel=Channel.PHONE, created_by__isnull=False)
    assert by_phone.exists()
    assert Customer.objects.filter(email="").exists()  # phone-only customers
    assert Organisation.objects.count() >= 2
    assert Customer.objects.filter(organisation__isnull=False).count() >= 4
    for spec in TEAMS:
        team = Team.objects.get(slug=spec.slug)
        assert team.lead is not None
        assert team.description
        assert Membership.objects.filter(team=team).count() >= 2
    assert Team.objects.get(is_default=True).slug == "support"
    assert User.objects.filter(role="manager").exists()
    # Every resolved or closed case was answered first, and replies to email went to the outbox.
    for case in Case.objects.filter(state__in=[CaseState.RESOLVED, CaseState.CLOSED]):
        assert case.messages.filter(kind="reply").exists(), case
    assert OutboxMessage.objects.filter(kind="reply").count() >= 30


def test_seed_spreads_history_over_weeks_in_order(demo: DemoCredentials) -> None:
    now = clock.now()
    oldest = Case.objects.order_by("created_at").first()
    assert oldest is not None
    assert (now - oldest.created_at).days >= 30
    assert not Message.objects.filter(created_at__gt=now).exists()
    for case in Case.objects.all():
        times = list(case.events.order_by("id").values_list("created_at", flat=True))
        assert times == sorted(times), case
        assert times[0] == case.created_at
        assert case.updated_at >= case.created_at
        if case.resolved_at is not None:
            assert case.created_at < case.resolved_at < now


def test_seed_twice_creates_nothing_new(demo: DemoCredentials) -> None:
    models: list[type[Model]] = [
        User,
        Team,
        Membership,
        Absence,
        Organisation,
        Customer,
        ApiToken,
        Case,
        Message,
        TimelineEvent,
        Handoff,
        ContractorTask,
        OutboxMessage,
    ]
    before = {model.__name__: model._default_manager.count() for model in models}
    again = seed(password="given")
    after = {model.__name__: model._default_manager.count() for model in models}
    assert after == before
    assert not again.created
    assert again.token is None
    assert again.password == "given"


# --- the command, as a user runs it ---------------------------------------------------------


def _env(data_dir: Path) -> dict[str, str]:
    env = {**os.environ, "POMOGU_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"}
    for name in ("DATABASE_URL", "POMOGU_EMAIL_BACKEND", "POMOGU_SITE_URL", "PORT"):
        env.pop(name, None)
    return env


def _pomogu(data_dir: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pomogu", *args],
        env=_env(data_dir),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _token_works(data_dir: Path, token: str) -> str:
    """Ask the demo's own database, in a separate process, whom the token belongs to."""
    code = (
        "from pomogu.people.services import user_for_token; "
        f"user = user_for_token({token!r}); print(user.username if user else 'NOBODY')"
    )
    result = _pomogu(data_dir, "shell", "-c", code)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_demo_no_serve_prints_a_working_login_and_keeps_it(tmp_path: Path) -> None:
    first = _pomogu(tmp_path, "demo", "--no-serve")
    assert first.returncode == 0, first.stderr
    out = first.stdout
    for url in (
        "http://127.0.0.1:8000/",
        "http://127.0.0.1:8000/admin/",
        "http://127.0.0.1:8000/api/v1/",
        "http://127.0.0.1:8000/api/v1/openapi.json",
        "http://127.0.0.1:8000/api/v1/docs",
        "http://127.0.0.1:8000/healthz",
    ):
        assert url in out
    assert re.search(r"Login:\s+admin\b", out)
    password = re.search(r"Password:\s+(\S+)", out)
    assert password is not None
    tokens = TOKEN_RE.findall(out)
    assert len(tokens) == 1
    assert _token_works(tmp_path, tokens[0]) == "admin"
    assert str(tmp_path / "outbound-mail") in out

    credentials = tmp_path / "demo-credentials.json"
    assert credentials.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "pomogu.sqlite3").exists()

    # A second run reuses the data and prints the same login.
    second = _pomogu(tmp_path, "demo", "--no-serve")
    assert second.returncode == 0, second.stderr
    assert TOKEN_RE.findall(second.stdout) == tokens
    assert f"Password:      {password.group(1)}" in second.stdout
    assert "demo data built now" not in second.stdout

    # Without the credentials file the data stays, a new token is made, the password is unknown.
    credentials.unlink()
    third = _pomogu(tmp_path, "demo", "--no-serve", "--port", "8123")
    assert third.returncode == 0, third.stderr
    new_tokens = TOKEN_RE.findall(third.stdout)
    assert len(new_tokens) == 1
    assert new_tokens != tokens
    assert _token_works(tmp_path, new_tokens[0]) == "admin"
    assert "changepassword" in third.stdout
    assert "http://127.0.0.1:8123/healthz" in third.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Output:
    """Collects a process's output in a thread, so the pipe never fills up."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        assert process.stdout is not None
        self._stream = process.stdout
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        for line in self._stream:
            self.lines.append(line)

    @property
    def text(self) -> str:
        return "".join(self.lines)


@pytest.fixture
def running_demo(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], _Output, str]]:
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pomogu",
            "demo",
            "--port",
            str(port),
            "--lmtp-port",
            str(_free_port()),
        ],
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = _Output(process)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, output.text
            assert time.monotonic() < deadline, "no /healthz within 60 s:\n" + output.text
            try:
                if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        yield process, output, base
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


@pytest.fixture
def api_client() -> Iterator[Callable[[str, str], httpx.Client]]:
    """``api_client(base, token)``: an HTTP client for the demo's API, closed after the test."""
    clients: list[httpx.Client] = []

    def make(base: str, token: str) -> httpx.Client:
        client = httpx.Client(
            base_url=base + "/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def test_demo_serves_the_api_end_to_end_and_stops_cleanly_on_ctrl_c(
    running_demo: tuple[subprocess.Popen[str], _Output, str],
    tmp_path: Path,
    api_client: Callable[[str, str], httpx.Client],
) -> None:
    process, output, base = running_demo
    assert httpx.get(base + "/healthz").json() == {"status": "ok"}
    tokens = TOKEN_RE.findall(output.text)
    assert tokens, output.text
    admin = api_client(base, tokens[0])

    opened = admin.post(
        "/cases",
        json={
            "customer": {"email": "new.customer@example.com", "name": "New Customer"},
            "subject": "Интернет пропал после грозы",
            "body": "После грозы не работает интернет, роутер горит оранжевым.",
            "channel": "email",
        },
    )
    assert opened.status_code == 201, opened.text
    case = opened.json()
    assert case["team"]["slug"] == "support"
    owner = case["owner"]["username"]
    assert owner
    assert case["state"] == "new"

    asked = admin.post(
        f"/cases/{case['id']}/handoffs",
        json={"to_team": "billing", "reason": "The customer asks for a refund for the outage."},
    )
    assert asked.status_code == 201, asked.text
    handoff_id = asked.json()["id"]
    still = admin.get(f"/cases/{case['id']}").json()
    assert still["owner"]["username"] == owner  # the sender stays accountable (R2)
    assert still["pending_handoff"] == handoff_id

    # A billing agent (not the lead, not away) accepts with their own token, made by the CLI
    # against the same data directory while the demo runs.
    billing = next(spec for spec in TEAMS if spec.slug == "billing")
    receiver = next(name for name in billing.members if name != ABSENT)
    made = _pomogu(tmp_path, "token", "create", receiver, timeout=60)
    assert made.returncode == 0, made.stderr
    receiver_token = made.stdout.strip().splitlines()[-1]
    assert TOKEN_RE.fullmatch(receiver_token)
    agent = api_client(base, receiver_token)
    accepted = agent.post(f"/handoffs/{handoff_id}/accept")
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["state"] == "accepted"
    after = admin.get(f"/cases/{case['id']}").json()
    assert after["owner"]["username"] == receiver
    assert after["team"]["slug"] == "billing"
    assert after["pending_handoff"] is None

    assert admin.get("/openapi.json").status_code == 200
    listed = admin.get("/cases", params={"limit": 100}).json()
    assert listed["count"] >= 41

    # Mail to the demo's LMTP endpoint becomes a case, seen through the API (R1).
    from pomogu.intake.tests.lmtp_client import LmtpClient

    lmtp_port = int(re.search(r"LMTP:\s+127\.0\.0\.1:(\d+)", output.text).group(1))  # type: ignore[union-attr]
    client = LmtpClient("127.0.0.1", lmtp_port)
    raw = (
        "From: Ivan <ivan@romashka.example>\r\nTo: buh@demo.example\r\n"
        "Subject: =?utf-8?b?0J3QtdGCINC40L3RgtC10YDQvdC10YLQsA==?=\r\n"
        "Message-ID: <demo-lmtp-1@romashka.example>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        "Добрый день! С утра нет интернета.\r\n"
    ).encode()
    [reply] = client.send("ivan@romashka.example", ["buh@demo.example"], raw)
    client.close()
    assert reply.code == 250
    mailed = admin.get("/cases", params={"limit": 1}).json()["items"][0]
    assert mailed["subject"] == "Нет интернета"
    assert mailed["customer"]["email"] == "ivan@romashka.example"
    assert mailed["channel"] == "email"

    process.send_signal(signal.SIGINT)
    assert process.wait(15) == 0, output.text
    assert "Stopped." in output.text


def test_every_page_has_something_to_show_on_the_first_start(demo: DemoCredentials) -> None:
    """Issue 7: the demo makes every page meaningful: queues with cases, a case with its
    thread and related cases, search results, the failure register, the knowledge base, the
    public help centre and a customer's portal."""
    from django.test import Client

    from pomogu.core.runner import run_once
    from pomogu.portal.tests.support import sign_in

    run_once()  # the runner's first round: overdue clocks become failures, mail is sent
    lead = User.objects.get(username=TEAMS[0].lead)
    staff = Client()
    staff.force_login(lead)
    home = staff.get("/").content.decode()
    assert 'class="cases"' in home or "card-title" in home
    queue = staff.get(f"/team/{TEAMS[0].slug}/").content.decode()
    assert 'href="/cases/' in queue
    case = Case.objects.filter(team__slug=TEAMS[0].slug).order_by("-created_at").first()
    assert case is not None
    page = staff.get(f"/cases/{case.number}/").content.decode()
    assert case.subject in page
    related = staff.get(f"/cases/{case.number}/related/")
    assert related.status_code == 200
    found = staff.get("/search/?q=интернет").content.decode()
    assert 'href="/cases/' in found
    assert staff.get("/kb/").content.decode().count('href="/kb/') >= 3
    manager = Client()
    manager.force_login(User.objects.get(username="o.volkova"))
    register = manager.get("/register/").content.decode()
    assert "<svg" in register
    assert "/register/failures/" in register
    public = Client()
    assert public.get("/help/").content.decode().count('href="/help/') >= 3
    portal = sign_in(Client(), "t.egorova@vektor-logistika.example")
    mine = portal.get("/my/").content.decode()
    assert 'href="/my/cases/' in mine
