"""Fold a reply into matching keys: one lower-case, accent-free token per word or emoji."""

import re
import unicodedata
from dataclasses import dataclass
from itertools import groupby

ZWJ = "\u200d"
TATWEEL = "\u0640"
SKIN_TONES = range(0x1F3FB, 0x1F400)

# Letter variants folded for matching only (languages.md §2.3, §2.6).  NFD already splits the
# hamza and madda off أ إ آ ؤ ئ; these letters have no decomposition, so they are mapped here.
# ڭ ݣ ڨ ڤ stay: the lexicons list each such word in both spellings.
LETTERS = str.maketrans(
    {
        "ى": "ي",
        "ی": "ي",
        "ة": "ه",
        "ک": "ك",
        "ٱ": "ا",
        "ڢ": "ف",
        "ڧ": "ق",
        "ŋ": "ng",
        "œ": "oe",
        "æ": "ae",
    }
)
DIGIT_SLASH = re.compile(r"(?<=[0-9])\s*/\s*(?=[0-9])")
FRACTION = re.compile(r"[0-9]+/[0-9]+")


@dataclass(frozen=True, slots=True)
class Token:
    """One word of a reply: its key, and the key with stretched letters reduced to one."""

    key: str
    alt: str


def normalize(text: str) -> str:
    """Return the folded matching key of a reply, tokens separated by single spaces."""
    return " ".join(token.key for token in tokenize(text))


def tokenize(text: str) -> tuple[Token, ...]:
    """Split a reply into folded tokens; emoji become tokens of their own."""
    folded = DIGIT_SLASH.sub("/", _fold(text))
    return tuple(_squeeze(word) for part in folded.split() for word in _split_slash(part))


def _split_slash(part: str) -> list[str]:
    # "4/5" and "٤/٥" stay one token (a score out of 5); any other "/" separates words.
    if "/" not in part or FRACTION.fullmatch(part):
        return [part]
    return part.replace("/", " ").split()


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    # NFD then dropping marks removes Latin accents, tashkeel, and the hamza/madda of أ إ آ ؤ ئ.
    text = "".join(
        c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) not in ("Mn", "Me")
    )
    text = unicodedata.normalize("NFC", text).translate(LETTERS)
    out: list[str] = []
    joined = False
    for char in text:
        out.append("" if joined and _is_symbol(char) else _fold_char(char))
        joined = char == ZWJ
    return "".join(out)


def _fold_char(char: str) -> str:
    if char in (ZWJ, TATWEEL) or ord(char) in SKIN_TONES:
        return ""
    if char.isdecimal():  # ٣ and ۳ become 3; Arabizi letters like the 3 of "n3am" stay in place
        return str(unicodedata.decimal(char))
    category = unicodedata.category(char)
    if category[0] in "LN" or category == "Mc":
        return char
    if category == "Cf":  # RLM, LRM, ALM, ZWNJ, BOM, bidi isolates: invisible, so dropped
        return ""
    if category == "So":  # an emoji: a token of its own
        return f" {char} "
    return "/" if char == "/" else " "


def _is_symbol(char: str) -> bool:
    # The part after a ZWJ (the ♂ of 🙅‍♂️) is dropped: the first emoji carries the meaning.
    return unicodedata.category(char) == "So"


def _squeeze(word: str) -> Token:
    runs = [(char, len(list(group))) for char, group in groupby(word)]
    last = len(runs) - 1
    key = "".join(char * _kept(char, n, stretched=False) for char, n in runs)
    alt = "".join(
        char * _kept(char, n, stretched=n >= 3 or (n == 2 and i == last))
        for i, (char, n) in enumerate(runs)
    )
    return Token(key, alt)


def _kept(char: str, n: int, *, stretched: bool) -> int:
    # Letters repeated 3+ times keep two (Wolof needs "waaw"); a stretched run ("ouiii", or a
    # doubled last letter as in "ouii") keeps one in the alternative key.  Digits stay as typed.
    if not char.isalpha():
        return n
    return 1 if stretched else min(n, 2)
