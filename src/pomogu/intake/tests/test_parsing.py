"""The mail parser: stdlib corpus, reply splitting, our malformed/Russian corpus, HTML, names.

No database: plain functions. Corpus files are in tests/corpus/, each named for what it tests.
"""

from __future__ import annotations

import html
import pickle
import re
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pomogu.intake.parsing import (
    FORWARD_LINE,
    Limits,
    ParsedMail,
    ParseError,
    html_to_text,
    parse,
    safe_filename,
    sanitize_html,
    split_reply,
)

CORPUS = Path(__file__).parent / "corpus"
SHARED = Path(__file__).resolve().parents[5] / "shared" / "data"
CPYTHON = SHARED / "email_stdlib_cpython"
REPLIES = SHARED / "email_reply_parser"
RU = "Здравствуйте! Оплата картой не проходит, деньги списались, а заказ не оформлен."

needs_cpython = pytest.mark.skipif(not CPYTHON.is_dir(), reason="shared/data not present")
needs_replies = pytest.mark.skipif(not REPLIES.is_dir(), reason="shared/data not present")


def corpus(name: str) -> ParsedMail:
    return parse((CORPUS / f"{name}.eml").read_bytes())


def corpus_error(name: str) -> ParseError:
    with pytest.raises(ParseError) as caught:
        corpus(name)
    return caught.value


def reply_fixture(name: str) -> str:
    return (REPLIES / f"{name}.txt").read_text(encoding="utf-8")


# --- the CPython email test corpus -----------------------------------------------------------

# None of the 48 files raises ParseError: each parses to a ParsedMail (checked by the test below).
CPYTHON_FILES = sorted(p.name for p in CPYTHON.glob("msg_*.txt")) if CPYTHON.is_dir() else []


@needs_cpython
@pytest.mark.parametrize("name", CPYTHON_FILES)
def test_every_cpython_message_parses(name: str) -> None:
    mail = parse((CPYTHON / name).read_bytes())
    assert "\n" not in mail.subject
    assert "\r" not in mail.subject
    assert "\x00" not in mail.text
    assert mail.visible_text == mail.text or len(mail.visible_text) < len(mail.text)


@needs_cpython
def test_cpython_corpus_has_all_48_files() -> None:
    assert len(CPYTHON_FILES) == 48


@needs_cpython
def test_cpython_simple_message() -> None:
    mail = parse((CPYTHON / "msg_01.txt").read_bytes())
    assert mail.subject == "This is a test message"
    assert mail.from_address == "bbb@ddd.com"
    assert mail.from_name == "John X. Doe"  # the old "addr (Name)" form
    assert mail.to == ["bbb@zzz.org"]
    assert mail.text == "Hi,\n\nDo you like this message?\n\n-Me"
    assert mail.date == datetime(2001, 5, 4, 18, 5, 44, tzinfo=UTC)


@needs_cpython
@pytest.mark.parametrize("name", ["msg_08.txt", "msg_09.txt", "msg_12.txt", "msg_12a.txt"])
def test_cpython_charset_parts_are_empty_bodies(name: str) -> None:
    # us-ascii, iso-8859-1/2/3 and koi8-r parts with no content: nothing to decode, nothing lost
    mail = parse((CPYTHON / name).read_bytes())
    assert mail.subject == "Lyrics"
    assert mail.from_address == "barry@python.org"
    assert mail.from_name == "Barry Warsaw"
    assert mail.text == ""
    assert mail.attachments == []


@needs_cpython
def test_cpython_base64_and_qp_parts_decode() -> None:
    mail = parse((CPYTHON / "msg_10.txt").read_bytes())
    assert "This is a 7bit encoded message." in mail.text
    assert "This is a Base64 encoded message." in mail.text
    assert mail.html == "¡This is a Quoted Printable encoded message!\n"


@needs_cpython
def test_cpython_attachment_and_forward() -> None:
    gif = parse((CPYTHON / "msg_07.txt").read_bytes())
    assert [a.filename for a in gif.attachments] == ["dingusfish.gif"]
    assert gif.attachments[0].content_type == "image/gif"
    assert gif.attachments[0].content.startswith(b"GIF87a")
    forwarded = parse((CPYTHON / "msg_06.txt").read_bytes())
    assert forwarded.text.startswith(FORWARD_LINE)
    assert "Subject: forwarded message from Barry A. Warsaw" not in forwarded.text.splitlines()[0]


@needs_cpython
def test_cpython_named_inline_text_parts_still_give_text() -> None:
    mail = parse((CPYTHON / "msg_04.txt").read_bytes())
    assert "a simple kind of mirror" in mail.text
    assert [a.filename for a in mail.attachments] == ["msg.txt", "msg.txt"]


