"""Batches: proposal, four eyes, export once, cancel before export, concurrency."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from lxml import etree
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from backend.db import transaction
from backend.errors import AppError
from backend.ledger_store import check_ledger
from backend.models import PaymentBatch
from backend.payments import (
    BatchStateConflict,
    FourEyesViolation,
    approve_batch,
    batch_events,
    cancel_batch,
    export_batch,
    get_batch,
    prepare_batch,
    propose_batches,
)
from backend.payments.sepa_file import check_file
from ledger import AccountKind
from tests.payments.conftest import (
    ENECO,
    EXECUTION_DAY,
    EXPORT_DAY,
    World,
    holding,
    make_payment,
)


def _proposed(session: Session, world: World) -> PaymentBatch:
    make_payment(session, world.anna, 64_500, "cycle:anna:rent")
    make_payment(
        session,
        world.anna,
        13_918,
        "cycle:anna:energy",
        creditor=ENECO,
        reference="5000056789012345",
    )
    make_payment(
        session,
        world.zoe,
        9_741,
        "cycle:zoe:living",
        creditor=("Zoë Ĳzerman", "NL79INGB0002468024"),
        source="available",
        kind="living_money",
        remittance="Leefgeld",
    )
    (batch,) = propose_batches(session, actor="system", today=EXPORT_DAY)
    session.commit()
    return batch


def test_proposal_groups_by_execution_date_and_account(session: Session, world: World) -> None:
    batch = _proposed(session, world)
    make_payment(
        session, world.anna, 2_150, "cycle:anna:water", execution_date=dt.date(2026, 12, 28)
    )
    later_batch = [b for b in propose_batches(session, today=EXPORT_DAY) if b.id != batch.id]
    assert (batch.instruction_count, batch.control_sum_cents) == (3, 88_159)
    assert batch.execution_date == EXECUTION_DAY
    assert [(b.execution_date, b.instruction_count) for b in later_batch] == [
        (dt.date(2026, 12, 28), 1)
    ]
    assert batch.message_id != batch.pmt_inf_id
    assert len(batch.message_id) <= 35


def test_four_eyes_and_export_once(session: Session, world: World) -> None:
    batch = _proposed(session, world)
    with pytest.raises(BatchStateConflict, match="only an approved batch"):
        export_batch(session, batch.id, actor="fenna", today=EXPORT_DAY)
    prepared = prepare_batch(session, batch.id, actor="fenna", today=EXPORT_DAY)
    assert (prepared.status, prepared.prepared_by) == ("prepared", "fenna")
    with pytest.raises(FourEyesViolation, match="another finance user"):
        approve_batch(session, batch.id, actor="fenna")
    with pytest.raises(BatchStateConflict, match="only an approved batch"):
        export_batch(session, batch.id, actor="frank", today=EXPORT_DAY)
    approved = approve_batch(session, batch.id, actor="frank")
    assert (approved.status, approved.approved_by) == ("approved", "frank")
    with pytest.raises(BatchStateConflict, match="already approved"):
        approve_batch(session, batch.id, actor="frank")
    first = export_batch(
        session, batch.id, actor="fenna", file_format="pain.001.001.03", today=EXPORT_DAY
    )
    session.commit()
    check_file(first.content, file_format="pain.001.001.03")
    assert first.first_export
    again = export_batch(session, batch.id, actor="frank", today=EXPORT_DAY)
    assert (again.content, again.sha256, again.sha1) == (first.content, first.sha256, first.sha1)
    assert not again.first_export
    with pytest.raises(BatchStateConflict, match="never exported as a different file"):
        export_batch(session, batch.id, actor="frank", file_format="pain.001.001.09")
    session.commit()
    assert holding(session, world.anna, AccountKind.PAYABLE) == 0
    assert holding(session, None, AccountKind.IN_TRANSIT) == 88_159
    assert [e.action for e in batch_events(session, batch.id)] == [
        "proposed",
        "payments_added",
        "prepared",
        "approved",
        "exported",
        "downloaded",
    ]
    assert [e.actor for e in batch_events(session, batch.id)][2:5] == ["fenna", "frank", "fenna"]
    assert check_ledger(session) == []
    document = etree.fromstring(first.content)
    assert document.findtext(".//{*}GrpHdr/{*}MsgId") == batch.message_id
    assert document.findtext(".//{*}GrpHdr/{*}CtrlSum") == "881.59"


def test_database_refuses_approval_by_the_preparer(session: Session, world: World) -> None:
    batch = _proposed(session, world)
    prepare_batch(session, batch.id, actor="fenna", today=EXPORT_DAY)
    session.commit()
    stored = session.get(PaymentBatch, batch.id)
    assert stored is not None
    stored.status, stored.approved_by = "approved", "fenna"
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()


def test_cancel_before_export_puts_the_money_back(session: Session, world: World) -> None:
    batch = _proposed(session, world)
    prepare_batch(session, batch.id, actor="fenna", today=EXPORT_DAY)
    approve_batch(session, batch.id, actor="frank")
    cancelled = cancel_batch(
        session, batch.id, actor="frank", reason="verkeerde datum", today=EXPORT_DAY
    )
    session.commit()
    assert cancelled.status == "cancelled"
    assert holding(session, world.anna, AccountKind.RESERVED) == 64_500 + 13_918
    assert holding(session, world.zoe, AccountKind.AVAILABLE) == 90_000
    assert holding(session, world.anna, AccountKind.PAYABLE) == 0
    assert check_ledger(session) == []
    with pytest.raises(BatchStateConflict):
        export_batch(session, batch.id, actor="frank")
    assert propose_batches(session, today=EXPORT_DAY) == []


def test_release_keeps_the_payments_for_a_new_batch(session: Session, world: World) -> None:
    batch = _proposed(session, world)
    prepare_batch(session, batch.id, actor="fenna", today=EXPORT_DAY)
    cancel_batch(session, batch.id, actor="frank", reason="opnieuw", release=True)
    (fresh,) = propose_batches(session, today=EXPORT_DAY)
    session.commit()
    assert fresh.id != batch.id
    assert (fresh.instruction_count, fresh.control_sum_cents) == (3, 88_159)
    assert holding(session, world.anna, AccountKind.PAYABLE) == 64_500 + 13_918


def test_cancel_after_export_is_refused(session: Session, world: World) -> None:
    batch = _proposed(session, world)
    prepare_batch(session, batch.id, actor="fenna", today=EXPORT_DAY)
    approve_batch(session, batch.id, actor="frank")
    export_batch(session, batch.id, actor="frank", today=EXPORT_DAY)
    with pytest.raises(BatchStateConflict, match="not exported"):
        cancel_batch(session, batch.id, actor="frank", reason="te laat")


def test_passed_proposal_is_superseded(session: Session, world: World) -> None:
    batch = _proposed(session, world)
    with pytest.raises(BatchStateConflict, match="has passed"):
        prepare_batch(session, batch.id, actor="fenna", today=dt.date(2026, 12, 1))
    (fresh,) = propose_batches(session, today=dt.date(2026, 12, 1))
    session.commit()
    assert get_batch(session, batch.id).status == "cancelled"
    assert fresh.execution_date == dt.date(2026, 12, 1)
    assert fresh.instruction_count == 3


def _race(factory: sessionmaker[Session], action: object, actors: list[str]) -> list[object]:
    barrier = threading.Barrier(len(actors))
    outcomes: list[object] = []
    lock = threading.Lock()

    def run(actor: str) -> None:
        barrier.wait()
        try:
            with transaction(factory, write=True) as session:
                result = action(session, actor)  # type: ignore[operator]
            outcome: object = result
        except AppError as error:
            outcome = error
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=run, args=(actor,)) for actor in actors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_two_concurrent_approvals_have_exactly_one_effect(
    session: Session, session_factory: sessionmaker[Session], world: World
) -> None:
    batch = _proposed(session, world)
    prepare_batch(session, batch.id, actor="fenna", today=EXPORT_DAY)
    session.commit()
    outcomes = _race(
        session_factory,
        lambda s, actor: approve_batch(s, batch.id, actor=actor).approved_by,
        ["frank", "femke"],
    )
    winners = [o for o in outcomes if isinstance(o, str)]
    losers = [o for o in outcomes if isinstance(o, BatchStateConflict)]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    with session_factory() as fresh:
        assert get_batch(fresh, batch.id).approved_by == winners[0]
        approvals = [e for e in batch_events(fresh, batch.id) if e.action == "approved"]
        assert len(approvals) == 1


def test_two_concurrent_exports_produce_one_file_and_one_movement(
    session: Session, session_factory: sessionmaker[Session], world: World
) -> None:
    batch = _proposed(session, world)
    prepare_batch(session, batch.id, actor="fenna", today=EXPORT_DAY)
    approve_batch(session, batch.id, actor="frank")
    session.commit()
    outcomes = _race(
        session_factory,
        lambda s, actor: export_batch(s, batch.id, actor=actor, today=EXPORT_DAY).sha256,
        ["fenna", "frank"],
    )
    assert len(outcomes) == 2 and len(set(outcomes)) == 1, outcomes
    with session_factory() as fresh:
        assert holding(fresh, None, AccountKind.IN_TRANSIT) == 88_159
        stored = fresh.scalar(select(PaymentBatch.file_sha256).where(PaymentBatch.id == batch.id))
        assert stored == outcomes[0]
        assert check_ledger(fresh) == []
