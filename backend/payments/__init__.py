"""Payments out: instructions, four-eyes batches, SEPA pain.001 export, settlement,
returns, pain.002 rejections and reconciliation.

For the daily cycle: `create_payment_instruction` / `create_payment_instructions`.
For the bank import: `settle_by_end_to_end_id`, `settle_batch_booking`,
`return_payment` (they raise `PaymentMatchError` when the bank entry belongs in
suspense). For finance: the batch functions, `reconcile`, the CLI and the router.
"""

from backend.payments.alerts import open_alerts, raise_alert
from backend.payments.batches import (
    ExportedFile,
    approve_batch,
    batch_events,
    batch_instructions,
    cancel_batch,
    export_batch,
    get_batch,
    list_batches,
    prepare_batch,
    propose_batches,
)
from backend.payments.errors import (
    AccountMismatch,
    AmountMismatch,
    BatchNotFound,
    BatchStateConflict,
    FourEyesViolation,
    PaymentMatchError,
    PaymentStateError,
    UnknownPayment,
)
from backend.payments.finance_users import FinanceUser, resolve_finance_user
from backend.payments.instructions import (
    InstructionRequest,
    cancel_instruction,
    create_payment_instruction,
    create_payment_instructions,
    insert_payment_instructions,
)
from backend.payments.reconcile import (
    ReconciliationReport,
    StatementClosing,
    latest_statement_closing,
    reconcile,
)
from backend.payments.settlement import (
    REGULATORY_REASONS,
    SettlementResult,
    reject_payment,
    return_payment,
    settle_batch_booking,
    settle_by_end_to_end_id,
)
from backend.payments.status_report import apply_status_report, parse_status_report

__all__ = [
    "REGULATORY_REASONS",
    "AccountMismatch",
    "AmountMismatch",
    "BatchNotFound",
    "BatchStateConflict",
    "ExportedFile",
    "FinanceUser",
    "FourEyesViolation",
    "InstructionRequest",
    "PaymentMatchError",
    "PaymentStateError",
    "ReconciliationReport",
    "SettlementResult",
    "StatementClosing",
    "UnknownPayment",
    "apply_status_report",
    "approve_batch",
    "batch_events",
    "batch_instructions",
    "cancel_batch",
    "cancel_instruction",
    "create_payment_instruction",
    "create_payment_instructions",
    "export_batch",
    "get_batch",
    "insert_payment_instructions",
    "latest_statement_closing",
    "list_batches",
    "open_alerts",
    "parse_status_report",
    "prepare_batch",
    "propose_batches",
    "raise_alert",
    "reconcile",
    "reject_payment",
    "resolve_finance_user",
    "return_payment",
    "settle_batch_booking",
    "settle_by_end_to_end_id",
]
