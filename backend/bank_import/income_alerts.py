"""Income that arrives resolves the "verwacht inkomen ontbreekt" alert about it.

The rules engine raises `income_missing` once per (income agreement, expected date),
with the key `rules:<participant>:alert.income_missing:<agreement>:<date>` (the
cycle stores it as `alert.dedup_key`). When that income is booked after all, by the
import's matching or by finance assigning a suspense entry to the agreement, the
alert is resolved: the caseworker's werkvoorraad no longer lists work that is done.
An alert is never deleted; `resolved_by` says what resolved it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import update
from sqlalchemy.orm import Session

from backend.models import Alert
from backend.models.base import utcnow
from rules import AlertKind

RESOLVED_BY_LENGTH_MAX = 100
_CHUNK = 500


def income_missing_key(participant_id: int, agreement_id: str, expected: dt.date) -> str:
    """The dedup key the rules engine gives the income_missing alert (rules.engine)."""
    return f"rules:{participant_id}:alert.{AlertKind.INCOME_MISSING}:{agreement_id}:{expected}"


def resolve_income_missing(
    session: Session,
    received: Iterable[tuple[int, str, dt.date]],
    *,
    resolved_by: str,
    now: dt.datetime | None = None,
) -> int:
    """Resolve the open income_missing alerts of (participant, agreement, expected date)
    incomes that have now been booked. Returns how many were resolved."""
    keys = sorted({income_missing_key(*item) for item in received})
    moment = now or utcnow()
    resolved = 0
    for start in range(0, len(keys), _CHUNK):
        result = session.execute(
            update(Alert)
            .where(Alert.dedup_key.in_(keys[start : start + _CHUNK]), Alert.resolved_at.is_(None))
            .values(resolved_at=moment, resolved_by=resolved_by[:RESOLVED_BY_LENGTH_MAX])
            .execution_options(synchronize_session=False)
        )
        resolved += int(result.rowcount or 0)  # type: ignore[attr-defined]
    return resolved
