"""Which bank entry goes where: income matching (exactly one, never a guess), our
payments settled and returned through the payments hooks, everything else suspense."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.config import Settings
from backend.ledger_store import check_ledger
from backend.models import (
    Alert,
    BankEntryRecord,
    JournalEntryRecord,
    PaymentBatch,
    PaymentInstruction,
)
from backend.participants.service import create_household, create_participant
from backend.plans import store_plan_version
from rules import IncomeKind
from tests.bank.fixture_paths import CAMT_02, FRIDAY, MT940_DIR
from tests.bank_import.conftest import (
    TOESLAGEN,
    WERK_EN_INKOMEN,
    Persona,
    build_persona,
    camt,
    credit,
    debit,
    do_import,
    holdings,
    income,
    plan,
)

FRIDAY_02 = CAMT_02 / f"{FRIDAY}.xml"
DAY = dt.date(2024, 11, 20)


def _instruction(session: Session, end_to_end_id: str) -> PaymentInstruction:
    found = session.scalar(
        select(PaymentInstruction).where(PaymentInstruction.end_to_end_id == end_to_end_id)
    )
    assert found is not None
    session.refresh(found)
    return found


def _entry(session: Session, reference: str) -> BankEntryRecord:
    found = session.scalar(
        select(BankEntryRecord).where(BankEntryRecord.bank_reference == reference)
    )
    assert found is not None
    return found


def _alerts(session: Session, kind: str) -> list[Alert]:
    return list(session.scalars(select(Alert).where(Alert.kind == kind).order_by(Alert.id)))


# ---------------------------------------------------------------------- our payments


def test_a_batch_debit_settles_its_three_payments_by_pmtinfid(
    session: Session, settings: Settings
) -> None:
    build_persona(session, settings)
    do_import(session, FRIDAY_02)
    for e2e in ("HHB-20241115-0001", "HHB-20241115-0002", "HHB-20241115-0003"):
        instruction = _instruction(session, e2e)
        assert (instruction.status, instruction.settled_on) == ("settled", dt.date(2024, 11, 15))
        assert instruction.settlement_reference == "2024111500005"
    batch = session.scalar(
        select(PaymentBatch).where(PaymentBatch.pmt_inf_id == "HHB-20241115-VL-01")
    )
    assert batch is not None and batch.status == "settled"
    entry = _entry(session, "2024111500005")
    assert entry.journal_entry_key == "payments:settle:HHB-20241115-0001"
    assert entry.transactions is not None and len(entry.transactions) == 3


def test_an_unknown_batch_id_settles_by_the_end_to_end_ids_of_its_transactions(
    session: Session, settings: Settings
) -> None:
    build_persona(session, settings, batch_pmt_inf_id=None)
    report = do_import(session, FRIDAY_02)
    assert report.total("settled_entries") == 2
    assert {_instruction(session, f"HHB-20241115-000{n}").status for n in (1, 2, 3)} == {"settled"}
    assert _entry(session, "2024111500005").payment_instruction_count == 3


def test_an_unknown_batch_in_mt940_goes_to_suspense_and_alerts_finance(
    session: Session, settings: Settings
) -> None:
    """MT940 names only the batch (/PREF/), not its transactions."""
    build_persona(session, settings, batch_pmt_inf_id=None)
    do_import(session, MT940_DIR / f"{FRIDAY}.sta")
    entry = _entry(session, "2024111500005")
    assert entry.status == "suspense"
    assert "no payment batch has PmtInfId 'HHB-20241115-VL-01'" in (entry.status_reason or "")
    (alert,) = _alerts(session, "bank.unknown_debits")
    assert "1 afschrijving(en) die geen betaling van ons zijn" in alert.message_nl
    assert "€ 1.203,27" in alert.message_nl
    assert {_instruction(session, f"HHB-20241115-000{n}").status for n in (1, 2, 3)} == {"exported"}


def test_an_ac04_return_goes_back_to_the_participant_and_raises_an_alert(
    session: Session, settings: Settings
) -> None:
    persona = build_persona(session, settings)
    do_import(session, FRIDAY_02)
    instruction = _instruction(session, "HHB-20241108-0007")
    assert (instruction.status, instruction.status_reason_code) == ("returned", "AC04")
    assert instruction.retry_blocked is False
    assert holdings(session)[f"participant:{persona.zoe}:reserved"] == 3_850
    (alert,) = _alerts(session, "payment.returned")
    assert alert.participant_id == persona.zoe
    assert "AC04" in alert.message_nl and "Controleer het rekeningnummer" in alert.message_nl
    entry = _entry(session, "2024111500006")
    assert (entry.status, entry.return_reason_code) == ("returned", "AC04")


def test_a_regulatory_return_is_never_retried(session: Session, settings: Settings) -> None:
    build_persona(session, settings)
    data = FRIDAY_02.read_bytes().replace(b"<Cd>AC04</Cd>", b"<Cd>RR01</Cd>")
    do_import(session, data, filename="rr01.xml")
    instruction = _instruction(session, "HHB-20241108-0007")
    assert (instruction.status, instruction.retry_blocked) == ("returned", True)
    (alert,) = _alerts(session, "payment.returned")
    assert alert.severity == "critical"
    assert "nooit automatisch opnieuw" in alert.message_nl


def test_without_our_payments_debits_and_returns_go_to_suspense(
    session: Session, settings: Settings
) -> None:
    """An unknown debit books bank −X / suspense +X: suspense holds a negative amount
    (money that left without a reason we know) until finance sorts it out."""
    build_persona(session, settings, payments=False)
    do_import(session, FRIDAY_02)
    statuses = {
        entry.bank_reference: entry.status for entry in session.scalars(select(BankEntryRecord))
    }
    assert statuses["2024111500005"] == "suspense"  # the batch
    assert statuses["2024111500006"] == "suspense"  # the return
    assert statuses["2024111500007"] == "suspense"  # living money
    (debits,) = _alerts(session, "bank.unknown_debits")
    assert "2 afschrijving(en)" in debits.message_nl and "€ 1.278,27" in debits.message_nl
    (returns,) = _alerts(session, "bank.unknown_returns")
    assert "HHB-20241108-0007" in returns.message_en
    batch = session.scalar(
        select(JournalEntryRecord).where(
            JournalEntryRecord.idempotency_key == "bank:NL84BNGH0285050123|ref|2024111500005"
        )
    )
    assert batch is not None and batch.reason_code == "bank.suspense"
    assert "financiën zoekt het uit" in batch.explanation
    assert check_ledger(session) == []


def test_a_reversed_credit_goes_to_suspense(session: Session, settings: Settings) -> None:
    build_persona(session, settings, payments=False)
    data = camt(
        "REV",
        (
            credit(5_000, "IN-1", DAY),
            debit(5_000, "REV-1", DAY, reversal=True, text="Storno"),
        ),
        opening=0,
        day=DAY,
    )
    do_import(session, data, filename="reversal.xml")
    entry = _entry(session, "REV-1")
    assert entry.status == "suspense" and entry.reversal is True
    assert "reversed an earlier credit" in (entry.status_reason or "")


def test_a_zero_amount_is_stored_but_not_booked(session: Session, settings: Settings) -> None:
    build_persona(session, settings, payments=False)
    data = camt("ZERO", (credit(0, "Z-1", DAY),), opening=0, day=DAY)
    report = do_import(session, data, filename="zero.xml")
    assert report.total("ignored_entries") == 1
    entry = _entry(session, "Z-1")
    assert (entry.status, entry.journal_entry_key) == ("ignored", None)


# ---------------------------------------------------------------------- income matching


def _second_zoe(session: Session, settings: Settings, persona: Persona) -> int:
    """Another participant whose zorgtoeslag agreement is the same as Zoë's."""
    household = create_household(session, name="Huishouden Twee")
    other = create_participant(
        session,
        settings.field_cipher(),
        household_id=household.id,
        display_name="Zoë Tweede",
        bsn="999999990",
        own_iban=None,
        started_on=dt.date(2024, 10, 1),
    ).id
    store_plan_version(
        session,
        plan(
            other,
            income(
                "zorgtoeslag",
                TOESLAGEN,
                12_300,
                0,
                20,
                ("zorgtoeslag", "123456782T43"),
                IncomeKind.ALLOWANCE,
                "Zorgtoeslag",
                window_before=5,
            ),
        ),
        created_by="test",
        source="test",
    )
    session.commit()
    return other


