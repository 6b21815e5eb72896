"""What a bank statement says, independent of its file format (CAMT.053 or MT940).

Immutable records; amounts are integer euro cents, never float. An entry's
`amount_cents` is the magnitude (never negative); `credit_debit` says the direction,
and `signed_cents` gives the effect on the account balance.
"""

from __future__ import annotations

import functools
import hashlib
import operator
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from enum import StrEnum

from schwifty import IBAN

from backend.bank.errors import BalanceMismatchError


class StatementFormat(StrEnum):
    CAMT053_001_02 = "camt.053.001.02"
    CAMT053_001_08 = "camt.053.001.08"
    MT940 = "mt940"


class CreditDebit(StrEnum):
    """Direction of an entry as seen from the statement's account (ISO 20022 codes)."""

    CREDIT = "CRDT"  # money in
    DEBIT = "DBIT"  # money out


BOOKED = "BOOK"
"""The only entry status that is booked; everything else is skipped and reported."""


@dataclass(frozen=True, slots=True)
class TransactionDetails:
    """One underlying transaction of an entry (CAMT ``NtryDtls/TxDtls``).

    A batch booking is one entry with several of these; a single payment has one.
    """

    amount_cents: int | None
    """Amount of this transaction (``TxDtls/Amt`` or ``AmtDtls/TxAmt/Amt``), if given."""
    end_to_end_id: str | None
    """``Refs/EndToEndId``; the literal ``NOTPROVIDED`` is read as None."""
    instruction_id: str | None
    payment_information_id: str | None
    """``Refs/PmtInfId``, when the bank repeats the batch id per transaction."""
    mandate_id: str | None
    counterparty_name: str | None
    """The other party: the debtor of a credit, the creditor of a debit (never our own account)."""
    counterparty_iban: str | None
    counterparty_account: str | None
    """The counterparty account as given when it is not a valid IBAN."""
    counterparty_bic: str | None
    remittance_unstructured: str | None
    """All ``RmtInf/Ustrd`` lines joined with a space."""
    creditor_reference: str | None
    """``RmtInf/Strd/CdtrRefInf/Ref``: structured reference (betalingskenmerk, RF...)."""
    return_reason_code: str | None
    """``RtrInf/Rsn/Cd`` (or ``Rsn/Prtry``): AC04, AM04, MD07, RR01, ..."""
    return_additional_info: str | None

    def __reduce__(self) -> tuple[type[TransactionDetails], tuple[object, ...]]:
        return (TransactionDetails, _TRANSACTION_VALUES(self))


