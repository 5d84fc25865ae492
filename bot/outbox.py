"""The outbox sender: claim due rows, deliver them through the channels, retry or fail visibly."""

import asyncio
import contextlib
import logging
import random
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import repo
from bot.db.models import Address, Message, OutboxItem, Returnee
from bot.db.session import UnitOfWork
from bot.effects import raise_alert
from bot.ports import Channel, ChannelError, OutboundMessage
from bot.templates import window_open

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]
MAX_ATTEMPTS = 5
STALE_CLAIM = timedelta(minutes=5)  # a claim older than this belonged to a worker that died


_NUMBER = re.compile(r"\+?\d[\d .-]{5,}\d")


def _scrub(text: str) -> str:
    """Provider errors quote the number ("The 'To' number +2126… is not valid"): drop it."""
    return _NUMBER.sub("[number]", text)


def backoff(attempt: int, *, rng: random.Random | None = None) -> timedelta:
    """Return the wait before retry `attempt`: exponential with full jitter, capped at 30 min."""
    ceiling = min(1800.0, 5.0 * 2 ** (attempt - 1))
    return timedelta(seconds=(rng or random).uniform(ceiling / 2, ceiling))


@dataclass
class DrainResult:
    """Counts of one drain of the outbox."""

    sent: int = 0
    failed: int = 0
    retried: int = 0


