"""The run loop: start a flow or resume a waiting run, walk nodes, and return a Sprint."""

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta

from flows.events import (
    ErrorLogged,
    Event,
    FieldChanged,
    FlowEnded,
    HandoffRequested,
    MessageCreated,
    WaitStarted,
)
from flows.model import Ask, Flow, Handoff, Node, SendText, SetField
from flows.resumes import MessageReceived, Resume, WaitTimedOut
from flows.session import Session, Sprint, Status

MAX_MISSES = 2  # the second reply not understood goes to a person instead of a guess
MAX_STEPS = 100  # a loop in a flow file must end the run, not hang the host


class EngineError(Exception):
    """The caller misused the engine (a bug in the host, not bad input)."""


def start(flow: Flow, *, fields: Mapping[str, str], now: datetime, at: str | None = None) -> Sprint:
    """Start a run of `flow` with the host's facts in `fields`, at its start or an entry."""
    if at is not None and at not in flow.entries and at != flow.start:
        raise EngineError(f"flow {flow.id} has no entry {at!r}")
    session = Session(flow_id=flow.id, status=Status.ACTIVE, fields=dict(fields))
    return _walk(flow, session, at or flow.start, now=now, events=[])


def resume(flow: Flow, session: Session, resume: Resume, *, now: datetime) -> Sprint:
    """Resume a waiting run with a reply or a timeout."""
    if session.status is not Status.WAITING or session.node_id is None:
        raise EngineError(f"cannot resume a run of {session.flow_id}: it is {session.status.value}")
    if session.flow_id != flow.id:
        raise EngineError(f"session of {session.flow_id} resumed with flow {flow.id}")
    node = flow.node(session.node_id)
    if isinstance(resume, WaitTimedOut):
        return _timed_out(flow, session, node, now=now)
    return _replied(flow, session, node, resume, now=now)


def _timed_out(flow: Flow, session: Session, node: Node, *, now: datetime) -> Sprint:
    target = node.exits.get("timeout")
    if target is None:
        ended = replace(session, status=Status.EXPIRED, node_id=None)
        return Sprint(ended, (FlowEnded(status=Status.EXPIRED.value),))
    return _walk(flow, replace(session, misses=0), target, now=now, events=[])


def _replied(
    flow: Flow, session: Session, node: Node, reply: MessageReceived, *, now: datetime
) -> Sprint:
    exit_name, events = route(node, reply)
    if exit_name is not None:
        return _walk(
            flow, replace(session, misses=0), node.exits[exit_name], now=now, events=events
        )
    misses = session.misses + 1
    if misses < MAX_MISSES:
        return Sprint(replace(session, misses=misses), _reprompt(node))
    if "unknown" in node.exits:
        return _walk(flow, replace(session, misses=0), node.exits["unknown"], now=now, events=[])
    handoff = HandoffRequested(
        kind="not_understood",
        priority=3,
        reason=f"{flow.id}.{node.id}: {MAX_MISSES} replies not understood",
    )
    ended = replace(session, status=Status.INTERRUPTED, node_id=None, misses=misses)
    return Sprint(ended, (handoff, FlowEnded(status=Status.INTERRUPTED.value)))


def route(node: Node, reply: MessageReceived) -> tuple[str | None, list[Event]]:
    """Pick the exit a reply takes at `node`, with the facts it records; None if none fits."""
    question = node.wait.question if node.wait else "any"
    choice = reply.choice_id
    if choice is not None and choice.isdigit() and _score_exit(node, int(choice)):
        return _scored(node, question, int(choice))
    if choice is not None and choice in node.exits:
        return choice, []
    if reply.intent == "score" and reply.score is not None:
        return _scored(node, question, reply.score)
    if reply.intent in node.exits:
        return reply.intent, []
    if question == "free_text" and "text" in node.exits and reply.text.strip():
        return "text", [FieldChanged(field="comment", value=reply.text.strip()[:1000])]
    return None, []


def _score_exit(node: Node, score: int) -> str | None:
    for name in node.exits:
        low, _, high = name.removeprefix("score:").partition("-")
        if name.startswith("score:") and int(low) <= score <= int(high or low):
            return name
    return None


def _scored(node: Node, question: str, score: int) -> tuple[str | None, list[Event]]:
    name = _score_exit(node, score)
    if name is None:
        return None, []
    field = "rating" if question == "rating" else "score"  # a rating is not a wellbeing score
    return name, [FieldChanged(field=field, value=str(score))]


def _reprompt(node: Node) -> tuple[Event, ...]:
    ask = node.ask()
    if ask is None:
        return ()
    return (
        MessageCreated(
            context=ask.text.context, msgid=ask.text.msgid, choices=ask.choices, reprompt=True
        ),
    )


def _walk(
    flow: Flow, session: Session, node_id: str, *, now: datetime, events: list[Event]
) -> Sprint:
    fields = dict(session.fields)
    for _ in range(MAX_STEPS):
        node = flow.node(node_id)
        events.extend(_execute(node, fields))
        if node.wait is not None:
            hours = node.wait.timeout_hours
            timeout_at = now + timedelta(hours=hours) if hours is not None else None
            events.append(
                WaitStarted(node_id=node.id, question=node.wait.question, timeout_at=timeout_at)
            )
            waiting = replace(session, status=Status.WAITING, node_id=node.id, fields=fields)
            return Sprint(waiting, tuple(events))
        if node.next is None:
            break
        node_id = node.next
    else:
        events.append(ErrorLogged(text=f"{flow.id}: more than {MAX_STEPS} steps without a wait"))
    events.append(FlowEnded(status=Status.COMPLETED.value))
    done = replace(session, status=Status.COMPLETED, node_id=None, fields=fields)
    return Sprint(done, tuple(events))


def _execute(node: Node, fields: dict[str, str]) -> list[Event]:
    events: list[Event] = []
    for action in node.actions:
        if isinstance(action, SendText):
            events.append(MessageCreated(context=action.text.context, msgid=action.text.msgid))
        elif isinstance(action, Ask):
            events.append(
                MessageCreated(
                    context=action.text.context, msgid=action.text.msgid, choices=action.choices
                )
            )
        elif isinstance(action, SetField):
            fields[action.field] = action.value
            events.append(FieldChanged(field=action.field, value=action.value))
        elif isinstance(action, Handoff):
            events.append(
                HandoffRequested(kind=action.kind, priority=action.priority, reason=action.reason)
            )
    return events
