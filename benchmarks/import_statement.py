"""Benchmark: import a generated CAMT.053 statement of 100,000 entries.

Not a test. Run it with:

    .venv/bin/python benchmarks/import_statement.py [--entries 100000] [--seed 7]
        [--version camt.053.001.02|camt.053.001.08] [--participants 200]
        [--postgres URL]   (also import into PostgreSQL; THAT DATABASE IS EMPTIED)
        [--second-process]

The statement comes from `backend.bank.generate_camt053` (half credits from the usual
payers, half debits, every 50th entry a batch of three), written to a file in a child
process so the peak memory reported is the import's own. In the same run it times:

- a bare lxml `iterparse` pass over the file (parse only, elements cleared);
- `read_statement_file` (hardened parse + XSD validation + extracting the fields);
- `import_statement_file` into a fresh, migrated SQLite database (and PostgreSQL):
  read, dedup, match against income agreements of `--participants` participants
  (none match: the amounts are random), book every entry and store it;
- the same file imported again (every entry a duplicate; nothing written).

It prints entries per second (wall clock, and per CPU-second of this process plus a
reading process it started), the ratio of the import's time to the bare lxml pass, and
the peak resident memory of the process. `--second-process` reads the file in a second
process while booking (HUISHOUDBOEKJE_IMPORT_PIPELINE_MIN_BYTES=0, see
`backend.bank.background`; of little use for this file of one statement).
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lxml import etree
from sqlalchemy import func, select, text

from backend.bank import StatementFormat, generate_camt053, read_statement_file
from backend.bank_import import import_statement_file
from backend.config import Settings
from backend.db import make_engine, make_session_factory, transaction
from backend.migrate import upgrade
from backend.models import BankEntryRecord, PostingRecord
from backend.municipality.service import add_bank_account, ensure_system_accounts
from backend.participants.service import create_household, create_participant
from backend.plans import store_plan_version
from rules import IncomeAgreement, IncomeKind, MonthlySchedule, Plan

IBAN = "NL84BNGH0285050123"
PAYER = ("Gemeente Utrecht Werk en Inkomen", "NL02BNGH0285128714")
BOOKING_DATE = dt.date(2024, 11, 15)


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    """CPU time of this process and of its children that have ended (the reader)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@contextmanager
def timed(label: str, results: dict[str, float]) -> Iterator[None]:
    start, cpu_start = time.perf_counter(), cpu_seconds()
    yield
    results[label] = time.perf_counter() - start
    results[f"{label} (cpu)"] = cpu = cpu_seconds() - cpu_start
    print(
        f"  {label:<46} {results[label]:8.2f} s  cpu {cpu:6.2f} s  "
        f"(peak RSS {peak_rss_mb():7.0f} MB)",
        flush=True,
    )


def _write_statement(path: str, entries: int, seed: int, version: str) -> None:
    Path(path).write_bytes(generate_camt053(entries, seed, version=StatementFormat(version)))


def bare_iterparse(path: Path) -> int:
    """The floor: lxml parsing every element once, clearing as it goes (no validation)."""
    count = 0
    for _event, element in etree.iterparse(
        str(path), events=("end",), tag="{*}Ntry", resolve_entities=False, no_network=True
    ):
        count += 1
        element.clear(keep_tail=True)
    return count


def valid_bsns() -> Iterator[str]:
    number = 10_000_000
    while True:
        number += 1
        digits = [int(d) for d in f"{number:08d}"]
        remainder = sum(d * w for d, w in zip(digits, range(9, 1, -1), strict=True)) % 11
        if remainder < 10:
            yield f"{number:08d}{remainder}"


def prepare_database(url: str, participants: int) -> None:
    upgrade(url)
    engine = make_engine(url)
    cipher = Settings(database_url=url, demo=True).field_cipher()
    with transaction(make_session_factory(engine), write=True) as session:
        add_bank_account(session, iban=IBAN, name="Gemeente Budgetbeheer", bic="BNGHNL2G")
        ensure_system_accounts(session)
        household = create_household(session, name="Benchmark")
        bsns = valid_bsns()
        for index in range(participants):
            participant = create_participant(
                session,
                cipher,
                household_id=household.id,
                display_name=f"Deelnemer {index}",
                bsn=next(bsns),
                own_iban=None,
                started_on=dt.date(2024, 10, 1),
            )
            agreement = IncomeAgreement(
                agreement_id="uitkering",
                payer_name=PAYER[0],
                payer_iban=PAYER[1],
                search_terms=("Participatiewet", f"klantnr {9_000_000 + index}"),
                expected_amount_cents=100_000 + index * 37,
                tolerance_cents=500,
                schedule=MonthlySchedule(day_of_month=15, start_date=dt.date(2024, 10, 1)),
                kind=IncomeKind.BENEFIT,
            )
            store_plan_version(
                session,
                Plan(
                    participant_id=participant.id,
                    version=1,
                    effective_from=dt.date(2024, 10, 1),
                    incomes=(agreement,),
                ),
                created_by="benchmark",
                source="benchmark",
            )
    engine.dispose()


