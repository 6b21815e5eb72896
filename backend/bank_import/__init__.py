"""Bank statements in: store every entry exactly once, match income, settle our
payments, and keep what cannot be attributed in the suspense queue for finance.

    import_statement_file(session, data, filename=..., imported_by=...) -> ImportReport
    list_suspense(session, ...) -> SuspensePage
    assign_suspense_entry(session, bank_entry_id=..., participant_id=..., ...) -> AssignmentResult

Reading the files is `backend.bank`'s job; paying out is `backend.payments`'.
"""

from backend.bank_import.errors import (
    AccountNotOursError,
    EntryConflictError,
    ImportRefusedError,
    StatementConflictError,
    StatementTooOldError,
)
from backend.bank_import.matching import ExpectationIndex, MatchResult, Suggestion
from backend.bank_import.service import (
    ImportReport,
    StatementReport,
    import_statement_file,
    journal_key,
)
from backend.bank_import.suspense import (
    AssignmentResult,
    SuspenseItem,
    SuspensePage,
    assign_suspense_entry,
    list_suspense,
)

__all__ = [
    "AccountNotOursError",
    "AssignmentResult",
    "EntryConflictError",
    "ExpectationIndex",
    "ImportRefusedError",
    "ImportReport",
    "MatchResult",
    "StatementConflictError",
    "StatementReport",
    "StatementTooOldError",
    "Suggestion",
    "SuspenseItem",
    "SuspensePage",
    "assign_suspense_entry",
    "import_statement_file",
    "journal_key",
    "list_suspense",
]
