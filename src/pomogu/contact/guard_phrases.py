"""The reply guard's lexicon (rule R7): brush-off and blame phrases in Russian and English.

Patterns are written in a small notation over words and compiled (`compiled()`) to regular
expressions that run over a reply turned into tokens (guard.py). A pattern is a sequence of
elements separated by spaces; each element matches one word:

- ``word``     by its Snowball stem: "компетенция" matches "компетенции", "компетенцию"
- ``word*``    any word that starts so: "перезвон*"
- ``=word``    exactly this word (lower case, ё as е); "=обратитесь" but not "обратился". The
               "=" carries on to the following plain words, so "=не по адресу" is three exact
               words, until an element that starts with "@", "~", "<" or ends with "*"
- ``<num>``    a number
- ``@name``    one of the sequences of the class ``name`` (CLASSES)
- ``a|b``      either; ``a_b`` inside an alternative is two words ("=it's|that_is")
- ``x?``       optional (not first)
- ``~N``       up to N words of anything, within a sentence
- ``^``        first: the start of a sentence or clause (after a comma); only fillers before it
- ``$``        last: the end of a sentence or clause

Between two elements any fillers may stand ("пожалуйста", "к сожалению", "please",
"unfortunately"; FILLERS), so "обращайтесь, пожалуйста, в бухгалтерию" needs no gap. Russian
imperatives are matched as words ("=обратитесь"), because the stem ("обрат") is the same as in
"я обратился". English imperatives are anchored to the start of a clause or follow "you need
to", "you'll have to" and the like.

Some phrases yield: a reply that sends the customer elsewhere, asks them to call later or
names an absent person (the YIELDING categories), or says where a problem lies ("на стороне
банка"), is not a brush-off when it also takes the matter on, with a time ("I'll pass this to
billing and call you by 3 pm"; COMMITMENT with TIME in one sentence, or DONE). Disclaimers
("not my department"), blame ("вина подрядчика"), refusals and red tape never yield: the better
reply simply leaves them out. A blame phrase in a sentence that takes the blame back on us
("…, но отвечаем перед вами мы"; ACCEPTS) is not a finding.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from pomogu.triage.text import normalise, stem, words

NOT_MY_JOB = "not_my_job"
GO_ELSEWHERE = "go_elsewhere"
CALL_LATER = "call_later"
ABSENT_PERSON = "absent_person"
BLAME_THIRD_PARTY = "blame_third_party"
BLAME_CUSTOMER = "blame_customer"
REFUSAL = "refusal"
RED_TAPE = "red_tape"
CUSTOM = "custom"

CATEGORIES = (
    NOT_MY_JOB,
    GO_ELSEWHERE,
    CALL_LATER,
    ABSENT_PERSON,
    BLAME_THIRD_PARTY,
    BLAME_CUSTOMER,
    REFUSAL,
    RED_TAPE,
    CUSTOM,
)
YIELDING = frozenset({GO_ELSEWHERE, CALL_LATER, ABSENT_PERSON})

RU = "ru"
EN = "en"
# An installation's own phrases: at most this many, of this many words each.
MAX_CUSTOM = 200
MAX_CUSTOM_WORDS = 12
# In an installation's own phrase an article is optional.
ARTICLES = frozenset({"a", "an", "the"})
# Words whose candidate patterns are remembered (per lexicon).
MAX_CACHED_WORDS = 50_000


def _set(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words that may stand between any two elements of a pattern.
FILLERS = _set(
    "пожалуйста увы просто вообще же ж ведь ну уж тогда уже тоже также напрямую непосредственно "
    "самостоятельно сами сам сама самим самому самой сразу лично сейчас пока всего лишь совсем "
    "вполне особо "
    "please pls plz kindly just simply unfortunately sadly really actually directly yourself "
    "yourselves instead then so though honestly basically maybe perhaps probably sorry afraid "
    "currently also now already definitely certainly gladly"
)
# Fillers of two words.
FILLER_PAIRS = frozenset(
    {("к", "сожалению"), ("i'm", "afraid"), ("im", "afraid"), ("right", "now"), ("at", "present")}
)
# A word among the few just before a match, in the same clause, that turns it around:
# "не нужно звонить позже", "no need to call back later", "don't contact the vendor".
NEGATORS = _set(
    "не нет незачем вместо без no not don't dont doesn't needn't never won't without rather "
    "instead isn't wasn't aren't weren't nor"
)
# The writer as the subject right before a match: "I'll call you back tomorrow" is a promise,
# not "call back tomorrow" (for CALL_LATER).
SELF_SUBJECTS = _set("i i'll we we'll will i'd we'd shall ill im i'm we're ive i've")
# In the sentence of a blame phrase, words that take the blame back on us: "проблема на
# стороне подрядчика, но отвечаем перед вами мы", "caused by our courier, but it's our job".
ACCEPTS: dict[str, tuple[str, ...]] = {
    RU: (
        "=отвечаем|отвечаю|ответственны|ответственность =за|перед|мы|наша",
        "=наша|моя =ответственность|вина|задача|забота|проблема|ошибка",
        "=отвечать =нам|мне",
        "=на =нас|мне $",
        "=это =на =нас",
    ),
    EN: (
        "=our|my =job|responsibility|problem|fault|mistake|duty",
        "=on =us|me $",
        "=we're|we_are|i'm|i_am =responsible",
        "=we|i =take|own =responsibility|ownership|it",
    ),
}
# Words just after a match that take it back: "чек не нужен", "no receipt needed".
NOT_NEEDED = _set(
    "нужен нужна нужно нужны обязателен обязательна обязательно обязательны требуется требуются "
    "понадобится понадобятся needed required necessary"
)

CLASSES: dict[str, tuple[str, ...]] = {
    # ---------------- Russian ----------------
    "my_ru": (
        "=мой|моя|моей|мою|моих|моим|мои|мое|моего|моему|наш|наша|нашей|нашу|наше|нашего|наши"
        "|наших|нашим",
    ),
    # where a customer is sent
    "third_ru": (
        "бухгалтер*",
        "отдел*",
        "производител*",
        "изготовител*",
        "сервисн*",
        "поддержк*",
        "техподдержк*",
        "банк*",
        "курьер*",
        "=службу|службе|службы|служба доставки|поддержки|сервиса|качества|заботы",
        "перевозчик*",
        "транспортн*",
        "почт*",
        "провайдер*",
        "подрядчик*",
        "поставщик*",
        "продав*",
        "магазин*",
        "руководств*",
        "руководител*",
        "начальств*",
        "начальник*",
        "менеджер*",
        "администрат*",
        "офис*",
        "партнер*",
        "разработчик*",
        "управляющ*",
        "арендодател*",
        "юрист*",
        "кого-нибудь",
        "=кого нибудь",
        "кому-нибудь",
        "=кому нибудь",
        "претензион*",
        "колл-центр*",
        "=колл центр",
        "=call центр",
        "=горячую|горячей линию|линии",
        "страхов*",
        "диспетчер*",
        "платежн*",
        "продаж*",
        "логист*",
        "склад*",
        "=им|ним|них|ними|туда|тому|тем",
        "мастер*",
        "специалист*",
        "кадр*",
        "старш*",
        "филиал*",
        "представител*",
        "компани*",
        "головн*",
        "юрлиц*",
        "розничн*",
        "техническ*",
        "=ук|жэк|тсж",
        "оператор*",
        "застройщик*",
        "монтажник*",
        "=тот|того|той|тех|кто",
        "=другому|другой|другую|других|другого|другим"
        " =специалисту|специалистам|отдел|отделу|сотруднику|менеджеру|организацию|организации"
        "|компанию|подразделение",
    ),
    "go_imper_ru": (
        "=обращайтесь|обратитесь|пишите|напишите|звоните|позвоните|свяжитесь|связывайтесь|идите"
        "|сходите|езжайте|поезжайте|отправляйтесь|направьте|направляйте|адресуйте|спросите"
        "|спрашивайте|уточните|уточняйте|узнайте|узнавайте|задайте|задавайте|жалуйтесь"
        "|пожалуйтесь|наберите|звякните|отнесите|несите|отвезите|отправьте|отправляйте"
        "|договаривайтесь|договоритесь|разбирайтесь|обратись|позвони|напиши|звони|пиши",
    ),
    "prep_ru": ("=в|во|к|ко|на|с|со|у|через|по|им|ему|ей|туда",),
    "poss_ru": (
        "=ваш|вашу|вашему|вашей|вашим|вашего|ваши|ваших|свой|своему|своей|своим|своего|своим"
        "|нашему|нашей|нашим|этому|этой",
    ),
    "go_inf_ru": (
        "=обратиться|обращаться|написать|писать|позвонить|звонить|связаться|сходить|уточнить"
        "|спросить|договориться|поехать|отнести|отвезти|пойти|идти|сообщить|разбираться|решать"
        "|выяснять|жаловаться|пожаловаться|направить|отправить|адресовать",
    ),
    "must_ru": (
        "нужно",
        "=надо|следует|стоит|придется|необходимо|можете|можно|советую|рекомендую|"
        "предлагаю|попробуйте|потрудитесь|лучше|должны|обязаны",
    ),
    "later_ru": (
        "позж*",
        "поздн*",
        "=потом|завтра|послезавтра|вечером|утром",
        "=после =обеда|выходных|праздников|<num>|двух|трех|пяти|шести|возвращения|выхода"
        "|понедельника|отпуска",
        "следующ*",
        "=на неделе",
        "ближе к",
        "=в другой день|раз",
        "=в|во понедельник|вторник|среду|четверг|пятницу|субботу|воскресенье",
        "=на следующей",
        "=через =неделю|час|месяц|пару|несколько|<num>|день|два|три|минут|полчаса|недельку",
    ),
    "call_imper_ru": (
        "=звоните|позвоните|перезвоните|перезванивайте|наберите|набирайте|звякните|пишите"
        "|напишите|обратитесь|обращайтесь|приходите|зайдите|заходите|подойдите|дозвонитесь"
        "|свяжитесь|приезжайте|загляните|попробуйте|позвони|перезвони|напиши",
    ),
    "role_ru": (
        "менеджер*",
        "руководител*",
        "ответствен*",
        "специалист*",
        "инженер*",
        "начальник*",
        "бухгалтер*",
        "директор*",
        "мастер*",
        "техник*",
        "сотрудник*",
        "коллег*",
        "юрист*",
        "главн*",
        "старш*",
        "администратор*",
        "руководств*",
        "замест*",
        "куратор*",
        "монтажник*",
        "кассир*",
        "оператор*",
        "=он|она|тот|та",
    ),
    "away_ru": (
        "=на совещании|совещаниях|планерке|встрече|встречах|собрании|переговорах|обеде|больничном"
        "|выезде|выходном|выходных|объекте|учебе|конференции|семинаре",
        "=в отпуске|командировке|декрете|отъезде|отпуск|командировку|отгуле",
        "=на выездной встрече",
        "болеет",
        "заболел*",
        "=сегодня|сейчас|пока =отсутствует",
        "=вышел|вышла|ушел|ушла|уехал|уехала",
        "уволил*",
        "занят*",
        "=недоступен|недоступна|недоступно|недоступны",
        "=нет на месте",
        "=не на месте",
        "=не работает|работают =сегодня|до|по|в_выходные|в_праздники",
        "=отдыхает",
        "=не выходит|вышел|вышла =на_связь|на_работу",
    ),
    "third_party_ru": (
        "подрядчик*",
        "субподрядчик*",
        "курьер*",
        "=служба|службы|службе|службой доставки",
        "перевозчик*",
        "транспортн*",
        "логистическ*",
        "производител*",
        "изготовител*",
        "поставщик*",
        "банк*",
        "провайдер*",
        "платежн*",
        "почт*",
        "управляющ*",
        "арендодател*",
        "партнер*",
        "разработчик*",
        "сторонн*",
        "магазин*",
        "продавц*",
        "страхов*",
        "монтажник*",
        "=оператора|оператор связи",
        "=им|ним|них|него|нее|ними|ему|ей",
        "застройщик*",
    ),
    # ---------------- English ----------------
    "my_en": ("=my|our",),
    "scope_en": (
        "=department|dept|job|area|remit|responsibility|problem|call|field|division|role|scope"
        "|wheelhouse|business|concern|issue|domain|expertise|jurisdiction|team|side|thing|place"
        "|purview|competence|department's|responsibilities|area's|fault|doing|decision|table|desk"
        "|lane|bailiwick",
    ),
    "third_en": (
        "vendor*",
        "manufactur*",
        "=maker|makers",
        "supplier*",
        "seller*",
        "retailer*",
        "=store",
        "=shop",
        "reseller*",
        "courier*",
        "carrier*",
        "=delivery|shipping|logistics|postal company|service|firm|team|provider|partner",
        "=post office",
        "bank*",
        "=card issuer",
        "=isp",
        "=internet|broadband provider",
        "provider*",
        "landlord*",
        "contractor*",
        "installer*",
        "developer*",
        "partner*",
        "=billing",
        "=accounts",
        "=accounting",
        "=finance",
        "=sales",
        "=support",
        "=tech|hr",
        "=legal",
        "admin*",
        "=customer relations|service|services|care|support",
        "=head|main office",
        "=another|other|different|right|relevant|correct|appropriate"
        " department|team|person|desk|office",
        "=department|departments",
        "=someone|somebody|anyone|anybody else",
        "=someone|somebody who",
        "=them",
        "=account manager",
        "=management|manager|supervisor",
        "=service|repair centre|center|desk|shop",
        "=hotline|helpdesk|helpline|switchboard",
        "=help desk",
        "=forum|faq",
        "=main line",
        "insur*",
        "=payment processor|provider|gateway",
        "=their support|team|helpline|hotline",
        "=help center|centre",
        "=portal",
        "=microsoft|apple|google|samsung|amazon|paypal|fedex|ups|dhl|usps",
        "=community",
        "=customer relations",
        "=relations",
        "=cashier",
        "=ombudsman",
    ),
    "go_verb_en": (
        "=contact|call|phone|ring|email|message|write|text|reach|speak|talk|ask|go|visit|direct"
        "|raise|send|consult|approach|refer|turn|head|complain|see|submit|file|lodge|try|get|take"
        "|check|follow|contacting|calling|emailing|reaching|speaking|talking|asking|getting"
        "|writing|messaging|ringing|phoning",
    ),
    "link_en": (
        "=to|with|out|in|touch|up|it|this|that|the|your|a|an|their|our|nearest|local|relevant"
        "|appropriate|at|on|via|through|back|directly|them|about|regarding",
    ),
    "you_must_en": ("=you'll|you'd|you|youll|youd", "=you will|would"),
    "must_en": (
        "=need|needs|must|should|ought|better|want|can|could|may|might|have|has",
        "=will need|have",
        "=are going",
        "=may|might want",
    ),
    "role_en": (
        "manager*",
        "=person|people|one in charge",
        "=person|one responsible|who",
        "supervisor*",
        "=boss|lead|head",
        "engineer*",
        "technician*",
        "=tech",
        "colleague*",
        "=he|she|he's|she's|they|they're|hes|shes",
        "accountant*",
        "director*",
        "specialist*",
        "=agent|rep",
        "representative*",
        "=owner",
        "admin*",
        "=team",
        "=department",
        "=everyone|everybody|nobody",
        "=no one",
        "=expert",
    ),
    "away_en": (
        "=in a|an meeting|meetings",
        "=in meetings",
        "=in|on a|the call",
        "=on vacation|holiday|holidays|leave|break|lunch|annual_leave|sick_leave"
        "|a_break|a_course|a_business_trip|a_trip",
        "=at lunch|a_conference|a_meeting",
        "=out to|for lunch",
        "=out of the? office",
        "=out sick|today|until|this",
        "=off sick|today|work|this|until|ill|duty",
        "=sick today",
        "=away until|today|this|from",
        "=tied up",
        "=unavailable",
        "=not available|in|around|here|reachable",
        "=has|have left $",
        "=left $",
        "=left the company|team|business|firm",
        "=no longer with|here|works",
        "=busy $",
        "=busy =right_now|at_the_moment|today|all_day|until|till|with_other|on_other",
        "=travelling|traveling",
        "=in training",
        "=ooo",
        "=out $",
    ),
    "later_en": (
        "=later|tomorrow|next|after|afterwards|monday|tuesday|wednesday|thursday|friday|saturday"
        "|sunday",
        "=in an|a hour|bit|while|few|couple",
        "=during business|office|working|opening hours",
        "=on monday|tuesday|wednesday|thursday|friday|saturday|sunday",
        "=in january|february|march|april|may|june|july|august|september|october|november|december",
        "=some other time",
        "=another time|day",
        "=in the new year",
    ),
    "call_verb_en": (
        "=call|ring|phone|contact|write|email|message|reach|text|calling|contacting",
        "=check back|in",
        "=come back|in",
        "=get back to us",
        "=give us a call|ring|shout|bell",
        "=drop us",
    ),
    "third_party_en": (
        "courier*",
        "carrier*",
        "=delivery|shipping|logistics company|service|firm|partner|driver|provider|carrier",
        "=shipper|shippers",
        "=post office",
        "=postal service",
        "manufactur*",
        "vendor*",
        "supplier*",
        "contractor*",
        "subcontractor*",
        "installer*",
        "bank*",
        "=isp",
        "=internet provider",
        "provider*",
        "landlord*",
        "developer*",
        "partner*",
        "=third-party",
        "=third party|parties",
        "=payment processor|provider|gateway",
        "retailer*",
        "seller*",
        "=store",
        "=warehouse",
        "insur*",
        "=them|theirs",
        "=the other party",
        "=microsoft|apple|google|samsung|amazon|paypal|fedex|ups|dhl|usps|microsoft's|apple's"
        "|google's|amazon's|paypal's|fedex's|ups's|dhl's",
    ),
}


@dataclass(frozen=True)
class Phrase:
    """A family of brush-off wordings under one stable id."""

    id: str
    category: str
    language: str
    patterns: tuple[str, ...]
    # a reply that takes the matter on is not flagged for it (always so for YIELDING)
    yields: bool = False


def _p(name: str, category: str, language: str, *patterns: str, yields: bool = False) -> Phrase:
    return Phrase(name, category, language, patterns, yields or category in YIELDING)


PHRASES: tuple[Phrase, ...] = (
    # ================= Russian =================
    _p(
        "not_my_competence",
        NOT_MY_JOB,
        RU,
        "=не|вне =в? @my_ru компетенция|компитенц*|полномоч*|обязанност*|ведени*",
        "=не =входит|входят|относится =в|к? @my_ru компетенц*|компитенц*|обязанност*|полномоч*"
        "|функци*|задач*|работ*",
        "@my_ru компетенц*|компитенц*|обязанност*|полномоч* ~2 =не =входит|входят|относится",
        "=не =входит|входят =в =круг @my_ru? обязанност*",
        "=выходит|выходят =за =рамки|пределы @my_ru",
        "=вне @my_ru компетенц*|компитенц*|полномоч*|обязанност*|зон*|сфер*",
        "=не =в =моих|наших =силах|полномочиях",
    ),
    _p(
        "not_our_department",
        NOT_MY_JOB,
        RU,
        "=это|эта|этот|данный|вопрос|он ~2 =не @my_ru отдел*|зон*|сфер*|профил*|част*|участ*|"
        "направлен*|епархи*|вопрос*|проблем*|работ*|дел*|задач*|функци*|ответственност*",
        "=не @my_ru =отдел|профиль|зона|сфера|участок|направление|подразделение",
        "=не @my_ru =зона|сфера ответственност*",
        "=не =по @my_ru =части|профилю|направлению|линии|ведомству|теме",
        "=не =моего|нашего =ума =дело",
        "=не =моя|наша =головная =боль",
        "=не =мне|нам =решать|судить",
    ),
    _p(
        "not_to_us",
        NOT_MY_JOB,
        RU,
        "=это|вопрос|вам ~2 =не =к =нам|мне",
        "=не =ко =мне|нам $",
        "=не =по =адресу",
    ),
    _p(
        "we_dont_do_that",
        NOT_MY_JOB,
        RU,
        "=мы|я ~2 =этим|таким|такими|такое|этого|это|таким_вопросом|такими_вопросами ~1 =не"
        " =занимаемся|занимаюсь|делаем|делаю|решаем|решаю|обслуживаем|ведем|веду|ремонтируем",
        "=этим|такими|таким|этими ~2 =мы|я =не =занимаемся|занимаюсь|занимается",
        "=мы|я =не =занимаемся|занимаюсь|решаем|решаю =этим|такими|таким|этого|такое|такими",
        "=вопросами|ремонтом|возвратами|возвратом|доставкой|гарантией|подключением|монтажом"
        "|установкой|претензиями|оплатой|счетами|жалобами ~2 =мы|я =не =занимаемся|занимаюсь",
        "=мы|я =не =занимаемся|занимаюсь ~2 =вопросами|ремонтом|возвратами|возвратом|доставкой"
        "|гарантией|подключением|монтажом|установкой|претензиями|оплатой|счетами|жалобами",
        "=мы|я =только|лишь =продаем|продаю|принимаем|принимаю|оформляем|оформляю|консультирую"
        "|консультируем|работаем|работаю|отвечаем|отвечаю|посредник|посредники|оператор|продавец"
        "|агент|перевозчик|магазин|магазин|принимаем|передаем|передаю|реализуем|перепродаем",
        "=я ~1 =всего? =только|лишь =оператор|консультант|продавец|менеджер|курьер|кассир"
        "|администратор|стажер",
        "=я|мы ~2 =этого|тут|здесь|ничего|это|такие|такое =не =решаю|решаем",
        "=я|мы ~1 =ничего =не =решаю|решаем",
        "=решения|решение ~2 =принимаю|принимает|принимают =не =я",
        "=я|мы ~2 =за =это|такое|такие|этот|эти ~1 =не =отвечаю|отвечаем",
        "=я|мы ~1 =не =отвечаю|отвечаем =за =это|такое|такие|этот|эти|доставку|сроки|работу",
        "=это ~1 =не =моя|наша|мое|наше =работа|забота|проблема|дело",
        "=я ~2 =не =в =курсе $",
        "=не =знаю ~2 =кто =этим|этом|такими|ваш",
        "=я ~2 =новенькая|новенький|новый_сотрудник|стажер|стажерка",
        "=работаю ~2 =недавно|неделю|первый|первую|второй|вторую",
        "=недавно|неделю|первый_день|первую_неделю =работаю",
        "=не =изучил|изучила|изучали|изучал",
        "=у =меня|нас =нет ~1 =доступа|прав|полномочий ~2 =к|на|чтобы",
        "=не =могу|можем =решать|решить|ответить ~2 =за|такие|этот|этого",
    ),
    # ---------------- Russian: go elsewhere ----------------
    _p(
        "go_to_department",
        GO_ELSEWHERE,
        RU,
        "@go_imper_ru ~2 @prep_ru ~2 @third_ru",
        "@go_imper_ru =им|ему|ей|туда|ним $",
        "@go_imper_ru @poss_ru @third_ru",
        "@must_ru ~2 @go_inf_ru ~2 @prep_ru ~2 @third_ru",
        "^ =вам =в|к|на ~2 @third_ru",
        "=вам =надо|нужно =в|к ~2 @third_ru",
        "^ =это ~1 =к|в ~1 @third_ru",
        "=это =вопрос|вопросы =к|в ~1 @third_ru",
        "=вопросы|вопрос ~3 =только =через|в|к @third_ru",
        "@third_ru ~1 =вам ~1 =поможет|помогут|подскажет|подскажут|ответит|ответят|объяснит $",
        "=может|возможно ~1 =вам ~1 =поможет|помогут|подскажет|подскажут|ответит|ответят @third_ru",
        "=сами|самим|самому|самой ~2 =разбирайтесь|договаривайтесь|решайте|выясняйте|звоните"
        "|пишите|обращайтесь|свяжитесь|разберитесь|договоритесь",
        "=вам ~3 =самому|самим|самой|сами ~2 @go_inf_ru",
        "=их|его|ее =телефон|номер|контакты|адрес|почта|телефоны ~4 =есть|указан|указаны"
        "|найдете|на ~3"
        " =сайте|договоре|накладной|чеке|коробке|талоне|упаковке|квитанции",
        "=позвоните|звоните|наберите ~3 =по =общему|горячей|единому|бесплатному",
        "=вас =переключат|соединят|направят",
    ),
    _p(
        "handled_elsewhere",
        GO_ELSEWHERE,
        RU,
        "=этим|такими|таким|такие|этими|вопросами|ремонтом|возвратом|возвратами|доставкой"
        "|подключением|гарантией|монтажом|оплатой|счетами ~3 =занимается|занимаются|ведает|ведают"
        "|заведует|решает|решают =другой|другая|другие|соседний|соседняя|отдельный|отдельная"
        "|сторонняя|сторонний|другое",
        "=этим|такими|таким|такие|этими|вопросами|ремонтом|возвратом|возвратами|доставкой"
        "|подключением|гарантией|монтажом|оплатой|счетами|возврат ~2 =занимается|занимаются"
        "|решает|решают|ведает|ведают|делает|делают|оформляет|оформляют @third_ru",
    ),
    _p(
        "send_complaint_elsewhere",
        GO_ELSEWHERE,
        RU,
        "=претензии|претензию|жалобы|жалобу|вопросы|требования ~2 =направляйте|направьте|пишите"
        "|адресуйте|подавайте|предъявляйте|отправляйте",
        "=направляйте|направьте|адресуйте|подавайте|подайте|предъявляйте|предъявите ~2 =претензии"
        "|претензию|жалобу|жалобы|требования",
        "=спрашивайте|спросите|требуйте|взыскивайте ~1 =с =них|него|нее|подрядчика|курьера"
        "|производителя|банка|перевозчика|поставщика",
        "=с =него|них|нее =и =спрашивайте",
    ),
    # ---------------- Russian: call later ----------------
    _p(
        "call_back_later",
        CALL_LATER,
        RU,
        "@call_imper_ru ~3 @later_ru",
        "=перезвоните|перезванивайте|позвоните|наберите|звоните|перезвони $",
        "=попробуйте|попытайтесь ~1 =дозвониться|позвонить|перезвонить|написать|связаться"
        "|обратиться|зайти|прийти|обратиться ~2 @later_ru",
        "=попробуйте|попытайтесь @later_ru",
        "@must_ru ~1 =вам? =перезвонить|позвонить|обратиться|написать|прийти|зайти ~2 @later_ru",
        "@call_imper_ru ~3 =после =его|ее|их =возвращения|выхода|приезда|выздоровления",
        "=подождите|ждите|ожидайте ~1 =или =перезвоните|позвоните|напишите",
        "@call_imper_ru ~3 =когда ~2 =он|она|они|мастер|менеджер|специалист|бухгалтер"
        "|руководитель|бухгалтерия|все =вернется|вернутся|выйдет|выйдут|освободится|освободятся"
        "|появится|будет|будут",
    ),
    _p(
        "wait_without_owner",
        CALL_LATER,
        RU,
        "^ =ждите|ожидайте $",
        "=ожидайте|ждите ~1 =звонка|ответа|решения|письма|уведомления|смс|информации|новостей"
        "|очереди|связи|рассмотрения",
        "=с =вами =свяжутся|созвонятся $",
        "=вам =перезвонят|позвонят|ответят|напишут|сообщат $",
        "=в =порядке =общей? =очереди",
        "=когда-нибудь|когда-то",
        "=когда =нибудь|то",
        "=когда ~2 =освободится|освободятся|дойдут|дойдет =руки?",
        "=до =вас ~1 =дойдут|дойдет",
        "=точное|точные|конкретное|конкретные ~1 =время|сроки|срок|дату ~2 =назвать|сказать"
        "|сообщить ~1 =не =могу|можем",
        "=не =могу|можем ~1 =назвать|сказать|сообщить|предсказать ~2 =время|сроки|срок|дату|когда",
        "=сроки ~1 =не =знаю|известны|определены",
        "=сроки|срок =неизвестны|неизвестен",
        "=ждите|ожидайте|подождите ~2 =пока|когда",
    ),
    # ---------------- Russian: absent person ----------------
    _p(
        "person_absent",
        ABSENT_PERSON,
        RU,
        "@role_ru ~4 @away_ru",
        "=сейчас|сегодня|уже ~1 =никого =нет",
        "=никого =нет ~1 =на =месте",
        "=все ~1 =операторы|специалисты|менеджеры|мастера|сотрудники|линии|инженеры ~1 =заняты",
        "=у =нас ~1 =обед|перерыв|пересменка|выходной|выходные|праздники",
        "=решить|решать|помочь|подписать|ответить|заняться ~3 =некому",
        "=некому ~2 =решить|решать|помочь|подписать|ответить|заняться",
        "=этот|такой|такие|ваш ~1 =вопрос|вопросы ~2 =решает|решают ~3 руководств*|руководител*"
        "|начальств*|директор*|начальник*",
        "@role_ru|бухгалтери*|руководств*|отдел* ~3 =сегодня|сейчас|пока|до =не =работает|работают",
    ),
    # ---------------- Russian: blame a third party ----------------
    _p(
        "third_party_fault",
        BLAME_THIRD_PARTY,
        RU,
        "вин* @third_party_ru",
        "@third_party_ru ~2 виноват*",
        "виноват* ~2 @third_party_ru",
        "=это|всё|все|вопрос|вопросы|претензии|претензия ~2 =к @third_party_ru",
        "=ответственность|отвечает|отвечают ~3 @third_party_ru",
        "@third_party_ru ~3 =несет|несут|отвечает|отвечают ~1 =ответственность|за",
        "=проблема|сбой|ошибка|вина|недоработка|косяк @third_party_ru",
        "=не =на|с =нашей =стороне|стороны",
        "=не =наша|наши|по_нашей =вина|вине|ошибка|проблема|косяк|недоработка",
        "=мы|я ~1 =тут|здесь|к_этому? =ни =при =чем",
        "=к =нам|мне =вопросов ~1 =нет|быть|никаких",
        "=мы|я ~2 =не =отвечаем|отвечаю|несем|несу ~2 =за|ответственност*",
        "=от =нас|меня ~2 =ничего? =не =зависит|зависят",
        "=не =зависит|зависят ~1 =от =нас|меня",
        "=сроки|срок|время ~3 =зависят|зависит ~1 =от @third_party_ru",
        "=решение ~1 =за @third_party_ru",
        "=не =наша|наше|моя|мое =забота|дело|проблема",
    ),
    _p(
        "problem_on_their_side",
        BLAME_THIRD_PARTY,
        RU,
        "=проблема|сбой|ошибка|задержка ~3 =на =стороне|у @third_party_ru",
        "=на =стороне =банка|платежной|провайдера|производителя|перевозчика|курьера|почты"
        "|подрядчика|поставщика|партнера|разработчика|оператора|службы|магазина",
        yields=True,
    ),
    # ---------------- Russian: blame the customer ----------------
    _p(
        "customer_fault",
        BLAME_CUSTOMER,
        RU,
        "=вы|сами ~1 =сами? =виноваты|виновата|виноват",
        "=по =вашей =вине",
        "=это|всё|все =ваша =вина|ошибка|проблема",
        "=это|всё|все =по =вашей =вине",
        "=ваши =проблемы",
        "неправильн*|ненадлежащ*|некорректн* ~1 эксплуатац*|использован*|обращен*|хранен*|"
        "установк*|пользовани*",
        "=неправильно|некорректно ~1 =пользовались|пользовался|пользовалась|использовали"
        "|эксплуатировали|хранили|установили|подключили",
        "=нарушен*|нарушили ~1 =правил|правила|условий|условия ~1 эксплуатац*",
        "=не =гарантийный|гарантийным|гарантийная|гарантийное ~1 случай|ремонт",
        "=негарантийный|негарантийным|негарантийная|негарантийное ~1 случай|ремонт",
        "=не =является ~1 =гарантийным",
        "гаранти* ~2 =не =распространяется|действует|покрывает",
        "=это ~2 =новая|новое|другая|другой|новый|отдельная =неисправность|поломка|проблема"
        "|дефект|случай|недостаток|сбой",
        "=новая|новое|другая|другой|новый =неисправность|поломка|проблема|дефект|сбой ~4 =не"
        " связан*",
        "=не связан* ~2 =с =прошлым|предыдущим|прошлой|предыдущей =ремонтом|обращением|заявкой",
        "=отношения ~2 =не =имеет",
        "=на =общих =основаниях",
        "=механическое|механические =повреждение|повреждения ~3 =не|платн*|гарантия_не",
        "=вы ~3 =не =проверили|прочитали|читали|сохранили",
        "=читайте|прочитайте|изучите|перечитайте ~1 =инструкцию|договор|правила|условия",
    ),
    # ---------------- Russian: refusal ----------------
    _p(
        "cannot_help",
        REFUSAL,
        RU,
        "=ничем ~1 =не ~1 =можем|могу|сможем|смогу ~1 =помочь",
        "=ничем =помочь =не ~1 =можем|могу|сможем|смогу",
        "=помочь ~1 =ничем? =не =можем|могу|сможем|смогу",
        "=помочь =нечем",
        "=мы|я ~1 =тут|здесь|вам =не =поможем|помогу",
        "=ничего ~1 =не ~1 =можем|могу|сможем|смогу ~1 =сделать|поделать|изменить",
        "=сделать|изменить =ничего ~1 =нельзя|невозможно",
        "=сделать|изменить =ничего =не =можем|могу",
        "=ничего =не =поделаешь|поделать",
        "=бессильны|бессилен|бессильна",
        "=не =в =наших|моих =силах",
        "=не =можем|могу ~1 =повлиять|влиять",
        "=нет ~1 =возможности =вам? =помочь",
        "=к =сожалению|увы =нет $",
        "=это ~1 =невозможно $",
        "=ничем =не =поможем|помогу",
    ),
    # ---------------- Russian: red tape ----------------
    _p(
        "company_policy",
        RED_TAPE,
        RU,
        "=такова|это|такая|наша =политика|правила ~1 =компании|магазина|фирмы|банка|наша",
        "=такова =политика|практика",
        "=по =правилам|регламенту|инструкции|политике ~2 =компании|магазина|нашей? ~3 =не|нельзя"
        "|невозможно|только",
        "=политика ~2 =компании|магазина ~2 =не =позволяет|разрешает",
        "=политика ~2 =компании|магазина ~2 =запрещает",
        "=таковы =правила|условия|порядки",
        "=такие =у =нас =правила|порядки",
        "=такие =правила $",
        "=так|не =положено",
        "=так ~1 =у =нас ~1 =заведено|принято",
        "=исключений ~1 =не =делаем|бывает",
        "=исключений =нет",
        "=правила =есть =правила",
        "=таковы =условия",
        "=по =регламенту",
        "=система ~1 =не =позволяет|дает",
    ),
    _p(
        "receipt_and_box",
        RED_TAPE,
        RU,
        "=с =чеком|чеками ~3 упаковк*|коробк*|паспорт*|гарантийн*|оригинал*",
        "=только|лишь ~3 =при|с|в ~2 =чека|чеком|оригинала|оригинальной|упаковке|коробке|паспорта"
        "|паспортом|наличии",
        "=без ~1 =чека|упаковки|коробки|оригинала|паспорта|документов|договора ~4 =не|невозможно"
        "|нельзя",
        "=в =оригинальной|заводской|целой|фирменной|родной ~1 =упаковке|коробке",
        "=при =наличии|предъявлении =чека|оригинала|паспорта|документов|упаковки",
        "=приходите|приезжайте|несите|принесите|приносите|захватите|возьмите ~4 =чек|чеком"
        "|коробку|упаковку|паспорт|паспортом|оригинал|оригиналом|документы|талон|гарантийный",
        "=натощак",
    ),
    _p(
        "paperwork",
        RED_TAPE,
        RU,
        "=только ~2 =в =письменном|письменной =виде|форме",
        "=только =письменно|лично|очно",
        "=в =письменном|письменной =виде|форме ~3 =только|принимаются|принимаем",
        "=заполните|распечатайте|напишите ~1 =заявление|бланк|форму|анкету ~3 =принесите"
        "|отправьте|подпишите|распечатайте|пришлите",
        "=распечатайте ~3 =подпишите",
        "=по =почте|телефону|email|электронной|онлайн ~2 =не =принимаем|оформляем|принимаются"
        "|рассматриваем",
        "=не =принимаем|оформляем|рассматриваем ~2 =по|без =почте|телефону|онлайн",
        "=заявки|заявления|претензии|жалобы ~2 =принимаются ~1 =только",
        "=только =в =офисе|отделении",
        "=заявку|заявление|претензию ~1 =без ~1 =оригинала|чека|договора|паспорта",
    ),
    # ================= English =================
    _p(
        "not_my_department",
        NOT_MY_JOB,
        EN,
        "=not|isn't|isnt|aren't|wasn't|ain't @my_en @scope_en",
        "=not|isn't|isnt ~1 @my_en @scope_en",
        "=outside|beyond|out_of ~1 @my_en =remit|scope|area|expertise|jurisdiction|league"
        "|wheelhouse|responsibilities|competence|department|job",
        "=falls|fall|is|that's|it's =outside|beyond",
        "=not ~1 =the =right|correct|best =person|team|department|people|place|desk|contact",
        "=wrong ~1 =department|team|person|place|desk|number|address",
        "=come =to =the =wrong",
        "=not ~2 =something|anything ~2 =i|we|our_team ~1 =handle|deal|cover|do|support|manage"
        "|look|can",
        "=i|we ~1 =don't|do_not|can't|cannot|dont ~2 =handle|deal|cover|do|support|look_after"
        "|manage ~1 =that|this|those|these|such|with|delivery|billing|refunds|returns|repairs"
        "|warranty|installations|shipping|payments|invoices",
        "=not ~1 =my|our =problem|call|job|concern|business|responsibility|department|area|remit",
        "=i|we =only =handle|deal|do|work|cover|sell|take|look",
        "=i'm|im|we're|i_am|we_are ~1 =only|just|merely|simply =the|a|an ~2 =reseller|booking|sales"
        "|technical|front|agent|agents|retailer|middleman|distributor|call|operator"
        "|receptionist|seller|intermediary|marketplace|platform|broker",
        "=i'm|im|i_am =just|only ~2 =on|in =the ~2 =desk|team|line|department|side",
        "=i'm|im|i_am ~1 =new ~5 =haven't|not|don't|can't|cannot",
        "=haven't|hasn't ~1 =been|had ~2 =trained|training",
        "=not ~1 =trained =on|for",
        "=i|we =can't|cannot =comment =on",
        "=i|we ~1 =don't|do_not ~1 =have ~1 =access|authority|permission|the_authority",
        "=i|we ~1 =don't|do_not =make =the =rules|decisions|decision",
        "=not =up =to =me|us",
        "=i ~1 =don't|do_not =know $",
        "=i ~1 =don't|do_not =know ~2 =ask|try|contact|check",
        "=ask|try =someone|somebody|anyone =else",
        "=not =my|our =call",
        "=management|manager|my_manager|the_manager =decides|decide",
    ),
    # ---------------- English: go elsewhere ----------------
    _p(
        "contact_elsewhere",
        GO_ELSEWHERE,
        EN,
        "^ @go_verb_en @link_en? @link_en? @link_en? @link_en? @third_en",
        "@you_must_en ~2 @must_en ~2 =to? ~1 @go_verb_en @link_en? @link_en? @link_en? @link_en?"
        " @third_en",
        "^ =try ~1 @go_verb_en @link_en? @link_en? @link_en? @link_en? @third_en",
        "^ =give =them|the_bank|the_courier|the_vendor|the_manufacturer|the_store|your_bank"
        "|your_provider =a =call|ring|shout|bell",
        "=suggest|recommend|advise|recommended|advised|best|better|try ~2 =you|that|to|if ~1"
        " @go_verb_en @link_en? @link_en? @link_en? @link_en? @third_en",
        "=questions|issues|requests|queries|complaints|claims|problems|refunds|returns ~3 =go"
        "|should|are|must|need =to|handled|dealt|through ~3 @third_en",
        "=handled|dealt_with =by ~2 @third_en",
        "@third_en ~2 =handles|handle|deals_with|takes_care_of|manages|processes ~2 =that|this"
        "|support|those|it|refunds|returns|warranty|claims|repairs|billing|payments|invoices",
        "=that's|it's|this_is|that_is|it_is ~2 =a|one|something|matter ~1 =question|issue|matter"
        "|one|thing ~1 =for ~2 @third_en",
        "=their|the =contact|phone|number|email|details|address ~4 =is|are =on|in =the|their|your"
        " ~2 =website|site|contract|receipt|invoice|box|manual|label|packaging",
        "=please|kindly =open|submit|raise|file|log ~1 =a|an ~1 =new? ~1 =ticket|request|case|claim"
        "|complaint",
        "^ =open|submit|raise|file|log ~1 =a|an ~1 =new? ~1 =ticket|request|case|claim|complaint",
        "@you_must_en ~2 =need|have ~1 =to ~1 =submit|open|file|raise|make|book|create ~1 =a|an"
        " ~1 =new ~1 =ticket|request|case|claim|complaint|appointment|order",
        "=direct|send|address ~1 =your|all|any ~1 =complaint|complaints|questions|claim|claims"
        "|query|queries|request|requests ~1 =to",
        "=take ~1 =it|this|that|the_matter ~1 =up =with",
        "=that's|that_is|it's|it_is ~1 =between =you =and",
        "=for =the|your @third_en ~1 =to ~1 =deal|handle|sort|resolve|fix|look",
        "=they'll|they_will|they ~2 =sort|help|assist ~2 =you|it ~1 =out $",
        "@third_en ~3 =can|will|should|might|may ~1 =help|assist|advise ~1 =you $",
        "=maybe|perhaps =try|ask|check ~3 @third_en",
        "=check|see|read|try|consult ~1 =the|our ~1 =faq|forum|community|manual",
        "=you'll|you|you_will ~1 =be =transferred|redirected|put_through",
    ),
    # ---------------- English: call later ----------------
    _p(
        "call_back_later",
        CALL_LATER,
        EN,
        "^ @call_verb_en ~3 @later_en",
        "^ =call|ring|phone =back $",
        "=can|could|would|will ~1 =you ~2 =call|ring|phone|try|contact|write|check|email|come|get"
        "|reach ~3 @later_en",
        "=can|could|would|will ~1 =you =call|ring|phone ~1 =back|again $",
        "@you_must_en ~2 @must_en ~2 =to? ~1 @call_verb_en ~3 @later_en",
        "=please|kindly =try|retry =later|tomorrow|again_later|back_later",
        "=try|retry =again|back ~1 =later|tomorrow|next|in|after|when",
        "=try|retry =later|tomorrow|back|afterwards",
        "=call|ring|phone|contact|reach ~2 =us|again|back ~2 =later|tomorrow|next|after|during"
        "|on|in",
        "=get =back =to =us ~2 =later|tomorrow|next|in",
        "=check =back|in ~2 =later|tomorrow|next|in|after|on",
        "=come =back ~2 =later|tomorrow|next|on|in|after",
        "=hold =or|and =call|try|ring",
    ),
    _p(
        "wait_without_owner",
        CALL_LATER,
        EN,
        "=someone|somebody|one_of_our|a_member_of|an_agent|the_team|the_relevant ~3 =will|'ll"
        "|should|may|might|shall ~3 =get|contact|call|reach|be|respond|reply|look|follow",
        "=in =due =course",
        "=eventually",
        "=at =some =point",
        "=when|once =we|someone|somebody|they =can|get_a_chance|are_free|is_free|have_time"
        "|are_available|is_available",
        "=be =patient",
        "^ =wait $",
        "=please ~1 =wait ~3 =for ~3 =call|reply|response|email|message|update|answer|contact",
        "=wait ~2 =for ~3 =call|reply|response|email|message|update|answer|contact ~3 =from",
        "=your|the ~1 =request|ticket|case|complaint|query|message ~2 =has|have ~1 =been ~1"
        " =noted|logged|received|registered|queued $",
        "=your|the ~1 =request|ticket|case|complaint|query|message ~2 =is|has_been ~1 =in ~1"
        " =the|a|our ~1 =queue",
        "=can't|cannot|can_not|unable_to ~1 =give|say|tell|provide|promise ~3 =timeframe"
        "|time_frame|eta|date|time|when|timeline",
        "=no ~1 =eta|timeframe|time_frame|idea_when|timeline",
        "=nothing =to =do =but =wait",
        "=we'll|we_will|i'll|i_will ~2 =let_you_know|get_back_to_you|be_in_touch|contact_you|"
        "update_you ~1 =when|once|if|as_soon_as ~4 =we|there|it|they|something|anything ~2 =hear"
        "|know|have|news|anything|update|changes",
        "=might|may =have =more =information|info|news|details",
    ),
    # ---------------- English: absent person ----------------
    _p(
        "person_absent",
        ABSENT_PERSON,
        EN,
        "@role_en ~5 =is|are|was|'s|has|have|will_be|were|s ~3 @away_en",
        "=he's|she's|they're|hes|shes @away_en",
        "@role_en ~1 @away_en",
        "=nobody|no_one|noone|no-one ~3 =is|can|will_be ~2 =available|here|in|around|free|able"
        "|look|sign|approve|help|take",
        "=all ~1 =our|the|of_our ~1 =agents|staff|engineers|technicians|operators|lines|managers"
        "|team|advisors|representatives ~2 =are ~1 =busy|tied_up|engaged|unavailable|occupied",
        "=whoever|the_one|the_person|the_technician|the_engineer|the_agent|the_manager"
        "|your_account_manager|the_colleague|the_rep ~5 =has_left|left|is_no_longer"
        "|no_longer_works",
        "=we're|we_are|the_office|our_office|the_warehouse|the_store|the_shop|support|the_team"
        "|our_team ~1 =is|are? =closed",
        "=closed =for ~2 =the|holidays|holiday|weekend|lunch|today",
        "=out =of =office $",
    ),
    # ---------------- English: blame a third party ----------------
    _p(
        "third_party_fault",
        BLAME_THIRD_PARTY,
        EN,
        "@third_party_en ~1 =fault|fault's|blame|mistake|responsibility",
        "=fault|responsibility|blame|problem|issue|mistake ~1 =of|lies_with|is_with|rests_with"
        "|belongs_to ~1 =the|your @third_party_en",
        "=blame ~1 =the|your? @third_party_en",
        "=down =to|due_to|because_of ~1 =the|your @third_party_en",
        "@third_party_en ~3 =is|are =responsible|to_blame|at_fault|liable",
        "=responsibility ~1 =of|lies_with|is_with ~2 @third_party_en",
        "=it's|that's|this_is|that_is|it_is|its|thats|is ~1 =on =them|the_courier|the_contractor"
        "|the_carrier|the_bank|the_vendor|the_manufacturer|the_supplier",
        "=a|an ~1 =issue|problem|fault ~1 =with|on|at ~2 =your|the|their @third_party_en",
        "=not|never =ours|us|our_side|our_end|on_our_side|on_our_end|with_us $",
        "=not ~1 =our|my =fault|problem|responsibility|mistake|doing|liability",
        "=nothing =to =do =with =us|me|our",
        "=we|i ~2 =are_not|aren't|am_not|'m_not|can't_be|cannot_be|re_not =responsible|liable"
        "|accountable",
        "=we|i ~2 =take|accept|bear|have =no ~1 =responsibility|liability",
        "=we're|we_are|i'm|i_am|were =not =responsible|liable|accountable",
        "=a|one =question|matter =for =the|your @third_party_en",
        "=that's|it's|this_is|that_is ~1 =for =the|your @third_party_en",
        "=any|all ~1 =issue|issues|problem|problems|complaint|complaints|claims|questions ~3 =is"
        "|are|should_be|must_be ~1 =on|with|taken_up_with|directed_to|raised_with ~2"
        " @third_party_en",
        "=on =their|the_other =side|end ~1 =not",
        "=must|should|has_to|might =be =with|on =your|the|their @third_party_en",
    ),
    _p(
        "problem_on_their_side",
        BLAME_THIRD_PARTY,
        EN,
        "=on ~1 @third_party_en ~1 =side|end",
        "=on =their|the_other =side|end",
        yields=True,
    ),
    # ---------------- English: blame the customer ----------------
    _p(
        "customer_fault",
        BLAME_CUSTOMER,
        EN,
        "=user =error",
        "=your ~1 =own? =fault|mistake $",
        "=you ~2 =must_have|should_have|should've|must've ~2 =dropped|damaged|broken|misused"
        "|installed|read|checked|used|done",
        "=misuse|misused|mishandling|mishandled|negligence|improper_use|incorrect_use"
        "|wrong_use|improper_handling|improper_installation",
        "=physical|water|accidental|mechanical|liquid =damage ~3 =not|isn't|is_not|void|excluded"
        "|won't|can't|cannot",
        "=not ~1 =covered ~2 =by|under ~1 =the|your|our ~1 =warranty|guarantee",
        "=warranty|guarantee ~2 =doesn't|does_not|won't|will_not|can't|cannot ~1 =cover|apply",
        "=isn't|not|is_not|wasn't ~1 =a|an ~1 =warranty|covered ~1 =issue|case|claim|repair|matter"
        "|problem|fault",
        "=void|voids|voided ~2 =the|your ~1 =warranty|guarantee",
        "=warranty|guarantee ~2 =is|was|has_been ~1 =void|voided",
        "=a|this_is_a ~1 =new|different|separate|unrelated ~1 =fault|issue|problem|defect ~5"
        " =unrelated|not_related|separate|different|pay|charge|charged|cost",
        "=unrelated|not_related ~1 =to ~1 =the|your ~1 =previous|original|last|earlier ~1 =repair"
        "|fix|visit|issue|job",
        "=clearly|obviously ~1 =dropped|damaged|misused|mishandled|broken",
        "=read ~1 =the ~1 =manual|instructions|faq ~3 =and|then =try",
        "=should_have|should've ~2 =read|checked|kept|followed",
    ),
    # ---------------- English: refusal ----------------
    _p(
        "cannot_help",
        REFUSAL,
        EN,
        "=there's|there_is|theres ~1 =nothing|not_much|little ~3 =we|i ~1 =can|could ~1 =do",
        "=nothing ~1 =we|i ~1 =can|could =do",
        "=nothing ~1 =to_be_done|can_be_done|more_we_can_do|more_i_can_do",
        "=we|i ~1 =can't|cannot|can_not|are_unable_to|am_unable_to|'re_unable_to"
        "|won't_be_able_to|aren't_able_to|am_not_able_to =help|assist|do_anything|do_much ~2"
        " =with|you ~1 =that|this|it|there|here $",
        "=we|i ~1 =can't|cannot|can_not|are_unable_to|am_unable_to =help|assist|do_anything"
        " =you? $",
        "=can't|cannot =help $",
        "=we're|we_are|i'm|i_am ~1 =unable|not_able =to =assist|help",
        "=unable =to =assist",
        "=out =of =our|my =hands|control",
        "=beyond =our|my =control",
        "=no =control =over",
        "=just =the =way ~2 =it|things =is|works|are|goes",
        "=the =way =it =works",
        "=can't|cannot ~1 =do =anything ~2 =about",
        "=not =much ~1 =we|i =can =do",
        "=can't|cannot ~2 =make ~1 =an|any ~1 =exception|exceptions",
        "=nothing =more ~2 =we|i =can",
        "=we|i =can't|cannot =help $",
    ),
    # ---------------- English: red tape ----------------
    _p(
        "company_policy",
        RED_TAPE,
        EN,
        "=it's|that's|it_is|that_is|this_is|its|thats ~1 =our|the =company|store =policy",
        "=it's|that's|it_is|that_is|this_is|its|thats ~1 =our|the|store|company =policy|rules $",
        "=company|store|bank =policy|rules $",
        "=company =policy ~2 =i|we ~1 =can't|cannot|won't|don't",
        "=as_per|per|according_to|under|due_to ~1 =our|the|company ~1 =policy|policies|rules"
        "|terms|procedure ~4 =can't|cannot|won't|not|only|unable|no",
        "=policy ~2 =doesn't|does_not|won't|will_not =allow|permit|let",
        "=against ~1 =our|company|the =policy|rules",
        "=rules =are =rules",
        "=those|these =are =the =rules",
        "=that's|it's =the =rules",
        "=i|we ~1 =don't|do_not =make =the =rules",
        "=that's|it's ~2 =how =we|it =do|works|work",
        "=the =system ~1 =doesn't|does_not|won't|will_not =allow|let",
    ),
    _p(
        "receipt_and_box",
        RED_TAPE,
        EN,
        "^ =bring|take|return ~4 =receipt|original|proof|box|packaging|invoice",
        "=only ~6 =with|in ~2 =original|receipt|proof|box|packaging|packing|tags",
        "=only ~2 =accepted|accept|possible|refund|exchange|return ~4 =original|receipt|proof",
        "=must|need_to|needs_to|have_to|has_to ~1 =be|have|bring|include|show ~4 =original"
        "|receipt|proof|packaging|box",
        "=without ~1 =the|a|your? =receipt|original|proof|box|packaging ~4 =can't|cannot|won't"
        "|not|no|unable",
        "=no =receipt|box ~1 =no =refund|return|exchange|repair",
        "=with ~1 =the|your? =original =receipt|packaging|box ~3 =and|or ~3 =receipt|packaging"
        "|box|original|proof",
        "=and =proof =of =purchase",
    ),
    _p(
        "paperwork",
        RED_TAPE,
        EN,
        "=in =writing =only",
        "=only ~2 =in =writing|person",
        "=must|has_to|have_to|need_to|needs_to ~3 =in =writing|person",
        "=submitted|sent|made =in =writing",
        "=only =by =post|mail|letter",
        "=written =requests|request =only",
        "=only =respond|reply|accept ~1 =to? =written",
        "=in =person =only",
        "=fill ~2 =in|out ~2 =the|a|our ~1 =claim|form|paper ~4 =print|sign|post|mail|send",
        "=print ~3 =sign",
        "=can't|cannot|don't|do_not|won't ~1 =accept|take|process ~2 =it|claims|requests"
        "|complaints|this ~2 =by|over|via ~1 =email|phone|chat",
        "=send ~1 =a =letter",
        "=send|post|mail ~4 =by =post|mail|letter",
        "=written =complaint|request|letter|notice|claim ~3 =by|to =post|mail|our",
        "=late|later ~1 =claims|requests|complaints ~3 =not|won't|will_not =be =considered"
        "|accepted|processed",
        "=must =be =submitted|made|filed|lodged",
    ),
)


# ---------------- What a reply that takes ownership says ----------------

# "I'll pass it on", "she'll call you", "они позвонят вам": a commitment.
COMMITMENT: dict[str, tuple[str, ...]] = {
    RU: (
        "=передам|передадим|перешлю|перешлем|прослежу|проследим|проконтролирую|проконтролируем"
        "|перезвоню|перезвоним|позвоню|позвоним|наберу|наберем|свяжусь|свяжемся|напишу|напишем"
        "|сообщу|сообщим|отвечу|ответим|уточню|уточним|узнаю|выясню|выясним|оформлю|оформим"
        "|организую|организуем|отправлю|отправим|пришлю|пришлем|вышлю|вышлем|сделаю|сделаем"
        "|займусь|займемся|решу|решим|вернусь|вернемся|проверю|проверим|приеду|приедем|привезу"
        "|привезем|заменю|заменим|верну|вернем|подготовлю|подготовим|исправлю|исправим|подключу"
        "|подключим|согласую|согласуем|запишу|запишем|напомню|напомним|договорюсь|договоримся"
        "|добьюсь|изучу|изучим|разберусь|разберемся|компенсируем|закажу|закажем|забронирую"
        "|перенесу|перенесем|назначу|назначим|обновлю|отслежу|уведомлю|уведомим|выставлю"
        "|выставим|переведу|переведем|продлю|продлим|доставим|заберем|привезем|сообщу|дам"
        "|дадим|держу|держим|беру|берем|возьму|возьмем|слежу|следим|пришлю",
        "=буду|будем =на_связи|держать|следить|звонить|писать",
        "=перезвонит|перезвонят|позвонит|позвонят|свяжется|свяжутся|ответит|ответят|приедет"
        "|приедут|напишет|напишут|привезет|привезут|сообщит|сообщат|заберет|заберут|пришлет"
        "|пришлют|вернет|вернут|подготовит|подготовят|выедет|выедут|поступят|поступит|придут"
        "|придет|выйдет|отправят|вернутся|заедет|заедут|доставят|доставит|подъедет|подъедут"
        "|починит|починят|исправят|исправит|согласует|будет_у_вас|будут_у_вас|приедет_к_вам",
        "=передал|передала|передали|переслал|переслала|переслали|поставил|поставила|направил"
        "|направила|договорился|договорилась|договорились|попросил|попросила|связался"
        "|связалась|записал|записала|назначил|назначила|эскалировал|эскалировала|пригласил"
        "|пригласила|напомнил|напомнила|отправил|отправила|отправили|заказал|заказала|перенес"
        "|перенесла|взял|взяла",
    ),
    EN: (
        "=i'll|we'll|i|we|i've|we've|i'm|we're|he'll|she'll|they'll|will|personally|myself"
        "|ill|im|ive|she|he|they|who ~1 =call|ring|phone|contact|email|text|message|update|follow"
        "|chase|check|confirm|send|forward|pass|escalate|arrange|book|schedule|get|reply|respond"
        "|answer|handle|take|look|sort|fix|make|ensure|keep|let|visit|come|deliver|redeliver"
        "|ship|refund|replace|process|approve|raise|open|ask|brief|rebook|reserve|post|review"
        "|investigate|speak|talk|be|have|reach|stop|bring|pick|collect|write|notify|honour|honor"
        "|drop|give|report|organise|organize|pay|credit|push|remind|monitor|own|forwarded|passed"
        "|asked|escalated|arranged|booked|contacted|raised|opened|briefed|spoken|emailed|called"
        "|sent|requested|scheduled|rebooked|reserved|set|redo|calls|emails",
        "=you'll|you_will ~2 =hear|get|receive|see",
    ),
}
# "by 3 pm", "до 15:00", "завтра", "within the hour": when.
TIME: dict[str, tuple[str, ...]] = {
    RU: (
        "=до|к|в|около|с|после|не_позже|не_позднее|ровно|по <num>",
        "<num> <num>",
        "=сегодня|завтра|послезавтра|немедленно|незамедлительно|сейчас",
        "=до|к|в|во =понедельник|понедельника|вторник|вторника|среду|среды|четверг|четверга"
        "|пятницу|пятницы|субботу|субботы|воскресенье|воскресенья|полудня|полдень|обеда|вечера",
        "=до|к =конца|концу =дня|недели|смены",
        "=в|до =течение|пределах ~2 =часа|часов|дня|дней|суток|минут|недели|<num>",
        "=через ~1 =час|полчаса|<num>|минут|минуту|пару|два|три|несколько",
        "<num> =числа|января|февраля|марта|апреля|мая|июня|июля|августа|сентября|октября|ноября"
        "|декабря|минут|часов|дней|рабочих|го",
        "=в =ближайший =час",
        "=понедельник|вторник|среда|среду|четверг|пятница|пятницу|суббота|субботу",
    ),
    EN: (
        "=by|before|until|at|around|after|from|between|till|no_later_than <num>",
        "<num> =am|pm|a|p|o'clock",
        "=noon|midday|tonight|today|tomorrow|eod|asap|morning|afternoon|evening",
        "=monday|tuesday|wednesday|thursday|friday|saturday|sunday",
        "=end =of =the? =day|week|business",
        "=within ~2 =the|an|a|<num>|two|three|few ~1 =hour|hours|minute|minutes|day|days"
        "|business|working",
        "=in ~1 =an|a|<num>|two|three|few|the_next ~1 =hour|hours|minute|minutes|days",
        "=right_away|right_now|straight_away|immediately",
        "=every ~1 =morning|day|hour|two",
        "=first =thing",
    ),
}
# "Done", "I've processed it", "оформил возврат": the matter is already taken care of.
DONE: dict[str, tuple[str, ...]] = {
    RU: (
        "=оформил|оформила|оформили =возврат|замену|компенсацию|перерасчет|скидку|обмен",
        "=исправил|исправила|исправили|применил|применила|подключил|подключила|восстановил"
        "|восстановила|заменил|заменила|одобрил|одобрила|перевыставил|перевыставила|продлил"
        "|продлила|начислил|начислила|вернули|решил|решила|нашел|нашла",
        "=применена|применен|применено|оформлен|оформлена|оформлено"
        "|исправлен|исправлена|исправлено|восстановлен|восстановлена|восстановлено|выполнен"
        "|выполнена|выполнено|решен|решена|решено|подключена|подключен|подключено|одобрен"
        "|одобрена|готово|возвращены|возвращен|возвращена|зачислены|зачислена|перечислены",
        "=веду|решу|займусь|беру|взял|взяла =я|сам|сама",
        "=ваш|вашим|вашу|вашей ~2 =веду|занимаюсь =я",
        "=теперь ~2 =я|веду|занимаюсь",
    ),
    EN: (
        "=i've|we've|i|we|i_have|we_have|ive =processed|fixed|refunded|approved|booked"
        "|rebooked|applied|credited|corrected|reset|resolved|issued|reserved|scheduled|replaced"
        "|extended|reissued|restored|waived|renewed|reversed|removed"
        "|upgraded|activated|authorised|authorized|honoured|honored|paused|unlocked",
        "^ =done $",
        "=has|have|was|were =been =processed|refunded|approved|credited|corrected|fixed"
        "|resolved|issued|restored|applied|reversed|sent|shipped|booked"
        "|paused|upgraded|extended",
    ),
}


# ---------------- The notation, compiled ----------------

# A token is rendered as "stem:word" ("·" in front for a filler, "," after it when a comma
# follows); tokens are separated by one space; "#" marks a sentence boundary.
_FILLER_GAP = r"(?:·[^ ]+ ){0,4}"
_ANY = r"[^ #][^ ]* "
_CLAUSE_END = r"(?:(?<=, )|(?=# ))"


@dataclass(frozen=True)
class Compiled:
    """A pattern ready to run: the words it may start with (keys) and its regex."""

    phrase: str
    category: str
    language: str
    anchored: bool
    regex: re.Pattern[str]
    keys: tuple[tuple[str, str], ...]
    yields: bool = False


def _token(kind: str, value: str, *, escaped: bool = False) -> str:
    """A regex for one rendered token "stem:word" (see _FILLER_GAP above)."""
    value = value if escaped else re.escape(value)
    if kind == "num":
        body = r"\d+:\d+,?"
    elif kind == "w":
        body = rf"[^ :]+:{value},?"
    elif kind == "p":
        body = rf"[^ :]+:{value}[^ ]*"
    else:
        body = rf"{value}:[^ ]+"
    return rf"·?{body} "


def _atom(text: str, exact: bool) -> tuple[str, str]:
    """(kind, value) of one word: "w" exact word, "p" prefix, "s" stem, "num" a number."""
    if text == "<num>":
        return "num", ""
    if text.endswith("*"):
        return "p", normalise(text[:-1])
    if exact:
        return "w", normalise(text)
    return "s", stem(normalise(text))


class _Builder:
    """Compiles the notation; classes are compiled once and shared."""

    def __init__(self) -> None:
        self.classes: dict[str, tuple[str, list[tuple[str, str]]]] = {}

    def klass(self, name: str) -> tuple[str, list[tuple[str, str]]]:
        if name not in self.classes:
            regexes: list[str] = []
            keys: list[tuple[str, str]] = []
            for spec in CLASSES[name]:
                regex, first = self.sequence(spec)
                regexes.append(regex)
                keys.extend(first)
            self.classes[name] = ("(?:" + "|".join(regexes) + ")", keys)
        return self.classes[name]

    def slot(self, element: str, exact: bool) -> tuple[str, list[tuple[str, str]]]:
        regexes: list[str] = []
        keys: list[tuple[str, str]] = []
        single: dict[str, list[str]] = {"w": [], "s": [], "p": []}
        for alt in element.split("|"):
            if alt.startswith("@"):
                regex, first = self.klass(alt[1:])
                regexes.append(regex)
                keys.extend(first)
                continue
            parts = [_atom(w, exact) for w in alt.split("_") if w]
            if not parts:
                raise ValueError(f"empty alternative in {element!r}")
            keys.append(parts[0])
            if len(parts) == 1 and parts[0][0] in single:
                single[parts[0][0]].append(parts[0][1])
                continue
            regexes.append(_FILLER_GAP.join(_token(kind, value) for kind, value in parts))
        # one regex per kind for single words: the stem or word is read once, not once per word
        for kind, values in single.items():
            if values:
                group = "(?:" + "|".join(re.escape(v) for v in sorted(set(values))) + ")"
                regexes.append(_token(kind, group, escaped=True))
        return "(?:" + "|".join(regexes) + ")", keys

    def sequence(self, spec: str) -> tuple[str, list[tuple[str, str]]]:
        parts: list[str] = []
        first_keys: list[tuple[str, str]] = []
        exact = False
        previous_was_slot = False
        for raw in spec.split():
            if raw.startswith("~"):
                parts.append(f"(?:{_ANY}){{0,{int(raw[1:])}}}")
                previous_was_slot = True  # fillers may follow the gap too
                exact = False
                continue
            if raw == "$":
                parts.append(_CLAUSE_END)
                continue
            element = raw
            if element.startswith("="):
                exact = True
                element = element[1:]
            elif element.startswith(("@", "<")) or element.endswith("*"):
                exact = False
            optional = element.endswith("?") and len(element) > 1
            if optional:
                element = element[:-1]
            regex, keys = self.slot(element, exact)
            if not first_keys:
                if optional or parts:
                    raise ValueError(f"a pattern must start with a required word: {spec!r}")
                first_keys = keys
            if previous_was_slot:
                parts.append(_FILLER_GAP)
            parts.append(f"{regex}?" if optional else regex)
            previous_was_slot = True
        return "".join(parts), first_keys


def _compile(
    spec: str,
    *,
    phrase: str,
    category: str,
    language: str,
    builder: _Builder,
    yields: bool = False,
) -> Compiled:
    anchored = spec.startswith("^ ")
    regex, keys = builder.sequence(spec[2:] if anchored else spec)
    return Compiled(
        phrase, category, language, anchored, re.compile(regex), tuple(keys), yields=yields
    )


@dataclass(frozen=True)
class Lexicon:
    """Compiled patterns, indexed by the words they can start with."""

    patterns: tuple[Compiled, ...]
    by_stem: dict[str, tuple[int, ...]]
    by_word: dict[str, tuple[int, ...]]
    by_prefix: dict[str, tuple[int, ...]]
    by_number: tuple[int, ...]
    prefix_lengths: tuple[int, ...]
    # word -> the patterns that may start at it; filled as words are met
    cache: dict[tuple[str, str], tuple[int, ...]] = field(default_factory=dict, compare=False)

    def starting_at(self, word: str, word_stem: str) -> tuple[int, ...]:
        """The patterns whose first element can match this word, in lexicon order."""
        key = (word, word_stem)
        found = self.cache.get(key)
        if found is None:
            candidates: set[int] = set()
            candidates.update(self.by_stem.get(word_stem, ()))
            candidates.update(self.by_word.get(word, ()))
            for length in self.prefix_lengths:
                if length > len(word):
                    break
                candidates.update(self.by_prefix.get(word[:length], ()))
            if word.isdigit():
                candidates.update(self.by_number)
            found = tuple(sorted(candidates))
            if len(self.cache) >= MAX_CACHED_WORDS:
                self.cache.clear()
            self.cache[key] = found
        return found


def _lexicon(patterns: tuple[Compiled, ...]) -> Lexicon:
    tables: dict[str, dict[str, set[int]]] = {"s": {}, "w": {}, "p": {}}
    numbers: set[int] = set()
    for n, pattern in enumerate(patterns):
        for kind, value in pattern.keys:
            if kind == "num":
                numbers.add(n)
            else:
                tables[kind].setdefault(value, set()).add(n)

    def frozen(table: dict[str, set[int]]) -> dict[str, tuple[int, ...]]:
        return {k: tuple(sorted(v)) for k, v in table.items()}

    return Lexicon(
        patterns,
        frozen(tables["s"]),
        frozen(tables["w"]),
        frozen(tables["p"]),
        tuple(sorted(numbers)),
        tuple(sorted({len(k) for k in tables["p"]})),
    )


@dataclass(frozen=True)
class Builtin:
    """The built-in phrases, and what a reply that takes ownership says (`ownership`, with the
    categories "commitment", "time", "done" and "accepts"; both languages)."""

    phrases: Lexicon
    ownership: Lexicon


@lru_cache(maxsize=1)
def builtin() -> Builtin:
    """The built-in lexicon, compiled once per process (about a third of a second)."""
    builder = _Builder()

    ownership = tuple(
        _compile(spec, phrase=name, category=name, language=language, builder=builder)
        for name, table in (
            ("commitment", COMMITMENT),
            ("time", TIME),
            ("done", DONE),
            ("accepts", ACCEPTS),
        )
        for language, specs in table.items()
        for spec in specs
    )

    phrases = tuple(
        _compile(
            spec,
            phrase=phrase.id,
            category=phrase.category,
            language=phrase.language,
            builder=builder,
            yields=phrase.yields,
        )
        for phrase in PHRASES
        for spec in phrase.patterns
    )
    return Builtin(phrases=_lexicon(phrases), ownership=_lexicon(ownership))


@lru_cache(maxsize=64)
def custom(phrases: tuple[str, ...]) -> Lexicon:
    """An installation's own phrases: every word by its stem, in order, up to two words apart
    ("обратитесь в головной офис" matches "обратитесь, пожалуйста, в наш головной офис")."""
    builder = _Builder()
    patterns = []
    for phrase in phrases[:MAX_CUSTOM]:
        tokens = words(normalise(phrase).replace("’", "'"))[:MAX_CUSTOM_WORDS]
        if not tokens:
            continue
        language = RU if any(re.search("[а-я]", t) for t in tokens) else EN
        # an article is optional: "raise a ticket" matches "raise another ticket"
        elements = [tokens[0]] + [f"{t}?" if t in ARTICLES else t for t in tokens[1:]]
        patterns.append(
            _compile(
                " ~2 ".join(elements),
                phrase="custom:" + " ".join(tokens),
                category=CUSTOM,
                language=language,
                builder=builder,
            )
        )
    return _lexicon(tuple(patterns))
