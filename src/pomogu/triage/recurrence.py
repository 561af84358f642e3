"""Recurrence matcher (rule R5: a repair is a promise too).

`match(text, candidates, now=...)` says whether a new message from a customer is one of their
recently resolved cases coming back: certain (reopen it), possible (link it as a possible
recurrence for an agent to confirm) or not at all (None). It is pure: no database; the caller
loads the customer's resolved cases and acts on the answer. Against ten candidates it takes
about 0.3 ms when their texts were read before (an LRU cache) and 3 ms when not
(bench/recurrence).

What counts, for each candidate resolved within the window:

1. **Identifiers** (`identifiers`): serial numbers and asset tags, contract, account and order
   numbers, MAC addresses, car plates, device models and street addresses, normalised so that
   "д. 5, кв. 12" and "дом 5, квартира 12" or "№ 45-1182" and "#45-1182" compare equal. They
   say which product or service a message is about, in any language, not which problem: an
   identifier alone (a billing question quoting the same contract) is never certain. Another
   value of the same kind (another order, model or address) counts against the candidate.
2. **Topic**: the words of the new message that the old case also has, as Snowball stems, and
   as concepts of a small bilingual lexicon ("роутер"/"router"/"маршрутизатор",
   "моргает"/"индикатор"/"light"), so that a Russian message can match an English case and the
   same symptom in other words still counts. What matters is the share of the new message that
   is about the old case. A subject the old case lacks (a bill, a purchase, a change of
   details, a planned service), another thing (an oven after a hob) or another fault of the
   same thing count against it.
3. **Recurrence phrases**: "снова", "опять", "again", "не помогло", "it's back", "как и в
   прошлый раз", "still won't" (strong); "всё ещё", "still", "тоже", "too" (weak); "после
   ремонта", "after the repair" (strong in a complaint, weak otherwise). "Снова пишу вам",
   "hello again" and "thanks again" are not recurrences; "другой вопрос", "another issue" count
   against.

A mere thank-you ("Спасибо, всё работает") is never a recurrence: `match` returns None, and
`thanks_only` tells the caller to file the message as a note on the case it follows.

The score is 0..1: W_TOPIC x topic + the strongest shared identifier + the recurrence phrases,
times the penalties. A candidate is possible from POSSIBLE; it is certain from CERTAIN when the
topic is shared (TOPIC_CERTAIN), an identifier or a strong recurrence phrase backs it, nothing
counts against it and no other candidate comes within AMBIGUOUS_GAP.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property, lru_cache

from pomogu.triage.text import detect_language, normalise, stem, words

__all__ = [
    "AMBIGUOUS_GAP",
    "CERTAIN",
    "POSSIBLE",
    "TOPIC_CERTAIN",
    "WINDOW_DAYS",
    "Candidate",
    "Match",
    "identifiers",
    "match",
    "thanks_only",
]

WINDOW_DAYS = 30
# The thresholds were chosen on data/recurrence/dev.csv (one candidate per pair; figures in
# data/recurrence/README.md). POSSIBLE: the highest score that still finds every "same" pair of
# dev.csv (0.3 finds them too with one more unrelated link, 0.4 loses one). CERTAIN and
# TOPIC_CERTAIN: every value from 0.5 to 0.7 (0.2 to 0.5) gives the same automatic reopens on
# dev.csv, all right; the highest of them, for a margin. AMBIGUOUS_GAP is a judgment, not tuned.
POSSIBLE = 0.35
CERTAIN = 0.7
TOPIC_CERTAIN = 0.5
AMBIGUOUS_GAP = 0.1  # a runner-up this close to the best makes the choice an agent's

# How much a shared identifier of each kind adds to the score.
ID_WEIGHT = {
    "serial": 0.35,
    "mac": 0.35,
    "code": 0.3,
    "plate": 0.3,
    "case": 0.35,
    "order": 0.3,
    "contract": 0.25,
    "account": 0.25,
    "model": 0.2,
    "address": 0.2,
}
ID_NAME = {
    "serial": "serial number",
    "mac": "MAC address",
    "code": "code",
    "plate": "car plate",
    "case": "case number",
    "order": "order",
    "contract": "contract",
    "account": "account",
    "model": "model",
    "address": "address",
}
# Kinds whose values are numbers of one kind or another: compared by value across kinds, since
# a customer calls the same number "договор" once and "лицевой счёт" the next time.
NUMBER_KINDS = frozenset({"serial", "code", "order", "contract", "account", "case", "plate"})
# Kinds where another value means another product or service.
CONFLICT_KINDS = frozenset({"serial", "mac", "order", "model", "address", "plate"})

# The weights of the score, set by hand and checked on dev.csv.
W_TOPIC = 0.55
W_RECUR_STRONG = 0.3
W_RECUR_WEAK = 0.15
RECUR_CAP = 0.35
TOPIC_SATURATION = 2.0  # shared weight (a concept 1, a plain stem 0.5) at which topic is full
OTHER_THING = 0.6  # another thing than the old case's
OTHER_FAULT = 0.7  # another fault of the same thing
OTHER_PROBLEM = 0.3  # "другой вопрос", "another issue"
CONFLICT = 0.5  # another order, model, address... of the same kind
NEW_SUBJECT = 0.4  # a bill, a purchase... that the old case lacks, and no fault
NEW_SUBJECT_WITH_FAULT = 0.7
NO_FAULT = 0.75  # the message reports nothing wrong and no recurrence
MAX_REASON_WORDS = 4
LANGUAGE_SAMPLE = 400  # characters, enough to tell Russian from English
_CYRILLIC_RE = re.compile(r"[а-яё]", re.IGNORECASE)
_LATIN_RE = re.compile(r"[a-z]", re.IGNORECASE)


# --- identifiers -------------------------------------------------------------------------------

_NO = r"(?:\s*(?:№|#|n°|no\.?|nr\.?|num(?:ber)?\.?|номер|ном\.)\s*|\s*[:№#]\s*|\s+)"
_VALUE = r"(?P<v>[0-9a-zа-яё][0-9a-zа-яё_/-]*[0-9a-zа-яё]|\d)"
_KEYWORDS: tuple[tuple[str, str], ...] = (
    (
        "serial",
        r"серийн(?:ый|ого|ому|ым)\s+номер(?:а|ом)?|серийник(?:а|ом)?|с/н|s/n|\bsn\b|serial"
        r"(?:\s+(?:no|number))?|service\s+tag|asset\s+tag|инвентарн(?:ый|ого|ым)\s+номер(?:ом|а)?"
        r"|imei|серийн(?:ый|ого)",
    ),
    (
        "contract",
        r"номер(?:а|ом)?\s+договора|договор(?:а|у|ом|е)?(?:\s+на\s+[а-яё]+)?|contract|agreement",
    ),
    (
        "account",
        r"лицев(?:ой|ого|ому|ым)\s+сч[её]т(?:а|у|ом|е)?|л/с|\bл\.\s?с\.|аккаунт(?:а|у|ом|е)?"
        r"|account(?:\s+(?:no|number|id))?|acc(?:oun)?t\.?|customer\s+(?:no|number|id)",
    ),
    (
        "order",
        r"номер(?:а|ом)?\s+заказа|заказ(?:-наряд)?(?:а|у|ом|е)?|заказ(?:е|у)\s+на\s+установку"
        r"|наряд(?:а|у)?|order|job(?:\s+card)?|работ[аы]\s+по\s+заказу",
    ),
    ("case", r"заявк(?:а|и|е|у|ой)|обращени(?:е|я|ю|ем)|тикет(?:а|у)?|ticket|case|request"),
    ("plate", r"госномер(?:а|ом)?|гос\.\s?номер|гос\s+номер|номер\s+машины|reg(?:istration)?"),
)
_KEYWORD_RE = [
    (kind, re.compile(rf"(?<!\w)(?:{words_re}){_NO}{_VALUE}", re.IGNORECASE))
    for kind, words_re in _KEYWORDS
]
# Numbers that are something else: a date or time straight after, a price, the start of a
# phone number.
_AFTER_NOT_ID = re.compile(
    r"^(?:[.,:]\d|\s*(?:руб|р\.|₽|\$|€|£|usd|eur|rub|gbp|доллар|евро|dollars?|pounds?|мбит|гб|"
    r"мб|mbps|gb|mb|%|шт|pcs|км|km|мин|min|час|hours?|дн|days?|лет|years?|раз|times?)"
    r"|[\s-]?\d{2,3}[\s-]\d{2}[\s-]\d{2}\b)",
    re.IGNORECASE,
)
_DATE_RE = re.compile(r"^\d{1,2}[./-]\d{1,2}(?:[./-]\d{2,4})?$|^(?:19|20)\d\d[./-]\d\d?[./-]\d\d?$")
# A request number needs a sign in front: "case 5" is English, "case #5531" is a number.
_CASE_SIGN = re.compile(r"(?:№|#|no\.?|number|номер)\s*\d|(?:заявк|обращени|тикет)\w*\s+\d")
_MAC_RE = re.compile(
    r"(?<![0-9a-f:-])([0-9a-f]{2})([:-])([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2"
    r"([0-9a-f]{2})\2([0-9a-f]{2})(?![0-9a-f:-])|(?<![0-9a-f.])([0-9a-f]{4})\.([0-9a-f]{4})\."
    r"([0-9a-f]{4})(?![0-9a-f.])",
    re.IGNORECASE,
)
# Codes written in capitals that mix letters and digits, like "4HX2-99812" or "SB-220-771903":
# serial numbers and asset tags written without a keyword. At least six characters, so that
# error codes ("E10") and short model names ("C6") are not taken.
_CODE_RE = re.compile(
    r"(?<![\w-])(?=[A-ZА-ЯЁ0-9-]*\d)(?=[A-ZА-ЯЁ0-9-]*[A-ZА-ЯЁ])[A-ZА-ЯЁ0-9]+(?:-[A-ZА-ЯЁ0-9]+)*"
    r"(?![\w-])"
)
# Russian car plates: letter, three digits, two letters, region.
_PLATE_RE = re.compile(
    r"(?<![\w])[АВЕКМНОРСТУХABEKMHOPCTYX]\s?\d{3}\s?[АВЕКМНОРСТУХABEKMHOPCTYX]{2}\s?\d{2,3}(?![\w])"
)


def _words(text: str) -> list[str]:
    return text.split()


_LOOKALIKE = str.maketrans("авекмнорстухё", "abekmhopctyxe")

_BRANDS = _words(
    "tp-link tplink keenetic zyxel asus d-link dlink huawei xiaomi redmi mikrotik netgear tenda "
    "mercusys ubiquiti samsung lg apple iphone ipad macbook lenovo dell hp acer msi sony bosch "
    "siemens indesit electrolux beko gorenje whirlpool haier atlant candy hotpoint delonghi "
    "de'longhi philips roborock dyson baxi vaillant ariston navien canon epson brother "
    "kyocera xerox pixel nokia motorola realme honor oneplus kia hyundai ford toyota lada renault "
    "volkswagen skoda nissan garmin fitbit amazfit yandex"
)
# Product lines that name a device without the brand ("IdeaPad 5", "Galaxy A52").
_SERIES = _words(
    "archer deco giga ultra viva speedster hero extra omni vivobook zenbook ideapad thinkpad "
    "yoga xps inspiron latitude elitebook probook pavilion galaxy tab note laserjet deskjet "
    "magnifica serie rio solaris focus polo octavia"
)
_MODEL_STOP = frozenset(
    _words("i the my a an is it and or with for in on at to of from has have was not no but s")
)
_MODEL_NAMES = frozenset(_BRANDS) | frozenset(_SERIES)
# A word that might be a brand or a product line; the words after it are read by _MODEL_RE.
_LATIN_WORD_RE = re.compile(r"(?<![\w-])[A-Za-z][A-Za-z'-]*")
_MODEL_RE = re.compile(r"[A-Za-z'-]+(?:[ \t]+[A-Za-z0-9][A-Za-z0-9+-]*){0,3}")
_MODEL_TOKEN_RE = re.compile(r"[ \t]+([A-Za-z0-9][A-Za-z0-9+-]*)")

_RU_STREET = (
    r"ул(?:ица|ице|ицы|\.)?|пр(?:оспект|оспекте|-т|осп\.?|\.)|пер(?:еулок|еулке|\.)|б-р|бульвар"
    r"(?:е)?|ш(?:оссе|\.)|наб(?:ережная|ережной|\.)|пл(?:ощадь|ощади|\.)|проезд(?:е)?|мкр\.?"
    r"|микрорайон(?:е)?|аллея|тупик"
)
_RU_HOUSE = (
    r"[,\s]+(?:(?:д|дом)\.?\s*)?(?P<house>\d{1,4}[а-я]?(?:/\d{1,3})?)(?![\d.,:]\d)"
    r"(?:[,\s]*(?:корп(?:ус)?\.?|к\.?)\s*(?P<block>\d{1,2})(?!\d))?"
    r"(?:[,\s]*(?:стр(?:оение)?\.?)\s*(?P<building>\d{1,2})(?!\d))?"
    r"(?:(?:[,\s]*(?:кв(?:артира|\.)?|оф(?:ис|\.)?)\.?\s*|-)(?P<flat>\d{1,4})(?!\d|[.,:]\d))?"
)
_RU_NAME = r"(?P<name>(?:\d{1,2}-?[а-я]{0,2}\s+)?(?:(?!(?:д|дом|кв)\b)[а-яё][а-яё-]+\s*){1,3}?)"
_RU_ADDRESS_RE = re.compile(rf"(?<![\w])(?:{_RU_STREET})\s*{_RU_NAME}{_RU_HOUSE}", re.IGNORECASE)
# "Садовая 14, кв. 37", "Гагарина 3-45": a capitalised name that looks like a street, or any
# name followed by a flat.
_RU_SHORT_RE = re.compile(
    r"(?<![\w])(?P<name>[А-ЯЁ][а-яё]+(?:ая|яя|ой|ий|ый|ина|ына|ова|ева|ого|его|ей|ых|их|ская"
    r"|ский|ской))\s+(?P<house>\d{1,4}[а-я]?)(?:(?:[,\s]*(?:кв(?:артира|\.)?)\.?\s*|-)"
    r"(?P<flat>\d{1,4}))?(?!\w|[.,:]\d)"
    r"|(?<![\w])(?P<name2>[А-ЯЁа-яё][а-яё]{3,})\s+(?P<house2>\d{1,4}[а-я]?)[,\s]*(?:кв(?:артира|\.)?)\.?\s*"
    r"(?P<flat2>\d{1,4})(?![\d\w])",
)
# Street types as written -> as compared.
_EN_STREET = dict(
    pair.split("=")
    for pair in _words(
        "street=street st=street road=road rd=road avenue=avenue ave=avenue av=avenue lane=lane "
        "ln=lane drive=drive dr=drive boulevard=boulevard blvd=boulevard way=way place=place "
        "pl=place court=court ct=court square=square sq=square terrace=terrace close=close "
        "crescent=crescent gardens=gardens parkway=parkway highway=highway"
    )
)
_EN_FLAT = r"(?:flat|apt\.?|apartment|unit|suite|#)"
_EN_ADDRESS_RE = re.compile(
    rf"(?:{_EN_FLAT}\s*(?P<flat1>\d{{1,4}}[a-z]?),?\s+)?(?<![\w£$€.,:/-])(?P<house>\d{{1,4}}[a-z]?)"
    rf"\s+(?P<name>(?:[a-z][a-z'’]+\s+){{1,3}}?)(?P<type>{'|'.join(_EN_STREET)})\b\.?"
    rf"(?:,?\s*{_EN_FLAT}\s*(?P<flat2>\d{{1,4}}[a-z]?)\b)?",
    re.IGNORECASE,
)
_EN_NAME_STOP = frozenset(
    _words(
        "the a an my our your this that on in at of to for and or is are was be it its with "
        "times minutes hours days weeks months years mbps gb pm am"
    )
)


@dataclass(frozen=True)
class _Ident:
    kind: str
    key: str  # "kind:value", as `identifiers` returns it
    shown: str  # as the customer wrote it
    span: tuple[int, int]  # where, keyword included


def _compact(value: str) -> str:
    """A number's value for comparison: no separators, Latin look-alikes for Cyrillic."""
    return re.sub(r"[\s/_.-]", "", value.lower().translate(_LOOKALIKE))


