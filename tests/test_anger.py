"""The anger detector (R3): disguised swearing, Scunthorpe traps, shouting, threats, the model."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pomogu.triage.anger import (
    ANGRY,
    MAX_CHARS,
    Anger,
    AngerModel,
    assess,
    assess_with,
    evaluate,
    read_csv,
    shipped_model,
    summary_line,
    train,
)

WORD_KINDS = {"profanity", "insult"}


def word_reasons(anger: Anger) -> list[str]:
    return [r.fragment for r in anger.reasons if r.kind in WORD_KINDS]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("Это п.и.з.д.е.ц, третий день без связи", "п.и.з.д.е.ц"),
        ("Интернет опять не работает, х*йня какая-то", "х*йня"),
        ("Вы там совсем оxуели?", "оxуели"),  # Latin x
        ("Какого х-у-я мне выставили счёт дважды?", "х-у-я"),
        ("Пи3дец, а не поддержка", "Пи3дец"),
        ("Бл@ть, сколько можно ждать мастера", "Бл@ть"),
        ("бляяяяя, опять разрыв соединения", "бляяяяя"),
        ("с у к а, когда включите свет", "с у к а"),
        ("Это 3.14здец, а не интернет", "3.14здец"),
        ("п#$дец полный с вашим биллингом", "п#$дец"),
        ("blyat, opyat ne rabotaet internet", "blyat"),
        ("Ваш менеджер — муд@к", "муд@к"),
        ("Your support is sh1t, nobody reads my emails", "sh1t"),
        ("what the f**k happened to my order", "f**k"),
        ("f u c k this company", "f u c k"),
        ("fuuuuuck, the connection dropped again", "fuuuuuck"),
        ("You are a bunch of a$$holes", "a$$holes"),
    ],
)
def test_disguised_swearing_is_found_and_quoted_as_written(text: str, fragment: str) -> None:
    for model in (None, shipped_model()):
        anger = assess_with(model, text)
        assert anger.score >= ANGRY
        assert fragment in word_reasons(anger)


@pytest.mark.parametrize(
    "text",
    [
        "Не хочу употреблять резкие слова и никого оскорблять, просто уточняю сроки",
        "Списали 300 рублей вместо 200 рубля, проверьте",
        "Подключите интернет на корабле, мы стоим в порту",
        "Застрахуйте, пожалуйста, оборудование по договору",
        "Страхуй меня, я полезу проверять кабель на крыше",
        "Купил хлеб, оставил себе чек, ребёнок смотрит в небо; я вправе требовать перерасчёт?",
        "Спасибо мудрому инженеру и всей команде",
        "Нужна розетка в ателье, где режем сукно",
        "Отделение в Херсоне тоже обслуживаете?",
        "Соседский мальчишка-хулиган оборвал кабель",
        "Гребля — моё хобби, а колебания скорости мешают",
        "Т.е. мне ждать до понедельника? Адрес: ул. Пушкина, д. 3",
        "I live in Scunthorpe, is fibre available?",
        "Could you assess the damage? Our class needs wifi.",
        "My therapist's office shares the connection",
        "The cockpit simulator needs a static IP",
        "Hello, is the outage in Shitterton related to the storm?",
        "Mr. Dick Smith will sign the contract",
        "В серверной пахнет скипидаром, проверьте вентиляцию",
        "На ремне сломалась бляшка, примете по гарантии?",
        "Оформите страховку на роутер, пожалуйста",
        "Нам нужно употреблять меньше трафика, подскажите тариф",
        "Отстойник на станции переполнен, пришлите бригаду",
        "Парашютный клуб просит выставить счёт",
        "Кружка с росписью под хохлому пришла разбитой",
        "Процедурка возврата слишком длинная",
        "Ну...что там с моей заявкой?",
        "Please send the risk assessment for the cocktail bar",
    ],
)
def test_ordinary_words_holding_swear_letters_are_calm(text: str) -> None:
    anger = assess(text)
    assert anger.score < ANGRY
    assert word_reasons(anger) == []


@pytest.mark.parametrize(
    "text",
    [
        "Уже третий день нет интернета, сколько можно ждать",
        "Сколько можно ждать мастера? Уже неделю обещаете",
        "Мастер опять не пришёл, это уже третий раз",
        "Почему у меня списали деньги дважды? Разберитесь",
        "Жду ответа уже неделю, никто не перезвонил",
        "Верните мои деньги, услуга не была оказана",
        "Роутер сдох, нужен новый",
        "Нужно убить процесс и перезапустить сервер",
        "Повесьте роутер на стену, пожалуйста",
        "Скидка на кол-во товаров действует?",
        "Сук дерева упал на провод у дома",
        "Хочу расторгнуть договор, как это сделать?",
        "This is the third time I'm writing, please fix it",
        "I have been waiting for a week, nobody called back",
        "You charged me twice, I want a refund",
        "Kill the process and restart the server please",
        "My router died, I need a new one",
    ],
)
def test_ordinary_complaints_without_insults_are_not_angry(text: str) -> None:
    assert assess(text).score < ANGRY


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Бля...что за поддержка у вас", "profanity"),
        ("Ашот сука!за что мне это", "insult"),
        ("пздц, опять без связи", "profanity"),
        ("вы там совсем обнаглели? третий день без связи", "insult"),
        ("ваш техник конченый, ничего не умеет", "insult"),
        ("одни пидерасты в вашей конторе", "insult"),
        ("закрой свой рот и делай работу", "insult"),
        ("пошёл вон со своими тарифами", "insult"),
        ("таких надо на месте расстрелять", "threat"),
        ("Your so-called specialists are brain-dead", "insult"),
        ("ffs, the same error for a week", "profanity"),
    ],
)
def test_insults_and_phrasings_the_lexicon_knows(text: str, kind: str) -> None:
    for model in (None, shipped_model()):
        anger = assess_with(model, text)
        assert anger.score >= ANGRY
        assert kind in {r.kind for r in anger.reasons}


@pytest.mark.parametrize(
    ("calm", "angry"),
    [
        (
            "Интернет не работает третий день, когда почините?",
            "Интернет не работает третий день, вы там совсем охуели?",
        ),
        (
            "Мастер не пришёл, перенесите визит, пожалуйста",
            "Мастер не пришёл, ваши техники — тупые уроды",
        ),
        (
            "My internet has been down for three days, please fix it",
            "My internet has been down for three days, you useless idiots",
        ),
        (
            "I was charged twice this month, could you check?",
            "I was charged twice this month, what the fuck is wrong with you?",
        ),
    ],
)
def test_same_problem_calm_or_angry(calm: str, angry: str) -> None:
    assert assess(calm).score < ANGRY
    assert assess(angry).score >= ANGRY


def test_shouting_alone_is_elevated_but_not_angry() -> None:
    anger = assess("ИНТЕРНЕТ НЕ РАБОТАЕТ ТРЕТИЙ ДЕНЬ!!!", language="ru")
    assert 0.3 <= anger.score < ANGRY
    assert {r.kind for r in anger.reasons} == {"shouting"}
    assert "ИНТЕРНЕТ НЕ РАБОТАЕТ ТРЕТИЙ ДЕНЬ" in [r.fragment for r in anger.reasons]


def test_acronyms_and_quoted_errors_are_not_shouting() -> None:
    for text in (
        "SMS and ID do not work, ERROR 404 on the HTTP API",
        "The router shows FATAL ERROR: PPPOE TIMEOUT, what should I do?",
        "СРОЧНО: не работает касса, ОШИБКА 500 в личном кабинете",
    ):
        assert [r for r in assess(text).reasons if r.kind == "shouting"] == []


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("Если не почините, ухожу к конкурентам", "ухожу к конкурентам"),
        ("Расторгну договор, если так будет дальше", "Расторгну договор"),
        ("Буду жаловаться, так и знайте", "Буду жаловаться"),
        ("Напишу жалобу в Роспотребнадзор", "Напишу жалобу"),
        ("If this is not fixed I will cancel my contract", "cancel my contract"),
        ("We are switching to another provider next month", "switching to another provider"),
        ("I will sue you", "I will sue"),
    ],
)
def test_threat_is_a_reason(text: str, fragment: str) -> None:
    anger = assess_with(None, text)
    assert ("threat", fragment) in [(r.kind, r.fragment) for r in anger.reasons]
    assert anger.score < ANGRY


def test_threat_with_shouting_is_angry_in_both_languages() -> None:
    for text in (
        "ЕСЛИ НЕ ПОЧИНИТЕ ДО ЗАВТРА, УХОЖУ К КОНКУРЕНТАМ!!!",
        "FIX IT NOW OR I AM SWITCHING TO ANOTHER PROVIDER!!!",
    ):
        anger = assess_with(None, text)
        assert anger.score >= ANGRY
        assert {"threat", "shouting"} <= {r.kind for r in anger.reasons}


def test_polite_request_to_cancel_weighs_less_than_a_threat() -> None:
    polite = assess_with(None, "Please cancel my subscription from next month, I am moving")
    threat = assess_with(None, "Fix it or I cancel my subscription")
    assert 0 < polite.score < threat.score < ANGRY


def test_insult_aimed_at_the_reader_weighs_more_than_at_oneself() -> None:
    own = assess_with(None, "Я идиот, забыл пароль")
    theirs = assess_with(None, "Вы идиоты, я же писал адрес")
    assert own.score < ANGRY <= theirs.score


def test_reasons_are_strongest_first_and_score_is_bounded() -> None:
    anger = assess("ВЫ ТАМ СОВСЕМ ОХУЕЛИ?!?! УХОЖУ К КОНКУРЕНТАМ, ИДИОТЫ!!!")
    weights = [r.weight for r in anger.reasons]
    assert len(weights) >= 4
    assert weights == sorted(weights, reverse=True)
    assert 0.0 <= anger.score <= 1.0
    assert anger.score >= max(weights)


def test_calm_message_has_no_reasons() -> None:
    anger = assess("Добрый день! Подскажите, пожалуйста, как сменить тариф?")
    assert anger.reasons == ()
    assert anger.score < 0.2


def test_model_reason_has_no_fragment() -> None:
    anger = assess("Вы там совсем охуели?")
    model = [r for r in anger.reasons if r.kind == "model"]
    assert model
    assert model[0].fragment == ""


TINY = [
    ("опять эти бюрократы тянут с подключением", 1),
    ("бюрократы из отдела продаж снова всё затянули", 1),
    ("вы бюрократы и больше никто", 1),
    ("одни бюрократы сидят в вашем офисе", 1),
    ("бюрократы не отвечают на письма", 1),
    ("подскажите сроки подключения", 0),
    ("отдел продаж обещал перезвонить", 0),
    ("спасибо, письмо получили", 0),
    ("в офисе сказали ждать до пятницы", 0),
    ("когда будет подключение по новому адресу", 0),
]


def tiny_model() -> AngerModel:
    return train([t for t, _ in TINY], [label for _, label in TINY])


def test_training_on_a_few_messages_changes_the_decision() -> None:
    text = "снова бюрократы затянули всё"
    assert assess_with(None, text).score < ANGRY
    assert assess_with(tiny_model(), text).score >= ANGRY


def test_saved_model_is_loaded_without_pickle_and_scores_the_same(tmp_path: Path) -> None:
    texts = [
        "снова бюрократы затянули всё",
        "Интернет не работает третий день, когда почините?",
        "what the fuck is wrong with your billing",
        "Thanks, the issue is resolved",
    ]
    for model in (tiny_model(), shipped_model()):
        assert model is not None
        model.save(tmp_path / "anger.npz")
        # Plain arrays only: a pickle inside would make this raise.
        with np.load(tmp_path / "anger.npz", allow_pickle=False) as arrays:
            assert all(arrays[name].dtype != object for name in arrays.files)
        loaded = AngerModel.load(tmp_path / "anger.npz")
        for text in texts:
            assert assess_with(loaded, text) == assess_with(model, text)


def test_load_refuses_a_file_of_another_format(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text('{"format": "something-else", "version": 1}')
    np.savez(tmp_path / "x.npz", a=np.zeros(1))
    with pytest.raises(ValueError, match="not a pomogu anger model"):
        AngerModel.load(tmp_path / "x.npz")


def test_shipped_model_records_its_provenance() -> None:
    model = shipped_model()
    assert model is not None
    assert "RUSSE-2022" in model.provenance["main"]["data"]
    assert "alt-profanity-check" in model.provenance["english"]["package"]


def test_evaluate_counts_and_summary_line(tmp_path: Path) -> None:
    csv_path = tmp_path / "set.csv"
    csv_path.write_text(
        'text,label\n"Вы там совсем охуели?",1\n"Спасибо за помощь",0\n"Когда почините?",1\n',
        encoding="utf-8",
    )
    texts, labels = read_csv(csv_path)
    result = evaluate(shipped_model(), texts, labels, ANGRY)
    assert (result["tp"], result["fp"], result["fn"], result["tn"]) == (1, 0, 1, 1)
    assert result["precision"] == 1.0
    assert result["recall"] == 0.5
    line = summary_line(result)
    assert line.startswith("precision=1.0000 recall=0.5000 f1=0.6667 ms_per_message=")


def test_read_csv_rejects_bad_labels(tmp_path: Path) -> None:
    csv_path = tmp_path / "bad.csv"
    csv_path.write_text("text,label\nhello,2\n", encoding="utf-8")
    with pytest.raises(ValueError, match="label must be 0 or 1"):
        read_csv(csv_path)


def test_only_the_first_max_chars_are_read_and_fast() -> None:
    tail = "Вы там совсем охуели?"
    text = "Добрый день. " * (MAX_CHARS // 13 + 10) + tail
    started = time.perf_counter()
    anger = assess(text)
    assert time.perf_counter() - started < 2.0
    assert anger.score < ANGRY
    assert assess(tail).score >= ANGRY


@pytest.mark.parametrize(
    "text",
    [
        "!" * 50_000,
        "?" * 30_000 + "!",
        "*" * 40_000,
        "х*" * 20_000,
        "a." * 30_000,
        "А" * 50_000,
        "f u c k " * 10_000,
    ],
)
def test_pathological_input_takes_bounded_time(text: str) -> None:
    started = time.perf_counter()
    anger = assess(text)
    assert time.perf_counter() - started < 2.0
    assert 0.0 <= anger.score <= 1.0


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400), st.sampled_from(["", "ru", "en"]))
def test_any_text_gets_a_bounded_score_and_verbatim_fragments(text: str, language: str) -> None:
    anger = assess(text, language=language)
    assert 0.0 <= anger.score <= 1.0
    weights = [r.weight for r in anger.reasons]
    assert weights == sorted(weights, reverse=True)
    for reason in anger.reasons:
        assert reason.kind in {"profanity", "insult", "shouting", "threat", "model"}
        assert reason.fragment in text
        assert (reason.fragment == "") == (reason.kind == "model")
