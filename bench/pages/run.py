"""Page benchmark (issue 7): server time of the desk's pages with 1,000,000 cases in PostgreSQL.

Target: median under 50 ms and 95th percentile under 150 ms for the team queue (first page and
a later page reached through its rel="next" link), the case page (active and resolved cases)
and its "related" panel, search (a common word, a rare word, a case number, a customer's
email), the failure dashboard (as a manager) and "my work".

    .venv/bin/python bench/pages/run.py [--cases 1000000] [--json FILE]

Needs PostgreSQL (--pg, default postgres://postgres@127.0.0.1:5432). It creates (and with --drop
drops) the database pomogu_bench_pages; --reuse measures again on an existing one without
rebuilding. Method and figures: bench/pages/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import json
import math
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

from common import log, machine, sh  # noqa: E402

PYTHON = sys.executable
DATABASE = "pomogu_bench_pages"
DAYS = 730  # the cases are spread over two years
ACTIVE_SHARE = 0.03  # new, open or waiting on the customer
RARE_EVERY = 25_000  # one case in RARE_EVERY mentions the rare word ("цеппелин", "zeppelin")
TARGET_MEDIAN_MS = 50.0
TARGET_P95_MS = 150.0


# --- the desk: teams, their people and what their cases are about --------------------------

# slug, name, share of the cases, agents (besides the lead), topics (keys below) it mostly gets.
TEAMS: list[tuple[str, str, float, int, tuple[str, ...]]] = [
    ("support", "Поддержка", 0.30, 8, ("down", "slow", "router", "wifi", "login", "mail")),
    ("billing", "Биллинг", 0.10, 5, ("invoice", "refund", "payment")),
    ("field", "Выезды", 0.10, 5, ("visit", "dialtone")),
    ("connect", "Подключения", 0.10, 5, ("plan", "moving")),
    ("tv", "Телевидение", 0.10, 5, ("tv",)),
    ("business", "Бизнес", 0.10, 5, ("down", "plan", "invoice")),
    ("equipment", "Оборудование", 0.10, 5, ("router", "return")),
    ("complaints", "Претензии", 0.10, 5, ("refund", "cancel")),
]

# Per topic and language: subject, two sentences a customer writes, the answer, and how the
# case was solved (``resolution_summary``).
TOPICS: dict[str, dict[str, tuple[str, str, str, str, str]]] = {
    "down": {
        "ru": (
            "Не работает интернет",
            "Со вчерашнего вечера не работает интернет, индикатор на роутере горит красным.",
            "Перезагрузка роутера не помогла, кабель проверил, интернет так и не появился.",
            "Мы видим аварию на линии в вашем доме, бригада уже выехала, интернет восстановят "
            "в течение нескольких часов.",
            "Авария на линии в доме, бригада заменила коммутатор, доступ восстановлен.",
        ),
        "en": (
            "Internet is down",
            "My internet has been down since last night and the light on the router is red.",
            "Restarting the router did not help, I checked the cable and there is still no "
            "connection.",
            "We can see a line fault in your building; engineers are on their way and the "
            "connection should be back within a few hours.",
            "Line fault in the building; the switch was replaced and the connection restored.",
        ),
    },
    "slow": {
        "ru": (
            "Низкая скорость интернета",
            "По тарифу у меня 500 мегабит, а спидтест показывает не больше 20.",
            "Вечером скорость падает так, что видео не загружается и созвоны обрываются.",
            "Мы провели диагностику линии и перенастроили порт, пожалуйста, проверьте скорость "
            "по кабелю, а не по Wi-Fi.",
            "Порт работал на 100 мегабитах, перенастроили на гигабит, скорость в норме.",
        ),
        "en": (
            "Slow internet speed",
            "I pay for 500 Mbit but the speed test never shows more than 20.",
            "In the evening the speed drops so much that videos do not load and calls keep "
            "dropping.",
            "We ran a line check and reconfigured your port; please test the speed over a cable "
            "rather than over Wi-Fi.",
            "The port was stuck at 100 Mbit; reconfigured to gigabit, the speed is normal.",
        ),
    },
    "invoice": {
        "ru": (
            "Двойное списание по счёту",
            "В этом месяце с карты списали оплату по счёту дважды.",
            "В выставленном счёте абонентская плата указана два раза, прошу разобраться.",
            "Мы проверили ваш счёт: второе списание ошибочное, деньги вернутся на карту в "
            "течение пяти рабочих дней.",
            "Ошибка биллинга, второе списание возвращено на карту, счёт исправлен.",
        ),
        "en": (
            "Charged twice on my invoice",
            "This month my card was charged twice for the same invoice.",
            "The monthly fee appears twice on my latest invoice, please look into it.",
            "We checked your invoice: the second charge was a mistake and the money will be back "
            "on your card within five working days.",
            "Billing error; the second charge was refunded and the invoice corrected.",
        ),
    },
    "refund": {
        "ru": (
            "Возврат денег",
            "Интернета не было неделю, прошу сделать возврат денег за эти дни.",
            "Я отказался от услуги, но деньги списали, верните, пожалуйста, оплату.",
            "Мы оформили перерасчёт за время без связи, возврат средств придёт на ваш лицевой "
            "счёт.",
            "Сделан перерасчёт за дни без связи, возврат зачислен на лицевой счёт.",
        ),
        "en": (
            "Refund request",
            "I had no internet for a week and I would like a refund for those days.",
            "I cancelled the service but was still charged, please refund the payment.",
            "We have credited your account for the days without service; the refund will appear "
            "on your balance.",
            "Credit for the days without service; refund applied to the account balance.",
        ),
    },
    "router": {
        "ru": (
            "Роутер постоянно перезагружается",
            "Роутер сам перезагружается каждые десять минут, связь пропадает.",
            "После обновления прошивки роутер зависает и перестаёт раздавать Wi-Fi.",
            "Похоже на неисправность блока питания роутера, мы заменим роутер бесплатно, курьер "
            "привезёт новый.",
            "Неисправный блок питания, роутер заменён по гарантии.",
        ),
        "en": (
            "Router keeps rebooting",
            "The router restarts by itself every ten minutes and the connection drops.",
            "Since the firmware update the router freezes and stops broadcasting Wi-Fi.",
            "This looks like a faulty router power supply; we will replace the router free of "
            "charge and a courier will bring a new one.",
            "Faulty power supply; the router was replaced under warranty.",
        ),
    },
    "visit": {
        "ru": (
            "Визит мастера",
            "Мастер должен был прийти сегодня с десяти до двух, но так и не пришёл.",
            "Прошу перенести визит мастера на субботу, в будни меня нет дома.",
            "Мы перенесли визит мастера на удобное вам время, накануне мастер позвонит и "
            "подтвердит.",
            "Визит мастера перенесён, мастер пришёл и настроил подключение.",
        ),
        "en": (
            "Technician appointment",
            "The technician was supposed to come today between ten and two but never showed up.",
            "Please move the technician visit to Saturday, I am not at home on weekdays.",
            "We have rebooked the technician visit for the time you asked; the technician will "
            "call the day before to confirm.",
            "Technician visit rebooked; the technician came and set up the connection.",
        ),
    },
    "plan": {
        "ru": (
            "Смена тарифа",
            "Хочу перейти на тариф подешевле, нынешний стал слишком дорогим.",
            "Подскажите, какой тариф подойдёт для работы из дома и двух телевизоров.",
            "Мы подобрали для вас тариф, смена тарифа произойдёт с первого числа следующего "
            "месяца.",
            "Тариф сменён с первого числа, абонент согласен с новой ценой.",
        ),
        "en": (
            "Change of plan",
            "I would like to switch to a cheaper plan, the current one has become too expensive.",
            "Which plan would suit working from home and two TVs?",
            "We have picked a plan for you; the change takes effect on the first day of next "
            "month.",
            "Plan changed from the first of the month; the customer accepted the new price.",
        ),
    },
    "tv": {
        "ru": (
            "Не показывают каналы",
            "Пропали все федеральные каналы, на экране надпись «нет сигнала».",
            "Приставка не загружается и показывает ошибку при включении.",
            "Мы повторно активировали вашу приставку, перезагрузите её, и каналы появятся.",
            "Приставка была деактивирована, повторная активация вернула каналы.",
        ),
        "en": (
            "TV channels missing",
            "All the main channels have disappeared and the screen says no signal.",
            "The set-top box will not start and shows an error when I switch it on.",
            "We have reactivated your set-top box; restart it and the channels will come back.",
            "The set-top box had been deactivated; reactivating it brought the channels back.",
        ),
    },
    "login": {
        "ru": (
            "Не могу войти в личный кабинет",
            "Не могу войти в личный кабинет, пишет, что пароль неверный.",
            "Письмо для восстановления пароля не приходит ни на почту, ни в СМС.",
            "Мы сбросили пароль от личного кабинета, новая ссылка для входа отправлена на вашу "
            "почту.",
            "Пароль сброшен, абонент вошёл в личный кабинет.",
        ),
        "en": (
            "Cannot log in to my account",
            "I cannot log in to my account, it says the password is wrong.",
            "The password reset email never arrives, neither by email nor by text message.",
            "We have reset your account password and sent a new sign-in link to your email.",
            "Password reset; the customer signed in.",
        ),
    },
    "moving": {
        "ru": (
            "Переезд на новый адрес",
            "Я переезжаю в следующем месяце, можно перенести подключение на новый адрес?",
            "Проверьте, пожалуйста, есть ли ваша сеть в доме на новом адресе.",
            "Ваш новый дом подключён к нашей сети, мы оформили перенос договора и назначили "
            "монтаж.",
            "Договор перенесён на новый адрес, монтаж выполнен.",
        ),
        "en": (
            "Moving house",
            "I am moving next month, can the connection be moved to my new address?",
            "Could you check whether your network covers the building at my new address?",
            "Your new building is on our network; we have transferred the contract and booked "
            "the installation.",
            "Contract moved to the new address; installation done.",
        ),
    },
    "dialtone": {
        "ru": (
            "Нет гудка в телефоне",
            "В домашнем телефоне нет гудка уже третий день.",
            "При звонке на домашний номер слышны короткие гудки, дозвониться невозможно.",
            "На линии обнаружено повреждение кабеля, мастер заменит участок кабеля в ближайшее "
            "время.",
            "Повреждение кабеля в подъезде, участок заменён, гудок есть.",
        ),
        "en": (
            "No dial tone",
            "There has been no dial tone on my landline for three days.",
            "Anyone calling my home number gets a busy signal and cannot get through.",
            "We found a damaged cable on your line; a technician will replace that section "
            "shortly.",
            "Damaged cable in the stairwell; the section was replaced and the line works.",
        ),
    },
    "wifi": {
        "ru": (
            "Слабый сигнал Wi-Fi",
            "Wi-Fi не добивает до дальней комнаты, сигнал пропадает.",
            "Телефон видит сеть, но подключиться к Wi-Fi на кухне не получается.",
            "Рекомендуем сменить канал Wi-Fi или установить усилитель сигнала, мы можем "
            "привезти его в аренду.",
            "Установлен усилитель Wi-Fi, покрытие во всей квартире.",
        ),
        "en": (
            "Weak Wi-Fi signal",
            "The Wi-Fi does not reach the back room and the signal keeps dropping.",
            "My phone sees the network but cannot connect to the Wi-Fi in the kitchen.",
            "We suggest changing the Wi-Fi channel or adding a range extender, which we can "
            "rent to you.",
            "Range extender installed; Wi-Fi now covers the whole flat.",
        ),
    },
    "cancel": {
        "ru": (
            "Расторжение договора",
            "Прошу расторгнуть договор с конца месяца.",
            "Я уже писал о расторжении договора, но абонентскую плату продолжают списывать.",
            "Мы оформили расторжение договора, последний счёт будет выставлен за неполный месяц.",
            "Договор расторгнут, выставлен последний счёт за неполный месяц.",
        ),
        "en": (
            "Contract cancellation",
            "Please cancel my contract from the end of the month.",
            "I already asked to cancel my contract but you keep charging the monthly fee.",
            "We have cancelled your contract; the final invoice will cover only part of the month.",
            "Contract cancelled; final invoice for the partial month issued.",
        ),
    },
    "payment": {
        "ru": (
            "Платёж не зачислен",
            "Я оплатил услуги через банк три дня назад, но платёж не зачислен.",
            "Из-за незачисленного платежа мне отключили интернет, хотя деньги списаны.",
            "Платёж найден и зачислен на ваш лицевой счёт, доступ к услугам восстановлен.",
            "Платёж зачислен вручную по квитанции, доступ восстановлен.",
        ),
        "en": (
            "Payment not credited",
            "I paid through my bank three days ago but the payment has not been credited.",
            "My internet was cut off for non-payment although the money has left my account.",
            "We found your payment and credited it to your account; the service is back on.",
            "Payment credited by hand from the receipt; service restored.",
        ),
    },
    "mail": {
        "ru": (
            "Не приходят письма",
            "На почтовый ящик у вас перестали приходить письма.",
            "Письма от банка попадают в спам, можно это настроить?",
            "Ящик был переполнен, мы увеличили квоту, новые письма снова приходят.",
            "Почтовый ящик переполнен, квота увеличена.",
        ),
        "en": (
            "Emails not arriving",
            "My mailbox with you has stopped receiving emails.",
            "Emails from my bank end up in spam, can that be fixed?",
            "Your mailbox was full; we increased the quota and new emails are arriving again.",
            "Mailbox full; quota increased.",
        ),
    },
    "return": {
        "ru": (
            "Возврат оборудования",
            "Как вернуть арендованный роутер и приставку после расторжения?",
            "Курьер так и не забрал оборудование, а аренду продолжают начислять.",
            "Курьер заберёт оборудование в удобное время, начисление аренды остановлено.",
            "Оборудование возвращено курьером, аренда больше не начисляется.",
        ),
        "en": (
            "Returning equipment",
            "How do I return the rented router and set-top box after cancelling?",
            "The courier never collected the equipment and I am still charged rent for it.",
            "A courier will collect the equipment at a time that suits you, and the rental "
            "charge has been stopped.",
            "Equipment collected by courier; rental charges stopped.",
        ),
    },
}
TOPIC_KEYS = list(TOPICS)

# Sentences around the topic's, by language (the same number in both).
GENERIC: dict[str, dict[str, list[str]]] = {
    "greeting": {
        "ru": ["Здравствуйте!", "Добрый день.", "Добрый вечер!", "Здравствуйте, пишу повторно."],
        "en": ["Hello,", "Hi there,", "Good afternoon,", "Hello again,"],
    },
    "detail": {  # followed by a number
        "ru": ["Номер договора", "Лицевой счёт", "Номер заявки в приложении", "Номер квитанции"],
        "en": ["Contract number", "Account number", "App request number", "Receipt number"],
    },
    "closing": {
        "ru": ["Спасибо.", "Жду ответа.", "Прошу решить как можно скорее.", "Заранее спасибо!"],
        "en": [
            "Thanks.",
            "Looking forward to your reply.",
            "Please sort this out as soon as possible.",
            "Thank you in advance!",
        ],
    },
    "reply_open": {
        "ru": ["Здравствуйте! Спасибо за обращение.", "Добрый день, благодарим, что написали."],
        "en": ["Hello, thank you for contacting us.", "Hi, thanks for getting in touch."],
    },
    "reply_close": {
        "ru": [
            "Если проблема повторится, просто ответьте на это письмо.",
            "Будем рады помочь, если появятся вопросы.",
        ],
        "en": [
            "If the problem comes back, just reply to this email.",
            "Happy to help if you have any other questions.",
        ],
    },
    "follow_up": {
        "ru": [
            "Спасибо, но проблема осталась.",
            "Уточните, пожалуйста, сроки.",
            "Всё заработало, спасибо!",
        ],
        "en": [
            "Thanks, but the problem is still there.",
            "Could you tell me when exactly?",
            "It works now, thank you!",
        ],
    },
    "note": {
        "ru": [
            "Проверил линию в системе мониторинга, порт в норме.",
            "Позвонил клиенту, не дозвонился, повторю завтра.",
            "Передал данные в биллинг для проверки.",
        ],
        "en": [
            "Checked the line in monitoring, the port looks fine.",
            "Called the customer, no answer, will try again tomorrow.",
            "Passed the details to billing to check.",
        ],
    },
    "regards": {"ru": ["С уважением,", "Спасибо,"], "en": ["Best regards,", "Thanks,"]},
    "signature": {"ru": ["служба поддержки"], "en": ["customer support"]},
    "rare": {
        "ru": ["Моя сеть Wi-Fi называется «Цеппелин», если это важно."],
        "en": ["My Wi-Fi network is called Zeppelin, if that matters."],
    },
    "reopen": {"ru": ["Проблема вернулась."], "en": ["The problem came back."]},
}

# Customer names: (as written, in an address).
RU_MALE = [
    ("Иван", "ivan"),
    ("Сергей", "sergey"),
    ("Алексей", "aleksey"),
    ("Дмитрий", "dmitry"),
    ("Андрей", "andrey"),
    ("Михаил", "mikhail"),
    ("Николай", "nikolay"),
    ("Павел", "pavel"),
]
RU_FEMALE = [
    ("Ольга", "olga"),
    ("Елена", "elena"),
    ("Анна", "anna"),
    ("Мария", "maria"),
    ("Татьяна", "tatiana"),
    ("Наталья", "natalia"),
    ("Ирина", "irina"),
    ("Светлана", "svetlana"),
]
RU_LAST = [  # the feminine form adds "а"
    ("Петров", "petrov"),
    ("Смирнов", "smirnov"),
    ("Кузнецов", "kuznetsov"),
    ("Попов", "popov"),
    ("Васильев", "vasiliev"),
    ("Соколов", "sokolov"),
    ("Михайлов", "mikhailov"),
    ("Новиков", "novikov"),
    ("Морозов", "morozov"),
    ("Волков", "volkov"),
    ("Лебедев", "lebedev"),
    ("Егоров", "egorov"),
]
EN_FIRST = ["James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda"]
EN_LAST = ["Smith", "Johnson", "Brown", "Jones", "Miller", "Davis", "Wilson", "Taylor"]
DOMAINS = ["example.ru", "example.com", "example.net", "example.org", "mail.example.ru"]


def staff_names() -> list[str]:
    names = [f"{first} {last}" for first, _a in RU_MALE for last, _b in RU_LAST[::3]]
    names += [f"{first} {last}а" for first, _a in RU_FEMALE for last, _b in RU_LAST[1::3]]
    random.Random(3).shuffle(names)
    return names


def _seed_code() -> str:
    """Python for ``pomogu shell -c``: the people, through the services."""
    teams = [(slug, name, agents) for slug, name, _share, agents, _topics in TEAMS]
    return f"""
