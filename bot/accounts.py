"""Dashboard accounts and API tokens: argon2id password hashes, hashed bearer tokens."""

import hashlib
import secrets
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import ApiToken, User

ROLES = ("admin", "caseworker", "viewer")
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
_DUMMY_HASH = _hasher.hash("not a real password")  # equal work for unknown accounts


class AccountError(ValueError):
    """An account request that cannot be done; the message says why."""


def hash_password(password: str) -> str:
    """Hash a password with argon2id; refuse short ones."""
    if len(password) < 10:
        raise AccountError("a password needs at least 10 characters")
    return _hasher.hash(password)


async def add_user(
    db: AsyncSession, email: str, role: str, password: str, *, now: datetime, name: str = ""
) -> User:
    """Create a dashboard account."""
    email = email.strip().lower()
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    if "@" not in email:
        raise AccountError(f"{email!r} is not an email address")
    if (await db.execute(select(User).where(User.email == email))).scalar_one_or_none():
        raise AccountError(f"an account for {email} already exists")
    user = User(
        email=email, role=role, name=name, password_hash=hash_password(password), created_at=now
    )
    db.add(user)
    await db.flush()
    return user


async def authenticate(db: AsyncSession, email: str, password: str) -> User | None:
    """Return the active user whose password matches, else None (same cost either way)."""
    user = (
        await db.execute(select(User).where(User.email == email.strip().lower()))
    ).scalar_one_or_none()
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    return user if user is not None and user.active else None


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_token(db: AsyncSession, name: str, *, now: datetime) -> str:
    """Create an API token; only its hash is stored, so it is shown once."""
    token = "rb_" + secrets.token_urlsafe(32)
    db.add(ApiToken(name=name, token_hash=_token_hash(token), created_at=now))
    await db.flush()
    return token


async def check_token(db: AsyncSession, token: str) -> ApiToken | None:
    """Return the live token row matching a bearer token."""
    row = (
        await db.execute(select(ApiToken).where(ApiToken.token_hash == _token_hash(token)))
    ).scalar_one_or_none()
    return row if row is not None and row.revoked_at is None else None
