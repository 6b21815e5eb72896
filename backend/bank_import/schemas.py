"""Request and response bodies of the bank-import API."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field

from backend.bank_import.suspense import REASON_LENGTH_MAX


class StatementReportOut(BaseModel):
    statement_id: str
    account: str
    format: str
    statement_row_id: int | None
    duplicate_statement: bool
    opening_balance_cents: int
    closing_balance_cents: int
    closing_balance_date: dt.date
    booked_entries: int
    new_entries: int
    duplicate_entries: int
    skipped_pending_entries: int
    matched_entries: int
    settled_entries: int
    returned_entries: int
    suspense_entries: int
    ignored_entries: int
    gap_cents: int | None = Field(
        description="Opening balance minus the previous statement's closing balance; "
        "not zero means a statement is missing (an alert is raised)."
    )
    opening_balance_booked_cents: int | None
    journal_entries_created: int
    alerts_raised: int


class ImportOut(BaseModel):
    file: str
    status: str
    sha256: str
    duplicate_file: bool
    statements: list[StatementReportOut]
    booked_entries: int
    new_entries: int
    duplicate_entries: int
    skipped_pending_entries: int
    matched_entries: int
    settled_entries: int
    returned_entries: int
    suspense_entries: int
    ignored_entries: int
    journal_entries_created: int
    alerts_raised: int
    gap_cents: int | None


class StatementOut(BaseModel):
    id: int
    account_iban: str
    statement_id: str
    message_id: str | None
    sequence_number: str | None
    format: str
    opening_balance_cents: int
    opening_balance_date: dt.date
    closing_balance_cents: int
    closing_balance_date: dt.date
    gap_cents: int | None
    previous_statement_id: int | None
    source_filename: str
    file_sha256: str
    imported_at: dt.datetime
    imported_by: str
    booked_entries: int
    new_entries: int
    duplicate_entries: int
    skipped_pending_entries: int
    matched_entries: int
    settled_entries: int
    returned_entries: int
    suspense_entries: int
    ignored_entries: int


class StatementPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[StatementOut]


class EntryOut(BaseModel):
    id: int
    statement_row_id: int
    sequence: int
    account_iban: str
    dedup_key: str
    amount_cents: int = Field(description="Magnitude; the direction is credit_debit.")
    credit_debit: str
    booking_date: dt.date
    value_date: dt.date | None
    bank_reference: str | None
    counterparty_name: str | None
    counterparty_iban: str | None
    counterparty_account: str | None
    remittance: str | None
    creditor_reference: str | None
    end_to_end_id: str | None
    batch_payment_information_id: str | None
    transactions: list[dict[str, Any]] | None
    reversal: bool
    return_reason_code: str | None
    bank_transaction_code: str | None
    status: str
    status_reason: str | None
    participant_id: int | None
    agreement_id: str | None
    journal_entry_key: str | None


class EntryPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[EntryOut]


class SuggestionOut(BaseModel):
    participant_id: int
    participant_name: str
    agreement_id: str
    description: str
    payer_name: str
    expected_amount_cents: int
    tolerance_cents: int
    expected_date: dt.date | None
    score: int = Field(description="0-100, higher fits better; a hint, never applied.")
    payer_iban_matches: bool
    search_terms_found: int
    search_terms_total: int
    amount_within_tolerance: bool
    amount_difference_cents: int
    in_window: bool
    reasons: list[str]


class SuspenseItemOut(EntryOut):
    suggestions: list[SuggestionOut]


class SuspensePageOut(BaseModel):
    total: int
    total_cents: int = Field(description="Net amount in suspense: credits minus debits.")
    limit: int
    offset: int
    items: list[SuspenseItemOut]


class AssignIn(BaseModel):
    participant_id: int = Field(ge=1, le=2**63 - 1)
    reason: str = Field(min_length=1, max_length=REASON_LENGTH_MAX)
    agreement_id: str | None = Field(
        default=None,
        max_length=64,
        description="Book the money as this income agreement of the participant.",
    )


class AssignmentOut(BaseModel):
    assignment_id: int
    bank_entry_id: int
    participant_id: int
    agreement_id: str | None
    expected_date: dt.date | None
    amount_cents: int
    journal_entry_key: str = Field(description="The ledger entry suspense → available.")
    assigned_by: str
    reason: str
    assigned_at: dt.datetime
    created: bool