from pomogu.people import services as p
from pomogu.people.choices import StaffRole
names = {staff_names()!r}
p.create_staff('manager', name='Марина Руководитель', email='manager@desk.test',
               role=StaffRole.MANAGER)
n = 0
for index, (slug, name, agents) in enumerate({teams!r}):
    lead = p.create_staff(f'lead-{{slug}}', name=names[n], email=f'lead-{{slug}}@desk.test')
    n += 1
    team = p.create_team(name, slug=slug, lead=lead, is_default=index == 0,
                         email=f'{{slug}}@desk.test')
    for i in range(agents):
        agent = p.create_staff(f'{{slug}}-{{i + 1}}', name=names[n],
                               email=f'{{slug}}-{{i + 1}}@desk.test')
        n += 1
        p.add_member(team, agent)
"""


# --- building the data ---------------------------------------------------------------------

# Deterministic "random" numbers in [0, 1): PostgreSQL's own hash of (row, salt).
FUNCTIONS = [
    """
    CREATE FUNCTION pg_temp.r(g bigint, salt bigint) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
    $$ SELECT ((hashint8extended(g, salt) >> 11) & 9007199254740991)::double precision
              / 9007199254740992 $$
    """,
    """
    CREATE FUNCTION pg_temp.item(bank text[], r double precision) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
    $$ SELECT bank[1 + floor(r * cardinality(bank))::int] $$
    """,
    # One of a language's sentences: ``bank`` holds the Russian ones, then as many English.
    """
    CREATE FUNCTION pg_temp.pick(bank text[], lang int, r double precision) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
    $$ SELECT bank[lang * (cardinality(bank) / 2) + 1
                   + floor(r * (cardinality(bank) / 2))::int] $$
    """,
]

# Every case, planned once: team, owner, customer, topic, language, state and its times.
# Cases are numbered in the order they came (id = number), two years up to now; the share still
# active falls with age (exp(-age / tau), tau = ACTIVE_SHARE * DAYS), so about ACTIVE_SHARE of
# them are active, most of those recent, with a long tail of old ones nobody closed.
PLAN = """
CREATE TEMP TABLE plan AS
WITH b AS (
    SELECT g,
        %(now)s::timestamptz
            - ((%(cases)s - g) + pg_temp.r(g, 1)) * %(slot)s * interval '1 second' AS created_at,
        (%(cases)s - g) * %(slot)s / 86400.0 AS age_days,
        width_bucket(pg_temp.r(g, 2), %(team_bounds)s::float8[]) AS ti,
        1 + floor(%(customers)s * pg_temp.r(g, 3) ^ 2)::bigint AS customer,
        pg_temp.r(g, 4) AS r_topic, pg_temp.r(g, 5) AS r_topic2,
        pg_temp.r(g, 6) AS r_owner, pg_temp.r(g, 7) AS r_owner2,
        pg_temp.r(g, 8) AS r_state, pg_temp.r(g, 9) AS r_sub,
        pg_temp.r(g, 10) AS r_prio, pg_temp.r(g, 11) AS r_channel,
        pg_temp.r(g, 12) AS r_first, pg_temp.r(g, 13) AS r_resolve,
        pg_temp.r(g, 14) AS r_resolution, pg_temp.r(g, 15) AS r_third,
        pg_temp.r(g, 16) AS r_third_kind, pg_temp.r(g, 17) AS r_third_at,
        pg_temp.r(g, 18) AS r_reopen, pg_temp.r(g, 19) AS r_updated
    FROM generate_series(1, %(cases)s) AS g
), c AS (
    SELECT b.*,
        (%(team_ids)s::bigint[])[ti] AS team_id,
        (pg_temp.r(customer, 50) >= 0.65)::int AS lang,
        r_state < exp(-age_days / %(tau)s) AS active,
        CASE WHEN r_topic < 0.85
            THEN (%(team_topics)s::int[])[(%(topic_off)s::int[])[ti] + 1
                 + floor(r_topic2 * (%(topic_cnt)s::int[])[ti])::int]
            ELSE 1 + floor(r_topic2 * %(topics)s)::int END AS topic,
        CASE WHEN r_owner < 0.05 THEN (%(leads)s::bigint[])[ti]
            ELSE (%(agents)s::bigint[])[(%(agent_off)s::int[])[ti] + 1
                 + floor(r_owner2 * (%(agent_cnt)s::int[])[ti])::int] END AS owner,
        least(%(now)s::timestamptz, created_at + interval '1 hour'
              + r_resolve ^ 2 * interval '96 hours') AS resolve_at
    FROM b
), d AS (
    SELECT c.*,
        CASE WHEN active THEN
            CASE WHEN age_days < 1 AND r_sub < 0.5 THEN 'new'
                 WHEN r_sub < 0.8 THEN 'open' ELSE 'waiting_customer' END
        WHEN resolve_at + interval '7 days' <= %(now)s::timestamptz THEN 'closed'
        ELSE 'resolved' END AS state
    FROM c
)
SELECT g, team_id, ti, lang, topic, owner, customer, state, created_at,
    CASE WHEN r_prio < 0.10 THEN 1 WHEN r_prio < 0.80 THEN 2 WHEN r_prio < 0.95 THEN 3
         ELSE 4 END AS priority,
    CASE WHEN r_channel < 0.70 THEN 'email' WHEN r_channel < 0.85 THEN 'web'
         WHEN r_channel < 0.95 THEN 'phone' ELSE 'portal' END AS channel,
    CASE WHEN state <> 'new' THEN least(%(now)s::timestamptz,
        CASE WHEN active THEN %(now)s::timestamptz ELSE resolve_at END,
        created_at + (5 + 150 * r_first ^ 1.5) * interval '1 minute') END AS first_response_at,
    CASE WHEN NOT active THEN resolve_at END AS resolved_at,
    CASE WHEN state = 'closed' THEN resolve_at + interval '7 days' END AS closed_at,
    CASE WHEN active THEN '' WHEN r_resolution < 0.60 THEN 'solved'
         WHEN r_resolution < 0.85 THEN 'answered' WHEN r_resolution < 0.95 THEN 'workaround'
         WHEN r_resolution < 0.98 THEN 'duplicate' ELSE 'withdrawn' END AS resolution,
    (state <> 'new' AND r_reopen < 0.02)::int AS reopen_count,
    CASE WHEN state <> 'new' AND r_third < 0.55 THEN
        CASE WHEN r_third_kind < 0.5 THEN 'inbound' WHEN r_third_kind < 0.8 THEN 'note'
             ELSE 'reply' END END AS third_kind,
    r_third_at, r_updated, active
