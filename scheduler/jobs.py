"""Scheduler passes: plan what is owed, dispatch what is due, time out silent waits."""

import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.conversation import Conversations
from bot.db import repo
from bot.db.models import Conversation, Enrollment, Returnee, ScheduledSend, Workshop
from bot.db.session import UnitOfWork
from bot.effects import Turn
from scheduler import policy
from scheduler.plan import PlanConfig, PlannedSend, wellbeing_sends, workshop_sends

log = logging.getLogger(__name__)
ACTIVE_ENROLLMENT = ("invited", "confirmed", "unsure")
DEFER = timedelta(minutes=15)  # look again this much later while a returnee is mid-answer
WELLBEING_HORIZON = timedelta(days=1)  # plan check-ins a day ahead; the pass runs every minute
# purpose -> (flow id, entry for someone who already confirmed)
PURPOSE_FLOWS = {
    "invitation": ("invitation", None),
    "reminder": ("reminder", "notice"),
    "attendance_check": ("attendance", None),
    "wellbeing_checkin": ("wellbeing", None),
    "reschedule": ("reschedule", None),
    "cancellation": ("cancellation", None),
}
NOTICES = {"reschedule", "cancellation"}  # they go out to enrollments the change just ended


@dataclass
class PassSummary:
    """What one scheduler pass did; printed as the tick's JSON line."""

    planned: int = 0
    due: int = 0
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    timed_out: int = 0
    deferred: int = 0
    progress: Callable[["PassSummary"], None] | None = field(default=None, repr=False)
    reasons: dict[str, int] = field(default_factory=dict)

    def report(self) -> None:
        """Tell the watcher (a terminal's progress line) how far the pass is."""
        if self.progress is not None:
            self.progress(self)

    def skip(self, reason: str) -> None:
        """Count a send that will not go out, by reason."""
        self.skipped += 1
        key = reason.split(":")[0]
        self.reasons[key] = self.reasons.get(key, 0) + 1


def _row(
    send: PlannedSend,
    decision: policy.Decision,
    *,
    returnee_id: int,
    enrollment_id: int | None,
    key: str,
    now: datetime,
) -> dict[str, object]:
    """The scheduled_sends row of a planned send, as a dict for one bulk insert."""
    skipped = isinstance(decision, policy.Skip)
    return {
        "key": key,
        "returnee_id": returnee_id,
        "enrollment_id": enrollment_id,
        "purpose": send.purpose,
        "due_at": send.due_at,
        "send_at": send.due_at if isinstance(decision, policy.Skip) else decision.at,
        "not_after": send.not_after,
        "status": "skipped" if skipped else "planned",
        "reason": decision.reason,
        "decided_at": now if skipped else None,
        "created_at": now,
    }


class _ToPlan(NamedTuple):
    """What planning needs of an enrollment: no names, nothing to decrypt."""

    enrollment_id: int
    enrolled_at: datetime
    workshop_version: int
    starts_at: datetime
    ends_at: datetime
    returnee_id: int
    country: str
    timezone: str | None


def plan_rows(
    config: PlanConfig,
    todo: Sequence[_ToPlan],
    *,
    now: datetime,
    summary: PassSummary,
    flows_known: set[str],
) -> list[dict[str, object]]:
    """Compute the scheduled sends of these enrollments, in each returnee's own time zone."""
    rows: list[dict[str, object]] = []
    # Enrollments of one workshop in one zone share their sends and quiet-hour decisions:
    # compute each once (a wave of 100,000 enrollments has a handful of distinct ones).
    sends_of = functools.cache(
        lambda enrolled, starts, ends, zone: workshop_sends(
            config, enrolled_at=enrolled, starts_at=starts, ends_at=ends, tz=policy_zone(zone)
        )
    )
    decide = functools.cache(
        lambda send, zone, country: policy.resolve(
            send, tz=policy_zone(zone), country=country, config=config, now=now
        )
    )
    for item in todo:
        zone = policy.timezone_for(item.country, item.timezone, config).key
        for send in sends_of(item.enrolled_at, item.starts_at, item.ends_at, zone):
            if PURPOSE_FLOWS[send.purpose][0] not in flows_known:
                continue
            if send.purpose == "invitation" and item.workshop_version > 1:
                continue  # after a reschedule, its notice asks again instead
            decision = decide(send, zone, item.country)
            key = f"e{item.enrollment_id}:v{item.workshop_version}:{send.key}"
            rows.append(
                _row(
                    send,
                    decision,
                    returnee_id=item.returnee_id,
                    enrollment_id=item.enrollment_id,
                    key=key,
                    now=now,
                )
            )
            summary.planned += 1
            if isinstance(decision, policy.Skip):
                summary.skip(decision.reason)
    return rows


def policy_zone(name: str) -> ZoneInfo:
    """The zone of a name (ZoneInfo caches its instances)."""
    return ZoneInfo(name)


