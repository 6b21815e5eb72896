"""Administration of accounts: list them, unlock a locked one."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel

from backend.access.dependencies import ID_MAX, require_permissions
from backend.access.policy import Principal
from backend.access.roles import Permission, Role, parse_roles
from backend.access.users import list_users, unlock_user
from backend.api.deps import DbSession
from backend.api.problem_docs import problem_responses
from backend.errors import NotFound
from backend.models import UserAccount

router = APIRouter(prefix="/api/admin", tags=["admin"])

UserAdmin = Annotated[Principal, Depends(require_permissions(Permission.USER_ADMIN))]


class UserOut(BaseModel):
    id: int
    username: str
    display_name: str
    roles: list[Role]
    participant_id: int | None
    active: bool
    locked_until: dt.datetime | None
    last_login_at: dt.datetime | None


def _user_out(account: UserAccount) -> UserOut:
    return UserOut(
        id=account.id,
        username=account.username,
        display_name=account.display_name,
        roles=sorted(parse_roles(account.roles or [])),
        participant_id=account.participant_id,
        active=account.active,
        locked_until=account.locked_until,
        last_login_at=account.last_login_at,
    )


@router.get(
    "/users",
    response_model=list[UserOut],
    summary="Admin: accounts",
    responses=problem_responses(401, 403),
)
def users(
    _admin: UserAdmin,
    session: DbSession,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[UserOut]:
    return [_user_out(account) for account in list_users(session, limit=limit, offset=offset)]


@router.post(
    "/users/{user_id}/unlock",
    response_model=UserOut,
    summary="Admin: lift a login lockout",
    responses=problem_responses(401, 403, 404),
)
def unlock(
    _admin: UserAdmin, session: DbSession, user_id: Annotated[int, Path(ge=1, le=ID_MAX)]
) -> UserOut:
    account = session.get(UserAccount, user_id)
    if account is None:
        raise NotFound(f"user {user_id} was not found")
    unlock_user(session, account)
    return _user_out(account)