FROM d
"""

CUSTOMERS = """
INSERT INTO people_customer (id, name, email, phone, tier, language, time_zone, created_at,
    organisation_id, mail_bounced_at)
SELECT g,
    CASE WHEN en THEN pg_temp.item(%(en_first)s, r1) || ' ' || pg_temp.item(%(en_last)s, r2)
         WHEN female THEN pg_temp.item(%(ru_f)s, r1) || ' ' || pg_temp.item(%(ru_last)s, r2) || 'а'
         ELSE pg_temp.item(%(ru_m)s, r1) || ' ' || pg_temp.item(%(ru_last)s, r2) END,
    CASE WHEN en THEN lower(pg_temp.item(%(en_first)s, r1) || '.' || pg_temp.item(%(en_last)s, r2))
         WHEN female THEN pg_temp.item(%(ru_f_a)s, r1) || '.'
                          || pg_temp.item(%(ru_last_a)s, r2) || 'a'
         ELSE pg_temp.item(%(ru_m_a)s, r1) || '.' || pg_temp.item(%(ru_last_a)s, r2) END
        || g || '@' || pg_temp.item(%(domains)s, r3),
    '', CASE WHEN r3 < 0.05 THEN 'business' ELSE 'standard' END,
    CASE WHEN en THEN 'en' ELSE 'ru' END, '',
    %(now)s::timestamptz - interval '3 years' + r1 * interval '2 years', NULL, NULL