@dataclass
class Outbox:
    """Delivers outbox rows; several workers may drain at once (claims use SKIP LOCKED)."""

    unit_of_work: UnitOfWork
    channels: Mapping[str, Channel]
    worker_id: str = "worker"
    batch: int = 200
    concurrency: int = 16  # returnees served at once; each one's messages stay in order
    templates: Mapping[tuple[str, str], str] = field(default_factory=dict)
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _failed_claims: list[str] = field(default_factory=list)

    def wake(self) -> None:
        """Tell the sender task there is work (called after a commit)."""
        self._wake.set()

    async def run(self, *, clock: Clock, idle_seconds: float = 1.0) -> None:
        """Drain forever: on a wake-up, or every idle_seconds for retries that come due.

        Survives a database outage: a drain that fails leaves its claims to be put back as soon
        as the database answers again, and claims left by dead workers are put back every
        STALE_CLAIM.
        """
        next_reconcile = 0.0
        while True:
            try:
                if time.monotonic() >= next_reconcile:
                    await self.reconcile(now=clock())
                    next_reconcile = time.monotonic() + STALE_CLAIM.total_seconds()
                await self._put_back_failed_claims(now=clock())
                await self.drain(now=clock())
            except Exception:  # the sender must outlive a database hiccup; logged, retried
                log.exception("outbox drain failed; retrying")
            self._wake.clear()
            # asyncio.timeout, not wait_for: on 3.11 wait_for swallows a cancel that comes as
            # the wake-up does, and the sender would outlive its shutdown.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(idle_seconds):
                    await self._wake.wait()

    async def reconcile(self, *, now: datetime) -> int:
        """After a crash: put rows left "sending" back to pending, and say so in their record."""
        async with self.unit_of_work() as db:
            return await _put_back(
                db,
                OutboxItem.claimed_at < now - STALE_CLAIM,
                why="in flight at a crash: may have been sent once already",
                now=now,
            )

    async def _put_back_failed_claims(self, *, now: datetime) -> None:
        """Rows of a drain that failed are in flight no more: back to pending, marked."""
        while self._failed_claims:
            async with self.unit_of_work() as db:
                await _put_back(
                    db,
                    OutboxItem.claimed_by == self._failed_claims[0],
                    why="in flight when a drain failed: may have been sent once already",
                    now=now,
                )
            self._failed_claims.pop(0)

    async def drain(self, *, now: datetime, limit: int | None = None) -> DrainResult:
        """Send every row due at `now`; return what happened."""
        total = DrainResult()
        # Each drain claims under its own name, so a failed one can put back exactly its rows.
        claim = f"{self.worker_id[:40]}:{secrets.token_hex(8)}"
        try:
            while limit is None or total.sent + total.failed + total.retried < limit:
                claimed = await self._claim(now, claim)
                if not claimed:
                    break
                gate = asyncio.Semaphore(self.concurrency)
                # A task group: if one delivery fails unexpectedly, the others stop too, as in
                # a crash; their rows stay "sending" until put back.
                async with asyncio.TaskGroup() as group:
                    for rows in _by_returnee(claimed).values():
                        group.create_task(self._deliver_in_order(rows, gate, total, now=now))
        except BaseException:
            self._failed_claims.append(claim)
            raise
        return total

    async def _deliver_in_order(
        self, rows: list["Claimed"], gate: asyncio.Semaphore, total: DrainResult, *, now: datetime
    ) -> None:
        """One returnee's messages, one after another; a retry holds back the later ones."""
        async with gate:
            for position, row in enumerate(rows):
                outcome = await self._deliver(row, now=now)
                setattr(total, outcome, getattr(total, outcome) + 1)
                if outcome == "retried":
                    await self._hold_back(
                        [r.item_id for r in rows[position + 1 :]], behind=row.item_id
                    )
                    return

    async def _hold_back(self, ids: list[int], *, behind: int) -> None:
        """Put later messages back in the queue, due with the one being retried."""
        if not ids:
            return
        async with self.unit_of_work() as db:
            first = await db.get(OutboxItem, behind)
            assert first is not None
            await db.execute(
                update(OutboxItem)
                .where(OutboxItem.id.in_(ids))
                .values(status="pending", claimed_at=None, next_attempt_at=first.next_attempt_at)
            )

    async def _claim(self, now: datetime, claim: str) -> list["Claimed"]:
        """Claim a batch of due rows and prepare each one's message, in one transaction."""
        async with self.unit_of_work() as db:
            query = (
                select(OutboxItem.id)
                .where(OutboxItem.status == "pending", OutboxItem.next_attempt_at <= now)
                .order_by(OutboxItem.id)
                .limit(self.batch)
                .with_for_update(skip_locked=True)
            )
            ids = list((await db.execute(query)).scalars())
            if not ids:
                return []
            await db.execute(
                update(OutboxItem)
                .where(OutboxItem.id.in_(ids), OutboxItem.status == "pending")
                .values(status="sending", claimed_at=now, claimed_by=claim)
            )
            return await _prepare(db, ids, self.templates, now=now)

    async def _deliver(self, row: "Claimed", *, now: datetime) -> str:
        if row.outbound is None:
            error = ChannelError("no address on this channel", code="no_address", permanent=True)
            return await self._finish(row, now=now, error=error)
        channel = self.channels.get(row.outbound.channel)
        if channel is None:
            error = ChannelError(
                f"channel {row.outbound.channel} is not configured",
                code="no_channel",
                permanent=True,
            )
            return await self._finish(row, now=now, error=error)
        try:
            result = await channel.send(row.outbound)
        except ChannelError as error:
            return await self._finish(row, now=now, error=error)
        return await self._finish(
            row, now=now, provider_id=result.provider_id, status=result.status
        )

    async def _finish(
        self,
        row: "Claimed",
        *,
        now: datetime,
        provider_id: str | None = None,
        status: str = "sent",
        error: ChannelError | None = None,
    ) -> str:
        async with self.unit_of_work() as db:
            if error is None:  # the common case: two updates by id, nothing loaded
                await db.execute(
                    update(OutboxItem)
                    .where(OutboxItem.id == row.item_id)
                    .values(status="sent", attempts=OutboxItem.attempts + 1)
                )
                await db.execute(
                    update(Message)
                    .where(Message.id == row.message_id)
                    .values(status=status, provider_id=provider_id, updated_at=now)
                )
                return "sent"
            item = await db.get(OutboxItem, row.item_id)
            assert item is not None  # claimed by us a moment ago
            message = await db.get(Message, item.message_id)
            assert message is not None
            item.attempts += 1
            item.last_error = _scrub(str(error))[:255]
            if error.permanent or item.attempts >= MAX_ATTEMPTS:
                item.status, message.status, message.error_code = "failed", "failed", error.code
                await _after_failure(db, message, error, now=now)
                return "failed"
            wait = (
                timedelta(seconds=error.retry_after)
                if error.retry_after
                else backoff(item.attempts)
            )
            item.status, item.next_attempt_at, item.claimed_at = "pending", now + wait, None
            return "retried"