def test_two_matching_agreements_are_never_guessed(session: Session, settings: Settings) -> None:
    persona = build_persona(session, settings)
    other = _second_zoe(session, settings, persona)
    do_import(session, FRIDAY_02)
    entry = _entry(session, "2024111500002")
    assert entry.status == "suspense"
    assert entry.status_reason is not None
    assert entry.status_reason.startswith("2 income agreements match")
    assert str(persona.zoe) in entry.status_reason and str(other) in entry.status_reason
    assert f"participant:{persona.zoe}:available" in holdings(session)  # the benefit still


def _zoe_income(day: dt.date, cents: int, text: str, reference: str) -> bytes:
    return camt(
        f"S-{reference}",
        (credit(cents, reference, day, payer=WERK_EN_INKOMEN, text=text),),
        opening=0,
        day=day,
    )


def test_late_income_is_booked_with_a_note(session: Session, settings: Settings) -> None:
    persona = build_persona(session, settings, payments=False)
    late = dt.date(2024, 11, 19)  # expected on the 15th, window until the 20th
    do_import(
        session,
        _zoe_income(late, 138_900, "Participatiewet uitkering nov klantnr 880142", "L-1"),
        filename="late.xml",
    )
    entry = _entry(session, "L-1")
    assert (entry.status, entry.participant_id) == ("matched_income", persona.zoe)
    booked = session.scalar(
        select(JournalEntryRecord).where(
            JournalEntryRecord.idempotency_key == entry.journal_entry_key
        )
    )
    assert booked is not None
    assert booked.explanation == (
        "Uitkering november van Gemeente Utrecht Werk en Inkomen (later dan verwacht)"
    )
    assert booked.entry_metadata["expected_date"] == "2024-11-15"


