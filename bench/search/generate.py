"""Fill a PostgreSQL database with a desk's worth of cases for the search benchmark.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pomogu_kb \\
        .venv/bin/python bench/search/generate.py --cases 1000000

The database must be migrated (``pomogu migrate``) and otherwise empty of cases. It gets 10
teams of 10 (a lead and 9 agents), a manager, 20,000 customers and ``--cases`` cases over two
years, 70 % Russian and 30 % English, 80 % resolved or closed, each with 1 to 4 messages (the
customer's first, then replies and notes; 2.5 on average). Texts are built from real sentences
(../shared/data: CLINC150 in English, RUSSE 2022 detox neutral paraphrases in Russian) around
~40 support topics, so the vocabulary has a natural long tail. As in the peer's benchmark
(../shared/bench-peer/seed_100k.py), "refund" / "вернуть деньги" is in about 9 % of first
messages and "zeppelin" in about 0.05 %.

Rows are written with INSERT ... SELECT in batches, with the kb full-text indexes dropped
during the load and built afterwards (``--keep-indexes`` keeps them, which is slower). Then
VACUUM ANALYZE. ``--drop`` deletes the generated rows instead (and the sentence table).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pomogu.settings")

TOPICS_RU = [
    "нет интернета",
    "роутер мигает красным",
    "медленный интернет по вечерам",
    "не работает телевидение",
    "прошу вернуть деньги за неоказанную услугу",
    "двойное списание с карты",
    "неверная сумма в счёте",
    "хочу сменить тариф",
    "перенести дату подключения",
    "не приходит смс с кодом",
    "не работает wi-fi на втором этаже",
    "обрывы связи каждые полчаса",
    "мастер не пришёл в назначенное время",
    "не могу войти в личный кабинет",
    "забыл пароль от роутера",
    "расторгнуть договор",
    "переезд на новый адрес",
    "подключить ip-телевидение",
    "пропал сигнал на приставке",
    "ошибка 651 при подключении",
    "не работает домашний телефон",
    "высокий пинг в играх",
    "сломался блок питания роутера",
    "кабель перебит в подъезде",
    "счёт за октябрь пришёл дважды",
    "не прошла оплата картой",
    "заблокировали доступ за неуплату",
    "как подключить второй роутер",
    "нужна справка о платежах",
    "жалоба на грубость оператора",
]
TOPICS_EN = [
    "no internet since this morning",
    "router light blinks red",
    "slow connection in the evening",
    "tv channels not working",
    "refund for the days without service",
    "charged twice for the same bill",
    "wrong amount on my invoice",
    "want to change my plan",
    "move my installation date",
    "verification code never arrives",
    "wi-fi does not reach the bedroom",
    "connection drops every half hour",
    "technician did not come",
    "cannot log in to my account",
    "forgot the router password",
    "cancel my contract",
    "moving to a new address",
    "high ping in online games",
    "router power adapter is broken",
    "card payment failed",
]
GREETINGS_RU = ["Здравствуйте!", "Добрый день.", "Добрый вечер!", ""]
GREETINGS_EN = ["Hello,", "Hi,", "Good morning,", ""]
FILLER_RU = (
    "Я уже писал вам на прошлой неделе, но никто не ответил. Прошу разобраться как можно "
    "скорее. Номер договора в подписи."
)
FILLER_EN = (
    "I contacted you last week already but nobody answered. Please look into this as soon as "
    "possible. My contract number is in the signature."
)
REPLIES_RU = [
    "Здравствуйте! Проверили линию: со стороны сети всё в порядке. Перезагрузите роутер.",
    "Добрый день! Передали заявку мастеру, он свяжется с вами сегодня до 18:00.",
    "Сделали перерасчёт за дни без связи, он появится в следующем счёте.",
    "Спасибо за обращение. Уточните, пожалуйста, какого цвета горят индикаторы на роутере?",
    "Заменили оборудование, проверьте, пожалуйста, работу интернета.",
]
REPLIES_EN = [
    "Hello! We checked the line and everything is fine on our side. Please restart the router.",
    "We passed your case to a technician, who will call you today before 6 pm.",
    "We refunded the days without service; you will see it on your next bill.",
    "Thank you. Which colour are the lights on your router?",
    "We replaced the equipment; please check whether the connection works now.",
]
NOTES = [
    "Клиент звонил повторно, просит перезвонить после 19:00.",
    "Проверил по мониторингу: порт на коммутаторе в подъезде падал ночью.",
    "Customer is a VIP, handle with care.",
    "Авария на участке, ждём бригаду.",
]
SUMMARIES_RU = [
    "Перезагрузили роутер удалённо, связь восстановлена.",
    "Заменили блок питания роутера.",
    "Сделали перерасчёт абонентской платы.",
    "Восстановили кабель в подъезде.",
    "Объяснили настройку Wi-Fi, клиент доволен.",
]
SUMMARIES_EN = [
    "Restarted the router remotely; the connection is back.",
    "Replaced the power adapter.",
    "Refunded the days without service.",
    "Repaired the cable in the building.",
]


def sentences() -> tuple[list[str], list[str]]:
    english = []
    data = json.loads((SHARED / "clinc150" / "data_full.json").read_text())
    for split in data.values():
        english.extend(text for text, _intent in split)
    russian = []
    with (SHARED / "ru_detox_russe2022" / "train.tsv").open(newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            for column in ("neutral_comment1", "neutral_comment2"):
                text = (row.get(column) or "").strip()
                if 20 <= len(text) <= 200:
                    russian.append(text)
    return russian, english


def people() -> tuple[list[int], dict[int, list[int]], int]:
    """Teams, staff and customers through the services. Returns team ids, staff by team and
    the manager's id."""
    from pomogu.people import services
    from pomogu.people.choices import StaffRole
    from pomogu.people.models import Customer, Team, User

    if Team.objects.filter(slug="bench-0").exists():
        teams = list(Team.objects.filter(slug__startswith="bench-").order_by("pk"))
    else:
        teams = []
        for number in range(10):
            lead = services.create_staff(f"bench-lead-{number}", name=f"Lead {number}")
            team = services.create_team(f"Bench team {number}", slug=f"bench-{number}", lead=lead)
            for agent in range(9):
                user = services.create_staff(f"bench-agent-{number}-{agent}", name="Agent")
                services.add_member(team, user)
            teams.append(team)
        services.create_staff("bench-manager", name="Manager", role=StaffRole.MANAGER)
        Customer.objects.bulk_create(
            Customer(name=f"Customer {n}", email=f"bench{n}@customer.test") for n in range(20_000)
        )
    staff = {
        team.pk: list(team.memberships.order_by("pk").values_list("user_id", flat=True))
        for team in teams
    }
    manager = User.objects.get(username="bench-manager").pk
    return [team.pk for team in teams], staff, manager