@needs_cpython
def test_cpython_bounces() -> None:
    ucla = parse((CPYTHON / "msg_16.txt").read_bytes())
    assert ucla.bounce
    assert ucla.bounce_permanent
    assert ucla.auto == "delivery-report"
    assert ucla.bounced_message_ids == ["<002001c144a6$8752e060$56104586@oxy.edu>"]
    hops = parse((CPYTHON / "msg_25.txt").read_bytes())  # broken boundary: a classic bounce
    assert hops.bounce
    assert hops.bounce_permanent
    assert hops.from_address == "MAILER-DAEMON@zinfandel.lacita.com"
    # msg_43's returned headers carry the DSN's own Message-ID (a quirk of the test data), so
    # there is nothing of ours to match
    banned = parse((CPYTHON / "msg_43.txt").read_bytes())
    assert banned.bounce
    assert banned.bounced_message_ids == []


@needs_cpython
def test_cpython_rfc2231_charset_and_list_headers() -> None:
    mail = parse((CPYTHON / "msg_32.txt").read_bytes())
    assert mail.text == "Some message."
    assert mail.auto == "precedence-bulk"


# --- split_reply on the email_reply_parser fixtures ------------------------------------------


@needs_replies
@pytest.mark.parametrize(
    ("name", "visible"),
    [
        ("email_gmail", "This is a test for inbox replying to a github message."),
        ("email_2_1", "Outlook with a reply"),
        ("email_2_2", "Outlook with a reply directly above line"),
        ("email_2_3", "Outlook with a reply above headers using unusual format"),
        ("email_headers_no_delimiter", "And another reply!"),
        ("email_iPhone", "Here is another email"),
        ("email_BlackBerry", "Here is another email"),
        ("email_multi_word_sent_from_my_mobile_device", "Here is another email"),
        ("email_1_4", "Awesome! I haven't had another problem with it."),
        ("email_1_7", ":+1:"),
        ("correct_sig", "this is an email with a correct -- signature."),
    ],
)
def test_reply_fixture_visible(name: str, visible: str) -> None:
    assert split_reply(reply_fixture(name))[0] == visible


@needs_replies
def test_reply_iphone_signature_is_folded() -> None:
    visible, folded = split_reply(reply_fixture("email_iPhone"))
    assert "Sent from my iPhone" not in visible
    assert folded == "Sent from my iPhone"


@needs_replies
def test_reply_one_is_not_on() -> None:
    visible, folded = split_reply(reply_fixture("email_one_is_not_on"))
    assert "On Oct 1, 2012, at 11:55 PM, Dave Tapley wrote:" not in visible
    assert visible.endswith("Locally (on development), when I run...")
    assert folded.startswith("On Oct 1, 2012")


@needs_replies
def test_reply_inline_answers_stay_visible() -> None:
    visible, folded = split_reply(reply_fixture("email_1_2"))
    assert "You can list the keys for the bucket" in visible
    assert visible.startswith("Hi,\nOn Tue, 2011-03-01")  # the quote they answer, for context
    assert "riak-users mailing list" not in visible
    assert "riak-users mailing list" in folded
    visible, folded = split_reply(reply_fixture("email_1_8"))
    assert "I will reply under this one" in visible
    assert visible.endswith("and under this.")
    assert "Hey there, this is my signature" not in visible


@needs_replies
def test_reply_signatures_and_footers() -> None:
    visible, folded = split_reply(reply_fixture("email_1_1"))
    assert visible.endswith("I am currently using the Java HTTP API.")
    assert folded.startswith("-Abhishek Kona")
    visible, folded = split_reply(reply_fixture("email_1_3"))
    assert visible == "Oh thanks.\n\nHaving the function would be great."
    visible, folded = split_reply(reply_fixture("correct_sig"))
    assert folded == "-- \nrick"


@needs_replies
@pytest.mark.parametrize(
    "name",
    [
        "email_1_5",
        "email_sig_delimiter_in_middle_of_line",
        "email_sent_from_my_not_signature",
    ],
)
def test_reply_nothing_to_fold(name: str) -> None:
    text = reply_fixture(name)
    assert split_reply(text) == (text, "")


@needs_replies
@pytest.mark.parametrize("name", ["email_partial_quote_header", "greedy_on"])
def test_reply_body_line_starting_with_on_is_not_a_quote_header(name: str) -> None:
    visible, folded = split_reply(reply_fixture(name))
    assert visible.startswith("On your remote host you can run:")
    assert "telnet 127.0.0.1 52698" in visible
    assert folded.startswith("On 9 Jan 2014, at 2:47, George Plymale wrote:")


