"""Babel extractor for flow files: each text is a msgid; its context is the flow id or "choice"."""

from collections.abc import Iterator
from typing import IO, Any

import yaml

from flows.definition import TEXT_KEYS

Message = tuple[int, str, tuple[str, str], list[str]]


def extract_flow(
    fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: Any
) -> Iterator[Message]:
    """Yield (line, funcname, (msgctxt, msgid), notes) for every text of a flow file."""
    root = yaml.compose(fileobj, Loader=yaml.SafeLoader)  # nodes keep their line numbers
    if isinstance(root, yaml.MappingNode):
        flow_id = next((v.value for k, v in root.value if k.value == "id"), "")
        yield from _walk(root, flow_id)


def _walk(node: yaml.Node, flow_id: str) -> Iterator[Message]:
    if isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _walk(item, flow_id)
    elif isinstance(node, yaml.MappingNode):
        notes = [v.value for k, v in node.value if k.value == "note"]
        for key, value in node.value:
            if key.value == "exits":  # exit names ("text", "yes") are not texts
                continue
            if key.value in TEXT_KEYS and isinstance(value, yaml.ScalarNode):
                context = TEXT_KEYS[key.value] or flow_id
                yield value.start_mark.line + 1, "pgettext", (context, value.value), notes
            else:
                yield from _walk(value, flow_id)