def load(cases: int, batch: int, keep_indexes: bool) -> None:
    import django

    django.setup()
    from django.db import connection

    from pomogu.kb import schema

    russian, english = sentences()
    team_ids, staff, _manager = people()
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '512MB'")
        cursor.execute("SELECT count(*) FROM cases_case")
        if cursor.fetchone()[0]:
            raise SystemExit("cases_case is not empty: run with --drop first")
        cursor.execute("SELECT min(id), max(id) FROM people_customer")
        first_customer, last_customer = cursor.fetchone()
        if not keep_indexes:
            for name in ("kb_message_body_fts", "kb_case_subject_fts"):
                cursor.execute(f"DROP INDEX IF EXISTS {name}")
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_text (kind text PRIMARY KEY, items text[] NOT NULL)"
        )
        cursor.execute("TRUNCATE bench_text")
        # Real sentences, many: a table (an array this big would be detoasted at every use).
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_sentence "
            "(lang text, n int, text text NOT NULL, PRIMARY KEY (lang, n))"
        )
        cursor.execute("TRUNCATE bench_sentence")
        for lang, items in (("ru", russian), ("en", english)):
            cursor.executemany(
                "INSERT INTO bench_sentence VALUES (%s, %s, %s)",
                [(lang, n, text) for n, text in enumerate(items, 1)],
            )
        lists = {
            "topic_ru": TOPICS_RU,
            "topic_en": TOPICS_EN,
            "greet_ru": GREETINGS_RU,
            "greet_en": GREETINGS_EN,
            "reply_ru": REPLIES_RU,
            "reply_en": REPLIES_EN,
            "note": NOTES,
            "summary_ru": SUMMARIES_RU,
            "summary_en": SUMMARIES_EN,
            "team": [str(pk) for pk in team_ids],
            "owners": [",".join(str(pk) for pk in staff[pk]) for pk in team_ids],
        }
        for kind, items in lists.items():
            cursor.execute("INSERT INTO bench_text VALUES (%s, %s)", [kind, items])
    started = time.perf_counter()
    done = 0
    while done < cases:
        size = min(batch, cases - done)
        with connection.cursor() as cursor:
            cursor.execute(
                CASES_SQL,
                {
                    "n": size,
                    "total": cases,
                    "offset": done,
                    "c0": first_customer,
                    "c1": last_customer,
                },
            )
            cursor.execute(
                MESSAGES_SQL,
                {"offset": done, "n": size, "nru": len(russian), "nen": len(english)},
            )
        done += size
        print(f"{done:,} cases in {time.perf_counter() - started:.0f} s", flush=True)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('cases_case', 'id'), "
            "(SELECT max(id) FROM cases_case))"
        )
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('cases_message', 'id'), "
            "(SELECT max(id) FROM cases_message))"
        )
    index_started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '512MB'")
        schema.create_pg_indexes(cursor)
    print(f"indexes built in {time.perf_counter() - index_started:.0f} s", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE cases_case")
        cursor.execute("VACUUM ANALYZE cases_message")
        cursor.execute("SELECT count(*) FROM cases_message")
        messages = cursor.fetchone()[0]
    print(
        json.dumps(
            {"cases": cases, "messages": messages, "seconds": round(time.perf_counter() - started)}
        )
    )


# One batch of cases: ids offset+1 .. offset+n, created over two years in id order.
CASES_SQL = """
WITH t AS (SELECT kind, items FROM bench_text),
pick AS (
  SELECT g AS id,
         random() < 0.7 AS ru,
         1 + floor(random() * 10)::int AS team_slot,
         random() AS state_roll,
         now() - interval '730 days' + (g::float / %(total)s) * interval '730 days' AS at
  FROM generate_series(%(offset)s + 1, %(offset)s + %(n)s) g
)
INSERT INTO cases_case (id, number, subject, state, priority, channel, language, created_at,
  updated_at, resolved_at, resolution, resolution_summary, closed_at, reopen_count,
  customer_id, owner_id, team_id, thread_token, last_customer_message_at)
SELECT p.id, p.id,
  CASE WHEN p.ru THEN tr.items[1 + floor(random() * array_length(tr.items, 1))::int]
       ELSE te.items[1 + floor(random() * array_length(te.items, 1))::int] END
    || CASE WHEN random() < 0.3 THEN ' (#' || (100000 + floor(random() * 900000))::int || ')'
            ELSE '' END,
  CASE WHEN p.state_roll < 0.05 THEN 'new' WHEN p.state_roll < 0.15 THEN 'open'
       WHEN p.state_roll < 0.2 THEN 'waiting_customer' WHEN p.state_roll < 0.5 THEN 'resolved'
       ELSE 'closed' END,
  2, 'email', CASE WHEN p.ru THEN 'ru' ELSE 'en' END, p.at, p.at + interval '2 hours',
  CASE WHEN p.state_roll >= 0.2 THEN p.at + interval '1 day' END,
  CASE WHEN p.state_roll >= 0.2 THEN 'solved' ELSE '' END,
  CASE WHEN p.state_roll < 0.2 THEN ''
       WHEN p.ru THEN sr.items[1 + floor(random() * array_length(sr.items, 1))::int]
       ELSE se.items[1 + floor(random() * array_length(se.items, 1))::int] END,
  CASE WHEN p.state_roll >= 0.5 THEN p.at + interval '8 days' END,
  0,
  %(c0)s + floor(random() * (%(c1)s - %(c0)s + 1))::bigint,
  (string_to_array(ow.items[p.team_slot], ','))[1 + floor(random() * 10)::int]::bigint,
  tm.items[p.team_slot]::bigint,
  substr(md5(p.id::text), 1, 13),
  p.at
FROM pick p,
  (SELECT items FROM t WHERE kind = 'topic_ru') tr,
  (SELECT items FROM t WHERE kind = 'topic_en') te,
  (SELECT items FROM t WHERE kind = 'summary_ru') sr,
  (SELECT items FROM t WHERE kind = 'summary_en') se,
  (SELECT items FROM t WHERE kind = 'owners') ow,
  (SELECT items FROM t WHERE kind = 'team') tm
"""

# Their messages: the customer's first message, then replies and notes (1 to 4 in all).
MESSAGES_SQL = """
WITH t AS (SELECT kind, items FROM bench_text),
c AS (
  SELECT id, language = 'ru' AS ru, subject, owner_id, customer_id, created_at,
         1 + floor(random() * 4)::int AS count
  FROM cases_case WHERE id > %(offset)s AND id <= %(offset)s + %(n)s
),
m AS (
  SELECT c.*, k, CASE WHEN c.ru THEN 'ru' ELSE 'en' END AS lang,
         1 + floor(random() * CASE WHEN c.ru THEN %(nru)s ELSE %(nen)s END)::int AS s1,
         1 + floor(random() * CASE WHEN c.ru THEN %(nru)s ELSE %(nen)s END)::int AS s2
  FROM c, generate_series(1, c.count) k
)
INSERT INTO cases_message (case_id, kind, author_id, customer_id, channel, body, quoted,
  body_html, language, message_id, created_at, anger_reasons)
SELECT m.id,
  CASE WHEN m.k = 1 THEN 'inbound' WHEN m.k = 3 AND random() < 0.5 THEN 'note'
       WHEN m.k = 3 THEN 'inbound' ELSE 'reply' END,
  CASE WHEN m.k = 1 THEN NULL ELSE m.owner_id END,
  CASE WHEN m.k = 1 THEN m.customer_id END,
  'email',
  CASE
    WHEN m.k = 1 AND m.ru THEN
      gr.items[1 + floor(random() * array_length(gr.items, 1))::int] || ' '
      || initcap(split_part(m.subject, ' (#', 1)) || '. ' || a.text || ' ' || b.text || ' '
      || CASE WHEN random() < 0.09 THEN 'Прошу вернуть деньги. ' ELSE '' END
      || CASE WHEN random() < 0.0005 THEN 'Модель дирижабля zeppelin повреждена. ' ELSE '' END
      || %(filler_ru)s
    WHEN m.k = 1 THEN
      ge.items[1 + floor(random() * array_length(ge.items, 1))::int] || ' '
      || initcap(split_part(m.subject, ' (#', 1)) || '. ' || a.text || '. ' || b.text || '. '
      || CASE WHEN random() < 0.09 THEN 'I would like a refund. ' ELSE '' END
      || CASE WHEN random() < 0.0005 THEN 'The zeppelin model kit is damaged. ' ELSE '' END
      || %(filler_en)s
    WHEN m.k = 3 THEN nt.items[1 + floor(random() * array_length(nt.items, 1))::int]
    WHEN m.ru THEN rr.items[1 + floor(random() * array_length(rr.items, 1))::int] || ' ' || a.text
    ELSE re.items[1 + floor(random() * array_length(re.items, 1))::int] || ' ' || a.text
  END,
  '', '', m.lang, '',
  m.created_at + (m.k - 1) * interval '3 hours', '[]'::jsonb
FROM m
  JOIN bench_sentence a ON a.lang = m.lang AND a.n = m.s1
  JOIN bench_sentence b ON b.lang = m.lang AND b.n = m.s2,
  (SELECT items FROM t WHERE kind = 'greet_ru') gr,
  (SELECT items FROM t WHERE kind = 'greet_en') ge,
  (SELECT items FROM t WHERE kind = 'reply_ru') rr,
  (SELECT items FROM t WHERE kind = 'reply_en') re,
  (SELECT items FROM t WHERE kind = 'note') nt
ORDER BY m.id, m.k
""".replace("%(filler_ru)s", "'" + FILLER_RU + "'").replace("%(filler_en)s", "'" + FILLER_EN + "'")


def drop() -> None:
    import django

    django.setup()
    from django.db import connection

    with connection.cursor() as cursor:
        # Only the generated world: every case here is the benchmark's.
        for table in ("cases_message", "cases_timelineevent", "cases_case"):
            cursor.execute(f"TRUNCATE {table} CASCADE")
        cursor.execute("DROP TABLE IF EXISTS bench_text")
        cursor.execute("DROP TABLE IF EXISTS bench_sentence")
        cursor.execute(
            "DELETE FROM people_membership WHERE team_id IN "
            "(SELECT id FROM people_team WHERE slug LIKE 'bench-%%')"
        )
        cursor.execute("DELETE FROM people_team WHERE slug LIKE 'bench-%%'")
        cursor.execute("DELETE FROM people_user WHERE username LIKE 'bench-%%'")
        cursor.execute("DELETE FROM people_customer WHERE email LIKE 'bench%%@customer.test'")
        cursor.execute("VACUUM FULL cases_message")
        cursor.execute("VACUUM FULL cases_case")
    print("dropped")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=100_000)
    parser.add_argument("--keep-indexes", action="store_true")
    parser.add_argument("--drop", action="store_true")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        raise SystemExit("set DATABASE_URL to the PostgreSQL database to fill")
    if args.drop:
        drop()
    else:
        load(args.cases, args.batch, args.keep_indexes)


if __name__ == "__main__":
    main()
