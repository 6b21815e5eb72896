"""bank import: imported statements, bank entries (exactly once), suspense assignments

bank_statement holds the closing balances reconciliation compares the ledger with
(backend.payments.reconcile reads id, account_iban, statement_id,
closing_balance_cents, closing_balance_date). bank_entry.dedup_key is unique: a bank
entry is stored and booked once, however often it is imported.

Revision ID: 0007_bank_import
Revises: 0001
Create Date: 2026-11-28 21:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.models.base


revision: str = '0007_bank_import'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
_TS = backend.models.base.UtcDateTime(timezone=True)

_FORMATS = "('camt.053.001.02', 'camt.053.001.08', 'mt940')"
_STATUSES = "('matched_income', 'settled', 'returned', 'suspense', 'assigned', 'ignored')"


def upgrade() -> None:
    op.create_table('bank_statement',
    sa.Column('id', _ID, nullable=False),
    sa.Column('bank_account_id', _ID, nullable=False),
    sa.Column('account_iban', sa.String(length=34), nullable=False),
    sa.Column('statement_id', sa.String(length=70), nullable=False),
    sa.Column('message_id', sa.String(length=70), nullable=True),
    sa.Column('sequence_number', sa.String(length=35), nullable=True),
    sa.Column('format', sa.String(length=20), nullable=False),
    sa.Column('opening_balance_cents', sa.BigInteger(), nullable=False),
    sa.Column('opening_balance_date', sa.Date(), nullable=False),
    sa.Column('closing_balance_cents', sa.BigInteger(), nullable=False),
    sa.Column('closing_balance_date', sa.Date(), nullable=False),
    sa.Column('created_by_bank_at', _TS, nullable=True),
    sa.Column('previous_statement_id', _ID, nullable=True),
    sa.Column('gap_cents', sa.BigInteger(), nullable=True),
    sa.Column('source_filename', sa.String(length=255), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('imported_at', _TS, nullable=False),
    sa.Column('imported_by', sa.String(length=100), nullable=False),
    sa.Column('booked_entries', sa.Integer(), nullable=False),
    sa.Column('new_entries', sa.Integer(), nullable=False),
    sa.Column('duplicate_entries', sa.Integer(), nullable=False),
    sa.Column('skipped_pending_entries', sa.Integer(), nullable=False),
    sa.Column('matched_entries', sa.Integer(), nullable=False),
    sa.Column('settled_entries', sa.Integer(), nullable=False),
    sa.Column('returned_entries', sa.Integer(), nullable=False),
    sa.Column('suspense_entries', sa.Integer(), nullable=False),
    sa.Column('ignored_entries', sa.Integer(), nullable=False),
    sa.Column('opening_entry_key', sa.String(length=200), nullable=True),
    sa.CheckConstraint(f"format IN {_FORMATS}", name=op.f('ck_bank_statement_format_known')),
    sa.ForeignKeyConstraint(['bank_account_id'], ['municipal_bank_account.id'], name=op.f('fk_bank_statement_bank_account_id_municipal_bank_account')),
    sa.ForeignKeyConstraint(['previous_statement_id'], ['bank_statement.id'], name=op.f('fk_bank_statement_previous_statement_id_bank_statement')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_statement')),
    sa.UniqueConstraint('account_iban', 'statement_id', 'closing_balance_date', 'closing_balance_cents', name='uq_bank_statement_identity')
    )
    with op.batch_alter_table('bank_statement', schema=None) as batch_op:
        batch_op.create_index('ix_bank_statement_account_closing', ['account_iban', 'closing_balance_date', 'id'], unique=False)

    op.create_table('bank_entry',
    sa.Column('id', _ID, nullable=False),
    sa.Column('statement_id', _ID, nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('account_iban', sa.String(length=34), nullable=False),
    sa.Column('dedup_key', sa.String(length=400), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('credit_debit', sa.String(length=4), nullable=False),
    sa.Column('booking_date', sa.Date(), nullable=False),
    sa.Column('value_date', sa.Date(), nullable=True),
    sa.Column('bank_reference', sa.String(length=140), nullable=True),
    sa.Column('counterparty_name', sa.String(length=140), nullable=True),
    sa.Column('counterparty_iban', sa.String(length=34), nullable=True),
    sa.Column('counterparty_account', sa.String(length=70), nullable=True),
    sa.Column('counterparty_bic', sa.String(length=11), nullable=True),
    sa.Column('remittance_unstructured', sa.Text(), nullable=True),
    sa.Column('creditor_reference', sa.String(length=140), nullable=True),
    sa.Column('end_to_end_id', sa.String(length=140), nullable=True),
    sa.Column('batch_payment_information_id', sa.String(length=140), nullable=True),
    sa.Column('batch_transaction_count', sa.Integer(), nullable=True),
    sa.Column('transactions', sa.JSON(), nullable=True),
    sa.Column('reversal', sa.Boolean(), nullable=False),
    sa.Column('return_reason_code', sa.String(length=35), nullable=True),
    sa.Column('bank_transaction_code', sa.String(length=70), nullable=True),
    sa.Column('additional_info', sa.Text(), nullable=True),
    sa.Column('source_line', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('status_reason', sa.String(length=300), nullable=True),
    sa.Column('participant_id', _ID, nullable=True),
    sa.Column('agreement_id', sa.String(length=64), nullable=True),
    sa.Column('journal_entry_key', sa.String(length=200), nullable=True),
    sa.Column('payment_instruction_count', sa.Integer(), nullable=False),
    sa.Column('imported_at', _TS, nullable=False),
    sa.CheckConstraint(f"status IN {_STATUSES}", name=op.f('ck_bank_entry_status_known')),
    sa.CheckConstraint("credit_debit IN ('CRDT', 'DBIT')", name=op.f('ck_bank_entry_direction_known')),
    sa.CheckConstraint('amount_cents >= 0', name=op.f('ck_bank_entry_amount_not_negative')),
    sa.ForeignKeyConstraint(['statement_id'], ['bank_statement.id'], name=op.f('fk_bank_entry_statement_id_bank_statement')),
    sa.ForeignKeyConstraint(['participant_id'], ['participant.id'], name=op.f('fk_bank_entry_participant_id_participant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_entry')),
    sa.UniqueConstraint('dedup_key', name='uq_bank_entry_dedup_key')
    )
    with op.batch_alter_table('bank_entry', schema=None) as batch_op:
        batch_op.create_index('ix_bank_entry_status_booking', ['status', 'booking_date', 'id'], unique=False)
        batch_op.create_index('ix_bank_entry_statement_sequence', ['statement_id', 'sequence'], unique=False)
        batch_op.create_index('ix_bank_entry_account_booking', ['account_iban', 'booking_date'], unique=False)

    op.create_table('suspense_assignment',
    sa.Column('id', _ID, nullable=False),
    sa.Column('bank_entry_id', _ID, nullable=False),
    sa.Column('participant_id', _ID, nullable=False),
    sa.Column('agreement_id', sa.String(length=64), nullable=True),
    sa.Column('expected_date', sa.Date(), nullable=True),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('assigned_by', sa.String(length=100), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('assigned_at', _TS, nullable=False),
    sa.Column('journal_entry_key', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['bank_entry_id'], ['bank_entry.id'], name=op.f('fk_suspense_assignment_bank_entry_id_bank_entry')),
    sa.ForeignKeyConstraint(['participant_id'], ['participant.id'], name=op.f('fk_suspense_assignment_participant_id_participant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_suspense_assignment')),
    sa.UniqueConstraint('bank_entry_id', name='uq_suspense_assignment_entry')
    )
    with op.batch_alter_table('suspense_assignment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_suspense_assignment_participant_id'), ['participant_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('suspense_assignment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_suspense_assignment_participant_id'))
    op.drop_table('suspense_assignment')
    with op.batch_alter_table('bank_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_bank_entry_account_booking')
        batch_op.drop_index('ix_bank_entry_statement_sequence')
        batch_op.drop_index('ix_bank_entry_status_booking')
    op.drop_table('bank_entry')
    with op.batch_alter_table('bank_statement', schema=None) as batch_op:
        batch_op.drop_index('ix_bank_statement_account_closing')
    op.drop_table('bank_statement')
