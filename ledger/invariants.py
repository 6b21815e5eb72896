"""Ledger invariants, returned as data (a list of violations), never skipped.

These checks use explicit `if`s rather than `assert` so that `python -O` cannot
strip them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ledger.accounts import NON_NEGATIVE_KINDS, AccountKind, AccountRef
from ledger.balances import holding_cents
from ledger.journal import JournalEntry, entry_fingerprint, entry_problems


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken invariant: a code, a sentence, and where."""

    code: str
    message: str
    entry_key: str | None = None
    account: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {
            "code": self.code,
            "message": self.message,
            "entry": self.entry_key,
            "account": self.account,
        }


def check_entry(entry: JournalEntry, stored_fingerprint: str | None = None) -> list[Violation]:
    """An entry must balance, be well-formed and (when stored) match its fingerprint."""
    violations = [
        Violation("entry.invalid", problem, entry_key=entry.idempotency_key)
        for problem in entry_problems(entry)
    ]
    if stored_fingerprint is not None and stored_fingerprint != entry_fingerprint(entry):
        violations.append(
            Violation(
                "entry.tampered",
                "stored content no longer matches the fingerprint written with the entry",
                entry_key=entry.idempotency_key,
            )
        )
    return violations


def check_balances(raw_balances: Mapping[AccountRef, int]) -> list[Violation]:
    """Balance invariants over the whole ledger.

    - all postings together sum to zero (every entry balanced);
    - no available/reserved/buffer/payable/savings holding below zero;
    - buffer_advance never above zero (it only carries a debt);
    - participants + suspense + in_transit equal the bank accounts.
    """
    violations: list[Violation] = []
    total = sum(raw_balances.values())
    if total != 0:
        violations.append(Violation("ledger.unbalanced", f"all postings sum to {total} cents"))
    bank_total = 0
    held_total = 0
    for account, raw in sorted(raw_balances.items()):
        holding = holding_cents(account, raw)
        if account.kind is AccountKind.BANK:
            bank_total += holding
        else:
            held_total += holding
        if account.kind in NON_NEGATIVE_KINDS and holding < 0:
            violations.append(
                Violation(
                    "account.negative",
                    f"{account.label()} holds {holding} cents, below zero",
                    account=account.label(),
                )
            )
        if account.kind in (AccountKind.BUFFER_ADVANCE, AccountKind.ADVANCE_CLAIM) and holding > 0:
            violations.append(
                Violation(
                    "account.advance_positive",
                    f"{account.label()} holds {holding} cents; an advance can only be a debt",
                    account=account.label(),
                )
            )
    if held_total != bank_total:
        violations.append(
            Violation(
                "ledger.bank_mismatch",
                f"participants + suspense + in_transit hold {held_total} cents, "
                f"bank accounts hold {bank_total} cents",
            )
        )
    return violations
