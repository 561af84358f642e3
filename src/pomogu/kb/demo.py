"""Demo articles for the knowledge base: what an internet provider's desk would have written
down, in Russian and English, public and internal. ``load_demo_articles`` is safe to run twice
(an article whose address exists is left as it is)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from pomogu.kb.choices import ArticleLanguage, Visibility
from pomogu.kb.models import Article
from pomogu.kb.services import create_article
from pomogu.people.models import Team, User


@dataclass(frozen=True)
class DemoArticle:
    slug: str
    title: str
    language: str
    visibility: str
    paragraphs: tuple[str, ...]
    team_slug: str = ""


RU, EN = ArticleLanguage.RU, ArticleLanguage.EN
PUBLIC, INTERNAL = Visibility.PUBLIC, Visibility.INTERNAL

ARTICLES = [
    DemoArticle(
        "net-interneta-chto-proverit",
        "Нет интернета: что проверить до звонка",
        RU,
        PUBLIC,
        (
            "Чаще всего интернет пропадает из-за роутера, а не из-за линии. Прежде чем звонить "
            "нам, проверьте три вещи: это займёт пять минут.",
            "1. Индикаторы на роутере. Если лампа WAN (или «Интернет») не горит или мигает "
            "красным, выключите роутер из розетки на 30 секунд и включите снова. Роутеру нужно "
            "две-три минуты, чтобы загрузиться.",
            "2. Кабель. Проверьте, что кабель от подъезда вставлен в порт WAN до щелчка и не "
            "передавлен дверью. Если есть второй кабель, попробуйте его.",
            "3. Баланс. При отрицательном балансе доступ отключается автоматически. Баланс видно "
            "в личном кабинете и в SMS после каждого платежа.",
            "Если после перезагрузки роутера интернета по-прежнему нет, напишите нам номер "
            "договора и цвет индикаторов: так мы найдём причину быстрее и, если нужно, пришлём "
            "мастера.",
        ),
        "support",
    ),
    DemoArticle(
        "kak-vernut-dengi-za-neokazannuyu-uslugu",
        "Как вернуть деньги за неоказанную услугу",
        RU,
        PUBLIC,
        (
            "Если услуга не работала по нашей вине (авария, плановые работы без предупреждения, "
            "ошибка при подключении), мы пересчитаем абонентскую плату за каждый день без связи.",
            "Что нужно сделать: напишите нам, с какого числа не было связи, и номер договора. "
            "Отдельное заявление не нужно: достаточно письма или сообщения в личном кабинете.",
            "Сроки: перерасчёт появится в следующем счёте. Если вы хотите вернуть деньги на "
            "карту, а не на лицевой счёт, укажите это в письме: возврат на карту занимает до 10 "
            "рабочих дней.",
            "Если вы не согласны с суммой перерасчёта, ответьте на наше письмо: обращение "
            "вернётся к тому же сотруднику, и он объяснит расчёт.",
        ),
        "billing",
    ),
    DemoArticle(
        "kak-oplatit-schet",
        "Как оплатить счёт и где его найти",
        RU,
        PUBLIC,
        (
            "Счёт за месяц приходит на почту первого числа и всегда есть в личном кабинете в "
            "разделе «Платежи».",
            "Оплатить можно картой в личном кабинете, по QR-коду из счёта в приложении банка или "
            "автоплатежом. Оплата по QR-коду зачисляется в течение суток; картой — сразу.",
            "Если счёт кажется неверным, не оплачивайте спорную часть: напишите нам номер счёта и "
            "что в нём не так. Пока мы разбираемся, доступ не отключится.",
        ),
        "billing",
    ),
    DemoArticle(
        "smena-parolya-wi-fi",
        "Как сменить пароль Wi-Fi на роутере",
        RU,
        PUBLIC,
        (
            "Откройте в браузере адрес 192.168.0.1 (он написан на наклейке снизу роутера) и "
            "войдите с паролем с той же наклейки.",
            "В разделе «Беспроводная сеть» найдите поле «Пароль» (WPA2), придумайте новый пароль "
            "не короче 12 символов и сохраните. Роутер перезапустит сеть: подключите устройства "
            "заново с новым паролем.",
            "Если пароль от настроек роутера потерян, нажмите кнопку Reset на 10 секунд: роутер "
            "вернётся к заводским настройкам, и интернет придётся настроить заново по инструкции "
            "из договора.",
        ),
        "support",
    ),
    DemoArticle(
        "resetting-your-router",
        "Resetting your router",
        EN,
        PUBLIC,
        (
            "Most connection problems go away after a restart of the router. Unplug it from the "
            "power socket, wait 30 seconds and plug it in again. Give it two or three minutes to "
            "start.",
            "If the WAN or Internet light stays off or blinks red after the restart, check that "
            "the cable from the building is firmly in the WAN port.",
            "A factory reset is the last resort: hold the Reset button for 10 seconds. It erases "
            "your Wi-Fi name and password and the connection settings, so keep the setup sheet "
            "from your contract at hand.",
            "Still no connection? Write to us with your contract number and the colour of the "
            "lights, and we will find the cause or send a technician.",
        ),
        "support",
    ),
    DemoArticle(
        "how-refunds-work",
        "How refunds work",
        EN,
        PUBLIC,
        (
            "If the service did not work because of us (an outage, maintenance without notice, a "
            "mistake when connecting you), we refund the subscription for every day without "
            "service.",
            "Tell us since when the service did not work and your contract number. No form is "
            "needed: a mail or a message in your account is enough.",
            "The refund appears on your next bill. If you want the money back on your card "
            "instead, say so: a card refund takes up to 10 working days.",
            "If you disagree with the amount, reply to our message: your case goes back to the "
            "same person, who will explain the calculation.",
        ),
        "billing",
    ),
    DemoArticle(
        "slow-wi-fi-at-home",
        "Slow Wi-Fi at home: what helps",
        EN,
        PUBLIC,
        (
            "Wi-Fi is slower through walls and far from the router. Put the router in the middle "
            "of the flat, off the floor and away from the microwave.",
            "Modern routers have two networks: 5 GHz is faster but reaches less far; 2.4 GHz "
            "reaches further but is slower and crowded in blocks of flats. Use 5 GHz near the "
            "router.",
            "To see whether the problem is the Wi-Fi or the line, connect a computer with a cable "
            "and run a speed test. If the cable is slow too, write to us with the result.",
        ),
        "support",
    ),
    DemoArticle(
        "kak-otvechat-na-povtornoe-obrashchenie",
        "Как отвечать на повторное обращение (гарантия)",
        RU,
        INTERNAL,
        (
            "Если клиент пишет, что проблема вернулась после нашего ремонта, это не «новая "
            "проблема»: в течение гарантийного срока (30 дней, если у команды не задан другой) "
            "дело открывается заново и возвращается тому, кто его решил.",
            "Что делать:\n"
            "- не просите клиента заново описывать проблему: вся история есть в деле;\n"
            "- назовите срок, когда приедет мастер или когда вы перезвоните, и запишите его как "
            "обещание;\n"
            "- если причина в подрядчике, создайте задачу подрядчику внутри дела: дело остаётся "
            "нашим.",
            "Не пишите «это другая неисправность», пока мастер не проверил: такие ответы клиенты "
            "справедливо считают отпиской.",
        ),
        "support",
    ),
    DemoArticle(
        "eskalatsiya-avarii-na-linii",
        "Авария на линии: кому сообщать и что писать клиентам",
        RU,
        INTERNAL,
        (
            "Если за 15 минут пришло больше пяти обращений «нет интернета» из одного дома или "
            "района, это, скорее всего, авария.",
            "1. Сообщите дежурному инженеру по телефону из карточки команды и руководителю смены.\n"
            "2. Свяжите новые обращения с первым (слияние), чтобы не отвечать каждому по "
            "отдельности.\n"
            "3. Клиентам отвечайте с ориентировочным сроком восстановления и обещайте написать, "
            "когда связь вернётся. Не обещайте точное время, если инженер его не назвал.",
            "После восстановления отметьте обещание выполненным и предложите перерасчёт (статья "
            "«Как вернуть деньги за неоказанную услугу»).",
        ),
        "support",
    ),
    DemoArticle(
        "handling-a-double-charge",
        "Handling a double charge (internal)",
        EN,
        INTERNAL,
        (
            "A customer charged twice for the same bill gets the second payment back without "
            "having to ask twice.",
            "Check the payment log for both transaction numbers. If both went through, refund the "
            "second one to the card it came from and tell the customer the date by which it will "
            "arrive (up to 10 working days).",
            "Never ask the customer for a bank statement first: the payment log is enough. If the "
            "second payment is still pending at the bank, make a promise to check again in two "
            "days.",
        ),
        "billing",
    ),
]


@transaction.atomic
def load_demo_articles(author: User | None) -> int:
    """Create the demo articles that are not there yet (by address), published; returns how
    many were created."""
    teams = {team.slug: team for team in Team.objects.all()}
    existing = set(
        Article.objects.filter(slug__in=[a.slug for a in ARTICLES]).values_list("slug", flat=True)
    )
    created = 0
    for demo in ARTICLES:
        if demo.slug in existing:
            continue
        create_article(
            actor=None,
            title=demo.title,
            body="\n\n".join(demo.paragraphs),
            language=demo.language,
            visibility=demo.visibility,
            team=teams.get(demo.team_slug),
            slug=demo.slug,
            published=True,
            author=author,
        )
        created += 1
    return created
