"""The dashboard's own catalogue (domain "dashboard"), separate from what returnees read.

The msgids are the French text: caseworkers work in French first, so French needs no catalogue,
and a string missing from another catalogue shows in French, never blank. The language is
per request (set by bot.dashboard.language), so Python code and templates translate alike.
"""

from contextvars import ContextVar, Token
from functools import cache
from gettext import NullTranslations

from bot.i18n import catalog

LANGUAGES = {"fr": "Français", "en": "English"}  # each named in itself, for the switch
DEFAULT = "fr"
DOMAIN = "dashboard"
_current: ContextVar[str] = ContextVar("dashboard_language", default=DEFAULT)


class _French(NullTranslations):
    """The source text, with French plurals: 0 and 1 are singular (gettext's default: n == 1)."""

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        """One of the two French forms."""
        return msgid1 if n <= 1 else msgid2

    def npgettext(self, context: str, msgid1: str, msgid2: str, n: int) -> str:
        """One of the two French forms (the context does not change the source text)."""
        return msgid1 if n <= 1 else msgid2


_FRENCH = _French()


@cache
def translations(lang: str) -> NullTranslations:
    """The catalogue of a dashboard language; French (the source) for any other."""
    if lang == DEFAULT or lang not in LANGUAGES:
        return _FRENCH
    found = catalog(lang, domain=DOMAIN)
    found.add_fallback(_FRENCH)  # an entry not translated yet shows the French source
    return found


def activate(lang: str) -> Token[str]:
    """Make lang the language of the current request (or task); returns the token to reset."""
    return _current.set(lang if lang in LANGUAGES else DEFAULT)


def deactivate(token: Token[str]) -> None:
    """Go back to the language before activate()."""
    _current.reset(token)


def current() -> str:
    """The language of the current request."""
    return _current.get()


def gettext(msgid: str) -> str:
    """Translate into the request's language."""
    return translations(current()).gettext(msgid)


def ngettext(singular: str, plural: str, n: int) -> str:
    """Translate a message with a count into the request's language."""
    return translations(current()).ngettext(singular, plural, n)


def pgettext(context: str, msgid: str) -> str:
    """Translate a message with a context into the request's language."""
    return translations(current()).pgettext(context, msgid)


def npgettext(context: str, singular: str, plural: str, n: int) -> str:
    """Translate a message with a context and a count into the request's language."""
    return translations(current()).npgettext(context, singular, plural, n)


def N_(msgid: str) -> str:
    """Mark a message for extraction where it is defined; translate it where it is shown."""
    return msgid
