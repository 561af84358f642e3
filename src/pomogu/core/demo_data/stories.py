# (Russian prose: Cyrillic letters that look Latin are the point.)
"""The demo desk's people and stories, as data; ``pomogu.core.demo_data`` plays them through the
service functions. A story's steps are hours after the case was opened; each step is one service
call. Customer addresses use the reserved ``.example`` domain, so that even a demo pointed at a
real SMTP server cannot write to anybody.
"""

from __future__ import annotations

from dataclasses import dataclass

from pomogu.cases.choices import Channel, Priority, Resolution
from pomogu.people.choices import StaffRole

ADMIN_USERNAME = "admin"
OWNER = "owner"  # in a story step: whoever owns the case at that moment


# --- who is who -----------------------------------------------------------------------------


@dataclass(frozen=True)
class StaffSpec:
    username: str
    name: str
    role: StaffRole = StaffRole.AGENT
    language: str = "ru"


STAFF = (
    StaffSpec(ADMIN_USERNAME, "Ирина Белова", StaffRole.ADMIN),
    StaffSpec("o.volkova", "Ольга Волкова", StaffRole.MANAGER),  # head of service
    StaffSpec("d.sokolov", "Дмитрий Соколов"),
    StaffSpec("a.petrova", "Анна Петрова"),
    StaffSpec("m.kuznetsov", "Максим Кузнецов"),
    StaffSpec("james.carter", "James Carter", language="en"),
    StaffSpec("e.morozova", "Елена Морозова"),
    StaffSpec("s.ivanov", "Сергей Иванов"),
    StaffSpec("emily.clarke", "Emily Clarke", language="en"),
    StaffSpec("oliver.bennett", "Oliver Bennett", language="en"),
    StaffSpec("n.orlova", "Наталья Орлова"),
    StaffSpec("k.zaitsev", "Кирилл Зайцев"),
    StaffSpec("p.lebedev", "Павел Лебедев"),
    StaffSpec("r.gusev", "Роман Гусев"),
    StaffSpec("i.fedorov", "Игорь Фёдоров"),
)


@dataclass(frozen=True)
class TeamSpec:
    slug: str
    name: str
    description: str
    lead: str
    members: tuple[str, ...]
    is_default: bool = False
    keywords: str = ""


TEAMS = (
    TeamSpec(
        "support",
        "Техподдержка / Technical support",
        "Подключение, аварии, скорость, Wi-Fi, IP-телефония.\n"
        "Connections, outages, speed, Wi-Fi, IP telephony.",
        lead="d.sokolov",
        members=("a.petrova", "m.kuznetsov", "james.carter"),
        is_default=True,
        keywords="Не работает интернет\nПропал интернет, нет соединения\n"
        "Низкая скорость, всё тормозит\n"
        "Роутер не раздаёт Wi-Fi\nНе работает телефония, нет гудка\nСвязь постоянно обрывается\n"
        "Internet is down\nNo connection since this morning\nSlow speed, pages do not load\n"
        "The router keeps dropping the connection\nWi-Fi does not work\nNo dial tone on our phones",
    ),
    TeamSpec(
        "billing",
        "Бухгалтерия / Billing",
        "Счета, оплаты, возвраты, акты сверки и закрывающие документы.\n"
        "Invoices, payments, refunds, statements.",
        lead="e.morozova",
        members=("s.ivanov", "emily.clarke"),
        keywords="Пришёл неверный счёт\nДеньги списали дважды\nВерните переплату\n"
        "Нужен акт сверки и закрывающие документы\nНе прошла оплата картой\n"
        "We were charged twice\nThe invoice is wrong\nPlease refund the overpayment\n"
        "We need a statement of account\nThe card payment failed",
    ),
    TeamSpec(
        "sales",
        "Продажи / Sales",
        "Тарифы, подключение новых адресов, коммерческие предложения.\nPlans, new sites, quotes.",
        lead="oliver.bennett",
        members=("n.orlova", "k.zaitsev"),
        keywords="Хотим подключить новый офис\nКакие у вас тарифы?\n"
        "Пришлите коммерческое предложение\n"
        "Хотим сменить тариф на более быстрый\nWe want to connect a new office\n"
        "What plans do you offer?\nPlease send us a quote\nWe would like to upgrade our plan",
    ),
    TeamSpec(
        "field",
        "Выездной сервис / Field service",
        "Выезды мастеров, монтаж, ремонт оборудования у клиента, работа подрядчиков.\n"
        "Site visits, installation, on-site repair, contractors.",
        lead="p.lebedev",
        members=("r.gusev", "i.fedorov"),
        keywords="Когда приедет мастер?\nНужен монтаж оборудования\n"
        "Мастер не пришёл в назначенное время\n"
        "Повреждён кабель в подъезде\nWhen will the engineer come?\n"
        "We need the equipment installed on site\nThe technician did not show up\n"
        "The cable outside the building is damaged",
    ),
)