@needs_replies
def test_reply_bullets_and_multiline_attribution() -> None:
    visible, folded = split_reply(reply_fixture("email_bullets"))
    assert visible.endswith("   - how about bullets\n   - and another")
    assert "Joe Smith" in folded
    visible, folded = split_reply(reply_fixture("email_1_6"))
    assert visible.endswith("Sent from a magnificent torch of pixels")
    assert folded.startswith("On Dec 16, 2011, at 12:47 PM, Corey Donohoe")


@needs_replies
def test_reply_pathological_is_fast() -> None:
    text = reply_fixture("pathological")
    started = time.perf_counter()
    visible, _folded = split_reply(text)
    # Not a speed target (those are in bench/): a backtracking regex takes minutes here.
    assert time.perf_counter() - started < 1.0
    assert visible.startswith("I think you're onto something.")
    started = time.perf_counter()
    split_reply(text * 200)  # 600 KB of it
    assert time.perf_counter() - started < 5.0


# --- split_reply: Russian mail clients -------------------------------------------------------

RUSSIAN_REPLIES = {
    "gmail": "Спасибо, всё заработало!\n\nпн, 23 нояб. 2026 г. в 10:15, Иван Петров "
    "<ivan@example.ru>:\n\n> Попробуйте перезагрузить роутер.\n",
    "gmail_unquoted": "Спасибо, всё заработало!\nпн, 23 нояб. 2026 г. в 10:15, Иван Петров "
    "<ivan@example.ru>:\nПопробуйте перезагрузить роутер.\n",
    "yandex": 'Спасибо, всё заработало!\n\n23.11.2026, 10:15, "Иван" <ivan@yandex.ru>:\n'
    "> Попробуйте ещё раз.\n",
    "mailru": "Спасибо, всё заработало!\n\nПонедельник, 23 ноября 2026, 10:15 +03:00 от Иван "
    "<ivan@mail.ru>:\nПопробуйте ещё раз.\n",
    "thunderbird": "Спасибо, всё заработало!\n\n23.11.2026 10:15, Иван Петров пишет:\n"
    "> Попробуйте ещё раз.\n",
    "apple": "Спасибо, всё заработало!\n\n23 нояб. 2026 г., в 10:15, Иван <ivan@icloud.com> "
    "написал(а):\n\n> Попробуйте ещё раз.\n",
    "outlook_separator_en": "Спасибо, всё заработало!\n\n-----Original Message-----\n"
    "From: Ivan\nSent: Monday\nTo: x\nSubject: y\n\nold\n",
    "outlook_separator_ru": "Спасибо, всё заработало!\n\n-----Исходное сообщение-----\n"
    "От: Иван Петров\nОтправлено: 23 ноября 2026 г. 10:15\nКому: support@example.ru\n"
    "Тема: Счёт\n\nПришлите счёт.\n",
    "outlook_headers_ru": "Спасибо, всё заработало!\n\nОт: Иван Петров <ivan@example.ru>\n"
    "Отправлено: 23 ноября 2026 г. 10:15\nКому: support@example.ru\nТема: Счёт\n\nСтарое.\n",
    "outlook_underscores": "Спасибо, всё заработало!\n________________________________\n"
    "От: Иван Петров\nОтправлено: 23 ноября 2026 г. 10:15\nКому: x\nТема: y\n\nСтарое.\n",
    "sig_dashes": "Спасибо, всё заработало!\n\n-- \nС уважением,\nИван Петров\nООО «Ромашка»\n",
    "mobile": "Спасибо, всё заработало!\n\nОтправлено с iPhone\n",
    "mailru_mobile": "Спасибо, всё заработало!\n\nОтправлено из мобильной Почты Mail.ru\n",
}


@pytest.mark.parametrize("client", sorted(RUSSIAN_REPLIES))
def test_russian_reply_formats(client: str) -> None:
    visible, folded = split_reply(RUSSIAN_REPLIES[client])
    assert visible == "Спасибо, всё заработало!"
    assert folded


def test_closing_without_delimiter_is_not_folded() -> None:
    # «С уважением, Иван» is part of what the person wrote: only a delimiter starts a signature
    text = "Заказ 123 не пришёл.\n\nС уважением,\nИван\n"
    assert split_reply(text) == (text, "")
    text = "Order 123 is late.\n\nBest regards,\nJohn"
    assert split_reply(text) == (text, "")


