"""Understand a returnee's reply: yes/no/maybe, a 1-5 score, commands, help and distress."""

from flows.understand.classify import (
    INTENTS,
    QUESTIONS,
    THRESHOLD,
    Understanding,
    understand,
)
from flows.understand.lexicon import LexiconError, Lexicons, load_lexicons
from flows.understand.normalize import normalize

# The lexicon files under flows/lexicons/, in the order they are searched when no language
# hint is given.  The caller reads them (this package does no I/O) and passes the texts.
LEXICON_FILES = ("common.yaml", "fr.yaml", "ar.yaml", "wo.yaml")

__all__ = [
    "INTENTS",
    "LEXICON_FILES",
    "QUESTIONS",
    "THRESHOLD",
    "LexiconError",
    "Lexicons",
    "Understanding",
    "load_lexicons",
    "normalize",
    "understand",
]