def _number_value(raw: str) -> str | None:
    value = raw.strip("-/_").lower()
    if not any(c.isdigit() for c in value) or len(_compact(value)) < 3:
        return None
    if _DATE_RE.match(value):
        return None
    return value


def _address_key_ru(name: str, house: str, block: str | None, flat: str | None) -> str | None:
    tokens = [t for t in words(normalise(name)) if t not in ("д", "дом", "кв")]
    if not tokens:
        return None
    key = " ".join(stem(t) for t in tokens) + " " + house.lower()
    if block:
        key += "к" + block
    if flat:
        key += " кв " + flat
    return key


# Words before a number that make it something else than a street ("Заказ 12345").
_KEYWORD_WORDS_RE = re.compile(
    r"^(?:заказ|договор|счет|сч[её]т|номер|аккаунт|наряд|заявк|тариф|пробег|верси|квартир|дом"
    r"|подъезд|этаж|котел|ошибк|код|модел|сери|телефон|кабинет|отчет|давлени|скорост|порт)"
)


def _extract(text: str) -> list[_Ident]:
    """Every identifier in a text, in order of appearance, with its spelling there."""
    text = text[:4000]
    found: list[_Ident] = []
    taken: list[tuple[int, int]] = []

    def add(kind: str, value: str, shown: str, span: tuple[int, int]) -> None:
        found.append(_Ident(kind, f"{kind}:{value}", shown.strip(" ,."), span))
        taken.append(span)

    def free(span: tuple[int, int]) -> bool:
        return all(span[1] <= a or span[0] >= b for a, b in taken)

    for m in _MAC_RE.finditer(text):
        if m.group(1):
            parts = [m.group(i) for i in (1, 3, 4, 5, 6, 7)]
            value = ":".join(p.lower() for p in parts)
        else:
            hexes = "".join(m.group(i) for i in (8, 9, 10)).lower()
            value = ":".join(hexes[i : i + 2] for i in range(0, 12, 2))
        add("mac", value, m.group(0), m.span())
    for kind, regex in _KEYWORD_RE:
        for m in regex.finditer(text):
            if not free(m.span()):
                continue
            number = _number_value(m.group("v"))
            if number is None or _AFTER_NOT_ID.match(text[m.end() : m.end() + 16]):
                continue
            if kind == "case" and not _CASE_SIGN.search(m.group(0).lower()):
                continue
            add(kind, _compact(number) if kind == "plate" else number, m.group("v"), m.span())
    for m in _PLATE_RE.finditer(text):
        if free(m.span()):
            add("plate", _compact(m.group(0)), m.group(0), m.span())
    for m in _CODE_RE.finditer(text):
        raw = m.group(0)
        compact = _compact(raw)
        digits = sum(c.isdigit() for c in compact)
        if len(compact) < 6 or digits < 2 or not free(m.span()) or _DATE_RE.match(raw):
            continue
        add("code", raw.lower(), raw, m.span())
    for word in _LATIN_WORD_RE.finditer(text):
        if word.group(0).lower() not in _MODEL_NAMES:
            continue
        found_model = _MODEL_RE.match(text, word.start())
        if found_model is None or not free(found_model.span()):
            continue
        brand = word.group(0).lower().replace("tplink", "tp-link").replace("dlink", "d-link")
        tokens: list[str] = []
        model_end = word.end()
        for token in _MODEL_TOKEN_RE.finditer(text, word.end(), found_model.end()):
            name = token.group(1)
            if name.lower() in _MODEL_STOP or not (
                any(c.isdigit() for c in name) or name[0].isupper() or name.lower() in _SERIES
            ):
                break
            tokens.append(name.lower())
            model_end = token.end()
        if tokens:
            span = (word.start(), model_end)
            add("model", " ".join([brand, *tokens]), text[span[0] : span[1]], span)
    for m in _RU_ADDRESS_RE.finditer(text):
        key = _address_key_ru(m.group("name"), m.group("house"), m.group("block"), m.group("flat"))
        if key and free(m.span()):
            add("address", key, m.group(0), m.span())
    for m in _RU_SHORT_RE.finditer(text):
        name = m.group("name") or m.group("name2")
        house = m.group("house") or m.group("house2")
        flat = m.group("flat") or m.group("flat2")
        if not free(m.span()) or re.match(_KEYWORD_WORDS_RE, name.lower()):
            continue
        key = _address_key_ru(name, house, None, flat)
        if key:
            add("address", key, m.group(0), m.span())
    for m in _EN_ADDRESS_RE.finditer(text):
        name_words = [w.replace("'", "").replace("’", "") for w in m.group("name").lower().split()]
        if any(w in _EN_NAME_STOP for w in name_words) or not free(m.span()):
            continue
        flat = m.group("flat1") or m.group("flat2")
        street = _EN_STREET[m.group("type").lower()]
        key = f"{m.group('house').lower()} {' '.join(name_words)} {street}"
        if flat:
            key += f" flat {flat.lower()}"
        add("address", key, m.group(0), m.span())
    return found


