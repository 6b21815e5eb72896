"""Ledger account kinds and references.

Sign convention: a posting's amount is in cents, positive = debit, negative = credit.
`bank` is an asset (debit-normal); every other account is money the municipality
holds for someone (credit-normal). `holding_cents` turns a raw balance into what
the account holds from its owner's point of view.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ledger.errors import LedgerError


class AccountKind(enum.StrEnum):
    BANK = "bank"
    SUSPENSE = "suspense"
    IN_TRANSIT = "in_transit"
    AVAILABLE = "available"
    RESERVED = "reserved"
    BUFFER = "buffer"
    PAYABLE = "payable"
    BUFFER_ADVANCE = "buffer_advance"
    # Money the participant set aside for their own savings goals (potjes). Theirs:
    # withdrawing it back to `available` needs no approval.
    SAVINGS = "savings"
    # The municipality's claim on former participants: the part of a buffer advance
    # their buffer could not repay when participation ended (backend.ending). A system
    # account, so that every account of an ended participant closes at zero while the
    # debt stays visible; it is only ever zero or negative (a debt owed to us).
    ADVANCE_CLAIM = "advance_claim"


PARTICIPANT_ACCOUNT_KINDS: tuple[AccountKind, ...] = (
    AccountKind.AVAILABLE,
    AccountKind.RESERVED,
    AccountKind.BUFFER,
    AccountKind.PAYABLE,
    AccountKind.BUFFER_ADVANCE,
    AccountKind.SAVINGS,
)
SYSTEM_ACCOUNT_KINDS: tuple[AccountKind, ...] = (
    AccountKind.SUSPENSE,
    AccountKind.IN_TRANSIT,
    AccountKind.ADVANCE_CLAIM,
)

# Accounts whose holding may never go below zero. buffer_advance is the one
# participant account that carries a debt to the municipality.
NON_NEGATIVE_KINDS: frozenset[AccountKind] = frozenset(
    {
        AccountKind.AVAILABLE,
        AccountKind.RESERVED,
        AccountKind.BUFFER,
        AccountKind.PAYABLE,
        AccountKind.SAVINGS,
    }
)


@dataclass(frozen=True, slots=True, order=True)
class AccountRef:
    """Which account: a kind plus its owner (a participant, or a bank IBAN)."""

    kind: AccountKind
    participant_id: int | None = None
    bank_iban: str | None = None

    def __post_init__(self) -> None:
        if self.kind in PARTICIPANT_ACCOUNT_KINDS:
            if self.participant_id is None or self.bank_iban is not None:
                raise LedgerError(f"account kind {self.kind} needs a participant and no IBAN")
        elif self.kind is AccountKind.BANK:
            if not self.bank_iban or self.participant_id is not None:
                raise LedgerError("account kind bank needs an IBAN and no participant")
        elif self.participant_id is not None or self.bank_iban is not None:
            raise LedgerError(f"account kind {self.kind} is a system account without owner")

    @classmethod
    def bank(cls, iban: str) -> AccountRef:
        return cls(AccountKind.BANK, bank_iban=iban)

    @classmethod
    def suspense(cls) -> AccountRef:
        return cls(AccountKind.SUSPENSE)

    @classmethod
    def in_transit(cls) -> AccountRef:
        return cls(AccountKind.IN_TRANSIT)

    @classmethod
    def of_participant(cls, participant_id: int, kind: AccountKind) -> AccountRef:
        return cls(kind, participant_id=participant_id)

    @property
    def is_debit_normal(self) -> bool:
        return self.kind is AccountKind.BANK

    def label(self) -> str:
        if self.participant_id is not None:
            return f"participant:{self.participant_id}:{self.kind}"
        if self.bank_iban is not None:
            return f"bank:{self.bank_iban}"
        return str(self.kind)
