"""Decide what a reply means: distress > stop > start > help > the answer to the question."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Final

from flows.understand.lexicon import LANGUAGES, Lexicons
from flows.understand.match import Segment, has_distress, order_for, segment, views
from flows.understand.normalize import tokenize

INTENTS: Final = (
    "yes",
    "no",
    "maybe",
    "help",
    "stop",
    "start",
    "language",
    "score",
    "distress",
    "unknown",
)
QUESTIONS: Final = ("attendance", "yesno", "wellbeing", "rating", "any")
THRESHOLD: Final = 0.6  # below this, "unknown": the bot asks again rather than guess
ANSWERS: Final[Mapping[str, frozenset[str]]] = {
    "attendance": frozenset({"yes", "no", "maybe", "language"}),
    "yesno": frozenset({"yes", "no", "maybe", "language"}),
    "wellbeing": frozenset({"score", "language"}),
    "rating": frozenset({"score", "language"}),
    "any": frozenset({"yes", "no", "maybe", "language", "score"}),
}
NOT_A_CHOICE: Final = frozenset({"score", "unknown"})
EMPTY: Final = frozenset({"greeting", "thanks", "filler", "feeling"})  # words that answer nothing
POLAR: Final = frozenset({"yes", "no", "maybe", "maybe_soft", "no_soft"})
ALONE: Final = frozenset({"yes_alone", "no_alone"})  # also common words of another language
CLEAN: Final = POLAR | ALONE | EMPTY | {"negator", "correction"}
NEGATABLE: Final = POLAR | ALONE | {"help", "stop", "start", "language"}
COMPANIONS: Final = {  # what may come with a command and leave it a command ("non merci, stop")
    "stop": EMPTY | {"no", "no_alone", "ambiguous"},
    "start": EMPTY | {"yes", "yes_alone", "ambiguous"},
}
NUMBER_COMPANIONS: Final = EMPTY | {"number", "score_context", "ambiguous"}
SIDE: Final = {
    "yes": "yes",
    "yes_alone": "yes",
    "no": "no",
    "no_alone": "no",
    "maybe": "maybe",
    "maybe_soft": "maybe",
    "no_soft": "no",
}
SOFT: Final = frozenset({"maybe_soft", "no_soft"})  # an answer only when nothing else answers


@dataclass(frozen=True, slots=True)
class Understanding:
    """What a reply means."""

    intent: str  # one of INTENTS
    score: int | None  # 1..5 when intent == "score", else None
    confidence: float  # 0..1
    language: str | None = None  # "fr" | "ar" | "wo" when intent == "language"


UNKNOWN: Final = Understanding("unknown", None, 0.0)


def understand(
    text: str,
    *,
    lexicons: Lexicons,
    question: str = "any",
    lang: str | None = None,
    choices: Sequence[str] = (),
) -> Understanding:
    """Classify one reply to a question of the given kind."""
    _check(question, lang, choices)
    seen = views(tokenize(text), lexicons)
    if not seen:
        return UNKNOWN
    if has_distress(seen, lexicons):  # first, whatever else the message says
        return Understanding("distress", None, 1.0)
    segments = _negate(segment(seen, lexicons, order_for(lexicons, lang)))
    return _command(segments) or _help(segments) or _answer(segments, question, tuple(choices))


def _check(question: str, lang: str | None, choices: Sequence[str]) -> None:
    if question not in QUESTIONS:
        raise ValueError(f"question must be one of {QUESTIONS}, not {question!r}")
    if lang is not None and lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {LANGUAGES} or None, not {lang!r}")
    wrong = [c for c in choices if c not in INTENTS or c in NOT_A_CHOICE]
    if wrong:
        raise ValueError(f"choices must be intents other than score/unknown, not {wrong}")


def _negate(segments: list[Segment]) -> list[Segment]:
    # A negator turns the next yes into a no ("pas oui", "machi wakha"); anything else it
    # touches stops counting ("pas besoin d'aide", "arrête pas", "pas en français").
    out: list[Segment] = []
    for seg in segments:
        if out and out[-1].kind == "negator" and seg.kind in NEGATABLE:
            seg = replace(seg, kind="no" if SIDE.get(seg.kind) == "yes" else "negated")
        out.append(seg)
    return out


def _command(segments: list[Segment]) -> Understanding | None:
    # Only a message that is essentially the command: "non merci" is no, never stop.
    kinds = {seg.kind for seg in segments}
    for command, companions in COMPANIONS.items():
        if command in kinds and kinds <= companions | {command}:
            return Understanding(command, None, 1.0)
    return None


def _help(segments: list[Segment]) -> Understanding | None:
    used = [seg for seg in segments if seg.kind == "help"]
    return _confident("help", used, segments) if used else None


def _answer(segments: list[Segment], question: str, choices: tuple[str, ...]) -> Understanding:
    numbers = _bare_numbers(segments)
    if numbers:
        return _numbered(numbers, question, choices)
    language = _language(segments)
    if language is not None:
        return Understanding("language", None, 0.95, str(language.value))
    intent, used = _polarity(segments)
    if intent is None or intent not in ANSWERS[question]:
        return UNKNOWN
    return _confident(intent, used, segments)


def _bare_numbers(segments: list[Segment]) -> list[Segment]:
    # A number counts only when it is essentially the whole reply: "3", "٤", "je dirais 4/5",
    # not "2 jours" or "3 ou 4".
    numbers = [seg for seg in segments if seg.kind == "number"]
    if len({seg.value for seg in numbers}) != 1:
        return []
    return numbers if all(seg.kind in NUMBER_COMPANIONS for seg in segments) else []


def _numbered(numbers: list[Segment], question: str, choices: tuple[str, ...]) -> Understanding:
    n = numbers[0].value if isinstance(numbers[0].value, int) else 0
    confidence = 0.8 if any(seg.typo for seg in numbers) else 1.0
    if choices:
        if 1 <= n <= len(choices):
            return Understanding(choices[n - 1], None, confidence)
        return UNKNOWN
    if ANSWERS[question] >= {"score"} and 1 <= n <= 5:
        return Understanding("score", n, min(confidence, 0.95))
    return UNKNOWN


def _language(segments: list[Segment]) -> Segment | None:
    # "en français svp" switches language; "le cours de français" (unknown words) does not.
    named = [seg for seg in segments if seg.kind == "language"]
    if len({seg.value for seg in named}) != 1 or any(s.kind == "unknown" for s in segments):
        return None
    return named[0]


def _polarity(segments: list[Segment]) -> tuple[str | None, list[Segment]]:
    clean = all(seg.kind in CLEAN for seg in segments)
    signals = [seg for seg in segments if seg.kind in POLAR or (clean and seg.kind in ALONE)]
    hard = [seg for seg in signals if seg.kind not in SOFT]
    if hard and any(seg.kind == "correction" for seg in segments):
        return SIDE[hard[-1].kind], hard[-1:]  # "oui… non en fait": the last word wins
    # "oui inchallah" is yes and "pas besoin d'aide, je viens" is yes: soft words yield.
    used = hard or signals
    sides = {SIDE[seg.kind] for seg in used}
    if {"yes", "no"} <= sides or (not hard and len(sides) > 1):
        return None, []  # a contradiction nothing explains: ask again
    for side in ("maybe", "yes", "no"):
        if side in sides:
            return side, used
    return None, []


def _confident(intent: str, used: list[Segment], segments: list[Segment]) -> Understanding:
    # Exact words are trusted more than typos; words we do not know dilute the reading.
    total = segments[-1].end
    known = sum(seg.size for seg in segments if seg.kind != "unknown")
    confidence = (0.8 if any(seg.typo for seg in used) else 0.95) * (0.7 + 0.3 * known / total)
    if confidence < THRESHOLD:
        return UNKNOWN
    return Understanding(intent, None, round(confidence, 3))
