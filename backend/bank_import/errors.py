"""Why a statement file is refused by the import (beyond what the reader refuses).

Every refusal is a `backend.bank.StatementError`, so callers handle one error type and
show one kind of message: file, line, element and what is wrong. A refused file
writes nothing: the caller rolls its transaction back.
"""

from __future__ import annotations

from backend.bank import StatementError


class ImportRefusedError(StatementError):
    """The file reads well, but importing it would be wrong."""


class AccountNotOursError(ImportRefusedError):
    """The statement is of an account that is not one of the municipality's."""


class EntryConflictError(ImportRefusedError):
    """A bank entry's key is known with other content: the bank reused a reference."""


class StatementConflictError(ImportRefusedError):
    """The statement was imported before, and this copy differs from it."""


class StatementTooOldError(ImportRefusedError):
    """The statement lies before the first statement imported for the account."""
