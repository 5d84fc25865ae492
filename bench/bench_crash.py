"""Crash tests: the sender killed mid-wave, and every inbound webhook delivered more than once.

Run: .venv/bin/python bench/bench_crash.py [--messages 1000] [--seed N] [--database-url URL]

1. Outbound. Queues a wave of messages (bot.effects.queue_message, a unique text each) in a
   SQLite database (or --database-url, e.g. PostgreSQL), then runs the real sender loop
   (bot.outbox.Outbox.run with the real TwilioChannel) in a subprocess against a Twilio double
   served here, and SIGKILLs it at a random moment 3 to 5 times, restarting it each time; the
   last one finishes the wave. Outbox.reconcile only requeues rows claimed more than STALE_CLAIM
   (5 min) ago, so the n-th worker runs with its clock n x (STALE_CLAIM + 1 s) ahead: to it,
   the rows its killed predecessor left "sending" are stale, as they would be 5 minutes later.
   Counts: lost (queued, never accepted by the double) must be 0; duplicates (a text accepted
   twice) must be no more than the rows left "sending" at the kills, each with recovered_at.
2. Inbound. Serves the full app (`python -m bot serve`) and posts each of N signed Twilio
   webhooks 2 or 3 times, half of them at once on separate connections, half one after the
   other: every copy must be answered 200 and every message stored exactly once.
Prints Markdown rows and a `BENCH {...}` line; exit 1 if a check fails.
"""

import argparse
import asyncio
import json
import os
import random
import secrets
import signal
import sys
import tempfile
import time
from asyncio.subprocess import Process
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from cryptography.fernet import Fernet
from sqlalchemy import func, select
from starlette.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bench_inbound as inbound

from bot import programme
from bot.clock import utcnow
from bot.db.migrate import upgrade
from bot.db.models import OutboxItem
from bot.effects import Turn, queue_message
from bot.outbox import STALE_CLAIM
from bot.services import Services, build_services
from bot.settings import load
from tests.doubles import RateLimit, TwilioDouble

RATE = 50  # messages/s the double accepts and the worker paces at: a wave of ~20 s
SHIFT = STALE_CLAIM + timedelta(seconds=1)
WAVE_SECONDS = 90.0  # the last worker must finish the wave within this
PER_PERSON = 5
STARTUP_SECONDS = 60.0  # a worker that has not sent anything by then is killed anyway
POLL = 0.05
REPLAY_SECONDS = 90.0  # the replays stop starting new messages after this


# -- the worker subprocess ---------------------------------------------------------------------


def worker(generation: int) -> None:
    """Run the real outbox sender with the clock shifted by generation x SHIFT (see above)."""
    settings = load(Config(environ=os.environ))
    services = build_services(settings, worker_id=f"crash-{generation}")
    offset = generation * SHIFT

    def clock() -> datetime:
        return utcnow() + offset

    asyncio.run(services.outbox.run(clock=clock, idle_seconds=0.2))


# -- the outbound wave -------------------------------------------------------------------------


@dataclass
class Kill:
    """One SIGKILL: when, how many rows it left "sending"."""

    at_accepted: int  # messages the double had accepted when the worker died
    in_flight: int  # rows left "sending": claimed, maybe sent
    resent: int = 0  # texts accepted before this kill and again after it


@dataclass
class Wave:
    """What the wave did."""

    queued: int = 0
    kills: list[Kill] = field(default_factory=list)
    accepted: Counter[str] = field(default_factory=Counter)
    unfinished: int = 0  # rows not "sent" at the end
    duplicated_keys: list[str] = field(default_factory=list)
    untraced: int = 0  # duplicates whose row has no recovered_at
    seconds: float = 0.0

    @property
    def lost(self) -> int:
        """Queued texts the double never accepted."""
        return self.queued - len(self.accepted)

    @property
    def duplicates(self) -> int:
        """Extra acceptances of a text already accepted."""
        return sum(n - 1 for n in self.accepted.values())

    @property
    def in_flight(self) -> int:
        """Rows left "sending" over all the kills."""
        return sum(k.in_flight for k in self.kills)

    @property
    def ok(self) -> bool:
        """Nothing lost; duplicates bounded by what was in flight and each traceable."""
        return (
            self.lost == 0
            and self.unfinished == 0
            and self.duplicates <= self.in_flight
            and self.untraced == 0
        )


def environment(url: str, scratch: Path, double: TwilioDouble) -> dict[str, str]:
    """The worker's settings: the Twilio double, paced at RATE."""
    return {
        "DATABASE_URL": url,
        "BOT_ENV": "development",
        "VAR_DIR": str(scratch / "var"),
        "SECRET_KEY": secrets.token_urlsafe(32),
        "DATA_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "PUBLIC_BASE_URL": "http://127.0.0.1:9",
        "TWILIO_ACCOUNT_SID": double.account_sid,
        "TWILIO_AUTH_TOKEN": double.auth_token,
        "TWILIO_API_BASE": double.base_url,
        "TWILIO_SMS_FROM": inbound.SMS_FROM,
        "TWILIO_RATE_PER_SECOND": str(RATE),
        "NO_PROXY": "127.0.0.1,localhost",
    }


