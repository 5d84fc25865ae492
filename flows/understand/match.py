"""Match reply tokens against the lexicons: typo-tolerant words, phrase segments, distress."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from flows.understand.lexicon import FUZZY_MIN, MAX_GAP, Lexicons, Phrase, Value, one_deletions
from flows.understand.normalize import FRACTION, Token

YES_SIDE: Final = frozenset({"yes", "yes_alone"})
NO_SIDE: Final = frozenset({"no", "no_alone", "no_soft", "negator"})


@dataclass(frozen=True, slots=True)
class View:
    """One reply token as the matcher sees it."""

    key: str
    exact: frozenset[str]  # the key, or its squeezed form when only that one is known
    near: frozenset[str]  # known words one typo away, when no exact form is known


@dataclass(frozen=True, slots=True)
class Segment:
    """A run of reply tokens read as one lexicon phrase (or one unknown token)."""

    kind: str
    value: Value
    start: int
    end: int
    typo: bool = False

    @property
    def size(self) -> int:
        """Return how many tokens the segment covers."""
        return self.end - self.start


def views(tokens: Sequence[Token], lex: Lexicons) -> tuple[View, ...]:
    """Look each token up in the vocabulary, exactly or with one typo."""
    return tuple(_view(token, lex) for token in tokens)


def _view(token: Token, lex: Lexicons) -> View:
    if token.key in lex.vocabulary or token.alt == token.key:
        exact = frozenset({token.key})
    else:
        exact = frozenset({token.alt})
    if exact & lex.vocabulary:
        return View(token.key, exact, frozenset())
    return View(token.key, exact, _near(token.alt, lex) | _near(token.key, lex))


def _near(word: str, lex: Lexicons) -> frozenset[str]:
    if not FUZZY_MIN <= len(word) <= lex.longest + 1 or word.isdigit():
        return frozenset()  # also bounds the work on a huge token (a pasted link, say)
    found = set(lex.deletions.get(word, ()))  # a letter was left out
    for variant in one_deletions(word):
        if len(variant) >= FUZZY_MIN and variant in lex.vocabulary:  # a letter was added
            found.add(variant)
        found.update(w for w in lex.deletions.get(variant, ()) if _one_edit(word, w))
    # A typo never changes the first letter: in Arabic it is the person of the verb (نكون "I
    # will be", تكون "you will be").  A word also that close to such a word gets no reading.
    if any(w[0] != word[0] for w in found):
        return frozenset()
    return frozenset(found)


def _one_edit(a: str, b: str) -> bool:
    # Both words have the same length: one substitution, or one swap of neighbours.
    diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
    if len(diff) == 1:
        return True
    i = diff[0]
    return len(diff) == 2 and diff[1] == i + 1 and a[i] == b[i + 1] and a[i + 1] == b[i]


def segment(seen: Sequence[View], lex: Lexicons, order: Sequence[str]) -> list[Segment]:
    """Cut the reply into the longest lexicon phrases, left to right."""
    out: list[Segment] = []
    i = 0
    while i < len(seen):
        found = _best(seen, i, lex, order)
        out.append(found or _bare(seen[i], i))
        i = out[-1].end
    return out


def _bare(view: View, i: int) -> Segment:
    if view.key.isascii() and view.key.isdigit():
        return Segment("number", int(view.key), i, i + 1)
    if FRACTION.fullmatch(view.key):
        top, bottom = (int(n) for n in view.key.split("/"))
        # "4/5" is a 4; "8/10" or "4/4" is a number off our 1-5 scale.
        return Segment("number", top if bottom == 5 else 99, i, i + 1)
    return Segment("unknown", None, i, i + 1)


def _best(seen: Sequence[View], i: int, lex: Lexicons, order: Sequence[str]) -> Segment | None:
    ranked: list[tuple[int, bool, int, Phrase]] = []
    for rank, lang in enumerate(order):
        table = lex.phrases.get(lang, {})
        for first in seen[i].exact | seen[i].near:
            for phrase in table.get(first, ()):
                typo = _match(seen, i, phrase.words, phrase.typos)
                if typo is not None:
                    ranked.append((len(phrase.words), not typo, -rank, phrase))
    if not ranked:
        return None
    size, exact, _, best = max(ranked, key=lambda r: r[:3])
    if not exact and _torn(best, [p for n, e, _, p in ranked if n == size and not e]):
        return None  # a typo that reads as yes one way and no the other: no reading at all
    return Segment(best.kind, best.value, i, i + size, typo=not exact)


def _torn(best: Phrase, rivals: list[Phrase]) -> bool:
    sides = {
        ("yes" if p.kind in YES_SIDE else "no")
        for p in (best, *rivals)
        if p.kind in YES_SIDE | NO_SIDE
    }
    return len(sides) > 1


def _match(seen: Sequence[View], i: int, words: Sequence[str], typos: bool) -> bool | None:
    """Return None if words do not match at i, else whether a typo was needed."""
    if i + len(words) > len(seen):
        return None
    typo = False
    for view, word in zip(seen[i : i + len(words)], words, strict=True):
        if word in view.exact:
            continue
        if not (typos and word in view.near):
            return None
        typo = True
    return typo


def has_distress(seen: Sequence[View], lex: Lexicons) -> bool:
    """Tell whether a distress phrase occurs anywhere in the reply."""
    return any(
        _pattern_at(seen, i, pattern.parts)
        for i, view in enumerate(seen)
        for first in view.exact | view.near
        for pattern in lex.distress.get(first, ())
    )


def _pattern_at(seen: Sequence[View], i: int, parts: Sequence[tuple[str, ...]]) -> bool:
    if _match(seen, i, parts[0], True) is None:
        return False
    rest = parts[1:]
    if not rest:
        return True
    after = i + len(parts[0])
    return any(_pattern_at(seen, j, rest) for j in range(after, after + MAX_GAP + 1))


def order_for(lex: Lexicons, lang: str | None) -> tuple[str, ...]:
    """Return the lexicon languages in search order: the hinted one first."""
    if lang is None:
        return lex.order
    return (lang, *(code for code in lex.order if code != lang))