def identifiers(text: str) -> frozenset[str]:
    """What identifies the product or service in a text, as "kind:value" strings.

    Kinds: serial, code (a capitalised letters-and-digits code without a keyword), contract,
    account, order, case, plate, mac, model, address. Dates, times, prices and phone numbers
    are not identifiers.
    """
    return frozenset(ident.key for ident in _extract(text))


def _split(key: str) -> tuple[str, str]:
    kind, _, value = key.partition(":")
    return kind, value


def _same_value(kind_a: str, a: str, kind_b: str, b: str) -> bool:
    if kind_a in NUMBER_KINDS and kind_b in NUMBER_KINDS:
        return _compact(a) == _compact(b)
    if kind_a != kind_b:
        return False
    if kind_a == "model":
        ta, tb = a.split(), b.split()
        short, long = (ta, tb) if len(ta) <= len(tb) else (tb, ta)
        if not set(short) <= set(long):
            return False
        return len(short) >= 2 or any(c.isdigit() for c in short[0])
    if kind_a == "address":
        return _same_address(a, b)
    return a == b


def _same_address(a: str, b: str) -> bool:
    """The same building, and the same flat unless one of them does not say."""
    building_a, _, flat_a = re.sub(r" (?:кв|flat) ", "|", a, count=1).partition("|")
    building_b, _, flat_b = re.sub(r" (?:кв|flat) ", "|", b, count=1).partition("|")
    if building_a != building_b:
        return False
    return not flat_a or not flat_b or flat_a == flat_b


