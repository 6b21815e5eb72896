"""Errors raised for bad input to the ledger. Programmer errors are assertions instead."""


class LedgerError(ValueError):
    """An entry or amount that the ledger refuses; the message says what and where."""


class MoneyError(LedgerError):
    """An amount that is not a valid euro amount."""