def test_never_folds_everything() -> None:
    text = "> only a quote\n> nothing else\n"
    assert split_reply(text) == (text, "")
    text = "-----Original Message-----\nFrom: a\nSent: b\nTo: c\nSubject: d\n\nforwarded as is"
    assert split_reply(text) == (text, "")
    assert split_reply("") == ("", "")


def test_text_line_before_attribution_is_not_part_of_it() -> None:
    text = "Заказ 123 опаздывает\nпн, 23 нояб. 2026 г. в 10:15, Иван <i@example.ru>:\nстарое\n"
    assert split_reply(text)[0] == "Заказ 123 опаздывает"


# --- our corpus: structure and limits --------------------------------------------------------


def test_multipart_without_boundary_keeps_its_text() -> None:
    assert corpus("multipart_no_boundary").text == "The body of a multipart without a boundary."


def test_multipart_with_wrong_boundary_keeps_its_text() -> None:
    assert (
        "Text under a boundary that was never declared." in corpus("multipart_wrong_boundary").text
    )


def test_unclosed_multipart_keeps_parts() -> None:
    mail = corpus("multipart_unclosed")
    assert mail.text == "The first part is here."
    assert [(a.filename, a.content) for a in mail.attachments] == [("a.pdf", b"%PDF-1.4\n")]


def test_limits_raise_with_matching_codes() -> None:
    assert corpus_error("nesting_50_levels").code == "over_limit_depth"
    assert corpus_error("parts_10000").code == "over_limit_parts"
    assert corpus_error("headers_2000").code == "over_limit_headers"
    raw = (CORPUS / "charset_koi8r_declared.eml").read_bytes()
    with pytest.raises(ParseError) as caught:
        parse(raw, Limits(max_bytes=len(raw) - 1))
    assert caught.value.code == "over_limit_size"
    assert parse(raw, Limits(max_bytes=len(raw))).text == RU
    with pytest.raises(ParseError) as caught:
        parse(
            (CORPUS / "attachment_hostile_names.eml").read_bytes(), Limits(max_attachment_bytes=2)
        )
    assert caught.value.code == "over_limit_attachment"
    assert parse(
        (CORPUS / "attachment_hostile_names.eml").read_bytes(), Limits(max_attachment_bytes=3)
    )


def test_address_limit() -> None:
    many = ", ".join(f"user{i}@example.org" for i in range(501))
    with pytest.raises(ParseError) as caught:
        parse(f"From: a@example.org\nTo: {many}\n\nbody".encode())
    assert caught.value.code == "over_limit_addresses"
    assert (
        len(
            parse(f"From: a@example.org\nTo: {many}\n\nbody".encode(), Limits(max_addresses=600)).to
        )
        == 501
    )


def test_too_many_lines_and_long_content_headers() -> None:
    with pytest.raises(ParseError) as caught:
        parse(b"From: a@example.org\n\n" + b"x\n" * 1_000_001)
    assert caught.value.code == "over_limit_size"
    long_type = b"Content-Type: text/plain; " + b'a="b;"; ' * 2000
    with pytest.raises(ParseError) as caught:
        parse(b"From: a@example.org\n" + long_type + b"\n\nbody")
    assert caught.value.code == "over_limit_headers"


def test_parse_error_has_code_detail_and_pickles() -> None:
    error = corpus_error("parts_10000")
    assert error.detail.endswith(".")
    assert " " in error.detail
    assert str(error).startswith("over_limit_parts: ")
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own object
    assert (copy.code, copy.detail) == (error.code, error.detail)


def test_huge_header_line_nul_and_no_headers() -> None:
    assert corpus("header_line_1mb").text == "Body after a huge header line."
    assert corpus("nul_bytes").text == "Beforeafter NUL."
    assert corpus("no_headers").text == "Just a body with no headers at all."
    empty = corpus("empty")
    assert (empty.text, empty.from_address, empty.message_id, empty.date) == ("", "", "", None)


def test_invalid_transfer_encodings_do_not_lose_the_rest() -> None:
    mail = corpus("base64_invalid")
    assert [a.filename for a in mail.attachments] == ["x.bin"]
    qp = corpus("quoted_printable_invalid")
    assert qp.text.startswith("Broken =ZZ escape and a lone = at the end of a line")
    assert "Привет" in qp.text  # the broken trailing byte costs one character, not the text


def test_bare_lf_and_bare_cr_are_line_ends() -> None:
    mail = corpus("bare_lf_and_bare_cr")
    assert mail.from_address == "ivan@example.ru"
    assert mail.to == ["support@desk.example"]
    assert mail.subject == "line ends"
    assert mail.text == "body line 1\nbody line 2\nbody line 3"
    crlf = b"From: ivan@example.ru\r\nTo: support@desk.example\r\nSubject: line ends\r\n"
    crlf += b"Message-ID: <le@example.ru>\r\n\r\nbody line 1\r\nbody line 2\r\nbody line 3\r\n"
    assert parse(crlf) == mail
    assert parse(crlf.replace(b"\r\n", b"\n")) == mail