# --- topic -------------------------------------------------------------------------------------

# Concepts of the customer-service domain, in both languages: one line per concept (or more for
# a long one), "concept class words". Words are listed in a few forms and stemmed at import; a
# stem can belong to more than one concept ("батарея" is a radiator and a battery). Classes:
# "thing" (what is affected), "symptom" (how it fails), "repair" (what was done), and the
# subjects that are not a fault: "billing", "sales", "admin", "maintenance".
_LEXICON = """
internet     thing    интернет интернета инет internet broadband онлайн online
router       thing    роутер роутера маршрутизатор модем терминал ont router modem hub
wifi         thing    wifi fi вайфай фай wlan беспроводной wireless сеть сети network
cable        thing    кабель кабеля провод патч-корд коннектор cable wire wired lead socket
server       thing    сервер сервера server ip статический static белый
mobile-data  thing    мобильный мобильная мобильного lte data
speed        symptom  скорость скорости мбит мегабит медленно медленный тормозит тормоза
speed        symptom  speed speeds mbps slow crawls buffering буферизация лагает lag lags
ping         thing    пинг задержка ping latency
drop         symptom  пропадает пропал пропала пропадать обрывается обрыв отваливается отвалился
drop         symptom  разрыв теряет теряют потеря прерывается заикается drops dropping dropped
drop         symptom  disconnects disconnecting disconnect cuts cutting lose loses losing stutters
jump         symptom  скачет прыгает перескакивает нестабильный нестабильно spikes spiking
jump         symptom  jumps jumping skips skipping slipping unstable
load         symptom  грузится загружается загрузка открывается открываются load loads loading
outage       symptom  нет down offline офлайн недоступен недоступно unreachable reachable доступа
tv           thing    телевидение тв телевизор телевизора каналы канал iptv tv television channels
tv           thing    channel
box          thing    приставка приставки приставку ресивер тв-приставка set-top
artifacts    symptom  квадраты квадратиками квадратами рассыпается артефакты blocky
artifacts    symptom  pixelated pixelation
signal       thing    сигнал сигнала signal reception покрытие coverage палка палки
signal       thing    вышка станции станция mast
calls        thing    звонки звонок вызовы звонить calls call calling
landline     thing    гудка гудок landline домашний dial tone
sms          thing    смс sms текст texts коды код code codes verification
light        symptom  индикатор лампочка лампочки светодиод горит загорается моргает мигает
light        symptom  светится light lights led blinking blinks flashing flashes lit
red          symptom  красный красным красная red
power        symptom  питание питания включается включить выключается включаю кнопка power button
power        symptom  turn switch
charge       thing    заряжается зарядка зарядку зарядное заряд адаптер charging charge charger
charge       thing    adapter
battery      thing    аккумулятор аккумулятора батарея батарейка садится разряжается battery
battery      thing    drains
breaker      thing    автомат выбивает пробки breaker trips tripped fuse электричество electricity
heating      thing    отопление батарея батареи радиатор радиатора heating radiator
cold         symptom  холодная холодный холодно холодные тепло теплая теплый cold warm lukewarm
hot-water    thing    горячей горячая горячую hot
leak         symptom  течет протекает протечка протечки капает подтекает лужа капать вода воду
leak         symptom  leak leaks leaking drip dripping drips puddle water
drain        symptom  сливает слив засор засорилась уходит drain draining drains clogged
pressure     thing    напор давление pressure trickle
ceiling      thing    потолок потолка потолке ceiling
washer       thing    стиральная стиралка стиральной стирка стирки washing washer wash
dishwasher   thing    посудомойка посудомоечная посудомойке dishwasher
fridge       thing    холодильник холодильника холодильнике морозилка морозит fridge refrigerator
fridge       thing    freezer
oven         thing    духовка духовой духовку духовке oven
hob          thing    плита плите варочная конфорка конфорки поджиг электроподжиг hob stove cooker
hob          thing    burner ignition
microwave    thing    микроволновка микроволновая микроволновку microwave
coffee       thing    кофемашина кофемашину кофе coffee
vacuum       thing    пылесос пылесоса робот-пылесос vacuum roborock dock база базу базы
dryer        thing    сушильная сушка сушки влажное бельё белье dryer tumble damp
hood         thing    вытяжка вытяжки hood extractor
boiler       thing    котел котла boiler
aircon       thing    кондиционер кондиционера сплит conditioner ac aircon
laptop       thing    ноутбук ноутбука ноутбуке laptop notebook
computer     thing    компьютер системник системный pc computer desktop
phone        thing    телефон телефона смартфон phone smartphone iphone mobile
tablet       thing    планшет планшета tablet
screen       thing    экран экрана дисплей дисплея монитор монитора screen display monitor
stripes      symptom  полосы полоски мерцает мерцание подмигивает lines flickers flicker
stripes      symptom  flickering
blank        symptom  гаснет погас черный blanks blanking black
pixel        symptom  пиксель пикселя пиксели битый pixel pixels
printer      thing    принтер принтера мфу printer
paper        symptom  бумага бумаги замятие замятия paper jam
sound        thing    звук звука динамик динамики молчат sound audio speaker speakers silent
sound        thing    наушниках headphones
earbud       thing    наушник наушники earbud earbuds
camera       thing    камера камеры видеонаблюдение camera cameras cctv
watch        thing    часы watch smartwatch
login        thing    вход войти зайти входа пускает логин авторизация авторизации login log
login        thing    locked sign authenticating authentication authorisation
password     thing    пароль пароля password
app          thing    приложение приложения приложении app application
crash        symptom  вылетает закрывается падает виснет зависает crash crashes freezes freeze
crash        symptom  hangs
error        symptom  ошибка ошибку ошибкой error fault code
site         thing    сайт сайта хостинг хостинге site website hosting page pages
email        thing    почта почту письма письмо ящик email emails mail mailbox gmail bounces
email        thing    bouncing
sync         thing    синхронизация синхронизируются обмен выгрузка выгружаются sync syncing
sync         thing    export
report       thing    отчет отчета report
video        thing    видео видеоуроки video videos
vpn          thing    vpn впн
delivery     thing    доставка доставки курьер курьера привезли привез доставили delivery courier
delivery     thing    delivered arrived tracking трекингу
missing      symptom  нехватает хватает комплектация missing without
cracked      symptom  треснутая трещина трещиной разбитая разбита треснула cracked broken damaged
locker       thing    постамат постамате ячейка locker
door         thing    дверь двери door doors
intercom     thing    домофон домофона трубка intercom buzzer handset entry
lift         thing    лифт лифта lift elevator
window       thing    окно окна окне стеклопакет стекла стекло window windows pane panes glass
fog          symptom  запотел запотевает конденсат condensation misting fogging
noise        symptom  шум шумит гудит гудение дребезжит вибрирует стук стучит скрипит noise
noise        symptom  humming hum vibrating rattles clunk clunking knock creaks
car          thing    машина автомобиль подвеска подвески car suspension
chain        thing    цепь переключатель звезды звездам chain gears cogs derailleur
wardrobe     thing    шкаф шкафа шкаф-купе wardrobe
generic      symptom  сломался сломалось сломан неисправность broken dead
repair       repair   ремонт ремонта починили заменили замена замены мастер мастера инженер
repair       repair   монтажник слесарь визит repair repaired replaced replacement fixed engineer
repair       repair   technician visit swap swapped
bill         billing  счет квитанция квитанции выставил сумма сумму invoice invoiced bill
bill         billing  statement receipt чек акт сверки
payment      billing  оплата оплатил заплатил платеж платежа оплату payment paid pay
charged      billing  списали списание списаний debit overcharged
refund       billing  возврат вернуть верните refund refunded
money        billing  деньги денег руб рублей рубля money
tariff       billing  тариф тарифа тарифу plan пакет пакеты package bundle
balance      billing  баланс баланса balance
buy          sales    купить докупить купил заказать покупка buy purchase sell quote
buy          sales    коммерческое предложение наличии stock
price        sales    стоимость стоит цена цену скидка price cost costs discount loyalty сколько
accessory    sales    чехол защитное кронштейн полку полка сетки protector arm shelf
change       admin    перенести переезжаю переезд добавить заморозить обменять add transfer
change       admin    moving move exchange enable upgrade
certificate  admin    сертификат талон certificate paperwork
maintenance  maintenance  обслуживание чистка почистить плановое ежегодное servicing annual
maintenance  maintenance  cleaning planned
"""
_INTENT_CLASSES = frozenset({"billing", "sales", "admin", "maintenance"})
# Phrases that name a concept where single words would mislead ("charge" is also what a battery
# does, "service" also what a provider sells, "то" also a pronoun).
_PHRASES: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"\b(?:charged?|charging) (?:me|us|twice|for|extra|double)|\bextra charges\b"),
        "charged",
    ),
    (
        re.compile(
            r"\b(?:annual|next|planned|yearly|regular) service|\bservice (?:is )?due|"
            r"\bплановое то\b|\bто котла\b|\bна то\b"
        ),
        "maintenance",
    ),
    (re.compile(r"\bподключить (?:услуг\w*|тв|телевидение|тариф|пакет\w*|интернет)"), "change"),
    (re.compile(r"\bhow much\b"), "price"),
)
# Words whose stem is a concept's by accident ("почти" and "почта", "стоит" and "стоимость").
_NOT_CONCEPT = frozenset({"почти", "стоит", "дома"})

