"""Column types: aware UTC datetimes on every database, and personal data encrypted at rest."""

import functools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect, LargeBinary, String
from sqlalchemy.types import TypeDecorator

from bot.db import crypto


class UTCDateTime(TypeDecorator[datetime]):
    """Store UTC; always hand back an aware datetime (SQLite forgets the offset otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; pass an aware one")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        """On SQLite, remember recent conversions: a reminder wave repeats a few instants."""
        convert = super().bind_processor(dialect)
        if convert is None or dialect.name != "sqlite":
            return convert
        # Equal instants give the same stored text (UTC), whatever their tzinfo: safe to share.
        return functools.lru_cache(maxsize=4096)(convert)


class EncryptedText(TypeDecorator[str]):
    """Text encrypted with the data keys (Fernet: AES-128-CBC + HMAC); the newest key encrypts."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> bytes | None:
        return None if value is None else crypto.encrypt(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else crypto.decrypt(bytes(value))


class BlindIndex(TypeDecorator[str]):
    """A keyed hash of a normalised value, to find a row by phone without storing it in clear."""

    impl = String(64)
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else crypto.blind_index(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else str(value)