def test_invalid_date_is_none_and_dates_are_aware() -> None:
    assert corpus("date_invalid").date is None
    assert parse(b"Date: Mon, 23 Nov 2026 10:15:00 -0000\n\nx").date == datetime(
        2026, 11, 23, 10, 15, tzinfo=UTC
    )


# --- charsets --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "charset_cp1251_labelled_iso8859_1",
        "charset_koi8r_no_charset",
        "charset_koi8r_declared",
        "charset_cp1251_declared",
        "charset_iso8859_5_declared",
        "charset_utf8_labelled_cp1251",
        "charset_unknown_label",
    ],
)
def test_russian_text_decodes_whatever_the_label(name: str) -> None:
    mail = corpus(name)
    assert mail.text == RU
    assert mail.language_hint == "ru"


@pytest.mark.parametrize(
    ("encoding", "label"),
    [
        ("cp1251", "windows-1251"),
        ("koi8_r", "koi8-r"),
        ("iso8859_5", "iso-8859-5"),
        ("utf-8", "utf-8"),
        ("cp1251", "iso-8859-1"),
        ("cp1251", None),
        ("koi8_r", None),
        ("utf-8", None),
        ("cp1251", "us-ascii"),
    ],
)
def test_short_russian_sentences(encoding: str, label: str | None) -> None:
    for sentence in ["Привет, как дела?", "Не работает оплата", RU]:
        charset = f"; charset={label}" if label else ""
        raw = f"From: a@example.org\nContent-Type: text/plain{charset}\n\n".encode()
        assert parse(raw + sentence.encode(encoding)).text == sentence


def test_latin1_stays_latin1() -> None:
    text = "Grüße aus Köln, ça va? Señor Müller"
    raw = b"From: a@example.org\nContent-Type: text/plain; charset=iso-8859-1\n\n"
    assert parse(raw + text.encode("latin-1")).text == text
    assert parse(b"From: a@example.org\n\n" + text.encode("latin-1")).text == text


def test_8bit_headers_without_encoding() -> None:
    mail = corpus("headers_8bit_unencoded")
    assert (mail.subject, mail.from_name) == ("Не работает оплата", "Иван Петров")
    mail = corpus("headers_8bit_cp1251")
    assert (mail.subject, mail.from_name, mail.text) == ("Счёт на оплату", "Иван", "Пришлите счёт.")


def test_rfc2047_words() -> None:
    mail = corpus("rfc2047_mixed_charsets")
    assert mail.subject == "Счёт на оплату N5"
    assert mail.from_name == "Иван Петров"
    assert corpus("rfc2047_split_multibyte").subject == "Привет"
    assert corpus("rfc2047_broken_words").subject == (
        "ok =?utf-8?b?!!!notbase64?= x =?utf-8?x?bad?= tail"
    )


def test_encoded_newline_in_subject_stays_one_line() -> None:
    # CVE-2024-6923 shape: an encoded-word carrying CR/LF must not become a header break
    mail = corpus("subject_encoded_newline")
    assert mail.subject == "hi Bcc: x@evil.example X-Pomogu-Team: vip"


# --- headers are data, never commands (IN-9, SEC-3, SEC-4) -----------------------------------


def test_x_pomogu_headers_change_nothing() -> None:
    raw = (CORPUS / "control_headers_x_pomogu.eml").read_bytes()
    without = b"".join(line for line in raw.splitlines(keepends=True) if b"X-Pomogu" not in line)
    assert b"X-Pomogu" in raw
    assert b"X-Pomogu" not in without
    assert parse(raw) == parse(without)


def test_bare_lf_cannot_smuggle_a_control_header() -> None:
    mail = corpus("subject_bare_lf_smuggle")
    assert mail.subject == "a"  # the bare LF ended the line: the rest is a header we ignore
    clean = b"From: ivan@example.ru\r\nTo: support@desk.example\r\nSubject: a\r\n"
    clean += b"Message-ID: <smuggle@example.ru>\r\n\r\nbody\r\n"
    assert mail == parse(clean)


def test_from_cve_2023_27043_gives_no_sender() -> None:
    mail = corpus("from_cve_2023_27043")
    assert mail.from_address == ""  # never bob@example.com, and nothing is guessed
    assert "bob" not in mail.from_address


