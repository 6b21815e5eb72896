"""The booking's shortcuts (issue 10, docs/performance.md) change nothing:

- the income expectations are read once per file (for its whole horizon) instead of
  per statement: a year's file of the synthetic municipality, with incomes that change
  in the middle of the year (plan version 2), books exactly the same rows as reading
  each statement's own window, and so does the file read in a second process (its
  horizon open-ended from the first statement);
- the garbage collector paused while reading and booking comes back as it was, also
  when the import fails half-way.
"""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from backend import collector
from backend.bank import StatementError, read_statement_file
from backend.bank_import import import_statement_file, service
from backend.ledger_store import post_entries
from backend.plans import store_plan_version
from benchmarks.municipality import PLAN_START, insert_municipality, year_statement
from rules import Plan
from tests.bank_import.conftest import holdings

SEED = 11
PARTICIPANTS = 12
CHANGED_ON = PLAN_START + dt.timedelta(days=150)
"""Three participants' incomes go up by EUR 50 from here (plan version 2); the file was
made with the old amounts, so from this day on their incomes find no agreement."""
AMOUNT_UNKNOWN = "the payer is known, but no agreement expects this amount"


def _municipality(session: Session) -> None:
    plans = insert_municipality(session, PARTICIPANTS, SEED)
    for participant_id in sorted(plans)[:3]:
        plan = plans[participant_id]
        raised = tuple(
            income.model_copy(
                update={"expected_amount_cents": income.expected_amount_cents + 5_000}
            )
            for income in plan.incomes
        )
        changed = Plan.model_validate(
            plan.model_dump() | {"version": 2, "effective_from": CHANGED_ON, "incomes": raised}
        )
        store_plan_version(session, changed, created_by="test", source="test:raise")


@pytest.fixture(scope="module")
def year_file() -> bytes:
    # Participant ids are 1..n in a fresh database: the plans insert_municipality makes.
    from benchmarks.municipality import synthetic_plans

    data, _entries = year_statement(synthetic_plans(list(range(1, PARTICIPANTS + 1)), SEED), SEED)
    return data


def _dump(session: Session) -> dict[str, list[tuple[Any, ...]]]:
    """Every row the import writes, without the moments they were written; postings by
    account code (account ids follow the order the setup happened to create them in)."""
    queries = {
        "bank_statement": "SELECT * FROM bank_statement ORDER BY id",
        "bank_entry": "SELECT * FROM bank_entry ORDER BY id",
        "journal_entry": "SELECT * FROM journal_entry ORDER BY id",
        "posting": (
            "SELECT p.id, p.journal_entry_id, a.code, p.amount_cents FROM posting p"
            " JOIN ledger_account a ON a.id = p.account_id ORDER BY p.id"
        ),
        "alert": "SELECT * FROM alert ORDER BY id",
    }
    dump: dict[str, list[tuple[Any, ...]]] = {}
    for table, query in queries.items():
        result = session.execute(text(query))
        keep = [i for i, name in enumerate(result.keys()) if not name.endswith("_at")]
        dump[table] = [tuple(row[i] for i in keep) for row in result]
    return dump


def _import(
    fresh_database: Callable[[], AbstractContextManager[sessionmaker[Session]]],
    data: bytes,
) -> tuple[dict[str, Any], dict[str, list[tuple[Any, ...]]], dict[str, int]]:
    with fresh_database() as factory, factory() as session:
        _municipality(session)
        session.commit()
        report = import_statement_file(session, data, filename="year.xml", imported_by="test")
        session.commit()
        return report.as_dict(), _dump(session), holdings(session)


def test_expectations_read_once_per_file_book_exactly_what_each_window_books(
    fresh_database: Callable[[], AbstractContextManager[sessionmaker[Session]]],
    year_file: bytes,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HUISHOUDBOEKJE_IMPORT_PIPELINE_MIN_BYTES", "off")
    once_per_file = _import(fresh_database, year_file)
    with monkeypatch.context() as patch:  # as before: each statement reads its own window
        patch.setattr(service._FileExpectations, "of", classmethod(lambda cls, _s: cls()))
        per_statement = _import(fresh_database, year_file)
    monkeypatch.setenv("HUISHOUDBOEKJE_IMPORT_PIPELINE_MIN_BYTES", "0")
    read_in_second_process = _import(fresh_database, year_file)

    assert once_per_file == per_statement
    assert read_in_second_process == per_statement
    report, dump, _holdings = per_statement
    assert report["statements"] and len(report["statements"]) == 12
    # The case that matters: after the change, version 1 is in the horizon's index but
    # no longer in force, and version 2 expects another amount.
    columns = ["status", "status_reason", "booking_date", "participant_id"]
    with fresh_database() as factory, factory() as session:  # column positions only
        names = list(session.execute(text("SELECT * FROM bank_entry LIMIT 0")).keys())
    names = [name for name in names if not name.endswith("_at")]
    at = {name: names.index(name) for name in columns}
    rows = dump["bank_entry"]
    matched = [row for row in rows if row[at["status"]] == "matched_income"]
    assert len(matched) > 100
    unknown_after_change = [
        row
        for row in rows
        if row[at["status_reason"]] == AMOUNT_UNKNOWN
        and _day(row[at["booking_date"]]) >= CHANGED_ON
    ]
    assert unknown_after_change
    assert not any(
        row[at["participant_id"]] in (1, 2, 3) and _day(row[at["booking_date"]]) >= CHANGED_ON
        for row in matched
    )


def _day(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


# ---------------------------------------------------------------------- the collector


def _collector() -> tuple[bool, bool]:
    """(collector on, heap frozen)."""
    return gc.isenabled(), gc.get_freeze_count() > 0


@pytest.fixture
def collector_on() -> Iterator[None]:
    """The collector on and nothing frozen, as in the command-line import (a test
    process that started the web app has its heap frozen, where the pause does
    nothing); the state before comes back afterwards."""
    before = _collector()
    gc.unfreeze()
    gc.enable()
    yield
    gc.enable()
    if before[1]:
        gc.freeze()
    if not before[0]:
        gc.disable()


@pytest.mark.usefixtures("collector_on")
def test_the_collector_comes_back_when_booking_fails_half_way(
    session_factory: sessionmaker[Session],
    year_file: bytes,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[bool] = []

    def failing(*args: Any, **kwargs: Any) -> Any:
        seen.append(gc.isenabled())
        if len(seen) == 3:
            raise RuntimeError("the database went away")
        return post_entries(*args, **kwargs)

    monkeypatch.setattr(service, "post_entries", failing)
    monkeypatch.setenv("HUISHOUDBOEKJE_IMPORT_PIPELINE_MIN_BYTES", "off")
    # This year's file books ~100 entries a statement: pause for that too.
    monkeypatch.setattr(collector, "WORTH_PAUSING", 10)
    with session_factory() as session:
        _municipality(session)
        session.commit()
        with pytest.raises(RuntimeError, match="went away"):
            import_statement_file(session, year_file, filename="year.xml", imported_by="test")
        session.rollback()
    assert seen[1:] == [False, False]  # paused while a chunk was booked
    assert _collector() == (True, False)  # and back after the failure


@pytest.mark.usefixtures("collector_on")
def test_the_collector_comes_back_when_the_reader_refuses_a_file(year_file: bytes) -> None:
    truncated = year_file[: len(year_file) // 2]
    with pytest.raises(StatementError):
        read_statement_file(truncated, filename="half.xml")
    assert _collector() == (True, False)