async def plan_pass(
    uow: UnitOfWork,
    config: PlanConfig,
    *,
    now: datetime,
    summary: PassSummary,
    flows_known: set[str],
    batch: int = 5000,
) -> None:
    """Plan every enrollment not yet planned for its workshop's version, and due check-ins."""
    while True:
        async with uow() as db:
            query = (
                select(
                    Enrollment.id,
                    Enrollment.created_at,
                    Workshop.version,
                    Workshop.starts_at,
                    Workshop.ends_at,
                    Returnee.id,
                    Returnee.country,
                    Returnee.timezone,
                )
                .join(Workshop, Workshop.id == Enrollment.workshop_id)
                .join(Returnee, Returnee.id == Enrollment.returnee_id)
                .where(
                    Workshop.status == "scheduled",
                    Enrollment.status.in_(ACTIVE_ENROLLMENT),
                    or_(
                        Enrollment.planned_version.is_(None),
                        Enrollment.planned_version != Workshop.version,
                    ),
                )
                .order_by(Enrollment.id)
                .limit(batch)
                .with_for_update(skip_locked=True, of=Enrollment)
            )
            todo = [_ToPlan(*row) for row in (await db.execute(query)).all()]
            rows = plan_rows(config, todo, now=now, summary=summary, flows_known=flows_known)
            await insert_new(db, rows)
            for version in {t.workshop_version for t in todo}:
                ids = [t.enrollment_id for t in todo if t.workshop_version == version]
                await db.execute(
                    update(Enrollment).where(Enrollment.id.in_(ids)).values(planned_version=version)
                )
        summary.report()
        if len(todo) < batch:
            break
    if "wellbeing" in flows_known:
        await _plan_wellbeing(uow, config, now=now, summary=summary)


async def _plan_wellbeing(
    uow: UnitOfWork, config: PlanConfig, *, now: datetime, summary: PassSummary
) -> None:
    """Plan the check-ins due within the horizon; look at each returnee again when needed."""
    horizon = now + WELLBEING_HORIZON
    if config.wellbeing is None:
        return
    every = config.wellbeing.every
    async with uow() as db:
        query = (
            select(Returnee.id, Returnee.country, Returnee.timezone, Returnee.first_enrolled_at)
            .where(
                Returnee.first_enrolled_at.is_not(None),
                Returnee.opted_out.is_(False),
                Returnee.consent.not_in(("withdrawn", "refused")),
                or_(
                    Returnee.wellbeing_planned_until.is_(None),
                    Returnee.wellbeing_planned_until <= now,
                ),
            )
            .with_for_update(skip_locked=True)
        )
        rows: list[dict[str, object]] = []
        next_look: dict[int, datetime] = {}
        for returnee_id, country, timezone, first in (await db.execute(query)).all():
            tz = policy.timezone_for(country, timezone, config)
            sends = wellbeing_sends(config, first_enrolled_at=first, tz=tz, until=horizon + every)
            for send in sends:
                if send.due_at > horizon:  # the next one: look again a horizon before it
                    next_look[returnee_id] = send.due_at - WELLBEING_HORIZON
                    break
                if send.not_after <= now:
                    continue  # a check-in whose window passed before this returnee was planned
                decision = policy.resolve(send, tz=tz, country=country, config=config, now=now)
                rows.append(
                    _row(
                        send,
                        decision,
                        returnee_id=returnee_id,
                        enrollment_id=None,
                        key=f"r{returnee_id}:{send.key}",
                        now=now,
                    )
                )
        summary.planned += await insert_new(db, rows)
        for returnee_id, when in next_look.items():
            await db.execute(
                update(Returnee)
                .where(Returnee.id == returnee_id)
                .values(wellbeing_planned_until=when)
            )


async def insert_new(db: AsyncSession, rows: list[dict[str, object]]) -> int:
    """Insert scheduled sends, skipping keys that exist already (a re-plan is a no-op)."""
    table = cast(Table, ScheduledSend.__table__)  # Core, not the ORM: no per-row bookkeeping
    return await repo.insert_ignoring_conflicts(db, table, rows, key=["key"])


async def dispatch_pass(
    uow: UnitOfWork,
    conversations: Conversations,
    *,
    now: datetime,
    summary: PassSummary,
    batch: int = 500,
) -> None:
    """Claim the sends due at `now` and start their flows; safe to run concurrently.

    A batch is one transaction: a crash in the middle sends nothing of it, and the next pass
    does it all again.
    """
    while True:
        async with uow() as db:
            query = (
                select(ScheduledSend)
                .where(ScheduledSend.status == "planned", ScheduledSend.send_at <= now)
                .order_by(ScheduledSend.send_at, ScheduledSend.id)
                .limit(batch)
                .with_for_update(skip_locked=True)
            )
            due = list((await db.execute(query)).scalars())
            context = await _Batch.load(db, due)
            for send in sorted(due, key=lambda s: (s.returnee_id, s.send_at, s.id)):
                summary.due += 1
                await _dispatch_one(db, conversations, send, context, now=now, summary=summary)
        summary.report()
        if len(due) < batch:
            break


