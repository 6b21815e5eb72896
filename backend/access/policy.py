"""The policy layer: every "may this person see or do this?" is answered here.

Two kinds of question:
- role and permission: may this person use this function at all (finance
  queue, access log, user administration)? Refused with 403.
- scope: may this person see this participant? A participant sees their own
  household; a caseworker the participants on their caseload; nobody else
  sees participant pages. Outside scope the answer is 404, exactly as for a
  participant that does not exist, so an id reveals nothing.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.access.roles import ROLE_PERMISSIONS, Permission, Role, parse_roles
from backend.errors import Forbidden, NotFound
from backend.models import CaseloadAssignment, Participant, UserAccount
from backend.privacy_store.access_log import note_access
from privacy.activities import SUBJECT_ACCESS, ProcessingActivity

PARTICIPANT_NOT_FOUND = "participant {participant_id} was not found"


class Party(enum.StrEnum):
    """The side someone acts on in co-decision."""

    PARTICIPANT = "participant"
    CASEWORKER = "caseworker"
    FINANCE = "finance"


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller, as loaded from the database for this request."""

    user_id: int
    username: str
    display_name: str
    roles: frozenset[Role]
    participant_id: int | None = None

    @classmethod
    def from_account(cls, account: UserAccount) -> Principal:
        roles = parse_roles(account.roles or [])
        return cls(
            user_id=account.id,
            username=account.username,
            display_name=account.display_name,
            roles=roles,
            participant_id=account.participant_id if Role.PARTICIPANT in roles else None,
        )

    @property
    def permissions(self) -> frozenset[Permission]:
        granted: set[Permission] = set()
        for role in self.roles:
            granted |= ROLE_PERMISSIONS[role]
        return frozenset(granted)


def has_role(principal: Principal, *roles: Role) -> bool:
    return any(role in principal.roles for role in roles)


def require_role(principal: Principal, *roles: Role) -> None:
    if not has_role(principal, *roles):
        names = " or ".join(str(role) for role in roles)
        raise Forbidden(f"this needs the role {names}")


def has_permission(principal: Principal, permission: Permission) -> bool:
    return permission in principal.permissions


def require_permission(principal: Principal, permission: Permission) -> None:
    if not has_permission(principal, permission):
        raise Forbidden(f"your role does not allow this ({permission})")


def caseload_participant_ids(session: Session, caseworker_id: int) -> frozenset[int]:
    return frozenset(
        session.scalars(
            select(CaseloadAssignment.participant_id).where(
                CaseloadAssignment.caseworker_id == caseworker_id
            )
        )
    )


def _household_participant_ids(session: Session, participant_id: int) -> frozenset[int]:
    household_id = select(Participant.household_id).where(Participant.id == participant_id)
    return frozenset(
        session.scalars(
            select(Participant.id).where(Participant.household_id == household_id.scalar_subquery())
        )
    )


def visible_participant_ids(session: Session, principal: Principal) -> frozenset[int]:
    """Every participant this person may see: own household and/or caseload."""
    visible: set[int] = set()
    if Role.PARTICIPANT in principal.roles and principal.participant_id is not None:
        visible |= _household_participant_ids(session, principal.participant_id)
    if Role.CASEWORKER in principal.roles:
        visible |= caseload_participant_ids(session, principal.user_id)
    return frozenset(visible)


def _on_caseload(session: Session, principal: Principal, participant_id: int) -> bool:
    if Role.CASEWORKER not in principal.roles:
        return False
    found = session.scalar(
        select(CaseloadAssignment.id).where(
            CaseloadAssignment.caseworker_id == principal.user_id,
            CaseloadAssignment.participant_id == participant_id,
        )
    )
    return found is not None


def _may_read_participant(session: Session, principal: Principal, participant_id: int) -> bool:
    own = principal.participant_id
    if Role.PARTICIPANT in principal.roles and own is not None:
        if own == participant_id:
            return True
        if participant_id in _household_participant_ids(session, own):
            return True
    return _on_caseload(session, principal, participant_id)


