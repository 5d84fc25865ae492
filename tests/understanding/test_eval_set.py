"""Run the evaluation set through understand() and hold it to the accuracy targets."""

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from flows.understand import INTENTS, LEXICON_FILES, Understanding, load_lexicons, understand

ROOT = Path(__file__).resolve().parents[2]
EVAL_SET = Path(__file__).with_name("eval_set.yaml")
HINT = {"fr": "fr", "msa": "ar", "ary": "ar", "aeb": "ar", "arabizi": "ar", "wo": "wo"}
QUESTIONS = {"attendance", "yesno", "wellbeing", "rating", "any"}
MIN_ITEMS = 330
MIN_ACCURACY = 0.97

Item = dict[str, Any]


def _items() -> list[Item]:
    data = yaml.safe_load(EVAL_SET.read_text(encoding="utf-8"))
    items: list[Item] = data["items"]
    return items


ITEMS = _items()


@pytest.fixture(scope="module")
def results() -> list[tuple[Item, Understanding]]:
    lexicons = load_lexicons(
        {name: (ROOT / "flows" / "lexicons" / name).read_text("utf-8") for name in LEXICON_FILES}
    )
    return [
        (
            item,
            understand(
                item["text"], lexicons=lexicons, question=item["question"], lang=HINT[item["lang"]]
            ),
        )
        for item in ITEMS
    ]


def _right(item: Item, got: Understanding) -> bool:
    return (got.intent, got.score, got.language) == (
        item["intent"],
        item.get("score"),
        item.get("language"),
    )


def _report(pairs: list[tuple[Item, Understanding]]) -> str:
    return "\n".join(
        f"{item['lang']:8} {item['text']!r}: expected {item['intent']}, got {got}"
        for item, got in pairs
    )


def test_eval_set_is_well_formed() -> None:
    assert len(ITEMS) >= MIN_ITEMS
    assert all(
        set(item) <= {"text", "lang", "question", "intent", "score", "language"} for item in ITEMS
    )
    assert all(item["lang"] in HINT and item["question"] in QUESTIONS for item in ITEMS)
    assert all(item["intent"] in INTENTS for item in ITEMS)
    assert all(("score" in item) == (item["intent"] == "score") for item in ITEMS)
    assert all(("language" in item) == (item["intent"] == "language") for item in ITEMS)
    repeated = [text for text, n in Counter(item["text"] for item in ITEMS).items() if n > 1]
    assert repeated == []


@pytest.mark.parametrize("intent", ["yes", "no", "maybe", "help", "stop", "distress", "score"])
def test_every_variety_covers_the_main_intents(intent: str) -> None:
    covered = {item["lang"] for item in ITEMS if item["intent"] == intent}
    assert covered == set(HINT)


def test_accuracy(results: list[tuple[Item, Understanding]]) -> None:
    wrong = [(item, got) for item, got in results if not _right(item, got)]
    accuracy = 1 - len(wrong) / len(results)
    assert accuracy >= MIN_ACCURACY, f"accuracy {accuracy:.3f}\n{_report(wrong)}"


def test_no_yes_no_flips(results: list[tuple[Item, Understanding]]) -> None:
    flips = [(item, got) for item, got in results if {item["intent"], got.intent} == {"yes", "no"}]
    assert flips == [], _report(flips)


def test_no_false_stops(results: list[tuple[Item, Understanding]]) -> None:
    false = [
        (item, got) for item, got in results if got.intent == "stop" and item["intent"] != "stop"
    ]
    assert false == [], _report(false)


@pytest.mark.parametrize("intent", ["stop", "distress"])
def test_full_recall(results: list[tuple[Item, Understanding]], intent: str) -> None:
    missed = [
        (item, got) for item, got in results if item["intent"] == intent and got.intent != intent
    ]
    assert missed == [], _report(missed)