_STOPWORDS_RAW = (
    # Russian
    "и в во не что он на я с со как а то все всё она так его но да ты к у же вы за бы по только "
    "ее её мне было вот от меня еще ещё нет о из ему теперь когда даже ну вдруг ли если уже или "
    "ни быть был него до вас нибудь опять уж вам ведь там потом себя ничего ей может они тут где "
    "есть надо ней для мы тебя их чем была сам чтоб без будто чего раз тоже себе под будет ж "
    "тогда кто этот того потому этого какой совсем ним здесь этом один почти мой тем чтобы нее "
    "сейчас были куда зачем всех никогда можно при наконец два об другой хоть после над больше "
    "тот через эти нас про всего них какая много разве три эту моя впрочем хорошо свою этой "
    "перед иногда лучше чуть том нельзя такой им более всегда конечно всю между это мы наш наши "
    "наша вашей ваш ваша ваши вашего снова ли пожалуйста здравствуйте добрый доброе день вечер "
    "утро спасибо благодарю привет уважаемые подскажите помогите просим прошу проблема проблемы "
    "проблему вопрос вопросу вопросом клиент клиенту случай случае очень уже весь вся также "
    "который которая которые сегодня вчера утром вечером раньше назад неделю недели дня дней "
    "месяц месяца прошлом прошлый прошлой раз снова опять вновь пишу пишем обращаюсь срочно "
    "посмотрите сделать делать был была были стал стала стало очередной хотя всё-таки ещё "
    # English
    "a an the and or but if of at by for with about against between into through during before "
    "after above below to from up down in out on off over under again further then once here "
    "there when where why how all any both each few more most other some such no nor not only "
    "own same so than too very s t can will just don should now i me my myself we our ours you "
    "your yours he him his she her it its they them their what which who whom this that these "
    "those am is are was were be been being have has had having do does did doing would could "
    "hi hello dear please thanks thank thankyou regards kind best team issue problem problems "
    "question help still back since today yesterday morning evening week weeks month ago last "
    "time like just also got get gets getting keeps keep going go goes went come came anything "
    "nothing everything something one two three ve ll re d m address адрес адресу решение "
    "resolution warranty гарантия гарантии гарантийный гарантийного "
    "won't can't don't isn't doesn't didn't aren't haven't hasn't wasn't couldn't "
    "wouldn't cannot"
)
_STOP_STEMS = frozenset(stem(w) for w in normalise(_STOPWORDS_RAW).split())


