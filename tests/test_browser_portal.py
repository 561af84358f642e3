"""The customer portal in a real browser (Debian's Chromium driven by Playwright): a customer
asks for a sign-in link, opens it from the mail, signs in, sees who has their case and when to
expect an answer, replies with a file and sees it in the conversation; and the same on a phone.
Screenshots are saved in test-artifacts/ for people to look at."""

from __future__ import annotations

import re
from typing import Any

import pytest

from browsing import csp_violations, shot
from pomogu.cases import services as cases
from pomogu.cases.models import Case
from pomogu.clocks.models import SlaPolicy
from pomogu.contact.models import OutboxKind, OutboxMessage
from pomogu.core.testing import Cast

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LINK_RE = re.compile(r"https?://\S+/my/link/[A-Za-z0-9_-]+/")


@pytest.fixture
def case(cast: Cast, settings: Any, live_server: Any) -> Case:
    # The link in the mail points at this server, as it would at the desk's own address.
    settings.SITE_URL = live_server.url
    SlaPolicy.objects.create(
        name="support", team=cast.support, first_response_minutes=60, resolution_minutes=480
    )
    case = cast.open_case(
        subject="Роутер мигает красным", body="С утра роутер мигает красным, интернета нет."
    )
    cases.add_message(case.pk, actor=cast.bob, body="Internal: line test booked", kind="note")
    return case


def sign_in_by_mail(page: Any, live_server: Any, email: str) -> None:
    """Ask for a link on /my/, take it from the outbox as the mail would bring it, use it."""
    before = OutboxMessage.objects.filter(kind=OutboxKind.SIGN_IN).count()
    page.goto(live_server.url + "/my/")
    page.get_by_label("Your email address").fill(email)
    page.get_by_role("button", name="Email me a sign-in link").click()
    page.wait_for_url("**/my/sign-in/sent/")
    page.get_by_role("heading", name="Check your email").wait_for()
    mails = OutboxMessage.objects.filter(kind=OutboxKind.SIGN_IN).order_by("id")
    assert mails.count() == before + 1
    found = LINK_RE.search(mails.last().body)  # type: ignore[union-attr]
    assert found is not None
    page.goto(found.group(0))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(live_server.url + "/my/")


def test_customer_signs_in_by_mail_sees_the_case_and_replies_with_a_file(
    browser: Any, live_server: Any, cast: Cast, case: Case
) -> None:
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(10_000)
    blocked = csp_violations(page)

    page.goto(live_server.url + "/my/")
    shot(page, "portal-sign-in")
    page.get_by_label("Your email address").fill("dave@customer.test")
    page.get_by_role("button", name="Email me a sign-in link").click()
    page.wait_for_url("**/my/sign-in/sent/")
    shot(page, "portal-link-sent")

    mail = OutboxMessage.objects.get(kind=OutboxKind.SIGN_IN)
    assert mail.to_email == "dave@customer.test"
    found = LINK_RE.search(mail.body)
    assert found is not None
    link = found.group(0)
    assert link.startswith(live_server.url)

    page.goto(link)  # opening the link signs nobody in: a button does
    shot(page, "portal-link")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(live_server.url + "/my/")
    page.get_by_role("heading", name="Your requests").wait_for()
    card = page.locator(".card", has_text="Роутер мигает красным")
    assert case.owner.display_name in card.inner_text()
    assert "Expect it by" in card.inner_text()
    assert "Next in line" in card.inner_text()
    shot(page, "portal-cases")

    page.get_by_role("link", name=re.compile("Роутер мигает красным")).click()
    page.wait_for_url(f"**/my/cases/{case.number}/")
    page.get_by_text("С утра роутер мигает красным").wait_for()
    assert "line test booked" not in page.content()  # the note stays inside
    page.get_by_label("Your message").fill("Фото индикаторов прилагаю.")
    page.get_by_label("Attach files (optional)").set_input_files(
        files=[{"name": "lights.txt", "mimeType": "text/plain", "buffer": b"red red green"}]
    )
    page.get_by_role("button", name="Send").click()
    page.wait_for_url(re.compile(rf".*/my/cases/{case.number}/#message-\d+$"))
    message = page.locator(".msg", has_text="Фото индикаторов прилагаю.")
    message.wait_for()
    assert "Dave Customer" in message.inner_text()
    page.get_by_text("Your message was sent").wait_for()
    with page.expect_download() as download:
        message.get_by_role("link", name="lights.txt").click()
    assert download.value.suggested_filename == "lights.txt"
    shot(page, "portal-case-after-reply")

    assert case.messages.filter(body="Фото индикаторов прилагаю.").count() == 1
    assert blocked == []
    context.close()


def test_the_portal_fits_a_phone(browser: Any, live_server: Any, cast: Cast, case: Case) -> None:
    context = browser.new_context(
        locale="en-GB",
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    blocked = csp_violations(page)
    page.goto(live_server.url + "/my/")
    shot(page, "portal-phone-sign-in")

    sign_in_by_mail(page, live_server, "dave@customer.test")
    shot(page, "portal-phone-cases")
    page.goto(f"{live_server.url}/my/cases/{case.number}/")
    page.get_by_label("Your message").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    send = page.get_by_role("button", name="Send").bounding_box()
    assert send is not None
    assert send["height"] >= 44  # a finger can hit it
    shot(page, "portal-phone-case")

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(live_server.url + "/my/")
    page.get_by_label("Your email address").wait_for()
    assert blocked == []
    context.close()
