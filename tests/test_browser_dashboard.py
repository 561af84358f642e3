"""The failure register in a real browser (Debian's Chromium driven by Playwright): a manager
finds a new failure on /register/, drills down to it and on to its case. Screenshots of each
page are saved in test-artifacts/ for people to look at."""

from __future__ import annotations

from typing import Any

import pytest

from browsing import csp_violations, shot, sign_in
from pomogu.core.testing import Cast
from pomogu.failures import services
from pomogu.failures.models import FailureKind

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_manager_follows_a_new_failure_from_the_register_to_its_case(
    browser: Any, live_server: Any, cast: Cast
) -> None:
    page = sign_in(browser, live_server, "mallory")
    blocked = csp_violations(page)
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
    assert blocked == []
