"""Replay a transcript (returnee says / bot says) through the real host, at a fixed clock."""

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from bot.db.models import Alert, Enrollment, Message
from bot.ports import InboundMessage, OutboundMessage
from bot.rendering import body_with_options
from bot.services import Services
from tests.builders import make_enrollment, make_returnee, make_workshop
from tests.conftest import FIXED_NOW

COUNTRY = {"fr": "MA", "ar": "TN", "wo": "SN"}
TZ = {"MA": "Africa/Casablanca", "TN": "Africa/Tunis", "SN": "Africa/Dakar"}


@dataclass
class Case:
    """One conversation of a transcript file."""

    name: str
    turns: list[dict[str, str]]
    expect: dict[str, Any] = field(default_factory=dict)


@dataclass
class Transcript:
    """A transcript file: a flow, a language, its cases."""

    path: Path
    flow: str
    lang: str
    entry: str | None
    cases: list[Case]


def load(path: Path) -> Transcript:
    """Read a transcript file."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    cases = [Case(c["name"], c["turns"], c.get("expect") or {}) for c in data["cases"]]
    return Transcript(path, data["flow"], data["lang"], data.get("entry"), cases)


def dump(transcript: Transcript, header: str) -> str:
    """Write a transcript back, bot lines included (for --update-golden)."""
    data = {
        "flow": transcript.flow,
        "lang": transcript.lang,
        **({"entry": transcript.entry} if transcript.entry else {}),
        "cases": [
            {"name": c.name, "turns": c.turns, **({"expect": c.expect} if c.expect else {})}
            for c in transcript.cases
        ],
    }
    body = yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100)
    return header + body


class _Dumper(yaml.SafeDumper):
    """Multi-line bot messages as literal blocks, as a reviewer reads them on a phone."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


async def replay(
    services: Services, transcript: Transcript, case: Case
) -> tuple[list[dict[str, str]], dict[str, Any]]:
    """Run a case; return the turns as they happened and the final facts."""
    country = COUNTRY[transcript.lang]
    async with services.unit_of_work() as db:
        returnee = await make_returnee(
            db, now=FIXED_NOW, country=country, language=transcript.lang, name="Awa Diallo"
        )
        workshop = await make_workshop(db, now=FIXED_NOW, tz=TZ[country])
        enrollment = await make_enrollment(db, workshop, returnee, now=FIXED_NOW)
        from bot.effects import Turn

        turn = Turn(
            now=FIXED_NOW, key="transcript", purpose=transcript.flow, enrollment_id=enrollment.id
        )
        await services.conversations.start_flow(
            db,
            returnee,
            transcript.flow,
            turn=turn,
            fields={"enrollment_id": str(enrollment.id)},
            at=transcript.entry,
        )
        phone, returnee_id, enrollment_id = returnee.phone, returnee.id, enrollment.id
    assert phone is not None
    seen = 0
    happened: list[dict[str, str]] = []
    seen = await _bot_lines(services, returnee_id, seen, happened)
    for n, turn_ in enumerate(t for t in case.turns if "returnee" in t):
        text = turn_["returnee"]
        happened.append({"returnee": text})
        await services.conversations.handle(
            InboundMessage(channel="sms", address=phone, text=text, external_id=f"t{n}"),
            now=FIXED_NOW + timedelta(minutes=n + 1),
        )
        seen = await _bot_lines(services, returnee_id, seen, happened)
    return happened, await _facts(services, returnee_id, enrollment_id)


async def _bot_lines(
    services: Services, returnee_id: int, after: int, happened: list[dict[str, str]]
) -> int:
    async with services.unit_of_work() as db:
        rows = (
            (
                await db.execute(
                    select(Message)
                    .where(
                        Message.returnee_id == returnee_id,
                        Message.direction == "out",
                        Message.id > after,
                    )
                    .order_by(Message.id)
                )
            )
            .scalars()
            .all()
        )
    for message in rows:
        choices = tuple((c["id"], c["label"]) for c in message.choices or [])
        happened.append(
            {
                "bot": body_with_options(
                    OutboundMessage(
                        channel="sms",
                        address="",
                        text=message.text,
                        choices=choices,
                        idempotency_key="",
                    )
                )
            }
        )
    return rows[-1].id if rows else after


async def _facts(services: Services, returnee_id: int, enrollment_id: int) -> dict[str, Any]:
    async with services.unit_of_work() as db:
        enrollment = await db.get(Enrollment, enrollment_id)
        alerts = (
            (
                await db.execute(
                    select(Alert.kind).where(Alert.returnee_id == returnee_id).order_by(Alert.id)
                )
            )
            .scalars()
            .all()
        )
        from bot.db.models import Checkin, Returnee

        returnee = await db.get(Returnee, returnee_id)
        scores = (
            (await db.execute(select(Checkin.score).where(Checkin.returnee_id == returnee_id)))
            .scalars()
            .all()
        )
    assert enrollment is not None
    assert returnee is not None
    return {
        "enrollment": enrollment.status,
        "alerts": list(alerts),
        "checkins": list(scores),
        "language": returnee.language,
        "opted_out": returnee.opted_out,
        "consent": returnee.consent,
    }