def test_display_name_never_becomes_the_address() -> None:
    mail = corpus("from_display_name_is_address")
    assert (mail.from_address, mail.from_name) == ("x@evil.example", "support@desk.example")


def test_sender_edge_cases() -> None:
    assert corpus("from_two_headers").from_address == ""  # two different From: ambiguous
    assert corpus("from_missing").from_address == ""
    first = parse(b"From: Alice <alice@Example.ORG>, bob@example.com\n\nx")
    assert (first.from_address, first.from_name) == ("alice@example.org", "Alice")
    assert parse(b"From: not an address\n\nx").from_address == ""
    assert parse(b"From: <>\n\nx").from_address == ""
    assert parse(b'From: "a@b.c" <real@example.org>\n\nx').from_address == "real@example.org"


def test_recipients() -> None:
    mail = corpus("to_cc_addresses")
    assert mail.to == ["support@desk.example", "sales@desk.example"]
    assert mail.cc == []  # the Cc value with an unbalanced "(" is refused whole
    assert mail.reply_to == "ivan.reply@example.ru"
    cc = parse(b"From: a@example.org\nCc: =?utf-8?b?0J/RkdGC0YA=?= <petr@EXAMPLE.ru>\n\nx")
    assert cc.cc == ["petr@example.ru"]


def test_message_ids() -> None:
    raw = (
        b"From: a@example.org\nMessage-ID:  < abc@example.org >\n"
        b"In-Reply-To: <x@example.org> (Ivan's message)\n"
        b"References: <r1@example.org>\n <r2@example.org> <r1@example.org> garbage\n\nx"
    )
    mail = parse(raw)
    assert mail.message_id == "<abc@example.org>"
    assert mail.in_reply_to == ["<x@example.org>"]
    assert mail.references == ["<r1@example.org>", "<r2@example.org>"]
    assert parse(b"Message-ID: garbage\n\nx").message_id == ""
    assert parse(b"Message-ID: <>\n\nx").message_id == ""
    assert parse(b"Message-ID: bare@example.org\n\nx").message_id == "<bare@example.org>"


# --- machine mail ----------------------------------------------------------------------------


def test_bounce_permanent() -> None:
    mail = corpus("dsn_bounce_5_1_1")
    assert (mail.bounce, mail.bounce_permanent, mail.auto) == (True, True, "delivery-report")
    assert mail.bounced_message_ids == ["<outbox-17@desk.example>"]
    assert "We are on it." not in mail.text  # the returned original is not the DSN's text


def test_bounce_delayed() -> None:
    mail = corpus("dsn_delayed_4_4_7")
    assert (mail.bounce, mail.bounce_permanent) == (True, False)
    assert mail.bounced_message_ids == ["<outbox-17@desk.example>"]


def test_classic_bounce() -> None:
    mail = corpus("bounce_classic_mailer_daemon")
    assert (mail.bounce, mail.bounce_permanent, mail.auto) == (True, True, "delivery-report")
    assert mail.bounced_message_ids == ["<outbox-21@desk.example>"]


@pytest.mark.parametrize(
    ("name", "auto"),
    [
        ("auto_out_of_office", "auto-submitted"),
        ("auto_microsoft_oof", "ms-auto-response-suppress"),
        ("auto_russian_subject", "auto-reply-subject"),
        ("list_mail", "precedence-list"),
        ("charset_koi8r_declared", ""),
    ],
)
def test_auto_classification(name: str, auto: str) -> None:
    mail = corpus(name)
    assert mail.auto == auto
    assert not mail.bounce


@pytest.mark.parametrize(
    ("headers", "auto"),
    [
        ("Auto-Submitted: auto-generated", "auto-submitted"),
        ("Auto-Submitted: no", ""),
        ("Return-Path: <>", "null-return-path"),
        ("Return-Path: <ivan@example.ru>", ""),
        ("X-Autoreply: yes", "x-autoreply"),
        ("X-Autorespond: whatever", "x-autorespond"),
        ("Precedence: bulk", "precedence-bulk"),
        ("Precedence: junk", "precedence-junk"),
        ("List-Id: <x.example.org>", "list-mail"),
        ("List-Post: <mailto:x@example.org>", "list-mail"),
        ("X-Auto-Response-Suppress: DR, OOF", "ms-auto-response-suppress"),
        ("X-Auto-Response-Suppress: NDR", ""),
        ("Subject: Out of Office", "auto-reply-subject"),
        ("Subject: Out of office: Re: case 12", "auto-reply-subject"),
        ("Subject: Automatic reply: Re: case", "auto-reply-subject"),
        ("Subject: Вне офиса", "auto-reply-subject"),
        ("Subject: Я в отпуске до 1 декабря", "auto-reply-subject"),
        ("Subject: Автоматический ответ: Re: заказ", "auto-reply-subject"),
        ("Subject: Out of office hours support needed", ""),
        ("Subject: Я в отпуске, но у меня срочный вопрос", ""),
        ("Subject: Re: Автоответ не работает", ""),
        ("Content-Type: multipart/report; report-type=disposition-notification", "delivery-report"),
    ],
)
def test_auto_markers(headers: str, auto: str) -> None:
    assert parse(f"From: a@example.org\n{headers}\n\nbody".encode()).auto == auto


