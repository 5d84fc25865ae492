"""Telegram polling for development (`serve --telegram-polling`): no public URL needed."""

import asyncio
import logging

from telegram.error import TelegramError

from bot.channels.telegram_channel import TelegramChannel, to_inbound
from bot.clock import utcnow
from bot.conversation import Conversations
from bot.outbox import Outbox

log = logging.getLogger(__name__)


async def poll_forever(conversations: Conversations, outbox: Outbox) -> None:
    """Fetch updates with getUpdates and handle them like webhook deliveries."""
    channel = outbox.channels.get("telegram")
    if not isinstance(channel, TelegramChannel):
        log.warning("telegram polling asked for, but TELEGRAM_BOT_TOKEN is not set")
        return
    bot = channel.bot
    await bot.initialize()
    await bot.delete_webhook()  # getUpdates and a webhook exclude each other
    offset = 0
    while True:
        try:
            updates = await bot.get_updates(offset=offset, timeout=25)
        except TelegramError as exc:
            log.warning("getUpdates failed (%s); retrying in 5 s", exc)
            await asyncio.sleep(5)
            continue
        for update in updates:
            offset = update.update_id + 1
            inbound = to_inbound(update)
            if inbound is not None:
                await conversations.handle(inbound, now=utcnow())
            if update.callback_query is not None:
                await channel.answer_callback(update.callback_query.id)
