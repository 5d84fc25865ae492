"""Approved WhatsApp templates (Twilio Content SIDs), by purpose and language, from a file."""

import os
from collections.abc import Mapping
from datetime import datetime, timedelta
from importlib.resources import files
from pathlib import Path

import yaml

WINDOW = timedelta(hours=24)  # WhatsApp's customer service window


class TemplateError(ValueError):
    """The templates file is not usable; the message names the entry."""


def load_templates(text: str, *, source: str) -> dict[tuple[str, str], str]:
    """Parse {purpose: {language: "HX…"}} into {(purpose, language): content SID}."""
    data = yaml.safe_load(text) or {}
    if not isinstance(data, dict):
        raise TemplateError(f"{source}: expected a mapping of purposes")
    out: dict[tuple[str, str], str] = {}
    for purpose, by_lang in data.items():
        if not isinstance(by_lang, dict):
            raise TemplateError(f"{source}: {purpose}: expected a mapping of languages")
        for lang, sid in by_lang.items():
            if not (isinstance(sid, str) and sid.startswith("HX") and len(sid) == 34):
                raise TemplateError(f"{source}: {purpose}.{lang}: not a Content SID (HX + 32)")
            out[(str(purpose), str(lang))] = sid
    return out


def configured_templates() -> Mapping[tuple[str, str], str]:
    """Read WHATSAPP_TEMPLATES_FILE if set, else the packaged example (empty by default)."""
    path = os.environ.get("WHATSAPP_TEMPLATES_FILE")
    if path:
        return load_templates(Path(path).read_text(encoding="utf-8"), source=path)
    text = (files("bot") / "whatsapp_templates.yaml").read_text(encoding="utf-8")
    return load_templates(text, source="bot/whatsapp_templates.yaml")


def window_open(last_inbound_at: datetime | None, now: datetime) -> bool:
    """True while free text may be sent: within 24 hours of the returnee's last message."""
    return last_inbound_at is not None and now - last_inbound_at < WINDOW
