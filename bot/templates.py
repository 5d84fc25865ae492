"""Approved WhatsApp templates (Twilio Content SIDs), by purpose and language, from a file."""

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib.resources import files
from pathlib import Path

import yaml

WINDOW = timedelta(hours=24)  # WhatsApp's customer service window
Key = tuple[str, str]  # (purpose, language)


class TemplateError(ValueError):
    """The templates file is not usable; the message names the entry."""


@dataclass(frozen=True, slots=True)
class Template:
    """One approved template: its Content SID and, when the file gives it, its wording."""

    sid: str
    text: str | None = None


def load_catalog(text: str, *, source: str) -> dict[Key, Template]:
    """Parse {purpose: {language: "HX…" or {sid: "HX…", text: "…"}}} into templates."""
    data = yaml.safe_load(text) or {}
    if not isinstance(data, dict):
        raise TemplateError(f"{source}: expected a mapping of purposes")
    out: dict[Key, Template] = {}
    for purpose, by_lang in data.items():
        if not isinstance(by_lang, dict):
            raise TemplateError(f"{source}: {purpose}: expected a mapping of languages")
        for lang, entry in by_lang.items():
            out[(str(purpose), str(lang))] = _entry(entry, f"{source}: {purpose}.{lang}")
    return out


def _entry(entry: object, where: str) -> Template:
    if isinstance(entry, dict):
        unknown = set(entry) - {"sid", "text"}
        if unknown:
            raise TemplateError(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
        wording = entry.get("text")
        if wording is not None and not isinstance(wording, str):
            raise TemplateError(f"{where}: text must be a string")
        return Template(_sid(entry.get("sid"), where), wording)
    return Template(_sid(entry, where))


def _sid(value: object, where: str) -> str:
    if not (isinstance(value, str) and value.startswith("HX") and len(value) == 34):
        raise TemplateError(f"{where}: not a Content SID (HX + 32)")
    return value


def load_templates(text: str, *, source: str) -> dict[Key, str]:
    """Parse the file into {(purpose, language): content SID} (what the outbox sends)."""
    return {key: t.sid for key, t in load_catalog(text, source=source).items()}


def configured_catalog() -> Mapping[Key, Template]:
    """Read WHATSAPP_TEMPLATES_FILE if set, else the packaged example (empty by default)."""
    path = os.environ.get("WHATSAPP_TEMPLATES_FILE")
    if path:
        return load_catalog(Path(path).read_text(encoding="utf-8"), source=path)
    text = (files("bot") / "whatsapp_templates.yaml").read_text(encoding="utf-8")
    return load_catalog(text, source="bot/whatsapp_templates.yaml")


def wording(catalog: Mapping[Key, Template]) -> dict[Key, str]:
    """The templates whose wording is known, as text with {{1}} and {{2}}."""
    return {key: t.text for key, t in catalog.items() if t.text}


def fill(text: str, first_name: str, message: str) -> str:
    """A template's wording with its two variables: {{1}} the first name, {{2}} the message."""
    return text.replace("{{1}}", first_name).replace("{{2}}", message)


def window_open(last_inbound_at: datetime | None, now: datetime) -> bool:
    """True while free text may be sent: within 24 hours of the returnee's last message."""
    return last_inbound_at is not None and now - last_inbound_at < WINDOW
