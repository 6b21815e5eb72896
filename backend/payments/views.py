"""Plain-dict views of batches and payments, shared by the CLI and the API."""

from __future__ import annotations

from typing import Any

from backend.models import PaymentBatch, PaymentInstruction
from ledger import Money


def batch_summary(batch: PaymentBatch) -> dict[str, Any]:
    return {
        "id": batch.id,
        "status": batch.status,
        "version": batch.version,
        "execution_date": batch.execution_date.isoformat(),
        "payments": batch.instruction_count,
        "control_sum_cents": batch.control_sum_cents,
        "control_sum": str(Money(batch.control_sum_cents)),
        "message_id": batch.message_id,
        "pmt_inf_id": batch.pmt_inf_id,
        "format": batch.format,
        "sha256": batch.file_sha256,
        "sha1": batch.file_sha1,
        "prepared_by": batch.prepared_by,
        "approved_by": batch.approved_by,
        "exported_by": batch.exported_by,
    }


def instruction_summary(instruction: PaymentInstruction) -> dict[str, Any]:
    return {
        "id": instruction.id,
        "participant_id": instruction.participant_id,
        "end_to_end_id": instruction.end_to_end_id,
        "kind": instruction.kind,
        "creditor_name": instruction.creditor_name,
        "creditor_iban": instruction.creditor_iban,
        "amount_cents": instruction.amount_cents,
        "due_date": instruction.due_date.isoformat(),
        "status": instruction.status,
        "status_reason_code": instruction.status_reason_code,
        "retry_blocked": instruction.retry_blocked,
    }
