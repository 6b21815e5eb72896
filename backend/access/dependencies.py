"""FastAPI dependencies that wire the policy layer into routes.

    user: CurrentUser                                   # any logged-in account
    user: Annotated[Principal, Depends(require_roles(Role.CASEWORKER))]
    user: Annotated[Principal, Depends(require_permissions(Permission.BANK_DATA))]
    participant: ReadableParticipant                    # {participant_id} in scope, else 404
    participant: Annotated[Participant, Depends(acting_for(Party.PARTICIPANT))]  # + 403

Scope and role are checked in dependencies, before the request body is read,
so a caller outside scope learns nothing from validation errors either.

Without a valid bearer token every route here answers 401 (problem+json).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from backend.access.policy import (
    Party,
    Principal,
    ensure_can_act_for_participant,
    ensure_can_read_participant,
    require_permission,
)
from backend.access.policy import require_role as _require_role
from backend.access.roles import Permission, Role
from backend.api.deps import DbSession
from backend.auth.service import principal_from_access_token
from backend.config import Settings
from backend.errors import Unauthorized
from backend.models import Participant

ID_MAX = 2**63 - 1

_bearer = OAuth2PasswordBearer(
    tokenUrl="/api/auth/token",
    refreshUrl="/api/auth/refresh",
    auto_error=False,
    description="Log in with POST /api/auth/token; send the access token as a bearer token.",
)


def app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


AppSettings = Annotated[Settings, Depends(app_settings)]


def get_current_user(
    session: DbSession,
    settings: AppSettings,
    token: Annotated[str | None, Depends(_bearer)],
) -> Principal:
    if not token:
        raise Unauthorized("log in first and send the access token as 'Authorization: Bearer ...'")
    # Reading a participant's data writes the access log in this transaction; on SQLite
    # take the write lock up front, so concurrent requests queue instead of failing.
    if session.get_transaction() is None:
        session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
    return principal_from_access_token(session, settings, token)


CurrentUser = Annotated[Principal, Depends(get_current_user)]


def require_roles(*roles: Role) -> Callable[[Principal], Principal]:
    """A dependency: the caller, if they have one of these roles; 403 otherwise."""

    def dependency(user: CurrentUser) -> Principal:
        _require_role(user, *roles)
        return user

    return dependency


def require_permissions(*permissions: Permission) -> Callable[[Principal], Principal]:
    """A dependency: the caller, if their roles grant every one of these permissions."""

    def dependency(user: CurrentUser) -> Principal:
        for permission in permissions:
            require_permission(user, permission)
        return user

    return dependency


ParticipantId = Annotated[int, Path(ge=1, le=ID_MAX, description="the participant's id")]


def readable_participant(
    participant_id: ParticipantId, user: CurrentUser, session: DbSession
) -> Participant:
    return ensure_can_read_participant(session, user, participant_id)


ReadableParticipant = Annotated[Participant, Depends(readable_participant)]


def acting_for(*parties: Party) -> Callable[[int, Principal, Session], Participant]:
    """A dependency: {participant_id} if the caller acts for them as one of these
    parties; 404 outside scope, 403 in scope but another party (or a household member)."""
    allowed = frozenset(parties)

    def dependency(
        participant_id: ParticipantId, user: CurrentUser, session: DbSession
    ) -> Participant:
        participant, _ = ensure_can_act_for_participant(
            session, user, participant_id, parties=allowed
        )
        return participant

    return dependency
