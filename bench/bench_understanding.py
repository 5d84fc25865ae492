"""Measure flows.understand on the evaluation set; exit 1 if a target is missed.

Run: .venv/bin/python bench/bench_understanding.py
"""

import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

from flows.understand import LEXICON_FILES, Lexicons, Understanding, load_lexicons, understand

ROOT = Path(__file__).resolve().parents[1]
EVAL_SET = ROOT / "tests" / "understanding" / "eval_set.yaml"
HINT = {"fr": "fr", "msa": "ar", "ary": "ar", "aeb": "ar", "arabizi": "ar", "wo": "wo"}
MIN_ACCURACY = 0.97
TIMED_SECONDS = 1.0

Item = dict[str, Any]
Result = tuple[Item, Understanding]


def main() -> int:
    """Print the figures and return the exit status."""
    lexicons = load_lexicons(
        {name: (ROOT / "flows" / "lexicons" / name).read_text("utf-8") for name in LEXICON_FILES}
    )
    items: list[Item] = yaml.safe_load(EVAL_SET.read_text("utf-8"))["items"]
    results = [(item, _run(item, lexicons)) for item in items]
    _print_table(results)
    missed = _print_targets(results)
    _print_misses(results)
    print(f"\nspeed: {_speed(items, lexicons):,.0f} replies/second")
    for line in missed:
        print(f"TARGET MISSED: {line}")
    return 1 if missed else 0


def _run(item: Item, lexicons: Lexicons) -> Understanding:
    return understand(
        item["text"], lexicons=lexicons, question=item["question"], lang=HINT[item["lang"]]
    )


def _right(item: Item, got: Understanding) -> bool:
    expected = (item["intent"], item.get("score"), item.get("language"))
    return (got.intent, got.score, got.language) == expected


def _print_table(results: list[Result]) -> None:
    by_variety: dict[str, list[bool]] = defaultdict(list)
    for item, got in results:
        by_variety[item["lang"]].append(_right(item, got))
    print(f"{'variety':10} {'n':>5} {'accuracy':>9}")
    for variety in HINT:
        marks = by_variety.get(variety, [])
        if marks:
            print(f"{variety:10} {len(marks):5} {sum(marks) / len(marks):9.1%}")
    every = [mark for marks in by_variety.values() for mark in marks]
    print(f"{'all':10} {len(every):5} {sum(every) / len(every):9.1%}")


def _print_targets(results: list[Result]) -> list[str]:
    accuracy = sum(_right(item, got) for item, got in results) / len(results)
    flips = sum({item["intent"], got.intent} == {"yes", "no"} for item, got in results)
    false_stops = sum(got.intent == "stop" and item["intent"] != "stop" for item, got in results)
    stop, distress = _recall(results, "stop"), _recall(results, "distress")
    print(f"\nyes/no flips: {flips}")
    print(f"false stops: {false_stops}")
    print(f"stop recall: {stop:.1%}")
    print(f"distress recall: {distress:.1%}")
    checks = {
        f"accuracy {accuracy:.1%} < {MIN_ACCURACY:.0%}": accuracy >= MIN_ACCURACY,
        f"{flips} yes/no flips": flips == 0,
        f"{false_stops} false stops": false_stops == 0,
        f"stop recall {stop:.1%}": stop == 1.0,
        f"distress recall {distress:.1%}": distress == 1.0,
    }
    return [message for message, ok in checks.items() if not ok]


def _recall(results: list[Result], intent: str) -> float:
    wanted = [got.intent == intent for item, got in results if item["intent"] == intent]
    return sum(wanted) / len(wanted) if wanted else 1.0


def _print_misses(results: list[Result]) -> None:
    for item, got in results:
        if not _right(item, got):
            print(f"  miss {item['lang']:8} {item['text']!r}: expected {item['intent']}, got {got}")


def _speed(items: list[Item], lexicons: Lexicons) -> float:
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < TIMED_SECONDS:
        for item in items:
            _run(item, lexicons)
        done += len(items)
    return done / (time.perf_counter() - start)


if __name__ == "__main__":
    sys.exit(main())
