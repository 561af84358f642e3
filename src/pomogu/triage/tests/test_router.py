"""The router's model on its own: learning, explanations, unsure answers, storage, language."""

from __future__ import annotations

import io

import numpy as np
import pytest

from pomogu.triage import router
from pomogu.triage.router import OOS, RouterModel
from pomogu.triage.text import detect_language

NET = [
    "Не работает интернет",
    "Пропал интернет, нет соединения",
    "Роутер не раздаёт Wi-Fi",
    "Internet is down since morning",
    "The router keeps dropping the connection",
    "Slow speed, pages do not load",
]
MONEY = [
    "Пришёл неверный счёт",
    "Деньги списали дважды",
    "Верните переплату",
    "We were charged twice",
    "The invoice is wrong",
    "Please refund the overpayment",
]


def _model(**kwargs: object) -> RouterModel:
    return router.train(NET + MONEY, ["net"] * len(NET) + ["money"] * len(MONEY), **kwargs)  # type: ignore[arg-type]


def test_it_routes_unseen_wording_in_both_languages_and_says_why() -> None:
    model = _model()
    ru = model.predict("Добрый день! Третий день нет интернета в офисе, роутер мигает.")
    assert ru.label == "net"
    assert any("интернет" in words for words, _ in ru.evidence)
    en = model.predict("Hello, you charged our card twice for the same invoice")
    assert en.label == "money"
    assert en.ranked[0][0] == "money"
    assert en.ranked[1][0] == "net"
    assert en.ranked[0][1] > en.ranked[1][1]


def test_text_with_nothing_it_knows_is_unsure() -> None:
    model = _model()
    p = model.predict("qwzx")
    assert p.unsure
    assert p.evidence == ()


def test_oos_examples_make_a_class_of_their_own() -> None:
    texts = NET + MONEY + ["Какая погода завтра?", "Tell me a joke", "Who won the match?"] * 2
    labels = ["net"] * len(NET) + ["money"] * len(MONEY) + [OOS] * 6
    model = router.train(texts, labels)
    assert OOS in model.labels
    assert model.predict("Какая погода будет завтра в Москве?").label == OOS


def test_weights_let_one_correction_change_the_decision() -> None:
    text = "Не приходит смс с кодом для входа в личный кабинет"
    before = _model().predict(text).label
    other = "money" if before == "net" else "net"
    texts = [*NET, *MONEY, text]
    labels = ["net"] * len(NET) + ["money"] * len(MONEY) + [other]
    weights = [1.0] * (len(texts) - 1) + [3.0]
    after = router.train(texts, labels, weights=weights).predict(text)
    assert after.label == other


def test_saved_model_loads_without_pickle_and_scores_the_same() -> None:
    model = _model()
    data = model.dumps()
    loaded = RouterModel.loads(data)
    text = "Интернет пропал, а счёт пришёл"
    assert loaded.labels == model.labels
    assert np.allclose(loaded.scores(text), model.scores(text), atol=1e-2)
    assert loaded.predict(text).label == model.predict(text).label
    # an archive that needs pickle is refused
    buffer = io.BytesIO()
    np.savez(buffer, document=np.array([object()], dtype=object))
    with pytest.raises(ValueError, match="Object arrays cannot be loaded"):
        RouterModel.loads(buffer.getvalue())


def test_training_needs_two_labels() -> None:
    with pytest.raises(ValueError, match="two labels"):
        router.train(NET, ["net"] * len(NET))


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Интернет не работает третий день", "ru"),
        ("My internet has been down for three days", "en"),
        ("ok", ""),
        ("Спасибо!", "ru"),
        ("Thanks a lot", "en"),
        ("Der Router funktioniert seit gestern nicht mehr", "other"),
        ("Інтернет не працює вже третій день", "other"),
        ("12345 !!!", ""),
    ],
)
def test_language_detection(text: str, language: str) -> None:
    assert detect_language(text) == language
