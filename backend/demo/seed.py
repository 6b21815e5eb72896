"""Demo data: a small municipality with a few participants and some history.

Each participant gets a real plan (backend.demo.plans: Anna's is the one in
MONEY-FLOW.md); their incomes arrive day by day and the daily cycle runs for every
day up to `today`, so the demo shows reservations, payments, the buffer and living
money as the service makes them.

Idempotent: every object is looked up before it is created, every journal entry
has a fixed idempotency key and the cycle only runs days it has not run, so
seeding twice changes nothing. All names, BSNs and IBANs are fictitious (BSNs
pass the 11-proef only).
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.access.roles import Role
from backend.access.users import assign_caseload, create_user, find_user
from backend.auth.passwords import hash_password
from backend.demo.plans import plan_start, seed_plans_and_history
from backend.models import Household, Participant
from backend.municipality.service import add_bank_account, ensure_system_accounts
from backend.participants.service import (
    create_household,
    create_participant,
    find_participant_by_bsn,
)
from privacy import FieldCipher

MUNICIPAL_IBAN = "NL84BNGH0285050123"
MUNICIPAL_ACCOUNT_NAME = "Gemeente Utrecht Budgetbeheer"
DEMO_USER = "demo-seed"


@dataclass(frozen=True)
class DemoParticipant:
    username: str
    display_name: str
    bsn: str
    own_iban: str
    household: str


ANNA = DemoParticipant(
    username="anna",
    display_name="Anna de Vries",
    bsn="111222333",
    own_iban="NL32INGB0007777777",
    household="Huishouden De Vries",
)
BRAM = DemoParticipant(
    username="bram",
    display_name="Bram Jansen",
    bsn="123456782",
    own_iban="NL81RABO0309876543",
    household="Huishouden Jansen",
)
ZOE = DemoParticipant(
    username="zoe",
    display_name="Zoë IJzerman",
    bsn="100000009",
    own_iban="NL79INGB0002468024",
    household="Huishouden IJzerman",
)
DEMO_PARTICIPANTS = (ANNA, BRAM, ZOE)


@dataclass(frozen=True)
class DemoUser:
    username: str
    display_name: str
    role: Role
    participant: str | None = None  # DemoParticipant.username, for participant accounts
    caseload: tuple[str, ...] = ()  # DemoParticipant.usernames, for caseworkers


# Demo mode only; every password is "demo" (README: demo accounts).
DEMO_PASSWORD = "demo"  # noqa: S105 - public, demo mode only
DEMO_USERS = (
    DemoUser("anna", "Anna de Vries", Role.PARTICIPANT, participant="anna"),
    DemoUser("bram", "Bram Jansen", Role.PARTICIPANT, participant="bram"),
    DemoUser("carla", "Carla Bakker (budgetcoach)", Role.CASEWORKER, caseload=("anna", "bram")),
    DemoUser("chris", "Chris Visser (budgetcoach)", Role.CASEWORKER),
    DemoUser("fenna", "Fenna de Boer (financiën)", Role.FINANCE),
    DemoUser("frank", "Frank Smit (financiën)", Role.FINANCE),
    DemoUser("priya", "Priya Ramdin (FG)", Role.PRIVACY_OFFICER),
    DemoUser("admin", "Beheerder", Role.ADMIN),
)


@dataclass
class SeedResult:
    participants_created: int = 0
    journal_entries_created: int = 0
    users_created: int = 0


def seed_demo(session: Session, cipher: FieldCipher, *, today: dt.date) -> SeedResult:
    """Only for demo mode: the accounts it makes have the public password "demo"."""
    result = SeedResult()
    add_bank_account(session, iban=MUNICIPAL_IBAN, name=MUNICIPAL_ACCOUNT_NAME, bic="BNGHNL2G")
    ensure_system_accounts(session)
    participants: dict[str, Participant] = {}
    for demo in DEMO_PARTICIPANTS:
        participant = find_participant_by_bsn(session, cipher, demo.bsn)
        if participant is None:
            participant = _create(session, cipher, demo, today)
            result.participants_created += 1
        participants[demo.username] = participant
    result.users_created = _seed_users(
        session, {username: participant.id for username, participant in participants.items()}
    )
    result.journal_entries_created = seed_plans_and_history(
        session, participants, municipal_iban=MUNICIPAL_IBAN, today=today, created_by=DEMO_USER
    )
    return result


@functools.lru_cache(maxsize=1)
def _demo_password_hash() -> str:
    # One argon2 hash for all demo accounts: hashing is deliberately slow.
    return hash_password(DEMO_PASSWORD)


def _seed_users(session: Session, participant_ids: dict[str, int]) -> int:
    """Demo accounts and carla's caseload; existing accounts are left as they are."""
    created = 0
    for demo in DEMO_USERS:
        account = find_user(session, demo.username)
        if account is None:
            account = create_user(
                session,
                username=demo.username,
                display_name=demo.display_name,
                roles=[demo.role],
                password_hash=_demo_password_hash(),
                participant_id=participant_ids[demo.participant] if demo.participant else None,
            )
            created += 1
        for name in demo.caseload:
            assign_caseload(
                session,
                caseworker=account,
                participant_id=participant_ids[name],
                assigned_by=DEMO_USER,
            )
    return created


def _create(
    session: Session, cipher: FieldCipher, demo: DemoParticipant, today: dt.date
) -> Participant:
    household = session.scalar(select(Household).where(Household.name == demo.household))
    if household is None:
        household = create_household(session, name=demo.household)
    started_on = plan_start(today)
    participant = create_participant(
        session,
        cipher,
        household_id=household.id,
        display_name=demo.display_name,
        bsn=demo.bsn,
        own_iban=demo.own_iban,
        started_on=started_on,
    )
    session.flush()
    return participant
