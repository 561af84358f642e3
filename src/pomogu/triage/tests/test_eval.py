"""``pomogu eval``: anyone can measure the router and the anger detector on their own CSV."""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

ROUTING_LINE = re.compile(
    r"^accuracy=(\S+) macro_f1=(\S+) oos_recall=(\S+) train_seconds=(\S+) ms_per_message=(\S+)$"
)
ANGER_LINE = re.compile(r"^precision=(\S+) recall=(\S+) f1=(\S+) ms_per_message=(\S+)$")

SUPPORT = [
    "Не работает интернет",
    "Пропал интернет с утра",
    "Роутер не раздаёт Wi-Fi",
    "Интернет очень медленный",
    "Internet is down",
    "The router keeps dropping the connection",
    "No internet since this morning",
    "Wi-Fi does not work",
]
BILLING = [
    "Пришёл неверный счёт",
    "Деньги списали дважды",
    "Верните переплату",
    "Нужен акт сверки за квартал",
    "We were charged twice",
    "The invoice is wrong",
    "Please refund the overpayment",
    "Send me the invoice for March",
]
NOT_OURS = ["Какая погода завтра в Казани?", "Recommend a good pizza place", "Кто выиграл матч?"]

ANGRY = [
    "Вы там совсем о#уели? Третий день без связи!",
    "Идиоты, верните деньги немедленно",
    "This is f*cking ridiculous, you morons",
    "п.и.з.д.е.ц а не сервис",
]
CALM = [
    "Подскажите, пожалуйста, когда придёт мастер?",
    "Спасибо, всё работает",
    "Could you send me the invoice again, please?",
    "Третий день нет интернета, посмотрите, пожалуйста",
]


def write(
    path: Path, rows: list[tuple[str, str]], header: tuple[str, str] = ("text", "label")
) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def run(*args: str) -> list[str]:
    out = io.StringIO()
    call_command("eval", *args, stdout=out)
    return out.getvalue().splitlines()


def test_eval_routing_ends_with_the_summary_line_and_counts_oos(tmp_path: Path) -> None:
    train = [(t, "support") for t in SUPPORT[:6]] + [(t, "billing") for t in BILLING[:6]]
    train += [(t, "oos") for t in NOT_OURS[:2]]
    test = [(t, "support") for t in SUPPORT[6:]] + [(t, "billing") for t in BILLING[6:]]
    test += [(NOT_OURS[2], "oos")]
    lines = run(
        "routing",
        "--train",
        str(write(tmp_path / "train.csv", train)),
        "--test",
        str(write(tmp_path / "test.csv", test)),
    )
    match = ROUTING_LINE.match(lines[-1])
    assert match is not None, lines[-1]
    accuracy = float(match.group(1))
    assert 0.0 <= accuracy <= 1.0
    assert accuracy >= 0.5  # four clear requests of two teams: most must be right
    assert float(match.group(5)) > 0  # it did classify


def test_eval_anger_measures_the_shipped_detector(tmp_path: Path) -> None:
    rows = [(t, "1") for t in ANGRY] + [(t, "0") for t in CALM]
    lines = run("anger", "--test", str(write(tmp_path / "anger.csv", rows)))
    assert lines[0] == "model: shipped with pomogu"
    assert lines[1].startswith("messages=8 angry=4 ")
    match = ANGER_LINE.match(lines[-1])
    assert match is not None, lines[-1]
    precision, recall = float(match.group(1)), float(match.group(2))
    assert precision == 1.0  # nothing calm called angry
    assert recall >= 0.75


def test_eval_anger_can_train_on_the_given_file(tmp_path: Path) -> None:
    train = [(t, "1") for t in ANGRY * 3] + [(t, "0") for t in CALM * 3]
    test = [(t, "1") for t in ANGRY] + [(t, "0") for t in CALM]
    lines = run(
        "anger",
        "--train",
        str(write(tmp_path / "train.csv", train)),
        "--test",
        str(write(tmp_path / "test.csv", test)),
    )
    assert lines[0] == "model: trained on 24 messages"
    assert ANGER_LINE.match(lines[-1]) is not None


@pytest.mark.parametrize(
    ("rows", "header", "message"),
    [
        ([("плохо", "maybe")], ("text", "label"), "label must be 1 or 0"),
        ([("плохо", "1")], ("message", "label"), "must name the columns text and label"),
        ([], ("text", "label"), "no rows"),
    ],
)
def test_eval_refuses_a_bad_file_with_a_clear_error(
    tmp_path: Path, rows: list[tuple[str, str]], header: tuple[str, str], message: str
) -> None:
    path = write(tmp_path / "bad.csv", rows, header)
    with pytest.raises(CommandError, match=message):
        run("anger", "--test", str(path))


def test_eval_routing_needs_training_data(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", [("Не работает интернет", "support")])
    with pytest.raises(CommandError, match="needs --train"):
        run("routing", "--test", str(path))


def test_the_pomogu_command_line_runs_eval(tmp_path: Path) -> None:
    rows = [(t, "1") for t in ANGRY] + [(t, "0") for t in CALM]
    path = write(tmp_path / "anger.csv", rows)
    pomogu = Path(sys.executable).with_name("pomogu")
    env = {**os.environ, "POMOGU_DATA_DIR": str(tmp_path / "data")}
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [str(pomogu), "eval", "anger", "--test", str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert ANGER_LINE.match(done.stdout.splitlines()[-1])
