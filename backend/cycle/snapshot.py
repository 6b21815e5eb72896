"""What changed for a chunk's participants since the snapshot it was loaded in.

With more than one cycle process (backend.cycle.parallel) a chunk is loaded and
evaluated without the cycle lock and written under it. Everything the load reads is
append-only except the cycle's own cache: journal entries and postings, plan versions
and self-payment confirmations (database triggers refuse updates and deletes). So
"new rows after the highest id the snapshot saw" names every change, and `cycle_state`
rows are compared with what was loaded.

On SQLite a writer holds the database lock from its first insert to its commit, so ids
are handed out in commit order and the check is exact. On PostgreSQL an id is taken at
insert time: a transaction that started before the snapshot and commits after it can
carry a lower id. The cycle treats that as it treats any transaction committing while
a chunk is written under the lock (REPEATABLE READ): today's decision does not see it,
the cache notices it tomorrow (`postings_folded`) and folds it then.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from backend.cycle.loading import StateRow, member
from backend.models import (
    CycleState,
    JournalEntryRecord,
    LedgerAccount,
    PlanVersionRecord,
    PostingRecord,
    SelfPaymentConfirmation,
)

_IN_CHUNK = 500


@dataclass(frozen=True, slots=True)
class HighWaterMarks:
    """The highest ids a snapshot saw of the append-only tables the cycle reads."""

    journal_entry_id: int
    plan_version_id: int
    confirmation_id: int


def high_water_marks(session: Session) -> HighWaterMarks:
    def highest(column: InstrumentedAttribute[int]) -> int:
        return int(session.scalar(select(func.max(column))) or 0)

    return HighWaterMarks(
        journal_entry_id=highest(JournalEntryRecord.id),
        plan_version_id=highest(PlanVersionRecord.id),
        confirmation_id=highest(SelfPaymentConfirmation.id),
    )


def changed_since(
    session: Session,
    marks: HighWaterMarks,
    participant_ids: Sequence[int],
    loaded_states: dict[int, StateRow],
) -> set[int]:
    """Of `participant_ids`, those with a journal entry on their accounts, a plan
    version or a self-payment confirmation newer than `marks`, or whose cycle_state
    differs from `loaded_states` (another cycle wrote it)."""
    changed: set[int] = set()
    ids = sorted(participant_ids)
    for start in range(0, len(ids), _IN_CHUNK):
        chunk = ids[start : start + _IN_CHUNK]
        changed.update(
            session.scalars(
                select(LedgerAccount.participant_id)
                .join(PostingRecord, PostingRecord.account_id == LedgerAccount.id)
                .where(
                    member(session, LedgerAccount.participant_id, chunk),
                    PostingRecord.journal_entry_id > marks.journal_entry_id,
                )
                .distinct()
            )
        )
        changed.update(
            session.scalars(
                select(PlanVersionRecord.participant_id).where(
                    member(session, PlanVersionRecord.participant_id, chunk),
                    PlanVersionRecord.id > marks.plan_version_id,
                )
            )
        )
        changed.update(
            session.scalars(
                select(SelfPaymentConfirmation.participant_id).where(
                    member(session, SelfPaymentConfirmation.participant_id, chunk),
                    SelfPaymentConfirmation.id > marks.confirmation_id,
                )
            )
        )
        now: dict[int, tuple[dt.date, int, int]] = {
            participant_id: (as_of, int(through), int(folded))
            for participant_id, as_of, through, folded in session.execute(
                select(
                    CycleState.participant_id,
                    CycleState.as_of,
                    CycleState.through_entry_id,
                    CycleState.postings_folded,
                ).where(member(session, CycleState.participant_id, chunk))
            )
        }
        for participant_id in chunk:
            before = loaded_states.get(participant_id)
            after = now.get(participant_id)
            if (
                before and (before.as_of, before.through_entry_id, before.postings_folded)
            ) != after:
                changed.add(participant_id)
    return changed
