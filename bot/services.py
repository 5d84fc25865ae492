"""Build the long-lived collaborators from Settings: database, flows, lexicons, outbox, channels."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.resources import files

import yaml
from sqlalchemy.ext.asyncio import AsyncEngine

import flows
from bot.channels.simulator import SimulatorChannel
from bot.conversation import Conversations
from bot.db import crypto
from bot.db.session import UnitOfWork, make_engine, unit_of_work_factory
from bot.outbox import Outbox
from bot.ports import Channel
from bot.settings import Settings
from bot.templates import Key, configured_catalog, wording
from flows.understand import LEXICON_FILES, Lexicons, load_lexicons

CHANNELS = ("sms", "whatsapp", "telegram")


def flow_texts() -> dict[str, str]:
    """Read the packaged flow definition files (name -> YAML text)."""
    folder = files("flows") / "definitions"
    return {
        p.name: p.read_text(encoding="utf-8") for p in folder.iterdir() if p.name.endswith(".yaml")
    }


def load_registry() -> Mapping[str, flows.Flow]:
    """Parse every packaged flow."""
    return flows.build_registry(flow_texts())


def load_packaged_lexicons() -> Lexicons:
    """Read the packaged lexicon files."""
    folder = files("flows") / "lexicons"
    return load_lexicons(
        {name: (folder / name).read_text(encoding="utf-8") for name in LEXICON_FILES}
    )


def emergency_contacts() -> dict[str, str]:
    """Read the emergency contacts per country."""
    text = (files("bot") / "safety.yaml").read_text(encoding="utf-8")
    return {str(k): str(v) for k, v in (yaml.safe_load(text) or {}).items()}


@dataclass
class Services:
    """Everything a process of returnee-bot shares between requests and jobs."""

    settings: Settings
    engine: AsyncEngine
    unit_of_work: UnitOfWork
    conversations: Conversations
    outbox: Outbox
    # the approved templates' wording, to show a caseworker; the outbox holds their SIDs
    template_texts: Mapping[Key, str] = field(default_factory=dict)

    async def close(self) -> None:
        """Release connections and clients."""
        for channel in self.outbox.channels.values():
            close = getattr(channel, "close", None)
            if close is not None:
                await close()
        await self.engine.dispose()


def build_channels(settings: Settings) -> dict[str, Channel]:
    """Real adapters where configured; in development the simulator stands in for the rest."""
    channels: dict[str, Channel] = {"simulator": SimulatorChannel()}
    if settings.telegram_enabled:
        from bot.channels.telegram_channel import TelegramChannel

        channels["telegram"] = TelegramChannel.from_settings(settings)
    if settings.twilio_enabled:
        from bot.channels.twilio_channel import TwilioChannel

        channels["sms"] = TwilioChannel.from_settings(settings, "sms")
        channels["whatsapp"] = TwilioChannel.from_settings(settings, "whatsapp")
    if not settings.production:
        for name in CHANNELS:
            channels.setdefault(name, SimulatorChannel(name))
    return channels


def build_services(
    settings: Settings, *, worker_id: str = "worker", channels: Mapping[str, Channel] | None = None
) -> Services:
    """Wire the process: keys, engine, unit of work, flows, conversations and outbox."""
    index_secret = settings.data_index_key
    crypto.configure(
        str(settings.data_encryption_key),
        index_secret=str(index_secret) if index_secret is not None else None,
    )
    engine = make_engine(settings.database_url)
    uow = unit_of_work_factory(engine)
    catalog = configured_catalog()
    outbox = Outbox(
        uow,
        channels if channels is not None else build_channels(settings),
        worker_id=worker_id,
        templates={key: t.sid for key, t in catalog.items()},
    )
    conversations = Conversations(
        uow,
        load_registry(),
        load_packaged_lexicons(),
        emergency_contacts(),
        wake_outbox=outbox.wake,
    )
    return Services(settings, engine, uow, conversations, outbox, wording(catalog))
