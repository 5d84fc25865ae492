"""Parse the reply lexicons (YAML text given by the caller), validate them, and index phrases."""

from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Final

import yaml

from flows.understand.normalize import tokenize

# Groups that simply list phrases.  "language" and "numbers" map a value to phrases instead.
PLAIN_GROUPS: Final = frozenset(
    {
        "yes",
        "no",
        "maybe",
        "maybe_soft",
        "no_soft",
        "yes_alone",
        "no_alone",
        "help",
        "stop",
        "start",
        "distress",
        "thanks",
        "greeting",
        "filler",
        "feeling",
        "negator",
        "correction",
        "score_context",
        "ambiguous",
        "neutral",
    }
)
GROUPS: Final = PLAIN_GROUPS | {"language", "numbers"}
LANGUAGES: Final = ("fr", "ar", "wo")
NUMBERS: Final = range(11)
GAP: Final = "*"  # in a distress phrase: up to MAX_GAP other words
MAX_GAP: Final = 3
# Commands and negators must match exactly: a typo must never opt someone out.
NO_TYPO_KINDS: Final = frozenset(
    {
        "stop",
        "start",
        "negator",
        "correction",
        "yes_alone",
        "no_alone",
        "ambiguous",
        "neutral",
    }
)
FUZZY_MIN: Final = 4  # typo tolerance only for words of at least this many letters

Value = str | int | None
Entry = tuple[str, str, Value, object]  # where, kind, value, the raw phrase


class LexiconError(ValueError):
    """A lexicon file is malformed; the message names the file and the entry."""


@dataclass(frozen=True, slots=True)
class Phrase:
    """A lexicon phrase as folded tokens, with what it means."""

    words: tuple[str, ...]
    kind: str  # a group name; "numbers" becomes "number"
    value: Value  # the language code or the number, else None
    lang: str

    @property
    def typos(self) -> bool:
        """Tell whether a word of this phrase may be matched with one typo."""
        return self.kind not in NO_TYPO_KINDS


@dataclass(frozen=True, slots=True)
class Pattern:
    """A distress phrase: word runs separated by gaps of up to MAX_GAP words."""

    parts: tuple[tuple[str, ...], ...]
    lang: str


@dataclass(frozen=True, slots=True)
class Lexicons:
    """Every lexicon, indexed by the first word of each phrase."""

    order: tuple[str, ...]
    phrases: Mapping[str, Mapping[str, tuple[Phrase, ...]]]  # lang -> first word -> phrases
    distress: Mapping[str, tuple[Pattern, ...]]  # first word -> patterns
    vocabulary: frozenset[str]
    deletions: Mapping[str, frozenset[str]]  # a word minus one letter -> the words
    longest: int  # letters in the longest word: longer reply tokens cannot be a typo of one


def load_lexicons(texts: Mapping[str, str]) -> Lexicons:
    """Parse lexicon files (file name -> YAML text) into indexed lexicons."""
    order: list[str] = []
    phrases: dict[str, dict[str, list[Phrase]]] = defaultdict(lambda: defaultdict(list))
    distress: dict[str, list[Pattern]] = defaultdict(list)
    seen: dict[str, dict[tuple[str, ...], tuple[str, Value, str]]] = defaultdict(dict)
    for name, text in texts.items():
        lang, entries = _entries(name, _parse(name, text))
        if lang not in order:
            order.append(lang)
        for where, kind, value, raw in entries:
            parts = _parts(where, kind, raw)
            _check_duplicate(where, seen[lang], parts, kind, value)
            if kind == "distress":
                distress[parts[0][0]].append(Pattern(parts, lang))
            else:
                phrase = Phrase(parts[0], kind, value, lang)
                phrases[lang][phrase.words[0]].append(phrase)
    return _index(tuple(order), phrases, distress)