def empty_postgres(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def import_into(
    label: str, url: str, path: Path, entries: int, participants: int
) -> tuple[float, float]:
    print(f"{label}:", flush=True)
    results: dict[str, float] = {}
    with timed(f"migrate + {participants} participants with plans", results):
        prepare_database(url, participants)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    label = "import (read + dedup + match + book + store)"
    with timed(label, results), transaction(factory, write=True) as session:
        report = import_statement_file(session, path, imported_by="benchmark")
    imported = results[label], results[f"{label} (cpu)"]
    print(
        f"    new {report.total('new_entries')}, matched {report.total('matched_entries')}, "
        f"suspense {report.total('suspense_entries')}, journal entries "
        f"{report.total('journal_entries_created')}"
    )
    with (
        timed("import again (every entry a duplicate)", results),
        transaction(factory, write=True) as session,
    ):
        again = import_statement_file(session, path, imported_by="benchmark")
    assert again.total("new_entries") == 0
    with factory() as session:
        stored = session.scalar(select(func.count(BankEntryRecord.id)))
        postings = session.scalar(select(func.count(PostingRecord.id)))
    assert stored == entries, (stored, entries)
    print(f"    stored {stored} bank entries, {postings} postings")
    engine.dispose()
    return imported


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--version", default="camt.053.001.02", choices=["camt.053.001.02", "camt.053.001.08"]
    )
    parser.add_argument("--participants", type=int, default=200)
    parser.add_argument("--postgres", help="also import into this PostgreSQL database (EMPTIED)")
    parser.add_argument(
        "--second-process", action="store_true", help="read in a second process while booking"
    )
    args = parser.parse_args()
    if args.second_process:
        os.environ["HUISHOUDBOEKJE_IMPORT_PIPELINE_MIN_BYTES"] = "0"

    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "statement.xml"
        started = time.perf_counter()
        child = multiprocessing.get_context("spawn").Process(
            target=_write_statement, args=(str(path), args.entries, args.seed, args.version)
        )
        child.start()
        child.join()
        if child.exitcode != 0:
            raise SystemExit("generating the statement failed")
        size_mb = path.stat().st_size / 1024 / 1024
        print(
            f"generated {args.entries} entries ({args.version}), {size_mb:.1f} MB "
            f"in {time.perf_counter() - started:.1f} s (child process)"
        )
        results: dict[str, float] = {}
        print("parsing the same file:")
        with timed("bare lxml iterparse (parse only)", results):
            counted = bare_iterparse(path)
        assert counted == args.entries, counted
        reading = "read_statement_file (harden + XSD + fields)"
        with timed(reading, results):
            read_statement_file(path)
        bare = results["bare lxml iterparse (parse only)"]

        sqlite_seconds = import_into(
            "SQLite", f"sqlite:///{directory}/bench.db", path, args.entries, args.participants
        )
        postgres_seconds = None
        if args.postgres:
            empty_postgres(args.postgres)
            postgres_seconds = import_into(
                "PostgreSQL", args.postgres, path, args.entries, args.participants
            )

        print("summary:")
        print(f"  bare lxml iterparse       {args.entries / bare:>10,.0f} entries/s")
        print(
            f"  reading alone             {args.entries / results[f'{reading} (cpu)']:>10,.0f} "
            "entries per CPU-second"
        )
        for label, timing in (("SQLite", sqlite_seconds), ("PostgreSQL", postgres_seconds)):
            if timing is None:
                continue
            seconds, cpu = timing
            print(
                f"  import into {label:<13} {args.entries / seconds:>10,.0f} entries/s   "
                f"{args.entries / cpu:>8,.0f} per CPU-second   "
                f"{seconds / bare:5.1f} × the bare lxml pass"
            )
        print(f"  peak resident memory      {peak_rss_mb():>10,.0f} MB")


if __name__ == "__main__":
    main()
