"""Transacties: every ledger movement of a participant, newest first, as a resident reads it.

Per journal entry touching the participant's accounts:
- the plain-language reason the entry was booked with (Dutch or English);
- the direction: money in (+), money out (−) or moved between the resident's
  own pots (reserved for a bill, into the buffer). Decided by what the entry
  does to available + reserved + buffer: money on its way out (`payable`) has
  left those pots already, the municipal advance (`buffer_advance`) is not the
  resident's money;
- a status: gepland (a payment instructed, not yet seen at the bank), betaald,
  teruggekomen (returned or refused by the bank), or geboekt;
- its kind, for the filter: income, fixed costs, living money, buffer, other.

Keyset pagination on (booking_date, id) like backend.participants.history, with
filters on month and kind; two queries per page (entries, then their postings
and payment instructions), whatever the depth.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from backend.models import JournalEntryRecord, LedgerAccount, PaymentInstruction, PostingRecord
from backend.participants.history import (
    encode_cursor,
    newest_entries_first,
    participant_accounts,
)
from ledger import AccountKind, AccountRef, holding_cents

PAGE_SIZE_DEFAULT = 25
PAGE_SIZE_MAX = 100
OWN_POTS = (AccountKind.AVAILABLE, AccountKind.RESERVED, AccountKind.BUFFER, AccountKind.SAVINGS)


class MovementKind(enum.StrEnum):
    INCOME = "income"
    FIXED_COSTS = "fixed_costs"
    LIVING_MONEY = "living_money"
    BUFFER = "buffer"
    OTHER = "other"


# Reason-code prefixes per kind (reason codes are "<area>.<what>").
_PREFIXES: dict[MovementKind, tuple[str, ...]] = {
    MovementKind.INCOME: ("income.", "suspense."),
    MovementKind.FIXED_COSTS: ("fixed_cost.",),
    MovementKind.LIVING_MONEY: ("living_money.",),
    MovementKind.BUFFER: ("buffer.", "advance."),
}


def kind_of(reason_code: str) -> MovementKind:
    for kind, prefixes in _PREFIXES.items():
        if reason_code.startswith(prefixes):
            return kind
    return MovementKind.OTHER


class Direction(enum.StrEnum):
    IN = "in"
    OUT = "out"
    MOVED = "moved"  # between the resident's own pots
    TRANSIT = "transit"  # already on its way out: sent to or through the bank


class Status(enum.StrEnum):
    PLANNED = "planned"  # gepland
    PAID = "paid"  # betaald
    RETURNED = "returned"  # teruggekomen
    BOOKED = "booked"  # geboekt
    CANCELLED = "cancelled"  # geannuleerd


_INSTRUCTION_STATUS = {
    "payable": Status.PLANNED,
    "batched": Status.PLANNED,
    "exported": Status.PLANNED,
    "settled": Status.PAID,
    "returned": Status.RETURNED,
    "rejected": Status.RETURNED,
    "cancelled": Status.CANCELLED,
}


@dataclass(frozen=True, slots=True)
class MovementRow:
    entry_id: int
    booking_date: dt.date
    reason_code: str
    explanation_nl: str
    explanation_en: str
    kind: MovementKind
    direction: Direction
    amount_cents: int  # signed for in/out; the amount moved for "moved"
    status: Status
    is_reversal: bool

    def explanation(self, lang: str) -> str:
        return self.explanation_en if lang == "en" and self.explanation_en else self.explanation_nl


@dataclass(frozen=True, slots=True)
class MovementPage:
    rows: tuple[MovementRow, ...]
    next_cursor: str | None


def _kind_filter(kind: MovementKind) -> ColumnElement[bool]:
    if kind is MovementKind.OTHER:
        return and_(
            *(
                ~JournalEntryRecord.reason_code.startswith(prefix, autoescape=True)
                for prefixes in _PREFIXES.values()
                for prefix in prefixes
            )
        )
    return or_(
        *(
            JournalEntryRecord.reason_code.startswith(prefix, autoescape=True)
            for prefix in _PREFIXES[kind]
        )
    )


def _direction(changes: dict[AccountKind, int]) -> tuple[Direction, int]:
    net = sum(changes.get(kind, 0) for kind in OWN_POTS)
    if not any(changes.get(kind, 0) for kind in OWN_POTS) and changes.get(AccountKind.PAYABLE):
        return Direction.TRANSIT, abs(changes[AccountKind.PAYABLE])
    if net > 0:
        return Direction.IN, net
    if net < 0:
        return Direction.OUT, net
    moved = sum(cents for cents in changes.values() if cents > 0)
    if moved == 0:
        moved = sum(-cents for cents in changes.values() if cents < 0)
    return Direction.MOVED, moved


def movements(
    session: Session,
    participant_id: int,
    *,
    limit: int = PAGE_SIZE_DEFAULT,
    cursor: str | None = None,
    month: str | None = None,
    kind: MovementKind | None = None,
) -> MovementPage:
    assert 0 < limit <= PAGE_SIZE_MAX
    accounts = participant_accounts(session, participant_id)
    if not accounts:
        return MovementPage((), None)
    query = select(
        JournalEntryRecord.id,
        JournalEntryRecord.booking_date,
        JournalEntryRecord.reason_code,
        JournalEntryRecord.explanation,
        JournalEntryRecord.explanation_en,
        JournalEntryRecord.reverses_entry_id,
    )
    if kind is not None:
        query = query.where(_kind_filter(kind))
    records = list(
        session.execute(
            newest_entries_first(query, accounts, month=month, cursor=cursor, limit=limit)
        )
    )
    more = len(records) > limit
    records = records[:limit]
    ids = [record.id for record in records]
    changes: dict[int, dict[AccountKind, int]] = defaultdict(lambda: defaultdict(int))
    statuses: dict[int, str] = {}
    if ids:
        for entry_id, account_id, amount in session.execute(
            select(
                PostingRecord.journal_entry_id, PostingRecord.account_id, PostingRecord.amount_cents
            ).where(
                PostingRecord.journal_entry_id.in_(ids),
                PostingRecord.account_id.in_(list(accounts)),
            )
        ):
            account_kind = accounts[account_id]
            changes[entry_id][account_kind] += holding_cents(
                AccountRef.of_participant(participant_id, account_kind), amount
            )
        statuses = {
            int(entry_id): str(status)
            for entry_id, status in session.execute(
                select(PaymentInstruction.payable_entry_id, PaymentInstruction.status).where(
                    PaymentInstruction.payable_entry_id.in_(ids)
                )
            )
        }
    rows = tuple(_row(record, changes[record.id], statuses.get(record.id)) for record in records)
    next_cursor = encode_cursor(records[-1].booking_date, records[-1].id) if more else None
    return MovementPage(rows, next_cursor)


def _row(
    record: Sequence[object], changes: dict[AccountKind, int], instruction: str | None
) -> MovementRow:
    entry_id, booking_date, reason_code, explanation, explanation_en, reverses = record
    assert isinstance(entry_id, int) and isinstance(booking_date, dt.date)
    direction, amount = _direction(changes)
    reason = str(reason_code)
    if instruction is not None:
        status = _INSTRUCTION_STATUS.get(instruction, Status.PLANNED)
    elif reason.endswith((".returned", ".rejected")):
        status = Status.RETURNED
    else:
        status = Status.BOOKED
    return MovementRow(
        entry_id=entry_id,
        booking_date=booking_date,
        reason_code=reason,
        explanation_nl=str(explanation),
        explanation_en=str(explanation_en or ""),
        kind=kind_of(reason),
        direction=direction,
        amount_cents=amount,
        status=status,
        is_reversal=reverses is not None,
    )


def months_with_movements(session: Session, participant_id: int, *, limit: int = 36) -> list[str]:
    """'YYYY-MM' of the months that have movements, newest first (for the filter)."""
    touching = (
        select(PostingRecord.journal_entry_id)
        .join(LedgerAccount, LedgerAccount.id == PostingRecord.account_id)
        .where(LedgerAccount.participant_id == participant_id)
    )
    days = session.scalars(
        select(JournalEntryRecord.booking_date)
        .where(JournalEntryRecord.id.in_(touching))
        .distinct()
        .order_by(JournalEntryRecord.booking_date.desc())
    )
    seen: list[str] = []
    for day in days:
        label = f"{day.year:04d}-{day.month:02d}"
        if label not in seen:
            seen.append(label)
            if len(seen) >= limit:
                break
    return seen
