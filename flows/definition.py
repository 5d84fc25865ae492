"""Parse a flow file's YAML text into model.py objects; every error names file:line."""

from collections.abc import Mapping
from typing import Any

import yaml

from flows.model import Action, Ask, Choice, Flow, Handoff, Node, SendText, SetField, Text, Wait

TEXT_KEYS: Mapping[str, str | None] = {"text": None, "label": "choice"}  # key -> msgctxt
_NODE_KEYS = {"id", "actions", "wait", "exits", "next"}
_ACTION_KEYS = {"send_text", "ask", "set_field", "handoff"}


class FlowError(ValueError):
    """A flow file that cannot be used; the message names the file, the line and the step."""


class _Doc:
    """Composed YAML with the helpers that turn it into checked values."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, node: yaml.Node, message: str) -> FlowError:
        return FlowError(f"{self.source}:{node.start_mark.line + 1}: {message}")

    def mapping(self, node: yaml.Node, what: str, allowed: set[str]) -> dict[str, yaml.Node]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"{what} must be a mapping")
        out: dict[str, yaml.Node] = {}
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode) or key.tag != "tag:yaml.org,2002:str":
                raise self.fail(key, f"{what}: keys must be strings (quote yes/no/on/off)")
            if key.value not in allowed:
                raise self.fail(key, f"{what}: unknown key {key.value!r}")
            out[key.value] = value
        return out

    def string(self, node: yaml.Node, what: str) -> str:
        if not isinstance(node, yaml.ScalarNode) or node.tag != "tag:yaml.org,2002:str":
            raise self.fail(node, f"{what} must be a string (quote it)")
        return str(node.value)

    def text(self, node: yaml.Node, what: str, context: str, note: str | None) -> Text:
        value = self.string(node, what)
        if node.style != '"':  # type: ignore[attr-defined]
            raise self.fail(node, f"{what} must be in double quotes")
        return Text(context=context, msgid=value, note=note)

    def sequence(self, node: yaml.Node, what: str) -> list[yaml.Node]:
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, f"{what} must be a list")
        return list(node.value)


def parse_flow(text: str, *, source: str) -> Flow:
    """Parse and check one flow file's text; raise FlowError naming source:line."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise FlowError(f"{source}: not valid YAML: {exc}") from exc
    if root is None:
        raise FlowError(f"{source}: empty flow file")
    doc = _Doc(source)
    top = doc.mapping(root, "flow", {"id", "start", "nodes", "entries"})
    for key in ("id", "start", "nodes"):
        if key not in top:
            raise doc.fail(root, f"flow: missing {key!r}")
    flow_id = doc.string(top["id"], "flow id")
    nodes: dict[str, Node] = {}
    for item in doc.sequence(top["nodes"], "nodes"):
        node = _node(doc, item, flow_id)
        if node.id in nodes:
            raise doc.fail(item, f"step {node.id!r} is defined twice")
        nodes[node.id] = node
    entries = (
        tuple(doc.string(e, "entry") for e in doc.sequence(top["entries"], "entries"))
        if "entries" in top
        else ()
    )
    flow = Flow(
        id=flow_id,
        start=doc.string(top["start"], "start"),
        nodes=nodes,
        source=source,
        entries=entries,
    )
    _check_links(flow)
    return flow


def _node(doc: _Doc, item: yaml.Node, flow_id: str) -> Node:
    fields = doc.mapping(item, "step", _NODE_KEYS)
    if "id" not in fields:
        raise doc.fail(item, "step: missing 'id'")
    node_id = doc.string(fields["id"], "step id")
    actions = (
        tuple(
            _action(doc, a, flow_id, node_id)
            for a in doc.sequence(fields["actions"], f"step {node_id!r}: actions")
        )
        if "actions" in fields
        else ()
    )
    wait = _wait(doc, fields["wait"], node_id) if "wait" in fields else None
    exits: dict[str, str] = {}
    if "exits" in fields:
        for key, target in doc.mapping(
            fields["exits"], f"step {node_id!r}: exits", _any_key(fields["exits"])
        ).items():
            exits[key] = doc.string(target, f"step {node_id!r}: exit {key!r}")
    nxt = doc.string(fields["next"], f"step {node_id!r}: next") if "next" in fields else None
    if exits and wait is None:
        raise doc.fail(item, f"step {node_id!r}: exits need a wait")
    if wait is not None and nxt is not None:
        raise doc.fail(item, f"step {node_id!r}: a waiting step uses exits, not next")
    return Node(
        id=node_id, line=item.start_mark.line + 1, actions=actions, wait=wait, exits=exits, next=nxt
    )


