"""Retention terms (bewaartermijnen), pure: which record types are due for removal.

A term is a number of years after a starting date (participation ended, a
payment file was executed). The municipality's archivist decides the numbers;
the defaults below are what the documentation proposes (docs/privacy.md).
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

YEARS_MAX = 100


class RecordType(enum.StrEnum):
    # Name, BSN, own IBAN, account: pseudonymised, so the financial records that must
    # be kept can no longer be tied to a person.
    IDENTITY = "identity"
    # Free text about a person's life: life-event and emergency notes, proposal reasons.
    CASE_NOTES = "case_notes"
    # SEPA files sent to the bank (they hold payees' names and IBANs).
    PAYMENT_FILES = "payment_files"


@dataclass(frozen=True, slots=True)
class RetentionTerms:
    """Years per record type; the financial records themselves are kept (pseudonymised)."""

    identity_years: int = 7
    case_notes_years: int = 2
    payment_files_years: int = 7

    def __post_init__(self) -> None:
        for name in ("identity_years", "case_notes_years", "payment_files_years"):
            years: int = getattr(self, name)
            if not 0 <= years <= YEARS_MAX:
                raise ValueError(f"{name} must be 0 to {YEARS_MAX} years")

    def years(self, record_type: RecordType) -> int:
        years: int = getattr(self, f"{record_type.value}_years")
        return years


def add_years(day: dt.date, years: int) -> dt.date:
    """The same calendar day `years` later; 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def due_on(start: dt.date, years: int) -> dt.date:
    """The first day on which records that started their term on `start` may be removed."""
    return add_years(start, years)


def is_due(start: dt.date | None, years: int, today: dt.date) -> bool:
    """True when the term that started on `start` has passed on `today` (None: not started)."""
    return start is not None and due_on(start, years) <= today
