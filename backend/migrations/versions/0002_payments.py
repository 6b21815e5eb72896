"""payments: payment instructions, batches with four-eyes approval, batch events, alerts

Revision ID: 0002_payments
Revises: 0001
Create Date: 2026-11-28 19:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.models.base


revision: str = '0002_payments'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
_TS = backend.models.base.UtcDateTime(timezone=True)

_BATCH_STATUSES = "('proposed', 'prepared', 'approved', 'exported', 'settled', 'partly_returned', 'rejected', 'cancelled')"
_INSTRUCTION_STATUSES = "('payable', 'batched', 'exported', 'settled', 'returned', 'rejected', 'cancelled')"


def upgrade() -> None:
    op.create_table('payment_batch',
    sa.Column('id', _ID, nullable=False),
    sa.Column('execution_date', sa.Date(), nullable=False),
    sa.Column('debtor_account_id', _ID, nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.String(length=35), nullable=False),
    sa.Column('pmt_inf_id', sa.String(length=35), nullable=False),
    sa.Column('format', sa.String(length=20), nullable=True),
    sa.Column('file_bytes', sa.LargeBinary(), nullable=True),
    sa.Column('file_sha256', sa.String(length=64), nullable=True),
    sa.Column('file_sha1', sa.String(length=40), nullable=True),
    sa.Column('control_sum_cents', sa.BigInteger(), nullable=False),
    sa.Column('instruction_count', sa.Integer(), nullable=False),
    sa.Column('prepared_by', sa.String(length=100), nullable=True),
    sa.Column('prepared_at', _TS, nullable=True),
    sa.Column('approved_by', sa.String(length=100), nullable=True),
    sa.Column('approved_at', _TS, nullable=True),
    sa.Column('exported_by', sa.String(length=100), nullable=True),
    sa.Column('exported_at', _TS, nullable=True),
    sa.Column('cancelled_by', sa.String(length=100), nullable=True),
    sa.Column('cancelled_at', _TS, nullable=True),
    sa.Column('created_at', _TS, nullable=False),
    sa.CheckConstraint(f"status IN {_BATCH_STATUSES}", name=op.f('ck_payment_batch_status_known')),
    sa.CheckConstraint("format IS NULL OR format IN ('pain.001.001.09', 'pain.001.001.03')", name=op.f('ck_payment_batch_format_known')),
    sa.CheckConstraint('approved_by IS NULL OR prepared_by IS NULL OR approved_by <> prepared_by', name=op.f('ck_payment_batch_four_eyes')),
    sa.CheckConstraint("status NOT IN ('approved', 'exported', 'settled', 'partly_returned', 'rejected') OR approved_by IS NOT NULL", name=op.f('ck_payment_batch_approved_before_export')),
    sa.CheckConstraint("status NOT IN ('exported', 'settled', 'partly_returned', 'rejected') OR file_sha256 IS NOT NULL", name=op.f('ck_payment_batch_exported_has_file')),
    sa.ForeignKeyConstraint(['debtor_account_id'], ['municipal_bank_account.id'], name=op.f('fk_payment_batch_debtor_account_id_municipal_bank_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_batch')),
    sa.UniqueConstraint('message_id', name=op.f('uq_payment_batch_message_id')),
    sa.UniqueConstraint('pmt_inf_id', name=op.f('uq_payment_batch_pmt_inf_id'))
    )
    with op.batch_alter_table('payment_batch', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_batch_status'), ['status'], unique=False)
        batch_op.create_index('ix_payment_batch_one_proposal', ['execution_date', 'debtor_account_id'], unique=True, sqlite_where=sa.text("status = 'proposed'"), postgresql_where=sa.text("status = 'proposed'"))

    op.create_table('payment_instruction',
    sa.Column('id', _ID, nullable=False),
    sa.Column('participant_id', _ID, nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('payable_entry_id', _ID, nullable=False),
    sa.Column('end_to_end_id', sa.String(length=35), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('creditor_name', sa.String(length=140), nullable=False),
    sa.Column('creditor_iban', sa.String(length=34), nullable=False),
    sa.Column('creditor_bic', sa.String(length=11), nullable=True),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('remittance_unstructured', sa.String(length=140), nullable=True),
    sa.Column('creditor_reference', sa.String(length=35), nullable=True),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('requested_execution_date', sa.Date(), nullable=False),
    sa.Column('debtor_account_id', _ID, nullable=False),
    sa.Column('source_kind', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('batch_id', _ID, nullable=True),
    sa.Column('retry_blocked', sa.Boolean(), nullable=False),
    sa.Column('status_reason_code', sa.String(length=35), nullable=True),
    sa.Column('settled_on', sa.Date(), nullable=True),
    sa.Column('settlement_reference', sa.String(length=100), nullable=True),
    sa.Column('returned_on', sa.Date(), nullable=True),
    sa.Column('return_reference', sa.String(length=100), nullable=True),
    sa.Column('created_at', _TS, nullable=False),
    sa.Column('updated_at', _TS, nullable=False),
    sa.CheckConstraint('amount_cents > 0', name=op.f('ck_payment_instruction_amount_positive')),
    sa.CheckConstraint("kind IN ('fixed_cost', 'living_money', 'refund')", name=op.f('ck_payment_instruction_kind_known')),
    sa.CheckConstraint("source_kind IN ('reserved', 'available', 'buffer')", name=op.f('ck_payment_instruction_source_kind_known')),
    sa.CheckConstraint(f"status IN {_INSTRUCTION_STATUSES}", name=op.f('ck_payment_instruction_status_known')),
    sa.CheckConstraint("end_to_end_id <> 'NOTPROVIDED'", name=op.f('ck_payment_instruction_end_to_end_id_provided')),
    sa.ForeignKeyConstraint(['batch_id'], ['payment_batch.id'], name=op.f('fk_payment_instruction_batch_id_payment_batch')),
    sa.ForeignKeyConstraint(['debtor_account_id'], ['municipal_bank_account.id'], name=op.f('fk_payment_instruction_debtor_account_id_municipal_bank_account')),
    sa.ForeignKeyConstraint(['participant_id'], ['participant.id'], name=op.f('fk_payment_instruction_participant_id_participant')),
    sa.ForeignKeyConstraint(['payable_entry_id'], ['journal_entry.id'], name=op.f('fk_payment_instruction_payable_entry_id_journal_entry')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_instruction')),
    sa.UniqueConstraint('end_to_end_id', name=op.f('uq_payment_instruction_end_to_end_id')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_payment_instruction_idempotency_key'))
    )
    with op.batch_alter_table('payment_instruction', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_instruction_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_instruction_participant_id'), ['participant_id'], unique=False)
        batch_op.create_index('ix_payment_instruction_status_batch', ['status', 'batch_id'], unique=False)

    op.create_table('payment_batch_event',
    sa.Column('id', _ID, nullable=False),
    sa.Column('batch_id', _ID, nullable=False),
    sa.Column('action', sa.String(length=30), nullable=False),
    sa.Column('from_status', sa.String(length=20), nullable=True),
    sa.Column('to_status', sa.String(length=20), nullable=True),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('at', _TS, nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['payment_batch.id'], name=op.f('fk_payment_batch_event_batch_id_payment_batch')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_batch_event'))
    )
    with op.batch_alter_table('payment_batch_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_batch_event_batch_id'), ['batch_id'], unique=False)

    op.create_table('alert',
    sa.Column('id', _ID, nullable=False),
    sa.Column('dedup_key', sa.String(length=200), nullable=False),
    sa.Column('participant_id', _ID, nullable=True),
    sa.Column('kind', sa.String(length=60), nullable=False),
    sa.Column('severity', sa.String(length=10), nullable=False),
    sa.Column('message_nl', sa.String(length=500), nullable=False),
    sa.Column('message_en', sa.String(length=500), nullable=False),
    sa.Column('payment_instruction_id', _ID, nullable=True),
    sa.Column('created_at', _TS, nullable=False),
    sa.Column('resolved_at', _TS, nullable=True),
    sa.Column('resolved_by', sa.String(length=100), nullable=True),
    sa.CheckConstraint("severity IN ('info', 'warning', 'critical')", name=op.f('ck_alert_severity_known')),
    sa.ForeignKeyConstraint(['participant_id'], ['participant.id'], name=op.f('fk_alert_participant_id_participant')),
    sa.ForeignKeyConstraint(['payment_instruction_id'], ['payment_instruction.id'], name=op.f('fk_alert_payment_instruction_id_payment_instruction')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert')),
    sa.UniqueConstraint('dedup_key', name=op.f('uq_alert_dedup_key'))
    )
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_participant_id'), ['participant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_payment_instruction_id'), ['payment_instruction_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_payment_instruction_id'))
        batch_op.drop_index(batch_op.f('ix_alert_participant_id'))
    op.drop_table('alert')
    with op.batch_alter_table('payment_batch_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_batch_event_batch_id'))
    op.drop_table('payment_batch_event')
    with op.batch_alter_table('payment_instruction', schema=None) as batch_op:
        batch_op.drop_index('ix_payment_instruction_status_batch')
        batch_op.drop_index(batch_op.f('ix_payment_instruction_participant_id'))
        batch_op.drop_index(batch_op.f('ix_payment_instruction_batch_id'))
    op.drop_table('payment_instruction')
    with op.batch_alter_table('payment_batch', schema=None) as batch_op:
        batch_op.drop_index('ix_payment_batch_one_proposal')
        batch_op.drop_index(batch_op.f('ix_payment_batch_status'))
    op.drop_table('payment_batch')
