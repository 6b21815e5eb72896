"""The suspense queue: ranked suggestions, and finance assigning an entry with who and why."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.bank_import import assign_suspense_entry, list_suspense
from backend.config import Settings
from backend.errors import Conflict, InvalidInput, NotFound
from backend.ledger_store import check_ledger
from backend.models import BankEntryRecord, JournalEntryRecord, SuspenseAssignmentRecord
from backend.payments import reconcile
from tests.bank.fixture_paths import CAMT_02, FRIDAY
from tests.bank_import.conftest import build_persona, camt, debit, do_import, holdings

FRIDAY_02 = CAMT_02 / f"{FRIDAY}.xml"


def _entry(session: Session, reference: str) -> BankEntryRecord:
    found = session.scalar(
        select(BankEntryRecord).where(BankEntryRecord.bank_reference == reference)
    )
    assert found is not None
    return found


def test_the_queue_lists_suspense_oldest_first_with_ranked_suggestions(
    session: Session, settings: Settings
) -> None:
    persona = build_persona(session, settings)
    do_import(session, FRIDAY_02)
    page = list_suspense(session)
    assert page.total == 3  # huurtoeslag and Hans's two repayments
    assert page.total_cents == 41_200 + 2 * 2_000
    huurtoeslag = next(item for item in page.items if item.entry.bank_reference == "2024111500003")
    (best,) = huurtoeslag.suggestions
    # Toeslagen pays Zoë already (zorgtoeslag): her agreement is suggested, not booked.
    assert (best.suggestion.participant_id, best.participant_name) == (persona.zoe, "Zoë Ĳzerman")
    assert best.suggestion.agreement_id == "zorgtoeslag"
    assert best.suggestion.payer_iban_matches and not best.suggestion.amount_within_tolerance
    repayment = next(item for item in page.items if item.entry.bank_reference is None)
    assert repayment.suggestions == ()


def test_assigning_as_income_books_it_for_the_daily_engine(
    session: Session, settings: Settings
) -> None:
    persona = build_persona(session, settings)
    do_import(session, FRIDAY_02)
    entry = _entry(session, "2024111500003")
    before = holdings(session)
    result = assign_suspense_entry(
        session,
        bank_entry_id=entry.id,
        participant_id=persona.zoe,
        assigned_by="fenna",
        reason="Huurtoeslag van Zoë; toeslagnummer klopt, afspraak volgt",
        agreement_id="zorgtoeslag",
    )
    session.commit()
    assert result.created and result.journal_entry_key == f"suspense:assign:{entry.id}"
    booked = session.scalar(
        select(JournalEntryRecord).where(
            JournalEntryRecord.idempotency_key == result.journal_entry_key
        )
    )
    assert booked is not None and booked.reason_code == "income.matched"
    assert booked.entry_metadata == {"agreement_id": "zorgtoeslag", "expected_date": "2024-11-20"}
    assert booked.explanation.startswith("Zorgtoeslag november van Belastingdienst Toeslagen.")
    assert booked.created_by == "fenna"
    after = holdings(session)
    available = f"participant:{persona.zoe}:available"
    assert after[available] - before[available] == 41_200
    assert before["suspense"] - after["suspense"] == 41_200
    session.refresh(entry)
    assert (entry.status, entry.participant_id) == ("assigned", persona.zoe)
    stored = session.scalar(select(SuspenseAssignmentRecord))
    assert stored is not None
    assert (stored.assigned_by, stored.reason) == (
        "fenna",
        "Huurtoeslag van Zoë; toeslagnummer klopt, afspraak volgt",
    )
    assert list_suspense(session).total == 2
    assert check_ledger(session) == []
    assert reconcile(session).ok


def test_assigning_is_exactly_once(session: Session, settings: Settings) -> None:
    persona = build_persona(session, settings)
    do_import(session, FRIDAY_02)
    entry = _entry(session, "2024111500003")
    first = assign_suspense_entry(
        session,
        bank_entry_id=entry.id,
        participant_id=persona.hans,
        assigned_by="fenna",
        reason="Terugbetaling",
    )
    session.commit()
    again = assign_suspense_entry(
        session,
        bank_entry_id=entry.id,
        participant_id=persona.hans,
        assigned_by="frank",
        reason="dubbel geklikt",
    )
    assert not again.created and again.assignment_id == first.assignment_id
    with pytest.raises(Conflict, match="already assigned to participant"):
        assign_suspense_entry(
            session,
            bank_entry_id=entry.id,
            participant_id=persona.zoe,
            assigned_by="frank",
            reason="toch Zoë",
        )
    booked = session.scalar(
        select(JournalEntryRecord).where(
            JournalEntryRecord.idempotency_key == first.journal_entry_key
        )
    )
    assert booked is not None and booked.reason_code == "suspense.assigned"
    assert "Toegewezen door financiën: Terugbetaling" in booked.explanation


def test_what_cannot_be_assigned(session: Session, settings: Settings) -> None:
    persona = build_persona(session, settings)
    do_import(session, FRIDAY_02)
    matched = _entry(session, "2024111500001")
    with pytest.raises(Conflict, match="not in suspense"):
        assign_suspense_entry(
            session,
            bank_entry_id=matched.id,
            participant_id=persona.zoe,
            assigned_by="fenna",
            reason="x",
        )
    suspense = _entry(session, "2024111500003")
    with pytest.raises(NotFound):
        assign_suspense_entry(
            session, bank_entry_id=10**9, participant_id=persona.zoe, assigned_by="f", reason="x"
        )
    with pytest.raises(NotFound, match="no income agreement 'huurtoeslag'"):
        assign_suspense_entry(
            session,
            bank_entry_id=suspense.id,
            participant_id=persona.zoe,
            assigned_by="fenna",
            reason="x",
            agreement_id="huurtoeslag",
        )
    with pytest.raises(InvalidInput, match="reason"):
        assign_suspense_entry(
            session,
            bank_entry_id=suspense.id,
            participant_id=persona.zoe,
            assigned_by="fenna",
            reason="   ",
        )


def test_an_unknown_debit_can_be_charged_only_to_money_that_is_there(
    session: Session, settings: Settings
) -> None:
    persona = build_persona(session, settings)
    do_import(session, FRIDAY_02)
    day = dt.date(2024, 11, 18)
    do_import(
        session,
        camt(
            "DEBITS",
            (debit(10_000, "D-1", day), debit(999_999, "D-2", day)),
            opening=1_496_053,
            day=day,
        ),
        filename="debits.xml",
    )
    small, large = _entry(session, "D-1"), _entry(session, "D-2")
    with pytest.raises(Conflict, match="cannot be charged"):
        assign_suspense_entry(
            session,
            bank_entry_id=large.id,
            participant_id=persona.jan,
            assigned_by="fenna",
            reason="incasso van Jan",
        )
    before = holdings(session)
    assign_suspense_entry(
        session,
        bank_entry_id=small.id,
        participant_id=persona.jan,
        assigned_by="fenna",
        reason="Incasso zorgverzekering die Jan zelf had afgesloten",
    )
    after = holdings(session)
    available = f"participant:{persona.jan}:available"
    assert before[available] - after[available] == 10_000
    assert after["suspense"] - before["suspense"] == 10_000
    assert check_ledger(session) == []
