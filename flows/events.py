"""Past-tense facts a run produces; the host applies them in one transaction."""

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from flows.model import Choice


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageCreated:
    """The flow says something: {"type": "message_created", "context": "invitation"}."""

    context: str
    msgid: str
    choices: tuple[Choice, ...] = ()
    reprompt: bool = False  # a question asked again because the reply was not understood
    type: Literal["message_created"] = "message_created"


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldChanged:
    """A fact changed: {"type": "field_changed", "field": "score", "value": "4"}."""

    field: str
    value: str
    type: Literal["field_changed"] = "field_changed"


@dataclass(frozen=True, slots=True, kw_only=True)
class WaitStarted:
    """The run waits for a reply: {"type": "wait_started", "node_id": "ask"}."""

    node_id: str
    question: str
    timeout_at: datetime | None
    type: Literal["wait_started"] = "wait_started"


@dataclass(frozen=True, slots=True, kw_only=True)
class HandoffRequested:
    """A person is needed: {"type": "handoff_requested", "kind": "help", "priority": 2}."""

    kind: str
    priority: int
    reason: str
    type: Literal["handoff_requested"] = "handoff_requested"


@dataclass(frozen=True, slots=True, kw_only=True)
class FlowEnded:
    """The run is over: {"type": "flow_ended", "status": "completed"}."""

    status: str
    type: Literal["flow_ended"] = "flow_ended"


@dataclass(frozen=True, slots=True, kw_only=True)
class ErrorLogged:
    """Something the run could not use, logged and passed over: {"type": "error_logged"}."""

    text: str
    type: Literal["error_logged"] = "error_logged"


Event = MessageCreated | FieldChanged | WaitStarted | HandoffRequested | FlowEnded | ErrorLogged