@dataclass(frozen=True, slots=True)
class BankEntry:
    """One line of a statement (CAMT ``Ntry``, MT940 ``:61:`` with its ``:86:``)."""

    account: str
    """The statement's account (see `Statement.account`); part of `dedup_key`."""
    amount_cents: int
    """Magnitude in cents, never negative; the direction is `credit_debit`."""
    credit_debit: CreditDebit
    status: str
    """``BOOK`` for booked entries; ``PDNG``, ``INFO``, ... for skipped ones."""
    booking_date: date | None
    """Always set for a booked entry."""
    value_date: date | None
    bank_reference: str | None
    """The bank's own reference for the entry: CAMT ``AcctSvcrRef``, MT940 ``:61:`` ``//ref``."""
    counterparty_name: str | None
    counterparty_iban: str | None
    """Only a checksum-valid IBAN (compact, upper case); other account ids go below."""
    counterparty_account: str | None
    """The counterparty account as given when it is not an IBAN (e.g. an old BBAN)."""
    counterparty_bic: str | None
    remittance_unstructured: str | None
    creditor_reference: str | None
    end_to_end_id: str | None
    batch_payment_information_id: str | None
    """``NtryDtls/Btch/PmtInfId`` (MT940: ``/PREF/``): the payment batch this entry settles."""
    batch_transaction_count: int | None
    """``NtryDtls/Btch/NbOfTxs``."""
    transactions: tuple[TransactionDetails, ...]
    """Every ``TxDtls`` of the entry (one for a single payment, several for a batch).

    The entry-level counterparty, remittance, end-to-end id and return reason are
    copied from the transaction when there is exactly one; for a batch they stay
    None on the entry and are read per transaction here.
    """
    reversal: bool
    """CAMT ``RvslInd``; MT940 mark ``RC``/``RD``. The direction is already the booking's."""
    return_reason_code: str | None
    bank_transaction_code: str | None
    """``Domn/Fmly/SubFmly`` as ``PMNT/RCDT/ESCT``, else the proprietary code (MT940: ``NTRF``)."""
    additional_info: str | None
    """CAMT ``AddtlNtryInf``; MT940: the whole ``:86:`` text."""
    occurrence: int = 1
    """1 for the first entry in this statement with the same base key, 2 for the next, ..."""
    line: int | None = field(default=None, compare=False)
    """Source line of the entry, for messages; not part of the entry's identity."""

    def __reduce__(self) -> tuple[type[BankEntry], tuple[object, ...]]:
        # Pickled as the class called with its values (the reading process sends every
        # entry, backend.bank.background): the dataclass default looks the fields up and
        # sets them one by one in Python, ~5 µs per entry on each side.
        return (BankEntry, _ENTRY_VALUES(self))

    @property
    def signed_cents(self) -> int:
        """Effect on the account balance: positive for a credit, negative for a debit."""
        return self.amount_cents if self.credit_debit is CreditDebit.CREDIT else -self.amount_cents

    @property
    def is_booked(self) -> bool:
        return self.status == BOOKED

    @property
    def base_key(self) -> str:
        """The key before the occurrence counter; see `dedup_key`."""
        account = _key_part(self.account)
        if self.bank_reference:
            return f"{account}|ref|{_key_part(self.bank_reference)}"
        return "|".join(
            (
                account,
                "fallback",
                self.booking_date.isoformat() if self.booking_date else "-",
                f"{'C' if self.credit_debit is CreditDebit.CREDIT else 'D'}{self.amount_cents}",
                _key_part(self.counterparty_iban or self.counterparty_account or "-"),
                remittance_hash(self.remittance_unstructured, self.creditor_reference),
            )
        )

    @property
    def dedup_key(self) -> str:
        """The exactly-once key for this bank entry.

        - With a bank reference: ``account|ref|REFERENCE`` — the same entry in an overlapping
          or repeated statement gets the same key. Should a bank repeat a reference within one
          statement, the later entries get ``#2``, ``#3`` (never silently merged).
        - Without one: ``account|fallback|booking date|C/D amount|counterparty IBAN|
          remittance hash#occurrence``; the occurrence tells two identical entries in one
          statement apart.

        ``%``, ``|`` and ``#`` inside the parts are escaped (``%25``, ``%7C``, ``%23``).
        """
        base = self.base_key
        if self.bank_reference and self.occurrence == 1:
            return base
        return f"{base}#{self.occurrence}"

    @property
    def fingerprint(self) -> str:
        """Hash of what the entry says (not its key).

        The same `dedup_key` with a different fingerprint on a later import means the bank
        reused a reference for a different entry: a conflict to report, not a duplicate.
        """
        parts = (
            self.credit_debit.value,
            str(self.amount_cents),
            self.booking_date.isoformat() if self.booking_date else "",
            self.value_date.isoformat() if self.value_date else "",
            self.counterparty_iban or self.counterparty_account or "",
            self.remittance_unstructured or "",
            self.creditor_reference or "",
            self.end_to_end_id or "",
        )
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


_TRANSACTION_VALUES = operator.attrgetter(*(item.name for item in fields(TransactionDetails)))
_ENTRY_VALUES = operator.attrgetter(*(item.name for item in fields(BankEntry)))
"""Every field's value, in the order the class takes them."""


def _key_part(text: str) -> str:
    """Escape the key's separators, so ``REF#2`` can never pass for the second ``REF``."""
    return text.replace("%", "%25").replace("|", "%7C").replace("#", "%23")