FROM (SELECT g, pg_temp.r(g, 50) >= 0.65 AS en, pg_temp.r(g, 51) < 0.5 AS female,
             pg_temp.r(g, 52) AS r1, pg_temp.r(g, 53) AS r2, pg_temp.r(g, 54) AS r3
      FROM generate_series(1, %(customers)s) AS g) AS s
"""

CASES = """
INSERT INTO cases_case (id, number, subject, state, priority, channel, language, created_at,
    updated_at, first_response_at, last_customer_message_at, resolved_at, resolution,
    resolution_summary, closed_at, reopen_count, created_by_id, customer_id, owner_id,
    resolved_by_id, team_id, thread_token, merged_into_id, possible_recurrence_of_id)
SELECT g, g,
    CASE WHEN pg_temp.r(g, 20) < 0.08 THEN (ARRAY['Срочно: ', 'Urgent: '])[lang + 1]
         WHEN pg_temp.r(g, 20) < 0.15 THEN 'Re: ' ELSE '' END
        || (%(subject)s::text[])[lang * %(topics)s + topic]
        || CASE WHEN pg_temp.r(g, 21) < 0.3
            THEN (ARRAY[' (договор ', ' (contract '])[lang + 1]
                 || (1000000 + floor(pg_temp.r(g, 22) * 8999999))::bigint || ')'
            ELSE '' END,
    state, priority, channel, (ARRAY['ru', 'en'])[lang + 1], created_at,
    CASE WHEN closed_at IS NOT NULL THEN closed_at WHEN resolved_at IS NOT NULL THEN resolved_at
         ELSE created_at + (%(now)s::timestamptz - created_at) * r_updated END,
    first_response_at, created_at, resolved_at, resolution,
    CASE WHEN resolution <> '' THEN (%(summary)s::text[])[lang * %(topics)s + topic] ELSE '' END,
    closed_at, reopen_count, NULL, customer, owner,
    CASE WHEN resolution <> '' THEN owner END, team_id,
    lpad(to_hex(g), 7, '0') || substr(md5(g::text), 1, 6), NULL, NULL
FROM plan
"""

# The first message from the customer; then a reply (unless the case is new); about half the
# cases have a third one: the customer again, an internal note, or another reply.
MESSAGES = """
INSERT INTO cases_message (case_id, kind, channel, body, body_html, language, message_id,
    created_at, author_id, customer_id, quoted, anger_reasons, anger_score)
SELECT p.g, m.kind, p.channel, m.body, '', (ARRAY['ru', 'en'])[p.lang + 1],
    CASE WHEN m.kind = 'inbound' AND p.channel = 'email'
         THEN '<' || p.g || '.' || m.k || '@mail.example.net>' ELSE '' END,
    m.at, m.author, m.customer, '', '[]'::jsonb,
    CASE WHEN m.kind = 'inbound' THEN round((pg_temp.r(p.g, 30 + m.k) * 0.4)::numeric, 3) END
FROM plan AS p
JOIN people_customer AS cu ON cu.id = p.customer
JOIN people_user AS u ON u.id = p.owner
CROSS JOIN LATERAL (VALUES
    (1, 'inbound', p.created_at, NULL::bigint, p.customer,
        pg_temp.pick(%(greeting)s, p.lang, pg_temp.r(p.g, 40)) || ' '
        || (%(said)s::text[])[p.lang * 2 * %(topics)s + 2 * (p.topic - 1) + 1
                              + floor(pg_temp.r(p.g, 41) * 2)::int]
        || CASE WHEN pg_temp.r(p.g, 42) < 0.5 THEN ' '
                || (%(said)s::text[])[p.lang * 2 * %(topics)s + 2 * (p.topic - 1) + 1
                                      + floor(pg_temp.r(p.g, 43) * 2)::int]
           ELSE '' END || ' '
        || pg_temp.pick(%(detail)s, p.lang, pg_temp.r(p.g, 44)) || ' '
        || (10000 + floor(pg_temp.r(p.g, 45) * 89990000))::bigint || '.'
        || CASE WHEN mod(p.g, %(rare_every)s) = 12345
                THEN ' ' || pg_temp.pick(%(rare)s, p.lang, 0) ELSE '' END || ' '
        || pg_temp.pick(%(closing)s, p.lang, pg_temp.r(p.g, 46)) || E'\n\n'
        || pg_temp.pick(%(regards)s, p.lang, pg_temp.r(p.g, 39)) || E'\n' || cu.name),
    (2, 'reply', p.first_response_at, p.owner, NULL::bigint,
        pg_temp.pick(%(reply_open)s, p.lang, pg_temp.r(p.g, 47)) || ' '
        || (%(answer)s::text[])[p.lang * %(topics)s + p.topic] || ' '
        || pg_temp.pick(%(reply_close)s, p.lang, pg_temp.r(p.g, 48)) || E'\n\n'
        || u.first_name || ' ' || u.last_name || ', '
        || pg_temp.pick(%(signature)s, p.lang, 0)),
    (3, p.third_kind,
        p.first_response_at + (coalesce(p.resolved_at, %(now)s::timestamptz)
                               - p.first_response_at) * p.r_third_at,
        CASE WHEN p.third_kind = 'inbound' THEN NULL ELSE p.owner END,
        CASE WHEN p.third_kind = 'inbound' THEN p.customer END,
        CASE p.third_kind
            WHEN 'inbound' THEN pg_temp.pick(%(follow_up)s, p.lang, pg_temp.r(p.g, 49))
            WHEN 'note' THEN pg_temp.pick(%(note)s, p.lang, pg_temp.r(p.g, 49))
            ELSE pg_temp.pick(%(reply_open)s, p.lang, pg_temp.r(p.g, 49)) || ' '
                 || (%(answer)s::text[])[p.lang * %(topics)s + p.topic] END)
) AS m(k, kind, at, author, customer, body)
WHERE m.k = 1 OR (m.k = 2 AND p.state <> 'new') OR (m.k = 3 AND p.third_kind IS NOT NULL)
"""

# Opened; the first reply; resolved (after a reopening, for the few reopened cases).
EVENTS = """
INSERT INTO cases_timelineevent (case_id, kind, data, created_at, actor_id)
SELECT p.g, e.kind, e.data, e.at, e.actor
FROM plan AS p
JOIN people_team AS t ON t.id = p.team_id
JOIN people_user AS u ON u.id = p.owner
CROSS JOIN LATERAL (VALUES
    (1, 'opened', p.created_at, NULL::bigint,
        jsonb_build_object('channel', p.channel, 'team', t.name, 'owner', u.username)),
    (2, 'reply', p.first_response_at, p.owner,
        jsonb_build_object('delivered_by',
                           CASE WHEN p.channel = 'phone' THEN 'none' ELSE 'email' END)),
    (3, 'reopened', p.resolved_at - interval '1 hour', p.owner,
        jsonb_build_object('count', 1, 'reason', pg_temp.pick(%(reopen)s, p.lang, 0))),
    (4, 'resolved', p.resolved_at, p.owner,
        jsonb_build_object('resolution', p.resolution,
                           'summary', (%(summary)s::text[])[p.lang * %(topics)s + p.topic]))
) AS e(k, kind, at, actor, data)
WHERE e.k = 1 OR (e.k = 2 AND p.first_response_at IS NOT NULL)
    OR (e.k = 3 AND p.reopen_count > 0 AND p.resolved_at IS NOT NULL)
    OR (e.k = 4 AND p.resolved_at IS NOT NULL)
"""

# The two SLA clocks of every case (first response 2 hours, resolution 48 hours): met or missed
# for the past, running (or paused while waiting on the customer) for active cases.
DEADLINES = """
INSERT INTO clocks_deadline (kind, state, started_at, due_at, target_minutes, remaining_minutes,
    met_at, breached_at, claimed_until, created_at, appointment_id, calendar_id, case_id,
    contractor_task_id, handoff_id, responsible_id, team_id, promise_id, policy_id)
SELECT k.kind, s.state, p.created_at, s.due_at, k.minutes,
    CASE WHEN s.state = 'paused' THEN k.minutes / 2 END,
    s.met_at, CASE WHEN s.state = 'breached' THEN s.due_at END, NULL, p.created_at,
    NULL, NULL, p.g, NULL, NULL, p.owner, p.team_id, NULL, NULL
