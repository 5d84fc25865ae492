"""`flows check`: every flow loads and validates, every text is translated, SMS stay short."""

import re
import string
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from bot import messages
from bot.i18n import LOCALES_DIR
from bot.ports import OutboundMessage
from bot.rendering import body_with_options, gsm7_segments
from bot.services import flow_texts
from flows import build_registry
from flows.definition import FlowError
from flows.model import Ask, Flow, SendText, Text
from flows.validate import validate

TRANSLATED = ("ar", "wo")  # French is the source language
# Segments one message may take, with its numbered options, as SMS. Arabic is UCS-2 (67
# characters a segment): a question with four options cannot fit in two, so it gets three.
SMS_SEGMENT_BUDGET = {"GSM-7": 2, "UCS-2": 3}
PLURAL_FORMS = {
    "fr": "nplurals=2; plural=(n > 1);",
    "ar": "nplurals=6; plural=n==0 ? 0 : n==1 ? 1 : n==2 ? 2 : n%100>=3 && n%100<=10 ? 3 : "
    "n%100>=11 ? 4 : 5;",
    "wo": "nplurals=1; plural=0;",
}
SAMPLE = {
    "name": "Aminata",
    "workshop": "Atelier de developpement personnel",
    "date": "mercredi 16 decembre 14:30",
    "location": "Centre OIM, salle 2",
    "emergency": "1515 (SAMU), 17 (police)",
}


@dataclass
class Report:
    """Problems (fail the check) and information lines (segment counts)."""

    problems: list[str] = field(default_factory=list)
    info: list[str] = field(default_factory=list)


def placeholders(text: str) -> set[str]:
    """Return the named placeholders of a text."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def texts_of(flow: Flow) -> Iterator[tuple[str, Text, tuple[Text, ...]]]:
    """Yield (step id, text, its option labels) for every translatable text of a flow."""
    for node in flow.nodes.values():
        for action in node.actions:
            if isinstance(action, SendText):
                yield node.id, action.text, ()
            if isinstance(action, Ask):
                labels = tuple(c.label for c in action.choices)
                yield node.id, action.text, labels
                yield from ((node.id, label, ()) for label in labels)


def system_texts() -> list[Text]:
    """The host's own texts (bot/messages.py)."""
    return [
        Text(context=v[0], msgid=v[1])
        for k, v in vars(messages).items()
        if k.isupper() and isinstance(v, tuple)
    ]


def load_catalog(lang: str, locales_dir: Path = LOCALES_DIR) -> Catalog | None:
    """Read a language's .po catalog, or None if it is missing."""
    path = locales_dir / lang / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return None
    with path.open("rb") as handle:
        return read_po(handle, locale=lang)


def check(locales_dir: Path = LOCALES_DIR, texts: dict[str, str] | None = None) -> Report:
    """Run every check and return the report."""
    report = Report()
    try:
        registry = build_registry(texts if texts is not None else flow_texts())
    except FlowError as error:
        report.problems.append(str(error))
        return report
    used: list[tuple[str, Text, tuple[Text, ...]]] = []
    for flow in registry.values():
        report.problems.extend(validate(flow))
        used.extend((f"{flow.source}: step {step!r}", t, o) for step, t, o in texts_of(flow))
    used.extend(("bot/messages.py", t, ()) for t in system_texts())
    catalogs = {lang: load_catalog(lang, locales_dir) for lang in ("fr", *TRANSLATED)}
    _check_catalogs(catalogs, used, report)
    return report


def _check_catalogs(
    catalogs: dict[str, Catalog | None],
    used: list[tuple[str, Text, tuple[Text, ...]]],
    report: Report,
) -> None:
    for lang, catalog in catalogs.items():
        if catalog is None:
            report.problems.append(f"locales/{lang}: messages.po is missing")
            continue
        header = _plural_header(catalog)
        if header != PLURAL_FORMS[lang]:
            report.problems.append(
                f"locales/{lang}: Plural-Forms is {header!r}, expected {PLURAL_FORMS[lang]!r}"
            )
        if lang != "fr":
            for where, text, _ in used:
                report.problems.extend(_check_one(catalog, lang, where, text))
        for where, text, options in used:
            if text.context != "choice":
                _check_size(report, catalog, lang, where, text, options)


def _check_size(
    report: Report, catalog: Catalog, lang: str, where: str, text: Text, options: tuple[Text, ...]
) -> None:
    """Count the SMS segments of a text as sent: placeholders filled, options numbered."""
    body = _translated(catalog, text).format_map(_Sample(SAMPLE))
    choices = tuple((str(n), _translated(catalog, o)) for n, o in enumerate(options, start=1))
    rendered = body_with_options(
        OutboundMessage(
            channel="sms",
            address="",
            text=("\u200f" if lang == "ar" else "") + body,
            choices=choices,
            idempotency_key="",
        )
    )
    encoding, segments = gsm7_segments(rendered)
    budget = SMS_SEGMENT_BUDGET[encoding]
    if segments > budget:
        report.problems.append(
            f"{where}: the {lang} text takes {segments} SMS segments "
            f"({encoding}, budget {budget}): {text.msgid[:40]!r}"
        )
    else:
        report.info.append(f"{lang} {encoding} {segments} segment(s): {where}")


def _plural_header(catalog: Catalog) -> str:
    raw = dict(catalog.mime_headers).get("Plural-Forms", "")
    return re.sub(r"\s+", " ", str(raw)).strip()


def _translated(catalog: Catalog, text: Text) -> str:
    message = catalog.get(text.msgid, context=text.context)
    return str(message.string) if message is not None and message.string else text.msgid


def _check_one(catalog: Catalog, lang: str, where: str, text: Text) -> Iterator[str]:
    """Report a missing, fuzzy or placeholder-changing translation."""
    message = catalog.get(text.msgid, context=text.context)
    label = f"{where}: {lang} translation of {text.msgid[:50]!r}"
    if message is None or not message.string:
        yield f"{label} is missing"
        return
    if message.fuzzy:
        yield f"{label} is fuzzy (needs review)"
    wanted, found = placeholders(text.msgid), placeholders(str(message.string))
    if wanted != found:
        yield f"{label} has placeholders {sorted(found)}, expected {sorted(wanted)}"


class _Sample(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "x" * 10
