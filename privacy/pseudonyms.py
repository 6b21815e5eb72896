"""Stable pseudonyms (pure): the same participant gets the same pseudonym under the
same export key, and nobody without that key can link a pseudonym back to an id.

Different export keys give unlinkable pseudonyms, so two reports made for
different recipients cannot be joined on their pseudonyms. Each kind of thing has
its own namespace, so participant 7 and household 7 get unrelated pseudonyms.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

PSEUDONYM_LENGTH = 16  # base32 characters: 80 bits, no collisions at municipal scale
KEY_BYTES_MIN = 32


def pseudonym(key: bytes, namespace: str, identifier: int, *, prefix: str) -> str:
    if len(key) < KEY_BYTES_MIN:
        raise ValueError(f"an export key must be at least {KEY_BYTES_MIN} bytes")
    if identifier < 1:
        raise ValueError("ids start at 1")
    digest = hmac.new(key, f"{namespace}:{identifier}".encode(), hashlib.sha256).digest()
    return prefix + base64.b32encode(digest).decode("ascii")[:PSEUDONYM_LENGTH]


def participant_pseudonym(key: bytes, participant_id: int) -> str:
    return pseudonym(key, "participant", participant_id, prefix="P-")


def household_pseudonym(key: bytes, household_id: int) -> str:
    return pseudonym(key, "household", household_id, prefix="H-")