FROM plan AS p
CROSS JOIN (VALUES ('first_response', 120), ('resolution', 2880)) AS k(kind, minutes)
CROSS JOIN LATERAL (
    SELECT CASE
            WHEN k.kind = 'resolution' AND p.state = 'waiting_customer' THEN NULL
            ELSE p.created_at + k.minutes * interval '1 minute' END AS due_at,
        CASE WHEN k.kind = 'first_response' THEN p.first_response_at
             ELSE p.resolved_at END AS met_at
) AS t
CROSS JOIN LATERAL (
    SELECT t.due_at, t.met_at, CASE
        WHEN t.met_at IS NOT NULL THEN CASE WHEN t.met_at <= t.due_at THEN 'met'
                                            ELSE 'breached' END
        WHEN t.due_at IS NULL THEN 'paused'
        WHEN t.due_at > %(now)s::timestamptz THEN 'pending'
        ELSE 'breached' END AS state
) AS s
"""

ROUTING = """
INSERT INTO triage_routingdecision (case_id, team_id, source, version_id, suggested_team_id,
    confidence, unsure, not_ours, evidence, ranked, needs_person, settled_by_id, settled_at,
    created_at)
SELECT p.g, p.team_id, CASE WHEN p.channel = 'phone' THEN 'staff' ELSE 'model' END, NULL,
    CASE WHEN p.channel = 'phone' THEN NULL ELSE p.team_id END,
    CASE WHEN p.channel = 'phone' THEN NULL
         ELSE round((0.5 + 0.5 * pg_temp.r(p.g, 60))::numeric, 3) END,
    p.active AND pg_temp.r(p.g, 61) < 0.01, false, '[]'::jsonb, '[]'::jsonb,
    p.active AND pg_temp.r(p.g, 61) < 0.01, NULL, NULL, p.created_at
FROM plan AS p
"""

# 2 % of the cases went through a handoff (accepted, or declined and kept); 1 % of the active
# ones have one waiting.
HANDOFFS = """
INSERT INTO cases_handoff (case_id, reason, state, created_at, due_at, decided_at,
    decline_reason, decided_by_id, from_team_id, from_user_id, to_team_id, to_user_id)
SELECT p.g, (ARRAY['Это вопрос вашей команды.', 'This belongs to your team.'])[p.lang + 1],
    h.state, p.created_at + interval '20 minutes', p.created_at + interval '2 hours',
    CASE WHEN h.state <> 'requested' THEN p.created_at + interval '1 hour' END,
    CASE WHEN h.state = 'declined' THEN 'Не наш вопрос, это к вам.' ELSE '' END,
    CASE WHEN h.state <> 'requested' THEN (%(leads)s::bigint[])[h.to_ti] END,
    (%(team_ids)s::bigint[])[h.from_ti], (%(leads)s::bigint[])[h.from_ti],
    (%(team_ids)s::bigint[])[h.to_ti], NULL
FROM plan AS p
CROSS JOIN LATERAL (
    SELECT CASE WHEN p.active THEN 'requested' WHEN pg_temp.r(p.g, 71) < 0.85 THEN 'accepted'
                ELSE 'declined' END AS state
) AS s
CROSS JOIN LATERAL (
    SELECT s.state,
        CASE WHEN s.state = 'accepted' THEN 1 + mod(p.ti, %(teams)s) ELSE p.ti END AS from_ti,
        CASE WHEN s.state = 'accepted' THEN p.ti ELSE 1 + mod(p.ti, %(teams)s) END AS to_ti
) AS h
WHERE p.state <> 'new' AND pg_temp.r(p.g, 70) < CASE WHEN p.active THEN 0.01 ELSE 0.02 END
"""

# An angry customer tells the team lead (1 % of the cases); the last three days' are unread.
NOTIFICATIONS = """
INSERT INTO cases_notification (recipient_id, case_id, kind, title, body, data, created_at,
    read_at)
SELECT (%(leads)s::bigint[])[p.ti], p.g, 'anger',
    (ARRAY['Клиент раздражён: ', 'Angry customer: '])[p.lang + 1] || '#' || p.g, '',
    '{}'::jsonb, p.created_at + interval '5 minutes',
    CASE WHEN p.created_at < %(now)s::timestamptz - interval '3 days'
         THEN p.created_at + interval '2 hours' END
FROM plan AS p
WHERE pg_temp.r(p.g, 80) < 0.01
"""

FAILURES = """
INSERT INTO failures_failure (kind, occurred_at, minutes_lost, money_at_risk, detail, summary,
    key, created_at, case_id, person_id, team_id)
SELECT k.kind, least(%(now)s::timestamptz, p.created_at + interval '3 hours'),
    round((pg_temp.r(f, 91) * 600)::numeric, 1),
    CASE WHEN pg_temp.r(f, 92) < 0.2 THEN round((pg_temp.r(f, 93) * 50000)::numeric, 2)
         ELSE 0 END,
    '{}'::jsonb, 'Case #' || p.g || ': ' || k.kind, 'bench:' || f || ':' || k.kind,
    least(%(now)s::timestamptz, p.created_at + interval '3 hours'), p.g, p.owner, p.team_id
FROM generate_series(1, %(failures)s) AS f
JOIN plan AS p ON p.g = 1 + floor(pg_temp.r(f, 90) * %(cases)s)::bigint
CROSS JOIN LATERAL (
    SELECT (%(failure_kinds)s::text[])[width_bucket(pg_temp.r(f, 94),
                                                     %(failure_bounds)s::float8[])] AS kind
) AS k
"""

# A survey for a fifth of the resolved cases, due three days after the resolution.
SURVEYS = """
INSERT INTO contact_survey (case_id, customer_id, state, due_at, skip_reason, token, rating,
    comment, claimed_until, contact_id, created_at, sent_at, answered_at)
SELECT p.g, p.customer, s.state, s.due_at,
    CASE WHEN s.state = 'skipped' THEN 'recent_contact' ELSE '' END,
    'bench-' || p.g || '-' || substr(md5(p.g::text), 1, 12),
    CASE WHEN s.state = 'answered'
         THEN (ARRAY[1, 2, 3, 4, 4, 5, 5, 5, 5, 5])[1 + floor(pg_temp.r(p.g, 102) * 10)::int]
    END, '', NULL, NULL, p.resolved_at,
    CASE WHEN s.state IN ('sent', 'answered') THEN s.due_at END,
    CASE WHEN s.state = 'answered' THEN s.due_at + interval '1 day' END
FROM plan AS p
CROSS JOIN LATERAL (
    SELECT p.resolved_at + interval '3 days' AS due_at,
        CASE WHEN p.resolved_at + interval '4 days' > %(now)s::timestamptz THEN 'waiting'
             WHEN pg_temp.r(p.g, 101) < 0.4 THEN 'answered'
             WHEN pg_temp.r(p.g, 101) < 0.8 THEN 'sent' ELSE 'skipped' END AS state
) AS s
WHERE p.resolved_at IS NOT NULL AND pg_temp.r(p.g, 100) < 0.2
"""

ARTICLES = """
INSERT INTO kb_article (title, slug, body, language, visibility, published, created_at,
    updated_at, author_id, team_id)
SELECT (ARRAY['Что делать: ', 'What to do: '])[a.lang + 1]
        || (%(subject)s::text[])[a.lang * %(topics)s + a.topic]
        || CASE WHEN i > 2 * %(topics)s THEN ' (' || i || ')' ELSE '' END,
    'article-' || i,
    (%(said)s::text[])[a.lang * 2 * %(topics)s + 2 * (a.topic - 1) + 1] || ' '
        || (%(said)s::text[])[a.lang * 2 * %(topics)s + 2 * (a.topic - 1) + 2] || E'\n\n'
        || (%(answer)s::text[])[a.lang * %(topics)s + a.topic] || E'\n\n'
        || (%(summary)s::text[])[a.lang * %(topics)s + a.topic],
    (ARRAY['ru', 'en'])[a.lang + 1], CASE WHEN mod(i, 3) = 0 THEN 'internal' ELSE 'public' END,
    mod(i, 10) <> 0, %(now)s::timestamptz - i * interval '1 day',
    %(now)s::timestamptz - i * interval '1 day', (%(leads)s::bigint[])[1], NULL
FROM generate_series(1, %(articles)s) AS i
CROSS JOIN LATERAL (SELECT mod(i, 2) AS lang,
                           1 + mod((i - 1) / 2, %(topics)s)::int AS topic) AS a