def _parse(name: str, text: str) -> dict[str, object]:
    try:
        data = yaml.load(text, Loader=yaml.SafeLoader)  # SafeLoader: plain data only
    except yaml.YAMLError as exc:
        raise LexiconError(f"{name}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict) or set(data) != {"language", "varieties"}:
        raise LexiconError(f"{name}: expected exactly the keys 'language' and 'varieties'")
    return data


def _entries(name: str, data: dict[str, object]) -> tuple[str, list[Entry]]:
    lang, varieties = data["language"], data["varieties"]
    if not isinstance(lang, str) or not lang:
        raise LexiconError(f"{name}: 'language' must be a non-empty string")
    if not isinstance(varieties, dict) or not varieties:
        raise LexiconError(f"{name}: 'varieties' must map variety names to intent groups")
    entries: list[Entry] = []
    for variety, groups in varieties.items():
        if not isinstance(variety, str) or not isinstance(groups, dict):
            raise LexiconError(f"{name}: variety {variety!r} must be a name mapping to groups")
        for group, items in groups.items():
            where = f"{name}: {variety}.{_group_name(name, variety, group)}"
            entries.extend(_group_entries(where, group, items))
    return lang, entries


def _group_name(name: str, variety: str, group: object) -> str:
    if isinstance(group, bool):  # YAML 1.1 reads an unquoted yes/no key as a boolean
        raise LexiconError(f'{name}: {variety}: group {group!r} must be quoted, e.g. "yes":')
    if group not in GROUPS:
        raise LexiconError(f"{name}: {variety}: unknown intent {group!r}")
    return str(group)


def _group_entries(where: str, group: str, items: object) -> Iterator[Entry]:
    if group in PLAIN_GROUPS:
        yield from _listed(where, group, None, items)
        return
    if not isinstance(items, dict):
        raise LexiconError(f"{where}: expected a mapping of values to phrase lists")
    for value, listed in items.items():
        if group == "language" and value not in LANGUAGES:
            raise LexiconError(f"{where}: unknown language {value!r} (use one of {LANGUAGES})")
        if group == "numbers" and (type(value) is not int or value not in NUMBERS):
            raise LexiconError(f"{where}: number {value!r} must be an integer from 0 to 10")
        kind = "language" if group == "language" else "number"
        yield from _listed(f"{where}.{value}", kind, value, listed)


def _listed(where: str, kind: str, value: Value, items: object) -> Iterator[Entry]:
    if not isinstance(items, list):
        raise LexiconError(f"{where}: expected a list of phrases")
    for i, raw in enumerate(items):
        yield f"{where}[{i}]", kind, value, raw


def _parts(where: str, kind: str, raw: object) -> tuple[tuple[str, ...], ...]:
    if not isinstance(raw, str):
        raise LexiconError(f"{where}: phrase {raw!r} is not a string (quote it)")
    if GAP in raw and kind != "distress":
        raise LexiconError(f"{where}: {raw!r}: '{GAP}' is only allowed in distress phrases")
    parts = tuple(tuple(t.key for t in tokenize(chunk)) for chunk in raw.split(GAP))
    if not all(parts):
        raise LexiconError(f"{where}: phrase {raw!r} is empty or has an empty part")
    return parts


def _check_duplicate(
    where: str,
    seen: dict[tuple[str, ...], tuple[str, Value, str]],
    parts: tuple[tuple[str, ...], ...],
    kind: str,
    value: Value,
) -> None:
    key = tuple(word for part in parts for word in (*part, GAP))[:-1]
    previous = seen.setdefault(key, (kind, value, where))
    if previous[:2] != (kind, value):
        raise LexiconError(
            f"{where}: {' '.join(key)!r} is already listed as {previous[0]} at {previous[2]}"
        )


def _index(
    order: tuple[str, ...],
    phrases: dict[str, dict[str, list[Phrase]]],
    distress: dict[str, list[Pattern]],
) -> Lexicons:
    words = {
        w
        for table in phrases.values()
        for group in table.values()
        for phrase in group
        for w in phrase.words
    }
    words |= {w for group in distress.values() for p in group for part in p.parts for w in part}
    deletions: dict[str, set[str]] = defaultdict(set)
    for word in words:
        if len(word) >= FUZZY_MIN and not word.isdigit():
            for variant in one_deletions(word):
                deletions[variant].add(word)
    return Lexicons(
        order=order,
        phrases={
            lang: {
                first: tuple(sorted(group, key=lambda p: -len(p.words)))
                for first, group in table.items()
            }
            for lang, table in phrases.items()
        },
        distress={first: tuple(group) for first, group in distress.items()},
        vocabulary=frozenset(words),
        deletions={variant: frozenset(found) for variant, found in deletions.items()},
        longest=max(map(len, words), default=0),
    )


def one_deletions(word: str) -> set[str]:
    """Return every string made by deleting one character of word."""
    return {word[:i] + word[i + 1 :] for i in range(len(word))}
