"""Key rotation: re-encrypt every protected value still under an old key id.

How to rotate (no downtime for reads):
1. Generate a new key; on every server set it as HUISHOUDBOEKJE_FIELD_KEY with a new
   HUISHOUDBOEKJE_FIELD_KEY_ID, and move the old key into HUISHOUDBOEKJE_FIELD_OLD_KEYS.
   Servers now write with the new key and still read the old values.
2. Run `huishoudboekje privacy rotate-keys`: batches of rows are re-encrypted and
   committed one batch at a time; a row is only rewritten if it still holds the
   value that was read (a concurrent change wins, and is already under the new key).
3. When the report says no value remains under the old key id, remove it from
   HUISHOUDBOEKJE_FIELD_OLD_KEYS.

The blind index does not change: it uses the index key, which is not rotated here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, func, select, update
from sqlalchemy.orm import Session

from backend.models import Participant
from backend.participants.service import BSN_CONTEXT
from privacy.fields import TOMBSTONE_PREFIX, FieldCipher, FieldCipherError

BATCH_ROWS_DEFAULT = 500
BATCH_ROWS_MAX = 10_000


@dataclass(frozen=True, slots=True)
class ProtectedColumn:
    """A column holding FieldCipher tokens, with the context they were encrypted under."""

    table: Table
    column: str
    context: str

    @property
    def name(self) -> str:
        return f"{self.table.name}.{self.column}"


PROTECTED_COLUMNS: tuple[ProtectedColumn, ...] = (
    ProtectedColumn(Participant.__table__, "bsn_encrypted", BSN_CONTEXT),  # type: ignore[arg-type]
)


@dataclass
class BatchResult:
    last_id: int | None  # None: nothing left after the starting point
    rotated: int = 0
    changed_meanwhile: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)


def rotate_batch(
    session: Session,
    cipher: FieldCipher,
    protected: ProtectedColumn,
    *,
    after_id: int,
    batch_rows: int = BATCH_ROWS_DEFAULT,
) -> BatchResult:
    """Re-encrypt up to `batch_rows` values under another key than the current one."""
    assert 0 < batch_rows <= BATCH_ROWS_MAX
    table = protected.table
    key = table.c.id
    column = table.c[protected.column]
    rows = session.execute(
        select(key, column)
        .where(
            key > after_id,
            column.not_like(f"v1.{cipher.current_key_id}.%"),
            column.not_like(f"{TOMBSTONE_PREFIX}%"),
        )
        .order_by(key)
        .limit(batch_rows)
    ).all()
    if not rows:
        return BatchResult(last_id=None)
    result = BatchResult(last_id=int(rows[-1][0]))
    for row_id, token in rows:
        try:
            fresh = cipher.reencrypt(token, context=protected.context)
        except FieldCipherError as error:
            # The message names the key id or the failure, never the value.
            result.failed.append({"table": table.name, "id": int(row_id), "reason": str(error)})
            continue
        changed = session.execute(
            update(table).where(key == row_id, column == token).values({protected.column: fresh})
        )
        if changed.rowcount:  # type: ignore[attr-defined]
            result.rotated += 1
        else:
            result.changed_meanwhile += 1
    session.flush()
    return result


def values_by_key_id(session: Session, cipher: FieldCipher) -> dict[str, dict[str, int]]:
    """Per protected column: how many values each configured key id still protects."""
    counts: dict[str, dict[str, int]] = {}
    for protected in PROTECTED_COLUMNS:
        column = protected.table.c[protected.column]
        per_key = {
            key_id: int(
                session.scalar(
                    select(func.count())
                    .select_from(protected.table)
                    .where(column.like(f"v1.{key_id}.%"))
                )
                or 0
            )
            for key_id in sorted(cipher.key_ids)
        }
        per_key["tombstone"] = int(
            session.scalar(
                select(func.count())
                .select_from(protected.table)
                .where(column.like(f"{TOMBSTONE_PREFIX}%"))
            )
            or 0
        )
        total = int(session.scalar(select(func.count()).select_from(protected.table)) or 0)
        per_key["unknown_key"] = total - sum(per_key.values())
        counts[protected.name] = per_key
    return counts
