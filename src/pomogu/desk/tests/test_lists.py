"""The team queue: filters, keyset pages, saved views, bulk actions, and the live-update polls
of the queue and the case page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from pomogu.cases import services
from pomogu.cases.choices import EventKind, Priority
from pomogu.cases.models import Case, TimelineEvent
from pomogu.core.testing import PASSWORD, Cast
from pomogu.desk import lists
from pomogu.desk.models import SavedView
from pomogu.people.models import User

HTMX = {"HTTP_HX_REQUEST": "true"}


def login(client: Client, user: User) -> Client:
    assert client.login(username=user.username, password=PASSWORD)
    return client


def numbers_on(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'<td><a href="/cases/(\d+)/">#', page)]


def next_link(page: str) -> str | None:
    found = re.search(r'<a href="([^"]+)" rel="next">', page)
    return found.group(1).replace("&amp;", "&") if found else None


@pytest.fixture
def queue(cast: Cast, monkeypatch: pytest.MonkeyPatch) -> list[Case]:
    """Twelve cases in Technical support, of mixed priority, read five to a page."""
    monkeypatch.setattr(lists, "PAGE_SIZE", 5)
    made = []
    for i in range(12):
        case = cast.open_case(subject=f"Queue case {i}")
        if i % 4 == 0:
            services.set_priority(case.pk, actor=cast.alice, priority=Priority.URGENT)
        made.append(Case.objects.get(pk=case.pk))
    return made


def test_keyset_pages_walk_the_whole_queue_in_order_without_repeats(
    cast: Cast, client: Client, queue: list[Case]
) -> None:
    login(client, cast.bob)
    url: str | None = "/team/support/"
    seen: list[int] = []
    pages = 0
    while url:
        page = client.get(url).content.decode()
        seen += numbers_on(page)
        url = next_link(page)
        pages += 1
    assert pages == 3
    expected = [
        c.number
        for c in sorted(
            queue, key=lambda c: (-Case.objects.get(pk=c.pk).priority, c.created_at, c.pk)
        )
    ]
    assert seen == expected
    assert len(set(seen)) == 12


def test_a_forged_cursor_shows_the_first_page(
    cast: Cast, client: Client, queue: list[Case]
) -> None:
    login(client, cast.bob)
    first = numbers_on(client.get("/team/support/").content.decode())
    forged = numbers_on(client.get("/team/support/?after=bm90LXNpZ25lZA").content.decode())
    assert forged == first
    assert lists.read_cursor("garbage:abc", "priority") is None


def test_filters_by_owner_and_priority_and_ignore_nonsense(
    cast: Cast, client: Client, queue: list[Case]
) -> None:
    services.assign(queue[1].pk, actor=cast.alice, to_user=cast.alice)
    login(client, cast.alice)
    mine = numbers_on(client.get("/team/support/?owner=me").content.decode())
    assert queue[1].number in mine
    assert all(Case.objects.get(number=n).owner_id == cast.alice.pk for n in mine)
    urgent = numbers_on(client.get("/team/support/?priority=4").content.decode())
    assert sorted(urgent) == sorted(c.number for c in queue[::4])
    # carol is not a member: her id as an owner filter is ignored, not an error
    nonsense = client.get(f"/team/support/?owner={cast.carol.pk}&priority=99&sort=drop+table")
    assert nonsense.status_code == 200
    assert numbers_on(nonsense.content.decode()) == numbers_on(
        client.get("/team/support/").content.decode()
    )


def test_saved_views_belong_to_their_owner(cast: Cast, client: Client, queue: list[Case]) -> None:
    login(client, cast.bob)
    response = client.post(
        "/team/support/views/", {"name": "Срочные", "query": "priority=4&sort=oldest&x=1"}
    )
    assert response.status_code == 302
    view = SavedView.objects.get(owner=cast.bob)
    assert view.query == "priority=4&sort=oldest"
    page = client.get("/team/support/").content.decode()
    assert 'href="?priority=4&amp;sort=oldest"' in page
    assert "Срочные" in page
    login(client, cast.alice)
    assert "Срочные" not in client.get("/team/support/").content.decode()
    assert client.post(f"/views/{view.pk}/delete/").status_code == 404
    login(client, cast.bob)
    client.post(f"/views/{view.pk}/delete/")
    assert not SavedView.objects.exists()


def test_only_a_lead_changes_many_cases_at_once(
    cast: Cast, client: Client, queue: list[Case]
) -> None:
    ticked = [str(c.number) for c in queue[:3]]
    login(client, cast.bob)
    assert 'form="bulk"' not in client.get("/team/support/").content.decode()
    response = client.post(
        "/team/support/bulk/", {"case": ticked, "action": "assign", "to_user": cast.bob.pk}
    )
    assert response.status_code == 403
    assert not TimelineEvent.objects.filter(kind=EventKind.ASSIGNED, actor=cast.bob).exists()


def test_a_lead_assigns_and_reprioritises_ticked_cases_and_hears_of_those_left_alone(
    cast: Cast, client: Client, queue: list[Case]
) -> None:
    other = cast.open_case(team=cast.billing, subject="Billing's own")
    moving = [c for c in queue[:3] if c.owner_id != cast.bob.pk]  # the router spread them
    assert moving
    ticked = [str(c.number) for c in queue[:3]] + [str(other.number)]
    login(client, cast.alice)
    assert 'form="bulk"' in client.get("/team/support/").content.decode()
    response = client.post(
        "/team/support/bulk/",
        {"case": ticked, "action": "assign", "to_user": cast.bob.pk, "query": "sort=oldest"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/team/support/?sort=oldest"
    page = response.content.decode()
    assert "3 cases changed." in page
    assert f"#{other.number} is not in this queue" in page
    assert Case.objects.filter(pk__in=[c.pk for c in queue[:3]], owner=cast.bob).count() == 3
    assert Case.objects.get(pk=other.pk).owner != cast.bob
    assigned = TimelineEvent.objects.filter(
        kind=EventKind.ASSIGNED, case__in=queue[:3], actor=cast.alice
    )
    assert assigned.count() == len(moving)
    client.post("/team/support/bulk/", {"case": ticked[:2], "action": "priority", "priority": "3"})
    assert {c.priority for c in Case.objects.filter(pk__in=[c.pk for c in queue[:2]])} == {3}
    # carol (Billing) is not a member of Technical support: cannot be given its cases
    client.post(
        "/team/support/bulk/", {"case": ticked[3:4], "action": "assign", "to_user": cast.carol.pk}
    )
    assert Case.objects.get(pk=queue[3].pk).owner != cast.carol


def test_the_queue_poll_is_quiet_until_the_queue_changes(
    cast: Cast, client: Client, queue: list[Case]
) -> None:
    login(client, cast.bob)
    page = client.get("/team/support/").content.decode()
    live = re.search(r'hx-get="([^"]+)" hx-trigger="every 15s"', page)
    assert live is not None
    poll = live.group(1).replace("&amp;", "&")
    assert client.get(poll, **HTMX).status_code == 204
    cast.open_case(subject="Пришла новая заявка")
    services.set_priority(queue[-1].pk, actor=cast.alice, priority=Priority.URGENT)
    changed = client.get(poll, **HTMX)
    assert changed.status_code == 200
    assert "This queue has changed." in changed.content.decode()


def test_the_case_page_poll_names_who_changed_the_case(cast: Cast, client: Client) -> None:
    case = cast.open_case()
    login(client, cast.bob)
    page = client.get(f"/cases/{case.number}/").content.decode()
    live = re.search(r'hx-get="([^"]+)" hx-trigger="every 10s"', page)
    assert live is not None
    poll = live.group(1)
    assert client.get(poll, **HTMX).status_code == 204
    services.add_message(case.pk, actor=cast.alice, body="Посмотрю сама.", kind="note")
    changed = client.get(poll, **HTMX)
    assert changed.status_code == 200
    assert "Alice Lead changed this case." in changed.content.decode()
    # the agent's own change re-renders the header with a fresh stamp: no notice for it
    response = client.post(f"/cases/{case.number}/note/", {"body": "Моя заметка"}, **HTMX)
    fresh = re.search(r'hx-get="([^"]+)" hx-trigger="every 10s"', response.content.decode())
    assert fresh is not None
    assert client.get(fresh.group(1), **HTMX).status_code == 204
    login(client, cast.carol)
    assert client.get(poll, **HTMX).status_code == 404


@pytest.mark.parametrize("count", [5, 20])
def test_a_later_page_costs_the_same_queries(
    cast: Cast,
    client: Client,
    django_assert_max_num_queries: Any,
    monkeypatch: pytest.MonkeyPatch,
    count: int,
) -> None:
    monkeypatch.setattr(lists, "PAGE_SIZE", 2)
    for i in range(count):
        cast.open_case(subject=f"Case {i}")
    login(client, cast.alice)
    second = next_link(client.get("/team/support/").content.decode())
    assert second is not None
    with django_assert_max_num_queries(TEAM_QUEUE_BUDGET):
        response = client.get(second)
    assert len(numbers_on(response.content.decode())) == 2


TEAM_QUEUE_BUDGET = 10


def test_my_work_lists_the_most_urgent_and_points_to_the_rest(
    cast: Cast, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pomogu.desk import views

    monkeypatch.setattr(views, "MY_WORK_LIMIT", 2)
    made = [cast.open_case(subject=f"Мой случай {i}") for i in range(3)]
    for case in made:
        services.assign(case.pk, actor=cast.alice, to_user=cast.bob)
    services.set_priority(made[2].pk, actor=cast.alice, priority=Priority.URGENT)
    login(client, cast.bob)
    page = client.get("/").content.decode()
    shown = numbers_on(page)
    assert len(shown) == 2
    assert shown[0] == made[2].number  # the urgent one first
    assert "The 2 most urgent of your 3 active cases" in page
    assert 'href="/team/support/?owner=me"' in page


def test_my_work_lists_the_longest_waiting_requests_for_routing(
    cast: Cast, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pomogu.desk import views
    from pomogu.triage.models import RoutingDecision

    monkeypatch.setattr(views, "UNROUTED_LIMIT", 2)
    made = [cast.open_case(subject=f"Куда это? {i}") for i in range(3)]
    for case in made:
        RoutingDecision.objects.update_or_create(
            case=case, defaults={"team": cast.support, "source": "model", "needs_person": True}
        )
    login(client, cast.bob)
    page = client.get("/").content.decode()
    assert "Куда это? 0" in page
    assert "Куда это? 1" in page
    assert "Куда это? 2" not in page  # the newest waits below the fold
    assert "The 2 that have waited longest." in page
    assert '<span class="count">3</span>' in page
