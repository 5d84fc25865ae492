"""Key rotation under load: seed N returnees, rotate while reading and writing, then check.

Shared by tests/security/test_keyrotation.py (1,000 returnees) and bench/bench_keys.py (10,000).
"""

import asyncio
import itertools
import random
import time
from dataclasses import dataclass, field

import httpx
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import LargeBinary, column, func, select, table

from bot import keyrotation, programme
from bot.db import crypto, repo
from bot.db.models import Returnee
from bot.keyrotation import RotationReport
from bot.ports import InboundMessage
from bot.services import Services
from tests.bot.webapp import api_token
from tests.conftest import FIXED_NOW
from tests.security.harness import http_client

SEED_BATCH = 500
_SIDS = itertools.count(1)  # provider ids of the inbound messages: each one new
CLIENTS = 3  # concurrent clients of the service during the rotation
THINK = 0.005  # seconds each client waits between requests: a busy service, not a saturated one


def phone(i: int) -> str:
    """The i-th returnee's number, in E.164 (Senegal mobiles)."""
    return f"+22177{i:07d}"


def name(i: int) -> str:
    """The i-th returnee's name."""
    return f"Personne Numero {i}"


async def seed(services: Services, count: int) -> list[int]:
    """Register `count` returnees through bot.programme (two addresses each); return their ids."""
    ids: list[int] = []
    for start in range(0, count, SEED_BATCH):
        async with services.unit_of_work() as db:
            for i in range(start, min(count, start + SEED_BATCH)):
                new = programme.NewReturnee(name=name(i), phone=phone(i), country="SN",
                                            language="fr", channel="sms", consent=True)  # fmt: skip
                ids.append((await programme.create_returnee(db, new, now=FIXED_NOW)).id)
    return ids


@dataclass
class Load:
    """What the service did while the keys rotated."""

    reads: int = 0
    writes: int = 0
    errors: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)

    def percentile_ms(self, fraction: float) -> float:
        """A latency percentile of the service's answers, in milliseconds."""
        ordered = sorted(self.latencies)
        return 1000 * ordered[int(fraction * (len(ordered) - 1))] if ordered else 0.0


@dataclass
class Outcome:
    """The rotation's report and the service's figures during it."""

    report: RotationReport
    load: Load


async def rotate_under_load(
    services: Services, ids: list[int], *, new_key: str, pause: float = keyrotation.PAUSE
) -> Outcome:
    """Rotate to `new_key` while clients keep reading returnees and sending messages."""
    load = Load()
    done = asyncio.Event()
    headers = await api_token(services)
    async with http_client(services) as http:
        workers = [
            asyncio.create_task(_serve(services, http, headers, ids, load, done, seed))
            for seed in range(CLIENTS)
        ]
        try:
            report = await keyrotation.rotate_all(
                services.unit_of_work, newest_key=new_key, actor="test", pause=pause
            )
        finally:
            done.set()
            await asyncio.gather(*workers)
    return Outcome(report, load)


async def load_alone(services: Services, ids: list[int], *, seconds: float) -> Load:
    """The same clients for a while without a rotation: the baseline to compare with."""
    load = Load()
    done = asyncio.Event()
    headers = await api_token(services)
    async with http_client(services) as http:
        workers = [
            asyncio.create_task(_serve(services, http, headers, ids, load, done, seed))
            for seed in range(CLIENTS)
        ]
        await asyncio.sleep(seconds)
        done.set()
        await asyncio.gather(*workers)
    return load


async def _serve(
    services: Services,
    http: httpx.AsyncClient,
    headers: dict[str, str],
    ids: list[int],
    load: Load,
    done: asyncio.Event,
    seed: int,
) -> None:
    r = random.Random(seed)
    while not done.is_set():
        i = r.randrange(len(ids))
        started = time.perf_counter()
        try:
            if r.random() < 0.05:
                load.writes += 1
                await _write(services, i, f"SM{next(_SIDS):032d}")
            else:
                await _read(services, http, headers, ids[i], i)
                load.reads += 1
        except Exception as error:  # every failure counts, whatever it is
            load.errors.append(f"{type(error).__name__}: {error}"[:200])
        load.latencies.append(time.perf_counter() - started)
        await asyncio.sleep(THINK)


async def _read(
    services: Services, http: httpx.AsyncClient, headers: dict[str, str], rid: int, i: int
) -> None:
    answer = await http.get(f"/api/v1/returnees/{rid}", headers=headers)
    if answer.status_code != 200 or answer.json()["name"] != name(i):
        raise AssertionError(f"GET returnee {rid}: {answer.status_code}")
    async with services.unit_of_work() as db:  # the blind index, as an inbound message finds it
        found = await repo.address_with_returnee(db, "sms", phone(i))
    if found is None or found[1].id != rid or found[0].address != phone(i):
        raise AssertionError(f"lookup by phone {i} failed")


async def _write(services: Services, i: int, sid: str) -> None:
    inbound = InboundMessage(channel="sms", address=phone(i), text="oui merci", external_id=sid)
    outcome = await services.conversations.handle(inbound, now=FIXED_NOW)
    if not outcome.stored or outcome.returnee_id is None:
        raise AssertionError(f"message from {i} not stored")


async def readable_with_only(services: Services, new_key: str) -> int:
    """Decrypt every encrypted value with the new key alone; return how many there were."""
    fernet, values = Fernet(new_key.encode()), 0
    async with services.unit_of_work() as db:
        for table_name, column_name in keyrotation.encrypted_columns():
            raw = table(table_name, column(column_name, LargeBinary))
            tokens = (await db.execute(select(raw.c[column_name]))).scalars()
            for token in tokens:
                if token is not None:
                    try:
                        fernet.decrypt(bytes(token))
                    except InvalidToken:
                        raise AssertionError(f"{table_name}.{column_name} not rotated") from None
                    values += 1
        people = (await db.execute(select(Returnee))).scalars().all()  # the ORM reads too
        assert all(p.name and p.phone for p in people)
    return values


async def found_by_phone(services: Services, ids: list[int], sample: int = 50) -> int:
    """Look people up by phone through the blind index; return how many were found."""
    found = 0
    async with services.unit_of_work() as db:
        for i in random.Random(1).sample(range(len(ids)), min(sample, len(ids))):
            found_here = await repo.address_with_returnee(db, "whatsapp", phone(i))
            by_index = await db.scalar(
                select(func.count()).select_from(Returnee).where(Returnee.phone_index == phone(i))
            )
            found += int(found_here is not None and found_here[1].id == ids[i] and by_index == 1)
    return found


def ring_with_only(new_key: str, old_key: str) -> None:
    """The ring once the old key is retired: the new key alone, the index pinned to the old."""
    crypto.configure(new_key, index_secret=old_key)
