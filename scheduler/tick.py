"""One scheduler pass: plan, dispatch what is due, time out silent waits, then drain the outbox."""

from collections.abc import Callable
from datetime import datetime

from bot.conversation import Conversations
from bot.db.session import UnitOfWork
from bot.outbox import Outbox
from scheduler.jobs import PassSummary, dispatch_pass, plan_pass, timeout_pass
from scheduler.plan import PlanConfig


async def scheduler_pass(
    uow: UnitOfWork,
    conversations: Conversations,
    config: PlanConfig,
    *,
    now: datetime,
    progress: Callable[[PassSummary], None] | None = None,
) -> PassSummary:
    """Plan and dispatch at `now`; the outbox is drained by the caller or the sender task."""
    summary = PassSummary(progress=progress)
    flows_known = set(conversations.registry)
    await plan_pass(uow, config, now=now, summary=summary, flows_known=flows_known)
    await dispatch_pass(uow, conversations, now=now, summary=summary)
    await timeout_pass(uow, conversations, now=now, summary=summary)
    return summary


async def tick(
    uow: UnitOfWork,
    conversations: Conversations,
    outbox: Outbox,
    config: PlanConfig,
    *,
    now: datetime,
    progress: Callable[[PassSummary], None] | None = None,
) -> PassSummary:
    """Run one pass and drain the outbox once (the `tick` command)."""
    summary = await scheduler_pass(uow, conversations, config, now=now, progress=progress)
    drained = await outbox.drain(now=now)
    summary.sent, summary.failed = drained.sent, drained.failed
    return summary
