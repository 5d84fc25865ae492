"""APScheduler only ticks: one interval job runs a scheduler pass; the database says what is due."""

import logging
from collections.abc import Callable
from datetime import datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.conversation import Conversations
from bot.db.session import UnitOfWork
from bot.outbox import Outbox
from scheduler.plan import PlanConfig
from scheduler.tick import scheduler_pass

log = logging.getLogger(__name__)


async def run_pass(
    uow: UnitOfWork,
    conversations: Conversations,
    outbox: Outbox,
    config: PlanConfig,
    clock: Callable[[], datetime],
) -> None:
    """The job: one pass at the clock's time, then wake the sender."""
    try:
        summary = await scheduler_pass(uow, conversations, config, now=clock())
    except Exception:  # a failed pass is retried at the next tick; nothing is marked done
        log.exception("scheduler pass failed")
        return
    if summary.due or summary.timed_out:
        outbox.wake()
    log.info("scheduler pass: %s", summary)


def build_scheduler(
    uow: UnitOfWork,
    conversations: Conversations,
    outbox: Outbox,
    config: PlanConfig,
    clock: Callable[[], datetime],
    *,
    seconds: float = 30,
) -> AsyncIOScheduler:
    """Return a scheduler with the one interval job (in-memory store: no pickled jobs)."""
    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_job(
        run_pass,
        "interval",
        seconds=seconds,
        id="scheduler_pass",
        args=[uow, conversations, outbox, config, clock],
        coalesce=True,
        max_instances=1,
        next_run_time=clock(),
    )
    return scheduler
