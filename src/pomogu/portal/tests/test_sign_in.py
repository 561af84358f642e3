"""Signing in to the portal by a one-time link (SEC-6, AZ-6, AZ-10, AZ-11, AZ-15, AZ-16): the
same answer for every address, only a hash stored, a link that works once and for 15 minutes,
that a mail scanner cannot spend, a throttle, a new session key, and a staff login untouched."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
from typing import Any

import pytest
import time_machine
from django.test import Client

from pomogu.contact.models import OutboxKind, OutboxMessage
from pomogu.core import clock
from pomogu.core.testing import PASSWORD, Cast
from pomogu.portal.models import SignInLink, SignInRequest
from pomogu.portal.tests.support import last_token, sign_in

CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')


def sign_in_mail() -> Any:
    return OutboxMessage.objects.filter(kind=OutboxKind.SIGN_IN)


def ask(client: Client, email: str) -> str:
    """The page a customer ends up on, without its CSRF tokens (different every time)."""
    response = client.post("/my/sign-in/", {"email": email}, follow=True)
    assert response.status_code == 200
    return CSRF_RE.sub("", response.content.decode())


def test_signed_out_the_portal_asks_for_an_email_address(cast: Cast, client: Client) -> None:
    response = client.get("/my/")
    page = response.content.decode()
    assert response.status_code == 200
    assert 'action="/my/sign-in/"' in page
    assert 'name="email"' in page
    assert '<label for="id_email">Your email address</label>' in page
    assert 'name="viewport"' in page
    assert '<html lang="en">' in page
    assert 'href="/help/"' in page
    assert "<script" not in page
    assert "style=" not in page


def test_known_and_unknown_addresses_get_the_same_answer_and_only_a_known_one_gets_mail(
    cast: Cast, client: Client
) -> None:
    known = client.post("/my/sign-in/", {"email": "dave@customer.test"})
    unknown = client.post("/my/sign-in/", {"email": "nobody@customer.test"})
    assert (known.status_code, known["Location"]) == (302, "/my/sign-in/sent/")
    assert (unknown.status_code, unknown["Location"]) == (302, "/my/sign-in/sent/")
    assert ask(client, "dave@customer.test") == ask(client, "nobody@x.test")
    assert "If we know this address, a sign-in link is on its way" in (
        client.get("/my/sign-in/sent/").content.decode()
    )

    assert sorted(sign_in_mail().values_list("to_email", flat=True)) == ["dave@customer.test"] * 2
    assert SignInLink.objects.filter(email="nobody@customer.test").count() == 0


def test_the_link_mail_is_automated_and_has_an_absolute_link(
    cast: Cast, client: Client, settings: Any
) -> None:
    settings.SITE_URL = "https://help.example.org"
    client.post("/my/sign-in/", {"email": "dave@customer.test"})
    mail = sign_in_mail().get()
    assert mail.automated
    assert mail.headers["Auto-Submitted"] == "auto-replied"
    assert mail.case is None
    assert f"https://help.example.org/my/link/{last_token('dave@customer.test')}/" in mail.body
    assert "15 minutes" in mail.body


def test_the_address_is_matched_whatever_its_case(cast: Cast, client: Client) -> None:
    client.post("/my/sign-in/", {"email": "  DAVE@Customer.TEST "})
    assert sign_in_mail().get().to_email == "dave@customer.test"


def test_a_malformed_address_is_corrected_not_looked_up(cast: Cast, client: Client) -> None:
    response = client.post("/my/sign-in/", {"email": "dave at customer"})
    assert response.status_code == 422
    assert "like name@example.com" in response.content.decode()
    assert not sign_in_mail().exists()


def test_only_a_hash_of_the_token_is_stored(cast: Cast, client: Client) -> None:
    client.post("/my/sign-in/", {"email": "dave@customer.test"})
    token = last_token("dave@customer.test")
    assert len(token) >= 43  # 32 random bytes
    link = SignInLink.objects.get()
    assert link.digest == hashlib.sha256(token.encode()).hexdigest()
    stored = [str(value) for value in SignInLink.objects.values().get().values()]
    assert not any(token in value for value in stored)
    assert link.expires_at - link.created_at == dt.timedelta(minutes=15)


def test_opening_the_link_changes_nothing_only_its_button_signs_in(
    cast: Cast, client: Client
) -> None:
    client.post("/my/sign-in/", {"email": "dave@customer.test"})
    token = last_token("dave@customer.test")
    for _ in range(3):  # a mail scanner, a preview, the customer
        page = client.get(f"/my/link/{token}/")
        assert page.status_code == 200
        assert 'action="/my/link/"' in page.content.decode()
        assert f'name="token" value="{token}"' in page.content.decode()
    assert client.head(f"/my/link/{token}/").status_code == 200
    assert client.put(f"/my/link/{token}/").status_code == 405
    assert SignInLink.objects.get().used_at is None
    assert "portal_email" not in client.session
    assert client.get("/my/cases/1/").status_code == 302

    assert client.post("/my/link/", {"token": token}).status_code == 302
    assert client.session["portal_email"] == "dave@customer.test"
    assert SignInLink.objects.get().used_at is not None


def test_a_link_works_once(cast: Cast, client: Client) -> None:
    client.post("/my/sign-in/", {"email": "dave@customer.test"})
    token = last_token("dave@customer.test")
    assert client.post("/my/link/", {"token": token}).status_code == 302

    other = Client()  # another tab, or whoever else got hold of the link
    again = other.post("/my/link/", {"token": token})
    assert again.status_code == 410
    assert "This link no longer works" in again.content.decode()
    assert 'href="/my/"' in again.content.decode()
    assert "portal_email" not in other.session
    assert other.get(f"/my/link/{token}/").status_code == 410


def test_using_a_link_spends_the_other_links_of_the_address(cast: Cast, client: Client) -> None:
    client.post("/my/sign-in/", {"email": "dave@customer.test"})
    first = last_token("dave@customer.test")
    client.post("/my/sign-in/", {"email": "dave@customer.test"})
    second = last_token("dave@customer.test")
    assert client.post("/my/link/", {"token": second}).status_code == 302
    assert Client().post("/my/link/", {"token": first}).status_code == 410


def test_a_link_expires_after_15_minutes(cast: Cast, client: Client) -> None:
    with time_machine.travel(clock.now(), tick=False) as traveller:
        client.post("/my/sign-in/", {"email": "dave@customer.test"})
        token = last_token("dave@customer.test")
        traveller.shift(dt.timedelta(minutes=14, seconds=59))
        assert client.get(f"/my/link/{token}/").status_code == 200
        traveller.shift(dt.timedelta(seconds=2))
        assert client.get(f"/my/link/{token}/").status_code == 410
        assert client.post("/my/link/", {"token": token}).status_code == 410
        assert "portal_email" not in client.session


def test_the_link_lifetime_is_a_setting(cast: Cast, client: Client, settings: Any) -> None:
    settings.POMOGU_PORTAL_LINK_MINUTES = 2
    with time_machine.travel(clock.now(), tick=False) as traveller:
        client.post("/my/sign-in/", {"email": "dave@customer.test"})
        token = last_token("dave@customer.test")
        traveller.shift(dt.timedelta(minutes=2, seconds=1))
        assert client.post("/my/link/", {"token": token}).status_code == 410


@pytest.mark.parametrize(
    "token", ["nope", "x" * 43, "a" * 500, "%2e%2e", "abc$def-ghi_jkl-mno_pqr-stu_vwx"]
)
def test_an_unknown_token_gets_the_same_clear_page(cast: Cast, client: Client, token: str) -> None:
    for response in (client.get(f"/my/link/{token}/"), client.post("/my/link/", {"token": token})):
        assert response.status_code in (404, 410)
        if response.status_code == 410:
            assert "Get a new sign-in link" in response.content.decode()


def test_at_most_five_links_an_hour_go_to_one_address(cast: Cast) -> None:
    with time_machine.travel(clock.now(), tick=False) as traveller:
        answers = []
        for n in range(7):
            # From different clients: the per-address cap holds on its own.
            client = Client(REMOTE_ADDR=f"192.0.2.{n}")
            answers.append(ask(client, "dave@customer.test"))
        assert sign_in_mail().count() == 5
        assert len(set(answers)) == 1  # the page says nothing about the throttle
        traveller.shift(dt.timedelta(minutes=61))
        ask(Client(REMOTE_ADDR="192.0.2.99"), "dave@customer.test")
        assert sign_in_mail().count() == 6


def test_one_client_is_capped_whatever_addresses_it_tries(
    cast: Cast, settings: Any, client: Client
) -> None:
    settings.POMOGU_PORTAL_LINKS_PER_CLIENT = 3
    for address in ["a@x.test", "b@x.test", "c@x.test"]:
        ask(client, address)  # unknown addresses count too
    assert "If we know this address" in ask(client, "dave@customer.test")
    assert not sign_in_mail().exists()
    assert SignInRequest.objects.count() == 4

    ask(Client(REMOTE_ADDR="198.51.100.7"), "dave@customer.test")  # someone else
    assert sign_in_mail().count() == 1


def test_signing_in_gives_a_new_session_key(cast: Cast, client: Client) -> None:
    client.get("/my/")
    client.post("/my/sign-in/", {"email": "dave@customer.test"})
    before = client.session.session_key
    assert before is not None  # the CSRF/messages round trips made one
    client.post("/my/link/", {"token": last_token("dave@customer.test")})
    assert client.session.session_key != before
    assert client.session["portal_email"] == "dave@customer.test"


def test_a_staff_login_is_untouched_by_portal_sign_in_and_out(cast: Cast, client: Client) -> None:
    assert client.login(username="bob", password=PASSWORD)
    sign_in(client, "dave@customer.test")
    assert client.get("/").status_code == 200  # the desk still knows bob
    assert client.post("/my/sign-out/").status_code == 302
    assert "portal_email" not in client.session
    assert client.get("/").status_code == 200
    assert client.get("/my/").content.decode().count('name="email"') == 1


def test_signing_out_ends_the_portal_session(cast: Cast, dave_client: Client) -> None:
    case = cast.open_case()
    assert dave_client.get(f"/my/cases/{case.number}/").status_code == 200
    assert dave_client.get("/my/sign-out/").status_code == 405  # only a POST signs out
    dave_client.post("/my/sign-out/")
    assert dave_client.get(f"/my/cases/{case.number}/").status_code == 302


def test_the_portal_session_lasts_14_days(cast: Cast) -> None:
    case = cast.open_case()
    with time_machine.travel(clock.now(), tick=False) as traveller:
        client = sign_in(Client(), "dave@customer.test")
        traveller.shift(dt.timedelta(days=13, hours=23))
        assert client.get(f"/my/cases/{case.number}/").status_code == 200
        traveller.shift(dt.timedelta(hours=2))
        assert client.get(f"/my/cases/{case.number}/").status_code == 302
        assert "portal_email" not in client.session


def test_every_post_needs_the_csrf_token(cast: Cast) -> None:
    strict = Client(enforce_csrf_checks=True)
    assert strict.post("/my/sign-in/", {"email": "dave@customer.test"}).status_code == 403
    assert not sign_in_mail().exists()

    Client().post("/my/sign-in/", {"email": "dave@customer.test"})
    token = last_token("dave@customer.test")
    assert strict.post("/my/link/", {"token": token}).status_code == 403
    assert SignInLink.objects.get().used_at is None

    # Signed in, with the session cookie, but posting without the CSRF token.
    case = cast.open_case()
    strict.cookies = sign_in(Client(), "dave@customer.test").cookies
    assert strict.get(f"/my/cases/{case.number}/").status_code == 200
    for path in ("reply", "rating"):
        url = f"/my/cases/{case.number}/{path}/"
        assert strict.post(url, {"body": "x", "rating": 5}).status_code == 403
    assert strict.post("/my/sign-out/").status_code == 403
    assert case.messages.count() == 1
    assert strict.get(f"/my/cases/{case.number}/").status_code == 200


def test_portal_pages_are_never_cached(cast: Cast, client: Client) -> None:
    case = cast.open_case()
    client.post("/my/sign-in/", {"email": "dave@customer.test"})
    token = last_token("dave@customer.test")
    responses = [client.get("/my/"), client.get(f"/my/link/{token}/")]
    client.post("/my/link/", {"token": token})
    responses += [client.get("/my/"), client.get(f"/my/cases/{case.number}/")]
    for response in responses:
        assert "no-store" in response["Cache-Control"]
    assert responses[1]["Referrer-Policy"] == "origin"  # the token stays out of Referer


def test_the_token_never_reaches_the_log(
    cast: Cast, client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client.post("/my/sign-in/", {"email": "dave@customer.test"})
    token = last_token("dave@customer.test")
    client.get(f"/my/link/{token}/")
    client.post("/my/link/", {"token": token})
    client.post("/my/link/", {"token": token})  # used: 410
    with time_machine.travel(clock.now() + dt.timedelta(hours=1), tick=False):
        client.get(f"/my/link/{token}/")  # expired and used: 410
    client.head(f"/my/link/{token}/")
    client.put(f"/my/link/{token}/")
    client.get("/my/no-such-page/")  # logged with its path, as the check below shows
    assert any("/my/no-such-page/" in record.getMessage() for record in caplog.records)
    for record in caplog.records:
        assert token not in record.getMessage()
        assert token not in str(record.args)


def test_the_customers_language_wins_over_the_browsers(cast: Cast) -> None:
    cast.dave.language = "ru"
    cast.dave.save(update_fields=["language"])
    client = sign_in(Client(HTTP_ACCEPT_LANGUAGE="en"), "dave@customer.test")
    response = client.get("/my/")
    assert '<html lang="ru">' in response.content.decode()
    assert response["Content-Language"] == "ru"

    signed_out = Client(HTTP_ACCEPT_LANGUAGE="ru").get("/my/")
    assert '<html lang="ru">' in signed_out.content.decode()
    erin = sign_in(Client(HTTP_ACCEPT_LANGUAGE="en"), "erin@other.test")
    assert '<html lang="en">' in erin.get("/my/").content.decode()
