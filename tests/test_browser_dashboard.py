"""The failure register in a real browser (Debian's Chromium driven by Playwright): a manager
finds a new failure on /register/, drills down to it and on to its case. Screenshots of each
page are saved in test-artifacts/ for people to look at."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pomogu.core.testing import PASSWORD, Cast
from pomogu.failures import services
from pomogu.failures.models import FailureKind

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (.ci/run does)")
    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
    # between page actions are still plain synchronous calls.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


def sign_in(browser: Any, live_server: Any, username: str) -> Any:
    page = browser.new_context(locale="en-GB").new_page()
    page.set_default_timeout(10_000)
    page.goto(live_server.url + "/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/login/'] button[type=submit]")
    page.wait_for_url(live_server.url + "/")
    return page


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_manager_follows_a_new_failure_from_the_register_to_its_case(
    browser: Any, live_server: Any, cast: Cast
) -> None:
    page = sign_in(browser, live_server, "mallory")
    case = cast.open_case(subject="Счёт выставлен дважды", team=cast.billing, customer=cast.erin)
    failure = services.record(
        FailureKind.PROMISE_BROKEN,
        key=f"browser:promise:{case.pk}",
        case=case,
        minutes_lost=90,
        summary="Обещали перезвонить до обеда и не перезвонили",
    )
    assert failure is not None

    page.click("nav.mainnav >> text=Failure register")
    page.wait_for_url("**/register/")
    row = page.locator("#by-team tbody tr", has_text="Promise to the customer broken")
    assert row.locator("td").first.inner_text() == "Billing"
    assert row.locator("td").nth(2).inner_text() == "1"
    assert page.locator("svg.trend rect.trend-bar").count() == 1
    shot(page, "register-dashboard")

    row.locator("a", has_text="Promise to the customer broken").click()
    page.wait_for_url("**/register/failures/?*")
    assert "kind=promise_broken" in page.url
    assert "team=billing" in page.url
    failures = page.locator("#failures tbody tr")
    assert failures.count() == 1
    assert "Обещали перезвонить до обеда" in failures.first.inner_text()
    shot(page, "register-drill-down")

    failures.first.locator(f"a[href='/cases/{case.number}/']").click()
    page.wait_for_url(f"**/cases/{case.number}/")
    assert page.locator("h1", has_text="Счёт выставлен дважды").count() == 1
    shot(page, "register-case")