@dataclass(frozen=True)
class Claimed:
    """A claimed row and the message prepared for it (None: no address to send it to)."""

    item_id: int
    message_id: int
    returnee_id: int | None
    outbound: OutboundMessage | None


def _by_returnee(claimed: list[Claimed]) -> dict[int | None, list[Claimed]]:
    groups: dict[int | None, list[Claimed]] = {}
    for row in claimed:  # claimed in id order, so each group is in order
        groups.setdefault(row.returnee_id, []).append(row)
    return groups


async def _prepare(
    db: AsyncSession,
    ids: list[int],
    templates: Mapping[tuple[str, str], str],
    *,
    now: datetime,
) -> list[Claimed]:
    """Load the batch's rows, messages, returnees and addresses at once; build each message."""
    items = (await db.execute(select(OutboxItem).where(OutboxItem.id.in_(ids)))).scalars().all()
    message_ids = {i.message_id for i in items}
    messages = {
        m.id: m
        for m in (await db.execute(select(Message).where(Message.id.in_(message_ids)))).scalars()
    }
    returnee_ids = {m.returnee_id for m in messages.values() if m.returnee_id is not None}
    returnees = {
        r.id: r
        for r in (await db.execute(select(Returnee).where(Returnee.id.in_(returnee_ids)))).scalars()
    }
    addresses = {
        (a.returnee_id, a.channel): a
        for a in (
            await db.execute(select(Address).where(Address.returnee_id.in_(returnee_ids)))
        ).scalars()
    }
    claimed = []
    for item in sorted(items, key=lambda i: i.id):
        message = messages[item.message_id]
        returnee = returnees.get(message.returnee_id) if message.returnee_id else None
        outbound = (
            _outbound(item, message, returnee, addresses, templates, now=now) if returnee else None
        )
        claimed.append(Claimed(item.id, message.id, message.returnee_id, outbound))
    return claimed


async def _put_back(
    db: AsyncSession, which: ColumnElement[bool], *, why: str, now: datetime
) -> int:
    """Rows left "sending" that nobody is sending any more: pending again, traced."""
    result = await db.execute(
        update(OutboxItem)
        .where(OutboxItem.status == "sending", which)
        .values(
            status="pending",
            claimed_at=None,
            next_attempt_at=now,
            last_error=why,
            recovered_at=now,
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _outbound(
    item: OutboxItem,
    message: Message,
    returnee: Returnee,
    addresses: Mapping[tuple[int, str], Address],
    templates: Mapping[tuple[str, str], str],
    *,
    now: datetime,
) -> OutboundMessage | None:
    address = addresses.get((returnee.id, item.channel))
    if address is None:
        return None
    channel, template = item.channel, None
    variables: tuple[str, ...] = ()
    if item.channel == "whatsapp" and not window_open(address.last_inbound_at, now):
        template = templates.get((message.purpose or "", returnee.language))
        if template is None:  # WhatsApp would refuse free text (63016): use SMS straight away
            address = addresses.get((returnee.id, "sms"))
            if address is None:
                return None
            channel = item.channel = message.channel = "sms"
        else:
            variables = (returnee.name.split(" ")[0], message.text)
    return OutboundMessage(
        channel=channel,
        address=address.address,
        text=message.text,
        choices=tuple((c["id"], c["label"]) for c in message.choices or []),
        idempotency_key=item.idempotency_key,
        language=returnee.language,
        template=template,
        template_variables=variables,
    )


async def _after_failure(
    db: AsyncSession, message: Message, error: ChannelError, *, now: datetime
) -> None:
    """A failed message is visible to caseworkers; a dead number or a block is acted on."""
    returnee = await repo.returnee(db, message.returnee_id) if message.returnee_id else None
    if returnee is None:
        return
    if error.opted_out:
        address = await repo.address_for(db, returnee.id, message.channel)
        if address is not None:
            address.opted_out = True
        if returnee.channel == message.channel:
            returnee.opted_out = True
        await repo.cancel_planned(db, returnee.id, reason="blocked_or_stop", now=now)
        return
    kind = "undeliverable"
    await raise_alert(
        db,
        returnee,
        kind=kind,
        priority=4 if error.dead_address else 5,
        reason=f"message could not be delivered ({error.code})",
        now=now,
    )
