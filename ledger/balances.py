"""Balances folded from postings."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from ledger.accounts import AccountRef
from ledger.journal import JournalEntry


def fold_balances(entries: Iterable[JournalEntry]) -> dict[AccountRef, int]:
    """Raw (debit-positive) balance in cents of every account the entries touch."""
    balances: dict[AccountRef, int] = defaultdict(int)
    for entry in entries:
        for posting in entry.postings:
            balances[posting.account] += posting.amount_cents
    return dict(balances)


def holding_cents(account: AccountRef, raw_balance_cents: int) -> int:
    """What the account holds from its owner's view: bank as is, the rest credit-normal."""
    return raw_balance_cents if account.is_debit_normal else -raw_balance_cents
