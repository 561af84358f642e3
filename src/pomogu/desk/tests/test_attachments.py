"""Attachments and the original HTML of a message on the desk (SEC-2, SEC-5, IN-6, IN-7, AZ-13).

Cases are opened by receiving real MIME messages through the intake pipeline."""

from __future__ import annotations

import base64
import logging
from email.message import EmailMessage
from itertools import count
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from pomogu.cases.models import Case, Message
from pomogu.core.testing import PASSWORD, Cast
from pomogu.intake import storage
from pomogu.intake.models import Attachment
from pomogu.intake.services import receive
from pomogu.people.models import User

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)
_ids = count(1)

pytestmark = pytest.mark.usefixtures("_data_dir")


@pytest.fixture
def _data_dir(settings: Any, tmp_path: Any) -> None:
    settings.DATA_DIR = tmp_path


def login(client: Client, user: User) -> Client:
    assert client.login(username=user.username, password=PASSWORD)
    return client


def mail(
    *,
    subject: str = "Scan attached",
    text: str = "Please see the attached files.",
    html: str | None = None,
    attachments: list[tuple[bytes, str, str]] = (),  # type: ignore[assignment]
) -> bytes:
    message = EmailMessage()
    message["From"] = "Dave Customer <dave@customer.test>"
    message["To"] = "support@desk.test"
    message["Subject"] = subject
    message["Message-ID"] = f"<att-{next(_ids)}@customer.test>"
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    for content, content_type, filename in attachments:
        maintype, subtype = content_type.split("/")
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes()


def receive_case(raw: bytes) -> Case:
    inbound = receive(raw, mailbox=None, recipient="support@desk.test", source="api").inbound
    assert inbound.case is not None, (inbound.state, inbound.reason, inbound.detail)
    return inbound.case


def attachment_url(case: Case, item: Attachment) -> str:
    return reverse("desk:attachment", kwargs={"number": case.number, "attachment_id": item.pk})


def html_url(case: Case, message: Message) -> str:
    return reverse("desk:message_html", kwargs={"number": case.number, "message_id": message.pk})


def only_attachment(case: Case, filename: str | None = None) -> Attachment:
    items = Attachment.objects.filter(message__case=case)
    if filename is not None:
        items = items.filter(filename=filename)
    return items.get()


