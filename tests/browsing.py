"""What the browser tests share: where Debian's Chromium is, signing in, and screenshots saved
in test-artifacts/ for people to look at. The ``browser`` fixture is in this folder's conftest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pomogu.core.testing import PASSWORD

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


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


def csp_violations(page: Any) -> list[str]:
    """Collect what the page's Content-Security-Policy blocked (Chromium reports each on the
    console): a page of ours must not trip its own policy."""
    blocked: list[str] = []

    def keep(message: Any) -> None:
        if "Content Security Policy" in message.text:
            blocked.append(f"{message.location.get('url')}: {message.text}")

    page.on("console", keep)
    return blocked
