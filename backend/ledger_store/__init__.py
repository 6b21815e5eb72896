"""Storing and checking the ledger: the one write path for journal entries."""

from backend.ledger_store.service import (
    PostedEntry,
    account_balances,
    check_ledger,
    load_entry,
    post_entries,
    post_entry,
)

__all__ = [
    "PostedEntry",
    "account_balances",
    "check_ledger",
    "load_entry",
    "post_entries",
    "post_entry",
]
