"""Delivery at the providers' limits: the real adapters and outbox against the API doubles.

Run: .venv/bin/python bench/bench_delivery.py [--telegram 300] [--chats 5] [--per-chat 8]
                                              [--whatsapp 200]

Each case queues its messages in a SQLite database (bot.effects.queue_message, as a flow or
the scheduler does), then runs the real sender loop (bot.outbox.Outbox.run) with the adapters
bot.services builds from Settings (TelegramChannel on make_bot, TwilioChannel) pointed at the
doubles in tests/doubles, which enforce the limits and answer 429 past them:
  telegram, distinct chats   N messages to N chats           30/s overall
  telegram, same chats       K chats x M messages each        1/s per chat
  whatsapp, one sender       N messages from one number      10/s per sender
The achieved rate is measured where the provider sees it, from the times the double accepted
each message: (n - 1) / (last - first); for the same-chat case, per chat (median of the chats).
"late" is how long after the limiter's slot each request reached the double (p50 / max).
Prints Markdown rows and a `BENCH {...}` line; exit 1 if a
target is missed (share >= 95%, no 429, every message sent).
"""

import argparse
import asyncio
import json
import secrets
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import func, select, update
from starlette.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot import programme
from bot.channels.ratelimit import RateLimiter
from bot.clock import utcnow
from bot.db.migrate import upgrade
from bot.db.models import Address, OutboxItem
from bot.effects import Turn, queue_message
from bot.services import Services, build_services
from bot.settings import Settings, load
from tests.doubles import RateLimit, TelegramDouble, TwilioDouble

TARGET_SHARE = 0.95
WA_FROM = "+14155238886"
CASE_SECONDS = 60.0  # a case that has not delivered everything by then has failed
POLL = 0.05


@dataclass(frozen=True)
class Case:
    """One delivery case and what it achieved."""

    name: str
    limit: str
    per_second: float  # the limit that binds in this case
    messages: int
    rate: float  # achieved, as the provider saw it
    seconds: float  # from starting the sender to the last row marked sent
    rejected: int  # 429 answers the double gave
    unsent: int  # rows not "sent" at the end
    late_ms: tuple[float, float]  # arrival after the limiter's slot: p50, max

    @property
    def share(self) -> float:
        """The achieved rate as a share of the limit."""
        return self.rate / self.per_second

    @property
    def held(self) -> bool:
        """At the limit, without provoking it, and nothing left behind."""
        return self.share >= TARGET_SHARE and self.rejected == 0 and self.unsent == 0

    def row(self) -> str:
        """The Markdown row."""
        late = f"{self.late_ms[0]:.0f} / {self.late_ms[1]:.0f}"
        return (
            f"| {self.name} | {self.limit} | {self.messages} | {self.rate:.2f} |"
            f" {self.share:.1%} | {self.rejected} | {self.unsent} | {late} |"
            f" {self.seconds:.1f} | {'held' if self.held else 'MISSED'} |"
        )


def settings_for(scratch: Path, telegram: TelegramDouble, twilio: TwilioDouble) -> Settings:
    """Settings with both providers pointed at their doubles."""
    return load(
        Config(
            environ={
                "DATABASE_URL": f"sqlite:///{scratch / 'delivery.db'}",
                "BOT_ENV": "development",
                "SECRET_KEY": secrets.token_urlsafe(32),
                "DATA_ENCRYPTION_KEY": Fernet.generate_key().decode(),
                "PUBLIC_BASE_URL": "http://127.0.0.1:9",  # status callbacks: none are posted
                "TELEGRAM_BOT_TOKEN": telegram.token,
                "TELEGRAM_API_BASE": telegram.base_url,
                "TWILIO_ACCOUNT_SID": twilio.account_sid,
                "TWILIO_AUTH_TOKEN": twilio.auth_token,
                "TWILIO_API_BASE": twilio.base_url,
                "TWILIO_WHATSAPP_FROM": f"whatsapp:{WA_FROM}",
                "TWILIO_SMS_FROM": "+33755550100",
            }
        ),
        var_dir=scratch / "var",
    )


