"""Removing personal data from text (pure): BSNs, IBANs and known names.

Used on every log line (backend.logging) and on free text that must outlive a
participant's identity (retention). It errs on the side of removing too much:
a 9-digit number that passes the 11-proef is treated as a BSN, whatever it was.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from privacy.bsn import BsnError, validate_bsn

BSN_PLACEHOLDER = "[BSN]"
IBAN_PLACEHOLDER = "[IBAN]"
NAME_PLACEHOLDER = "[NAAM]"

# 9 digits, bare or written 123.456.789 / 123 456 789 / 1234.56.789, not inside a longer number.
_BSN_CANDIDATE = re.compile(
    r"(?<![\d.])(\d{9}|\d{3}[. ]\d{3}[. ]\d{3}|\d{4}\.\d{2}\.\d{3})(?![\d])"
)
# Two letters, two check digits, 10 to 30 letters/digits, optionally in groups of four.
_IBAN_CANDIDATE = re.compile(
    r"(?<![A-Za-z0-9])"
    r"([A-Za-z]{2}\d{2}(?:[A-Za-z0-9]{10,30}|(?: [A-Za-z0-9]{4}){2,7}(?: [A-Za-z0-9]{1,3})?))"
    r"(?![A-Za-z0-9])"
)
_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*", re.UNICODE)
# Dutch name particles (tussenvoegsels) and other short words never redacted on their own.
NAME_PARTICLES = frozenset(
    {"de", "den", "der", "van", "het", "ten", "ter", "te", "in", "op", "la", "le", "el", "da"}
)
# Words of the system itself that can end up in a name field (generated usernames such
# as "participant-12", pseudonyms, household labels): never redacted as names.
NAME_STOPWORDS = frozenset(
    {"participant", "deelnemer", "gepseudonimiseerd", "huishouden", "familie", "gezin"}
)
NAME_PART_LENGTH_MIN = 3
NAMES_MAX = 1_000_000


def _is_bsn(text: str) -> bool:
    digits = text.replace(".", "").replace(" ", "")
    try:
        validate_bsn(digits)
    except BsnError:
        return False
    return len(digits) == 9


def iban_checksum_ok(text: str) -> bool:
    compact = text.replace(" ", "").upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}", compact):
        return False
    rearranged = compact[4:] + compact[:4]
    number = "".join(str(int(character, 36)) for character in rearranged)
    return int(number) % 97 == 1


def _looks_like_iban(text: str) -> bool:
    compact = text.replace(" ", "")
    if compact.isupper() and compact[:2].isalpha():
        return True  # written like an IBAN: always removed, checksum or not
    return iban_checksum_ok(compact)


def name_tokens(names: Iterable[str]) -> frozenset[str]:
    """The lower-cased words of these names that are worth redacting on their own."""
    tokens: set[str] = set()
    for count, name in enumerate(names):
        if count >= NAMES_MAX:
            raise ValueError(f"at most {NAMES_MAX} names can be redacted")
        for word in _WORD.findall(name):
            lowered = word.casefold()
            if (
                len(lowered) >= NAME_PART_LENGTH_MIN
                and lowered not in NAME_PARTICLES
                and lowered not in NAME_STOPWORDS
            ):
                tokens.add(lowered)
    return frozenset(tokens)


def redact_text(text: str, *, name_words: frozenset[str] = frozenset()) -> str:
    """`text` with BSNs, IBANs and the given name words replaced by placeholders."""
    text = _BSN_CANDIDATE.sub(
        lambda match: BSN_PLACEHOLDER if _is_bsn(match.group(1)) else match.group(0), text
    )
    text = _IBAN_CANDIDATE.sub(
        lambda match: IBAN_PLACEHOLDER if _looks_like_iban(match.group(1)) else match.group(0),
        text,
    )
    if name_words:
        text = _WORD.sub(
            lambda match: (
                NAME_PLACEHOLDER if match.group(0).casefold() in name_words else match.group(0)
            ),
            text,
        )
    return text


def contains_personal_data(text: str, *, name_words: frozenset[str] = frozenset()) -> bool:
    return redact_text(text, name_words=name_words) != text


# One person's identifiers (retention): exact values, not patterns.


def _loose(value: str, separators: str) -> str:
    """A pattern for `value` that allows one separator between any two characters."""
    return f"[{separators}]?".join(re.escape(character) for character in value)


class Identifiers:
    """The direct identifiers of one person, to remove from text and documents they outlive.

    Unlike `redact_text`, this only touches this person's own values: a creditor's
    IBAN in the same text stays.
    """

    def __init__(
        self,
        *,
        names: Iterable[str] = (),
        ibans: Iterable[str] = (),
        bsns: Iterable[str] = (),
    ) -> None:
        self.name_words = name_tokens(names)
        self.ibans = frozenset(iban.replace(" ", "").upper() for iban in ibans if iban)
        self.bsns = frozenset(bsn for bsn in bsns if bsn)
        ibans_pattern = "|".join(_loose(iban, " ") for iban in sorted(self.ibans))
        bsns_pattern = "|".join(_loose(bsn, " .") for bsn in sorted(self.bsns))
        self._ibans = (
            re.compile(rf"(?<![A-Za-z0-9])(?:{ibans_pattern})(?![A-Za-z0-9])", re.IGNORECASE)
            if ibans_pattern
            else None
        )
        self._bsns = re.compile(rf"(?<!\d)(?:{bsns_pattern})(?!\d)") if bsns_pattern else None

    def redact(self, text: str) -> str:
        if self._ibans is not None:
            text = self._ibans.sub(IBAN_PLACEHOLDER, text)
        if self._bsns is not None:
            text = self._bsns.sub(BSN_PLACEHOLDER, text)
        if self.name_words:
            text = _WORD.sub(
                lambda match: (
                    NAME_PLACEHOLDER
                    if match.group(0).casefold() in self.name_words
                    else match.group(0)
                ),
                text,
            )
        return text

    def redact_document(self, value: object) -> object:
        """A JSON document (dicts, lists, strings, numbers) with every string redacted."""
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, dict):
            return {key: self.redact_document(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.redact_document(item) for item in value]
        return value

    def found_in(self, value: object) -> bool:
        return self.redact_document(value) != value