"""

BULK = [
    ("customers", CUSTOMERS),
    ("plan", PLAN),
    ("cases", CASES),
    ("messages", MESSAGES),
    ("timeline_events", EVENTS),
    ("deadlines", DEADLINES),
    ("routing_decisions", ROUTING),
    ("handoffs", HANDOFFS),
    ("notifications", NOTIFICATIONS),
    ("failures", FAILURES),
    ("surveys", SURVEYS),
    ("articles", ARTICLES),
]

# The tables written here whose identity sequences must move past the rows inserted with ids.
SEQUENCES = [
    "people_customer",
    "cases_case",
    "cases_message",
    "cases_timelineevent",
    "clocks_deadline",
    "triage_routingdecision",
    "cases_handoff",
    "cases_notification",
    "failures_failure",
    "contact_survey",
    "kb_article",
]

FAILURE_KINDS = [
    ("sla_first_response", 0.30),
    ("sla_resolution", 0.25),
    ("reopened", 0.10),
    ("anger", 0.08),
    ("handoff_declined", 0.05),
    ("handoff_timed_out", 0.04),
    ("appointment_missed", 0.04),
    ("promise_broken", 0.04),
    ("contractor_late", 0.03),
    ("low_rating", 0.03),
    ("misrouted", 0.02),
    ("customer_left", 0.02),
]


def _bounds(shares: Sequence[float]) -> list[float]:
    """Lower bounds of buckets of these sizes in [0, 1), for width_bucket."""
    bounds, total = [], 0.0
    for share in shares:
        bounds.append(round(total, 6))
        total += share
    assert abs(total - 1.0) < 1e-9, total
    return bounds


def _bank(name: str) -> list[str]:
    ru, en = GENERIC[name]["ru"], GENERIC[name]["en"]
    assert len(ru) == len(en), name
    return ru + en


def parameters(
    connection: Any, cases: int, customers: int, failures: int, now: dt.datetime
) -> dict[str, Any]:
    """Everything the bulk statements need: the people made by the services, and the texts."""
    team_ids: list[int] = []
    leads: list[int] = []
    agents: list[int] = []
    agent_off: list[int] = []
    agent_cnt: list[int] = []
    team_topics: list[int] = []
    topic_off: list[int] = []
    topic_cnt: list[int] = []
    for slug, _name, _share, _agents, topics in TEAMS:
        row = connection.execute(
            "SELECT id, lead_id FROM people_team WHERE slug = %s", [slug]
        ).fetchone()
        assert row is not None, slug
        team_ids.append(row[0])
        leads.append(row[1])
        members = [
            r[0]
            for r in connection.execute(
                "SELECT user_id FROM people_membership WHERE team_id = %s AND role = 'member' "
                "ORDER BY user_id",
                [row[0]],
            )
        ]
        agent_off.append(len(agents))
        agent_cnt.append(len(members))
        agents += members
        topic_off.append(len(team_topics))
        topic_cnt.append(len(topics))
        team_topics += [TOPIC_KEYS.index(key) + 1 for key in topics]
    texts = {lang: [TOPICS[key][lang] for key in TOPIC_KEYS] for lang in ("ru", "en")}
    langs = ("ru", "en")
    return {
        "now": now,
        "cases": cases,
        "customers": customers,
        "failures": failures,
        "articles": 300,
        "slot": DAYS * 86400 / cases,
        "tau": ACTIVE_SHARE * DAYS,
        "teams": len(TEAMS),
        "team_bounds": _bounds([share for _s, _n, share, _a, _t in TEAMS]),
        "team_ids": team_ids,
        "leads": leads,
        "agents": agents,
        "agent_off": agent_off,
        "agent_cnt": agent_cnt,
        "team_topics": team_topics,
        "topic_off": topic_off,
        "topic_cnt": topic_cnt,
        "topics": len(TOPIC_KEYS),
        "subject": [t[0] for lang in langs for t in texts[lang]],
        "said": [s for lang in langs for t in texts[lang] for s in (t[1], t[2])],
        "answer": [t[3] for lang in langs for t in texts[lang]],
        "summary": [t[4] for lang in langs for t in texts[lang]],
        **{name: _bank(name) for name in GENERIC},
        "rare_every": RARE_EVERY,
        "failure_kinds": [kind for kind, _share in FAILURE_KINDS],
        "failure_bounds": _bounds([share for _kind, share in FAILURE_KINDS]),
        "ru_m": [n for n, _a in RU_MALE],
        "ru_m_a": [a for _n, a in RU_MALE],
        "ru_f": [n for n, _a in RU_FEMALE],
        "ru_f_a": [a for _n, a in RU_FEMALE],
        "ru_last": [n for n, _a in RU_LAST],
        "ru_last_a": [a for _n, a in RU_LAST],
        "en_first": EN_FIRST,
        "en_last": EN_LAST,
        "domains": DOMAINS,
    }


def _statement_params(sql: str, params: dict[str, Any]) -> dict[str, Any]:
    """Only the parameters a statement names (psycopg refuses none, but keeps it readable)."""
    return {name: value for name, value in params.items() if f"%({name})s" in sql}


def build(
    base: str, cases: int, customers: int, failures: int, env: dict[str, str]
) -> dict[str, Any]:
    import psycopg

    admin = f"{base}/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        connection.execute(f"CREATE DATABASE {DATABASE}")
    timings: dict[str, Any] = {}
    started = time.perf_counter()
    sh(PYTHON, "-m", "pomogu", "migrate", "-v0", env=env)
    # The full-text indexes (kb 0002) are built after the bulk rows, by the migration itself:
    # unapply it now, apply it again at the end.
    sh(PYTHON, "-m", "pomogu", "migrate", "kb", "0001", "-v0", env=env)
    sh(PYTHON, "-m", "pomogu", "shell", "-c", _seed_code(), env=env)
    timings["schema_and_seed_seconds"] = round(time.perf_counter() - started, 1)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    with psycopg.connect(f"{base}/{DATABASE}", autocommit=True) as connection:
        connection.execute("SET synchronous_commit = off")
        connection.execute("SET maintenance_work_mem = '512MB'")
        connection.execute("SET work_mem = '64MB'")
        for sql in FUNCTIONS:
            connection.execute(sql)
        params = parameters(connection, cases, customers, failures, now)
        for name, sql in BULK:
            step = time.perf_counter()
            cursor = connection.execute(sql, _statement_params(sql, params))
            seconds = round(time.perf_counter() - step, 1)
            timings[f"{name}_seconds"] = seconds
            log(f"built {name}: {cursor.rowcount} rows in {seconds} s")
        for table in SEQUENCES:
            connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608 - our names
                f"(SELECT coalesce(max(id), 1) FROM {table}))"
            )
    step = time.perf_counter()
    sh(
        PYTHON,
        "-m",
        "pomogu",
        "migrate",
        "-v0",
        env={**env, "PGOPTIONS": "-c maintenance_work_mem=512MB"},
    )
    timings["full_text_indexes_seconds"] = round(time.perf_counter() - step, 1)
    log(f"built the full-text indexes (kb 0002) in {timings['full_text_indexes_seconds']} s")
    with psycopg.connect(f"{base}/{DATABASE}", autocommit=True) as connection:
        step = time.perf_counter()
        connection.execute("VACUUM ANALYZE")
        timings["vacuum_analyze_seconds"] = round(time.perf_counter() - step, 1)
    timings["total_seconds"] = round(time.perf_counter() - started, 1)
    timings["data_as_of"] = now.isoformat()
    timings["built_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    timings["parameters"] = {"cases": cases, "customers": customers, "failures": failures}
    with psycopg.connect(f"{base}/{DATABASE}", autocommit=True) as connection:
        # Kept with the data, so that --reuse reports how this database was built.
        connection.execute("CREATE TABLE bench_pages_build (info jsonb NOT NULL)")
        connection.execute(
            "INSERT INTO bench_pages_build (info) VALUES (%s::jsonb)", [json.dumps(timings)]
        )
    return timings


def code_versions() -> dict[str, str]:
    """Which versions of the code these pages run were measured (the checkout is shared and
    changes while it runs): sha256 and modification time of each file."""
    import hashlib

    source = ROOT / "src" / "pomogu"
    files = [
        *sorted((source / "desk").glob("*.py")),
        *sorted((source / "kb").glob("*.py")),
        *sorted((source / "kb" / "migrations").glob("0*.py")),
        *sorted((source / "failures").glob("*.py")),
        source / "cases" / "queries.py",
        source / "people" / "services.py",
        source / "contact" / "surveys.py",
    ]
    versions = {}
    for path in files:
        data = path.read_bytes()
        stamp = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).isoformat(
            timespec="seconds"
        )
        versions[str(path.relative_to(ROOT))] = f"{hashlib.sha256(data).hexdigest()[:12]} {stamp}"
    return versions


def earlier_build() -> dict[str, Any] | None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('bench_pages_build') IS NOT NULL")
        if not cursor.fetchone()[0]:
            return None
        cursor.execute("SELECT info::text FROM bench_pages_build")
        row = cursor.fetchone()
    return json.loads(row[0]) if row else None


def migrate_again(base: str, env: dict[str, str]) -> dict[str, Any]:
    """Apply what is new since the build (an index added to meet the targets, say) to the 1M
    database, and ANALYZE so that the planner and the search statistics know the data."""
    import psycopg

    started = time.perf_counter()
    planned = sh(PYTHON, "-m", "pomogu", "migrate", "--plan", env=env)
    sh(
        PYTHON,
        "-m",
        "pomogu",
        "migrate",
        "-v0",
        env={**env, "PGOPTIONS": "-c maintenance_work_mem=512MB"},
    )
    migrate_seconds = round(time.perf_counter() - started, 1)
    step = time.perf_counter()
    with psycopg.connect(f"{base}/{DATABASE}", autocommit=True) as connection:
        connection.execute("ANALYZE")
    result = {
        "plan": planned.strip(),
        "migrate_seconds": migrate_seconds,
        "analyze_seconds": round(time.perf_counter() - step, 1),
    }
    log(f"migrated again in {migrate_seconds} s: {planned.strip()}")
    return result


def data_sizes() -> dict[str, Any]:
    from django.db import connection

    tables = [
        "cases_case",
        "cases_message",
        "cases_timelineevent",
        "clocks_deadline",
        "people_customer",
        "triage_routingdecision",
        "cases_handoff",
        "cases_notification",
        "failures_failure",
        "contact_survey",
        "kb_article",
    ]
    result: dict[str, Any] = {"rows": {}, "total_size": {}}
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - our names
            result["rows"][table] = cursor.fetchone()[0]
            cursor.execute("SELECT pg_size_pretty(pg_total_relation_size(%s))", [table])
            result["total_size"][table] = cursor.fetchone()[0]
        cursor.execute(
            "SELECT state, count(*) FROM cases_case GROUP BY state ORDER BY count(*) DESC"
        )
        result["cases_by_state"] = dict(cursor.fetchall())
        cursor.execute(
            "SELECT t.slug, count(*) FROM cases_case c JOIN people_team t ON t.id = c.team_id "
            "GROUP BY t.slug ORDER BY count(*) DESC"
        )
        result["cases_by_team"] = dict(cursor.fetchall())
        cursor.execute(
            "SELECT c.relname, pg_size_pretty(pg_relation_size(c.oid)) FROM pg_class c "
            "WHERE c.relname IN ('kb_message_body_fts', 'kb_case_subject_fts', 'kb_article_fts')"
        )
        result["full_text_indexes"] = dict(cursor.fetchall())
        cursor.execute(
            "SELECT pg_database_size(current_database()), "
            "pg_size_pretty(pg_database_size(current_database()))"
        )
        size, pretty = cursor.fetchone()
        result["database_bytes"] = size
        result["database_size"] = pretty
        for setting in ("shared_buffers", "work_mem", "effective_cache_size", "random_page_cost"):
            cursor.execute(f"SHOW {setting}")
            result.setdefault("postgresql_settings", {})[setting] = cursor.fetchone()[0]
    return result


# --- measuring ------------------------------------------------------------------------------

NEXT_RE = re.compile(r'<a href="([^"]+)" rel="next">')
SELECT_RE = re.compile(r"^\s*(SELECT|WITH)\b", re.IGNORECASE)
SET_LOCAL_RE = re.compile(r"^\s*SET\s+LOCAL\b", re.IGNORECASE)
TRANSACTION_RE = re.compile(r"^\s*(BEGIN|START|COMMIT|ROLLBACK|END)\b", re.IGNORECASE)

# Search words: common ones (thousands of messages each), the rare one (about cases / 25,000).
COMMON_WORDS = ["интернет", "роутер", "счёт", "refund", "internet", "invoice"]
RARE_WORDS = ["цеппелин", "zeppelin", "Цеппелин"]


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile (p95 of 30 values is the 29th smallest)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


DECLARE_RE = re.compile(r"^\s*DECLARE\s.*?\bCURSOR\b.*?\bFOR\s+(SELECT\b.*)$", re.S | re.I)


def explain(sql: str, settings: Sequence[str] = ()) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of a statement, in a transaction rolled back, after the
    ``SET LOCAL`` statements that ran before it in its own transaction (a plan depends on
    them); a server-side cursor's (Django's ``.iterator()``) is explained as its SELECT."""
    from django.db import connection, transaction

    cursor_for = DECLARE_RE.match(sql)
    if cursor_for:
        sql = cursor_for.group(1)
    if not SELECT_RE.match(sql):
        return "(not a SELECT: not explained)"
    with transaction.atomic(), connection.cursor() as cursor:
        for setting in settings:
            cursor.execute(setting)
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        transaction.set_rollback(True)
    return "\n".join([*settings, plan]) if settings else plan


