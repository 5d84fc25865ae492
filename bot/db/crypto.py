"""Keys for personal data: a MultiFernet ring (rotation) and an HMAC blind index."""

import base64
import hashlib
import hmac
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class KeyError_(RuntimeError):
    """The data keys are missing or wrong."""


@dataclass(frozen=True, slots=True)
class KeyRing:
    """The data keys: the first encrypts, all decrypt; the index key is derived from the first."""

    fernet: MultiFernet
    index_key: bytes


_ring: KeyRing | None = None


def parse_keys(spec: str) -> list[bytes]:
    """Read DATA_ENCRYPTION_KEY: Fernet keys separated by commas, newest first."""
    keys = [k.strip().encode() for k in spec.split(",") if k.strip()]
    if not keys:
        raise KeyError_("DATA_ENCRYPTION_KEY is empty")
    for key in keys:
        try:
            Fernet(key)
        except (ValueError, TypeError) as exc:
            raise KeyError_("DATA_ENCRYPTION_KEY holds a key that is not a Fernet key") from exc
    return keys


def configure(spec: str, *, index_secret: str | None = None) -> KeyRing:
    """Install the key ring used by the encrypted column types."""
    global _ring
    keys = parse_keys(spec)
    # The blind index must not change when data keys rotate, so it has its own stable secret:
    # by default derived from the OLDEST key, which rotation keeps in the ring.
    seed = (index_secret or keys[-1].decode()).encode()
    index_key = hashlib.sha256(b"returnee-bot blind index|" + seed).digest()
    _ring = KeyRing(MultiFernet([Fernet(k) for k in keys]), index_key)
    return _ring


def new_key() -> str:
    """Return a fresh Fernet key."""
    return Fernet.generate_key().decode()


def _current() -> KeyRing:
    if _ring is None:
        raise KeyError_("data encryption keys are not configured")
    return _ring


def encrypt(value: str) -> bytes:
    """Encrypt text with the newest key."""
    return _current().fernet.encrypt(value.encode())


def decrypt(token: bytes) -> str:
    """Decrypt with whichever key of the ring made the token."""
    try:
        return _current().fernet.decrypt(token).decode()
    except InvalidToken as exc:
        raise KeyError_("a value could not be decrypted with any configured key") from exc


def rotate(token: bytes) -> bytes:
    """Re-encrypt a token with the newest key."""
    return _current().fernet.rotate(token)


def blind_index(value: str) -> str:
    """Return the keyed hash used to look a value up."""
    digest = hmac.new(_current().index_key, value.encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode().rstrip("=").lower()[:52]