def test_postmaster_writing_normally_is_not_a_bounce() -> None:
    mail = parse(b"From: postmaster@customer.example\nSubject: Question about invoice\n\nHi")
    assert not mail.bounce
    assert mail.auto == ""


# --- bodies ----------------------------------------------------------------------------------


def test_plain_alternative_that_says_see_html_uses_html() -> None:
    mail = corpus("alternative_plain_says_see_html")
    assert mail.text == "Real content here.\n\n> quoted history"
    assert mail.visible_text == "Real content here."
    assert mail.html == "<p>Real <b>content</b> here.</p><blockquote>quoted history</blockquote>"


def test_html_only_russian_gmail_reply() -> None:
    mail = corpus("russian_gmail_reply_html_only")
    assert mail.visible_text == "Спасибо, всё получил!"
    assert "Ваш заказ отправлен." in mail.text
    assert mail.language_hint == "ru"


def test_forwarded_message() -> None:
    mail = corpus("forwarded_rfc822")
    assert mail.text.startswith("Пересылаю письмо клиента.\n\n" + FORWARD_LINE)
    assert "From: Client <client@example.com>" in mail.text
    assert "Subject: Жалоба" in mail.text
    assert mail.text.endswith("Товар пришёл сломанным.")
    assert mail.visible_text == mail.text  # a forward is content, never folded
    assert [a.filename for a in mail.attachments] == ["photo.jpg"]


def test_text_has_lf_line_ends() -> None:
    raw = b"From: a@example.org\r\nContent-Type: text/plain\r\n\r\none\r\ntwo\rthree\n"
    assert parse(raw).text == "one\ntwo\nthree"


def test_language_hint() -> None:
    assert parse(b"From: a@b.cd\n\nHello, my order is late").language_hint == "en"
    assert parse("From: a@b.cd\n\nМой заказ iPhone 15 опаздывает".encode()).language_hint == "ru"
    assert parse(b"From: a@b.cd\n\n12345 !!!").language_hint == ""


# --- attachments and names -------------------------------------------------------------------


def test_hostile_attachment_names() -> None:
    names = [a.filename for a in corpus("attachment_hostile_names").attachments]
    assert names == [
        "passwd",
        "win.ini",
        "evil.pdfgpj.exe",
        "_CON",
        "x" * 146 + ".pdf",
        "nulbyte.txt",
        "htaccess",
    ]


def test_rfc2231_and_inline_attachments() -> None:
    attachment = corpus("attachment_rfc2231_russian_name").attachments[0]
    assert (attachment.filename, attachment.content_type) == ("Счёт.pdf", "application/pdf")
    assert attachment.content == b"%PDF-"
    logo = corpus("html_hostile").attachments[0]
    assert (logo.filename, logo.inline, logo.content_id) == ("logo.png", True, "logo@x")


@pytest.mark.parametrize(
    ("name", "content_type", "expected"),
    [
        ("../../etc/passwd", "", "passwd"),
        ("..\\..\\win.ini", "", "win.ini"),
        ("evil.pdf\u202egpj.exe", "", "evil.pdfgpj.exe"),
        ("CON", "", "_CON"),
        ("nul.txt", "", "_nul.txt"),
        ("report\x00.pdf", "", "report.pdf"),
        (".htaccess", "", "htaccess"),
        ("...", "image/png", "attachment.png"),
        ("", "application/pdf", "attachment.pdf"),
        (None, "", "attachment.bin"),
        (None, "text/x-unknown", "attachment.bin"),
        ("a..b...c.txt", "", "a.b.c.txt"),
        ("  spaced   name .doc ", "", "spaced name.doc"),
        ("in\u0438\u0306.txt", "", "in\u0439.txt"),  # NFC
        ("zero\u200bwidth.txt", "", "zerowidth.txt"),
        ('a<b>c:d"e|f?g*h.txt', "", "a_b_c_d_e_f_g_h.txt"),
    ],
)
def test_safe_filename(name: str | None, content_type: str, expected: str) -> None:
    assert safe_filename(name, content_type) == expected