# Who is on vacation now (for the coming week), and who stands in for them (R4).
ABSENT = "a.petrova"
DEPUTY = "m.kuznetsov"

ORGANISATIONS = (
    ("ООО «Вектор-Логистика»", ["vektor-logistika.example"], 1_200_000),
    ("Northwind Analytics Ltd", ["northwind-analytics.example"], 85_000),
    ("Кафе «Лесная поляна»", ["lesnaya-polyana.example"], 96_000),
    ("Harbour & Finch LLP", ["harbourfinch.example"], 60_000),
)

# key: (name, email, phone, language). Addresses use the reserved .example domain, so that even
# a demo pointed at a real SMTP server cannot write to anybody.
CUSTOMERS: dict[str, tuple[str, str, str, str]] = {
    "tegorova": ("Татьяна Егорова", "t.egorova@vektor-logistika.example", "", "ru"),
    "agromov": ("Андрей Громов", "a.gromov@vektor-logistika.example", "+7 495 555-12-40", "ru"),
    "vektor_buh": ("Бухгалтерия «Вектор-Логистики»", "buh@vektor-logistika.example", "", "ru"),
    "smitchell": ("Sarah Mitchell", "sarah.mitchell@northwind-analytics.example", "", "en"),
    "dhughes": ("Daniel Hughes", "daniel.hughes@northwind-analytics.example", "", "en"),
    "mzueva": ("Марина Зуева", "m.zueva@lesnaya-polyana.example", "+7 903 555-40-02", "ru"),
    "rfinch": ("Rachel Finch", "rachel.finch@harbourfinch.example", "", "en"),
    "ibelov": ("Игорь Белов", "igor.belov@mail.example", "", "ru"),
    "vsmirnov": ("Виктор Павлович Смирнов", "", "+7 916 555-01-23", "ru"),
    "lkravets": ("Людмила Аркадьевна Кравец", "", "+7 903 555-77-19", "ru"),
    "norekhov": ("Николай Степанович Орехов", "", "+7 926 555-33-08", "ru"),
    "mryabov": ("Максим Рябов", "m.ryabov@mail.example", "", "ru"),
    "klavrova": ("Ксения Лаврова", "k.lavrova@mail.example", "", "ru"),
    "gshevchenko": ("Галина Шевченко", "g.shevchenko@mail.example", "", "ru"),
    "atarasov": ("Алексей Тарасов", "a.tarasov@mail.example", "+7 915 555-62-71", "ru"),
    "ekrylova": ("Елена Крылова", "e.krylova@mail.example", "", "ru"),
    "onikitina": ("Ольга Никитина", "o.nikitina@mail.example", "", "ru"),
    "mobrien": ("Michael O'Brien", "michael.obrien@mail.example", "", "en"),
    "pnovak": ("Peter Novak", "peter.novak@mail.example", "", "en"),
    "jwong": ("Jenny Wong", "jenny.wong@mail.example", "", "en"),
}


# --- stories: what happened on each case, hour by hour ---------------------------------------
# ``at`` is hours after the case was opened. Every step calls one service function.


@dataclass(frozen=True)
class Reply:
    at: float
    text: str
    by: str = OWNER
    wait: bool = False


@dataclass(frozen=True)
class Note:
    at: float
    text: str
    by: str = OWNER


@dataclass(frozen=True)
class Wrote:
    """The customer writes again on the case (a resolved case reopens, R5)."""

    at: float
    text: str


@dataclass(frozen=True)
class HandOff:
    at: float
    to: str
    reason: str
    by: str = OWNER


@dataclass(frozen=True)
class Accept:
    at: float
    by: str


@dataclass(frozen=True)
class Decline:
    at: float
    by: str
    reason: str


@dataclass(frozen=True)
class Task:
    at: float
    contractor: str
    description: str
    due_hours: float
    contact: str = ""
    by: str = OWNER


@dataclass(frozen=True)
class TaskDone:
    at: float
    outcome: str
    by: str = OWNER


@dataclass(frozen=True)
class Resolve:
    at: float
    summary: str
    resolution: Resolution = Resolution.SOLVED
    by: str = OWNER


@dataclass(frozen=True)
class Close:
    """Closed after the warranty window, as the runner would (no person)."""

    at: float


@dataclass(frozen=True)
class Reopen:
    at: float
    by: str
    reason: str


@dataclass(frozen=True)
class Raise:
    at: float
    by: str
    priority: Priority
    reason: str


Step = (
    Reply
    | Note
    | Wrote
    | HandOff
    | Accept
    | Decline
    | Task
    | TaskDone
    | Resolve
    | Close
    | Reopen
    | Raise
)


@dataclass(frozen=True)
class Story:
    customer: str
    team: str
    subject: str
    body: str
    days_ago: float
    steps: tuple[Step, ...] = ()
    channel: Channel = Channel.EMAIL
    logged_by: str | None = None  # a staff member who took it by phone for the customer
    priority: Priority = Priority.NORMAL


