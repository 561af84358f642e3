"""The agent desk: pages, forms and htmx fragments, driven through the Django test client."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from pomogu.cases import services
from pomogu.cases.choices import CaseState, EventKind, HandoffState, MessageKind
from pomogu.cases.models import Case, ContractorTask, Handoff, Message
from pomogu.contact.models import OutboxMessage
from pomogu.core.testing import PASSWORD, Cast
from pomogu.people.models import Customer, User

HTMX = {"HTTP_HX_REQUEST": "true"}


def login(client: Client, user: User) -> Client:
    assert client.login(username=user.username, password=PASSWORD)
    return client


def case_url(case: Case, name: str = "case", **kwargs: Any) -> str:
    return reverse(f"desk:{name}", kwargs={"number": case.number, **kwargs})


def reload(case: Case) -> Case:
    return Case.objects.get(pk=case.pk)


# --- access ---------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/", "/team/support/", "/cases/new/", "/cases/1/"])
def test_anonymous_is_redirected_to_login(cast: Cast, client: Client, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("desk:login"))


def test_login_page_signs_in_and_lands_on_my_work(cast: Cast, client: Client) -> None:
    page = client.get(reverse("desk:login"))
    assert page.status_code == 200
    assert b'name="username"' in page.content
    response = client.post(
        reverse("desk:login"), {"username": "bob", "password": PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("desk:home")
    assert "My work" in response.content.decode()


def test_logout_is_a_post(cast: Cast, client: Client) -> None:
    login(client, cast.bob)
    response = client.post(reverse("desk:logout"))
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_bob_sees_his_case_in_my_work(cast: Cast, client: Client) -> None:
    case = cast.open_case(subject="Router blinks red")
    services.assign(case.pk, actor=cast.alice, to_user=cast.bob)
    cast.open_case(subject="Someone else's", team=cast.billing)
    login(client, cast.bob)
    response = client.get("/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Router blinks red" in body
    assert case_url(case) in body
    assert "Someone else" not in body


def test_page_shell_loads_local_htmx_without_inline_script(cast: Cast, client: Client) -> None:
    login(client, cast.bob)
    body = client.get("/").content.decode()
    assert "/static/django_htmx/htmx-2.min.js" in body
    assert "X-CSRFToken" in body
    assert "<script>" not in body
    assert "https://" not in body.split("<body", 1)[0]
    assert " onclick=" not in body
    assert " onchange=" not in body


def test_carol_gets_404_on_a_support_case_and_its_team_queue(cast: Cast, client: Client) -> None:
    case = cast.open_case()
    login(client, cast.carol)
    assert client.get(case_url(case)).status_code == 404
    assert client.get(reverse("desk:team", kwargs={"slug": "support"})).status_code == 404
    assert client.get(reverse("desk:team", kwargs={"slug": "billing"})).status_code == 200


def test_carol_gets_404_on_every_post_action_for_a_support_case(cast: Cast, client: Client) -> None:
    case = cast.open_case()
    owner = reload(case).owner
    # A pending handoff inside support and an open contractor task, so every URL has an object.
    other = cast.alice if owner.pk != cast.alice.pk else cast.bob
    handoff = services.request_handoff(
        case.pk, actor=owner, to_team=cast.support, to_user=other, reason="Take it"
    )
    task = services.add_contractor_task(
        case.pk, actor=owner, contractor="ISP", description="Check the line"
    )
    login(client, cast.carol)
    data = {
        "body": "x",
        "reason": "x",
        "to_team": cast.billing.pk,
        "resolution": "solved",
        "contractor": "x",
        "description": "x",
        "outcome": "x",
    }
    urls = [
        case_url(case, "reply"),
        case_url(case, "note"),
        case_url(case, "request_handoff"),
        case_url(case, "accept_handoff", handoff_id=handoff.pk),
        case_url(case, "decline_handoff", handoff_id=handoff.pk),
        case_url(case, "cancel_handoff", handoff_id=handoff.pk),
        case_url(case, "add_task"),
        case_url(case, "finish_task", task_id=task.pk),
        case_url(case, "resolve"),
        case_url(case, "reopen"),
    ]
    for url in urls:
        assert client.post(url, data).status_code == 404, url
        assert client.post(url, data, **HTMX).status_code == 404, url
    assert Message.objects.filter(case=case).count() == 1
    assert Handoff.objects.get(pk=handoff.pk).state == HandoffState.REQUESTED
    assert ContractorTask.objects.get(pk=task.pk).outcome == ""


def test_manager_sees_every_team_queue(cast: Cast, client: Client) -> None:
    cast.open_case(subject="Billing question", team=cast.billing)
    login(client, cast.mallory)
    body = client.get("/team/billing/").content.decode()
    assert "Billing question" in body
    assert 'href="/team/support/"' in body


def test_team_queue_filters_by_state(cast: Cast, client: Client) -> None:
    open_one = cast.open_case(subject="Still broken")
    done = cast.open_case(subject="All fixed")
    owner = reload(done).owner
    services.add_message(done.pk, actor=owner, body="Fixed it.")
    services.resolve(done.pk, actor=owner)
    login(client, cast.alice)
    active = client.get("/team/support/").content.decode()
    assert "Still broken" in active
    assert "All fixed" not in active
    resolved = client.get("/team/support/?state=resolved").content.decode()
    assert "All fixed" in resolved
    assert "Still broken" not in resolved
    assert open_one.subject in client.get("/team/support/?state=all").content.decode()


# --- the case page --------------------------------------------------------------------------


def test_case_page_shows_thread_escaped_and_the_timeline(cast: Cast, client: Client) -> None:
    case = cast.open_case(body="<script>alert(1)</script>\nsecond line")
    services.add_message(case.pk, actor=cast.alice, body="Checking", kind=MessageKind.NOTE)
    login(client, cast.alice)
    body = client.get(case_url(case)).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;<br>second line" in body
    assert "<script>alert(1)" not in body
    assert "msg--inbound" in body
    assert "msg--note" in body
    assert "Case opened (Email); team Technical support" in body
    assert "Internal note added." in body


def test_reply_by_plain_post_creates_reply_and_outbox_row(cast: Cast, client: Client) -> None:
    case = cast.open_case()
    login(client, cast.bob)
    response = client.post(case_url(case, "reply"), {"body": "We are on it."})
    assert response.status_code == 302
    assert response["Location"] == case_url(case) + "#activity"
    reply = Message.objects.get(case=case, kind=MessageKind.REPLY)
    assert reply.author == cast.bob
    assert OutboxMessage.objects.filter(message=reply, to_email="dave@customer.test").exists()
    assert reload(case).state == CaseState.OPEN
    assert "Reply sent." in client.get(response["Location"]).content.decode()


def test_reply_by_htmx_returns_the_fragment_and_queues_mail(cast: Cast, client: Client) -> None:
    case = cast.open_case()
    login(client, cast.bob)
    response = client.post(
        case_url(case, "reply"),
        {"body": "Please restart the router.", "wait_for_customer": "on"},
        **HTMX,
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="activity"')
    assert "Please restart the router." in body
    assert 'id="actions" class="actions" hx-swap-oob="true"' in body
    assert 'id="case-header" class="case-header" hx-swap-oob="true"' in body
    assert "<html" not in body
    reply = Message.objects.get(case=case, kind=MessageKind.REPLY)
    assert OutboxMessage.objects.filter(message=reply).count() == 1
    assert reload(case).state == CaseState.WAITING_CUSTOMER


def test_note_is_internal_and_sends_nothing(cast: Cast, client: Client) -> None:
    case = cast.open_case()
    login(client, cast.bob)
    response = client.post(case_url(case, "note"), {"body": "Customer is VIP"}, **HTMX)
    assert response.status_code == 200
    assert Message.objects.filter(case=case, kind=MessageKind.NOTE).count() == 1
    assert not OutboxMessage.objects.filter(case=case).exists()


def test_empty_reply_is_refused_next_to_the_form(cast: Cast, client: Client) -> None:
    case = cast.open_case()
    login(client, cast.bob)
    response = client.post(case_url(case, "reply"), {"body": ""}, **HTMX)
    assert response.status_code == 422
    assert "This field is required." in response.content.decode()
    assert not Message.objects.filter(case=case, kind=MessageKind.REPLY).exists()


def test_handoff_to_billing_keeps_bob_owner_until_carol_accepts(cast: Cast, client: Client) -> None:
    case = cast.open_case()
    owner = reload(case).owner
    login(client, owner)
    response = client.post(
        case_url(case, "request_handoff"),
        {"to_team": cast.billing.pk, "to_user": "", "reason": "It is an invoice question"},
        **HTMX,
    )
    assert response.status_code == 200
    assert 'id="actions"' in response.content.decode()
    handoff = Handoff.objects.get(case=case)
    assert handoff.state == HandoffState.REQUESTED
    assert reload(case).owner == owner

    carol = login(Client(), cast.carol)
    home = carol.get("/").content.decode()
    assert case.subject in home
    assert case_url(case, "accept_handoff", handoff_id=handoff.pk) in home
    response = carol.post(case_url(case, "accept_handoff", handoff_id=handoff.pk))
    assert response.status_code == 302
    case = reload(case)
    assert case.owner == cast.carol
    assert case.team == cast.billing
    assert "Handoff accepted." in carol.get(case_url(case)).content.decode()


def test_decline_keeps_the_owner_and_shows_on_the_timeline(cast: Cast, client: Client) -> None:
    case = cast.open_case()
    owner = reload(case).owner
    handoff = services.request_handoff(
        case.pk, actor=owner, to_team=cast.billing, reason="Looks like billing"
    )
    carol = login(client, cast.carol)
    response = carol.post(
        case_url(case, "decline_handoff", handoff_id=handoff.pk),
        {"reason": "No invoice involved", "back": "home"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("desk:home")
    assert reload(case).owner == owner
    assert Handoff.objects.get(pk=handoff.pk).state == HandoffState.DECLINED
    # Carol no longer sees the case; its owner sees the refusal on the timeline.
    assert carol.get(case_url(case)).status_code == 404
    body = login(Client(), owner).get(case_url(case)).content.decode()
    assert "Handoff declined: No invoice involved" in body


def test_decline_by_htmx_when_the_case_leaves_sight_redirects_home(
    cast: Cast, client: Client
) -> None:
    case = cast.open_case()
    owner = reload(case).owner
    handoff = services.request_handoff(case.pk, actor=owner, to_team=cast.billing, reason="?")
    login(client, cast.carol)
    response = client.post(
        case_url(case, "decline_handoff", handoff_id=handoff.pk), {"reason": "Not ours"}, **HTMX
    )
    assert response["HX-Redirect"] == reverse("desk:home")


def test_decline_without_reason_is_shown_not_saved(cast: Cast, client: Client) -> None:
    case = cast.open_case()
    owner = reload(case).owner
    handoff = services.request_handoff(case.pk, actor=owner, to_team=cast.billing, reason="?")
    login(client, cast.carol)
    response = client.post(
        case_url(case, "decline_handoff", handoff_id=handoff.pk), {"reason": "  "}, **HTMX
    )
    assert response.status_code == 422
    assert Handoff.objects.get(pk=handoff.pk).state == HandoffState.REQUESTED


def test_cancel_handoff_withdraws_it(cast: Cast, client: Client) -> None:
    case = cast.open_case()
    owner = reload(case).owner
    handoff = services.request_handoff(case.pk, actor=owner, to_team=cast.billing, reason="?")
    login(client, owner)
    response = client.post(case_url(case, "cancel_handoff", handoff_id=handoff.pk), **HTMX)
    assert response.status_code == 200
    assert Handoff.objects.get(pk=handoff.pk).state == HandoffState.CANCELLED
    assert "Handoff withdrawn." in response.content.decode()


def test_second_handoff_while_one_waits_shows_the_domain_error(cast: Cast, client: Client) -> None:
    case = cast.open_case()
    owner = reload(case).owner
    services.request_handoff(case.pk, actor=owner, to_team=cast.billing, reason="?")
    login(client, owner)
    response = client.post(
        case_url(case, "request_handoff"), {"to_team": cast.billing.pk, "reason": "again"}
    )
    assert response.status_code == 422
    assert "A handoff of this case is already waiting for an answer." in (response.content.decode())


def test_resolve_before_any_reply_shows_the_error_not_a_500(cast: Cast, client: Client) -> None:
    case = cast.open_case()
    login(client, reload(case).owner)
    for extra in ({}, HTMX):
        response = client.post(
            case_url(case, "resolve"), {"resolution": "solved", "summary": ""}, **extra
        )
        assert response.status_code == 422
        assert "The customer has not had an answer yet." in response.content.decode()
    assert reload(case).state == CaseState.NEW


def test_resolve_then_reopen_through_the_desk(cast: Cast, client: Client) -> None:
    case = cast.open_case()
    login(client, reload(case).owner)
    client.post(case_url(case, "reply"), {"body": "Fixed on our side."})
    response = client.post(
        case_url(case, "resolve"), {"resolution": "solved", "summary": "Line reset"}
    )
    assert response.status_code == 302
    assert reload(case).state == CaseState.RESOLVED
    response = client.post(case_url(case, "reopen"), {"reason": "It broke again"}, **HTMX)
    assert response.status_code == 200
    case = reload(case)
    assert case.state == CaseState.OPEN
    assert case.reopen_count == 1
    assert "Reopened (time 1): It broke again" in response.content.decode()


def test_contractor_task_is_added_and_finished(cast: Cast, client: Client) -> None:
    case = cast.open_case()
    login(client, reload(case).owner)
    response = client.post(
        case_url(case, "add_task"),
        {
            "contractor": "City ISP",
            "description": "Repair the cable",
            "wait": "on",
            "due_at": "2030-01-02T10:00",
        },
        **HTMX,
    )
    assert response.status_code == 200
    task = ContractorTask.objects.get(case=case)
    assert reload(case).state == CaseState.WAITING_CONTRACTOR
    response = client.post(
        case_url(case, "finish_task", task_id=task.pk), {"outcome": "Cable replaced"}
    )
    assert response.status_code == 302
    assert ContractorTask.objects.get(pk=task.pk).outcome == "Cable replaced"
    assert reload(case).state == CaseState.OPEN


# --- logging a request for a customer -------------------------------------------------------


def test_logging_a_request_creates_a_case_with_created_by(cast: Cast, client: Client) -> None:
    login(client, cast.bob)
    page = client.get(reverse("desk:new_case")).content.decode()
    assert f'<option value="{cast.support.pk}" selected>' in page
    response = client.post(
        reverse("desk:new_case"),
        {
            "email": "",
            "phone": "+7 900 000-00-00",
            "name": "Gleb Caller",
            "subject": "Called about a refund",
            "body": "He wants his money back.",
            "channel": "phone",
            "team": cast.support.pk,
        },
    )
    case = Case.objects.get(subject="Called about a refund")
    assert response.status_code == 302
    assert response["Location"] == case_url(case)
    assert case.created_by == cast.bob
    assert case.channel == "phone"
    assert case.customer == Customer.objects.get(phone="+79000000000")  # stored as E.164
    assert case.events.filter(kind=EventKind.OPENED, data__on_behalf=True).exists()


def test_logging_a_request_for_another_team_says_who_has_it(cast: Cast, client: Client) -> None:
    login(client, cast.bob)
    response = client.post(
        reverse("desk:new_case"),
        {
            "email": "dave@customer.test",
            "subject": "Invoice twice",
            "body": "Charged twice",
            "channel": "email",
            "team": cast.billing.pk,
        },
        follow=True,
    )
    case = Case.objects.get(subject="Invoice twice")
    assert case.created_by == cast.bob
    assert case.customer == cast.dave
    assert response.redirect_chain[-1][0] == reverse("desk:home")
    body = response.content.decode()
    assert f"Case #{case.number} opened: team Billing has it, and Carol Billing owns it." in body


def test_logging_a_request_needs_a_contact(cast: Cast, client: Client) -> None:
    login(client, cast.bob)
    response = client.post(
        reverse("desk:new_case"),
        {"subject": "?", "body": "?", "channel": "phone", "team": cast.support.pk},
    )
    assert response.status_code == 422
    assert "Give the customer&#x27;s email address or phone number." in response.content.decode()
    response = client.post(
        reverse("desk:new_case"),
        {
            "email": "not an address",
            "subject": "?",
            "body": "?",
            "channel": "phone",
            "team": cast.support.pk,
        },
    )
    assert response.status_code == 422
    assert "is not a valid email address" in response.content.decode()
    assert not Case.objects.exists()


# --- languages ------------------------------------------------------------------------------


def test_russian_ui_by_accept_language(cast: Cast, client: Client) -> None:
    login(client, cast.bob)
    body = client.get("/", HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "Моя работа" in body
    assert 'lang="ru"' in body


def test_language_switcher_sets_russian(cast: Cast, client: Client) -> None:
    login(client, cast.bob)
    response = client.post("/language/", {"language": "ru", "next": "/"})
    assert response.status_code == 302
    assert "Моя работа" in client.get("/").content.decode()
    assert User.objects.get(pk=cast.bob.pk).language == "ru"
    case = cast.open_case()
    body = client.get(case_url(case)).content.decode()
    assert "Обращение" in body or "обращени" in body


def test_the_desk_speaks_the_staff_members_own_language_on_any_browser(
    cast: Cast, client: Client
) -> None:
    User.objects.filter(pk=cast.bob.pk).update(language="ru")
    login(client, cast.bob)
    body = client.get("/", HTTP_ACCEPT_LANGUAGE="en-GB").content.decode()
    assert "Моя работа" in body
    assert 'lang="ru"' in body
    client.post("/language/", {"language": "en", "next": "/"})
    assert User.objects.get(pk=cast.bob.pk).language == "en"
    assert "My work" in client.get("/", HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    alice = login(Client(), cast.alice)  # alice chose nothing: her browser decides
    assert "Моя работа" in alice.get("/", HTTP_ACCEPT_LANGUAGE="ru").content.decode()


# --- query budgets --------------------------------------------------------------------------


def _make_cases(cast: Cast, count: int, owner: User) -> list[Case]:
    made = []
    for i in range(count):
        case = cast.open_case(subject=f"Case {i}")
        if reload(case).owner_id != owner.pk:
            services.assign(case.pk, actor=cast.alice, to_user=owner)
        made.append(case)
    return made


@pytest.mark.parametrize("count", [3, 20])
def test_my_work_queries_do_not_grow_with_cases(
    cast: Cast, client: Client, django_assert_max_num_queries: Any, count: int
) -> None:
    cases = _make_cases(cast, count, cast.bob)
    for case in cases[:2]:
        services.request_handoff(case.pk, actor=cast.bob, to_team=cast.billing, reason="?")
    services.request_handoff(
        cases[2].pk, actor=cast.bob, to_team=cast.support, to_user=cast.alice, reason="?"
    )
    login(client, cast.bob)
    with django_assert_max_num_queries(MY_WORK_BUDGET):
        response = client.get("/")
    assert response.content.decode().count('class="badge badge--handoff"') == 3


@pytest.mark.parametrize("count", [3, 20])
def test_case_page_queries_do_not_grow_with_messages(
    cast: Cast, client: Client, django_assert_max_num_queries: Any, count: int
) -> None:
    case = cast.open_case()
    owner = reload(case).owner
    for i in range(count):
        services.add_message(case.pk, actor=owner, body=f"Reply {i}")
        services.add_message(case.pk, actor=cast.alice, body=f"Note {i}", kind=MessageKind.NOTE)
    services.add_contractor_task(case.pk, actor=owner, contractor="ISP", description="Fix")
    services.request_handoff(case.pk, actor=owner, to_team=cast.billing, reason="?")
    login(client, cast.alice)
    with django_assert_max_num_queries(CASE_PAGE_BUDGET):
        response = client.get(case_url(case))
    assert response.status_code == 200
    assert f"Reply {count - 1}" in response.content.decode()


@pytest.mark.parametrize("count", [3, 20])
def test_team_queue_queries_do_not_grow_with_cases(
    cast: Cast, client: Client, django_assert_max_num_queries: Any, count: int
) -> None:
    _make_cases(cast, count, cast.bob)
    login(client, cast.alice)
    with django_assert_max_num_queries(TEAM_QUEUE_BUDGET):
        response = client.get("/team/support/")
    assert response.content.decode().count("Case ") >= count


MY_WORK_BUDGET = 14  # measured: 12 (session, user, my cases, escalations, due soon, handoffs x2,
# notifications, unrouted, nav teams)
CASE_PAGE_BUDGET = 21  # measured: 19 (routing, deadlines and escalations, live stamp; the
# seldom used forms come later)
TEAM_QUEUE_BUDGET = 10  # measured: 6


def test_the_reply_guard_stops_a_brush_off_in_the_desk_until_a_reason_is_given(
    cast: Cast, client: Client
) -> None:
    case = cast.open_case()
    login(client, reload(case).owner)
    brush_off = "Это не наш отдел, звоните в бухгалтерию."
    page = client.post(case_url(case, "reply"), {"body": brush_off}, **HTMX).content.decode()
    assert "blames someone else" in page or "sends the customer away" in page
    assert not Message.objects.filter(case=case, kind=MessageKind.REPLY).exists()
    client.post(
        case_url(case, "reply"),
        {"body": brush_off, "override_reason": "Клиент просил номер бухгалтерии"},
        **HTMX,
    )
    assert Message.objects.filter(case=case, kind=MessageKind.REPLY).count() == 1


def test_the_reply_guard_warns_while_typing_and_sends_nothing(cast: Cast, client: Client) -> None:
    case = cast.open_case()
    login(client, reload(case).owner)
    url = case_url(case, "check_reply")
    warned = client.post(url, {"body": "Это не наш отдел, звоните в бухгалтерию."}, **HTMX)
    page = warned.content.decode()
    assert warned.status_code == 200
    assert "would stop this reply" in page
    assert "<mark>" in page
    assert "не наш отдел" in page
    assert "Better:" in page
    calm = client.post(url, {"body": "Проверили линию: авария устранена, всё работает."}, **HTMX)
    assert "sees no brush-off" in calm.content.decode()
    assert "would stop" not in calm.content.decode()
    assert client.post(url, {"body": "  "}, **HTMX).content.decode().strip() == ""
    assert not Message.objects.filter(case=case, kind=MessageKind.REPLY).exists()
    assert not OutboxMessage.objects.filter(case=case).exists()
    login(client, cast.carol)  # Billing does not see Technical support's case
    assert client.post(url, {"body": "anything"}, **HTMX).status_code == 404


def test_a_possible_recurrence_is_decided_on_the_case_page(cast: Cast, client: Client) -> None:
    old = cast.open_case(subject="Роутер мигает")
    services.add_message(old.pk, actor=reload(old).owner, body="Перепрошили роутер.")
    services.resolve(old.pk, actor=reload(old).owner)
    new = cast.open_case(subject="Интернет медленный")
    Case.objects.filter(pk=new.pk).update(possible_recurrence_of=old)
    login(client, cast.alice)
    page = client.get(case_url(new)).content.decode()
    assert "The same problem again?" in page
    assert f"case #{old.number}" in page
    response = client.post(case_url(new, "recurrence"), {"same": "yes"})
    assert response["Location"] == case_url(old)
    assert reload(old).state == CaseState.OPEN
    assert reload(new).merged_into_id == old.pk


def test_password_guessing_is_slowed_down_then_forgiven(
    cast: Cast, client: Client, settings: Any
) -> None:
    import datetime as dt

    import time_machine

    from pomogu.core import clock
    from pomogu.core.models import Strike

    settings.POMOGU_SIGN_IN_FAILURES_PER_USER = 3
    settings.POMOGU_SIGN_IN_FAILURES_PER_CLIENT = 5
    for _ in range(3):
        wrong = client.post("/login/", {"username": "Bob", "password": "guess"})
        assert wrong.status_code == 200
    blocked = client.post("/login/", {"username": "bob", "password": PASSWORD})
    assert blocked.status_code == 429
    assert "Too many failed sign-ins" in blocked.content.decode()
    assert "_auth_user_id" not in client.session  # the right password did not get in
    # another username from the same client: two more failures reach the client's limit
    for _ in range(2):
        client.post("/login/", {"username": "alice", "password": "guess"})
    assert client.post("/login/", {"username": "alice", "password": PASSWORD}).status_code == 429
    with time_machine.travel(clock.now() + dt.timedelta(minutes=16), tick=False):
        fine = client.post("/login/", {"username": "bob", "password": PASSWORD})
        assert fine.status_code == 302
    assert not Strike.objects.filter(scope="sign-in user", key="bob").exists()


def test_strangers_cannot_lock_a_staff_member_out(cast: Cast, settings: Any) -> None:
    """AZ-16: failures for bob's username from elsewhere stop the guessers, not bob in the
    browser he signed in from before; a browser that never signed in as bob is stopped."""
    settings.POMOGU_SIGN_IN_FAILURES_PER_USER = 3
    settings.POMOGU_SIGN_IN_FAILURES_PER_CLIENT = 100
    own = Client()
    assert own.post("/login/", {"username": "bob", "password": PASSWORD}).status_code == 302
    own.post("/logout/")
    for n in range(3):
        guesser = Client(REMOTE_ADDR=f"203.0.113.{n}")
        assert guesser.post("/login/", {"username": "bob", "password": "x"}).status_code == 200
    stranger = Client(REMOTE_ADDR="203.0.113.99")
    assert stranger.post("/login/", {"username": "bob", "password": PASSWORD}).status_code == 429
    # A forged cookie does not make a browser bob's.
    forged = Client(REMOTE_ADDR="203.0.113.98")
    forged.cookies["pomogu_known"] = "bob"
    assert forged.post("/login/", {"username": "bob", "password": PASSWORD}).status_code == 429
    assert own.post("/login/", {"username": "bob", "password": PASSWORD}).status_code == 302


def test_seldom_used_forms_come_when_their_panel_opens(cast: Cast, client: Client) -> None:
    case = cast.open_case()
    login(client, reload(case).owner)
    page = client.get(case_url(case)).content.decode()
    assert 'name="contractor"' not in page  # not rendered with every view of the case
    assert f'hx-get="/cases/{case.number}/forms/task/"' in page
    fragment = client.get(f"/cases/{case.number}/forms/task/", **HTMX).content.decode()
    assert 'name="contractor"' in fragment
    assert "<html" not in fragment
    without_js = client.get(f"/cases/{case.number}/forms/appointment/").content.decode()
    assert "<html" in without_js
    assert 'name="starts_at"' in without_js
    assert 'name="contractor"' not in without_js  # only the form asked for
    assert client.get(f"/cases/{case.number}/forms/resolve/").status_code == 404
    login(client, cast.carol)
    assert client.get(f"/cases/{case.number}/forms/task/", **HTMX).status_code == 404