async def queue(services: Services, case: str, people: list[programme.NewReturnee], k: int) -> None:
    """Register the people and queue k messages for each, as one flow turn would."""
    now = utcnow()
    async with services.unit_of_work() as db:
        for person in people:
            returnee = await programme.create_returnee(db, person, now=now)
            if person.channel == "whatsapp":  # they wrote today: free text is allowed
                await db.execute(
                    update(Address)
                    .where(Address.returnee_id == returnee.id, Address.channel == "whatsapp")
                    .values(last_inbound_at=now)
                )
            turn = Turn(now=now, key=f"bench:{case}:{returnee.id}", purpose="bench")
            for n in range(k):
                text = f"Rappel {n + 1}/{k} pour {person.name}: atelier jeudi 14:30."
                await queue_message(db, returnee, turn, text=text, n=n)


async def pending(services: Services) -> int:
    """Rows not yet sent or failed."""
    async with services.unit_of_work() as db:
        query = select(func.count()).where(OutboxItem.status.in_(("pending", "sending")))
        return int((await db.execute(query)).scalar_one())


async def deliver(services: Services, accepted: Callable[[], int], total: int) -> float:
    """Run the real sender loop until the double accepted `total` and no row is left."""
    started = time.perf_counter()
    sender = asyncio.create_task(services.outbox.run(clock=utcnow))
    try:
        for _ in range(int(CASE_SECONDS / POLL)):  # bounded: a stuck case ends as unsent
            if accepted() >= total and not await pending(services):
                break
            await asyncio.sleep(POLL)
        return time.perf_counter() - started
    finally:
        sender.cancel()
        await asyncio.gather(sender, return_exceptions=True)


def record_slots(limiter: RateLimiter) -> list[tuple[str, float]]:
    """Note the wall-clock time of every slot the limiter books, per recipient."""
    slots: list[tuple[str, float]] = []
    reserve = limiter.reserve

    def recording(recipient: str) -> float:
        delay = reserve(recipient)
        slots.append((recipient, time.time() + max(0.0, delay)))
        return delay

    limiter.reserve = recording  # type: ignore[method-assign]
    return slots


def lateness_ms(slots: list[tuple[str, float]], arrivals: list[tuple[str, float]]) -> list[float]:
    """For each accepted request, how long after its slot (the latest one before) it arrived."""
    by_recipient: dict[str, list[float]] = defaultdict(list)
    for recipient, at in slots:
        by_recipient[recipient].append(at)
    late = []
    for recipient, arrived in arrivals:
        before = [at for at in by_recipient[recipient] if at <= arrived]
        if before:
            late.append(1000 * (arrived - max(before)))
    return late or [0.0]