STORIES: tuple[Story, ...] = (
    # seeds/001: an outage mailed to accounting is not "ignored, write to support@": it is
    # answered, handed to the right team, and the customer keeps one thread.
    Story(
        "tegorova",
        "billing",
        "Нет интернета в офисе с 9 утра",
        "Здравствуйте! У нас в офисе на Складской, 14 с девяти утра не работает интернет и "
        "IP-телефония. Пишу вам, потому что ваш адрес есть в договоре, а до техподдержки не "
        "дозвониться. Встали все 12 рабочих мест, отгрузки не оформляются.\n\n"
        "Татьяна Егорова, офис-менеджер",
        12,
        (
            Reply(
                0.3,
                "Татьяна, здравствуйте! Обращение принято, номер — в теме письма. "
                "Передаю его инженерам техподдержки прямо сейчас; писать заново никуда "
                "не нужно, они ответят в этой же переписке.",
            ),
            HandOff(
                0.35,
                "support",
                "Авария связи, не вопрос оплаты: счёт оплачен, блокировок нет. Нужен инженер.",
            ),
            Accept(0.6, "m.kuznetsov"),
            Reply(
                0.8,
                "Татьяна, это Максим из техподдержки, обращение теперь у меня. Видим "
                "отказ коммутатора в вашем здании, инженер уже едет. Ориентировочно "
                "восстановим к 13:00, я напишу сразу, как будет связь.",
            ),
            Note(
                3.0,
                "Сгорел блок питания коммутатора доступа на Складской, 14. Заменили, "
                "порты подняты.",
            ),
            Reply(
                3.2,
                "Связь восстановлена в 12:40: сгорел блок питания нашего коммутатора, "
                "его заменили. Проверьте, пожалуйста, интернет и телефоны и ответьте "
                "на это письмо.",
                wait=True,
            ),
            Wrote(4.0, "Всё работает, и телефоны тоже. Спасибо за быструю реакцию!"),
            Resolve(4.5, "Заменён блок питания коммутатора доступа в здании клиента."),
            Close(24 * 7),
        ),
    ),
    # seeds/001 and R3: anger is a signal. Priority goes up and the lead takes note.
    Story(
        "mryabov",
        "support",
        "ТРЕТИЙ РАЗ ПИШУ!!! Скорость 2 Мбит вместо 100",
        "Неделю нет нормального интернета, скорость 2 Мбит вместо 100 по тарифу, а вы только "
        "присылаете автоответы. Это издевательство! Если до пятницы не почините — расторгаю "
        "договор и ухожу к конкурентам.",
        2,
        (
            Raise(
                0.2,
                "d.sokolov",
                Priority.URGENT,
                "Третье обращение за неделю, клиент грозит расторгнуть договор.",
            ),
            Reply(
                0.5,
                "Максим, простите, что неделю вы получали только автоответы, — это наша "
                "ошибка. Обращение веду я лично, до решения. Сейчас проверяем линию до "
                "вашей квартиры; результат напишу сегодня до 18:00.",
            ),
            Note(
                1.0,
                "Линия до щитка в норме. На порту узла CRC-ошибки — меняем патч-корд, "
                "если не поможет, переключим на другой порт.",
            ),
            Wrote(20.0, "Вчера обещали до 18:00, сегодня опять 3 Мбит. Сколько можно?"),
            Reply(
                21.0,
                "Вы правы, вчера мы не уложились. Патч-корд заменили в 9:10, порт "
                "переключили на резервный — замеры с нашей стороны показывают 94 Мбит/с. "
                "Я проверю скорость ещё раз в 14:00 и напишу вам.",
            ),
        ),
    ),
    Story(
        "klavrova",
        "support",
        "Роутер мигает красным, интернета нет",
        "Добрый день. С утра роутер мигает красной лампочкой, интернета нет ни по кабелю, ни "
        "по Wi-Fi. Перезагружала два раза. Что делать?",
        0.05,
    ),
    Story(
        "jwong",
        "support",
        "Static IP address for my home VPN",
        "Hi, I work from home and our company VPN needs a static IP on my side. Is that "
        "possible on my current plan, and how much would it cost?",
        0.3,
    ),
    Story(
        "klavrova",
        "support",
        "Медленный Wi-Fi в дальней комнате",
        "В спальне Wi-Fi еле ловит, видео не грузится. В гостиной всё нормально.",
        0.15,
    ),
    # R2: a handoff declined with a reason; the owner keeps the case and solves it.
    Story(
        "gshevchenko",
        "support",
        "Wi-Fi не добивает до кухни, пришлите мастера",
        "Здравствуйте. Wi-Fi на кухне пропадает, хотя роутер в соседней комнате. Пришлите, "
        "пожалуйста, мастера, может быть, роутер неисправен.",
        4,
        (
            Reply(
                1.0,
                "Галина, здравствуйте! Разберёмся. Сейчас посмотрю параметры вашего "
                "роутера удалённо и договорюсь о визите мастера, если он понадобится.",
            ),
            HandOff(1.2, "field", "Клиент просит выезд мастера: слабый Wi-Fi на кухне."),
            Decline(
                3.0,
                "p.lebedev",
                "Выезд пока не нужен: роутер в сети и исправен, сигнал слабый из-за "
                "6-го канала, его занимают соседи. Переключите канал удалённо; если не "
                "поможет, пришлите снова — поставим визит на ближайший день.",
            ),
            Note(3.2, "Переключил роутер на канал 36 (5 ГГц) и включил 2,4 ГГц на канале 1."),
            Reply(
                3.5,
                "Галина, мы удалённо переключили роутер на свободный канал: мешали "
                "сети соседей. Проверьте, пожалуйста, вечером на кухне и напишите, стало "
                "ли лучше. Если нет — мастер приедет, новую заявку оставлять не нужно.",
                wait=True,
            ),
        ),
    ),
    Story(
        "pnovak",
        "support",
        "Can't log in to the customer portal — the SMS code never arrives",
        "Hello, I've tried five times today. The portal says a code was sent, but nothing "
        "arrives on my phone. I need to download last month's invoice.",
        6,
        (
            Reply(
                2.0,
                "Peter, thanks for your patience. Our SMS gateway is dropping codes to "
                "your mobile operator. I've switched your login codes to email for now: "
                "please try again and the code will arrive in your inbox.",
            ),
            Wrote(3.0, "The email code worked, I'm in. Thanks!"),
            Resolve(
                4.0,
                "Login codes go by email for this customer until the SMS gateway is fixed.",
                Resolution.WORKAROUND,
            ),
        ),
    ),
    Story(
        "agromov",
        "support",
        "Не работает IP-телефония: нет гудка на четырёх аппаратах",
        "На четырёх аппаратах в отделе продаж нет гудка, остальные работают. Вчера меняли "
        "пароль администратора на АТС.",
        25,
        (
            Reply(
                0.5,
                "Андрей, добрый день. Похоже на сбой регистрации после смены пароля. "
                "Проверяю и напишу в течение часа.",
            ),
            Note(2.0, "У четырёх линий на АТС клиента остался старый SIP-пароль."),
            Reply(
                3.0,
                "Перенастроили SIP-регистрацию четырёх линий, гудок должен появиться. "
                "Проверьте, пожалуйста.",
            ),
            Wrote(3.3, "Да, все четыре работают. Спасибо."),
            Resolve(3.5, "Обновлены SIP-пароли четырёх линий после смены пароля на АТС."),
            Close(24 * 8),
        ),
    ),
    Story(
        "mzueva",
        "support",
        "Не проходит оплата картой — терминал без связи",
        "Срочно! С обеда терминал в кафе пишет «нет связи с банком». Гости не могут "
        "расплатиться картой, вечером банкет.",
        1,
        (
            Raise(
                0.1,
                "d.sokolov",
                Priority.HIGH,
                "Кафе не может принимать оплату картой — прямые потери клиента.",
            ),
            Reply(
                0.3,
                "Марина, перезапустили ваш порт на нашем оборудовании, терминал должен "
                "подключиться в течение пяти минут. Проведите, пожалуйста, тестовую "
                "оплату и ответьте на это письмо — я на связи до вечера.",
                wait=True,
            ),
        ),
    ),
    Story(
        "rfinch",
        "support",
        "VPN to our office drops every hour",
        "Our site-to-site VPN drops almost exactly every hour and takes two minutes to come "
        "back. It started after last week's maintenance window.",
        3,
        (
            Reply(
                1.0,
                "Rachel, thanks for the report. Could you send the VPN log from last "
                "night? It will tell us whether the drop starts on our side.",
                wait=True,
            ),
            Wrote(26.0, "Log attached: drops at 02:00, 03:00 and 04:00 sharp."),
            Note(
                27.0,
                "Hourly: looks like the DHCP lease on the new BRAS profile. Checking with "
                "the network team.",
                by="james.carter",
            ),
        ),
    ),
    # R5: resolved, then the customer writes again: the case reopens to the same person.
    Story(
        "atarasov",
        "support",
        "По вечерам пропадает интернет",
        "Каждый вечер с 20 до 23 интернет пропадает на 5–10 минут, несколько раз за вечер.",
        15,
        (
            Reply(
                1.0,
                "Алексей, посмотрим статистику вашей линии за неделю и вернёмся с ответом завтра.",
            ),
            Reply(
                24.0,
                "Нашли причину: линия переходила в режим пониженной скорости из-за "
                "помех. Поменяли профиль линии на более устойчивый.",
            ),
            Resolve(26.0, "Изменён профиль линии (помехоустойчивый)."),
            Wrote(24 * 9, "Здравствуйте, опять по вечерам пропадает, как раньше."),
            Reply(
                24 * 9 + 1,
                "Алексей, обращение снова открыто, им занимаюсь я, как и в "
                "прошлый раз. Сегодня вечером включим мониторинг линии и завтра "
                "утром напишу, что увидели.",
            ),
        ),
    ),
    # A case logged by phone on the customer's behalf (R2: any staff member can open one).
    Story(
        "vsmirnov",
        "support",
        "Не работает домашний телефон",
        "(Записано со слов клиента по телефону.) С утра не работает домашний телефон, в трубке "
        "тишина. Перезвоните, пожалуйста, на мобильный после 18:00.",
        9,
        (
            Note(
                0.2,
                "Линия до распределительного шкафа в порядке, гудка нет на вводе. "
                "Переключаю на резервную пару.",
            ),
            Reply(
                8.0,
                "Перезвонили клиенту в 18:10: после переключения на резервную пару гудок "
                "появился, клиент проверил — работает.",
            ),
            Resolve(8.2, "Переключение на резервную пару в распределительном шкафу."),
            Close(24 * 7),
        ),
        channel=Channel.PHONE,
        logged_by="m.kuznetsov",
    ),
    Story(
        "jwong",
        "support",
        "Router admin password reset",
        "I've forgotten the admin password of the router you installed. How do I reset it?",
        50,
        (
            Reply(
                1.0,
                "Hi Jenny, hold the reset button for 10 seconds; the default password is "
                "on the sticker underneath. Or reply here and we'll set a new one "
                "remotely.",
            ),
            Wrote(2.0, "Done, thanks!"),
            Resolve(2.5, "Reset instructions sent.", Resolution.ANSWERED),
            Close(24 * 10),
        ),
    ),
    # Billing.
    Story(
        "vektor_buh",
        "billing",
        "Акт сверки за прошлый квартал",
        "Добрый день! Пришлите, пожалуйста, акт сверки взаиморасчётов за прошлый квартал.",
        30,
        (
            Reply(
                3.0,
                "Добрый день! Акт сверки за прошлый квартал отправили в ЭДО и во вложении к "
                "этому письму. Расхождений с нашей стороны нет.",
            ),
            Resolve(3.5, "Акт сверки отправлен.", Resolution.ANSWERED),
            Close(24 * 10),
        ),
    ),
    Story(
        "smitchell",
        "billing",
        "Invoice INV-2291 shows our old company address",
        "Hi, invoice INV-2291 still has our old address on it (we moved two months ago). Our "
        "auditors won't accept it. Could you reissue it?",
        5,
        (
            Reply(
                2.0,
                "Hi Sarah, sorry about that. The corrected invoice INV-2291-A is "
                "attached and the old one is cancelled; your account now has the new "
                "address, so future invoices will be right.",
            ),
            Wrote(4.0, "Perfect, thanks!"),
            Resolve(5.0, "Invoice reissued with the new address; account address updated."),
        ),
    ),
    Story(
        "rfinch",
        "billing",
        "VAT missing on last month's invoice",
        "Last month's invoice shows no VAT line at all, so we can't reclaim it. Could you check?",
        1.5,
        (
            Reply(
                1.0,
                "Thanks Rachel, you're right: the VAT line was lost when the invoice was "
                "generated. We'll reissue it with VAT by Friday and I'll send it here.",
            ),
        ),
    ),
    Story(
        "mobrien",
        "billing",
        "Direct debit failed — will my service be cut off?",
        "My bank changed and this month's direct debit bounced. Will you cut off my internet?",
        2,
        (
            Reply(
                0.5,
                "No, nothing will be cut off. Could you add the new bank details in the "
                "portal (Billing → Payment method)? We'll retry the payment after that "
                "with no late fee.",
                wait=True,
            ),
        ),
    ),
    Story(
        "gshevchenko",
        "billing",
        "Не приходят счета на почту",
        "Уже два месяца не получаю счета на почту, приходится звонить и узнавать сумму.",
        8,
        (
            Reply(
                4.0,
                "Галина, в вашем профиле адрес был записан с опечаткой. Исправили и "
                "отправили счёт за этот месяц повторно — проверьте, пожалуйста, почту.",
            ),
            Resolve(4.1, "Исправлен адрес электронной почты для счетов."),
        ),
    ),
    Story(
        "klavrova",
        "billing",
        "Вернуть переплату за прошлый месяц",
        "В прошлом месяце я случайно оплатила счёт дважды. Верните, пожалуйста, лишнее на карту.",
        40,
        (
            Reply(
                6.0,
                "Ксения, двойной платёж видим. Оформили возврат на карту, деньги придут "
                "в течение трёх рабочих дней.",
            ),
            Reply(
                24 * 3,
                "Возврат проведён банком сегодня утром. Если деньги не появятся на "
                "карте, напишите в этот же ответ.",
            ),
            Resolve(24 * 3 + 1, "Возврат двойного платежа."),
            Close(24 * 14),
        ),
    ),
    # A quality review by the head of service reopens a case answered with a brush-off link.
    Story(
        "pnovak",
        "billing",
        "Why did my bill go up by 15%?",
        "My bill went up by 15% this month and nobody told me. Why?",
        10,
        (
            Reply(3.0, "Hello Peter, please see our tariff page for current prices."),
            Resolve(3.5, "Pointed to the tariff page.", Resolution.ANSWERED),
            Reopen(
                48.0,
                "o.volkova",
                "Ответ — ссылка на тарифы, а клиент спрашивал о своём счёте. "
                "Объяснить повышение по строкам.",
            ),
            Reply(
                50.0,
                "Peter, apologies for the short answer earlier. Your bill went up "
                "because the six-month introductory discount (15%) ended last month. "
                "We should have told you a month before; I've added a one-month "
                "courtesy credit of the same amount to your next bill.",
            ),
        ),
    ),
    Story(
        "vektor_buh",
        "billing",
        "Счёт-фактура за прошлый месяц не пришла в ЭДО",
        "Коллеги, счёт-фактура за прошлый месяц до сих пор не поступила в систему ЭДО. Нам нужно "
        "закрыть месяц до 5-го числа.",
        0.1,
    ),
    Story(
        "smitchell",
        "billing",
        "Can we pay annually instead of monthly?",
        "Our finance team would prefer a single annual invoice. Is that possible?",
        7,
        (
            Reply(
                2.0,
                "Hi Sarah, yes: we can switch you to annual billing from your next "
                "renewal date. One invoice a year, payable within 30 days.",
            ),
            Resolve(2.2, "Annual billing from the next renewal.", Resolution.ANSWERED),
        ),
    ),
    # Sales. A handoff still waiting for billing to accept it: the sender owns the case.
    Story(
        "dhughes",
        "sales",
        "We were charged twice this month",
        "Hi Oliver, our card was charged twice this month (2 × £1,240). Can you sort this out?",
        0.2,
        (
            Reply(
                0.3,
                "Daniel, I'm sorry about that. Refunds are done by our billing team; "
                "I've asked them to take your case and I'll stay on it until the refund "
                "is confirmed.",
            ),
            HandOff(
                0.4,
                "billing",
                "Double charge this month (2 × £1,240): refund needed, and billing owns refunds.",
            ),
        ),
    ),
    Story(
        "jwong",
        "sales",
        "Discount for paying a year upfront?",
        "If I pay for a whole year upfront, is there a discount?",
        14,
        (
            Reply(1.0, "Hi Jenny, good question — let me check and come back to you today."),
            HandOff(1.1, "billing", "Customer asks about an annual prepayment discount."),
            Decline(
                3.0,
                "e.morozova",
                "Billing doesn't set prices: sales agrees the discount, then we issue the "
                "invoice. The standard annual prepayment discount is 10%, offer it "
                "directly.",
            ),
            Reply(
                4.0,
                "Jenny, yes: paying a year upfront gives you 10% off. Shall I prepare the invoice?",
            ),
            Wrote(30.0, "Great, let's do it."),
            Reply(
                31.0,
                "Done: the annual invoice is in your portal, and your plan is paid up "
                "for the next twelve months.",
            ),
            Resolve(31.5, "Annual prepayment with 10% discount."),
            Close(24 * 10),
        ),
    ),
    Story(
        "dhughes",
        "sales",
        "Quote for 40 SIP lines for our Manchester branch",
        "We're opening a branch in Manchester next quarter and need 40 SIP lines and 500 Mbit/s "
        "internet. Could you send a quote?",
        3,
        (
            Reply(
                2.0,
                "Daniel, the quote is attached: 40 SIP lines and 500 Mbit/s with a "
                "backup line. Could you confirm the go-live date, so we can book the "
                "site survey?",
                wait=True,
            ),
        ),
    ),
    Story(
        "rfinch",
        "sales",
        "Upgrade to 1 Gbit/s — what's the lead time?",
        "We'd like to move our office to 1 Gbit/s. How long would it take?",
        1,
        (
            Reply(
                3.0,
                "Rachel, usually ten working days including a site survey. I've asked "
                "field service for a survey slot this week and will confirm the date "
                "here.",
            ),
            Note(3.5, "Field service: survey possible Thursday 14:00–16:00."),
        ),
    ),
    # seeds/000: weekly "is everything OK?" calls. The customer asked to stop; it is recorded.
    Story(
        "lkravets",
        "sales",
        "Прошу больше не звонить с опросами",
        "(Со слов клиентки по телефону.) Прошу больше не звонить мне с вопросами «всё ли у вас "
        "хорошо» — звонят каждую неделю, иногда дважды. Претензий к связи нет, звонки мешают "
        "работать.",
        21,
        (
            Reply(
                0.5,
                "Людмила Аркадьевна, извините за навязчивые звонки. Мы исключили ваш "
                "номер из всех обзвонов: звонить будем только по вашим обращениям или "
                "при аварии на линии. (Сообщено клиентке по телефону.)",
            ),
            Resolve(0.6, "Номер исключён из всех обзвонов."),
            Close(24 * 7),
        ),
        channel=Channel.PHONE,
        logged_by="n.orlova",
    ),
    # seeds/004: "this is not my competence". Here the person who got the request takes it.
    Story(
        "ekrylova",
        "sales",
        "Мне сказали «это не моя компетенция»",
        "В офисе продаж мне сказали «это не моя компетенция» и отправили на горячую линию, где "
        "40 минут никто не ответил. Я просто хочу перенести договор на новый адрес: переезжаю "
        "через три недели.",
        1,
        (
            Reply(
                1.0,
                "Елена, извините — так отвечать не должны были. Переносом займусь я, "
                "больше никуда звонить не нужно. Пришлите, пожалуйста, новый адрес и "
                "удобное время для подключения; мастера я согласую с выездной службой "
                "сама.",
                wait=True,
            ),
        ),
    ),
    Story(
        "atarasov",
        "sales",
        "Смена тарифа на 300 Мбит/с",
        "Хочу перейти на тариф 300 Мбит/с. Нужно ли менять роутер?",
        6,
        (
            Reply(
                2.0,
                "Алексей, тариф сменили с сегодняшнего дня, роутер менять не нужно — "
                "ваш поддерживает эту скорость.",
            ),
            Resolve(2.5, "Тариф изменён на 300 Мбит/с."),
        ),
    ),
    Story(
        "norekhov",
        "sales",
        "Подключение интернета на даче",
        "(По телефону.) Хочу подключить интернет на даче в Малаховке, улица Лесная. Есть ли "
        "техническая возможность и сколько стоит?",
        0.25,
        channel=Channel.PHONE,
        logged_by="k.zaitsev",
    ),
    # A second handoff still waiting, this time in Russian, from support to sales.
    Story(
        "klavrova",
        "support",
        "Можно ли добавить ТВ к моему тарифу?",
        "Здравствуйте! Хочу смотреть телевизор через вашу приставку. Можно добавить ТВ к "
        "текущему тарифу?",
        0.5,
        (
            Reply(
                0.5,
                "Ксения, да, можно. Передаю обращение коллегам из отдела продаж: они "
                "подберут пакет каналов и напишут в этой же переписке.",
            ),
            HandOff(
                0.6, "sales", "Клиент хочет добавить ТВ к тарифу — подбор пакета, это продажи."
            ),
        ),
    ),
    Story(
        "mobrien",
        "sales",
        "Please cancel my trial before it turns into a paid plan",
        "I'd like to cancel the trial before it converts on the 30th.",
        35,
        (
            Reply(2.0, "Done, Michael: the trial ends on the 30th and nothing will be charged."),
            Resolve(2.1, "Trial cancelled.", Resolution.SOLVED),
            Close(24 * 10),
        ),
    ),
    # Field service. seeds/003: the repair that fails again is not "a new problem".
    Story(
        "ibelov",
        "field",
        "Роутер перезагружается каждые 10 минут",
        "Роутер каждые 10–15 минут перезагружается, интернет пропадает. Работаю из дома, это "
        "очень мешает.",
        26,
        (
            Reply(
                2.0,
                "Игорь, записали визит мастера на завтра, 10:00–12:00. Мастер позвонит за полчаса.",
            ),
            Note(26.0, "Заменил блок питания роутера, 30 минут наблюдал — перезагрузок нет."),
            Reply(
                27.0,
                "Мастер заменил блок питания роутера. Понаблюдайте, пожалуйста, "
                "день-два и напишите, если повторится.",
                wait=True,
            ),
            Wrote(50.0, "Пока всё стабильно, спасибо."),
            Resolve(51.0, "Заменён блок питания роутера."),
            Wrote(
                24 * 22,
                "Здравствуйте! Опять то же самое: роутер перезагружается, как до "
                "ремонта. Только не говорите, что это «новая проблема» — ремонт был "
                "три недели назад.",
            ),
            Reply(
                24 * 22 + 1,
                "Игорь, вы правы: это та же неисправность, и обращение снова "
                "открыто у меня, как и в прошлый раз. Повторный визит — по "
                "гарантии, бесплатно: завтра 9:00–11:00 удобно? Мастер привезёт "
                "новый роутер на замену.",
            ),
        ),
    ),
    # Contractor work inside our case (R2): the case stays ours.
    Story(
        "agromov",
        "field",
        "Нет связи во втором офисе: при ремонте дороги перебили кабель",
        "Второй офис на Промышленной, 3 без связи с утра: при ремонте дороги экскаватор "
        "перебил кабель. У нас там склад и касса.",
        2,
        (
            Raise(0.1, "p.lebedev", Priority.HIGH, "Обрыв магистрали, офис клиента без связи."),
            Reply(
                0.5,
                "Андрей, подтверждаем обрыв оптики у колодца К-14. Восстановление "
                "выполняет наш подрядчик, но за обращение отвечаю я и буду писать вам "
                "каждый день до восстановления.",
            ),
            Task(
                1.0,
                "ООО «СтройКабель»",
                "Восстановить ВОЛС на участке ул. Промышленная, 3 — колодец К-14: сварка "
                "двух волокон, замер рефлектометром, фотоотчёт.",
                due_hours=72,
                contact="диспетчер +7 495 555-44-10",
            ),
            Note(20.0, "Подрядчик подтвердил бригаду на завтра к 8:00."),
            Reply(
                21.0,
                "Андрей, обновление: бригада подрядчика будет на месте завтра в 8:00, "
                "сварка займёт около трёх часов. Пока можем дать временный канал через "
                "LTE-роутер — привезти?",
            ),
        ),
    ),
    Story(
        "mzueva",
        "field",
        "Wi-Fi на летней веранде",
        "Открываем летнюю веранду, нужен Wi-Fi для гостей и для терминала официанта.",
        6,
        (
            Reply(
                2.0,
                "Марина, точку доступа поставим; для неё нужна розетка на веранде, "
                "электромонтаж сделает наш подрядчик.",
            ),
            Task(
                3.0,
                "ИП Соловьёв А. В. (электромонтаж)",
                "Провести линию питания 220 В к месту установки точки доступа на веранде.",
                due_hours=96,
                contact="+7 916 555-90-11",
            ),
            Note(24 * 4 + 2, "Подрядчик не приехал в срок; звонил — обещает в пятницу утром."),
            Reply(
                24 * 4 + 3,
                "Марина, подрядчик сорвал срок, простите. Он будет в пятницу "
                "утром; если не приедет, пришлём своего электрика.",
            ),
        ),
    ),
    Story(
        "rfinch",
        "field",
        "New office cabling — 3rd floor, 12 desks",
        "We're moving into the 3rd floor next month. We need 12 network points and a patch panel.",
        16,
        (
            Reply(2.0, "Rachel, our engineer will survey the floor on Tuesday at 10:00."),
            Task(
                24.0,
                "BrightWire Installations Ltd",
                "Structured cabling: 12 Cat6 points, patch panel in the comms cupboard, test "
                "report.",
                due_hours=24 * 5,
                contact="ops@brightwire.example",
            ),
            TaskDone(24 * 4, "12 points installed and certified; test report filed."),
            Reply(24 * 4 + 2, "All 12 points are live and tested; the test report is attached."),
            Wrote(24 * 5, "Thanks, everyone's connected."),
            Resolve(24 * 5 + 1, "12 Cat6 points installed by BrightWire and tested."),
        ),
    ),
    # seeds/003: a missed appointment is a broken promise; priority up, apology, fixed today.
    Story(
        "onikitina",
        "field",
        "Где мастер? Окно 10–14, уже 15:30",
        "Мне назначили мастера на 10–14. Сейчас 15:30, никого нет, телефон не отвечает. Я "
        "отпросилась с работы на день!",
        9,
        (
            Raise(0.2, "p.lebedev", Priority.HIGH, "Сорван визит: клиентка ждёт с 10:00."),
            Reply(
                0.3,
                "Ольга, простите: мастер задержался на предыдущем адресе и не "
                "предупредил вас, это наша ошибка. Он будет у вас в 16:15, я на связи "
                "до его приезда.",
            ),
            Note(2.0, "Мастер был в 16:20, подключение сделано, клиентка проверила."),
            Reply(
                3.0,
                "Ольга, подключение готово. Ещё раз извините за ожидание: в этом месяце "
                "абонентская плата за наш счёт.",
            ),
            Resolve(3.1, "Подключение выполнено; компенсация за сорванный визит."),
        ),
    ),
    Story(
        "tegorova",
        "field",
        "Перенос точки подключения на второй этаж",
        "Мы переезжаем на второй этаж того же здания. Нужно перенести подключение.",
        3,
        (
            Reply(
                1.0, "Татьяна, можем в четверг или пятницу с 10:00. Какой день удобнее?", wait=True
            ),
        ),
    ),
    Story(
        "agromov",
        "field",
        "Подключение нового склада на Складской, 16",
        "Открываем склад в соседнем здании, Складская, 16. Нужен интернет и 4 телефона.",
        45,
        (
            Reply(3.0, "Андрей, монтаж назначили на понедельник, 10:00."),
            Reply(24 * 4, "Склад подключён: интернет и четыре телефонные линии работают."),
            Resolve(24 * 4 + 1, "Подключён новый склад."),
            Close(24 * 14),
        ),
    ),
    Story(
        "gshevchenko",
        "field",
        "В подъезде висит оборванный кабель",
        "В нашем подъезде на третьем этаже висит оборванный кабель с вашей маркировкой. Дети "
        "бегают, опасно.",
        0.4,
    ),
)