@dataclass
class Kind:
    """One page kind: who asks, the warm-up URLs, the timed URLs, and what was seen."""

    name: str
    label: str
    client: Any
    warm: list[str]
    urls: list[str]
    times: list[float] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    sql_ms: list[float] = field(default_factory=list)
    loads: list[float] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    slowest: tuple[float, str, str] = (-1.0, "", "")
    slowest_settings: list[str] = field(default_factory=list)

    def warm_up(self) -> None:
        for url in self.warm:
            response = self.client.get(url)
            if response.status_code != 200:
                self.errors.append({"url": url, "status": response.status_code, "warm_up": True})

    def request(self, index: int) -> None:
        """The index-th timed request: wall time in this process around the test client's
        request (middleware, view, SQL, template), and the SQL statements it ran."""
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        url = self.urls[index]
        self.loads.append(os.getloadavg()[0])
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = self.client.get(url)
            elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            self.errors.append({"url": url, "status": response.status_code})
        self.times.append(elapsed)
        self.counts.append(len(queries.captured_queries))
        statement_ms = [float(q["time"]) * 1000 for q in queries.captured_queries]
        self.sql_ms.append(sum(statement_ms))
        settings: list[str] = []  # SET LOCAL statements of the transaction so far
        for query, ms in zip(queries.captured_queries, statement_ms, strict=True):
            sql = query["sql"]
            if SET_LOCAL_RE.match(sql):
                settings.append(sql)
            elif TRANSACTION_RE.match(sql):
                settings = []
            if ms > self.slowest[0]:
                self.slowest = (ms, sql, url)
                self.slowest_settings = list(settings)

    def result(self) -> dict[str, Any]:
        times = self.times
        result: dict[str, Any] = {
            "label": self.label,
            "requests": len(times),
            "warm_up": len(self.warm),
            "example_url": self.urls[0],
            "distinct_urls": len(set(self.urls)),
            "median_ms": round(statistics.median(times), 1),
            "p95_ms": round(percentile(times, 0.95), 1),
            "max_ms": round(max(times), 1),
            "min_ms": round(min(times), 1),
            "queries_median": statistics.median(self.counts),
            "queries_max": max(self.counts),
            "sql_ms_median": round(statistics.median(self.sql_ms), 1),
            "times_ms": [round(t, 1) for t in times],
            "sql_ms": [round(t, 1) for t in self.sql_ms],
            # Other work on the same two cores slows the Python part of a page down.
            "load_average_1min": {
                "min": round(min(self.loads), 2),
                "median": round(statistics.median(self.loads), 2),
                "max": round(max(self.loads), 2),
            },
            "errors": self.errors,
        }
        result["meets_target"] = (
            result["median_ms"] < TARGET_MEDIAN_MS
            and result["p95_ms"] < TARGET_P95_MS
            and not self.errors
        )
        ms, sql, url = self.slowest
        result["slowest_sql"] = {
            "ms": round(ms, 1),
            "url": url,
            "sql": sql,
            "settings": self.slowest_settings,
            "explain": explain(sql, self.slowest_settings) if sql else "",
        }
        log(
            f"{self.name}: median {result['median_ms']} ms, p95 {result['p95_ms']} ms, "
            f"max {result['max_ms']} ms, {result['queries_median']:g} queries "
            f"(SQL {result['sql_ms_median']} ms; slowest statement {result['slowest_sql']['ms']} "
            "ms)" + (f"; {len(self.errors)} non-200" if self.errors else "")
        )
        return result


def follow_next(client: Any, url: str, pages: int) -> list[str]:
    """The queue's first page and the pages after it, each reached by its rel="next" link."""
    urls = [url]
    for _ in range(pages - 1):
        response = client.get(urls[-1])
        assert response.status_code == 200, (urls[-1], response.status_code)
        found = NEXT_RE.search(response.content.decode())
        if found is None:
            break
        urls.append(html.unescape(found.group(1)))
    return urls


def cycle(items: Sequence[str], count: int) -> list[str]:
    return [items[i % len(items)] for i in range(count)]


