"""The one place the host reads the wall clock; everything below takes `now` as an argument."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Return the current time, aware, in UTC."""
    return datetime.now(UTC)