@dataclass
class _Batch:
    """What a batch of sends needs, loaded in a few queries instead of several per send."""

    conversations: dict[int, Conversation]
    handled: set[int]  # returnees a caseworker is handling
    # The session's identity map holds rows weakly: keeping them here is what lets the
    # db.get() calls of a send be answered without SQL.
    rows: list[object]

    @classmethod
    async def load(cls, db: AsyncSession, due: Sequence[ScheduledSend]) -> "_Batch":
        people = sorted({s.returnee_id for s in due})
        if not people:
            return cls({}, set(), [])
        # Lock the returnees in id order (every worker does): concurrent passes never deadlock.
        returnees = (
            (
                await db.execute(
                    select(Returnee)
                    .where(Returnee.id.in_(people))
                    .order_by(Returnee.id)
                    .with_for_update()
                )
            )
            .scalars()
            .all()
        )
        enrollment_ids = {s.enrollment_id for s in due if s.enrollment_id is not None}
        enrollments = (
            (await db.execute(select(Enrollment).where(Enrollment.id.in_(enrollment_ids))))
            .scalars()
            .all()
        )
        workshops = (
            (
                await db.execute(
                    select(Workshop).where(Workshop.id.in_({e.workshop_id for e in enrollments}))
                )
            )
            .scalars()
            .all()
        )
        found = (
            (await db.execute(select(Conversation).where(Conversation.returnee_id.in_(people))))
            .scalars()
            .all()
        )
        handled = await repo.handled_among(db, people)  # the same rule the dashboard shows
        return cls(
            {c.returnee_id: c for c in found}, handled, [*returnees, *enrollments, *workshops]
        )

    def busy_with_another(self, send: ScheduledSend) -> bool:
        """True when a caseworker handles the returnee, or they are mid-answer on another thing."""
        if send.returnee_id in self.handled:
            return True
        conversation = self.conversations.get(send.returnee_id)
        if conversation is None or conversation.status != "waiting":
            return False
        waiting_for = conversation.session.get("fields", {}).get("enrollment_id")
        return send.enrollment_id is None or waiting_for != str(send.enrollment_id)


async def _dispatch_one(
    db: AsyncSession,
    conversations: Conversations,
    send: ScheduledSend,
    context: _Batch,
    *,
    now: datetime,
    summary: PassSummary,
) -> None:
    reason = await _why_not(db, send, now=now)  # objects come from the identity map: no SQL
    send.decided_at = now
    if reason is not None:
        send.status = "expired" if reason.startswith("expired") else "cancelled"
        send.reason = reason
        summary.skip(reason)
        return
    if context.busy_with_another(send):
        # One question at a time: a returnee mid-answer is not interrupted by another flow.
        send.send_at, send.decided_at = now + DEFER, None
        send.reason = "held: waiting for a reply to another question, or with a caseworker"
        summary.deferred += 1
        summary.due -= 1
        return
    returnee = await db.get(Returnee, send.returnee_id)
    enrollment = await db.get(Enrollment, send.enrollment_id) if send.enrollment_id else None
    assert returnee is not None  # _why_not checked it
    flow_id, confirmed_entry = PURPOSE_FLOWS[send.purpose]
    entry = confirmed_entry if enrollment and enrollment.status == "confirmed" else None
    fields = {"enrollment_id": str(enrollment.id)} if enrollment else {}
    turn = Turn(
        now=now,
        key=f"sched:{send.key}",
        purpose=send.purpose,
        enrollment_id=enrollment.id if enrollment else None,
    )
    conversation = await conversations.start_flow(
        db,
        returnee,
        flow_id,
        turn=turn,
        fields=fields,
        at=entry,
        conversation=context.conversations.get(returnee.id),
    )
    context.conversations[returnee.id] = conversation
    send.status = "sent"


async def _why_not(db: AsyncSession, send: ScheduledSend, *, now: datetime) -> str | None:
    """Return why a due send must not go out now, or None."""
    if now > send.not_after:
        return (
            f"expired: due {send.send_at.isoformat()}, meaningless after "
            f"{send.not_after.isoformat()}"
        )
    returnee = await db.get(Returnee, send.returnee_id)
    if returnee is None or returnee.opted_out:
        return "opted_out"
    if returnee.consent == "withdrawn":
        return "consent_withdrawn"
    if send.enrollment_id is not None and send.purpose not in NOTICES:
        enrollment = await db.get(Enrollment, send.enrollment_id)
        if enrollment is None or enrollment.status not in ACTIVE_ENROLLMENT:
            return f"enrollment_{enrollment.status if enrollment else 'gone'}"
        workshop = await db.get(Workshop, enrollment.workshop_id)
        if workshop is None or workshop.status != "scheduled":
            return "workshop_cancelled"
        if not send.key.startswith(f"e{enrollment.id}:v{workshop.version}:"):
            return "stale: the workshop was rescheduled"
    return None


async def timeout_pass(
    uow: UnitOfWork,
    conversations: Conversations,
    *,
    now: datetime,
    summary: PassSummary,
    batch: int = 200,
) -> None:
    """Resume the runs whose wait got no answer before its timeout."""
    async with uow() as db:
        query = (
            select(Conversation)
            .where(Conversation.timeout_at <= now)
            .order_by(Conversation.timeout_at)
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
        for conversation in (await db.execute(query)).scalars():
            async with db.begin_nested():
                await conversations.time_out(db, conversation, now=now)
            summary.timed_out += 1
