"""Who is acting: the one place that checks a finance user by name.

The CLI's `--user NAME` and the interim API header both come here. Today it reads
the access layer's `user_account` table (migration 0003_access: `username`,
`roles` as a JSON list, `active`, `locked_until`); when that table does not exist
every name is refused. Switching to the policy layer means changing this module
only.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from sqlalchemy import inspect, text
from sqlalchemy.orm import Session

from backend.errors import Forbidden, Unauthorized
from backend.models.base import utcnow

FINANCE_ROLE = "finance"


@dataclass(frozen=True, slots=True)
class FinanceUser:
    username: str
    user_id: int
    # The logged-in principal (API routes); None for the CLI. Reads of participants'
    # payments are access-logged through it.
    principal: object | None = None


def resolve_finance_user(session: Session, name: str | None) -> FinanceUser:
    """The active finance user called `name`, or Unauthorized/Forbidden saying why not."""
    username = (name or "").strip()
    if not username:
        raise Unauthorized("name the acting finance user (--user NAME)")
    if not inspect(session.connection()).has_table("user_account"):
        raise Unauthorized(
            "there are no user accounts yet (migration 0003_access); "
            "a finance user must exist before payments can be handled"
        )
    row = session.execute(
        text(
            "SELECT id, username, roles, active, locked_until FROM user_account "
            "WHERE username = :username"
        ),
        {"username": username},
    ).one_or_none()
    if row is None:
        raise Unauthorized(f"there is no user {username!r}")
    roles = row.roles
    if isinstance(roles, str):
        roles = json.loads(roles)
    if not row.active:
        raise Unauthorized(f"user {username!r} is not active")
    locked_until = _as_utc(row.locked_until)
    if locked_until is not None and locked_until > utcnow():
        raise Unauthorized(f"user {username!r} is locked")
    if FINANCE_ROLE not in (roles or []):
        raise Forbidden(f"user {username!r} is not a finance user")
    return FinanceUser(username=row.username, user_id=int(row.id))


def _as_utc(value: object) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if not isinstance(value, dt.datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
