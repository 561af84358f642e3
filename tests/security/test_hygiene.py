"""Authentication and web hygiene the matrix does not cover route by route (RELIABILITY.md
§7.6: AZ-6, AZ-9, AZ-10, AZ-12, AZ-13, AZ-14, AZ-16)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
import time_machine
from django.test import Client

from pomogu.api import api as ninja_api
from pomogu.cases import services as cases
from pomogu.cases.choices import MessageKind
from pomogu.cases.models import Message
from pomogu.contact.models import Survey, SurveyState
from pomogu.contact.surveys import schedule
from pomogu.core import clock
from pomogu.core.testing import PASSWORD, Cast
from pomogu.intake import services as intake
from pomogu.intake.models import Attachment, Mailbox
from pomogu.portal.tests.support import sign_in


def staff_client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def sent_survey(cast: Cast) -> Survey:
    case = cast.open_case()
    cases.add_message(case.pk, actor=case.owner, body="Fixed.")
    cases.resolve(case.pk, actor=cast.alice)
    survey = Survey.objects.filter(case=case).first() or schedule(case)
    assert survey is not None
    Survey.objects.filter(pk=survey.pk).update(state=SurveyState.SENT, sent_at=clock.now())
    return survey


# --- AZ-16: guessing tokens ----------------------------------------------------------------


def test_a_client_trying_wrong_tokens_is_stopped_and_told(cast: Cast, settings: Any) -> None:
    settings.POMOGU_TOKEN_FAILURES_PER_CLIENT = 3
    settings.POMOGU_TOKEN_WINDOW_MINUTES = 15
    survey = sent_survey(cast)
    guesser = Client(REMOTE_ADDR="198.51.100.7")
    for n in range(2):
        assert guesser.get(f"/survey/guess{n}/").status_code == 404
    assert guesser.get("/my/link/" + "A" * 43 + "/").status_code == 410  # the third miss
    stopped = guesser.get(f"/survey/{survey.token}/")  # even a right token, for a while
    assert stopped.status_code == 429
    assert "Too many links from this address did not work" in stopped.content.decode()
    assert stopped["Retry-After"] == str(15 * 60)
    assert guesser.post("/my/link/", {"token": "B" * 43}).status_code == 429
    # Someone else is not affected, and the guesser may come back after the window.
    assert Client(REMOTE_ADDR="198.51.100.8").get(f"/survey/{survey.token}/").status_code == 200
    with time_machine.travel(clock.now() + dt.timedelta(minutes=16), tick=False):
        assert guesser.get(f"/survey/{survey.token}/").status_code == 200


# --- AZ-6: public tokens -------------------------------------------------------------------


def test_public_tokens_are_long_random_and_single_object(cast: Cast) -> None:
    """A survey link's token carries at least 128 random bits and is signed, and says nothing
    of the customer."""
    first, second = sent_survey(cast), sent_survey(cast)
    random_part = first.token.split(":")[0]
    assert len(random_part) >= 22  # 18 bytes of token_urlsafe: 144 bits
    assert first.token != second.token
    assert first.customer.email.split("@")[0] not in first.token
    # A survey page shows the rating form and nothing of the conversation.
    body = Client().get(f"/survey/{first.token}/").content.decode()
    assert "Здравствуйте, с 9 утра нет интернета" not in body


# --- AZ-10: authentication -----------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    ["HTTP_X_FORWARDED_USER", "HTTP_REMOTE_USER", "REMOTE_USER", "HTTP_X_REMOTE_USER"],
)
def test_identity_headers_from_the_internet_are_ignored(cast: Cast, header: str) -> None:
    response = Client().get("/", **{header: "root"})
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    api_call = Client().get("/api/v1/cases", **{header: "root"})
    assert api_call.status_code == 401


def test_the_stored_hash_is_not_a_password(cast: Cast) -> None:
    cast.bob.refresh_from_db()
    stored = cast.bob.password
    assert "$" in stored
    response = Client().post("/login/", {"username": "bob", "password": stored})
    assert response.status_code == 200  # the form again, not a redirect into the desk
    assert "_auth_user_id" not in Client().session
    right = Client().post("/login/", {"username": "bob", "password": PASSWORD})
    assert right.status_code == 302


def test_an_api_token_is_kept_only_as_a_digest(cast: Cast) -> None:
    from pomogu.people.models import ApiToken
    from pomogu.people.services import create_token

    token = create_token(cast.bob, name="laptop")
    row = ApiToken.objects.get(user=cast.bob, name="laptop")
    assert token not in {row.digest, row.prefix}
    assert token[len(row.prefix) :] not in row.digest
    admin_page = staff_client(cast.root).get(f"/admin/people/apitoken/{row.pk}/change/")
    assert admin_page.status_code == 200
    assert row.digest not in admin_page.content.decode()


# --- AZ-9: mass assignment -----------------------------------------------------------------


def test_write_schemas_refuse_fields_they_do_not_list(cast: Cast, api: Any) -> None:
    from pomogu.people.models import Customer

    manager = api("mallory")
    response = manager.post(
        "/customers",
        {"email": "new@example.test", "tier": "gold", "organisation": 1, "is_staff": True},
    )
    assert response.status_code == 422
    assert not Customer.objects.filter(email="new@example.test").exists()
    agent = api("bob")
    case = cast.open_case()
    sneaky = agent.post(
        f"/cases/{case.pk}/messages",
        {"body": "hi", "kind": "note", "author": cast.alice.pk, "created_at": "2020-01-01T00:00"},
    )
    assert sneaky.status_code == 422


def test_every_write_schema_forbids_extra_fields() -> None:
    """Each request body of the API is a closed object: a caller cannot slip in a role, an
    owner, a customer or an author the schema does not offer (SEC-7)."""
    schema = ninja_api.get_openapi_schema()
    components = schema["components"]["schemas"]
    open_bodies = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            body = operation.get("requestBody")
            if not body:
                continue
            shape = body["content"]["application/json"]["schema"]
            # An optional body is "this object or null".
            refs = [shape.get("$ref")] + [s.get("$ref") for s in shape.get("anyOf", [])]
            targets = [components[ref.rsplit("/", 1)[-1]] for ref in refs if ref]
            if not targets or any(t.get("additionalProperties") is not False for t in targets):
                open_bodies.append(f"{method.upper()} {path}")
    assert open_bodies == []


# --- AZ-12: the record cannot be rewritten -------------------------------------------------


def test_no_api_operation_edits_or_deletes_the_record() -> None:
    schema = ninja_api.get_openapi_schema()
    rewriting = [
        f"{method.upper()} {path}"
        for path, operations in schema["paths"].items()
        for method in operations
        if method in ("put", "patch", "delete")
        and re.search(r"cases|messages|timeline|failures|handoffs|surveys|inbound", path)
    ]
    assert rewriting == []


def test_the_admin_shows_messages_and_the_timeline_read_only(cast: Cast) -> None:
    case = cast.open_case()
    message = Message.objects.filter(case=case).first()
    assert message is not None
    root = staff_client(cast.root)
    page = root.get(f"/admin/cases/message/{message.pk}/change/")
    assert page.status_code == 200
    assert 'name="body"' not in page.content.decode()
    changed = root.post(f"/admin/cases/message/{message.pk}/change/", {"body": "rewritten"})
    assert changed.status_code == 403
    message.refresh_from_db()
    assert message.body != "rewritten"
    assert (
        root.post(f"/admin/cases/message/{message.pk}/delete/", {"post": "yes"}).status_code == 403
    )
    assert Message.objects.filter(pk=message.pk).exists()


# --- AZ-13: attachments follow the case -----------------------------------------------------


def test_an_attachment_is_authorised_against_the_case_as_it_is_now(
    cast: Cast, settings: Any, tmp_path: Any
) -> None:
    from email.message import EmailMessage

    settings.DATA_DIR = tmp_path
    box = Mailbox.objects.create(name="Support", address="support@desk.test", team=cast.support)
    mail = EmailMessage()
    mail["From"] = cast.dave.email
    mail["To"] = box.address
    mail["Subject"] = "Photo of the router"
    mail["Message-ID"] = "<photo@customer.test>"
    mail.set_content("See the photo.")
    mail.add_attachment(b"bytes", maintype="text", subtype="plain", filename="photo.txt")
    case_id = intake.receive(mail.as_bytes(), mailbox=box, source="api").inbound.case_id
    attachment = Attachment.objects.get(message__case_id=case_id)
    case = attachment.message.case
    url = f"/cases/{case.number}/attachments/{attachment.pk}/"
    bob = staff_client(cast.bob)
    assert bob.get(url).status_code == 200
    # The case moves to Billing: bob's saved link now finds nothing.
    owner = case.owner
    handoff = cases.request_handoff(case.pk, actor=owner, to_team=cast.billing, reason="Bills")
    cases.accept_handoff(handoff.pk, actor=cast.carol)
    assert bob.get(url).status_code == 404
    assert staff_client(cast.carol).get(url).status_code == 200
    # The customer keeps it; another customer never had it.
    portal_url = f"/my/cases/{case.number}/attachments/{attachment.pk}/"
    assert sign_in(Client(), cast.dave.email).get(portal_url).status_code == 200
    assert sign_in(Client(), cast.erin.email).get(portal_url).status_code == 404


# --- AZ-14: secrets are write-only ---------------------------------------------------------


def test_the_mailbox_password_never_comes_back(cast: Cast) -> None:
    box = Mailbox.objects.create(
        name="Support",
        address="support@desk.test",
        team=cast.support,
        imap_host="imap.example.test",
        imap_user="support",
        imap_password="s3cret-imap-pass",
    )
    root = staff_client(cast.root)
    for url in (
        f"/admin/intake/mailbox/{box.pk}/change/",
        "/admin/intake/mailbox/",
        f"/admin/intake/mailbox/{box.pk}/history/",
    ):
        page = root.get(url)
        assert page.status_code == 200
        assert "s3cret-imap-pass" not in page.content.decode()


def test_notes_never_reach_the_customer_by_mail(cast: Cast) -> None:
    """The outbox holds what leaves the desk: a note written on the case is not in any of it."""
    from pomogu.contact.models import OutboxMessage

    case = cast.open_case()
    cases.add_message(case.pk, actor=case.owner, body="internal-only-words", kind=MessageKind.NOTE)
    cases.add_message(case.pk, actor=case.owner, body="We are on it.")
    bodies = " ".join(OutboxMessage.objects.filter(case=case).values_list("body", flat=True))
    assert "We are on it." in bodies
    assert "internal-only-words" not in bodies


# --- AZ-6: no link token in any log ---------------------------------------------------------


def test_no_log_line_holds_a_survey_or_sign_in_token(cast: Cast) -> None:
    """Django logs every 4xx with its path; the console handler writes it without the token,
    and gunicorn's access lines (`pomogu web`) leave it out of the path and the referer."""
    import io
    import logging
    from types import SimpleNamespace

    from gunicorn.config import Config

    from pomogu.core.redact import AccessLogger, RedactTokens

    survey = sent_survey(cast)
    handler = next(
        h
        for h in logging.getLogger().handlers
        if any(isinstance(f, RedactTokens) for f in h.filters)
    )
    written = io.StringIO()
    previous = handler.setStream(written)  # type: ignore[attr-defined]
    try:
        refused = Client().post(f"/survey/{survey.token}/", {"rating": "9"})  # a 422, logged
    finally:
        handler.setStream(previous)  # type: ignore[attr-defined]
    assert refused.status_code == 422
    line = written.getvalue()
    assert "/survey/…/" in line
    assert survey.token not in line
    assert survey.token.split(":")[0] not in line

    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": f"/survey/{survey.token}/?rating=5",
        "PATH_INFO": f"/survey/{survey.token}/",
        "QUERY_STRING": "rating=5",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_REFERER": "https://desk.example/my/link/" + "T" * 43 + "/",
        "REMOTE_ADDR": "203.0.113.5",
    }
    atoms = AccessLogger(Config()).atoms(
        SimpleNamespace(status="200 OK", sent=10, headers=[]),
        SimpleNamespace(headers=[("REFERER", environ["HTTP_REFERER"])]),
        environ,
        dt.timedelta(milliseconds=12),
    )
    assert atoms["r"] == "GET /survey/…/?rating=5 HTTP/1.1"
    assert atoms["U"] == "/survey/…/"
    assert atoms["f"] == "https://desk.example/my/link/…/"
    assert "T" * 43 not in str(atoms)
