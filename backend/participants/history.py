"""A participant's movements: the journal entries touching their accounts,
newest first, each with its explanation and what it did to each of their accounts.

Keyset pagination on (booking_date, id): stable while new entries arrive, and
cheap at any depth (the covering posting index answers "which entries").
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from backend.errors import InvalidInput
from backend.models import JournalEntryRecord, LedgerAccount, PostingRecord
from ledger import AccountKind, AccountRef, holding_cents

MOVEMENTS_PER_PAGE_MAX = 200


@dataclass(frozen=True, slots=True)
class AccountChange:
    account_kind: AccountKind
    change_cents: int  # what the account holds more (positive) or less (negative)


@dataclass(frozen=True, slots=True)
class Movement:
    entry_id: int
    booking_date: dt.date
    reason_code: str
    explanation: str
    explanation_en: str
    reverses_entry_id: int | None
    changes: tuple[AccountChange, ...]


@dataclass(frozen=True, slots=True)
class MovementPage:
    movements: tuple[Movement, ...]
    next_cursor: str | None


def encode_cursor(booking_date: dt.date, entry_id: int) -> str:
    return base64.urlsafe_b64encode(f"{booking_date.isoformat()}|{entry_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[dt.date, int]:
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        day, entry_id = text.split("|")
        return dt.date.fromisoformat(day), int(entry_id)
    except (ValueError, binascii.Error, UnicodeDecodeError) as error:
        raise InvalidInput("cursor: not a cursor this service gave out") from error


def month_bounds(month: str) -> tuple[dt.date, dt.date]:
    """'2026-11' → (1 Nov, 1 Dec)."""
    try:
        first = dt.date.fromisoformat(f"{month}-01")
    except ValueError as error:
        raise InvalidInput("month: use YYYY-MM, e.g. 2026-11") from error
    following = dt.date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, following


QueryT = TypeVar("QueryT", bound=Select[*tuple[Any, ...]])


def participant_accounts(session: Session, participant_id: int) -> dict[int, AccountKind]:
    """The participant's ledger accounts: id → kind."""
    return {
        account_id: AccountKind(kind)
        for account_id, kind in session.execute(
            select(LedgerAccount.id, LedgerAccount.kind).where(
                LedgerAccount.participant_id == participant_id
            )
        )
    }


def newest_entries_first(
    query: QueryT,
    accounts: Iterable[int],
    *,
    month: str | None,
    cursor: str | None,
    limit: int,
) -> QueryT:
    """The journal entries touching these accounts, in `month` (YYYY-MM) and after
    `cursor`, newest first; one more than `limit`, so the caller knows there is more."""
    touching = (
        select(PostingRecord.journal_entry_id)
        .where(PostingRecord.account_id.in_(list(accounts)))
        .distinct()
    )
    query = query.where(JournalEntryRecord.id.in_(touching))
    if month is not None:
        first, following = month_bounds(month)
        query = query.where(
            JournalEntryRecord.booking_date >= first, JournalEntryRecord.booking_date < following
        )
    if cursor is not None:
        day, entry_id = decode_cursor(cursor)
        query = query.where(
            or_(
                JournalEntryRecord.booking_date < day,
                and_(JournalEntryRecord.booking_date == day, JournalEntryRecord.id < entry_id),
            )
        )
    return query.order_by(
        JournalEntryRecord.booking_date.desc(), JournalEntryRecord.id.desc()
    ).limit(limit + 1)


def participant_movements(
    session: Session,
    participant_id: int,
    *,
    limit: int,
    cursor: str | None = None,
    month: str | None = None,
) -> MovementPage:
    assert 0 < limit <= MOVEMENTS_PER_PAGE_MAX
    accounts = participant_accounts(session, participant_id)
    if not accounts:
        return MovementPage((), None)
    query = newest_entries_first(
        select(JournalEntryRecord), accounts, month=month, cursor=cursor, limit=limit
    )
    records = list(session.scalars(query))
    more = len(records) > limit
    records = records[:limit]
    sums: dict[int, dict[AccountKind, int]] = defaultdict(lambda: defaultdict(int))
    if records:
        for entry_id, account_id, amount in session.execute(
            select(
                PostingRecord.journal_entry_id, PostingRecord.account_id, PostingRecord.amount_cents
            ).where(
                PostingRecord.journal_entry_id.in_([record.id for record in records]),
                PostingRecord.account_id.in_(list(accounts)),
            )
        ):
            sums[entry_id][accounts[account_id]] += amount
    movements = tuple(
        Movement(
            entry_id=record.id,
            booking_date=record.booking_date,
            reason_code=record.reason_code,
            explanation=record.explanation,
            explanation_en=record.explanation_en,
            reverses_entry_id=record.reverses_entry_id,
            changes=tuple(
                AccountChange(
                    kind,
                    holding_cents(AccountRef.of_participant(participant_id, kind), raw),
                )
                for kind, raw in sorted(sums[record.id].items())
                if raw != 0
            ),
        )
        for record in records
    )
    next_cursor = encode_cursor(records[-1].booking_date, records[-1].id) if more else None
    return MovementPage(movements, next_cursor)