def rate_of(times: list[float]) -> float:
    """(n - 1) / (last - first): the pace at which they arrived."""
    times = sorted(times)
    return (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0


Arrivals = list[tuple[str, float]]


@dataclass(frozen=True)
class Plan:
    """What a case sends, and how to read the double afterwards."""

    name: str
    channel: str
    limit: str
    per_second: float
    people: list[programme.NewReturnee]
    each: int
    arrivals: Callable[[], Arrivals]
    rejected: Callable[[], int]
    per_recipient: bool = False


async def run_case(settings: Settings, plan: Plan) -> Case:
    """Queue, deliver through the real outbox and adapter, read what the double saw."""
    services = build_services(settings, worker_id=f"bench-{plan.channel}")
    try:
        await queue(services, plan.name, plan.people, plan.each)
        limiter = getattr(services.outbox.channels[plan.channel], "limiter")  # noqa: B009
        slots = record_slots(limiter)
        total = len(plan.people) * plan.each
        seconds = await deliver(services, lambda: len(plan.arrivals()), total)
        unsent = await pending(services)
    finally:
        await services.close()
    arrivals = plan.arrivals()
    if plan.per_recipient:
        chats: dict[str, list[float]] = defaultdict(list)
        for chat, at in arrivals:
            chats[chat].append(at)
        rate = statistics.median(rate_of(times) for times in chats.values())
    else:
        rate = rate_of([at for _, at in arrivals])
    late = lateness_ms(slots, arrivals)
    return Case(
        name=plan.name,
        limit=plan.limit,
        per_second=plan.per_second,
        messages=total,
        rate=rate,
        seconds=seconds,
        rejected=plan.rejected(),
        unsent=unsent + total - len(arrivals),
        late_ms=(statistics.median(late), max(late)),
    )


def telegram_person(chat: int) -> programme.NewReturnee:
    """A returnee reached on Telegram only."""
    return programme.NewReturnee(
        name=f"Chat {chat}",
        phone=None,
        country="SN",
        language="fr",
        channel="telegram",
        telegram_chat_id=str(chat),
        consent=True,
    )


def whatsapp_person(n: int) -> programme.NewReturnee:
    """A returnee reached on WhatsApp (Senegalese mobile)."""
    return programme.NewReturnee(
        name=f"Personne {n}",
        phone=f"+221770{n:06d}",
        country="SN",
        language="fr",
        channel="whatsapp",
        consent=True,
    )


def plans(args: argparse.Namespace, telegram: TelegramDouble, twilio: TwilioDouble) -> list[Plan]:
    """The three cases."""

    def tg_arrivals() -> Arrivals:
        return [(str(m.chat_id), m.time.timestamp()) for m in telegram.sent]

    def wa_arrivals() -> Arrivals:
        return [(m.to, m.created.timestamp()) for m in twilio.messages]

    base = 700_000_000
    return [
        Plan(
            "telegram, distinct chats",
            "telegram",
            "30/s overall",
            30.0,
            [telegram_person(base + n) for n in range(args.telegram)],
            1,
            tg_arrivals,
            lambda: len(telegram.rejections),
        ),
        Plan(
            f"telegram, {args.chats} chats x {args.per_chat}",
            "telegram",
            "1/s per chat",
            1.0,
            [telegram_person(base + 100_000 + n) for n in range(args.chats)],
            args.per_chat,
            tg_arrivals,
            lambda: len(telegram.rejections),
            per_recipient=True,
        ),
        Plan(
            "whatsapp, one sender",
            "whatsapp",
            "10/s per sender",
            10.0,
            [whatsapp_person(n) for n in range(args.whatsapp)],
            1,
            wa_arrivals,
            lambda: len(twilio.rejections),
        ),
    ]


async def run_all(
    settings: Settings, cases: list[Plan], reset: Mapping[str, Callable[[], None]]
) -> list[Case]:
    """Each case after the previous one, with the doubles' records reset in between."""
    results = []
    for plan in cases:
        for clear in reset.values():
            clear()
        results.append(await run_case(settings, plan))
    return results


def report(cases: list[Case]) -> bool:
    """Print the Markdown rows and the BENCH line; return whether every target held."""
    print(
        "| delivery | limit | messages | achieved msg/s | share of limit"
        " | 429s | unsent | late ms p50 / max | seconds | target |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for case in cases:
        print(case.row())
    figures: dict[str, object] = {"bench": "delivery"}
    for case, key in zip(cases, ("telegram", "telegram_chat", "whatsapp"), strict=True):
        figures[f"{key}_share"] = round(case.share, 4)
        figures[f"{key}_429"] = case.rejected
        figures[f"{key}_unsent"] = case.unsent
    figures["targets_held"] = all(c.held for c in cases)
    print("BENCH " + json.dumps(figures))
    return all(c.held for c in cases)


def main() -> int:
    """Parse the arguments, start the doubles, run the cases."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--telegram", type=int, default=300, help="distinct chats")
    parser.add_argument("--chats", type=int, default=5)
    parser.add_argument("--per-chat", type=int, default=8)
    parser.add_argument("--whatsapp", type=int, default=200)
    args = parser.parse_args()
    telegram = TelegramDouble(overall_limit=RateLimit(30), per_chat_limit=RateLimit(1))
    twilio = TwilioDouble(whatsapp_limit=RateLimit(10), auto_callbacks=False)
    with (
        tempfile.TemporaryDirectory(prefix="bench-delivery-") as scratch,
        telegram.serve(),
        twilio.serve(),
    ):
        settings = settings_for(Path(scratch), telegram, twilio)
        upgrade(settings.database_url)
        cases = plans(args, telegram, twilio)
        reset = {"telegram": telegram.reset, "twilio": twilio.reset}
        results = asyncio.run(run_all(settings, cases, reset))
    return 0 if report(results) else 1


if __name__ == "__main__":
    sys.exit(main())