def test_safe_filename_keeps_extension_when_truncating() -> None:
    name = safe_filename("я" * 400 + ".docx")
    assert len(name) == 150
    assert name.endswith(".docx")


# --- HTML ------------------------------------------------------------------------------------

DANGER_RE = re.compile(
    r"<script|<iframe|<object|<embed|<svg|<math|<style|<meta|<base|<form|\son\w+\s*=|"
    r"javascript:|vbscript:|expression\(|url\(|srcdoc|data:|http://tracker|evil\.example",
    re.IGNORECASE,
)


def test_hostile_html_is_sanitised() -> None:
    mail = corpus("html_hostile")
    assert not DANGER_RE.search(html.unescape(mail.html)), mail.html
    assert '<a href="http://ok.example/" rel="noopener noreferrer nofollow">ok</a>' in mail.html
    assert '<img data-cid="logo@x" alt="logo">' in mail.html
    assert "<div>styled</div>" in mail.html  # the style with expression() went, the text stayed
    assert "alert" not in mail.text


@pytest.mark.parametrize(
    "payload",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        '<a href="jav&#x09;ascript:alert(1)">x</a>',
        '<a href=" javascript:alert(1)">x</a>',
        "<svg><animate onbegin=alert(1) attributeName=x></svg>",
        '<iframe srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;"></iframe>',
        "<style>@import 'http://evil.example/x.css';</style>",
        '<p style="background:url(http://evil.example/x)">x</p>',
        '<p style="width:expression(alert(1))">x</p>',
        '<meta http-equiv="refresh" content="0;url=http://evil.example/">',
        '<base href="http://evil.example/">',
        '<form action="http://evil.example/"><button>x</button></form>',
        '<img src="data:image/png;base64,AAAA">',
        '<img src="//evil.example/x.png">',
        '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
        "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
        '<a href="data:text/html,<script>alert(1)</script>">x</a>',
        '<div style="behavior:url(x.htc)">x</div>',
        '<object data="x.swf"></object><embed src="x.swf"><applet code="x"></applet>',
    ],
)
def test_sanitize_html_vectors(payload: str) -> None:
    assert not DANGER_RE.search(html.unescape(sanitize_html(payload)))


def test_sanitize_keeps_formatting() -> None:
    kept = sanitize_html(
        '<p align="center" style="color: red"><b>Hi</b> <i>there</i><br>'
        '<font color="blue">x</font></p><table><tr><td colspan="2">1</td></tr></table>'
    )
    assert kept == (
        '<p align="center" style="color:red"><b>Hi</b> <i>there</i><br>'
        '<font color="blue">x</font></p><table><tbody><tr><td colspan="2">1</td></tr></tbody>'
        "</table>"
    )
    assert sanitize_html("") == ""


def test_html_to_text() -> None:
    text = html_to_text(
        "<html><head><title>T</title><style>p{}</style></head><body>"
        "<p>Hello&nbsp;<b>world</b> &amp; co.</p><ul><li>one</li><li>two</li></ul>"
        '<p><a href="https://example.org/x">the link</a> and <a href="https://example.org/">'
        "https://example.org/</a></p><blockquote>old<blockquote>older</blockquote></blockquote>"
        "<script>alert(1)</script><pre>  keep\n    this</pre></body></html>"
    )
    assert text == (
        "Hello world & co.\n\n- one\n- two\n\n"
        "the link <https://example.org/x> and https://example.org/\n\n"
        "> old\n\n> > older\n\n  keep\n    this"
    )
    assert html_to_text("") == ""


def test_a_broken_rfc2231_file_name_keeps_the_attachment() -> None:
    """Found by the hypothesis property: an 8-bit byte in the charset of an RFC 2231 file name
    made the stdlib's get_filename raise UnicodeEncodeError out of parse()."""
    raw = (
        b"From: Ivan Petrov <ivan@example.ru>\nSubject: rfc2231\nMessage-ID: <m1@example.ru>\n"
        b'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="A"\n\n--A\n'
        b"Content-Type: text/plain; charset=utf-8\n\nhello\n--A\n"
        b"Content-Type: application/pdf\n"
        b"Content-Disposition: attachment; filename*=ut\xe6-8''%D0%A1%D1%87.pdf\n"
        b"Content-Transfer-Encoding: base64\n\nJVBERi0=\n--A--\n"
    )
    mail = parse(raw)
    [attachment] = mail.attachments
    assert attachment.content == b"%PDF-"
    assert attachment.filename
    assert "\udc80" not in attachment.filename
