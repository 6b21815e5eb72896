"""The persona statements, in each format, imported with the exact ledger result.

Friday 15 Nov 2024 (see tests/bank/fixtures/README.md), read like a caseworker would:
- Zoë's benefit and zorgtoeslag match her agreements → her available money;
- her huurtoeslag has no agreement → suspense (suggested: Zoë, payer known);
- Jan's wages match → his available money;
- the batch HHB-20241115-VL-01 settles Zoë's rent and energy and Jan's insurance;
- Vitens returns Zoë's water payment (AC04) → back in her reserved money, alert;
- Zoë's living money of week 47 settles;
- Hans Müller's two identical repayments have no agreement → suspense, twice;
- the pending Leergeld contribution is skipped (CAMT only).
Monday 18 Nov: Hans's bijzondere bijstand matches; week 48's living money settles; the
statement opens € 250,00 above Friday's closing — a gap, reported and alerted.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.bank import StatementFormat
from backend.bank.generate import (
    DocumentSpec,
    EntrySpec,
    PartySpec,
    StatementSpec,
    TransactionSpec,
    write_camt053,
)
from backend.config import Settings
from backend.ledger_store import check_ledger
from backend.models import Alert, BankEntryRecord, BankStatementRecord, JournalEntryRecord
from backend.payments import reconcile
from tests.bank.fixture_paths import CAMT_02, CAMT_08, FRIDAY, MONDAY, MT940_DIR
from tests.bank_import.conftest import (
    BUFFER_IBAN,
    JAN_FUNDS,
    ZOE_FUNDS,
    Persona,
    build_persona,
    do_import,
    holdings,
    row_counts,
)

FORMATS = {
    "camt.053.001.02": (CAMT_02 / f"{FRIDAY}.xml", CAMT_02 / f"{MONDAY}.xml"),
    "camt.053.001.08": (CAMT_08 / f"{FRIDAY}.xml", CAMT_08 / f"{MONDAY}.xml"),
    "mt940": (MT940_DIR / f"{FRIDAY}.sta", MT940_DIR / f"{MONDAY}.sta"),
}

OPENING = 1_234_567
FRIDAY_CLOSING = 1_471_053
MONDAY_OPENING = 1_496_053
MONDAY_CLOSING = 1_498_183
WATER = 3_850
RENT, ENERGY, INSURANCE = 74_285, 31_200, 14_842
LIVING = 7_500
BENEFIT, ZORGTOESLAG, HUURTOESLAG, WAGES = 138_745, 12_300, 41_200, 164_218
REPAYMENT = 2_000
BIJSTAND = 9_630
# What the ledger knew of the account before the first statement: the funding of 1 Nov
# minus the water payment settled on 8 Nov. The rest of the opening balance is suspense.
LEDGER_BEFORE = ZOE_FUNDS + JAN_FUNDS - WATER
OPENING_TO_SUSPENSE = OPENING - LEDGER_BEFORE


def expected_after_friday(persona: Persona, version: str) -> dict[str, int]:
    zoe, jan = persona.zoe, persona.jan
    expected = {
        "bank:NL84BNGH0285050123": FRIDAY_CLOSING,
        "in_transit": LIVING,  # week 48, settled on Monday
        "suspense": OPENING_TO_SUSPENSE + HUURTOESLAG + 2 * REPAYMENT,
        f"participant:{zoe}:available": (
            ZOE_FUNDS - WATER - RENT - ENERGY - 2 * LIVING + BENEFIT + ZORGTOESLAG
        ),
        f"participant:{zoe}:reserved": WATER,  # the returned water payment
        f"participant:{jan}:available": JAN_FUNDS - INSURANCE + WAGES,
    }
    if version == "camt.053.001.08":  # the buffer account's first (empty) statement
        expected[f"bank:{BUFFER_IBAN}"] = 500_000
        expected["suspense"] += 500_000
    return expected


@pytest.mark.parametrize("version", sorted(FORMATS))
def test_friday_and_monday_give_the_exact_ledger(
    session: Session, settings: Settings, version: str
) -> None:
    persona = build_persona(session, settings)
    friday, monday = FORMATS[version]

    report = do_import(session, friday)

    main = report.statements[0]
    assert main.statement_id == (
        "MT940-20241115" if version == "mt940" else "0285050123-20241115-01"
    )
    assert main.account == "NL84BNGH0285050123"
    assert (
        main.new_entries,
        main.duplicate_entries,
        main.skipped_pending_entries,
        main.matched_entries,
        main.settled_entries,
        main.returned_entries,
        main.suspense_entries,
    ) == (9, 0, 0 if version == "mt940" else 1, 3, 2, 1, 3)
    assert main.gap_cents is None
    assert main.opening_balance_booked_cents == OPENING_TO_SUSPENSE
    assert len(report.statements) == (2 if version == "camt.053.001.08" else 1)
    assert holdings(session) == expected_after_friday(persona, version)

    entries = {
        entry.bank_reference or entry.dedup_key: entry
        for entry in session.scalars(select(BankEntryRecord).order_by(BankEntryRecord.id))
    }
    benefit = entries["2024111500001"]
    assert (benefit.status, benefit.participant_id, benefit.agreement_id) == (
        "matched_income",
        persona.zoe,
        "uitkering",
    )
    booked = session.scalar(
        select(JournalEntryRecord).where(
            JournalEntryRecord.idempotency_key == benefit.journal_entry_key
        )
    )
    assert booked is not None
    assert booked.reason_code == "income.matched"
    assert booked.explanation == "Uitkering november van Gemeente Utrecht Werk en Inkomen"
    assert booked.explanation_en == "Benefit for November from Gemeente Utrecht Werk en Inkomen"
    # The daily engine reads these to see the income as received.
    assert booked.entry_metadata == {"agreement_id": "uitkering", "expected_date": "2024-11-15"}
    zorgtoeslag = entries["2024111500002"]
    assert (zorgtoeslag.status, zorgtoeslag.agreement_id) == ("matched_income", "zorgtoeslag")
    assert entries["2024111500003"].status == "suspense"  # huurtoeslag: no agreement
    assert entries["2024111500004"].participant_id == persona.jan
    batch = entries["2024111500005"]
    assert (batch.status, batch.payment_instruction_count) == ("settled", 3)
    assert entries["2024111500006"].status == "returned"
    assert entries["2024111500007"].status == "settled"
    repayments = [entry for key, entry in entries.items() if "|fallback|" in key]
    assert [entry.status for entry in repayments] == ["suspense", "suspense"]
    assert repayments[0].dedup_key.endswith("#1") and repayments[1].dedup_key.endswith("#2")

    kinds = {alert.kind for alert in session.scalars(select(Alert))}
    assert {"payment.returned", "bank.opening_balance"} <= kinds
    assert "bank.statement_gap" not in kinds
    assert reconcile(session).ok, reconcile(session).as_dict()["differences"]

    report = do_import(session, monday)
    (statement,) = report.statements
    assert (statement.new_entries, statement.matched_entries, statement.settled_entries) == (
        2,
        1,
        1,
    )
    assert statement.gap_cents == MONDAY_OPENING - FRIDAY_CLOSING == 25_000
    expected = expected_after_friday(persona, version)
    expected["bank:NL84BNGH0285050123"] += BIJSTAND - LIVING
    del expected["in_transit"]
    expected[f"participant:{persona.hans}:available"] = BIJSTAND
    assert holdings(session) == expected
    gap_alerts = [
        alert for alert in session.scalars(select(Alert)) if alert.kind == "bank.statement_gap"
    ]
    assert len(gap_alerts) == 1
    assert "€ 250,00" in gap_alerts[0].message_nl
    stored = session.scalar(
        select(BankStatementRecord).where(BankStatementRecord.id == statement.statement_row_id)
    )
    assert stored is not None and stored.gap_cents == 25_000
    # The gap is not hidden: the ledger follows the entries, the bank says 250.00 more.
    result = reconcile(session)
    assert [difference.check for difference in result.differences] == ["bank_vs_statement"]
    assert result.differences[0].difference_cents == -25_000
    assert check_ledger(session) == []


@pytest.mark.parametrize("version", sorted(FORMATS))
def test_importing_every_fixture_twice_more_changes_nothing(
    session: Session, settings: Settings, version: str
) -> None:
    build_persona(session, settings)
    files = FORMATS[version]
    for path in files:
        do_import(session, path)
    counts, balances = row_counts(session), holdings(session)
    for _ in range(2):
        for path in files:
            report = do_import(session, path)
            assert report.duplicate_file
            assert report.total("new_entries") == 0
            assert report.total("journal_entries_created") == 0
            assert report.total("duplicate_entries") == report.total("booked_entries")
    assert row_counts(session) == counts
    assert holdings(session) == balances


def test_the_missing_statement_closes_the_gap(session: Session, settings: Settings) -> None:
    build_persona(session, settings)
    friday, monday = FORMATS["camt.053.001.02"]
    do_import(session, friday)
    do_import(session, monday)
    saturday = dt.date(2024, 11, 16)
    missing = write_camt053(
        DocumentSpec(
            "BNG-20241116",
            "2024-11-16T18:00:00+01:00",
            (
                StatementSpec(
                    statement_id="0285050123-20241116-01",
                    account_iban="NL84BNGH0285050123",
                    opening_cents=FRIDAY_CLOSING,
                    opening_date=saturday,
                    closing_date=saturday,
                    created_at="2024-11-16T18:00:00+01:00",
                    entries=(
                        EntrySpec(
                            amount_cents=25_000,
                            credit=True,
                            booking_date=saturday,
                            reference="2024111600001",
                            transactions=(
                                TransactionSpec(
                                    amount_cents=25_000,
                                    debtor=PartySpec(
                                        "Stichting Leergeld Utrecht", "NL30RABO0156622214"
                                    ),
                                    unstructured=("Bijdrage schoolkosten 2024 Z. IJzerman",),
                                ),
                            ),
                        ),
                    ),
                ),
            ),
        ),
        StatementFormat.CAMT053_001_02,
    )
    report = do_import(session, missing, filename="gemeente-utrecht-2024-11-16.xml")
    assert report.statements[0].gap_cents == 0
    assert reconcile(session).ok
