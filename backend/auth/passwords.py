"""Password hashing with argon2id (argon2-cffi's RFC 9106 low-memory profile)."""

from __future__ import annotations

import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from backend.errors import InvalidInput

PASSWORD_LENGTH_MIN = 12
PASSWORD_LENGTH_MAX = 1024

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    if len(password) > PASSWORD_LENGTH_MAX:
        raise InvalidInput(f"a password is at most {PASSWORD_LENGTH_MAX} characters")
    return _hasher.hash(password)


def check_new_password(password: str) -> str:
    """A password for a real account: long enough to resist guessing."""
    if len(password) < PASSWORD_LENGTH_MIN:
        raise InvalidInput(f"a password needs at least {PASSWORD_LENGTH_MIN} characters")
    if len(password) > PASSWORD_LENGTH_MAX:
        raise InvalidInput(f"a password is at most {PASSWORD_LENGTH_MAX} characters")
    return password


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when the password matches. Without a hash (no account, or an
    OpenID-Connect-only account) a dummy hash is checked so the answer takes as long."""
    if len(password) > PASSWORD_LENGTH_MAX:
        return False
    try:
        if password_hash is None:
            _hasher.verify(_dummy_hash(), password)
            return False
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


@functools.lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash("no account has this password, it only costs time")
