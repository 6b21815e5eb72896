"""What must hold after every crash, every concurrent run and every simulated day.

`violations(session)` returns the broken invariants as sentences (empty: all hold):

- `check_ledger` (what `huishoudboekje ledger check` runs): every entry balanced and
  untampered, no account below zero where it may not be;
- `reconcile` (what `huishoudboekje reconcile` runs): bank = last statement's closing
  balance, Σ participants + suspense + in_transit = bank, in_transit = exported and
  unsettled payments, payable = payments not exported yet;
- no payment twice: end-to-end ids unique, one live payment per (participant,
  creditor, kind, due date), every exported payment in an exported batch, each batch
  exported once (one `exported` event);
- every bank entry once: one row per (account, bank dedup key).

`export_file_violations` adds: one pain.001 file per exported batch, with the bytes
the batch recorded, and no end-to-end id in two files.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.ledger_store import check_ledger
from backend.models import (
    BankEntryRecord,
    PaymentBatch,
    PaymentBatchEvent,
    PaymentInstruction,
)
from backend.payments.reconcile import reconcile

LIVE_STATUSES = ("payable", "batched", "exported", "settled")
EXPORTED_BATCH_STATUSES = ("exported", "settled", "partly_returned", "rejected")
_END_TO_END = re.compile(rb"<EndToEndId>([^<]+)</EndToEndId>")


def violations(session: Session) -> list[str]:
    found = [
        f"ledger check: {violation.code} at "
        f"{violation.entry_key or violation.account or 'ledger'}: {violation.message}"
        for violation in check_ledger(session)
    ]
    report = reconcile(session)
    found += [f"reconcile: {difference.message}" for difference in report.differences]
    found += _payment_violations(session)
    found += _bank_entry_violations(session)
    return found


def _payment_violations(session: Session) -> list[str]:
    found: list[str] = []
    rows = session.execute(
        select(
            PaymentInstruction.id,
            PaymentInstruction.participant_id,
            PaymentInstruction.creditor_iban,
            PaymentInstruction.kind,
            PaymentInstruction.due_date,
            PaymentInstruction.end_to_end_id,
            PaymentInstruction.status,
            PaymentInstruction.batch_id,
        )
    ).all()
    ids = Counter(row.end_to_end_id for row in rows)
    found += [f"end-to-end id {e2e} used {n} times" for e2e, n in ids.items() if n > 1]
    live = Counter(
        (row.participant_id, row.creditor_iban, row.kind, row.due_date)
        for row in rows
        if row.status in LIVE_STATUSES
    )
    found += [f"payment {key} is live {n} times" for key, n in live.items() if n > 1]
    batch_status = dict(session.execute(select(PaymentBatch.id, PaymentBatch.status)).all())
    for row in rows:
        if row.status in ("exported", "settled") and (
            row.batch_id is None or batch_status.get(row.batch_id) not in EXPORTED_BATCH_STATUSES
        ):
            found.append(
                f"payment {row.id} is {row.status} but its batch {row.batch_id} is "
                f"{batch_status.get(row.batch_id)}"
            )
        if row.status in ("payable", "batched") and batch_status.get(row.batch_id) in (
            EXPORTED_BATCH_STATUSES
        ):
            found.append(f"payment {row.id} is {row.status} in exported batch {row.batch_id}")
    exports = session.execute(
        select(PaymentBatchEvent.batch_id, func.count())
        .where(PaymentBatchEvent.action == "exported")
        .group_by(PaymentBatchEvent.batch_id)
    ).all()
    found += [f"batch {batch_id} exported {n} times" for batch_id, n in exports if n > 1]
    return found


def _bank_entry_violations(session: Session) -> list[str]:
    duplicates = session.execute(
        select(BankEntryRecord.account_iban, BankEntryRecord.dedup_key, func.count())
        .group_by(BankEntryRecord.account_iban, BankEntryRecord.dedup_key)
        .having(func.count() > 1)
    ).all()
    return [f"bank entry {key} of {iban} stored {n} times" for iban, key, n in duplicates]


def export_file_violations(session: Session, directory: Path) -> list[str]:
    """One file per exported batch with the recorded bytes; no payment in two files."""
    found: list[str] = []
    batches = {
        batch.id: batch
        for batch in session.scalars(
            select(PaymentBatch).where(PaymentBatch.file_sha256.is_not(None))
        )
    }
    files = {int(path.stem.split("-")[1]): path for path in directory.glob("batch-*.xml")}
    found += [f"exported batch {bid} has no file" for bid in batches if bid not in files]
    found += [f"file for unexported batch {bid}" for bid in files if bid not in batches]
    seen: Counter[bytes] = Counter()
    for bid, path in files.items():
        content = path.read_bytes()
        if bid in batches and hashlib.sha256(content).hexdigest() != batches[bid].file_sha256:
            found.append(f"file of batch {bid} differs from the bytes the batch recorded")
        seen.update(_END_TO_END.findall(content))
    found += [f"end-to-end id {e2e!r} in {n} files" for e2e, n in seen.items() if n > 1]
    return found
