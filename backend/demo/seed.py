"""Demo data: a small municipality with a few participants and some history.

Idempotent: every object is looked up before it is created and every journal
entry has a fixed idempotency key, so seeding twice changes nothing.
All names, BSNs and IBANs are fictitious (BSNs pass the 11-proef only).
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
from backend.counterparties.service import get_or_create_counterparty
from backend.ledger_store import post_entries
from backend.models import Agreement, Household, Participant
from backend.municipality.service import add_bank_account, ensure_system_accounts
from backend.participants.service import (
    create_household,
    create_participant,
    find_participant_by_bsn,
)
from ledger import AccountKind, AccountRef, JournalEntry, Money, Posting
from privacy import FieldCipher

MUNICIPAL_IBAN = "NL84BNGH0285050123"
MUNICIPAL_ACCOUNT_NAME = "Gemeente Utrecht Budgetbeheer"
DEMO_USER = "demo-seed"


@dataclass(frozen=True)
class DemoCounterparty:
    name: str
    iban: str
    category: str


WERK_EN_INKOMEN = DemoCounterparty(
    "Gemeente Utrecht Werk en Inkomen", "NL71BNGH0285000111", "benefit"
)
TOESLAGEN = DemoCounterparty("Belastingdienst Toeslagen", "NL20INGB0001234567", "allowance")
MITROS = DemoCounterparty("Mitros", "NL44RABO0123456789", "rent")
ENECO = DemoCounterparty("Eneco", "NL91ABNA0417164300", "energy")
VITENS = DemoCounterparty("Vitens", "NL71INGB0009876543", "water")
ZILVEREN_KRUIS = DemoCounterparty("Zilveren Kruis", "NL30RABO0301234567", "health_insurance")
BGHU = DemoCounterparty("BghU Belastingsamenwerking", "NL94INGB0005555555", "municipal_taxes")
KPN = DemoCounterparty("KPN", "NL46ABNA0123987654", "phone")


@dataclass(frozen=True)
class DemoAgreement:
    counterparty: DemoCounterparty
    direction: str
    description: str
    amount: str
    day: int
    month: int | None = None  # for yearly costs
    priority: int = 5


@dataclass(frozen=True)
class DemoParticipant:
    username: str
    display_name: str
    bsn: str
    own_iban: str
    household: str
    agreements: tuple[DemoAgreement, ...]
    buffer_advance: str | None = None


ANNA = DemoParticipant(
    username="anna",
    display_name="Anna de Vries",
    bsn="111222333",
    own_iban="NL32INGB0007777777",
    household="Huishouden De Vries",
    buffer_advance="1500.00",
    agreements=(
        DemoAgreement(WERK_EN_INKOMEN, "income", "Participatiewet-uitkering", "1312.48", 25),
        DemoAgreement(TOESLAGEN, "income", "Zorgtoeslag", "154.00", 20),
        DemoAgreement(MITROS, "fixed_cost", "Huur", "645.00", 1, priority=1),
        DemoAgreement(ENECO, "fixed_cost", "Energie", "139.18", 28, priority=2),
        DemoAgreement(VITENS, "fixed_cost", "Water", "21.50", 28, priority=2),
        DemoAgreement(ZILVEREN_KRUIS, "fixed_cost", "Zorgverzekering", "152.70", 1, priority=3),
        DemoAgreement(BGHU, "fixed_cost", "Gemeentelijke belastingen", "312.00", 31, 3, 4),
        DemoAgreement(KPN, "fixed_cost", "Telefoon en internet", "35.00", 15, priority=5),
    ),
)
BRAM = DemoParticipant(
    username="bram",
    display_name="Bram Jansen",
    bsn="123456782",
    own_iban="NL81RABO0309876543",
    household="Huishouden Jansen",
    agreements=(
        DemoAgreement(WERK_EN_INKOMEN, "income", "Participatiewet-uitkering", "1089.20", 25),
        DemoAgreement(TOESLAGEN, "income", "Huurtoeslag", "402.00", 20),
        DemoAgreement(MITROS, "fixed_cost", "Huur", "812.40", 1, priority=1),
        DemoAgreement(ENECO, "fixed_cost", "Energie", "98.00", 28, priority=2),
        DemoAgreement(ZILVEREN_KRUIS, "fixed_cost", "Zorgverzekering", "148.95", 1, priority=3),
    ),
)
ZOE = DemoParticipant(
    username="zoe",
    display_name="Zoë IJzerman",
    bsn="100000009",
    own_iban="NL79INGB0002468024",
    household="Huishouden IJzerman",
    agreements=(
        DemoAgreement(TOESLAGEN, "income", "Zorgtoeslag", "154.00", 20),
        DemoAgreement(MITROS, "fixed_cost", "Huur", "702.15", 1, priority=1),
        DemoAgreement(VITENS, "fixed_cost", "Water", "19.75", 28, priority=2),
    ),
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
    participant_ids: dict[str, int] = {}
    for demo in DEMO_PARTICIPANTS:
        participant = find_participant_by_bsn(session, cipher, demo.bsn)
        if participant is None:
            participant = _create(session, cipher, demo, today)
            result.participants_created += 1
        participant_ids[demo.username] = participant.id
        result.journal_entries_created += _seed_history(session, participant, demo, today)
    result.users_created = _seed_users(session, participant_ids)
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
    started_on = _month_start(today, months_back=2)
    participant = create_participant(
        session,
        cipher,
        household_id=household.id,
        display_name=demo.display_name,
        bsn=demo.bsn,
        own_iban=demo.own_iban,
        started_on=started_on,
    )
    for agreement in demo.agreements:
        counterparty = get_or_create_counterparty(
            session,
            name=agreement.counterparty.name,
            iban=agreement.counterparty.iban,
            category=agreement.counterparty.category,
        )
        session.add(
            Agreement(
                participant_id=participant.id,
                counterparty_id=counterparty.id,
                direction=agreement.direction,
                description=agreement.description,
                amount_cents=Money.parse(agreement.amount).cents,
                start_date=started_on,
                terms={
                    "day": agreement.day,
                    "month": agreement.month,
                    "priority": agreement.priority,
                },
            )
        )
    session.flush()
    return participant


def _month_start(today: dt.date, *, months_back: int) -> dt.date:
    month_index = today.year * 12 + today.month - 1 - months_back
    return dt.date(month_index // 12, month_index % 12 + 1, 1)


def _seed_history(
    session: Session, participant: Participant, demo: DemoParticipant, today: dt.date
) -> int:
    """Income received over the last two months, and the buffer advance."""
    bank = AccountRef.bank(MUNICIPAL_IBAN)
    available = AccountRef.of_participant(participant.id, AccountKind.AVAILABLE)
    entries: list[JournalEntry] = []
    if demo.buffer_advance:
        advance = Money.parse(demo.buffer_advance).cents
        entries.append(
            JournalEntry(
                idempotency_key=f"demo:{demo.username}:buffer-advance",
                booking_date=participant.started_on,
                reason_code="buffer.advance",
                explanation="De gemeente schiet € 1.500,00 voor om je buffer te starten.",
                explanation_en="The municipality advances € 1,500.00 to start your buffer.",
                postings=(
                    Posting(
                        AccountRef.of_participant(participant.id, AccountKind.BUFFER_ADVANCE),
                        advance,
                    ),
                    Posting(
                        AccountRef.of_participant(participant.id, AccountKind.BUFFER), -advance
                    ),
                ),
            )
        )
    for months_back in (2, 1):
        month_start = _month_start(today, months_back=months_back)
        for agreement in demo.agreements:
            if agreement.direction != "income":
                continue
            received_on = month_start.replace(day=agreement.day)
            if received_on > today:
                continue
            amount = Money.parse(agreement.amount).cents
            month_name = _DUTCH_MONTHS[received_on.month - 1]
            entries.append(
                JournalEntry(
                    idempotency_key=(
                        f"demo:{demo.username}:income:{agreement.description}:{received_on}"
                    ),
                    booking_date=received_on,
                    reason_code="income.matched",
                    explanation=(
                        f"{agreement.description} {month_name} van {agreement.counterparty.name}"
                    ),
                    explanation_en=(
                        f"{agreement.description} for {received_on:%B} from "
                        f"{agreement.counterparty.name}"
                    ),
                    postings=(Posting(bank, amount), Posting(available, -amount)),
                )
            )
    posted = post_entries(session, entries, created_by=DEMO_USER)
    return sum(1 for item in posted if item.created)


_DUTCH_MONTHS = (
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
)