def _build_lexicon() -> tuple[dict[str, tuple[str, ...]], dict[str, str]]:
    concepts: dict[str, list[str]] = {}
    classes: dict[str, str] = {}
    for line in _LEXICON.strip().splitlines():
        concept, klass, *forms = line.split()
        classes[concept] = klass
        for form in forms:
            for token in words(normalise(form)):
                key = stem(token)
                if concept not in concepts.setdefault(key, []):
                    concepts[key].append(concept)
    return {key: tuple(value) for key, value in concepts.items()}, classes


_CONCEPTS, _CLASS = _build_lexicon()
_CONCEPT_WEIGHT = {"thing": 1.0, "symptom": 1.0, "repair": 0.3}
_STEM_WEIGHT = 0.5
_CODE_TERM_RE = re.compile(r"(?<![\w-])([A-Za-z]{1,2}\d{1,3}|\d{3}|[2-5][GgГг])(?![\w-])")

# Recurrence and its opposites, on normalised text (lower case, ё as е).
_NOT_AGAIN = re.compile(
    r"\b(?:(?:ещ?е раз|снова|опять|вновь)\s+(?:вам\s+)?(?:спасиб\w*|благодар\w*|пишу|пишем|"
    r"обраща\w+|к вам|беспоко\w+|с вопросом)|спасибо\s+(?:вам\s+)?ещ?е раз|"
    r"(?:thanks|thank you)\s+(?:\w+\s+)?again|(?:once )?again,? thank|"
    r"(?:me|hello|hi|hey) again|writing (?:to you )?again|"
    r"contacting you again|(?:снова|опять) (?:все )?(?:работает|заработал\w*|варит|ловит|греет)|"
    r"(?:works|working|running) (?:fine |perfectly |great )?again)\b"
)
_STRONG_AGAIN = re.compile(
    r"\b(?:снова|опять|вновь|повторно|опять двадцать пять|повтор(?:ил|яет|яют)ся|again|once more"
    r"|recurr\w*|came back|comes back|(?:is|are|it'?s|has come) back|coming back|"
    r"вернул(?:ся|ась|ись|ось)|возобновил\w*|(?:та же|такая же|та самая) (?:проблема|беда|"
    r"история|ошибка|неисправность|ситуация)|то же самое|same (?:problem|issue|fault|error|thing)"
    r"|same as (?:before|last)|как (?:и )?в прошлый раз|как раньше|как (?:и )?до (?:ремонта|"
    r"визита|замены|вашего)|like before|as before|не помогл[оаи]?|не помогает|didn'?t help|"
    r"did not help|doesn'?t help|didn'?t fix|not fixed|isn'?t fixed|thought (?:this|it) was "
    r"fixed|уже было (?:такое|так)|had this before|эта история)\b"
)
_WEAK_AGAIN = re.compile(
    r"\b(?:ещ?е раз|вс[её] ещ?е|по-прежнему|до сих пор|так и не|вс[её] так же|вс[её] равно|"
    r"тоже|также|still|too|as well|either|anymore|any more|last time|в прошлый раз|"
    r"в прошлом месяце|last month|last week|на прошлой неделе|недел[юи] назад|weeks? ago)\b"
)
_REPAIR_REFERENCE = re.compile(
    r"\b(?:после (?:вашего |вашей )?(?:ремонта|замены|визита|починки|обновления|прошивки|"
    r"чистки|регулировки)|after (?:the|your) (?:repair|replacement|fix|visit|update|service|"
    r"engineer|technician)|since the (?:repair|replacement|fix|update|service)|you (?:fixed|"
    r"replaced|repaired|swapped|changed|realigned)|мастер (?:же )?(?:приходил|был)|"
    r"вы (?:же )?(?:меняли|чинили|починили|заменили|ремонтировали|писали)|you said|"
    r"как вы (?:советовали|сказали)|like you said|was (?:fixed|repaired|replaced)|"
    r"(?:engineer|technician) came)\b"
)
# "Still" with a negation is no longer weak: "still won't sync", "так и не пришли".
_STILL_NOT = re.compile(
    r"\b(?:still|вс[её] равно|по-прежнему|до сих пор|вс[её] ещ?е|так и|вс[её] так же)\s+"
    r"(?:[\w'’-]+\s+){0,2}?(?:не|нет|no|not|won'?t|doesn'?t|isn'?t|can'?t|hasn'?t|haven'?t|"
    r"don'?t|aren'?t|wasn'?t|didn'?t)\b"
)
_OTHER_PROBLEM = re.compile(
    r"\b(?:(?:друг(?:ой|ому|ая|ую)|нов(?:ый|ому|ая|ую)|ин(?:ой|ому)|отдельн\w+) "
    r"(?:вопрос\w*|проблем\w*|тем\w*)|по другому поводу|теперь (?:про|по поводу|с)|"
    r"не связан\w*|another (?:question|issue|problem|thing|matter)|different "
    r"(?:question|issue|problem|matter)|new (?:question|issue|problem)|unrelated|this time|"
    r"separate (?:question|issue|matter)|уже другим)\b"
)
_THANKS = re.compile(
    r"\b(?:спасиб\w*|благодар\w*|thanks?|thank you|thx|cheers|appreciated?|much obliged)\b"
)
_RESOLVED = re.compile(
    r"(?:вс[её] (?:теперь )?(?:работает|ок|в порядке|отлично|хорошо|супер)|работает (?:отлично|"
    r"нормально|хорошо|как часы|как нов\w+|тихо|без проблем)|ездит как нов\w+|(?:проблема|вопрос)"
    r" решен\w*|решено|получилось|заработал\w*|без проблем|больше нет|(?:works|working|runs) "
    r"(?:now|fine|great|perfectly|again)|all (?:good|working|sorted|fine)|sorted|resolved|fixed "
    r"now|no more \w+|fine now|great now|like new|is perfect|has been perfect|i'?m in|"
    r"(?:is|are) (?:\w+ ){0,3}now\b)"
)
# A question or a request after the thanks is more than a thank-you: someone must answer it.
_REQUEST = re.compile(
    r"\?|\b(?:подскажите|скажите|можно ли|пожалуйста|прошу|хочу|хотел[аи]? бы|нужн[оаы]?|"
    r"please|could you|can you|can i|would like|i'?d like|want|need|how do)\b"
)
_NEGATION = re.compile(r"(?<![\w])(?:не|нет|ни|no|not|never|nothing|cannot|without)(?![\w])|n'?t\b")


