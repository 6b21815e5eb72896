"""A small municipality for payment tests: one bank account, participants with money,
and helpers that do what the daily cycle will do (post the payable entry, then create
the payment instruction)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.orm import Session

from backend.config import Settings
from backend.ledger_store import post_entries
from backend.models import PaymentInstruction
from backend.municipality.service import add_bank_account, ensure_system_accounts
from backend.participants.service import create_household, create_participant
from backend.payments import create_payment_instruction
from ledger import AccountKind, AccountRef, JournalEntry, Posting

MUNICIPAL_IBAN = "NL84BNGH0285050123"
MUNICIPAL_NAME = "Gemeente Utrecht Budgetbeheer"
BANK = AccountRef.bank(MUNICIPAL_IBAN)
MITROS = ("Mitros", "NL44RABO0123456789")
ENECO = ("Eneco", "NL91ABNA0417164300")
ZILVEREN_KRUIS = ("Zilveren Kruis", "NL30RABO0301234567")
ZOE_IBAN = "NL79INGB0002468024"
INCOME_DAY = dt.date(2026, 11, 25)
EXECUTION_DAY = dt.date(2026, 11, 30)
DUE_DAY = dt.date(2026, 12, 1)
EXPORT_DAY = dt.date(2026, 11, 30)
STATEMENT_DAY = dt.date(2026, 12, 1)


@dataclass(frozen=True)
class World:
    anna: int
    zoe: int


def build_world(session: Session, settings: Settings) -> World:
    add_bank_account(session, iban=MUNICIPAL_IBAN, name=MUNICIPAL_NAME, bic="BNGHNL2G")
    ensure_system_accounts(session)
    household = create_household(session, name="Huishouden De Vries")
    cipher = settings.field_cipher()
    anna = create_participant(
        session,
        cipher,
        household_id=household.id,
        display_name="Anna de Vries",
        bsn="111222333",
        own_iban="NL32INGB0007777777",
        started_on=dt.date(2026, 9, 1),
    ).id
    zoe = create_participant(
        session,
        cipher,
        household_id=create_household(session, name="Huishouden IJzerman").id,
        display_name="Zoë Ĳzerman",
        bsn="100000009",
        own_iban=ZOE_IBAN,
        started_on=dt.date(2026, 9, 1),
    ).id
    for participant_id, cents in ((anna, 146_648), (zoe, 90_000)):
        available = AccountRef.of_participant(participant_id, AccountKind.AVAILABLE)
        post_entries(
            session,
            [
                JournalEntry(
                    idempotency_key=f"test:income:{participant_id}",
                    booking_date=INCOME_DAY,
                    reason_code="income.matched",
                    explanation="Uitkering november",
                    postings=(Posting(BANK, cents), Posting(available, -cents)),
                )
            ],
            created_by="test",
        )
    session.commit()
    return World(anna=anna, zoe=zoe)


@pytest.fixture
def world(session: Session, settings: Settings) -> World:
    return build_world(session, settings)


def make_payment(
    session: Session,
    participant_id: int,
    cents: int,
    key: str,
    *,
    creditor: tuple[str, str] = MITROS,
    source: str = "reserved",
    kind: str = "fixed_cost",
    reference: str | None = None,
    remittance: str | None = "Huur december",
    execution_date: dt.date = EXECUTION_DAY,
    due_date: dt.date = DUE_DAY,
    end_to_end_id: str | None = None,
) -> PaymentInstruction:
    """What the daily cycle does: reserve (when paid from reserved), move to payable, and
    create the instruction in the same transaction."""
    available = AccountRef.of_participant(participant_id, AccountKind.AVAILABLE)
    source_account = AccountRef.of_participant(participant_id, AccountKind(source))
    payable = AccountRef.of_participant(participant_id, AccountKind.PAYABLE)
    entries = []
    if source == "reserved":
        entries.append(
            JournalEntry(
                idempotency_key=f"{key}:reserve",
                booking_date=execution_date,
                reason_code="fixed_cost.reserve",
                explanation="Geld apart gezet voor een vaste last",
                postings=(Posting(available, cents), Posting(source_account, -cents)),
            )
        )
    pay = JournalEntry(
        idempotency_key=key,
        booking_date=execution_date,
        reason_code=f"{kind}.pay",
        explanation=f"Betaling aan {creditor[0]}",
        postings=(Posting(source_account, cents), Posting(payable, -cents)),
    )
    entries.append(pay)
    post_entries(session, entries, created_by="daily-cycle")
    return create_payment_instruction(
        session,
        entry=pay,
        participant_id=participant_id,
        kind=kind,
        creditor_name=creditor[0],
        creditor_iban=creditor[1],
        amount_cents=cents,
        due_date=due_date,
        execution_date=execution_date,
        remittance=remittance,
        creditor_reference=reference,
        source_kind=source,
        debtor_iban=MUNICIPAL_IBAN,
        end_to_end_id=end_to_end_id,
    )


def holding(session: Session, participant_id: int | None, kind: AccountKind) -> int:
    """What an account holds (credit-normal accounts as positive amounts)."""
    from backend.ledger_store import account_balances

    ref = (
        AccountRef.of_participant(participant_id, kind)
        if participant_id is not None
        else AccountRef(kind)
    )
    raw = account_balances(session).get(ref, 0)
    return raw if kind is AccountKind.BANK else -raw


def bank_balance(session: Session) -> int:
    from backend.ledger_store import account_balances

    return account_balances(session).get(BANK, 0)


def add_finance_user(
    session: Session, username: str, roles: tuple[str, ...] = ("finance",)
) -> None:
    """A user account as the access layer stores it (user_account, roles as JSON list).

    Creates a minimal user_account table when the access migration is not there."""
    connection = session.connection()
    if not inspect(connection).has_table("user_account"):
        connection.execute(
            text(
                "CREATE TABLE user_account (id INTEGER PRIMARY KEY, username VARCHAR(80) "
                "UNIQUE NOT NULL, roles TEXT NOT NULL, active BOOLEAN NOT NULL, "
                "locked_until TIMESTAMP)"
            )
        )
    columns = {column["name"] for column in inspect(connection).get_columns("user_account")}
    values: dict[str, object] = {
        "username": username,
        "roles": json.dumps(list(roles)),
        "active": True,
    }
    if "display_name" in columns:
        values["display_name"] = username.title()
    if "failed_login_count" in columns:
        values["failed_login_count"] = 0
    if "created_at" in columns:
        values["created_at"] = dt.datetime.now(dt.UTC)
    names = ", ".join(values)
    placeholders = ", ".join(
        f"CAST(:{name} AS JSON)"
        if name == "roles" and connection.dialect.name == "postgresql"
        else f":{name}"
        for name in values
    )
    connection.execute(text(f"INSERT INTO user_account ({names}) VALUES ({placeholders})"), values)
    session.commit()
