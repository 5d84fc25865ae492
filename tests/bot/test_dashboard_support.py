"""Shared set-up for the dashboard tests: two caseloads, an admin and a viewer (no tests here)."""

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

import httpx

from bot.accounts import hash_password
from bot.clock import utcnow
from bot.db.models import Checkin, Message, ScheduledSend, User
from bot.effects import raise_alert
from bot.services import Services
from tests.bot.webapp import PASSWORD, client, csrf_of, sign_in
from tests.builders import make_enrollment, make_returnee, make_workshop

AMINA = "amina@example.org"
MOUSSA = "moussa@example.org"
ADMIN = "admin@example.org"
VIEWER = "viewer@example.org"
ROLES = {AMINA: "caseworker", MOUSSA: "caseworker", ADMIN: "admin", VIEWER: "viewer"}


@cache
def _hash() -> str:
    """One argon2id hash of the test password for every account (hashing is slow on purpose)."""
    return hash_password(PASSWORD)


@dataclass(frozen=True)
class World:
    """Ids of what build_world made; "a" rows are Amina's caseload, "m" rows Moussa's."""

    now: datetime
    a1: int
    a2: int
    m1: int
    w_amina: int
    w_moussa: int
    e_a1: int
    e_m1: int
    alert_a1: int
    alert_m1: int


async def build_world(services: Services) -> World:
    """Accounts of every role, three returnees in two caseloads, workshops, alerts, check-ins."""
    now = utcnow()
    async with services.unit_of_work() as db:
        for email, role in ROLES.items():
            db.add(
                User(
                    email=email, name=email.split("@")[0].title(), role=role,
                    password_hash=_hash(), created_at=now,
                )
            )  # fmt: skip
        await db.flush()
        a1 = await make_returnee(
            db, now=now, name="Fatima Zahra Idrissi", country="MA", language="fr", caseworker=AMINA
        )
        a2 = await make_returnee(
            db,
            now=now,
            name="Sami Trabelsi",
            country="TN",
            language="ar",
            channel="whatsapp",
            caseworker=AMINA,
        )
        m1 = await make_returnee(
            db, now=now, name="Awa Diop", country="SN", language="wo", caseworker=MOUSSA
        )
        w_amina = await make_workshop(db, now=now, title="Atelier Amina", tz="Africa/Casablanca")
        w_moussa = await make_workshop(db, now=now, title="Atelier Moussa")
        e_a1 = await make_enrollment(db, w_amina, a1, now=now)
        e_m1 = await make_enrollment(db, w_moussa, m1, now=now)
        alert_a1 = await raise_alert(
            db, a1, kind="help", priority=2, reason="asked for help", now=now - timedelta(hours=3)
        )
        alert_m1 = await raise_alert(
            db, m1, kind="distress", priority=1, reason="distress", now=now - timedelta(hours=1)
        )
        for person, scores in ((a1, (4, 2)), (m1, (5,))):
            for days, score in enumerate(scores):
                at = now - timedelta(days=7 * (len(scores) - days))
                db.add(Checkin(returnee_id=person.id, score=score, comment="ça va", created_at=at))
        db.add(_message(a1.id, "in", "Bonjour <b>merci</b>", now - timedelta(hours=4)))
        db.add(_message(m1.id, "in", "Secret de Moussa", now - timedelta(hours=4)))
        db.add(
            ScheduledSend(
                key=f"e{e_a1.id}:v1:reminder:first",
                returnee_id=a1.id,
                enrollment_id=e_a1.id,
                purpose="reminder",
                due_at=now - timedelta(hours=2),
                send_at=now - timedelta(hours=2),
                not_after=now,
                status="skipped",
                reason="quiet hours: after the workshop started",
                decided_at=now - timedelta(hours=2),
                created_at=now - timedelta(days=1),
            )
        )
    return World(
        now, a1.id, a2.id, m1.id, w_amina.id, w_moussa.id, e_a1.id, e_m1.id, alert_a1.id,
        alert_m1.id,
    )  # fmt: skip


def _message(returnee_id: int, direction: str, text: str, at: datetime) -> Message:
    return Message(
        returnee_id=returnee_id,
        direction=direction,
        channel="sms",
        text=text,
        status="received" if direction == "in" else "delivered",
        purpose=None if direction == "in" else "invitation",
        created_at=at,
        updated_at=at,
    )


@dataclass
class Session:
    """A signed-in HTTP client and its CSRF token."""

    http: httpx.AsyncClient
    csrf: str

    async def post(
        self, url: str, data: Mapping[str, str | list[str]] | None = None, **kwargs: object
    ) -> httpx.Response:
        """Post a form with the CSRF token."""
        form = {"csrf": self.csrf, **(data or {})}
        return await self.http.post(url, data=form, **kwargs)  # type: ignore[arg-type]


@asynccontextmanager
async def signed_in(services: Services, email: str) -> AsyncIterator[Session]:
    """A client signed in as `email`, with its CSRF token."""
    async with client(services) as http:
        answer = await sign_in(http, email)
        assert answer.status_code == 303, answer.text
        yield Session(http, csrf_of((await http.get("/account/password")).text))