@dataclass(frozen=True)
class _Text:
    sample: str  # the start of the text, to tell its language
    script: str  # "cyrillic" or "latin", whichever has more letters; "" for neither
    terms: dict[str, float]  # stem or "@concept" -> weight
    shown: dict[str, str]  # term -> first spelling in the text
    classes: frozenset[str]
    idents: tuple[_Ident, ...]

    @cached_property
    def language(self) -> str:
        return detect_language(self.sample)


@lru_cache(maxsize=4096)
def _analyse(text: str) -> _Text:
    idents = _extract(text)
    # The words of an identifier ("ул. Победы", "Contract 55-0193") say which product, not
    # which problem: they are left out of the topic.
    blanked = text[:4000]
    for ident in idents:
        start, end = ident.span
        blanked = blanked[:start] + " " * (end - start) + blanked[end:]
    norm = normalise(blanked)
    terms: dict[str, float] = {}
    shown: dict[str, str] = {}
    classes: set[str] = set()
    for token in words(norm):
        if token.isdigit():
            continue
        key = stem(token)
        concepts = None if token in _NOT_CONCEPT else _CONCEPTS.get(key)
        if concepts:
            for concept in concepts:
                klass = _CLASS[concept]
                term = "@" + concept
                terms[term] = _CONCEPT_WEIGHT.get(klass, 1.0)
                shown.setdefault(term, token)
                classes.add(klass)
            continue
        if key in _STOP_STEMS or token in _STOP_STEMS or len(key) < 3:
            continue
        terms[key] = _STEM_WEIGHT
        shown.setdefault(key, token)
    for pattern, concept in _PHRASES:
        phrase = pattern.search(norm)
        if phrase:
            terms["@" + concept] = 1.0
            shown.setdefault("@" + concept, phrase.group(0))
            classes.add(_CLASS[concept])
    for m in _CODE_TERM_RE.finditer(blanked):
        code = m.group(1).lower()
        if code.isdigit() and not re.search(
            r"ошибк|error|код|code|\d{3} ?(?:bad|error|ошибк)",
            norm[max(0, m.start() - 20) : m.end() + 12],
        ):
            continue
        terms["#" + code] = 1.0
        shown.setdefault("#" + code, m.group(1))
    sample = text[:LANGUAGE_SAMPLE]
    cyrillic = len(_CYRILLIC_RE.findall(sample))
    latin = len(_LATIN_RE.findall(sample))
    return _Text(
        sample=sample,
        script="" if cyrillic == latin else "cyrillic" if cyrillic > latin else "latin",
        terms=terms,
        shown=shown,
        classes=frozenset(classes),
        idents=tuple(idents),
    )


def thanks_only(text: str) -> bool:
    """Whether a message only thanks or confirms that all works: no fault, question or request.

    Such a message neither reopens a case nor is a new one: the caller files it as a note on the
    case it follows. A thank-you with a question in it is not "only" thanks.
    """
    norm = normalise(text)
    if not (_THANKS.search(norm) or _RESOLVED.search(norm)):
        return False
    rest = _RESOLVED.sub(" ", _NOT_AGAIN.sub(" ", norm))
    if any(p.search(rest) for p in (_NEGATION, _STRONG_AGAIN, _OTHER_PROBLEM, _REQUEST)):
        return False
    analysed = _analyse(text)
    symptoms = [t for t in analysed.terms if t.startswith("@") and _CLASS[t[1:]] == "symptom"]
    # A thank-you with a symptom in it is a complaint ("спасибо, но опять пропадает"), unless
    # the symptom is what is said to be gone ("протечки больше нет").
    return not symptoms or bool(_RESOLVED.search(norm))


# --- matching ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """A resolved case of the same customer that a new message might be about."""

    case_id: int
    subject: str
    text: str  # the customer's messages and the resolution summary, joined
    resolved_at: datetime
    # Stored on the case ("kind:value" as `identifiers` gives them); those found in the subject
    # and text count as well.
    identifiers: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Match:
    """The resolved case a new message is about: certain (reopen) or possible (link)."""

    case_id: int
    score: float  # 0..1
    certain: bool
    reasons: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Signals:
    strong: list[str]
    weak: list[str]
    other_problem: str
    faulty: bool


def _signals(text: str, analysed: _Text) -> _Signals:
    norm = normalise(text)
    cleaned = _NOT_AGAIN.sub(" ", norm)
    symptom = any(t.startswith("@") and _CLASS[t[1:]] == "symptom" for t in analysed.terms)
    faulty = symptom or bool(_NEGATION.search(cleaned))
    strong = [m.group(0) for m in _STRONG_AGAIN.finditer(cleaned)]
    strong += [m.group(0) for m in _STILL_NOT.finditer(cleaned)]
    weak = [m.group(0) for m in _WEAK_AGAIN.finditer(cleaned)]
    # "After the repair" says that it is back only when something is wrong: "it has been
    # perfect since the repair" is praise.
    repair = [m.group(0) for m in _REPAIR_REFERENCE.finditer(cleaned)]
    (strong if faulty else weak).extend(repair)
    other = _OTHER_PROBLEM.search(cleaned)
    return _Signals(
        strong=strong,
        weak=weak,
        other_problem=other.group(0) if other else "",
        faulty=faulty,
    )


@dataclass
class _Scored:
    candidate: Candidate
    score: float
    certain: bool
    reasons: list[str]


def _candidate_idents(candidate: Candidate, old: _Text) -> list[tuple[str, str]]:
    """(kind, value) of a candidate's identifiers: those stored on the case and those in its
    text."""
    keys = set(candidate.identifiers) | {i.key for i in old.idents}
    return [_split(key) for key in sorted(keys)]


