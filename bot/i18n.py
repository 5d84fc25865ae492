"""Translations from the Babel catalogs in locales/, and dates in the returnee's locale and zone."""

import io
import logging
from collections.abc import Mapping
from datetime import date, datetime
from functools import cache
from gettext import GNUTranslations, NullTranslations
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LANGUAGES = ("fr", "ar", "wo")
DEFAULT_LANG = "fr"
RLM = "\u200f"  # forces right-to-left display of an Arabic message that starts with a digit
LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DATE_PATTERN = "EEEE d MMMM HH:mm"  # one explicit 24-hour pattern: fr_TN/ar_TN default to 12 h
log = logging.getLogger(__name__)


def N_(msgid: str) -> str:
    """Mark a message for extraction; return it unchanged."""
    return msgid


def pN_(context: str, msgid: str) -> tuple[str, str]:
    """Mark a message with its context for extraction."""
    return context, msgid


class _Blank(dict[str, str]):
    """Placeholders with no value render empty and are logged, never a KeyError mid-send."""

    def __missing__(self, key: str) -> str:
        log.warning("no value for placeholder {%s}", key)
        return ""


@cache
def catalog(
    lang: str, locales_dir: Path = LOCALES_DIR, *, domain: str = "messages"
) -> NullTranslations:
    """Load a language's .po file, compiled in memory, so no build step is needed to run."""
    # domains: "messages" is what returnees read, "dashboard" the caseworkers' screens
    path = locales_dir / lang / "LC_MESSAGES" / f"{domain}.po"
    if not path.exists():
        return NullTranslations()
    with path.open("rb") as handle:
        po = read_po(handle, locale=lang)
    buffer = io.BytesIO()
    write_mo(buffer, po)
    buffer.seek(0)
    return GNUTranslations(buffer)


def translate(context: str, msgid: str, lang: str) -> str:
    """Return the translation of msgid in lang; French (the source) when there is none."""
    if lang not in LANGUAGES:
        lang = DEFAULT_LANG
    return catalog(lang).pgettext(context, msgid)


def render(context: str, msgid: str, lang: str, params: Mapping[str, str]) -> str:
    """Translate and fill named placeholders; Arabic text gets a leading RLM."""
    text = translate(context, msgid, lang).format_map(_Blank(params))
    return RLM + text if lang == "ar" else text


def locale_for(lang: str, country: str) -> Locale:
    """Return the Babel locale for a language in a country (ar_MA, fr_TN, wo_SN…)."""
    for code in (f"{lang}_{country}", lang):
        try:
            return Locale.parse(code)
        except (ValueError, LookupError):
            continue
    return Locale.parse(DEFAULT_LANG)


def format_when(when: datetime, *, lang: str, country: str, tz: str) -> str:
    """Format a date and time for a message, in the returnee's locale and time zone."""
    local = when.astimezone(ZoneInfo(tz))
    return format_datetime(local, DATE_PATTERN, locale=locale_for(lang, country))


def format_pattern(moment: date, pattern: str, *, lang: str, tz: str = "UTC") -> str:
    """Format a date, or a time in a zone, with an explicit CLDR pattern in a language."""
    if isinstance(moment, datetime):
        return format_datetime(moment.astimezone(ZoneInfo(tz)), pattern, locale=lang)
    return format_date(moment, pattern, locale=lang)
