"""The reply guard (R7): brush-off and blame phrases are found, good replies pass."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import pytest

from pomogu.contact.guard import MAX_CHARS, GuardResult, check

DATA = Path(__file__).resolve().parents[1] / "data" / "guard"


def categories(result: GuardResult) -> set[str]:
    return {f.category for f in result.findings}


# (category, reply): inflected forms, words between the parts of a phrase, spelling variants.
BRUSH_OFFS = [
    ("not_my_job", "Это не моя компетенция."),
    ("not_my_job", "Это, к сожалению, не в моей компетенции."),
    ("not_my_job", "Данный вопрос не входит в мою компетенцию, извините."),
    ("not_my_job", "Это вне нашей компитенции."),
    ("not_my_job", "Это не наш отдел."),
    ("not_my_job", "Это не наша зона ответственности."),
    ("not_my_job", "Это, увы, не к нам."),
    ("not_my_job", "Мы этим не занимаемся."),
    ("not_my_job", "Ремонтом мы не занимаемся, только продаём."),
    ("not_my_job", "Sorry, that's not my department."),
    ("not_my_job", "That isn't really our responsibility."),
    ("not_my_job", "This falls outside my remit."),
    ("not_my_job", "We don't handle refunds here."),
    ("go_elsewhere", "Обращайтесь, пожалуйста, в бухгалтерию."),
    ("go_elsewhere", "Обратитесь в сервисный центр производителя."),
    ("go_elsewhere", "Вам нужно связаться с курьерской службой."),
    ("go_elsewhere", "Пишите в другой отдел."),
    ("go_elsewhere", "Позвоните, пожалуйста, вашему провайдеру, там подскажут."),
    ("go_elsewhere", "Please contact the vendor directly."),
    ("go_elsewhere", "You'll have to contact the manufacturer about that."),
    ("go_elsewhere", "You need to reach out to our billing team."),
    ("go_elsewhere", "I'd suggest you take this up with the retailer."),
    ("call_later", "Звоните позже."),
    ("call_later", "Перезвоните, пожалуйста, завтра после десяти."),
    ("call_later", "Попробуйте дозвониться через пару часов."),
    ("call_later", "Ожидайте, с вами свяжутся."),
    ("call_later", "Please call back later."),
    ("call_later", "Try again tomorrow, the system is down."),
    ("call_later", "Someone will get back to you in due course."),
    ("absent_person", "Ответственный на совещании."),
    ("absent_person", "Менеджер сейчас в отпуске до двадцатого."),
    ("absent_person", "Специалист, который ведёт ваш вопрос, на больничном."),
    ("absent_person", "The person in charge is in a meeting."),
    ("absent_person", "Our manager's on holiday this week."),
    ("absent_person", "She's off sick today, nobody else can approve it."),
    ("blame_third_party", "Это вина курьерской службы."),
    ("blame_third_party", "Задержка произошла по вине подрядчика."),
    ("blame_third_party", "Это вопрос к подрядчику, монтаж делали они."),
    ("blame_third_party", "Мы тут ни при чём."),
    ("blame_third_party", "That's the courier's fault."),
    ("blame_third_party", "The delay is down to the shipping company."),
    ("blame_third_party", "It's an issue with your internet provider, not us."),
    ("blame_customer", "Это не гарантийный случай."),
    ("blame_customer", "Поломка возникла из-за неправильной эксплуатации."),
    ("blame_customer", "Это уже новая неисправность, оформляйте заявку заново."),
    ("blame_customer", "That's not covered by the warranty."),
    ("blame_customer", "This looks like user error."),
    ("refusal", "Ничем не можем помочь."),
    ("refusal", "Помочь вам, к сожалению, ничем не могу."),
    ("refusal", "Тут мы ничего не можем сделать."),
    ("refusal", "There's nothing we can do."),
    ("refusal", "I'm afraid there is nothing I can do about it."),
    ("refusal", "It's out of our hands."),
    ("red_tape", "Такова политика компании."),
    ("red_tape", "Приходите с чеком и в оригинальной упаковке."),
    ("red_tape", "Без чека мы товар не принимаем."),
    ("red_tape", "It's company policy."),
    ("red_tape", "Please bring the receipt and the original box."),
    ("red_tape", "Claims are only accepted in writing."),
]


@pytest.mark.parametrize(("category", "reply"), BRUSH_OFFS)
def test_a_brush_off_is_flagged_with_its_category(category: str, reply: str) -> None:
    result = check(reply)
    assert result.flagged, reply
    assert category in categories(result), (reply, result.findings)


GOOD_REPLIES = [
    "I'll forward this to our billing team and call you back by 3 pm.",
    "Я передал вопрос в бухгалтерию, они позвонят вам до 15:00.",
    "Не нужно звонить позже — я сам перезвоню вам сегодня.",
    "Наш подрядчик приедет завтра, я проконтролирую.",
    "Bring the router when convenient — no receipt or box needed.",
    "Менеджер на совещании до 14:00, я передам ему ваш вопрос, и он перезвонит до 16:00.",
    "The manager is in a meeting until 1 pm; I've briefed him and he'll call you at 1:30.",
    "No need to contact the vendor, I've done that already and will update you by Friday.",
    "You don't have to call back later, I'll call you tonight at 6.",
    "Чек не нужен, покупка есть в нашей базе. Приходите в любое время.",
    "Это наша вина, простите. Деньги вернём сегодня.",
    "It's not your fault at all. I've refunded the charge.",
    "Проблема на стороне подрядчика, но отвечаем перед вами мы: повторный выезд завтра в 10:00.",
    "Напишите, пожалуйста, серийный номер устройства — я проверю гарантию.",
    "Please try again and let me know if the error persists.",
    "Feel free to contact us again if anything else comes up.",
    "I'll call you back later today, around 4.",
    "Это как раз моя компетенция, сейчас всё исправлю.",
    "Спасибо, заказ отправлен, трек-номер пришлю вечером.",
    "Happy to help! The discount code has been applied.",
]


@pytest.mark.parametrize("reply", GOOD_REPLIES)
def test_a_reply_that_takes_ownership_passes(reply: str) -> None:
    result = check(reply)
    assert not result.flagged, result.findings
    assert result.findings == []
    assert result.suggestion == ""


def test_an_absent_manager_is_a_brush_off_without_an_owner_and_a_time() -> None:
    assert check("Менеджер на совещании, я передам ему ваш вопрос.").flagged
    assert not check(
        "Менеджер на совещании, я передам ему ваш вопрос, он позвонит до 16:00."
    ).flagged


def test_a_disclaimer_stays_a_brush_off_even_with_a_handover() -> None:
    result = check("Это не моя компетенция, но я передам вопрос в бухгалтерию, ответят до 15:00.")
    assert result.flagged
    assert categories(result) == {"not_my_job"}


def test_cancelling_something_is_not_taking_the_matter_on() -> None:
    assert check("Мастер в отпуске, заказ отменён. Напишите нам после праздников.").flagged
    assert check(
        "The engineer is off sick, so the visit has been cancelled. Please call back next week."
    ).flagged
    assert not check("Двойное списание нашёл и вернул, деньги придут за 3 дня.").flagged


def test_a_qualified_disclaimer_is_still_a_disclaimer() -> None:
    assert categories(check("Это не совсем моя компетенция.")) == {"not_my_job"}
    assert categories(check("That's not really my area.")) == {"not_my_job"}


def test_naming_who_handles_it_is_fine_when_the_reply_takes_it_on() -> None:
    assert categories(check("Доставкой занимается другой отдел.")) == {"go_elsewhere"}
    assert not check(
        "Доставкой занимается другой отдел, я передал им ваш вопрос, ответят до 15:00."
    ).flagged
    assert categories(check("Billing handles refunds, not us.")) >= {"go_elsewhere"}
    assert not check("Billing handles refunds; I've asked them and they'll reply by 4 pm.").flagged


def test_where_the_fault_lies_is_fine_when_taken_on_but_blame_is_not() -> None:
    assert check("Сбой на стороне банка.").flagged
    assert not check("Сбой на стороне банка, я уже написал им и сообщу ответ до 15:00.").flagged
    assert check("Это вина банка, я уже написал им и сообщу ответ до 15:00.").flagged
    assert not check(
        "The problem is on the bank's end; I'll chase them and update you by 5 pm."
    ).flagged
    assert check("It's the bank's fault; I'll chase them and update you by 5 pm.").flagged


def test_asking_to_retry_a_fix_is_not_asking_to_call_later() -> None:
    assert not check("Could you try restarting the router again and tell me what you see?").flagged
    assert check("Could you call back tomorrow?").flagged
    assert check("Could you try again later?").flagged


def test_lines_quoted_with_a_marker_are_ignored() -> None:
    reply = (
        "Простите, что так вышло. Я сам позвоню вам сегодня до 17:00.\n"
        "\n"
        "> Мне сказали: звоните позже, это не наш отдел.\n"
        "> Обращайтесь в бухгалтерию!\n"
    )
    assert not check(reply).flagged


def test_the_quoted_history_after_an_attribution_is_ignored() -> None:
    english = (
        "Thanks, Dave. I'm on it and will call you by 3 pm.\n\n"
        "On Mon, 23 Nov 2026 at 10:15, Dave <dave@customer.test> wrote:\n"
        "You said call back later and contact the vendor. That's not good enough.\n"
    )
    russian = (
        "Понял вас, исправлю до вечера.\n\n"
        "Иван Петров написал(а):\n"
        "Мне ответили, что это не моя компетенция и звоните позже.\n"
    )
    gmail = (
        "Спасибо, всё проверю сегодня.\n\n"
        "пн, 23 нояб. 2026 г. в 10:15, Иван <ivan@example.ru>:\n"
        "> это не ваш отдел, обращайтесь к производителю\n"
    )
    for reply in (english, russian, gmail):
        assert not check(reply).flagged, reply


def test_a_brush_off_above_the_quoted_history_is_still_found() -> None:
    reply = (
        "Please call back later.\n\nOn Mon, 23 Nov 2026 at 10:15, Dave <dave@customer.test> "
        "wrote:\n> Can you help?\n"
    )
    result = check(reply)
    assert [f.text for f in result.findings] == ["call back later"]


def test_the_agent_quoting_what_the_customer_was_told_is_not_flagged() -> None:
    assert not check(
        "I'm sorry you were told 'that's not my department' last week. I'm handling it now."
    ).flagged
    assert not check("Вам ответили «это не наш отдел» — так быть не должно, простите.").flagged


def test_offsets_point_at_the_matched_slice_of_the_original_text() -> None:
    reply = (
        "Добрый день!\n\nЭто, к сожалению, НЕ в моей компетенции. "
        "Обращайтесь, пожалуйста, в Бухгалтерию."
    )
    result = check(reply)
    assert [(f.phrase, f.text) for f in result.findings] == [
        ("not_my_competence", "НЕ в моей компетенции"),
        ("go_to_department", "Обращайтесь, пожалуйста, в Бухгалтерию"),
    ]
    for finding in result.findings:
        assert reply[finding.start : finding.end] == finding.text
        assert finding.language == "ru"


def test_offsets_stay_right_with_yo_and_curly_apostrophes() -> None:
    reply = "Ещё раз: мы тут ни при чём. You’ll have to contact the manufacturer."
    result = check(reply)
    texts = [reply[f.start : f.end] for f in result.findings]
    assert texts == ["мы тут ни при чём", "You’ll have to contact the manufacturer"]
    assert [f.language for f in result.findings] == ["ru", "en"]


def test_an_installations_own_phrase_matches_its_inflected_forms() -> None:
    phrases = ["обратитесь в головной офис", "raise a support ticket"]
    forms = [
        "Обратитесь, пожалуйста, в наш головной офис.",
        "Вам стоит обратиться в головной офис компании.",
        "Please raise another support ticket.",
        "You could be raising support tickets for this.",
    ]
    for reply in forms:
        assert check(reply, extra_phrases=phrases).flagged, reply
    result = check("You could be raising support tickets for this.", extra_phrases=phrases)
    assert [f.phrase for f in result.findings] == ["custom:raise a support ticket"]
    assert result.findings[0].text == "raising support tickets"


def test_an_installations_own_phrase_keeps_word_order_and_small_gaps() -> None:
    phrases = ["ждите письма от юриста"]

    def custom(reply: str) -> list[str]:
        result = check(reply, extra_phrases=phrases)
        return [f.text for f in result.findings if f.category == "custom"]

    assert custom("Ждите, пожалуйста, письма от нашего юриста.") == [
        "Ждите, пожалуйста, письма от нашего юриста"
    ]
    assert custom("Ждите письмами от юристов.") == ["Ждите письмами от юристов"]
    assert custom("Юрист пришлёт письмо, ждите.") == []  # another order
    assert custom("Ждите. Письмо от юриста уже у вас.") == []  # another sentence
    assert custom("Ждите, мы вам потом пришлём и письма, и документы от юриста.") == []


def test_the_suggestion_is_in_the_language_of_the_reply() -> None:
    russian = check("Звоните позже.")
    english = check("Call back later.")
    assert russian.language == "ru"
    assert "я сам свяжусь" in russian.suggestion.lower()
    assert english.language == "en"
    assert "i'll get in touch" in english.suggestion.lower()


def test_a_mixed_reply_takes_the_language_of_most_of_its_text() -> None:
    result = check("Здравствуйте! Это не наш отдел, обратитесь в support@vendor.com, пожалуйста.")
    assert result.language == "ru"
    assert result.suggestion.startswith("Я ")


def test_the_result_is_json_for_the_api() -> None:
    result = check("Not my department, sorry. Please contact billing.")
    data = json.loads(json.dumps(result.to_dict()))
    assert data["flagged"] is True
    assert data["language"] == "en"
    assert data["suggestion"]
    assert {f["category"] for f in data["findings"]} == {"not_my_job", "go_elsewhere"}
    assert set(data["findings"][0]) == {"phrase", "category", "text", "start", "end", "language"}


def test_empty_and_wordless_replies_pass() -> None:
    for reply in ("", "   ", "> quoted only\n", "15:00, 8 800 555-35-35"):
        result = check(reply)
        assert not result.flagged
        assert result.language in ("ru", "en")


def test_a_long_reply_is_read_only_up_to_the_limit_and_fast() -> None:
    check("warm up")
    filler = "Спасибо за ваше обращение, мы всё проверили и исправили. " * 2000
    late = filler + "Звоните позже."
    assert len(late) > MAX_CHARS
    started = time.perf_counter()
    result = check(late)
    elapsed = time.perf_counter() - started
    assert not result.flagged  # the brush-off is past the limit
    assert elapsed < 0.5
    started = time.perf_counter()
    check("обратитесь в бухгалтерию, " * 200_000)
    assert time.perf_counter() - started < 0.5


def test_a_typical_reply_takes_well_under_a_millisecond() -> None:
    reply = "Менеджер на совещании до 14:00, я передам ему ваш вопрос, и он перезвонит до 16:00."
    check(reply)
    times = []
    for _ in range(200):
        started = time.perf_counter()
        check(reply)
        times.append(time.perf_counter() - started)
    assert sorted(times)[100] < 0.001


def read(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_the_labelled_sets_are_balanced_and_well_formed() -> None:
    for name, least in (("dev.csv", 80), ("test.csv", 220)):
        rows = read(name)
        assert len(rows) >= least
        assert {r["label"] for r in rows} == {"brushoff", "ok"}
        assert {r["language"] for r in rows} == {"ru", "en"}
        brushoffs = sum(r["label"] == "brushoff" for r in rows)
        russian = sum(r["language"] == "ru" for r in rows)
        assert 0.4 < brushoffs / len(rows) < 0.6
        assert 0.4 < russian / len(rows) < 0.6
    assert not {r["text"] for r in read("dev.csv")} & {r["text"] for r in read("test.csv")}


def test_the_dev_set_is_caught_with_high_precision_and_recall() -> None:
    tp = fp = fn = 0
    for row in read("dev.csv"):
        flagged = check(row["text"]).flagged
        brushoff = row["label"] == "brushoff"
        tp += flagged and brushoff
        fp += flagged and not brushoff
        fn += brushoff and not flagged
    assert tp / (tp + fp) >= 0.9
    assert tp / (tp + fn) >= 0.9
