"""The state of one run between turns, and a Sprint: the new state plus its events."""

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from flows.events import Event


class Status(enum.Enum):
    """Where a run stands."""

    ACTIVE = "active"
    WAITING = "waiting"
    COMPLETED = "completed"
    EXPIRED = "expired"
    INTERRUPTED = "interrupted"


@dataclass(frozen=True, slots=True)
class Session:
    """One run of one flow for one returnee; JSON-safe through flows.serialize."""

    flow_id: str
    status: Status
    node_id: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)
    misses: int = 0  # replies not understood at the current wait


@dataclass(frozen=True, slots=True)
class Sprint:
    """What one start or resume produced."""

    session: Session
    events: tuple[Event, ...]
