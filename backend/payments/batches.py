"""Payment batches: proposed → prepared (finance user A) → approved (user B, never A)
→ exported → settled / partly returned; cancelled before export.

Every transition is one conditional UPDATE (`WHERE id = :id AND status = :expected`,
which also bumps `version`), so two concurrent prepares, approvals or exports have
exactly one effect: on PostgreSQL the second waits for the row lock and then finds
the status changed; on SQLite writers queue (BEGIN IMMEDIATE). Every transition
writes a payment_batch_event with who and when. Services only flush.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.clock import today_amsterdam
from backend.errors import InvalidInput
from backend.ledger_store import post_entries
from backend.models import (
    MunicipalBankAccount,
    PaymentBatch,
    PaymentBatchEvent,
    PaymentInstruction,
)
from backend.models.base import utcnow
from backend.payments.errors import BatchNotFound, BatchStateConflict, FourEyesViolation
from backend.payments.instructions import payee_words, reverse_payable_entries
from backend.payments.sepa_file import (
    DEFAULT_FORMAT,
    FORMATS,
    FileHeader,
    FilePayment,
    build_file,
)
from ledger import AccountKind, AccountRef, JournalEntry, Money, Posting

_CHUNK = 500
OPEN_STATUSES = ("proposed", "prepared", "approved")
EXPORTED_STATUSES = ("exported", "settled", "partly_returned", "rejected")
SYSTEM_ACTOR = "system"


@dataclass(frozen=True, slots=True)
class ExportedFile:
    batch_id: int
    file_format: str
    content: bytes
    sha256: str
    sha1: str
    message_id: str
    control_sum_cents: int
    transaction_count: int
    first_export: bool


# ------------------------------------------------------------------ helpers


def get_batch(session: Session, batch_id: int) -> PaymentBatch:
    batch = session.get(PaymentBatch, batch_id, populate_existing=True)
    if batch is None:
        raise BatchNotFound(f"payment batch {batch_id} does not exist")
    return batch


def list_batches(
    session: Session, *, statuses: Sequence[str] | None = None, limit: int = 200
) -> list[PaymentBatch]:
    query = select(PaymentBatch).order_by(PaymentBatch.id.desc()).limit(min(limit, 1000))
    if statuses:
        query = query.where(PaymentBatch.status.in_(list(statuses)))
    return list(session.scalars(query.execution_options(populate_existing=True)))


def batch_instructions(session: Session, batch_id: int) -> list[PaymentInstruction]:
    return list(
        session.scalars(
            select(PaymentInstruction)
            .where(PaymentInstruction.batch_id == batch_id)
            .order_by(PaymentInstruction.id)
            .execution_options(populate_existing=True)
        )
    )


def batch_events(session: Session, batch_id: int) -> list[PaymentBatchEvent]:
    return list(
        session.scalars(
            select(PaymentBatchEvent)
            .where(PaymentBatchEvent.batch_id == batch_id)
            .order_by(PaymentBatchEvent.id)
        )
    )


def record_event(
    session: Session,
    batch_id: int,
    *,
    action: str,
    from_status: str | None,
    to_status: str | None,
    actor: str,
    detail: dict[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> None:
    session.add(
        PaymentBatchEvent(
            batch_id=batch_id,
            action=action,
            from_status=from_status,
            to_status=to_status,
            actor=actor,
            at=at or utcnow(),
            detail=detail or {},
        )
    )
    session.flush()


def _transition(
    session: Session,
    batch_id: int,
    *,
    from_statuses: Sequence[str],
    to_status: str,
    conditions: Iterable[Any] = (),
    **values: Any,
) -> bool:
    """The one way a batch changes status: conditional, version-bumping, exactly once."""
    result = session.execute(
        update(PaymentBatch)
        .where(
            PaymentBatch.id == batch_id,
            PaymentBatch.status.in_(list(from_statuses)),
            *conditions,
        )
        .values(status=to_status, version=PaymentBatch.version + 1, **values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def _new_ids(today: dt.date) -> tuple[str, str]:
    """MsgId and PmtInfId: unique per batch, also across database resets (random part)."""
    token = secrets.token_hex(6).upper()
    return f"HHB-M-{today:%Y%m%d}-{token}", f"HHB-P-{today:%Y%m%d}-{token}"


def refresh_proposal_totals(session: Session, batch_ids: Iterable[int]) -> None:
    """Recount a proposed batch's payments (its totals are frozen at prepare)."""
    ids = list(set(batch_ids))
    if not ids:
        return
    totals = {
        batch_id: (int(count), int(total or 0))
        for batch_id, count, total in session.execute(
            select(
                PaymentInstruction.batch_id,
                func.count(PaymentInstruction.id),
                func.sum(PaymentInstruction.amount_cents),
            )
            .where(PaymentInstruction.batch_id.in_(ids), PaymentInstruction.status == "batched")
            .group_by(PaymentInstruction.batch_id)
        )
    }
    for batch_id in ids:
        count, total = totals.get(batch_id, (0, 0))
        session.execute(
            update(PaymentBatch)
            .where(PaymentBatch.id == batch_id, PaymentBatch.status == "proposed")
            .values(instruction_count=count, control_sum_cents=total)
            .execution_options(synchronize_session=False)
        )


