"""A month as finance lives it: statements in → cycle → batches prepared and approved by
two people → pain.001 (both versions) valid → the next statement settles → reconcile
is clean. Then a return (AC04): money back, alert raised, reconcile still clean."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.config import Settings
from backend.ledger_store import check_ledger, post_entries
from backend.models import PaymentInstruction
from backend.payments import (
    approve_batch,
    export_batch,
    open_alerts,
    prepare_batch,
    propose_batches,
    reconcile,
    return_payment,
    settle_batch_booking,
    settle_by_end_to_end_id,
)
from backend.payments.sepa_file import check_file
from ledger import AccountKind, AccountRef, JournalEntry, Posting
from tests.payments.conftest import (
    BANK,
    MUNICIPAL_IBAN,
    ZILVEREN_KRUIS,
    ZOE_IBAN,
    World,
    bank_balance,
    build_world,
    holding,
    make_payment,
)
from tests.payments.statements import record_statement


def _income(participant_id: int, key: str, day: dt.date, cents: int) -> JournalEntry:
    return JournalEntry(
        idempotency_key=key,
        booking_date=day,
        reason_code="income.matched",
        explanation="Inkomen ontvangen",
        postings=(
            Posting(BANK, cents),
            Posting(AccountRef.of_participant(participant_id, AccountKind.AVAILABLE), -cents),
        ),
    )


def test_a_month_of_payments_reconciles(session: Session, settings: Settings) -> None:
    world: World = build_world(session, settings)  # income of 25 Nov already booked
    # Statements in: zorgtoeslag on 20 Nov was in an earlier statement; the 25 Nov
    # statement closes with everything booked so far.
    post_entries(
        session,
        [_income(world.anna, "import:zorgtoeslag:anna", dt.date(2026, 11, 20), 15_400)],
        created_by="bank-import",
    )
    record_statement(
        session,
        iban=MUNICIPAL_IBAN,
        statement_id="STMT-1125",
        closing_cents=bank_balance(session),
        closing_date=dt.date(2026, 11, 25),
    )
    session.commit()
    report = reconcile(session)
    assert report.ok, report.as_dict()
    assert report.accounts[0].status == "ok"

    # The cycle on 30 Nov: rent and health insurance due 1 Dec; Zoë's living money on
    # Monday 7 Dec (its own execution date, so its own batch).
    rent = make_payment(
        session, world.anna, 64_500, "cycle:anna:rent:2026-12-01", reference="5000056789012345"
    )
    insurance = make_payment(
        session,
        world.anna,
        15_270,
        "cycle:anna:zk:2026-12-01",
        creditor=ZILVEREN_KRUIS,
        remittance="Polis 12345 december",
    )
    living = make_payment(
        session,
        world.zoe,
        9_741,
        "cycle:zoe:living:2026-12-07",
        creditor=("Zoë Ĳzerman", ZOE_IBAN),
        source="available",
        kind="living_money",
        remittance="Leefgeld week 50",
        execution_date=dt.date(2026, 12, 7),
        due_date=dt.date(2026, 12, 7),
    )
    batches = sorted(
        propose_batches(session, today=dt.date(2026, 11, 30)), key=lambda b: b.execution_date
    )
    assert [(b.execution_date, b.instruction_count) for b in batches] == [
        (dt.date(2026, 11, 30), 2),
        (dt.date(2026, 12, 7), 1),
    ]
    fixed, weekly = batches
    for batch, file_format in ((fixed, "pain.001.001.09"), (weekly, "pain.001.001.03")):
        prepare_batch(session, batch.id, actor="fenna", today=dt.date(2026, 11, 30))
        approve_batch(session, batch.id, actor="frank")
        exported = export_batch(
            session, batch.id, actor="fenna", file_format=file_format, today=dt.date(2026, 11, 30)
        )
        check_file(exported.content, file_format=file_format)
        assert "Zoe IJzerman" in exported.content.decode() or batch is fixed
    session.commit()
    assert holding(session, None, AccountKind.IN_TRANSIT) == 64_500 + 15_270 + 9_741
    assert reconcile(session).ok

    # 1 Dec statement: the fixed-cost batch as one batch booking.
    settle_batch_booking(
        session,
        pmt_inf_id=fixed.pmt_inf_id,
        amount_cents=64_500 + 15_270,
        bank_iban=MUNICIPAL_IBAN,
        booking_date=dt.date(2026, 12, 1),
        bank_reference="BNG-0001",
    )
    record_statement(
        session,
        iban=MUNICIPAL_IBAN,
        statement_id="STMT-1201",
        closing_cents=bank_balance(session),
        closing_date=dt.date(2026, 12, 1),
    )
    session.commit()
    report = reconcile(session)
    assert report.ok, report.as_dict()
    assert report.accounts[0].statement_id == "STMT-1201"
    assert report.totals["in_transit_cents"] == 9_741  # the living money, not yet due

    # 3 Dec: Zilveren Kruis returns the insurance premium (AC04, account closed).
    reserved_before = holding(session, world.anna, AccountKind.RESERVED)
    return_payment(
        session,
        end_to_end_id=insurance.end_to_end_id,
        amount_cents=15_270,
        reason_code="AC04",
        bank_iban=MUNICIPAL_IBAN,
        booking_date=dt.date(2026, 12, 3),
        bank_reference="BNG-0003",
    )
    record_statement(
        session,
        iban=MUNICIPAL_IBAN,
        statement_id="STMT-1203",
        closing_cents=bank_balance(session),
        closing_date=dt.date(2026, 12, 3),
    )
    session.commit()
    assert holding(session, world.anna, AccountKind.RESERVED) == reserved_before + 15_270
    assert [a.kind for a in open_alerts(session, participant_id=world.anna)] == ["payment.returned"]
    report = reconcile(session)
    assert report.ok, report.as_dict()

    # 7 Dec statement: the living money, by EndToEndId.
    settle_by_end_to_end_id(
        session,
        end_to_end_id=living.end_to_end_id,
        amount_cents=9_741,
        bank_iban=MUNICIPAL_IBAN,
        booking_date=dt.date(2026, 12, 7),
        bank_reference="BNG-0002",
    )
    record_statement(
        session,
        iban=MUNICIPAL_IBAN,
        statement_id="STMT-1207",
        closing_cents=bank_balance(session),
        closing_date=dt.date(2026, 12, 7),
    )
    session.commit()
    report = reconcile(session)
    assert report.ok, report.as_dict()
    assert report.totals["in_transit_cents"] == 0
    statuses = {
        instruction.end_to_end_id: instruction.status
        for instruction in session.scalars(
            select(PaymentInstruction).execution_options(populate_existing=True)
        )
    }
    assert statuses == {
        rent.end_to_end_id: "settled",
        insurance.end_to_end_id: "returned",
        living.end_to_end_id: "settled",
    }
    assert check_ledger(session) == []


def test_statement_difference_lists_the_entries_involved(
    session: Session, settings: Settings
) -> None:
    world = build_world(session, settings)
    record_statement(
        session,
        iban=MUNICIPAL_IBAN,
        statement_id="STMT-1124",
        closing_cents=0,
        closing_date=dt.date(2026, 11, 24),
    )
    record_statement(
        session,
        iban=MUNICIPAL_IBAN,
        statement_id="STMT-1125",
        closing_cents=bank_balance(session) - 100,
        closing_date=dt.date(2026, 11, 25),
    )
    session.commit()
    report = reconcile(session)
    assert not report.ok
    (difference,) = report.differences
    assert difference.check == "bank_vs_statement"
    assert difference.difference_cents == 100
    assert {entry["entry"] for entry in difference.entries} == {
        f"test:income:{world.anna}",
        f"test:income:{world.zoe}",
    }
    as_of_before = reconcile(session, as_of=dt.date(2026, 11, 24))
    assert as_of_before.ok
    assert as_of_before.accounts[0].statement_id == "STMT-1124"


def test_no_statement_yet_is_reported_not_failed(session: Session, settings: Settings) -> None:
    build_world(session, settings)
    report = reconcile(session)
    assert report.ok
    assert report.accounts[0].status == "no_statement"
    assert any("no statement imported yet" in note for note in report.notes)