def measure_pages(requests: int, warm: int, only: set[str] | None) -> dict[str, Any]:
    from urllib.parse import quote

    from django.db.models import Max
    from django.test import Client

    from pomogu.cases.choices import ACTIVE_STATES, CaseState
    from pomogu.cases.models import Case
    from pomogu.people.models import Team, User

    rng = random.Random(2026)
    lead = User.objects.get(username="lead-support")
    manager = User.objects.get(username="manager")
    team = Team.objects.get(slug="support")
    as_lead = Client(raise_request_exception=False)
    as_lead.force_login(lead)
    as_manager = Client(raise_request_exception=False)
    as_manager.force_login(manager)
    last = Case.objects.aggregate(last=Max("id"))["last"] or 0
    need = requests + warm

    def sample(states: Sequence[str], count: int) -> list[int]:
        found: list[int] = []
        while len(found) < count:
            ids = rng.sample(range(1, last + 1), min(last, 20 * count))
            found += [
                number
                for number in Case.objects.filter(team=team, state__in=states, id__in=ids)
                .exclude(number__in=found)
                .order_by("id")
                .values_list("number", flat=True)[: count - len(found)]
                if number is not None
            ]
        rng.shuffle(found)
        return found

    active = [
        number
        for number in Case.objects.filter(team=team, state__in=ACTIVE_STATES)
        .order_by("id")
        .values_list("number", flat=True)
        if number is not None
    ]
    rng.shuffle(active)
    resolved = sample([CaseState.RESOLVED, CaseState.CLOSED], 2 * need)
    emails = list(
        Case.objects.filter(team=team, number__in=sample(list(CaseState.values), need))
        .order_by("customer__email")
        .values_list("customer__email", flat=True)
        .distinct()
    )

    def split(numbers: list[int], pattern: str) -> tuple[list[str], list[str]]:
        urls = [pattern.format(n) for n in numbers[:need]]
        return urls[:warm], urls[warm:]

    queue = "/team/support/"
    queue_all = "/team/support/?state=all"
    kinds: list[tuple[str, str, Callable[[], tuple[Any, list[str], list[str]]]]] = [
        (
            "queue_first",
            "team queue, first page",
            lambda: (as_lead, [queue] * warm, [queue] * requests),
        ),
        (
            "queue_later",
            "team queue, pages 5–12 (by rel=next)",
            lambda: (as_lead, *_later(as_lead, queue, warm, requests)),
        ),
        (
            "queue_all_later",
            "team queue, every state, pages 5–12",
            lambda: (as_lead, *_later(as_lead, queue_all, warm, requests)),
        ),
        ("case_active", "case page, active case", lambda: (as_lead, *split(active, "/cases/{}/"))),
        (
            "case_resolved",
            "case page, resolved or closed case",
            lambda: (as_lead, *split(resolved[:need], "/cases/{}/")),
        ),
        (
            "related",
            "case's related panel (active and resolved)",
            lambda: (
                as_lead,
                *split(
                    [n for pair in zip(active[need:], resolved[need:], strict=False) for n in pair],
                    "/cases/{}/related/",
                ),
            ),
        ),
        (
            "search_common",
            "search, a common word",
            lambda: (
                as_lead,
                [f"/search/?q={quote(w)}" for w in COMMON_WORDS[:warm]],
                [f"/search/?q={quote(w)}" for w in cycle(COMMON_WORDS, requests)],
            ),
        ),
        (
            "search_rare",
            "search, a rare word",
            lambda: (
                as_lead,
                [f"/search/?q={quote(w)}" for w in RARE_WORDS[:warm]],
                [f"/search/?q={quote(w)}" for w in cycle(RARE_WORDS, requests)],
            ),
        ),
        (
            "search_number",
            "search, a case number (#123456)",
            lambda: (as_lead, *split(sample(list(CaseState.values), need), "/search/?q=%23{}")),
        ),
        (
            "search_email",
            "search, a customer's email",
            lambda: (
                as_lead,
                [f"/search/?q={quote(e)}" for e in emails[:warm]],
                [f"/search/?q={quote(e)}" for e in cycle(emails[warm:], requests)],
            ),
        ),
        (
            "dashboard",
            "failure dashboard (manager, last 8 weeks)",
            lambda: (as_manager, ["/register/"] * warm, ["/register/"] * requests),
        ),
        ("my_work", "my work (team lead)", lambda: (as_lead, ["/"] * warm, ["/"] * requests)),
    ]
    results: dict[str, Any] = {
        "user": {
            "pages_as": lead.username,
            "dashboard_as": manager.username,
            "team": team.slug,
            "team_cases": Case.objects.filter(team=team).count(),
            "team_active_cases": len(active),
            "my_active_cases": Case.objects.filter(owner=lead, state__in=ACTIVE_STATES).count(),
        }
    }
    chosen = [Kind(name, label, *make()) for name, label, make in kinds if not only or name in only]
    for kind in chosen:
        kind.warm_up()
    # Round robin: each kind's requests are spread over the whole run, so that every kind sees
    # the same mix of load from other work on the machine.
    for index in range(requests):
        for kind in chosen:
            kind.request(index)
    for kind in chosen:
        results[kind.name] = kind.result()
    return results


def _later(client: Any, first: str, warm: int, requests: int) -> tuple[list[str], list[str]]:
    """Pages 2-4 to warm up, pages 5-12 (in turn) to time; each reached by rel="next"."""
    urls = follow_next(client, first, 12)
    assert len(urls) >= 6, f"{first} has only {len(urls)} pages"
    return urls[1 : 1 + warm], cycle(urls[4:], requests)


def table(pages: dict[str, Any]) -> str:
    lines = [
        "| page | median | p95 | max | SQL queries | target |",
        "|---|---|---|---|---|---|",
    ]
    for name, page in pages.items():
        if name == "user":
            continue
        verdict = "met" if page["meets_target"] else "**not met**"
        queries = f"{page['queries_median']:g}"
        if page["queries_max"] != page["queries_median"]:
            queries += f" (max {page['queries_max']})"
        lines.append(
            f"| {page['label']} | {page['median_ms']} ms | {page['p95_ms']} ms | "
            f"{page['max_ms']} ms | {queries} | {verdict} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, help="default: a tenth of the cases")
    parser.add_argument("--failures", type=int, help="default: 3 per 100 cases")
    parser.add_argument("--requests", type=int, default=30, help="timed requests per page kind")
    parser.add_argument("--warm", type=int, default=3, help="warm-up requests per page kind")
    parser.add_argument("--only", help="comma-separated page kinds to measure")
    parser.add_argument("--reuse", action="store_true", help="measure the existing database")
    parser.add_argument(
        "--migrate",
        action="store_true",
        help="with --reuse: apply new migrations (e.g. an index) first, then ANALYZE",
    )
    parser.add_argument("--drop", action="store_true", help="drop the database at the end")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "pages.json")
    args = parser.parse_args()
    customers = args.customers or max(1000, args.cases // 10)
    failures = args.failures if args.failures is not None else args.cases * 3 // 100

    url = f"{args.pg}/{DATABASE}"
    data_dir = Path(tempfile.mkdtemp(prefix="pomogu-bench-pages-data-"))
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "POMOGU_DATA_DIR": str(data_dir),
        "POMOGU_LOG_LEVEL": "WARNING",
        "POMOGU_EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
    }
    for name in ("POMOGU_FAULTS", "CELERY_BROKER_URL", "POMOGU_REDIS_URL", "POMOGU_DEBUG"):
        env.pop(name, None)
    results: dict[str, Any] = {"machine": machine()}
    if not args.reuse:
        results["build"] = build(args.pg, args.cases, customers, failures, env)
        log(f"build: {results['build']['total_seconds']} s")
    elif args.migrate:
        results["migrate"] = migrate_again(args.pg, env)
    for name in ("DATABASE_URL", "POMOGU_DATA_DIR", "POMOGU_LOG_LEVEL", "POMOGU_EMAIL_BACKEND"):
        os.environ[name] = env[name]
    os.environ.pop("POMOGU_DEBUG", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pomogu.settings")
    import django
    from django.conf import settings
    from django.db import connection

    django.setup()
    assert not settings.DEBUG, "measure with DEBUG off"
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        results["machine"]["postgresql"] = cursor.fetchone()[0]
    if args.reuse:
        results["build"] = {"reused": True, **(earlier_build() or {})}
    results["data"] = data_sizes()
    log(f"data: {results['data']['rows']}, {results['data']['database_size']}")
    only = set(args.only.split(",")) if args.only else None
    results["target"] = {"median_ms": TARGET_MEDIAN_MS, "p95_ms": TARGET_P95_MS}
    results["code_at_start"] = code_versions()
    results["pages"] = measure_pages(args.requests, args.warm, only)
    changed = sorted(
        name
        for name, version in code_versions().items()
        if results["code_at_start"].get(name) != version
    )
    results["code_changed_during_run"] = changed
    if changed:
        log(f"changed by others during the run: {changed}")
    results["machine"]["load_average_at_end"] = os.getloadavg()
    results["measured_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    if args.drop:
        connection.close()
        import psycopg

        with psycopg.connect(f"{args.pg}/postgres", autocommit=True) as admin:
            admin.execute(f"DROP DATABASE {DATABASE}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str) + "\n")
    build_info = results.get("build", {})
    print(f"build: {build_info.get('total_seconds')} s" + (" (reused)" if args.reuse else ""))
    print(f"data: {results['data']['rows']}; database {results['data']['database_size']}")
    print(table(results["pages"]))
    print(f"written to {args.json}")
    errors = [
        error
        for page in results["pages"].values()
        if isinstance(page, dict)
        for error in page.get("errors", [])
    ]
    if errors:
        raise SystemExit(f"{len(errors)} responses were not 200: {errors[:5]}")


if __name__ == "__main__":
    main()
