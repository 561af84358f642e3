"""Two tabs at the same moment, each on its own database connection: one sign-in link signs in
once, and one reply form sent twice at once makes one message (REL-3)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connections
from django.test import Client

from pomogu.cases.models import Message
from pomogu.core.testing import Cast
from pomogu.portal import services
from pomogu.portal.models import PortalReply
from pomogu.portal.tests.support import last_token

pytestmark = pytest.mark.django_db(transaction=True)


def race(*actions: Callable[[], Any]) -> list[Any]:
    """Run the actions in threads released together; return each result or exception."""
    barrier = threading.Barrier(len(actions))
    results: list[Any] = [None] * len(actions)

    def run(index: int, action: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = action()
        except Exception as error:
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_two_tabs_using_one_link_sign_in_once(cast: Cast) -> None:
    Client().post("/my/sign-in/", {"email": "dave@customer.test"})
    token = last_token("dave@customer.test")
    results = race(*[lambda: services.use_link(token)] * 4)
    assert sorted(results, key=str) == [None, None, None, "dave@customer.test"], results
    assert services.use_link(token) is None


def test_one_form_sent_twice_at_once_makes_one_message(cast: Cast) -> None:
    case = cast.open_case()
    nonce = services.nonce_of(services.new_nonce(case), case)
    assert nonce is not None

    def send() -> Any:
        return services.send_reply(case, body="Double click", files=[], nonce=nonce)

    results = race(send, send)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(new for _message, new in results) == [False, True]
    assert results[0][0].pk == results[1][0].pk
    assert Message.objects.filter(case=case, body="Double click").count() == 1
    assert PortalReply.objects.count() == 1