def _any_key(node: yaml.Node) -> set[str]:
    if isinstance(node, yaml.MappingNode):
        return {k.value for k, _ in node.value if isinstance(k, yaml.ScalarNode)}
    return set()


def _wait(doc: _Doc, node: yaml.Node, node_id: str) -> Wait:
    fields = doc.mapping(node, f"step {node_id!r}: wait", {"question", "timeout_hours"})
    question = doc.string(fields["question"], "wait question") if "question" in fields else "any"
    timeout: float | None = None
    if "timeout_hours" in fields:
        raw = fields["timeout_hours"]
        try:
            timeout = float(raw.value)
        except (TypeError, ValueError):
            raise doc.fail(raw, f"step {node_id!r}: timeout_hours must be a number") from None
    return Wait(question=question, timeout_hours=timeout)


def _action(doc: _Doc, node: yaml.Node, flow_id: str, node_id: str) -> Action:
    where = f"step {node_id!r}"
    outer = doc.mapping(node, f"{where}: action", _ACTION_KEYS)
    if len(outer) != 1:
        raise doc.fail(node, f"{where}: an action has exactly one kind")
    kind, body = next(iter(outer.items()))
    if kind == "send_text":
        f = doc.mapping(body, f"{where}: send_text", {"text", "note"})
        return SendText(text=doc.text(f["text"], f"{where}: text", flow_id, _note(doc, f)))
    if kind == "ask":
        f = doc.mapping(body, f"{where}: ask", {"text", "note", "choices"})
        choices = tuple(_choice(doc, c, where) for c in doc.sequence(f["choices"], "choices"))
        return Ask(
            text=doc.text(f["text"], f"{where}: text", flow_id, _note(doc, f)), choices=choices
        )
    if kind == "set_field":
        f = doc.mapping(body, f"{where}: set_field", {"field", "value"})
        return SetField(
            field=doc.string(f["field"], "field"), value=doc.string(f["value"], "value")
        )
    f = doc.mapping(body, f"{where}: handoff", {"kind", "priority", "reason"})
    try:
        priority = int(f["priority"].value)
    except (KeyError, TypeError, ValueError):
        raise doc.fail(body, f"{where}: handoff needs an integer priority") from None
    return Handoff(
        kind=doc.string(f["kind"], "kind"),
        priority=priority,
        reason=doc.string(f["reason"], "reason") if "reason" in f else "",
    )


def _choice(doc: _Doc, node: yaml.Node, where: str) -> Choice:
    f = doc.mapping(node, f"{where}: choice", {"id", "label"})
    return Choice(
        id=doc.string(f["id"], "choice id"),
        label=doc.text(f["label"], f"{where}: label", "choice", None),
    )


def _note(doc: _Doc, fields: Mapping[str, yaml.Node]) -> str | None:
    return doc.string(fields["note"], "note") if "note" in fields else None


def _check_links(flow: Flow) -> None:
    """Refuse dangling references at load time: a run must never reach a step that is not there."""
    for entry in (flow.start, *flow.entries):
        if entry not in flow.nodes:
            raise FlowError(f"{flow.source}: start step {entry!r} does not exist")
    for node in flow.nodes.values():
        targets: list[Any] = [*node.exits.values(), *([node.next] if node.next else [])]
        for target in targets:
            if target not in flow.nodes:
                raise FlowError(
                    f"{flow.source}:{node.line}: step {node.id!r} goes to "
                    f"{target!r}, which does not exist"
                )