def body(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def test_owner_downloads_the_attachment_byte_for_byte(cast: Cast, client: Client) -> None:
    content = b"%PDF-1.4\n" + bytes(range(256)) * 8
    case = receive_case(mail(attachments=[(content, "application/pdf", "счёт март.pdf")]))
    item = only_attachment(case)
    response = login(client, cast.bob).get(attachment_url(case, item))
    assert response.status_code == 200
    assert body(response) == content
    assert response["Content-Type"] == "application/pdf"
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=utf-8''%D1%81%D1%87%D1%91%D1%82%20%D0%BC%D0%B0%D1%80%D1%82.pdf" in disposition
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == (
        "sandbox; default-src 'none'; frame-ancestors 'none'"
    )
    cache = response["Cache-Control"]
    assert "private" in cache
    assert "no-store" in cache


@pytest.mark.parametrize(
    ("content", "content_type", "filename"),
    [
        (b"<script>window.__pwned=1</script>", "text/html", "invoice.html"),
        (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "image/svg+xml", "a.svg"),
        (b"<?xml version='1.0'?><x/>", "application/xml", "a.xml"),
        (b"alert(1)", "application/javascript", "a.js"),
    ],
)
def test_active_types_are_served_as_opaque_bytes(
    cast: Cast, client: Client, content: bytes, content_type: str, filename: str
) -> None:
    case = receive_case(mail(attachments=[(content, content_type, filename)]))
    response = login(client, cast.bob).get(attachment_url(case, only_attachment(case)))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert body(response) == content


@pytest.mark.parametrize("hostile", ["../../etc/passwd", "evil.pdf\u202egpj.exe"])
def test_hostile_file_names_come_back_sanitised(cast: Cast, client: Client, hostile: str) -> None:
    case = receive_case(mail(attachments=[(b"data", "application/octet-stream", hostile)]))
    response = login(client, cast.bob).get(attachment_url(case, only_attachment(case)))
    assert response.status_code == 200
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "/" not in disposition.replace("utf-8''", "")
    assert ".." not in disposition
    assert "\u202e" not in disposition
    assert "%E2%80%AE" not in disposition.upper()
    assert "%2F" not in disposition.upper()


def test_another_team_gets_404_for_the_attachment_and_the_html(cast: Cast, client: Client) -> None:
    case = receive_case(
        mail(html="<p>Hello <b>there</b></p>", attachments=[(PNG, "image/png", "a.png")])
    )
    message = case.messages.get()
    login(client, cast.carol)
    assert client.get(attachment_url(case, only_attachment(case))).status_code == 404
    assert client.get(html_url(case, message)).status_code == 404
    anonymous = Client()
    assert anonymous.get(attachment_url(case, only_attachment(case))).status_code == 302


def test_an_id_from_another_case_is_404(cast: Cast, client: Client) -> None:
    mine = receive_case(mail(subject="Mine", html="<p>mine</p>"))
    other = receive_case(
        mail(subject="Other", html="<p>other</p>", attachments=[(b"x", "text/plain", "o.txt")])
    )
    assert mine.pk != other.pk
    login(client, cast.bob)
    assert client.get(attachment_url(other, only_attachment(other))).status_code == 200
    assert client.get(attachment_url(mine, only_attachment(other))).status_code == 404
    assert client.get(html_url(mine, other.messages.get())).status_code == 404
    assert client.get(html_url(mine, mine.messages.get())).status_code == 200


def test_a_missing_file_is_404_and_logged(
    cast: Cast, client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    case = receive_case(mail(attachments=[(b"gone", "text/plain", "gone.txt")]))
    item = only_attachment(case)
    storage.path_of(item.storage_name).unlink()
    with caplog.at_level(logging.ERROR, logger="pomogu.desk.views"):
        response = login(client, cast.bob).get(attachment_url(case, item))
    assert response.status_code == 404
    assert any(str(item.pk) in record.getMessage() for record in caplog.records)


def test_the_html_view_is_sandboxed_and_holds_no_script(cast: Cast, client: Client) -> None:
    hostile = (
        "<p>Hello</p><script>window.__pwned=1</script><img src=x onerror=alert(1)>"
        '<svg onload="alert(1)"></svg><iframe srcdoc="<script>alert(1)</script>"></iframe>'
        '<a href="javascript:alert(1)">click</a><form action="https://attacker.example/"></form>'
    )
    case = receive_case(mail(html=hostile))
    message = case.messages.get()
    response = login(client, cast.bob).get(html_url(case, message))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert response["Content-Security-Policy"] == (
        "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox; "
        "frame-ancestors 'self'"
    )
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode().lower()
    assert page.startswith(
        '<!doctype html><html><head><meta charset="utf-8"><base target="_blank">'
    )
    assert "<p>hello</p>" in page
    for vector in ("<script", "onerror", "onload", "<svg", "<iframe", "javascript:", "<form"):
        assert vector not in page, vector
    # Every other page still forbids framing.
    assert client.get(f"/cases/{case.number}/")["X-Frame-Options"] == "DENY"


def test_a_message_without_html_has_no_html_view(cast: Cast, client: Client) -> None:
    case = receive_case(mail())
    response = login(client, cast.bob).get(html_url(case, case.messages.get()))
    assert response.status_code == 404


def test_inline_images_point_at_their_attachment(cast: Cast, client: Client) -> None:
    message = EmailMessage()
    message["From"] = "dave@customer.test"
    message["To"] = "support@desk.test"
    message["Subject"] = "Logo"
    message["Message-ID"] = "<inline-1@customer.test>"
    message.set_content("See the logo.")
    message.add_alternative('<p>Logo: <img src="cid:logo@x" alt="logo"></p>', subtype="html")
    message.get_payload()[1].add_related(PNG, "image", "png", cid="<logo@x>", filename="logo.png")
    case = receive_case(message.as_bytes())
    item = only_attachment(case, "logo.png")
    login(client, cast.bob)
    page = client.get(html_url(case, case.messages.get())).content.decode()
    encoded = base64.b64encode(PNG).decode()
    assert f'src="data:image/png;base64,{encoded}"' in page
    assert item.content_type == "image/png"
    assert "data-cid" not in page


def test_an_svg_part_is_never_inlined(cast: Cast, client: Client) -> None:
    message = EmailMessage()
    message["From"] = "dave@customer.test"
    message["Subject"] = "Logo"
    message["Message-ID"] = "<inline-2@customer.test>"
    message.set_content("See the logo.")
    message.add_alternative('<p>Logo: <img src="cid:logo@x" alt="logo"></p>', subtype="html")
    message.get_payload()[1].add_related(
        b"<svg onload=alert(1)/>", "image", "svg+xml", cid="<logo@x>", filename="logo.svg"
    )
    case = receive_case(message.as_bytes())
    page = login(client, cast.bob).get(html_url(case, case.messages.get())).content.decode()
    assert "<svg" not in page
    assert "data:image/svg" not in page


def test_the_thread_lists_attachments_and_the_html_frame(cast: Cast, client: Client) -> None:
    case = receive_case(
        mail(html="<p>Hi</p>", attachments=[(b"a" * 2048, "text/plain", "notes.txt")])
    )
    item = only_attachment(case)
    page = login(client, cast.bob).get(f"/cases/{case.number}/").content.decode()
    assert f'href="{attachment_url(case, item)}"' in page
    assert "notes.txt" in page
    assert "2.0\xa0KB" in page
    assert "Show the original formatting" in page
    assert '<iframe sandbox="" referrerpolicy="no-referrer"' in page
    assert f'src="{html_url(case, case.messages.get())}"' in page


def test_thread_queries_do_not_grow_with_attachments(
    cast: Cast, client: Client, django_assert_max_num_queries: Any
) -> None:
    few = receive_case(mail(subject="Few", attachments=[(b"1", "text/plain", "1.txt")]))
    many = receive_case(
        mail(
            subject="Many",
            html="<p>many</p>",
            attachments=[(str(n).encode(), "text/plain", f"{n}.txt") for n in range(12)],
        )
    )
    # A manager relates to both cases the same way, so only the attachments differ.
    login(client, cast.mallory)
    client.get(f"/cases/{few.number}/")  # warm up the session and caches
    with CaptureQueriesContext(connection) as baseline:
        assert client.get(f"/cases/{few.number}/").status_code == 200
    with django_assert_max_num_queries(len(baseline.captured_queries)):
        response = client.get(f"/cases/{many.number}/")
    assert response.content.decode().count("/attachments/") == 12
