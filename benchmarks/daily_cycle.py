"""Benchmark the daily cycle: N synthetic participants with Anna's plan (MONEY-FLOW.md).

    .venv/bin/python benchmarks/daily_cycle.py --participants 10000 [--days 46]
        [--database-url postgresql://...]

Builds a fresh database (SQLite file by default), gives every participant Anna's plan
(plan_version rows in bulk; the projections are not needed by the cycle), books their
incomes day by day like the import and runs `run_daily_cycle` for every day from
16 October 2026. Prints the timings of each day and of the heavy days: the first run
(every cache built from the ledger), a payday (25th: reserving), a Monday (living
money), the rent day (30 Nov: payments) and a run of the same day again.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, text

from backend.cycle import CycleSummary, run_daily_cycle
from backend.db import make_engine, make_session_factory, transaction
from backend.demo.plans import anna_plan
from backend.ledger_store import post_entries
from backend.migrate import upgrade
from backend.models import Base, PlanVersionRecord
from ledger import AccountKind, AccountRef, JournalEntry, Posting
from tests.cycle.support import (
    ANNA_IBAN,
    PLAN_START,
    add_participants,
    incomes_on,
    municipality,
)

BATCH = 5000


def _setup(database_url: str, count: int) -> dict[int, object]:
    engine = make_engine(database_url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    factory = make_session_factory(engine)
    plans = {}
    with transaction(factory, write=True) as session:
        municipality(session)
        ids = add_participants(session, count)
        template = anna_plan(ids[0], PLAN_START, ANNA_IBAN).model_dump(mode="json")
        rows = []
        for participant_id in ids:
            plans[participant_id] = anna_plan(participant_id, PLAN_START, ANNA_IBAN)
            rows.append(
                {
                    "participant_id": participant_id,
                    "version": 1,
                    "effective_from": PLAN_START,
                    "body": {**template, "participant_id": participant_id},
                    "source": "benchmark",
                    "created_by": "benchmark",
                }
            )
        for start in range(0, len(rows), BATCH):
            session.execute(insert(PlanVersionRecord), rows[start : start + BATCH])
        advances = [
            JournalEntry(
                idempotency_key=f"bench:{participant_id}:advance",
                booking_date=PLAN_START,
                reason_code="buffer.advance",
                explanation="Buffervoorschot.",
                postings=(
                    Posting(
                        AccountRef.of_participant(participant_id, AccountKind.BUFFER_ADVANCE),
                        150_000,
                    ),
                    Posting(
                        AccountRef.of_participant(participant_id, AccountKind.BUFFER), -150_000
                    ),
                ),
            )
            for participant_id in ids
        ]
        for start in range(0, len(advances), BATCH):
            post_entries(session, advances[start : start + BATCH], created_by="benchmark")
    engine.dispose()
    return plans


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=1000)
    parser.add_argument("--days", type=int, default=46)
    parser.add_argument("--chunk-size", type=int, default=1000)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    arguments = parser.parse_args()
    url = arguments.database_url
    if not url:
        path = Path(tempfile.mkdtemp()) / "bench.db"
        url = f"sqlite:///{path}"
    upgrade(url)
    started = time.perf_counter()
    plans = _setup(url, arguments.participants)
    print(f"setup: {arguments.participants} participants in {time.perf_counter() - started:.1f} s")
    engine = make_engine(url)
    factory = make_session_factory(engine)
    # (cpu seconds, wall seconds, summary); cpu time is what counts on a busy machine:
    # with SQLite all the work happens in this process.
    summaries: dict[dt.date, tuple[float, float, CycleSummary]] = {}
    day = PLAN_START
    for _ in range(arguments.days):
        entries = incomes_on(plans, day)  # type: ignore[arg-type]
        import_started = time.perf_counter()
        with transaction(factory, write=True) as session:
            for start in range(0, len(entries), BATCH):
                post_entries(session, entries[start : start + BATCH], created_by="bank-import")
        import_seconds = time.perf_counter() - import_started
        cycle_started, cpu_started = time.perf_counter(), time.process_time()
        summary = run_daily_cycle(factory, today=day, chunk_size=arguments.chunk_size)
        cpu_seconds = time.process_time() - cpu_started
        summaries[day] = (cpu_seconds, time.perf_counter() - cycle_started, summary)
        print(
            f"{day} {day:%a}  import {import_seconds:6.2f} s  cycle {summaries[day][1]:6.2f} s "
            f"(cpu {cpu_seconds:6.2f} s)  "
            f"entries {summary.journal_entries_created:6}  payments "
            f"{summary.payment_instructions_created:6}  alerts {summary.alerts_raised:5}  "
            f"failed {len(summary.failed_participants)}  rebuilds {summary.state_rebuilds:6}  "
            + " ".join(f"{k}={v:.2f}" for k, v in summary.timings_seconds.items()),
            flush=True,
        )
        day += dt.timedelta(days=1)
    again_started = time.perf_counter()
    again = run_daily_cycle(factory, today=day - dt.timedelta(days=1))
    cycle_times = [seconds for _, seconds, _ in summaries.values()]
    cpu_times = [seconds for seconds, _, _ in summaries.values()]
    print(
        f"same day again: {time.perf_counter() - again_started:.2f} s, "
        f"{again.journal_entries_created} entries"
    )
    print(
        f"cycle per day: median {statistics.median(cycle_times):.2f} s, "
        f"max {max(cycle_times):.2f} s, first {cycle_times[0]:.2f} s; "
        f"cpu median {statistics.median(cpu_times):.2f} s, max {max(cpu_times):.2f} s"
    )
    engine.dispose()


if __name__ == "__main__":
    main()
