"""What the bank says about our payments: settlement, returns, rejections (pain.002)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.ledger_store import check_ledger
from backend.models import JournalEntryRecord, PaymentInstruction
from backend.payments import (
    AccountMismatch,
    AmountMismatch,
    PaymentStateError,
    UnknownPayment,
    apply_status_report,
    approve_batch,
    export_batch,
    get_batch,
    open_alerts,
    prepare_batch,
    propose_batches,
    reconcile,
    return_payment,
    settle_batch_booking,
    settle_by_end_to_end_id,
)
from ledger import AccountKind
from tests.payments.conftest import (
    ENECO,
    EXPORT_DAY,
    MUNICIPAL_IBAN,
    STATEMENT_DAY,
    World,
    bank_balance,
    holding,
    make_payment,
)


def _exported(session: Session, world: World) -> tuple[int, list[PaymentInstruction]]:
    rent = make_payment(session, world.anna, 64_500, "cycle:anna:rent")
    energy = make_payment(session, world.anna, 13_918, "cycle:anna:energy", creditor=ENECO)
    living = make_payment(
        session,
        world.zoe,
        9_741,
        "cycle:zoe:living",
        creditor=("Zoë Ĳzerman", "NL79INGB0002468024"),
        source="available",
        kind="living_money",
        remittance="Leefgeld",
    )
    (batch,) = propose_batches(session, today=EXPORT_DAY)
    prepare_batch(session, batch.id, actor="fenna", today=EXPORT_DAY)
    approve_batch(session, batch.id, actor="frank")
    export_batch(session, batch.id, actor="frank", today=EXPORT_DAY)
    session.commit()
    return batch.id, [rent, energy, living]


def _entry_count(session: Session) -> int:
    return int(session.scalar(select(func.count(JournalEntryRecord.id))) or 0)


def test_settle_by_end_to_end_id(session: Session, world: World) -> None:
    batch_id, (rent, energy, living) = _exported(session, world)
    bank_before = bank_balance(session)
    for instruction in (rent, energy, living):
        result = settle_by_end_to_end_id(
            session,
            end_to_end_id=instruction.end_to_end_id,
            amount_cents=instruction.amount_cents,
            bank_iban=MUNICIPAL_IBAN,
            booking_date=STATEMENT_DAY,
            bank_reference=f"REF-{instruction.id}",
        )
        assert (result.outcome, result.entries_created, result.replayed) == ("settled", 1, False)
    session.commit()
    assert bank_balance(session) == bank_before - 88_159
    assert holding(session, None, AccountKind.IN_TRANSIT) == 0
    assert get_batch(session, batch_id).status == "settled"
    assert reconcile(session).ok
    replay = settle_by_end_to_end_id(
        session,
        end_to_end_id=rent.end_to_end_id,
        amount_cents=64_500,
        bank_iban=MUNICIPAL_IBAN,
        booking_date=STATEMENT_DAY,
        bank_reference=f"REF-{rent.id}",
    )
    assert (replay.replayed, replay.entries_created) == (True, 0)
    with pytest.raises(PaymentStateError, match="already settled"):
        settle_by_end_to_end_id(
            session,
            end_to_end_id=rent.end_to_end_id,
            amount_cents=64_500,
            bank_iban=MUNICIPAL_IBAN,
            booking_date=STATEMENT_DAY,
            bank_reference="OTHER",
        )


def test_mismatches_are_refused_and_write_nothing(session: Session, world: World) -> None:
    _, (rent, *_) = _exported(session, world)
    before = _entry_count(session)
    with pytest.raises(AmountMismatch, match=r"645\.00"):
        settle_by_end_to_end_id(
            session,
            end_to_end_id=rent.end_to_end_id,
            amount_cents=64_501,
            bank_iban=MUNICIPAL_IBAN,
            booking_date=STATEMENT_DAY,
            bank_reference="R1",
        )
    with pytest.raises(AccountMismatch):
        settle_by_end_to_end_id(
            session,
            end_to_end_id=rent.end_to_end_id,
            amount_cents=64_500,
            bank_iban="NL91ABNA0417164300",
            booking_date=STATEMENT_DAY,
            bank_reference="R1",
        )
    with pytest.raises(UnknownPayment):
        settle_by_end_to_end_id(
            session,
            end_to_end_id="HHB-NOPE",
            amount_cents=64_500,
            bank_iban=MUNICIPAL_IBAN,
            booking_date=STATEMENT_DAY,
            bank_reference="R1",
        )
    with pytest.raises(PaymentStateError, match="can only follow"):
        return_payment(
            session,
            end_to_end_id=rent.end_to_end_id,
            amount_cents=64_500,
            reason_code="AC04",
            bank_iban=MUNICIPAL_IBAN,
            booking_date=STATEMENT_DAY,
            bank_reference="R2",
        )
    assert _entry_count(session) == before


def test_batch_booking_settles_every_payment(session: Session, world: World) -> None:
    batch_id, _instructions = _exported(session, world)
    batch = get_batch(session, batch_id)
    with pytest.raises(AmountMismatch):
        settle_batch_booking(
            session,
            pmt_inf_id=batch.pmt_inf_id,
            amount_cents=88_158,
            bank_iban=MUNICIPAL_IBAN,
            booking_date=STATEMENT_DAY,
            bank_reference="B1",
        )
    result = settle_batch_booking(
        session,
        pmt_inf_id=batch.pmt_inf_id,
        amount_cents=88_159,
        bank_iban=MUNICIPAL_IBAN,
        booking_date=STATEMENT_DAY,
        bank_reference="B1",
    )
    session.commit()
    assert (result.entries_created, len(result.instruction_ids)) == (3, 3)
    assert get_batch(session, batch_id).status == "settled"
    replay = settle_batch_booking(
        session,
        pmt_inf_id=batch.pmt_inf_id,
        amount_cents=88_159,
        bank_iban=MUNICIPAL_IBAN,
        booking_date=STATEMENT_DAY,
        bank_reference="B1",
    )
    assert replay.replayed
    assert reconcile(session).ok


def test_return_ac04_puts_the_money_back_and_alerts(session: Session, world: World) -> None:
    batch_id, (_rent, energy, _living) = _exported(session, world)
    batch = get_batch(session, batch_id)
    settle_batch_booking(
        session,
        pmt_inf_id=batch.pmt_inf_id,
        amount_cents=88_159,
        bank_iban=MUNICIPAL_IBAN,
        booking_date=STATEMENT_DAY,
        bank_reference="B1",
    )
    reserved_before = holding(session, world.anna, AccountKind.RESERVED)
    result = return_payment(
        session,
        end_to_end_id=energy.end_to_end_id,
        amount_cents=13_918,
        reason_code="AC04",
        bank_iban=MUNICIPAL_IBAN,
        booking_date=dt.date(2026, 12, 3),
        bank_reference="RET-1",
    )
    session.commit()
    assert (result.outcome, result.alerts_raised) == ("returned", 1)
    assert holding(session, world.anna, AccountKind.RESERVED) == reserved_before + 13_918
    assert get_batch(session, batch_id).status == "partly_returned"
    returned = session.get(PaymentInstruction, energy.id, populate_existing=True)
    assert returned is not None
    assert (returned.status, returned.status_reason_code, returned.retry_blocked) == (
        "returned",
        "AC04",
        False,
    )
    (alert,) = open_alerts(session, participant_id=world.anna)
    assert alert.kind == "payment.returned"
    assert "rekening is opgeheven" in alert.message_nl
    assert "rekeningnummer" in alert.message_nl
    assert alert.payment_instruction_id == energy.id
    assert reconcile(session).ok
    assert check_ledger(session) == []
    again = return_payment(
        session,
        end_to_end_id=energy.end_to_end_id,
        amount_cents=13_918,
        reason_code="AC04",
        bank_iban=MUNICIPAL_IBAN,
        booking_date=dt.date(2026, 12, 3),
        bank_reference="RET-1",
    )
    assert again.replayed and len(open_alerts(session)) == 1


def test_regulatory_return_is_never_retried_and_living_money_goes_to_available(
    session: Session, world: World
) -> None:
    _, (_, _, living) = _exported(session, world)
    settle_by_end_to_end_id(
        session,
        end_to_end_id=living.end_to_end_id,
        amount_cents=9_741,
        bank_iban=MUNICIPAL_IBAN,
        booking_date=STATEMENT_DAY,
        bank_reference="S1",
    )
    available_before = holding(session, world.zoe, AccountKind.AVAILABLE)
    return_payment(
        session,
        end_to_end_id=living.end_to_end_id,
        amount_cents=9_741,
        reason_code="RR04",
        bank_iban=MUNICIPAL_IBAN,
        booking_date=STATEMENT_DAY,
        bank_reference="S2",
    )
    session.commit()
    instruction = session.get(PaymentInstruction, living.id, populate_existing=True)
    assert instruction is not None and instruction.retry_blocked
    assert holding(session, world.zoe, AccountKind.AVAILABLE) == available_before + 9_741
    (alert,) = open_alerts(session, participant_id=world.zoe)
    assert alert.severity == "critical"
    assert "nooit automatisch opnieuw" in alert.message_nl


def _pain002(original_message_id: str, pmt_inf_id: str, rejected_e2e: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.03">
  <CstmrPmtStsRpt>
    <GrpHdr><MsgId>STS-1</MsgId><CreDtTm>2026-11-30T10:00:00</CreDtTm></GrpHdr>
    <OrgnlGrpInfAndSts>
      <OrgnlMsgId>{original_message_id}</OrgnlMsgId><OrgnlMsgNmId>pain.001.001.09</OrgnlMsgNmId>
      <GrpSts>PART</GrpSts>
    </OrgnlGrpInfAndSts>
    <OrgnlPmtInfAndSts>
      <OrgnlPmtInfId>{pmt_inf_id}</OrgnlPmtInfId>
      <PmtInfSts>PART</PmtInfSts>
      <TxInfAndSts>
        <OrgnlEndToEndId>{rejected_e2e}</OrgnlEndToEndId><TxSts>RJCT</TxSts>
        <StsRsnInf><Rsn><Cd>AC01</Cd></Rsn></StsRsnInf>
      </TxInfAndSts>
      <TxInfAndSts>
        <OrgnlEndToEndId>HHB-NOT-OURS</OrgnlEndToEndId><TxSts>RJCT</TxSts>
      </TxInfAndSts>
    </OrgnlPmtInfAndSts>
  </CstmrPmtStsRpt>
</Document>""".encode()


