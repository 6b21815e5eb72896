"""Burgerservicenummer validation (the 11-proef).

Error messages never repeat the number itself: a BSN must not end up in logs.
"""

from __future__ import annotations

import re

_BSN_PATTERN = re.compile(r"^\d{8,9}$")


class BsnError(ValueError):
    """A value that is not a valid BSN; the message never contains the value."""


def validate_bsn(value: str) -> str:
    """Return the BSN as 9 digits, or raise BsnError saying what is wrong (not the value)."""
    if not isinstance(value, str):
        raise BsnError("BSN must be text of 9 digits")
    digits = value.strip().replace(" ", "").replace(".", "")
    if not _BSN_PATTERN.match(digits):
        raise BsnError("BSN must consist of 8 or 9 digits")
    digits = digits.zfill(9)
    weights = (9, 8, 7, 6, 5, 4, 3, 2, -1)
    total = sum(int(digit) * weight for digit, weight in zip(digits, weights, strict=True))
    if total % 11 != 0 or digits == "000000000":
        raise BsnError("BSN fails the 11-proef (check digit is wrong)")
    return digits