def remittance_hash(unstructured: str | None, creditor_reference: str | None) -> str:
    """Short stable hash of the remittance, whitespace- and case-insensitive."""
    text = " ".join(((unstructured or "") + " " + (creditor_reference or "")).split()).casefold()
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Statement:
    """One account statement (CAMT ``Stmt``, MT940 ``:20:`` ... ``:62F:`` block).

    The reader has already checked: amounts are exact EUR cents; opening balance plus
    booked credits minus booked debits equals the closing balance. Checks that need the
    database (account belongs to the municipality, opening equals the previous closing)
    are the importer's.
    """

    format: StatementFormat
    statement_id: str
    """CAMT ``Stmt/Id``; MT940 ``:20:``."""
    account: str
    """The IBAN (compact, upper case) when the bank gives one, else its account number as
    given (some MT940 files, e.g. ``:25:0285053876``)."""
    account_iban: str | None
    """`account` when it is a valid IBAN, else None."""
    currency: str
    opening_balance_cents: int
    """Signed: a debit (overdrawn) balance is negative."""
    opening_balance_date: date
    closing_balance_cents: int
    closing_balance_date: date
    created_at: datetime | None
    """When the bank made the statement, timezone-aware UTC (naive times are read as
    Europe/Amsterdam). MT940 has it only with ``:13D:``."""
    sequence_number: str | None
    """CAMT ``ElctrncSeqNb`` (else ``LglSeqNb``); MT940 ``:28C:`` as given (``9/1``)."""
    message_id: str | None
    """CAMT ``GrpHdr/MsgId``; None for MT940."""
    entries: tuple[BankEntry, ...]
    """Booked entries only, in file order."""
    skipped_entries: tuple[BankEntry, ...]
    """Entries that are not booked (``PDNG``, ``INFO``, ...): reported, never booked."""
    source_filename: str
    line: int | None = field(default=None, compare=False)
    """Line where the statement starts in the file."""

    @property
    def pending_entries_skipped(self) -> int:
        """How many entries were skipped because they are not booked (pending, info, ...)."""
        return len(self.skipped_entries)

    @property
    def booked_credit_cents(self) -> int:
        return sum(e.amount_cents for e in self.entries if e.credit_debit is CreditDebit.CREDIT)

    @property
    def booked_debit_cents(self) -> int:
        return sum(e.amount_cents for e in self.entries if e.credit_debit is CreditDebit.DEBIT)


@functools.lru_cache(maxsize=8192)
def valid_iban(text: str | None) -> str | None:
    """`text` as a compact upper-case IBAN when it is a valid one (checksum, length), else None."""
    if not text or len(text) > 64:
        return None
    try:
        return str(IBAN(text).compact)
    except (ValueError, TypeError, KeyError, IndexError):
        return None


def format_cents(cents: int) -> str:
    """Cents as a plain decimal amount for messages: -123456 -> '-1234.56'."""
    units, rest = divmod(abs(cents), 100)
    return f"{'-' if cents < 0 else ''}{units}.{rest:02d}"


def check_balances(
    *,
    opening_cents: int,
    entries: Iterable[BankEntry],
    closing_cents: int,
    filename: str,
    line: int | None,
    element: str | None,
    closing_label: str,
) -> None:
    """Opening + booked credits − booked debits must equal the closing balance, to the cent.

    Not an assertion: it is bad input and is checked on every file, also under ``python -O``.
    """
    credits_cents = 0
    debits_cents = 0
    for entry in entries:
        if entry.credit_debit is CreditDebit.CREDIT:
            credits_cents += entry.amount_cents
        else:
            debits_cents += entry.amount_cents
    computed_cents = opening_cents + credits_cents - debits_cents
    if computed_cents != closing_cents:
        raise BalanceMismatchError(
            f"balances do not add up: opening balance {format_cents(opening_cents)} "
            f"+ booked credits {format_cents(credits_cents)} "
            f"− booked debits {format_cents(debits_cents)} = {format_cents(computed_cents)}, "
            f"but the closing balance ({closing_label}) is {format_cents(closing_cents)} "
            f"(difference {format_cents(closing_cents - computed_cents)})",
            filename=filename,
            line=line,
            element=element,
        )