def _of_class(analysed: _Text, klass: str) -> set[str]:
    return {t for t in analysed.terms if t.startswith("@") and _CLASS[t[1:]] == klass}


def _score(new: _Text, signals: _Signals, candidate: Candidate, age: timedelta) -> _Scored:
    old = _analyse(candidate.subject + "\n" + candidate.text)
    reasons: list[str] = []

    # Identifiers: the strongest shared one, and any kind where the values differ.
    old_ids = _candidate_idents(candidate, old)
    shared: dict[str, str] = {}
    for ident in new.idents:
        kind, value = _split(ident.key)
        for old_kind, old_value in old_ids:
            if _same_value(kind, value, old_kind, old_value):
                shared.setdefault(kind, ident.shown)
    conflicts = []
    for kind in CONFLICT_KINDS:
        new_values = [_split(i.key)[1] for i in new.idents if i.kind == kind]
        old_values = [v for k, v in old_ids if k == kind]
        if (
            new_values
            and old_values
            and kind not in shared
            and not any(_same_value(kind, a, kind, b) for a in new_values for b in old_values)
        ):
            conflicts.append(kind)
    if f"case:{candidate.case_id}" in {i.key for i in new.idents}:
        shared["case"] = f"#{candidate.case_id}"
    id_score = 0.0
    for kind, spelled in sorted(shared.items(), key=lambda kv: -ID_WEIGHT[kv[0]]):
        id_score = max(id_score, ID_WEIGHT[kind])
        reasons.append(f"same {ID_NAME[kind]} {spelled}")
    if len(shared) > 1:  # two kinds agree (a contract and an address)
        id_score = min(0.45, id_score + 0.1)

    # Topic: how much of the new message the old case shares. Across languages only concepts
    # can be shared, so only they count. Texts in one alphabet are taken to be in one language;
    # langid decides only when the alphabets differ.
    cross = (
        new.script != old.script
        and new.language in ("ru", "en")
        and old.language in ("ru", "en")
        and new.language != old.language
    )
    total = 0.0
    common = 0.0
    common_terms = []
    for term, weight in new.terms.items():
        if cross and not term.startswith(("@", "#")):
            continue
        concept = term[1:] if term.startswith("@") else ""
        klass = _CLASS.get(concept, "")
        if term in old.terms:
            common += weight
            if klass != "repair":
                common_terms.append(term)
            total += weight
        elif klass in _INTENT_CLASSES and klass not in old.classes:
            total += 1.5 * weight  # a subject the old case does not have
        else:
            total += weight
    coverage = common / total if total else 0.0
    topic = min(1.0, common / TOPIC_SATURATION) * math.sqrt(coverage)
    if common_terms:
        as_written = list(dict.fromkeys(new.shown[t] for t in common_terms))
        quoted = ", ".join(f'"{w}"' for w in as_written[:MAX_REASON_WORDS])
        reasons.append("same problem: " + quoted)

    # Another thing (an oven after a hob) or another fault of the same thing (cracked glass
    # after a battery) is another problem, whatever the identifiers say.
    new_things, old_things = _of_class(new, "thing"), _of_class(old, "thing")
    new_faults, old_faults = _of_class(new, "symptom"), _of_class(old, "symptom")
    other_thing = bool(new_things and old_things and not new_things & old_things)
    other_thing = other_thing and common < TOPIC_SATURATION * 0.75
    other_fault = bool(new_faults and old_faults and not new_faults & old_faults)

    recur = 0.0
    if signals.strong:
        recur += W_RECUR_STRONG
        reasons.append(f'says it happened again: "{signals.strong[0]}"')
    if signals.weak:
        recur += W_RECUR_WEAK
        if not signals.strong:
            reasons.append(f'says it is not over: "{signals.weak[0]}"')
    recur = min(RECUR_CAP, recur)

    score = W_TOPIC * topic + id_score + recur
    doubts = []
    new_intents = (new.classes & _INTENT_CLASSES) - old.classes
    if signals.other_problem:
        score *= OTHER_PROBLEM
        doubts.append(f'says it is something else: "{signals.other_problem}"')
    if conflicts:
        score *= CONFLICT
        doubts.append("but another " + ", ".join(ID_NAME[k] for k in sorted(conflicts)))
    if new_intents and not signals.strong:
        score *= NEW_SUBJECT_WITH_FAULT if signals.faulty else NEW_SUBJECT
        doubts.append("but about " + ", ".join(sorted(new_intents)))
    if other_thing:
        score *= OTHER_THING
        names = ", ".join(new.shown[t] for t in sorted(new_things)[:2])
        doubts.append(f'but about something else: "{names}"')
    elif other_fault and not signals.strong:
        score *= OTHER_FAULT
        names = ", ".join(new.shown[t] for t in sorted(new_faults)[:2])
        doubts.append(f'but another fault: "{names}"')
    if not signals.faulty and not signals.strong:
        score *= NO_FAULT
    score = max(0.0, min(1.0, score))
    certain = (
        score >= CERTAIN
        and topic >= TOPIC_CERTAIN
        and (id_score > 0 or bool(signals.strong))
        and not doubts
    )
    reasons.append(f"resolved {max(0, age.days)} days ago")
    return _Scored(candidate, round(score, 3), certain, reasons + doubts)


def _rank(
    text: str, candidates: Sequence[Candidate], *, now: datetime, window_days: int
) -> list[_Scored]:
    """Every candidate within the window, scored, best first (the most recent on a tie)."""
    window = timedelta(days=window_days)
    recent = [c for c in candidates if now - c.resolved_at <= window]
    if not recent or not text.strip() or thanks_only(text):
        return []
    new = _analyse(text)
    signals = _signals(text, new)
    return sorted(
        (_score(new, signals, c, now - c.resolved_at) for c in recent),
        key=lambda s: (s.score, s.candidate.resolved_at),
        reverse=True,
    )


def match(
    text: str, candidates: Sequence[Candidate], *, now: datetime, window_days: int = WINDOW_DAYS
) -> Match | None:
    """The resolved case (within `window_days` of `now`) that `text` is a recurrence of, or
    None. Older candidates are ignored; a mere thank-you matches nothing."""
    scored = _rank(text, candidates, now=now, window_days=window_days)
    if not scored or scored[0].score < POSSIBLE:
        return None
    best = scored[0]
    certain = best.certain
    reasons = best.reasons
    if len(scored) > 1 and scored[1].score >= max(POSSIBLE, best.score - AMBIGUOUS_GAP):
        certain = False
        reasons = [*reasons, f"case #{scored[1].candidate.case_id} is almost as close"]
    return Match(best.candidate.case_id, best.score, certain, reasons)
