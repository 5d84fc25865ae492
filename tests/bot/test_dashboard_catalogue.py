"""The dashboard's catalogue cannot rot: every string is wrapped, extracted and translated."""

import re
import string
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from jinja2 import nodes

from bot.dashboard.templating import templates
from bot.i18n import LOCALES_DIR

ROOT = LOCALES_DIR.parent
TEMPLATES = ROOT / "bot" / "dashboard" / "templates"
TRANSLATED = ("en",)  # French is the source text
# words a template may show as they are, in every language: product and channel names, the
# keyword returnees send, the time zone and an IANA zone name (an example in a placeholder)
AS_IS = {"returnee-bot", "Telegram", "WhatsApp", "SMS", "STOP", "UTC", "Africa", "Casablanca"}
SHOWN_ATTRIBUTES = {"title", "aria-label", "placeholder", "alt"}
JINJA = re.compile(
    r"{%-?\s*trans\b.*?{%-?\s*endtrans\s*-?%}"  # translated already
    r"|{{.*?}}|{%.*?%}|{#.*?#}",
    re.DOTALL,
)
WORD = re.compile(r"[^\W\d_][\w'’·-]*")


def _catalog(path: Path) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle)


def _messages(catalog: Catalog) -> Iterator[Message]:
    return (m for m in catalog if m.id)


class _Text(HTMLParser):
    """Collect what a reader sees: text between tags and the shown attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self.skip = 0  # inside <code>: column names, not prose

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.skip += tag == "code"
        self.found += [v for k, v in attrs if k in SHOWN_ATTRIBUTES and v]

    def handle_endtag(self, tag: str) -> None:
        self.skip -= tag == "code"

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.found.append(data)


def _untranslated_markup(source: str) -> list[str]:
    """Words outside {% trans %}, _() and other Jinja code (which stands in as "§")."""
    parser = _Text()
    parser.feed(JINJA.sub(lambda m: "" if m.group().startswith("{%") else "§", source))
    words = (w for text in parser.found for w in WORD.findall(text))
    return [w for w in words if w not in AS_IS]


def _shown_constants(expr: nodes.Node) -> Iterator[str]:
    """String literals that an output expression prints (call and filter arguments excluded)."""
    if isinstance(expr, nodes.Const) and isinstance(expr.value, str):
        yield expr.value
    elif isinstance(expr, nodes.CondExpr):
        yield from _shown_constants(expr.expr1)
        if expr.expr2 is not None:
            yield from _shown_constants(expr.expr2)
    elif isinstance(expr, nodes.Concat):
        for part in expr.nodes:
            yield from _shown_constants(part)
    elif isinstance(expr, nodes.BinExpr):  # or, and, +
        yield from _shown_constants(expr.left)
        yield from _shown_constants(expr.right)


def _untranslated_literals(source: str) -> list[str]:
    tree = templates.env.parse(source)
    texts = (
        text
        for output in tree.find_all(nodes.Output)
        for expr in output.nodes
        for text in _shown_constants(expr)
    )
    return [t for t in texts if WORD.search(t) and not t.startswith("/")]  # paths are no text


@pytest.mark.parametrize("path", sorted(TEMPLATES.glob("*.html")), ids=lambda p: p.name)
def test_a_template_shows_no_text_outside_trans_or_gettext(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    assert _untranslated_markup(source) == []
    assert _untranslated_literals(source) == []


def test_the_scanner_catches_bare_text_attributes_and_literals() -> None:
    source = (
        '<h1>Ateliers {{ n }}</h1><a title="Changer">{{ _("Ok") }}</a>'
        '{% trans %}Fine {{ x }}{% endtrans %}{{ "Modifier" if a else b }}'
    )
    assert _untranslated_markup(source) == ["Ateliers", "Changer"]
    assert _untranslated_literals(source) == ["Modifier"]


def test_the_catalogue_holds_every_wrapped_string() -> None:
    with (LOCALES_DIR / "dashboard.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)  # type: ignore[no-untyped-call]
    extracted = {
        (context, msgid if isinstance(msgid, str) else msgid[0])
        for _, _, msgid, _, context in extract_from_dir(
            ROOT,
            method_map,
            options_map,
            keywords={"_": None, "gettext": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2),
                      "npgettext": ((1, "c"), 2, 3), "N_": None},
        )
    }  # fmt: skip
    template = {(m.context, m.id if isinstance(m.id, str) else m.id[0]) for m in _messages(
        _catalog(LOCALES_DIR / "dashboard.pot"))}  # fmt: skip
    assert extracted - template == set(), "run `make i18n`"
    assert template - extracted == set(), "run `make i18n`"


def _texts(value: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    """The one text of a message, or its plural forms."""
    return (value or "",) if value is None or isinstance(value, str) else tuple(value)


def _placeholders(text: str) -> set[str]:
    printf = set(re.findall(r"%\((\w+)\)s", text))
    return printf | {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_dashboard_string_is_translated_with_the_same_placeholders(lang: str) -> None:
    catalog = _catalog(LOCALES_DIR / lang / "LC_MESSAGES" / "dashboard.po")
    template = _catalog(LOCALES_DIR / "dashboard.pot")
    assert {m.id for m in _messages(catalog)} >= {m.id for m in _messages(template)}
    for message in _messages(catalog):
        ids = _texts(message.id)
        strings = _texts(message.string)
        assert all(strings), f"{lang}: {ids[0]!r} is not translated"
        assert not message.fuzzy, f"{lang}: {ids[0]!r} is fuzzy"
        expected = set().union(*map(_placeholders, ids))
        for text in strings:
            assert _placeholders(text) == expected, f"{lang}: {ids[0]!r} -> {text!r}"
    assert catalog.plural_forms == "nplurals=2; plural=(n != 1);"
