"""Benchmark: how the daily cycle's balance load grows with a participant's history.

Not a test. Run it with:

    .venv/bin/python benchmarks/history_growth.py [--participants 2000]
        [--postings 1000] [--database-url URL]   (default: a fresh SQLite file)

The cycle loads each participant's balances with `backend.cycle.loading.
holdings_and_counts`. It used to sum every posting on the participant's accounts (one
pass over the covering posting index); it now reads the kept balances
(`ledger_account_balance`) and counts only the postings after the cached state. The
bench's heavy day is day 16 of the plans, a few
dozen postings per participant; a year of real history is about 1,000 (incomes, fixed
costs reserved and paid, weekly living money, buffer moves). This script times the load
for the same participants before and after adding `--postings` rows to each (pairs of
+1/−1 cents on their available account, so the balances do not change; booked on the
first entry, i.e. history before the cached state, and added to the kept balances as
the write path would), in the same process, and prints both and their ratio.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select

from backend.cycle import loading, run_daily_cycle
from backend.db import make_engine, make_session_factory, transaction
from backend.ledger_store import balances
from backend.ledger_store.accounts import resolve_account_ids
from backend.ledger_store.driver import insert_rows
from backend.models import JournalEntryRecord, PostingRecord
from benchmarks.bench import _setup_municipality
from benchmarks.municipality import PLAN_START
from ledger import AccountKind, AccountRef

ROUNDS = 3


def _load_ms_per_participant(url: str, ids: list[int]) -> tuple[float, float]:
    """The best of a few rounds: CPU and wall-clock milliseconds per participant (on
    PostgreSQL the server's work shows in the wall clock only)."""
    engine = make_engine(url)
    factory = make_session_factory(engine)
    best_cpu = best_wall = float("inf")
    for _ in range(ROUNDS):
        with factory() as session:
            started, started_wall = time.process_time(), time.perf_counter()
            loading.holdings_and_counts(session, ids)
            best_cpu = min(best_cpu, time.process_time() - started)
            best_wall = min(best_wall, time.perf_counter() - started_wall)
    engine.dispose()
    return best_cpu * 1000 / len(ids), best_wall * 1000 / len(ids)


def _settle(url: str) -> None:
    """PostgreSQL: VACUUM ANALYZE, as autovacuum would have done while a year of history
    built up (right after a bulk load the planner's statistics are stale and index-only
    scans visit the heap, which no real database shows for long)."""
    if not url.startswith("postgresql"):
        return
    engine = make_engine(url)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()


def _add_history(url: str, ids: list[int], postings: int) -> None:
    engine = make_engine(url)
    with transaction(make_session_factory(engine), write=True) as session:
        refs = {pid: AccountRef.of_participant(pid, AccountKind.AVAILABLE) for pid in ids}
        known = resolve_account_ids(session, refs.values())
        accounts = {pid: known[ref] for pid, ref in refs.items()}
        entry_id = session.scalar(select(JournalEntryRecord.id).limit(1))
        assert entry_id is not None  # the first cycle booked entries
        rows = [
            (entry_id, accounts[pid], 1 if n % 2 == 0 else -1)
            for pid in ids
            for n in range(postings)
        ]
        table = PostingRecord.__table__
        insert_rows(
            session.connection(),
            table,  # type: ignore[arg-type]
            ("journal_entry_id", "account_id", "amount_cents"),
            rows,
        )
        balances.add_postings(session.connection(), rows, set(accounts.values()))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=2000)
    parser.add_argument("--postings", type=int, default=1000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    if args.postings % 2:
        parser.error("--postings must be even (pairs of +1 and −1 cents)")
    directory = tempfile.mkdtemp(prefix="hhb-history-")
    url = args.database_url or f"sqlite:///{directory}/history.db"
    plans = _setup_municipality(url, args.participants, 7)
    engine = make_engine(url)
    run_daily_cycle(make_session_factory(engine), today=PLAN_START)
    engine.dispose()
    ids = sorted(plans)
    _settle(url)
    before, before_wall = _load_ms_per_participant(url, ids)
    _add_history(url, ids, args.postings)
    _settle(url)
    after, after_wall = _load_ms_per_participant(url, ids)
    print(f"balance load, {len(ids):,} participants ({url.split(':')[0]}):")
    print(
        f"  at the start of their plans: {before:.3f} ms CPU per participant "
        f"({before_wall:.3f} ms wall clock)"
    )
    print(
        f"  with {args.postings:,} more postings each: {after:.3f} ms CPU per participant "
        f"({after_wall:.3f} ms wall clock)"
    )
    print(f"  ratio {after / before:.1f}x (wall clock {after_wall / before_wall:.1f}x)")
    print(
        f"  at 100,000 participants that adds {(after - before) * 100:.1f} s CPU "
        f"({(after_wall - before_wall) * 100:.1f} s wall clock) to every daily cycle per this "
        "much history"
    )


if __name__ == "__main__":
    main()