def test_pain002_rejection_reverses_in_transit(session: Session, world: World) -> None:
    batch_id, (_rent, energy, _living) = _exported(session, world)
    batch = get_batch(session, batch_id)
    reserved_before = holding(session, world.anna, AccountKind.RESERVED)
    report = _pain002(batch.message_id, batch.pmt_inf_id, energy.end_to_end_id)
    result = apply_status_report(session, report, actor="fenna", received_on=EXPORT_DAY)
    session.commit()
    assert result.rejected == [energy.end_to_end_id]
    assert result.unknown == ["HHB-NOT-OURS"]
    assert holding(session, world.anna, AccountKind.RESERVED) == reserved_before + 13_918
    assert holding(session, None, AccountKind.IN_TRANSIT) == 88_159 - 13_918
    assert reconcile(session).ok
    again = apply_status_report(session, report, actor="fenna", received_on=EXPORT_DAY)
    assert again.already_rejected == [energy.end_to_end_id] and again.rejected == []
    # The bank then debits the batch without the rejected payment.
    settle_batch_booking(
        session,
        pmt_inf_id=batch.pmt_inf_id,
        amount_cents=88_159 - 13_918,
        bank_iban=MUNICIPAL_IBAN,
        booking_date=STATEMENT_DAY,
        bank_reference="B1",
    )
    session.commit()
    assert get_batch(session, batch_id).status == "partly_returned"
    assert reconcile(session).ok
    assert check_ledger(session) == []


def test_group_rejection_rejects_every_payment(session: Session, world: World) -> None:
    batch_id, _instructions = _exported(session, world)
    batch = get_batch(session, batch_id)
    report = f"""<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.10"><CstmrPmtStsRpt>
      <GrpHdr><MsgId>STS-2</MsgId></GrpHdr>
      <OrgnlGrpInfAndSts><OrgnlMsgId>{batch.message_id}</OrgnlMsgId><GrpSts>RJCT</GrpSts>
      <StsRsnInf><Rsn><Cd>FF01</Cd></Rsn></StsRsnInf></OrgnlGrpInfAndSts>
      </CstmrPmtStsRpt></Document>""".encode()
    result = apply_status_report(session, report, actor="frank", received_on=EXPORT_DAY)
    session.commit()
    assert len(result.rejected) == 3
    assert get_batch(session, batch_id).status == "rejected"
    assert holding(session, None, AccountKind.IN_TRANSIT) == 0
    assert holding(session, world.anna, AccountKind.PAYABLE) == 0
    assert reconcile(session).ok