def can_read_participant(session: Session, principal: Principal, participant_id: int) -> bool:
    """May this person see this participant? A yes is recorded in the access log."""
    allowed = _may_read_participant(session, principal, participant_id)
    if allowed:
        record_participant_access(session, principal, participant_id)
    return allowed


def _access_role(principal: Principal, participant_id: int) -> str:
    if Role.PARTICIPANT in principal.roles and principal.participant_id is not None:
        return "participant" if principal.participant_id == participant_id else "household_member"
    if Role.CASEWORKER in principal.roles:
        return str(Role.CASEWORKER)
    return "+".join(sorted(str(role) for role in principal.roles)) or "none"


def record_participant_access(
    session: Session,
    principal: Principal,
    participant_id: int,
    *,
    activity: ProcessingActivity | None = None,
) -> None:
    """Every read or change of a participant's data is granted here, and logged here:
    who (account, role), whose (participant), what and how (the route and method of
    the request), why (the processing activity), in the same transaction as the data."""
    note_access(
        session,
        actor_user_id=principal.user_id,
        actor_role=_access_role(principal, participant_id),
        participant_id=participant_id,
        activity=activity,
    )


def record_participants_shown(
    session: Session, principal: Principal, participant_ids: Iterable[int]
) -> None:
    """Names shown outside a participant's own pages (finance's suspense suggestions
    name who an unknown payment may be for): logged like any other read."""
    for participant_id in sorted(set(participant_ids)):
        record_participant_access(session, principal, participant_id)


def ensure_can_read_participant(
    session: Session, principal: Principal, participant_id: int
) -> Participant:
    """The participant, or NotFound (404) when it does not exist *or* is out of scope."""
    participant = None
    if _may_read_participant(session, principal, participant_id):
        participant = session.get(Participant, participant_id)
    if participant is None:
        raise NotFound(PARTICIPANT_NOT_FOUND.format(participant_id=participant_id))
    record_participant_access(session, principal, participant_id)
    return participant


def ensure_can_see_inzage(
    session: Session, principal: Principal, participant_id: int
) -> Participant:
    """Inzage (AVG art. 15): everything held about a participant, for the participant
    themself or the privacy officer handling their request. 404 outside scope;
    403 in scope but someone else (a household member, the caseworker)."""
    own = Role.PARTICIPANT in principal.roles and principal.participant_id == participant_id
    if own or has_permission(principal, Permission.SUBJECT_ACCESS_REQUESTS):
        participant = session.get(Participant, participant_id)
        if participant is None:
            raise NotFound(PARTICIPANT_NOT_FOUND.format(participant_id=participant_id))
        record_participant_access(session, principal, participant_id, activity=SUBJECT_ACCESS)
        return participant
    if _may_read_participant(session, principal, participant_id):
        raise Forbidden("only the participant themself or the privacy officer can see this")
    raise NotFound(PARTICIPANT_NOT_FOUND.format(participant_id=participant_id))


def party_for(session: Session, principal: Principal, participant_id: int) -> Party | None:
    """The side this person acts on for this participant: the participant
    themself, or their caseworker; None otherwise (household members read only)."""
    if Role.PARTICIPANT in principal.roles and principal.participant_id == participant_id:
        return Party.PARTICIPANT
    if _on_caseload(session, principal, participant_id):
        return Party.CASEWORKER
    return None


ACTING_PARTIES = frozenset({Party.PARTICIPANT, Party.CASEWORKER})


def ensure_can_act_for_participant(
    session: Session,
    principal: Principal,
    participant_id: int,
    *,
    parties: frozenset[Party] = ACTING_PARTIES,
) -> tuple[Participant, Party]:
    """404 outside scope; 403 in scope but not one of the parties that may do this."""
    participant = ensure_can_read_participant(session, principal, participant_id)
    party = party_for(session, principal, participant_id)
    if party is None or party not in parties:
        allowed = " or ".join(sorted(str(item) for item in parties))
        raise Forbidden(f"only the {allowed} can do this for participant {participant_id}")
    return participant, party
