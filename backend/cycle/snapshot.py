"""What changed for a chunk's participants since the snapshot it was loaded in.

With more than one cycle process (backend.cycle.parallel) a chunk is loaded and
evaluated without the cycle lock and written under it. Everything the load reads of a
participant is append-only except the cycle's own cache: postings (through the kept
balances' counts), plan versions and self-payment confirmations (database triggers
refuse updates and deletes). So counting them per participant, in the snapshot and
again under the lock, names every change; `cycle_state` rows are compared as they are.

Counts, not "ids above the highest the snapshot saw": on PostgreSQL an id is taken at
insert time, so a transaction in flight when the snapshot was taken can commit a
lower id after it. A count is what the transaction sees, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.cycle.loading import member
from backend.models import (
    AccountBalance,
    CycleState,
    LedgerAccount,
    PlanVersionRecord,
    SelfPaymentConfirmation,
)

_IN_CHUNK = 500

# Per participant: postings, plan versions, confirmations, (as_of, through, folded).
InputsSeen = dict[int, tuple[int, int, int, tuple[dt.date, int, int] | None]]


def inputs_seen(session: Session, participant_ids: Sequence[int]) -> InputsSeen:
    """For each participant, how many postings, plan versions and self-payment
    confirmations the session sees, and their cycle_state's position."""
    counts: list[dict[int, int]] = [{}, {}, {}]  # postings, plan versions, confirmations
    states: dict[int, tuple[dt.date, int, int]] = {}
    ids = sorted(participant_ids)
    for start in range(0, len(ids), _IN_CHUNK):
        chunk = ids[start : start + _IN_CHUNK]
        queries = [
            select(LedgerAccount.participant_id, func.sum(AccountBalance.postings_count))
            .join(AccountBalance, AccountBalance.account_id == LedgerAccount.id)
            .where(member(session, LedgerAccount.participant_id, chunk))
            .group_by(LedgerAccount.participant_id),
            *(
                select(column, func.count()).where(member(session, column, chunk)).group_by(column)
                for column in (
                    PlanVersionRecord.participant_id,
                    SelfPaymentConfirmation.participant_id,
                )
            ),
        ]
        for found, query in zip(counts, queries, strict=True):
            found.update(
                (int(participant_id), int(count or 0))
                for participant_id, count in session.execute(query)
                if participant_id is not None
            )
        for participant_id, as_of, through, folded in session.execute(
            select(
                CycleState.participant_id,
                CycleState.as_of,
                CycleState.through_entry_id,
                CycleState.postings_folded,
            ).where(member(session, CycleState.participant_id, chunk))
        ):
            states[participant_id] = (as_of, int(through), int(folded))
    postings, versions, confirmations = counts
    return {
        participant_id: (
            postings.get(participant_id, 0),
            versions.get(participant_id, 0),
            confirmations.get(participant_id, 0),
            states.get(participant_id),
        )
        for participant_id in ids
    }


def changed_since(session: Session, before: InputsSeen, participant_ids: Sequence[int]) -> set[int]:
    """Of `participant_ids`, those whose inputs (`inputs_seen`) differ now from
    `before`: a posting, plan version or confirmation added, or a cycle_state that
    another cycle wrote."""
    now = inputs_seen(session, participant_ids)
    return {
        participant_id
        for participant_id in participant_ids
        if now.get(participant_id) != before.get(participant_id)
    }