async def queue_wave(services: Services, messages: int) -> dict[str, str]:
    """Register people and queue PER_PERSON messages each; return text -> idempotency key."""
    now = utcnow()
    keys: dict[str, str] = {}
    async with services.unit_of_work() as db:
        for person in range(messages // PER_PERSON):
            new = programme.NewReturnee(
                name=f"Personne {person}",
                phone=inbound.phone(person),
                country="MA",
                language="fr",
                channel="sms",
                consent=True,
            )
            returnee = await programme.create_returnee(db, new, now=now)
            turn = Turn(now=now, key=f"wave:{person}", purpose="bench")
            for n in range(PER_PERSON):
                text = f"Rappel {person * PER_PERSON + n:05d}: atelier jeudi 14:30."
                await queue_message(db, returnee, turn, text=text, n=n)
                keys[text] = f"{turn.key}:{n}"
    return keys


async def count_rows(services: Services, status: str) -> int:
    """Outbox rows in a status."""
    async with services.unit_of_work() as db:
        query = select(func.count()).where(OutboxItem.status == status)
        return int((await db.execute(query)).scalar_one())


async def recovered(services: Services, keys: list[str]) -> int:
    """How many of these rows say they were in flight at a crash."""
    async with services.unit_of_work() as db:
        query = select(func.count()).where(
            OutboxItem.idempotency_key.in_(keys), OutboxItem.recovered_at.is_not(None)
        )
        return int((await db.execute(query)).scalar_one())


async def start_worker(env: dict[str, str], generation: int, log: BinaryIO) -> Process:
    """This file, as the worker of the given generation."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--worker",
        str(generation),
        env={**os.environ, **env},
        stdout=log,
        stderr=log,
    )


async def wait_for_progress(double: TwilioDouble, proc: Process, seconds: float) -> None:
    """Let the worker start sending (bounded), then run for `seconds` more."""
    start = len(double.messages)
    for _ in range(int(STARTUP_SECONDS / POLL)):
        if len(double.messages) > start or proc.returncode is not None:
            break
        await asyncio.sleep(POLL)
    await asyncio.sleep(seconds)


async def run_wave(
    args: argparse.Namespace, scratch: Path, rng: random.Random, log: BinaryIO
) -> Wave:
    """Queue the wave, kill the worker 3-5 times, let the last one finish; count."""
    double = TwilioDouble(sms_limit=RateLimit(RATE), auto_callbacks=False)
    url = args.database_url or f"sqlite:///{scratch / 'crash.db'}"
    with double.serve():
        env = environment(url, scratch, double)
        await asyncio.to_thread(upgrade, url)
        services = build_services(load(Config(environ=env)), worker_id="crash-bench", channels={})
        wave = Wave()
        try:
            keys = await queue_wave(services, args.messages)
            wave.queued = len(keys)
            started = time.perf_counter()
            kills = rng.randint(3, 5)
            for generation in range(kills):
                proc = await start_worker(env, generation, log)
                await wait_for_progress(double, proc, rng.uniform(0.3, 3.0))
                proc.send_signal(signal.SIGKILL)
                await proc.wait()
                left = await count_rows(services, "sending")
                wave.kills.append(Kill(len(double.messages), left))
            await finish(await start_worker(env, kills, log), double, services, wave.queued)
            wave.seconds = time.perf_counter() - started
            wave.accepted = Counter(m.body for m in double.messages)
            attribute(wave, [m.body for m in double.messages])
            wave.unfinished = wave.queued - await count_rows(services, "sent")
            wave.duplicated_keys = [keys[t] for t, n in wave.accepted.items() if n > 1]
            wave.untraced = len(wave.duplicated_keys) - await recovered(
                services, wave.duplicated_keys
            )
        finally:
            await services.close()
    return wave


def attribute(wave: Wave, bodies: list[str]) -> None:
    """Charge each duplicate to the first kill after its first acceptance."""
    first: dict[str, int] = {}
    for index, body in enumerate(bodies):
        if body not in first:
            first[body] = index
            continue
        kill = next((k for k in wave.kills if first[body] < k.at_accepted <= index), None)
        if kill is not None:
            kill.resent += 1


async def finish(proc: Process, double: TwilioDouble, services: Services, queued: int) -> None:
    """Let the last worker send the rest (bounded), then stop it."""
    try:
        for _ in range(int(WAVE_SECONDS / POLL)):
            if proc.returncode is not None:
                break
            delivered = len({m.body for m in double.messages}) >= queued
            if delivered and await count_rows(services, "sent") >= queued:
                break
            await asyncio.sleep(POLL)
    finally:
        if proc.returncode is None:
            proc.terminate()
        await proc.wait()


# -- inbound: every webhook delivered 2-3 times ------------------------------------------------


@dataclass
class Replays:
    """What the repeated deliveries did."""

    asked: int = 0
    messages: int = 0
    deliveries: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    stored: Counter[str] = field(default_factory=Counter)
    sids: list[str] = field(default_factory=list)

    @property
    def stored_once(self) -> int:
        """Messages stored exactly once."""
        return sum(1 for sid in self.sids if self.stored[sid] == 1)

    @property
    def ok(self) -> bool:
        """Every delivery answered 200, every message stored exactly once."""
        answered = self.statuses[200] == self.deliveries
        return answered and self.stored_once == self.messages == self.asked


async def replay(target: inbound.Target, count: int, rng: random.Random) -> Replays:
    """Post each webhook 2-3 times: together on separate connections, or one after the other."""
    result = Replays(asked=count)
    conns = [await inbound.Connection.open(target.port) for _ in range(3)]
    deadline = time.monotonic() + REPLAY_SECONDS
    try:
        for n in range(count):
            if time.monotonic() > deadline:
                break  # reported: fewer messages than asked
            result.messages += 1
            sid, request = target.next_request()
            result.sids.append(sid)
            copies = rng.choice((2, 3))
            result.deliveries += copies
            if n % 2:
                sends = [target.send(conns[i], sid, request) for i in range(copies)]
                await asyncio.gather(*sends)
            else:
                for _ in range(copies):
                    await target.send(conns[0], sid, request)
    finally:
        for conn in conns:
            conn.close()
    result.statuses = target.statuses
    return result


def run_replays(args: argparse.Namespace, scratch: Path, rng: random.Random) -> Replays:
    """Set up enrolled returnees, serve the full app, replay every webhook 2-3 times."""
    double = TwilioDouble(auto_callbacks=False)
    with double.serve():
        port = inbound.free_port()
        bot = inbound.make_bot(scratch, returnees=args.returnees, twilio=double, port=port)
        with inbound.serve_bot(bot, port):
            target = inbound.Target("full", port, double.auth_token, bot.numbers)
            result = asyncio.run(replay(target, args.webhooks, rng))
            result.stored = inbound.settled_inbound(bot.db_path)
    return result


# -- report ------------------------------------------------------------------------------------


def report(wave: Wave, replays: Replays, seed: int) -> bool:
    """Print the Markdown rows and the BENCH line; return whether every check held."""
    at = ", ".join(
        f"{k.at_accepted} ({k.in_flight} sending, {k.resent} resent)" for k in wave.kills
    )
    print("| crash test | result | check |")
    print("|---|---|---|")
    print(f"| sender SIGKILLed {len(wave.kills)} times (seed {seed}) | after {at} | |")
    print(f"| messages lost, of {wave.queued} | {wave.lost} | {_word(wave.lost == 0)} |")
    bound = f"<= {wave.in_flight} in flight"
    dup_ok = wave.duplicates <= wave.in_flight
    print(f"| duplicates sent | {wave.duplicates} | {bound}: {_word(dup_ok)} |")
    traced = len(wave.duplicated_keys) - wave.untraced
    print(
        f"| duplicates with recovered_at | {traced} of {len(wave.duplicated_keys)} |"
        f" {_word(wave.untraced == 0)} |"
    )
    print(f"| rows not sent at the end | {wave.unfinished} | {_word(wave.unfinished == 0)} |")
    print(f"| wave time incl. restarts (s) | {wave.seconds:.1f} | |")
    non_200 = replays.deliveries - replays.statuses[200]
    print(
        f"| inbound webhooks delivered 2-3 times | {replays.messages} of {replays.asked} messages"
        f" in {REPLAY_SECONDS:.0f} s, {replays.deliveries} deliveries, {non_200} not 200 |"
        f" {_word(non_200 == 0 and replays.messages == replays.asked)} |"
    )
    print(
        f"| stored exactly once | {replays.stored_once} of {replays.messages} |"
        f" {_word(replays.stored_once == replays.messages)} |"
    )
    figures = {
        "bench": "crash",
        "seed": seed,
        "queued": wave.queued,
        "kills": len(wave.kills),
        "in_flight_at_kills": wave.in_flight,
        "max_resent_per_kill": max((k.resent for k in wave.kills), default=0),
        "lost": wave.lost,
        "duplicates": wave.duplicates,
        "untraced_duplicates": wave.untraced,
        "inbound_messages": replays.messages,
        "inbound_deliveries": replays.deliveries,
        "inbound_stored_once": replays.stored_once,
        "targets_held": wave.ok and replays.ok,
    }
    print("BENCH " + json.dumps(figures))
    return wave.ok and replays.ok


def _word(ok: bool) -> str:
    return "held" if ok else "FAILED"


def main() -> int:
    """Parse the arguments; run as the bench, or as one worker generation."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--webhooks", type=int, default=200)
    parser.add_argument("--returnees", type=int, default=50, help="for the inbound part")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temp dir")
    parser.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        worker(args.worker)
        return 0
    seed = args.seed if args.seed is not None else secrets.randbelow(10**6)
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="bench-crash-") as scratch:
        with (Path(scratch) / "worker.log").open("ab") as log:
            wave = asyncio.run(run_wave(args, Path(scratch), rng, log))
        (Path(scratch) / "inbound").mkdir()
        replays = run_replays(args, Path(scratch) / "inbound", rng)
    return 0 if report(wave, replays, seed) else 1


if __name__ == "__main__":
    sys.exit(main())
