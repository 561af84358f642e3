"""A case in the portal: the conversation without notes or held mail, a reply with files that
goes through the case's rules once however often it is sent, attachments only for their owner
(SEC-2, SEC-5, AZ-1, AZ-13), and a rating of a solved case, once (R6, R8)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from pomogu.cases import services as cases
from pomogu.cases.choices import CaseState, Channel, MessageKind
from pomogu.cases.models import Case, Message, Notification
from pomogu.contact import surveys
from pomogu.contact.models import OutboxKind, OutboxMessage, Survey, SurveyState
from pomogu.core.testing import Cast
from pomogu.failures.models import Failure
from pomogu.intake import storage
from pomogu.intake.models import Attachment
from pomogu.intake.parsing import ParsedAttachment
from pomogu.portal.models import PortalReply
from pomogu.portal.tests.support import sign_in

MOSCOW = ZoneInfo("Europe/Moscow")
MONDAY_10 = dt.datetime(2026, 11, 23, 10, 0, tzinfo=MOSCOW)
NONCE_RE = re.compile(r'name="nonce" value="([^"]+)"')


@pytest.fixture
def now() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(MONDAY_10, tick=False) as traveller:
        yield traveller


def case_page(client: Client, case: Case) -> str:
    response = client.get(f"/my/cases/{case.number}/")
    assert response.status_code == 200
    return response.content.decode()


def nonce_of(client: Client, case: Case) -> str:
    found = NONCE_RE.search(case_page(client, case))
    assert found is not None
    return found.group(1)


def reply(client: Client, case: Case, body: str, files: list[Any] = (), **extra: Any) -> Any:  # type: ignore[assignment]
    data = {"body": body, "nonce": extra.pop("nonce", None) or nonce_of(client, case)}
    if files:
        data["attachments"] = files
    return client.post(f"/my/cases/{case.number}/reply/", data, **extra)


def solved(case: Case) -> Case:
    cases.add_message(case.pk, actor=case.owner, body="We replaced the cable.")
    return cases.resolve(case.pk, actor=case.owner, summary="Cable replaced")


def upload(name: str, content: bytes, content_type: str = "text/plain") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def test_the_conversation_shows_the_customers_words_and_replies_never_notes_or_held_mail(
    cast: Cast, dave_client: Client
) -> None:
    case = cast.open_case(body="My internet is down since 9.")
    cases.add_message(case.pk, actor=cast.bob, body="SECRET NOTE: customer owes us", kind="note")
    cases.add_message(case.pk, actor=cast.bob, body="We are checking the line.")
    Message.objects.create(
        case=case, kind=MessageKind.HELD, customer=cast.erin, body="HELD: a stranger wrote"
    )
    html = case_page(dave_client, case)
    assert "My internet is down since 9." in html
    assert "We are checking the line." in html
    assert "Bob Agent" in html
    assert "Dave Customer" in html
    assert "SECRET NOTE" not in html
    assert "HELD: a stranger" not in html
    assert "Erin" not in html
    assert html.index("My internet is down") < html.index("We are checking the line")
    assert "<script" not in html
    assert "style=" not in html


def test_a_customers_text_is_shown_as_text(cast: Cast, dave_client: Client) -> None:
    case = cast.open_case(subject="<b>Urgent</b>", body='<script>alert("x")</script>')
    html = case_page(dave_client, case)
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "&lt;b&gt;Urgent&lt;/b&gt;" in html


def test_a_reply_is_the_customers_message_from_the_portal_and_opens_a_waiting_case(
    cast: Cast, dave_client: Client
) -> None:
    case = cast.open_case()
    cases.add_message(case.pk, actor=case.owner, body="Which model?", wait_for_customer=True)
    response = reply(dave_client, case, "A TP-Link Archer C6.")
    message = case.messages.get(body="A TP-Link Archer C6.")
    assert response.status_code == 302
    assert response["Location"] == f"/my/cases/{case.number}/#message-{message.pk}"
    assert message.kind == MessageKind.INBOUND
    assert message.channel == Channel.PORTAL
    assert message.customer == cast.dave
    assert Case.objects.get(pk=case.pk).state == CaseState.OPEN
    html = dave_client.get(response["Location"]).content.decode()
    assert "Your message was sent" in html
    assert f'id="message-{message.pk}"' in html


def test_a_reply_reopens_a_solved_case_but_a_thank_you_keeps_it_solved(
    cast: Cast, dave_client: Client
) -> None:
    case = solved(cast.open_case())
    html = case_page(dave_client, case)
    assert "Write to us again" in html
    reply(dave_client, case, "Спасибо, всё работает!")
    case.refresh_from_db()
    assert case.state == CaseState.RESOLVED
    reply(dave_client, case, "It broke again this morning, same light blinking.")
    case.refresh_from_db()
    assert case.state == CaseState.OPEN
    assert case.reopen_count == 1


def test_the_same_form_sent_twice_makes_one_message(cast: Cast, dave_client: Client) -> None:
    case = cast.open_case()
    nonce = nonce_of(dave_client, case)
    first = reply(dave_client, case, "Only once, please.", nonce=nonce)
    second = reply(dave_client, case, "Only once, please.", nonce=nonce)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert case.messages.filter(body="Only once, please.").count() == 1
    assert PortalReply.objects.get().message == case.messages.get(body="Only once, please.")
    reply(dave_client, case, "A second message, from a fresh form.")
    assert case.messages.count() == 3


def test_a_forged_or_foreign_nonce_is_refused(cast: Cast, dave_client: Client) -> None:
    case = cast.open_case()
    other = cast.open_case(subject="Another")
    for nonce in ("made-up", nonce_of(dave_client, other)):
        response = reply(dave_client, case, "Hello?", nonce=nonce)
        assert response.status_code == 422
        assert "This form has expired" in response.content.decode()
        assert "Hello?" in response.content.decode()  # the text is kept
    assert case.messages.count() == 1


def test_an_empty_reply_is_refused(cast: Cast, dave_client: Client) -> None:
    case = cast.open_case()
    response = reply(dave_client, case, "   ")
    assert response.status_code == 422
    assert "Please write a message." in response.content.decode()
    assert case.messages.count() == 1


def test_files_are_saved_with_the_reply_and_downloadable_by_their_owner(
    cast: Cast, dave_client: Client, erin_client: Client, client: Client
) -> None:
    case = cast.open_case()
    response = reply(
        dave_client,
        case,
        "The photo and the log.",
        files=[
            upload("router.png", b"\x89PNG fake", "image/png"),
            upload("../../etc/log.html", b"<script>alert(1)</script>", "text/html"),
        ],
    )
    assert response.status_code == 302
    message = case.messages.get(body="The photo and the log.")
    items = {item.filename: item for item in message.attachments.all()}
    assert set(items) == {"router.png", "log.html"}
    for item in items.values():
        assert storage.path_of(item.storage_name).exists()

    html = case_page(dave_client, case)
    log = items["log.html"]
    url = f"/my/cases/{case.number}/attachments/{log.pk}/"
    assert f'href="{url}"' in html
    download = dave_client.get(url)
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"<script>alert(1)</script>"  # type: ignore[attr-defined]
    assert download["Content-Type"] == "application/octet-stream"  # HTML never renders
    assert download["Content-Disposition"].startswith('attachment; filename="log.html"')
    assert download["X-Content-Type-Options"] == "nosniff"
    assert download["Content-Security-Policy"] == (
        "sandbox; default-src 'none'; frame-ancestors 'none'"
    )
    assert "no-store" in download["Cache-Control"]
    png = dave_client.get(f"/my/cases/{case.number}/attachments/{items['router.png'].pk}/")
    assert png["Content-Type"] == "image/png"

    assert erin_client.get(url).status_code == 404
    assert client.get(url).status_code == 302  # signed out: to the sign-in page


def test_an_attachment_is_found_only_through_its_own_case(cast: Cast, dave_client: Client) -> None:
    daves = cast.open_case()
    daves_other = cast.open_case(subject="Other")
    erins = cast.open_case(customer=cast.erin)
    erin_client = sign_in(Client(), "erin@other.test")
    reply(erin_client, erins, "Erin's file", files=[upload("erin.txt", b"erin only")])
    erin_file = Attachment.objects.get(filename="erin.txt")
    reply(dave_client, daves, "Dave's file", files=[upload("dave.txt", b"dave")])
    dave_file = Attachment.objects.get(filename="dave.txt")

    # Erin's attachment through Erin's number, or through one of Dave's: not there for Dave.
    for number in (erins.number, daves.number):
        assert dave_client.get(f"/my/cases/{number}/attachments/{erin_file.pk}/").status_code == 404
    # Dave's own attachment, asked for through the wrong case of his: not there either.
    wrong = f"/my/cases/{daves_other.number}/attachments/{dave_file.pk}/"
    assert dave_client.get(wrong).status_code == 404
    assert dave_client.get(f"/my/cases/{daves.number}/attachments/99999/").status_code == 404


def test_a_notes_attachment_is_never_served_to_the_customer(
    cast: Cast, dave_client: Client
) -> None:
    case = cast.open_case()
    note = cases.add_message(case.pk, actor=cast.bob, body="Internal scan", kind="note")
    item = storage.save_attachment(
        note,
        ParsedAttachment(
            filename="internal.pdf",
            content_type="application/pdf",
            content=b"%PDF internal",
            inline=False,
            content_id="",
        ),
    )
    assert "internal.pdf" not in case_page(dave_client, case)
    assert dave_client.get(f"/my/cases/{case.number}/attachments/{item.pk}/").status_code == 404


def test_too_many_or_too_big_files_are_refused_and_nothing_is_sent(
    cast: Cast, dave_client: Client, settings: Any
) -> None:
    case = cast.open_case()
    settings.POMOGU_PORTAL_MAX_FILES = 2
    three = [upload(f"{n}.txt", b"x") for n in range(3)]
    response = reply(dave_client, case, "Three files", files=three)
    assert response.status_code == 422
    assert "You can attach at most 2 files." in response.content.decode()

    settings.POMOGU = {**settings.POMOGU, "MAIL_MAX_BYTES": 100}
    big = [upload("a.txt", b"a" * 60), upload("b.txt", b"b" * 60)]
    response = reply(dave_client, case, "Too big together", files=big)
    assert response.status_code == 422
    assert "too big together" in response.content.decode()
    response = reply(dave_client, case, "Empty file", files=[upload("e.txt", b"")])
    assert response.status_code == 422

    assert case.messages.count() == 1
    assert not Attachment.objects.exists()


def test_the_reply_form_needs_no_script_and_labels_every_field(
    cast: Cast, dave_client: Client
) -> None:
    case = cast.open_case()
    html = case_page(dave_client, case)
    assert 'enctype="multipart/form-data"' in html
    assert f'action="/my/cases/{case.number}/reply/"' in html
    assert '<label for="id_body">Your message</label>' in html
    assert '<label for="id_attachments">Attach files (optional)</label>' in html
    assert 'id="id_attachments" multiple' in html
    assert "Up to 5 files, at most 20.0\xa0MB each." in html


def test_a_solved_case_can_be_rated_once_and_shows_the_rating(
    cast: Cast, dave_client: Client
) -> None:
    case = cast.open_case()
    assert "How did we do?" not in case_page(dave_client, case)
    solved(case)
    html = case_page(dave_client, case)
    assert f'action="/my/cases/{case.number}/rating/"' in html
    response = dave_client.post(
        f"/my/cases/{case.number}/rating/", {"rating": "5", "comment": "Quick and kind"}
    )
    assert response.status_code == 302
    survey = Survey.objects.get(case=case)
    assert (survey.state, survey.rating, survey.comment) == (
        SurveyState.ANSWERED,
        5,
        "Quick and kind",
    )
    again = dave_client.post(f"/my/cases/{case.number}/rating/", {"rating": "1"})
    assert again.status_code == 302
    survey.refresh_from_db()
    assert survey.rating == 5
    html = case_page(dave_client, case)
    assert "You rated our help 5 of 5. Thank you!" in html
    assert f'action="/my/cases/{case.number}/rating/"' not in html
    assert not Failure.objects.filter(case=case).exists()


def test_a_low_rating_is_a_failure_and_the_lead_hears_of_it(
    cast: Cast, dave_client: Client
) -> None:
    case = solved(cast.open_case())
    dave_client.post(f"/my/cases/{case.number}/rating/", {"rating": "1", "comment": "Slow."})
    failure = Failure.objects.get(case=case)
    assert failure.kind == "low_rating"
    notification = Notification.objects.get(case=case, kind="low_rating")
    assert notification.recipient == cast.alice
    assert OutboxMessage.objects.filter(to_email="alice@desk.test", case=case).count() == 1
    dave_client.post(f"/my/cases/{case.number}/rating/", {"rating": "1", "comment": "Slow!"})
    assert Failure.objects.filter(case=case).count() == 1


def test_a_case_that_is_not_solved_cannot_be_rated(cast: Cast, dave_client: Client) -> None:
    case = cast.open_case()
    response = dave_client.post(f"/my/cases/{case.number}/rating/", {"rating": "5"})
    assert response.status_code == 422
    assert "Only a solved request can be rated." in response.content.decode()
    assert not Survey.objects.filter(case=case).exists()
    solved(case)
    bad = dave_client.post(f"/my/cases/{case.number}/rating/", {"rating": "9"})
    assert bad.status_code == 422
    assert Survey.objects.get(case=case).state == SurveyState.WAITING


def test_a_rating_before_the_survey_went_out_means_no_survey_mail(
    cast: Cast, dave_client: Client, now: time_machine.Coordinates
) -> None:
    case = solved(cast.open_case())
    assert Survey.objects.get(case=case).state == SurveyState.WAITING
    dave_client.post(f"/my/cases/{case.number}/rating/", {"rating": "4"})
    now.shift(dt.timedelta(days=3))
    surveys.send_due()
    assert not OutboxMessage.objects.filter(kind=OutboxKind.SURVEY).exists()
    assert Survey.objects.get(case=case).rating == 4


def test_a_sent_survey_can_be_answered_in_the_portal(
    cast: Cast, dave_client: Client, now: time_machine.Coordinates
) -> None:
    case = solved(cast.open_case())
    now.shift(dt.timedelta(days=1))
    assert surveys.send_due() == 1
    assert Survey.objects.get(case=case).state == SurveyState.SENT
    dave_client.post(f"/my/cases/{case.number}/rating/", {"rating": "2"})
    survey = Survey.objects.get(case=case)
    assert (survey.state, survey.rating) == (SurveyState.ANSWERED, 2)
    # The survey link now shows the thanks, and changes nothing.
    Client().post(f"/survey/{survey.token}/", {"rating": "5"})
    assert Survey.objects.get(case=case).rating == 2


def test_a_solved_case_with_no_survey_gets_one_answered(cast: Cast, dave_client: Client) -> None:
    case = solved(cast.open_case())
    Survey.objects.filter(case=case).delete()  # solved before surveys existed
    dave_client.post(f"/my/cases/{case.number}/rating/", {"rating": "3"})
    survey = Survey.objects.get(case=case)
    assert (survey.state, survey.rating, survey.customer) == (
        SurveyState.ANSWERED,
        3,
        cast.dave,
    )


def test_a_merged_case_points_to_where_the_conversation_goes_on(
    cast: Cast, dave_client: Client
) -> None:
    from pomogu.cases.recurrence import merge

    source = cast.open_case(subject="Duplicate")
    target = cast.open_case(subject="Original")
    merge(source.pk, into_id=target.pk, actor=cast.alice)
    html = case_page(dave_client, source)
    assert f'href="/my/cases/{target.number}/"' in html
    assert f'action="/my/cases/{source.number}/reply/"' not in html
