"""Translations cannot rot: missing, fuzzy or placeholder-changing entries fail the build."""

import shutil
from pathlib import Path

import pytest

from bot import i18n
from bot.flowcheck import check
from bot.i18n import LOCALES_DIR


@pytest.fixture
def locales(tmp_path: Path) -> Path:
    """A copy of the catalogs to break."""
    copy = tmp_path / "locales"
    shutil.copytree(LOCALES_DIR, copy)
    return copy


def _edit(locales: Path, lang: str, old: str, new: str) -> None:
    path = locales / lang / "LC_MESSAGES" / "messages.po"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_the_shipped_catalogs_pass() -> None:
    assert check().problems == []


def test_a_missing_translation_is_reported(locales: Path) -> None:
    path = locales / "wo" / "LC_MESSAGES" / "messages.po"
    text = path.read_text(encoding="utf-8")
    start = text.index('msgctxt "invitation"')
    msgstr = text.index("msgstr", start)
    end = text.index("\n\n", msgstr)
    path.write_text(text[:msgstr] + 'msgstr ""' + text[end:], encoding="utf-8")
    problems = check(locales).problems
    assert any("wo translation of" in p and "is missing" in p for p in problems)


def test_a_changed_placeholder_is_reported(locales: Path) -> None:
    path = locales / "ar" / "LC_MESSAGES" / "messages.po"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    index = next(
        i for i, line in enumerate(lines) if line.startswith("msgstr") and "{workshop}" in line
    )
    lines[index] = lines[index].replace("{workshop}", "{atelier}")
    path.write_text("".join(lines), encoding="utf-8")
    assert any("has placeholders ['atelier'" in p for p in check(locales).problems)


def test_a_fuzzy_translation_is_reported(locales: Path) -> None:
    _edit(locales, "ar", 'msgctxt "invitation"', '#, fuzzy\nmsgctxt "invitation"')
    assert any("is fuzzy" in p for p in check(locales).problems)


def test_a_wrong_plural_header_is_reported(locales: Path) -> None:
    _edit(locales, "wo", "nplurals=1; plural=0;", "nplurals=2; plural=(n != 1);")
    assert any("locales/wo: Plural-Forms" in p for p in check(locales).problems)


def test_a_broken_flow_is_reported() -> None:
    texts = {"bad.yaml": "id: bad\nstart: a\nnodes:\n  - {id: a, next: nowhere}\n"}
    assert check(texts=texts).problems == [
        "bad.yaml:4: step 'a' goes to 'nowhere', which does not exist"
    ]


@pytest.mark.parametrize("lang", ["fr", "ar", "wo"])
def test_every_language_renders_the_invitation(lang: str) -> None:
    msgid = next(m for c, m in _flow_texts() if c == "invitation" and "{workshop}" in m)
    text = i18n.render(
        "invitation", msgid, lang, {"name": "Awa", "workshop": "W", "date": "D", "location": "L"}
    )
    assert "Awa" in text
    assert "{" not in text
    if lang != "fr":
        assert text != msgid


def _flow_texts() -> list[tuple[str, str]]:
    from babel.messages.pofile import read_po

    with (LOCALES_DIR / "ar" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return [(str(m.context), str(m.id)) for m in read_po(handle) if m.id]


def test_dates_use_the_returnees_locale_and_zone() -> None:
    from datetime import UTC, datetime

    when = datetime(2026, 12, 3, 13, 30, tzinfo=UTC)
    assert i18n.format_when(when, lang="fr", country="TN", tz="Africa/Tunis") == (
        "jeudi 3 décembre 14:30"
    )
    assert i18n.format_when(when, lang="ar", country="MA", tz="Africa/Casablanca") == (
        "الخميس 3 دجنبر 14:30"
    )
    assert i18n.format_when(when, lang="wo", country="SN", tz="Africa/Dakar") == (
        "Alxamis 3 Desàmbar 13:30"
    )
