"""Checks on a loaded flow that do not stop it from running: unreachable steps, odd exits."""

from collections.abc import Iterator

from flows.model import Flow

SPECIAL_EXITS = {"timeout", "unknown", "text"}


def validate(flow: Flow) -> list[str]:
    """Return the problems of a flow, each naming its file and step."""
    return [f"{flow.source}: {problem}" for problem in _problems(flow)]


def _problems(flow: Flow) -> Iterator[str]:
    reachable = _reachable(flow)
    for node in flow.nodes.values():
        if node.id not in reachable:
            yield f"step {node.id!r} (line {node.line}) cannot be reached from the start"
        ask = node.ask()
        choice_ids = {c.id for c in ask.choices} if ask else set()
        scored = any(name.startswith("score:") for name in node.exits)
        for choice in choice_ids - set(node.exits):
            if node.wait is not None and not (scored and choice.isdigit()):
                yield f"step {node.id!r}: choice {choice!r} has no exit"
        for name in node.exits:
            if name not in choice_ids | SPECIAL_EXITS and not _is_answer_exit(name):
                yield f"step {node.id!r}: exit {name!r} matches no choice or answer"


def _is_answer_exit(name: str) -> bool:
    """Exits may name an understood intent or a score range like "score:1-2"."""
    if name.startswith("score:"):
        low, _, high = name.removeprefix("score:").partition("-")
        return low.isdigit() and (not high or high.isdigit())
    return name in {"yes", "no", "maybe", "help", "language", "score"}


def _reachable(flow: Flow) -> set[str]:
    seen: set[str] = set()
    todo = [flow.start, *flow.entries]
    while todo:
        node = flow.node(todo.pop())
        if node.id in seen:
            continue
        seen.add(node.id)
        todo.extend(node.exits.values())
        if node.next:
            todo.append(node.next)
    return seen
