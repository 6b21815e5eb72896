"""Accounts and caseloads: creating, assigning, unlocking. Services only flush."""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.access.roles import Role
from backend.auth.service import USERNAME_LENGTH_MAX, normalise_username
from backend.errors import Conflict, InvalidInput, NotFound
from backend.models import CaseloadAssignment, Participant, UserAccount

ROLES_PER_USER_MAX = 5
_USERNAME = re.compile(rf"[a-z0-9][a-z0-9._-]{{0,{USERNAME_LENGTH_MAX - 1}}}")


def find_user(session: Session, username: str) -> UserAccount | None:
    return session.scalar(
        select(UserAccount).where(UserAccount.username == normalise_username(username))
    )


def require_user(session: Session, username: str) -> UserAccount:
    account = find_user(session, username)
    if account is None:
        raise NotFound(f"there is no account {username!r}")
    return account


def create_user(
    session: Session,
    *,
    username: str,
    display_name: str,
    roles: Iterable[Role],
    password_hash: str | None,
    participant_id: int | None = None,
    external_subject: str | None = None,
) -> UserAccount:
    name = normalise_username(username)
    if not _USERNAME.fullmatch(name):
        raise InvalidInput(
            f"username {username!r}: 1 to {USERNAME_LENGTH_MAX} of a-z, 0-9, '.', '-', '_'"
        )
    role_set = sorted(set(roles))
    if not role_set or len(role_set) > ROLES_PER_USER_MAX:
        raise InvalidInput("an account needs at least one role")
    if (Role.PARTICIPANT in role_set) != (participant_id is not None):
        raise InvalidInput("a participant account needs --participant-id, and only it has one")
    if participant_id is not None:
        if session.get(Participant, participant_id) is None:
            raise NotFound(f"participant {participant_id} does not exist")
        taken = session.scalar(
            select(UserAccount.username).where(UserAccount.participant_id == participant_id)
        )
        if taken is not None:
            raise Conflict(f"participant {participant_id} already has the account {taken!r}")
    if find_user(session, name) is not None:
        raise Conflict(f"the username {name!r} is taken")
    if password_hash is None and external_subject is None:
        raise InvalidInput("an account needs a password or an OpenID Connect subject")
    account = UserAccount(
        username=name,
        display_name=display_name.strip() or name,
        password_hash=password_hash,
        roles=[str(role) for role in role_set],
        participant_id=participant_id,
        external_subject=external_subject,
        active=True,
        failed_login_count=0,
    )
    session.add(account)
    session.flush()
    return account


def assign_caseload(
    session: Session, *, caseworker: UserAccount, participant_id: int, assigned_by: str
) -> tuple[CaseloadAssignment, bool]:
    """Put a participant on a caseworker's caseload; (assignment, created). Idempotent."""
    if str(Role.CASEWORKER) not in (caseworker.roles or []):
        raise InvalidInput(f"{caseworker.username!r} is not a caseworker")
    if session.get(Participant, participant_id) is None:
        raise NotFound(f"participant {participant_id} does not exist")
    existing = session.scalar(
        select(CaseloadAssignment).where(
            CaseloadAssignment.caseworker_id == caseworker.id,
            CaseloadAssignment.participant_id == participant_id,
        )
    )
    if existing is not None:
        return existing, False
    assignment = CaseloadAssignment(
        caseworker_id=caseworker.id, participant_id=participant_id, assigned_by=assigned_by
    )
    session.add(assignment)
    session.flush()
    return assignment, True


def unlock_user(session: Session, account: UserAccount) -> None:
    account.failed_login_count = 0
    account.locked_until = None
    session.flush()


def list_users(session: Session, *, limit: int, offset: int) -> list[UserAccount]:
    return list(
        session.scalars(select(UserAccount).order_by(UserAccount.id).limit(limit).offset(offset))
    )
