"""Benchmark: 10,000 payment instructions through batch, SEPA export and settlement.

Not a test. Run it with:

    .venv/bin/python benchmarks/payments_export.py [--payments 10000] [--format pain.001.001.09]
        [--database-url URL]   (default: a fresh SQLite file in a temporary directory)

It creates participants with money, posts the payable entries the daily cycle would
post, creates the instructions in bulk, proposes, prepares (fenna), approves (frank),
exports (build with sepaxml, validate against the XSD with lxml, store, post the
payable → in_transit entries), validates the file again on its own, settles the batch
booking and reconciles; it prints the time of each step and instructions per second.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backend.config import Settings
from backend.db import make_engine, make_session_factory, transaction
from backend.ledger_store import post_entries
from backend.migrate import upgrade
from backend.municipality.service import add_bank_account, ensure_system_accounts
from backend.participants.service import create_household, create_participant
from backend.payments import (
    InstructionRequest,
    approve_batch,
    create_payment_instructions,
    export_batch,
    prepare_batch,
    propose_batches,
    reconcile,
    settle_batch_booking,
)
from backend.payments.sepa_file import check_file
from ledger import AccountKind, AccountRef, JournalEntry, Posting

IBAN = "NL84BNGH0285050123"
CREDITORS = (
    ("Mitros", "NL44RABO0123456789"),
    ("Eneco", "NL91ABNA0417164300"),
    ("Zoë Ĳzerman", "NL79INGB0002468024"),
    ("Zilveren Kruis", "NL30RABO0301234567"),
)
TODAY = dt.date(2026, 11, 30)
T = TypeVar("T")


def valid_bsns() -> Iterator[str]:
    """BSNs that pass the 11-proef, in order (fictitious)."""
    number = 10_000_000
    while True:
        number += 1
        digits = [int(d) for d in f"{number:08d}"]
        remainder = sum(d * w for d, w in zip(digits, range(9, 1, -1), strict=True)) % 11
        if remainder < 10:
            yield f"{number:08d}{remainder}"


@contextmanager
def timed(label: str, results: dict[str, float]) -> Iterator[None]:
    start = time.perf_counter()
    yield
    results[label] = time.perf_counter() - start
    print(f"{label:<48} {results[label]:8.2f} s", flush=True)


def run(payments: int, file_format: str, database_url: str) -> None:
    upgrade(database_url)
    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    settings = Settings(database_url=database_url, demo=True)
    cipher = settings.field_cipher()
    participants_count = max(1, payments // 20)
    results: dict[str, float] = {}

    def unit(work: Callable[..., T]) -> T:
        with transaction(factory, write=True) as session:
            return work(session)

    with timed(f"setup: {participants_count} participants with income", results):

        def setup(session):  # type: ignore[no-untyped-def]
            add_bank_account(session, iban=IBAN, name="Gemeente Budgetbeheer", bic="BNGHNL2G")
            ensure_system_accounts(session)
            household = create_household(session, name="Benchmark")
            bsns = valid_bsns()
            ids = [
                create_participant(
                    session,
                    cipher,
                    household_id=household.id,
                    display_name=f"Deelnemer {i}",
                    bsn=next(bsns),
                    own_iban=None,
                    started_on=TODAY,
                ).id
                for i in range(participants_count)
            ]
            post_entries(
                session,
                [
                    JournalEntry(
                        idempotency_key=f"bench:income:{pid}",
                        booking_date=TODAY,
                        reason_code="income.matched",
                        explanation="Inkomen",
                        postings=(
                            Posting(AccountRef.bank(IBAN), 10_000_000),
                            Posting(
                                AccountRef.of_participant(pid, AccountKind.AVAILABLE), -10_000_000
                            ),
                        ),
                    )
                    for pid in ids
                ],
                created_by="benchmark",
            )
            return ids

        participant_ids = unit(setup)

    requests: list[InstructionRequest] = []
    entries: list[JournalEntry] = []
    for index in range(payments):
        pid = participant_ids[index % len(participant_ids)]
        cents = 1_000 + (index * 7919) % 150_000
        entry = JournalEntry(
            idempotency_key=f"bench:pay:{index}",
            booking_date=TODAY,
            reason_code="living_money.pay",
            explanation="Betaling",
            postings=(
                Posting(AccountRef.of_participant(pid, AccountKind.AVAILABLE), cents),
                Posting(AccountRef.of_participant(pid, AccountKind.PAYABLE), -cents),
            ),
        )
        name, iban = CREDITORS[index % len(CREDITORS)]
        entries.append(entry)
        requests.append(
            InstructionRequest(
                entry=entry,
                participant_id=pid,
                kind="fixed_cost",
                creditor_name=name,
                creditor_iban=iban,
                amount_cents=cents,
                due_date=TODAY + dt.timedelta(days=1),
                execution_date=TODAY,
                remittance=f"Betaling {index} december",
                creditor_reference="5000056789012345" if index % 3 == 0 else None,
                source_kind="available",
                debtor_iban=IBAN,
            )
        )
    with timed(f"cycle: post {payments} payable entries", results):
        unit(lambda session: post_entries(session, entries, created_by="benchmark"))
    with timed(f"create {payments} payment instructions (bulk)", results):
        unit(lambda session: create_payment_instructions(session, requests))
    with timed("propose", results):
        (batch,) = unit(lambda session: propose_batches(session, today=TODAY))
    with timed("prepare (fenna) + approve (frank)", results):
        unit(lambda session: prepare_batch(session, batch.id, actor="fenna", today=TODAY))
        unit(lambda session: approve_batch(session, batch.id, actor="frank"))
    with timed(f"export {file_format}: build + XSD + store + ledger", results):
        exported = unit(
            lambda session: export_batch(
                session, batch.id, actor="frank", file_format=file_format, today=TODAY
            )
        )
    with timed("validate the file again on its own (lxml XSD)", results):
        check_file(exported.content, file_format=file_format)
    with timed("re-export (stored bytes)", results):
        again = unit(lambda session: export_batch(session, batch.id, actor="fenna"))
    assert again.content == exported.content
    with timed("settle the batch booking", results):
        unit(
            lambda session: settle_batch_booking(
                session,
                pmt_inf_id=batch.pmt_inf_id,
                amount_cents=exported.control_sum_cents,
                bank_iban=IBAN,
                booking_date=TODAY + dt.timedelta(days=1),
                bank_reference="BENCH-1",
            )
        )
    with timed("reconcile", results):
        report = unit(lambda session: reconcile(session))
    assert report.ok, report.as_dict()
    engine.dispose()
    export_seconds = results[f"export {file_format}: build + XSD + store + ledger"]
    flow = sum(
        seconds for label, seconds in results.items() if not label.startswith(("setup", "cycle"))
    )
    print(
        f"file: {len(exported.content):,} bytes, {exported.transaction_count} payments, "
        f"SHA-256 {exported.sha256}"
    )
    print(f"export: {payments / export_seconds:,.0f} instructions per second")
    print(f"instructions → settled and reconciled: {payments / flow:,.0f} instructions per second")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payments", type=int, default=10_000)
    parser.add_argument(
        "--format", default="pain.001.001.09", choices=("pain.001.001.09", "pain.001.001.03")
    )
    parser.add_argument("--database-url")
    arguments = parser.parse_args()
    if arguments.database_url:
        run(arguments.payments, arguments.format, arguments.database_url)
        return
    with tempfile.TemporaryDirectory() as directory:
        run(arguments.payments, arguments.format, f"sqlite:///{directory}/benchmark.db")


if __name__ == "__main__":
    main()
