"""privacy: the hash-chained access log and the record of pseudonymisations

Both tables are append-only: database triggers refuse UPDATE and DELETE.

Revision ID: 0005_privacy
Revises: 0001
Create Date: 2026-11-28 20:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.models.base
from backend.models import privacy


revision: str = '0005_privacy'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
_TS = backend.models.base.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table('access_log',
    sa.Column('id', _ID, nullable=False),
    sa.Column('sequence', sa.BigInteger(), nullable=False),
    sa.Column('occurred_at', _TS, nullable=False),
    sa.Column('actor_user_id', sa.BigInteger(), nullable=True),
    sa.Column('actor_role', sa.String(length=40), nullable=False),
    sa.Column('participant_id', sa.BigInteger(), nullable=False),
    sa.Column('resource', sa.String(length=200), nullable=False),
    sa.Column('operation', sa.String(length=10), nullable=False),
    sa.Column('processing_activity', sa.String(length=60), nullable=False),
    sa.Column('trace_id', sa.String(length=32), nullable=False),
    sa.Column('operation_id', sa.String(length=16), nullable=False),
    sa.Column('previous_hash', sa.String(length=64), nullable=False),
    sa.Column('record_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_log')),
    sa.UniqueConstraint('sequence', name=op.f('uq_access_log_sequence')),
    sa.UniqueConstraint('record_hash', name=op.f('uq_access_log_record_hash'))
    )
    with op.batch_alter_table('access_log', schema=None) as batch_op:
        batch_op.create_index('ix_access_log_participant', ['participant_id', 'sequence'], unique=False)
        batch_op.create_index(batch_op.f('ix_access_log_trace_id'), ['trace_id'], unique=False)

    op.create_table('pseudonymisation',
    sa.Column('id', _ID, nullable=False),
    sa.Column('participant_id', _ID, nullable=False),
    sa.Column('ended_on', sa.Date(), nullable=False),
    sa.Column('term_years', sa.Integer(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('pseudonymised_at', _TS, nullable=False),
    sa.Column('trace_id', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['participant_id'], ['participant.id'], name=op.f('fk_pseudonymisation_participant_id_participant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pseudonymisation')),
    sa.UniqueConstraint('participant_id', name=op.f('uq_pseudonymisation_participant_id'))
    )
    for statement in privacy.guard_statements(op.get_bind().dialect.name, create=True):
        op.execute(statement)


def downgrade() -> None:
    for statement in privacy.guard_statements(op.get_bind().dialect.name, create=False):
        op.execute(statement)
    op.drop_table('pseudonymisation')
    with op.batch_alter_table('access_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_access_log_trace_id'))
        batch_op.drop_index('ix_access_log_participant')
    op.drop_table('access_log')
