"""Pure double-entry ledger core: money, accounts, journal entries, balances, invariants.

Nothing here imports a web or database framework; the backend stores what this
package builds and asks it to check what it stored.
"""

from ledger.accounts import PARTICIPANT_ACCOUNT_KINDS, AccountKind, AccountRef
from ledger.balances import fold_balances, holding_cents
from ledger.errors import LedgerError, MoneyError
from ledger.invariants import Violation, check_balances, check_entry
from ledger.journal import JournalEntry, Posting, entry_fingerprint, reverse
from ledger.money import AMOUNT_CENTS_MAX, Money

__all__ = [
    "AMOUNT_CENTS_MAX",
    "PARTICIPANT_ACCOUNT_KINDS",
    "AccountKind",
    "AccountRef",
    "JournalEntry",
    "LedgerError",
    "Money",
    "MoneyError",
    "Posting",
    "Violation",
    "check_balances",
    "check_entry",
    "entry_fingerprint",
    "fold_balances",
    "holding_cents",
    "reverse",
]
