"""The flow schema as frozen dataclasses: what definition.py builds and the engine walks."""

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Text:
    """A translatable text: its French source is the msgid, its context the flow id or "choice"."""

    context: str
    msgid: str
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Choice:
    """One option of a question; its id is what a button, a number or a word maps to."""

    id: str
    label: Text


@dataclass(frozen=True, slots=True)
class SendText:
    """Say something: {"send_text": {"text": "..."}}."""

    text: Text


@dataclass(frozen=True, slots=True)
class Ask:
    """Ask a question with choices: {"ask": {"text": "...", "choices": [{"id", "label"}]}}."""

    text: Text
    choices: tuple[Choice, ...]


@dataclass(frozen=True, slots=True)
class SetField:
    """Record a fact: {"set_field": {"field": "enrollment_status", "value": "confirmed"}}."""

    field: str
    value: str


@dataclass(frozen=True, slots=True)
class Handoff:
    """Bring a person in: {"handoff": {"kind": "help", "priority": 2, "reason": "..."}}."""

    kind: str
    priority: int
    reason: str


Action = SendText | Ask | SetField | Handoff


@dataclass(frozen=True, slots=True)
class Wait:
    """Wait for a reply to a question of a kind ("attendance", "yesno", "wellbeing"…)."""

    question: str
    timeout_hours: float | None = None


@dataclass(frozen=True, slots=True)
class Node:
    """A step: actions run in order, then the node waits, goes on to `next`, or ends the flow."""

    id: str
    line: int
    actions: tuple[Action, ...] = ()
    wait: Wait | None = None
    exits: Mapping[str, str] = field(default_factory=dict)
    next: str | None = None

    def ask(self) -> Ask | None:
        """Return the question this node asks, if any (the last one)."""
        asks = [a for a in self.actions if isinstance(a, Ask)]
        return asks[-1] if asks else None


@dataclass(frozen=True, slots=True)
class Flow:
    """A conversation: nodes by id, a start node, and the file it came from."""

    id: str
    start: str
    nodes: Mapping[str, Node]
    source: str = "<memory>"
    entries: tuple[str, ...] = ()  # other steps the host may start at (e.g. "notice")

    def node(self, node_id: str) -> Node:
        """Return a node by id; a missing id is a bug in the caller or a stale session."""
        return self.nodes[node_id]
