"""Field protection: AES-GCM encryption at rest and an HMAC blind index for lookups.

A stored value looks like `v1.<key id>.<nonce b64>.<ciphertext b64>`; the key id
lets keys rotate: old values stay readable with their old key until
re-encrypted. The blind index is a keyed HMAC so equal inputs can be found
without the plaintext being searchable in the database.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_FORMAT_VERSION = "v1"
_NONCE_BYTES = 12


class FieldCipherError(ValueError):
    """A protected value that cannot be read (wrong key, tampered, unknown key id)."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def decode_key(text: str) -> bytes:
    """Keys are configured as url-safe base64 of 32 random bytes."""
    key = _unb64(text.strip())
    if len(key) != 32:
        raise FieldCipherError("a field key must be 32 bytes, url-safe base64 encoded")
    return key


def new_key_text() -> str:
    return _b64(os.urandom(32))


# What replaces a protected value when the person it belonged to is pseudonymised:
# not decryptable, not a blind index (those are 64 hex characters), unique per row.
TOMBSTONE_PREFIX = "tombstone-"


def new_tombstone() -> str:
    return TOMBSTONE_PREFIX + os.urandom(16).hex()


def is_tombstone(token: str) -> bool:
    return token.startswith(TOMBSTONE_PREFIX)


def key_id_of(token: str) -> str | None:
    """The key id a protected value was encrypted with; None for a tombstone or garbage."""
    parts = token.split(".")
    if len(parts) != 4 or parts[0] != _FORMAT_VERSION:
        return None
    return parts[1]


class FieldCipher:
    """Encrypts with the current key; decrypts with any configured key."""

    def __init__(self, keys: Mapping[str, bytes], current_key_id: str, index_key: bytes) -> None:
        if current_key_id not in keys:
            raise FieldCipherError(f"current key id {current_key_id!r} is not configured")
        if "." in current_key_id or not current_key_id:
            raise FieldCipherError("key ids must be non-empty and contain no dots")
        self._keys = dict(keys)
        self._current_key_id = current_key_id
        self._index_key = index_key

    @property
    def current_key_id(self) -> str:
        return self._current_key_id

    def encrypt(self, plaintext: str, *, context: str) -> str:
        """`context` (e.g. 'participant.bsn') is bound as associated data, so a
        value copied into another column does not decrypt."""
        nonce = os.urandom(_NONCE_BYTES)
        aead = AESGCM(self._keys[self._current_key_id])
        ciphertext = aead.encrypt(nonce, plaintext.encode("utf-8"), context.encode("utf-8"))
        return ".".join((_FORMAT_VERSION, self._current_key_id, _b64(nonce), _b64(ciphertext)))

    @property
    def key_ids(self) -> frozenset[str]:
        return frozenset(self._keys)

    def decrypt(self, token: str, *, context: str) -> str:
        if is_tombstone(token):
            raise FieldCipherError("the value was removed when its owner was pseudonymised")
        parts = token.split(".")
        if len(parts) != 4 or parts[0] != _FORMAT_VERSION:
            raise FieldCipherError("protected value has an unknown format")
        _, key_id, nonce_text, ciphertext_text = parts
        key = self._keys.get(key_id)
        if key is None:
            raise FieldCipherError(f"protected value uses key id {key_id!r}, not configured")
        try:
            plaintext = AESGCM(key).decrypt(
                _unb64(nonce_text), _unb64(ciphertext_text), context.encode("utf-8")
            )
        except InvalidTag as error:
            raise FieldCipherError("protected value fails its integrity check") from error
        return plaintext.decode("utf-8")

    def needs_rotation(self, token: str) -> bool:
        """True for a value under another key than the current one (never a tombstone)."""
        if is_tombstone(token):
            return False
        parts = token.split(".")
        return len(parts) != 4 or parts[1] != self._current_key_id

    def reencrypt(self, token: str, *, context: str) -> str:
        """The same plaintext under the current key (a tombstone stays a tombstone)."""
        if not self.needs_rotation(token):
            return token
        return self.encrypt(self.decrypt(token, context=context), context=context)

    def derive_key(self, purpose: str) -> bytes:
        """A key for another purpose, derived from the index key (domain-separated)."""
        return hmac.new(
            self._index_key, f"huishoudboekje:derive:{purpose}".encode(), hashlib.sha256
        ).digest()

    def blind_index(self, value: str, *, context: str) -> str:
        digest = hmac.new(
            self._index_key, f"{context}:{value}".encode(), hashlib.sha256
        ).hexdigest()
        return digest