def test_why_an_almost_matching_credit_went_to_suspense(
    session: Session, settings: Settings
) -> None:
    build_persona(session, settings, payments=False)
    cases = {
        "T-1": (DAY, 150_000, "Participatiewet klantnr 880142"),  # 15.00 over tolerance
        "T-2": (DAY, 138_745, "Participatiewet klantnr 123"),  # client number missing
        "T-3": (dt.date(2024, 11, 28), 138_745, "Participatiewet 880142"),  # after the window
    }
    day = dt.date(2024, 11, 20)
    do_import(
        session,
        camt(
            "WHY",
            tuple(
                credit(cents, reference, on, payer=WERK_EN_INKOMEN, text=text)
                for reference, (on, cents, text) in cases.items()
            ),
            opening=0,
            day=day,
            closing_day=dt.date(2024, 11, 28),
        ),
        filename="why.xml",
    )
    reasons = {ref: _entry(session, ref).status_reason for ref in cases}
    assert reasons == {
        "T-1": "the payer is known, but no agreement expects this amount",
        "T-2": "the amount fits, but the search terms are not in the description",
        "T-3": "the amount fits, but the date is outside the agreement's window",
    }


def test_search_terms_ignore_case_accents_and_spacing(session: Session, settings: Settings) -> None:
    persona = build_persona(session, settings, payments=False)
    do_import(
        session,
        _zoe_income(
            dt.date(2024, 11, 15), 138_745, "PARTICIPATIEWÉT   uitkering  klantnr 880142", "C-1"
        ),
        filename="case.xml",
    )
    assert _entry(session, "C-1").participant_id == persona.zoe
