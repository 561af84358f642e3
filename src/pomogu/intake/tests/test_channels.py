"""The other front doors (R1): the public web form and the API, each safe to submit twice; and
the quarantine, where a person can see, download and reprocess what could not be read."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from pomogu.cases.choices import Channel
from pomogu.cases.models import Case
from pomogu.core.testing import Cast
from pomogu.intake import services
from pomogu.intake.models import FormSubmission, InboundMessage, InboundState

NEW_CASE = {
    "customer": {"email": "ivan@romashka.example", "name": "Иван"},
    "subject": "Счёт за ноябрь",
    "body": "Пришёл счёт в два раза больше обычного.",
}


# --- the web form ------------------------------------------------------------------------------


def fill(client: Client, **fields: str) -> dict[str, str]:
    page = client.get("/contact/")
    assert page.status_code == 200
    nonce = re.search(r'name="nonce" value="([^"]+)"', page.content.decode())
    assert nonce is not None
    return {
        "name": "Иван Петров",
        "email": "ivan@romashka.example",
        "subject": "Нет интернета",
        "body": "С утра не работает интернет.",
        "nonce": nonce.group(1),
        "website": "",
        **fields,
    }


def test_web_form_opens_a_case_and_tells_its_number(cast: Cast) -> None:
    client = Client(enforce_csrf_checks=True)
    data = fill(client)
    data["csrfmiddlewaretoken"] = client.cookies["csrftoken"].value
    response = client.post("/contact/", data)
    assert response.status_code == 200
    case = Case.objects.get()
    assert case.channel == Channel.WEB
    assert case.customer.email == "ivan@romashka.example"
    assert str(case.number) in response.content.decode()
    assert case.owner.display_name in response.content.decode()


def test_web_form_without_csrf_token_is_refused(cast: Cast) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post("/contact/", fill(client))
    assert response.status_code == 403
    assert not Case.objects.exists()


def test_sending_the_form_twice_makes_one_case(cast: Cast) -> None:
    client = Client()
    data = fill(client)
    first = client.post("/contact/", data)
    second = client.post("/contact/", data)
    assert first.status_code == second.status_code == 200
    assert Case.objects.count() == 1
    assert str(Case.objects.get().number) in second.content.decode()


def test_honeypot_filled_by_a_bot_opens_nothing(cast: Cast) -> None:
    client = Client()
    response = client.post("/contact/", fill(client, website="http://spam.example"))
    assert response.status_code == 200
    assert not Case.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [("email", "not an address"), ("email", ""), ("subject", ""), ("body", "")],
)
def test_invalid_form_answers_422_with_the_error_and_keeps_the_text(
    cast: Cast, field: str, value: str
) -> None:
    client = Client()
    response = client.post("/contact/", fill(client, **{field: value}))
    assert response.status_code == 422
    assert not Case.objects.exists()
    if field != "body":
        assert "С утра не работает интернет." in response.content.decode()


def test_forged_form_token_is_refused_with_a_fresh_form(cast: Cast) -> None:
    client = Client()
    response = client.post("/contact/", fill(client, nonce="forged"))
    assert response.status_code == 422
    assert not Case.objects.exists()
    assert "С утра не работает интернет." in response.content.decode()


def test_web_form_is_rate_limited_per_client(cast: Cast, settings: Any) -> None:
    settings.POMOGU = {**settings.POMOGU, "FORM_PER_CLIENT": 2}
    client = Client()
    codes = [client.post("/contact/", fill(client)).status_code for _ in range(4)]
    assert codes == [200, 200, 429, 429]
    assert Case.objects.count() == 2
    assert FormSubmission.objects.count() == 2


# --- the API with an Idempotency-Key ------------------------------------------------------------


def test_api_retry_with_the_same_key_returns_the_same_case(cast: Cast, api: Any) -> None:
    client = api("bob")
    first = client.post("/cases", NEW_CASE, HTTP_IDEMPOTENCY_KEY="order-42")
    second = client.post("/cases", NEW_CASE, HTTP_IDEMPOTENCY_KEY="order-42")
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert Case.objects.count() == 1


def test_same_key_with_another_body_is_refused(cast: Cast, api: Any) -> None:
    client = api("bob")
    client.post("/cases", NEW_CASE, HTTP_IDEMPOTENCY_KEY="k1")
    other = client.post("/cases", {**NEW_CASE, "subject": "Другое"}, HTTP_IDEMPOTENCY_KEY="k1")
    assert other.status_code == 422
    assert other.json()["error"] == "idempotency_key_reused"
    assert Case.objects.count() == 1


def test_keys_belong_to_their_caller(cast: Cast, api: Any) -> None:
    api("bob").post("/cases", NEW_CASE, HTTP_IDEMPOTENCY_KEY="same")
    api("carol").post("/cases", NEW_CASE, HTTP_IDEMPOTENCY_KEY="same")
    assert Case.objects.count() == 2


# --- quarantine --------------------------------------------------------------------------------

POISON = (
    b"From: dave@customer.test\r\nMessage-ID: <q1@customer.test>\r\n"
    + b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n" * 3000
)


def test_quarantine_is_listed_downloadable_and_reprocessable(
    cast: Cast, api: Any, settings: Any
) -> None:
    receipt = services.receive(POISON, mailbox=None, recipient="support@desk.test", source="api")
    assert receipt.inbound.state == InboundState.QUARANTINED
    manager = api("mallory")
    listed = manager.get("/quarantine").json()
    assert listed["count"] == 1
    item = listed["items"][0]
    assert item["message_id"] == "<q1@customer.test>"
    assert item["reason"]
    raw = manager.get(f"/inbound/{item['id']}/raw")
    assert raw.status_code == 200
    assert raw.content == POISON
    assert raw["Content-Disposition"].startswith("attachment")
    # Still over the limit: reprocessing keeps it in quarantine, with the same bytes.
    again = manager.post(f"/inbound/{item['id']}/reprocess")
    assert again.status_code == 200
    assert again.json()["state"] == "quarantined"
    assert bytes(InboundMessage.objects.get().raw) == POISON


def test_reprocess_after_a_fix_makes_the_case(cast: Cast, api: Any, monkeypatch: Any) -> None:
    from pomogu.intake import routing

    def broken(parsed: Any, mailbox_team: Any) -> Any:
        raise RuntimeError("router bug")

    monkeypatch.setattr(routing, "choose_team", broken)
    raw = b"From: dave@customer.test\r\nSubject: hi\r\nMessage-ID: <r1@c.test>\r\n\r\nhello\r\n"
    inbound = services.receive(raw, mailbox=None, recipient="x@desk.test", source="api").inbound
    assert inbound.state == InboundState.QUARANTINED
    assert inbound.reason == "processing_error"
    assert not Case.objects.exists()
    monkeypatch.undo()
    response = api("mallory").post(f"/inbound/{inbound.pk}/reprocess")
    assert response.json()["state"] == "processed"
    assert Case.objects.count() == 1


def test_agents_do_not_see_the_quarantine(cast: Cast, api: Any) -> None:
    inbound = services.receive(POISON, mailbox=None, recipient="s@desk.test", source="api").inbound
    bob = api("bob")
    assert bob.get("/quarantine").json()["count"] == 0
    assert bob.get(f"/inbound/{inbound.pk}/raw").status_code == 404
    assert bob.post(f"/inbound/{inbound.pk}/reprocess").status_code == 404
    # The lead of the default team answers for mail to addresses with no mailbox.
    assert api("alice").get("/quarantine").json()["count"] == 1


def test_admin_reprocesses_and_never_shows_the_imap_password(
    cast: Cast, client: Client, monkeypatch: Any
) -> None:
    from pomogu.core.testing import PASSWORD
    from pomogu.intake import routing
    from pomogu.intake.models import Mailbox

    box = Mailbox.objects.create(
        name="Support",
        address="support@desk.test",
        team=cast.support,
        imap_host="imap.desk.test",
        imap_user="support",
        imap_password="s3cret-imap",
    )
    assert client.login(username="root", password=PASSWORD)
    page = client.get(f"/admin/intake/mailbox/{box.pk}/change/")
    assert page.status_code == 200
    assert "s3cret-imap" not in page.content.decode()

    monkeypatch.setattr(routing, "choose_team", lambda parsed, mailbox_team: 1 / 0)
    raw = b"From: dave@customer.test\r\nSubject: hi\r\nMessage-ID: <adm@c.test>\r\n\r\nhello\r\n"
    inbound = services.receive(raw, mailbox=box, source="api").inbound
    assert inbound.state == InboundState.QUARANTINED
    download = client.post(
        "/admin/intake/inboundmessage/",
        {"action": "download", "_selected_action": [inbound.pk]},
    )
    assert download.content == raw
    assert download["Content-Disposition"] == f'attachment; filename="message-{inbound.pk}.eml"'
    assert download["X-Content-Type-Options"] == "nosniff"
    monkeypatch.undo()
    response = client.post(
        "/admin/intake/inboundmessage/",
        {"action": "reprocess", "_selected_action": [inbound.pk]},
    )
    assert response.status_code == 302
    inbound.refresh_from_db()
    assert inbound.state == InboundState.PROCESSED
    assert Case.objects.count() == 1
