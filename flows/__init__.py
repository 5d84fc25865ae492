"""Pure conversation engine: flows are data, runs consume resumes and return events."""

from flows.engine import EngineError, resume, start
from flows.events import (
    Event,
    FieldChanged,
    FlowEnded,
    HandoffRequested,
    MessageCreated,
    WaitStarted,
)
from flows.model import Choice, Flow, Node, Text, Wait
from flows.registry import build_registry
from flows.resumes import MessageReceived, Resume, WaitTimedOut
from flows.session import Session, Sprint, Status

__all__ = [
    "Choice",
    "EngineError",
    "Event",
    "FieldChanged",
    "Flow",
    "FlowEnded",
    "HandoffRequested",
    "MessageCreated",
    "MessageReceived",
    "Node",
    "Resume",
    "Session",
    "Sprint",
    "Status",
    "Text",
    "Wait",
    "WaitStarted",
    "WaitTimedOut",
    "build_registry",
    "resume",
    "start",
]
