"""Session <-> JSON-safe dict, with a schema version so stored runs survive upgrades."""

from typing import Any

from flows.session import Session, Status

VERSION = 1


def dump(session: Session) -> dict[str, Any]:
    """Return the JSON-safe form of a session."""
    return {
        "version": VERSION,
        "flow": session.flow_id,
        "status": session.status.value,
        "node": session.node_id,
        "fields": dict(session.fields),
        "misses": session.misses,
    }


def load(data: dict[str, Any]) -> Session:
    """Rebuild a session from its stored form; refuse versions this code does not know."""
    if data.get("version") != VERSION:
        raise ValueError(f"unknown session version {data.get('version')!r}")
    return Session(
        flow_id=str(data["flow"]),
        status=Status(data["status"]),
        node_id=data.get("node"),
        fields={str(k): str(v) for k, v in dict(data.get("fields") or {}).items()},
        misses=int(data.get("misses") or 0),
    )
