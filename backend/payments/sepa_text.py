"""The SEPA character set, identifiers and creditor references.

SEPA credit transfers carry only the EPC basic Latin set:
a-z A-Z 0-9 / - ? : ( ) . , ' + and space. Names such as "Zoë Ĳzerman" are
transliterated ("Zoe IJzerman"); everything else that is not in the set is
replaced by a near character or dropped.

Identifiers (MsgId, PmtInfId, EndToEndId) are at most 35 characters of that set,
do not start or end with '/' and do not contain '//' (EPC rules).

Structured creditor references:
- Dutch betalingskenmerk (Betaalvereniging): 7, 9-14 or 16 digits; from 9 digits
  on the first digit is a weighted modulus-11 check digit, and for 9-14 digits the
  second is a length code. Written with issuer "CUR".
- ISO 11649 "RF" references: RF, two check digits (mod 97), up to 21 characters.
  Written with issuer "ISO".
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass

from unidecode import unidecode

from backend.errors import InvalidInput

SEPA_CHARACTERS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/-?:().,'+ "
)
# Near replacements for common characters outside the set.
_REPLACEMENTS = str.maketrans(
    {
        "&": "+",
        "_": "-",
        '"': "'",
        "`": "'",
        ";": ",",
        "!": ".",
        "*": ".",
        "=": "-",
        "|": "/",
        "\\": "/",
        "[": "(",
        "]": ")",
        "{": "(",
        "}": ")",
        "<": "(",
        ">": ")",
        "\t": " ",
        "\n": " ",
        "\r": " ",
    }
)
_SPACES = re.compile(r" {2,}")

NAME_LENGTH_MAX = 70
REMITTANCE_LENGTH_MAX = 140
IDENTIFIER_LENGTH_MAX = 35
NOT_PROVIDED = "NOTPROVIDED"


def to_sepa_text(text: str, *, length_max: int) -> str:
    """Transliterate to the SEPA character set, collapse spaces, cut to `length_max`."""
    ascii_text = unidecode(text).translate(_REPLACEMENTS)
    kept = "".join(character for character in ascii_text if character in SEPA_CHARACTERS)
    return _SPACES.sub(" ", kept).strip()[:length_max].rstrip()


def sepa_name(text: str) -> str:
    name = to_sepa_text(text, length_max=NAME_LENGTH_MAX)
    if not name:
        raise InvalidInput(f"name {text!r} has no characters a SEPA transfer can carry")
    return name


def check_identifier(value: str, *, field: str) -> str:
    """A SEPA identifier as given, or InvalidInput saying what is wrong with it."""
    problems = identifier_problems(value)
    if problems:
        raise InvalidInput(f"{field} {value!r}: " + "; ".join(problems))
    return value


def identifier_problems(value: str) -> list[str]:
    problems: list[str] = []
    if not 1 <= len(value) <= IDENTIFIER_LENGTH_MAX:
        problems.append(f"must be 1 to {IDENTIFIER_LENGTH_MAX} characters")
    if any(character not in SEPA_CHARACTERS or character == " " for character in value):
        problems.append("may only contain a-z A-Z 0-9 / - ? : ( ) . , ' +")
    if value.startswith("/") or value.endswith("/") or "//" in value:
        problems.append("may not start or end with '/' or contain '//'")
    if value.upper() == NOT_PROVIDED:
        problems.append("NOTPROVIDED is not an identifier; every payment has its own")
    return problems


def end_to_end_id_for(idempotency_key: str) -> str:
    """The default EndToEndId: 'HHB-' and 22 base32 characters of SHA-256(key).

    Deterministic (a replay gets the same id), 110 bits, and it says nothing about
    the participant to the creditor who receives it.
    """
    digest = hashlib.sha256(idempotency_key.encode("utf-8")).digest()
    return "HHB-" + base64.b32encode(digest).decode("ascii")[:22]


# ---------------------------------------------------------------- creditor references

_BETALINGSKENMERK_WEIGHTS = (2, 4, 8, 5, 10, 9, 7, 3, 6, 1)
_BETALINGSKENMERK_LENGTHS = frozenset({7, 9, 10, 11, 12, 13, 14, 16})
_RF_PATTERN = re.compile(r"^RF(\d{2})([A-Z0-9]{1,21})$")


@dataclass(frozen=True, slots=True)
class CreditorReference:
    """A structured creditor reference as it goes into the file."""

    reference: str
    issuer: str  # "CUR" (Dutch betalingskenmerk) or "ISO" (ISO 11649)

    @property
    def code(self) -> str:
        return "SCOR"


def betalingskenmerk_check_digit(digits: str) -> int:
    """Weighted modulus 11 over `digits` (everything after the check digit)."""
    total = sum(
        int(digit) * _BETALINGSKENMERK_WEIGHTS[index % len(_BETALINGSKENMERK_WEIGHTS)]
        for index, digit in enumerate(reversed(digits))
    )
    check = 11 - total % 11
    return {10: 1, 11: 0}.get(check, check)


def parse_creditor_reference(text: str) -> CreditorReference:
    """A Dutch betalingskenmerk or an RF reference, or InvalidInput saying why not."""
    compact = "".join(text.split()).upper()
    if compact.startswith("RF"):
        match = _RF_PATTERN.match(compact)
        if match is None:
            raise InvalidInput(
                f"creditor reference {text!r}: an RF reference is RF, two check digits "
                "and 1 to 21 letters or digits"
            )
        rearranged = compact[4:] + compact[:4]
        numeric = "".join(str(int(character, 36)) for character in rearranged)
        if int(numeric) % 97 != 1:
            raise InvalidInput(f"creditor reference {text!r}: RF check digits do not match")
        return CreditorReference(compact, "ISO")
    if not compact.isdigit() or not compact.isascii():
        raise InvalidInput(
            f"creditor reference {text!r} is neither a Dutch betalingskenmerk (digits) "
            "nor an RF reference"
        )
    length = len(compact)
    if length not in _BETALINGSKENMERK_LENGTHS:
        raise InvalidInput(
            f"betalingskenmerk {text!r} has {length} digits; allowed are 7, 9 to 14 or 16"
        )
    if length >= 9:
        if length <= 14 and int(compact[1]) != (length - 2) % 10:
            raise InvalidInput(
                f"betalingskenmerk {text!r}: length code {compact[1]} does not match "
                f"the {length - 2} digits that follow it"
            )
        if betalingskenmerk_check_digit(compact[1:]) != int(compact[0]):
            raise InvalidInput(f"betalingskenmerk {text!r}: check digit does not match")
    return CreditorReference(compact, "CUR")