# ------------------------------------------------------------------ propose


def propose_batches(
    session: Session, *, actor: str = SYSTEM_ACTOR, today: dt.date | None = None
) -> list[PaymentBatch]:
    """Put every payable payment into the open proposal for its execution date and debtor
    account; returns all proposed batches.

    A payment whose requested execution date has passed goes into today's proposal, and
    a proposal whose execution date has passed is superseded: its payments move too.
    Proposing moves no money.
    """
    today = today or today_amsterdam()
    for stale in session.scalars(
        select(PaymentBatch.id).where(
            PaymentBatch.status == "proposed", PaymentBatch.execution_date < today
        )
    ).all():
        if _transition(
            session,
            stale,
            from_statuses=("proposed",),
            to_status="cancelled",
            cancelled_by=actor,
            cancelled_at=utcnow(),
        ):
            session.execute(
                update(PaymentInstruction)
                .where(PaymentInstruction.batch_id == stale, PaymentInstruction.status == "batched")
                .values(status="payable", batch_id=None, updated_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            record_event(
                session,
                stale,
                action="superseded",
                from_status="proposed",
                to_status="cancelled",
                actor=actor,
                detail={"reason": "execution date passed; payments moved to a new proposal"},
            )
    groups: dict[tuple[dt.date, int], list[int]] = defaultdict(list)
    for instruction_id, requested, debtor_account_id in session.execute(
        select(
            PaymentInstruction.id,
            PaymentInstruction.requested_execution_date,
            PaymentInstruction.debtor_account_id,
        )
        .where(PaymentInstruction.status == "payable", PaymentInstruction.batch_id.is_(None))
        .order_by(PaymentInstruction.id)
    ):
        groups[(max(requested, today), debtor_account_id)].append(instruction_id)
    touched: list[int] = []
    for (execution_date, debtor_account_id), instruction_ids in sorted(groups.items()):
        batch_id = _open_proposal(session, execution_date, debtor_account_id, actor, today)
        added = 0
        for start in range(0, len(instruction_ids), _CHUNK):
            result = session.execute(
                update(PaymentInstruction)
                .where(
                    PaymentInstruction.id.in_(instruction_ids[start : start + _CHUNK]),
                    PaymentInstruction.status == "payable",
                    PaymentInstruction.batch_id.is_(None),
                )
                .values(status="batched", batch_id=batch_id, updated_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            added += result.rowcount  # type: ignore[attr-defined]
        record_event(
            session,
            batch_id,
            action="payments_added",
            from_status="proposed",
            to_status="proposed",
            actor=actor,
            detail={"count": added},
        )
        touched.append(batch_id)
    refresh_proposal_totals(session, touched)
    return list_batches(session, statuses=("proposed",))


def _open_proposal(
    session: Session, execution_date: dt.date, debtor_account_id: int, actor: str, today: dt.date
) -> int:
    """The open proposal for this date and account, locked; created when there is none."""
    for _ in range(3):
        existing = session.scalar(
            select(PaymentBatch.id).where(
                PaymentBatch.status == "proposed",
                PaymentBatch.execution_date == execution_date,
                PaymentBatch.debtor_account_id == debtor_account_id,
            )
        )
        if existing is not None:
            # Lock it: a concurrent prepare either went first (we make a new one) or waits.
            locked = session.execute(
                update(PaymentBatch)
                .where(PaymentBatch.id == existing, PaymentBatch.status == "proposed")
                .values(version=PaymentBatch.version + 1)
                .execution_options(synchronize_session=False)
            )
            if locked.rowcount == 1:  # type: ignore[attr-defined]
                return int(existing)
            continue
        message_id, pmt_inf_id = _new_ids(today)
        batch = PaymentBatch(
            execution_date=execution_date,
            debtor_account_id=debtor_account_id,
            status="proposed",
            version=1,
            message_id=message_id,
            pmt_inf_id=pmt_inf_id,
            control_sum_cents=0,
            instruction_count=0,
        )
        try:
            with session.begin_nested():
                session.add(batch)
        except IntegrityError:
            continue  # a concurrent proposer created it; take theirs
        record_event(
            session,
            batch.id,
            action="proposed",
            from_status=None,
            to_status="proposed",
            actor=actor,
        )
        return batch.id
    raise BatchStateConflict("could not open a payment proposal; try again")


# ------------------------------------------------------------------ prepare / approve


def prepare_batch(
    session: Session,
    batch_id: int,
    *,
    actor: str,
    expected_version: int | None = None,
    today: dt.date | None = None,
) -> PaymentBatch:
    """Finance user A freezes a proposal: its payments and control sum no longer change."""
    today = today or today_amsterdam()
    conditions: list[Any] = [PaymentBatch.execution_date >= today]
    if expected_version is not None:
        conditions.append(PaymentBatch.version == expected_version)
    now = utcnow()
    if not _transition(
        session,
        batch_id,
        from_statuses=("proposed",),
        to_status="prepared",
        conditions=conditions,
        prepared_by=actor,
        prepared_at=now,
    ):
        batch = get_batch(session, batch_id)
        if batch.status != "proposed":
            raise BatchStateConflict(
                f"batch {batch_id} is {batch.status}; only a proposed batch can be prepared"
            )
        if batch.execution_date < today:
            raise BatchStateConflict(
                f"batch {batch_id} was for {batch.execution_date}, which has passed; "
                "run `payments propose` to move its payments to a new batch"
            )
        raise BatchStateConflict(
            f"batch {batch_id} changed since you looked at it (version {batch.version}); "
            "check it again"
        )
    count, total = session.execute(
        select(func.count(PaymentInstruction.id), func.sum(PaymentInstruction.amount_cents)).where(
            PaymentInstruction.batch_id == batch_id, PaymentInstruction.status == "batched"
        )
    ).one()
    if not count:
        raise BatchStateConflict(f"batch {batch_id} has no payments to prepare")
    session.execute(
        update(PaymentBatch)
        .where(PaymentBatch.id == batch_id)
        .values(instruction_count=int(count), control_sum_cents=int(total))
        .execution_options(synchronize_session=False)
    )
    record_event(
        session,
        batch_id,
        action="prepared",
        from_status="proposed",
        to_status="prepared",
        actor=actor,
        at=now,
        detail={"count": int(count), "control_sum_cents": int(total)},
    )
    return get_batch(session, batch_id)


def approve_batch(
    session: Session, batch_id: int, *, actor: str, expected_version: int | None = None
) -> PaymentBatch:
    """Finance user B approves what A prepared. B is never A; concurrent approvals have
    exactly one effect."""
    conditions: list[Any] = [PaymentBatch.prepared_by != actor]
    if expected_version is not None:
        conditions.append(PaymentBatch.version == expected_version)
    now = utcnow()
    if not _transition(
        session,
        batch_id,
        from_statuses=("prepared",),
        to_status="approved",
        conditions=conditions,
        approved_by=actor,
        approved_at=now,
    ):
        batch = get_batch(session, batch_id)
        if batch.status == "prepared" and batch.prepared_by == actor:
            raise FourEyesViolation(
                f"{actor} prepared batch {batch_id}; another finance user must approve it"
            )
        if batch.status == "approved":
            raise BatchStateConflict(
                f"batch {batch_id} was already approved by {batch.approved_by}"
            )
        if batch.status != "prepared":
            raise BatchStateConflict(
                f"batch {batch_id} is {batch.status}; only a prepared batch can be approved"
            )
        raise BatchStateConflict(
            f"batch {batch_id} changed since you looked at it (version {batch.version})"
        )
    batch = get_batch(session, batch_id)
    record_event(
        session,
        batch_id,
        action="approved",
        from_status="prepared",
        to_status="approved",
        actor=actor,
        at=now,
        detail={
            "count": batch.instruction_count,
            "control_sum_cents": batch.control_sum_cents,
            "prepared_by": batch.prepared_by,
        },
    )
    return batch


# ------------------------------------------------------------------ export


def export_batch(
    session: Session,
    batch_id: int,
    *,
    actor: str,
    file_format: str | None = None,
    today: dt.date | None = None,
) -> ExportedFile:
    """The batch's pain.001 file. The first export builds, validates and stores it and
    moves the money payable → in_transit; every later export returns the stored bytes.

    An unapproved batch is never exported; an exported batch is never exported as a
    different file (another format is refused).
    """
    if file_format is not None and file_format not in FORMATS:
        raise InvalidInput(f"format must be one of {', '.join(FORMATS)}")
    # Lock the batch row first (PostgreSQL; SQLite has one writer anyway): a second
    # export started at the same moment waits here until the first commits, then finds
    # the stored file. Without the lock it read the instructions the first had just
    # moved and refused the batch as changed.
    batch = session.scalars(
        select(PaymentBatch)
        .where(PaymentBatch.id == batch_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()
    if batch is None:
        raise BatchNotFound(f"payment batch {batch_id} does not exist")
    if batch.file_bytes is not None:
        return _stored_file(session, batch, actor=actor, file_format=file_format)
    if batch.status != "approved":
        raise BatchStateConflict(
            f"batch {batch_id} is {batch.status}; only an approved batch can be exported "
            "(prepared by one finance user, approved by another)"
        )
    today = today or today_amsterdam()
    chosen_format = file_format or DEFAULT_FORMAT
    instructions = [i for i in batch_instructions(session, batch_id) if i.status == "batched"]
    total = sum(instruction.amount_cents for instruction in instructions)
    if len(instructions) != batch.instruction_count or total != batch.control_sum_cents:
        raise BatchStateConflict(
            f"batch {batch_id} no longer holds what was approved "
            f"({len(instructions)} payments, {Money(total)}; approved "
            f"{batch.instruction_count}, {Money(batch.control_sum_cents)})"
        )
    debtor = session.get(MunicipalBankAccount, batch.debtor_account_id)
    assert debtor is not None, "foreign key guarantees the debtor account"
    now = utcnow()
    sepa_file = build_file(
        FileHeader(
            message_id=batch.message_id,
            payment_information_id=batch.pmt_inf_id,
            created_at=now,
            execution_date=batch.execution_date,
            debtor_name=debtor.name,
            debtor_iban=debtor.iban,
            debtor_bic=debtor.bic,
        ),
        [
            FilePayment(
                end_to_end_id=instruction.end_to_end_id,
                amount_cents=instruction.amount_cents,
                creditor_name=instruction.creditor_name,
                creditor_iban=instruction.creditor_iban,
                creditor_bic=instruction.creditor_bic,
                remittance=instruction.remittance_unstructured,
                creditor_reference=instruction.creditor_reference,
            )
            for instruction in instructions
        ],
        file_format=chosen_format,
    )
    if not _transition(
        session,
        batch_id,
        from_statuses=("approved",),
        to_status="exported",
        format=chosen_format,
        file_bytes=sepa_file.content,
        file_sha256=sepa_file.sha256,
        file_sha1=sepa_file.sha1,
        exported_by=actor,
        exported_at=now,
    ):
        # Someone else exported (or cancelled) it in the meantime: theirs is the file.
        batch = get_batch(session, batch_id)
        if batch.file_bytes is not None:
            return _stored_file(session, batch, actor=actor, file_format=file_format)
        raise BatchStateConflict(f"batch {batch_id} is {batch.status}; it cannot be exported")
    _post_export_entries(session, instructions, actor=actor, today=today)
    moved = 0
    ids = [instruction.id for instruction in instructions]
    for start in range(0, len(ids), _CHUNK):
        result = session.execute(
            update(PaymentInstruction)
            .where(
                PaymentInstruction.id.in_(ids[start : start + _CHUNK]),
                PaymentInstruction.status == "batched",
            )
            .values(status="exported", updated_at=now)
            .execution_options(synchronize_session=False)
        )
        moved += result.rowcount  # type: ignore[attr-defined]
    if moved != len(ids):
        raise BatchStateConflict(f"batch {batch_id}: payments changed during the export")
    record_event(
        session,
        batch_id,
        action="exported",
        from_status="approved",
        to_status="exported",
        actor=actor,
        at=now,
        detail={
            "format": chosen_format,
            "sha256": sepa_file.sha256,
            "sha1": sepa_file.sha1,
            "count": sepa_file.transaction_count,
            "control_sum_cents": sepa_file.control_sum_cents,
        },
    )
    return ExportedFile(
        batch_id=batch_id,
        file_format=chosen_format,
        content=sepa_file.content,
        sha256=sepa_file.sha256,
        sha1=sepa_file.sha1,
        message_id=batch.message_id,
        control_sum_cents=sepa_file.control_sum_cents,
        transaction_count=sepa_file.transaction_count,
        first_export=True,
    )


def _stored_file(
    session: Session, batch: PaymentBatch, *, actor: str, file_format: str | None
) -> ExportedFile:
    assert batch.file_bytes is not None and batch.format is not None
    if file_format is not None and file_format != batch.format:
        raise BatchStateConflict(
            f"batch {batch.id} was exported as {batch.format}; it is never exported as a "
            "different file (that could pay everything twice)"
        )
    record_event(
        session,
        batch.id,
        action="downloaded",
        from_status=batch.status,
        to_status=batch.status,
        actor=actor,
        detail={"sha256": batch.file_sha256},
    )
    return ExportedFile(
        batch_id=batch.id,
        file_format=batch.format,
        content=batch.file_bytes,
        sha256=batch.file_sha256 or "",
        sha1=batch.file_sha1 or "",
        message_id=batch.message_id,
        control_sum_cents=batch.control_sum_cents,
        transaction_count=batch.instruction_count,
        first_export=False,
    )


def _post_export_entries(
    session: Session, instructions: Sequence[PaymentInstruction], *, actor: str, today: dt.date
) -> None:
    in_transit = AccountRef.in_transit()
    entries = []
    for instruction in instructions:
        amount = Money(instruction.amount_cents)
        entries.append(
            JournalEntry(
                idempotency_key=f"payments:export:{instruction.end_to_end_id}",
                booking_date=today,
                reason_code="payment.exported",
                explanation=(
                    f"De betaling van {amount.format_nl()} aan {payee_words(instruction)[0]} "
                    "is naar de bank gestuurd."
                ),
                explanation_en=(
                    f"The payment of EUR {amount} to {payee_words(instruction)[1]} was sent "
                    "to the bank."
                ),
                postings=(
                    Posting(
                        AccountRef.of_participant(instruction.participant_id, AccountKind.PAYABLE),
                        instruction.amount_cents,
                    ),
                    Posting(in_transit, -instruction.amount_cents),
                ),
            )
        )
    post_entries(session, entries, created_by=actor)


# ------------------------------------------------------------------ cancel


def cancel_batch(
    session: Session,
    batch_id: int,
    *,
    actor: str,
    reason: str,
    release: bool = False,
    today: dt.date | None = None,
) -> PaymentBatch:
    """Cancel a batch before export.

    By default every payment in it is cancelled and its payable entry reversed, so the
    money goes back where it came from. With `release=True` the payments go back to
    payable instead, to be proposed again in a new batch (no money moves).
    """
    if not reason.strip():
        raise InvalidInput("say why the batch is cancelled")
    before = get_batch(session, batch_id)
    now = utcnow()
    if not _transition(
        session,
        batch_id,
        from_statuses=OPEN_STATUSES,
        to_status="cancelled",
        cancelled_by=actor,
        cancelled_at=now,
    ):
        batch = get_batch(session, batch_id)
        raise BatchStateConflict(
            f"batch {batch_id} is {batch.status}; only a batch that is not exported can be "
            "cancelled (after export, ask the bank to stop it and import its rejection)"
        )
    instructions = [i for i in batch_instructions(session, batch_id) if i.status == "batched"]
    ids = [instruction.id for instruction in instructions]
    values: dict[str, Any] = (
        {"status": "payable", "batch_id": None} if release else {"status": "cancelled"}
    )
    for start in range(0, len(ids), _CHUNK):
        session.execute(
            update(PaymentInstruction)
            .where(
                PaymentInstruction.id.in_(ids[start : start + _CHUNK]),
                PaymentInstruction.status == "batched",
            )
            .values(updated_at=now, **values)
            .execution_options(synchronize_session=False)
        )
    if not release:
        reverse_payable_entries(
            session, instructions, actor=actor, reason=reason, today=today or today_amsterdam()
        )
    record_event(
        session,
        batch_id,
        action="released" if release else "cancelled",
        from_status=before.status,
        to_status="cancelled",
        actor=actor,
        at=now,
        detail={"reason": reason, "payments": len(ids), "money_returned": not release},
    )
    return get_batch(session, batch_id)


# ------------------------------------------------------------------ outcome


def refresh_batch_outcome(session: Session, batch_id: int, *, actor: str) -> PaymentBatch:
    """After settlements, returns and rejections: settled, partly_returned or rejected once
    no payment is waiting for the bank any more."""
    batch = get_batch(session, batch_id)
    if batch.status not in EXPORTED_STATUSES:
        return batch
    counts = dict(
        session.execute(
            select(PaymentInstruction.status, func.count(PaymentInstruction.id))
            .where(PaymentInstruction.batch_id == batch_id)
            .group_by(PaymentInstruction.status)
        ).all()
    )
    if counts.get("exported", 0):
        target = "partly_returned" if counts.get("returned") else "exported"
    elif set(counts) == {"settled"}:
        target = "settled"
    elif set(counts) == {"rejected"}:
        target = "rejected"
    else:
        target = "partly_returned"
    if target != batch.status and _transition(
        session, batch_id, from_statuses=(batch.status,), to_status=target
    ):
        record_event(
            session,
            batch_id,
            action=target,
            from_status=batch.status,
            to_status=target,
            actor=actor,
            detail={status: int(count) for status, count in counts.items()},
        )
    return get_batch(session, batch_id)
