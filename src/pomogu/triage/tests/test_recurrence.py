"""The recurrence matcher (R5) on its own: identifiers, matching, the window, and the dev set."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pomogu.triage import recurrence
from pomogu.triage.recurrence import Candidate, identifiers, match, thanks_only

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
DEV = Path(recurrence.__file__).parent / "data" / "recurrence" / "dev.csv"

ROUTER = Candidate(
    case_id=101,
    subject="Пропадает интернет",
    text=(
        "Здравствуйте. Третий день интернет пропадает по несколько раз в час, роутер TP-Link "
        "Archer C6 теряет соединение. Договор № 45-1182, ул. Ленина, д. 5, кв. 12.\n\n"
        "Решение: выезд мастера, переобжат коннектор, роутер перепрошит. Связь стабильна."
    ),
    resolved_at=NOW - timedelta(days=14),
)
WASHER = Candidate(
    case_id=102,
    subject="Течёт стиральная машина",
    text=(
        "Стиральная машина Bosch протекает снизу во время стирки, на полу лужа. Заказ №58210.\n\n"
        "Решение: мастер заменил манжету люка и сливной патрубок."
    ),
    resolved_at=NOW - timedelta(days=9),
)
BILL = Candidate(
    case_id=103,
    subject="Двойное списание",
    text=(
        "С меня дважды списали абонентскую плату за февраль, 900 руб. Договор № 45-1182.\n\n"
        "Решение: лишнее списание возвращено на баланс."
    ),
    resolved_at=NOW - timedelta(days=20),
)
ENGLISH_ROUTER = Candidate(
    case_id=104,
    subject="Router keeps rebooting",
    text=(
        "Hi, my router reboots every few hours, S/N 4HX2-99812.\n\n"
        "Resolution: firmware updated remotely, power adapter replaced by courier."
    ),
    resolved_at=NOW - timedelta(days=10),
)


ENGLISH_NET = Candidate(
    case_id=105,
    subject="Internet keeps dropping",
    text=(
        "My internet connection drops several times an hour. Account 88-1234.\n\n"
        "Resolution: technician replaced the patch cable at the wall socket."
    ),
    resolved_at=NOW - timedelta(days=12),
)
ENGLISH_WASHER = Candidate(
    case_id=106,
    subject="Washer leaking",
    text=(
        "The washing machine leaks from underneath during the spin cycle.\n\n"
        "Resolution: engineer replaced the door seal."
    ),
    resolved_at=NOW - timedelta(days=8),
)


def test_router_that_drops_again_two_weeks_after_the_repair_reopens_its_case() -> None:
    result = match(
        "Добрый день! Интернет опять пропадает, роутер теряет соединение каждые полчаса.",
        [ROUTER],
        now=NOW,
    )

    assert result is not None
    assert result.case_id == ROUTER.case_id
    assert result.certain
    assert 0.0 <= result.score <= 1.0
    assert any("опять" in reason for reason in result.reasons)
    assert any("интернет" in reason for reason in result.reasons)


def test_same_story_after_the_window_matches_nothing() -> None:
    late = Candidate(
        ROUTER.case_id, ROUTER.subject, ROUTER.text, resolved_at=NOW - timedelta(days=31)
    )
    message = "Добрый день! Интернет опять пропадает, роутер теряет соединение. Договор 45-1182."

    assert match(message, [late], now=NOW) is None
    assert match(message, [late], now=NOW, window_days=45) is not None


def test_window_edge_is_inclusive() -> None:
    edge = Candidate(ROUTER.case_id, ROUTER.subject, ROUTER.text, NOW - timedelta(days=30))

    assert match("Интернет снова пропадает, как до ремонта.", [edge], now=NOW) is not None


def test_billing_question_quoting_the_same_contract_is_not_a_certain_recurrence() -> None:
    result = match(
        "Здравствуйте. Пришёл счёт за март на 1450 руб., хотя тариф 900. Почему такая сумма? "
        "Договор 45-1182.",
        [ROUTER],
        now=NOW,
    )

    assert result is None or not result.certain


@pytest.mark.parametrize(
    "message",
    [
        "Спасибо большое, всё работает!",
        "Спасибо, опять всё работает как часы!",
        "Мастер приходил, протечки больше нет. Большое спасибо!",
        "Thanks so much, all working now!",
        "Working again, thank you!",
    ],
)
def test_a_thank_you_note_matches_nothing(message: str) -> None:
    assert thanks_only(message)
    assert match(message, [ROUTER, WASHER], now=NOW) is None


def test_thanks_with_a_question_is_not_a_mere_thank_you() -> None:
    # Filed as a note, the question would go unanswered.
    assert not thanks_only("Спасибо, заказ получил. Подскажите, а чек можно получить на почту?")
    assert not thanks_only("Got the parcel, thanks. Could you email me the receipt?")
    assert thanks_only("Thank you, the radiator is nice and warm now.")


def test_thanks_with_a_complaint_in_it_is_not_a_mere_thank_you() -> None:
    message = "Спасибо, что починили, но интернет опять пропадает каждые полчаса."

    assert not thanks_only(message)
    result = match(message, [ROUTER], now=NOW)
    assert result is not None
    assert result.case_id == ROUTER.case_id


def test_again_at_the_end_of_a_word_like_lunchtime_still_counts() -> None:
    # "…me again" is not "hello again".
    result = match(
        "The connection drops by lunchtime again, every single day.", [ENGLISH_NET], now=NOW
    )

    assert result is not None
    assert any('"again"' in reason for reason in result.reasons)


def test_greeting_again_is_not_a_recurrence() -> None:
    result = match(
        "Hello again! Can I add a second user to account 88-1234?", [ENGLISH_NET], now=NOW
    )

    assert result is None or not result.certain


def test_praise_for_the_repair_with_a_new_question_is_not_a_recurrence() -> None:
    result = match(
        "The washer has been perfect since the repair, thanks! Do you sell descaler for it?",
        [ENGLISH_WASHER],
        now=NOW,
    )

    assert result is None


def test_the_best_of_several_candidates_is_chosen() -> None:
    result = match(
        "Стиральная машина снова течёт, после стирки опять лужа на полу.",
        [ROUTER, WASHER, BILL],
        now=NOW,
    )

    assert result is not None
    assert result.case_id == WASHER.case_id
    assert result.certain


def test_a_shared_contract_picks_the_case_with_the_same_problem() -> None:
    # The router case and the billing case share the contract; the problem decides.
    result = match("Интернет снова пропадает по вечерам. Договор 45-1182.", [BILL, ROUTER], now=NOW)

    assert result is not None
    assert result.case_id == ROUTER.case_id


def test_two_equally_close_cases_leave_the_choice_to_an_agent() -> None:
    twin = Candidate(201, ROUTER.subject, ROUTER.text, NOW - timedelta(days=3))

    result = match("Интернет опять пропадает, договор 45-1182.", [ROUTER, twin], now=NOW)

    assert result is not None
    assert not result.certain
    assert result.case_id == twin.case_id  # the more recent one on a tie


def test_english_case_is_matched_by_a_russian_message_through_its_serial_number() -> None:
    result = match(
        "Здравствуйте, роутер 4HX2-99812 опять сам перезагружается несколько раз за вечер.",
        [ROUTER, ENGLISH_ROUTER],
        now=NOW,
    )

    assert result is not None
    assert result.case_id == ENGLISH_ROUTER.case_id
    assert result.certain
    assert any("4HX2-99812" in reason for reason in result.reasons)


def test_identifiers_stored_on_the_case_count_when_its_text_lacks_them() -> None:
    bare = Candidate(
        301,
        "Нет звука",
        "Пропал звук из динамиков ноутбука.\n\nРешение: переустановлен аудиодрайвер.",
        NOW - timedelta(days=5),
        identifiers=frozenset({"serial:pf3abc12"}),
    )

    result = match("Ноутбук PF3ABC12: звук снова пропал.", [bare], now=NOW)

    assert result is not None
    assert any("PF3ABC12" in reason for reason in result.reasons)


def test_another_device_at_the_same_address_is_not_a_certain_recurrence() -> None:
    oven = Candidate(
        401,
        "Не греет духовка",
        "Духовой шкаф не нагревается. ул. Ленина, д. 5, кв. 12.\n\nРешение: заменён ТЭН.",
        NOW - timedelta(days=6),
    )

    result = match(
        "Посудомоечная машина не сливает воду. Адрес тот же: ул. Ленина, дом 5, квартира 12.",
        [oven],
        now=NOW,
    )

    assert result is None or not result.certain


def test_writing_again_about_another_question_is_not_a_recurrence() -> None:
    result = match(
        "Снова пишу вам, теперь по другому вопросу: хочу подключить ТВ к договору 45-1182.",
        [ROUTER],
        now=NOW,
    )

    assert result is None or not result.certain


def test_the_same_symptom_in_other_words_is_a_possible_match() -> None:
    red = Candidate(
        501,
        "Роутер моргает красным",
        "Роутер моргает красным, ничего не открывается.\n\nРешение: авария на коммутаторе.",
        NOW - timedelta(days=12),
    )

    result = match("Нет интернета с утра, индикатор на роутере горит красным.", [red], now=NOW)

    assert result is not None
    assert result.case_id == red.case_id


def test_no_candidates_or_an_empty_message_match_nothing() -> None:
    assert match("Интернет опять пропадает", [], now=NOW) is None
    assert match("   ", [ROUTER], now=NOW) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("S/N 4HX2-99812", {"serial:4hx2-99812"}),
        ("серийный номер 123456789", {"serial:123456789"}),
        ("Asset tag IT-00417", {"serial:it-00417"}),
        ("IMEI 861234056789012", {"serial:861234056789012"}),
        ("договор № 45-1182", {"contract:45-1182"}),
        ("по договору #45-1182 от 12.03.2024", {"contract:45-1182"}),
        ("лицевой счёт 700123456", {"account:700123456"}),
        ("л/с 700123456", {"account:700123456"}),
        ("account 88-1234", {"account:88-1234"}),
        ("заказ №12345", {"order:12345"}),
        ("order #A-5521", {"order:a-5521"}),
        ("по заявке № 5531", {"case:5531"}),
        ("MAC 00:1A:2B:3C:4D:5E", {"mac:00:1a:2b:3c:4d:5e"}),
        ("mac 00-1a-2b-3c-4d-5e", {"mac:00:1a:2b:3c:4d:5e"}),
        ("роутер 4HX2-99812 перезагружается", {"code:4hx2-99812"}),
        ("Kia Rio, госномер А123ВС77", {"model:kia rio", "plate:a123bc77"}),
        ("TP-Link Archer C6 опять", {"model:tp-link archer c6"}),
        ("Keenetic Giga моргает", {"model:keenetic giga"}),
        ("ул. Ленина, д. 5, кв. 12", {"address:ленин 5 кв 12"}),
        ("Flat 3, 12 Baker Street", {"address:12 baker street flat 3"}),
    ],
)
def test_identifiers_are_found(text: str, expected: set[str]) -> None:
    assert identifiers(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Позвоните мне: +7 916 555-12-34, после 18:00.",
        "call me on 555-123-4567 at 10:30",
        "Счёт на 1500 руб. от 12.03.2024",
        "заказ от 12.03.2024 на сумму 1 500 ₽",
        "order of $45 placed on 03/12/2024",
        "Договор 12.03.2024",
        "I pay for 500 Mbps but get 40",
        "ошибка E10, давление 1,2 бар",
        "My Bosch oven does not heat",
        "in case 5 people call",
        "order 3 times a week",
    ],
)
def test_dates_times_prices_and_phones_are_not_identifiers(text: str) -> None:
    assert identifiers(text) == frozenset()


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("ул. Ленина, д. 5, кв. 12", "улица Ленина, дом 5, квартира 12"),
        ("ул. Ленина, д. 5, кв. 12", "УЛ. ЛЕНИНА Д.5 КВ.12"),
        ("Проспект Мира, д. 101, кв. 58", "пр. Мира 101, кв 58"),
        ("ул. Гагарина, д. 3, кв. 45", "Гагарина 3-45"),
        ("Flat 3, 12 Baker Street", "12 Baker St, flat 3"),
        ("8 Queen's Road, flat 12", "Flat 12, 8 Queens Rd"),
        ("договор № 45-1182", "договор #45-1182"),
        ("заказ № 12345", "заказ №12345"),
    ],
)
def test_trivial_variations_of_an_identifier_compare_equal(a: str, b: str) -> None:
    assert identifiers(a) == identifiers(b) != frozenset()


def test_addresses_differing_in_building_or_flat_differ() -> None:
    assert identifiers("ул. Ленина, д. 5, кв. 12") != identifiers("ул. Ленина, д. 5, кв. 13")
    assert identifiers("ул. Ленина, д. 5") != identifiers("ул. Ленина, д. 7")


def _dev_rows() -> list[dict[str, str]]:
    with DEV.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_dev_set_is_labelled_and_balanced() -> None:
    rows = _dev_rows()
    assert len(rows) >= 80
    assert {row["label"] for row in rows} == {"same", "different"}
    same = sum(row["label"] == "same" for row in rows)
    assert 0.4 <= same / len(rows) <= 0.6


def test_dev_set_reaches_the_precision_and_recall_bar() -> None:
    rows = _dev_rows()
    certain_right = certain_wrong = found = 0
    for row in rows:
        old = Candidate(1, row["old_subject"], row["old_text"], NOW - timedelta(days=14))
        result = match(row["new_text"], [old], now=NOW)
        same = row["label"] == "same"
        if result is not None and result.certain:
            certain_right += same
            certain_wrong += not same
        if result is not None and same:
            found += 1
    total_same = sum(row["label"] == "same" for row in rows)

    assert certain_right / (certain_right + certain_wrong) >= 0.9
    assert found / total_same >= 0.8
