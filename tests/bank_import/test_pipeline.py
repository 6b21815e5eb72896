"""A large CAMT.053 file is read in a second process while its statements are booked
(backend.bank.background): the outcome must be exactly that of reading first and
booking after — the same rows, the same report, the same error for a refused file, and
nothing written when it is refused, also when the refusal comes after statements were
booked. (The whole of tests/bank_import also passes with
HUISHOUDBOEKJE_IMPORT_PIPELINE_MIN_BYTES=0, which sends every CAMT.053 import this way.)
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from backend.bank import BalanceMismatchError, StatementError, StatementFormat, background
from backend.bank.camt053 import read_camt053
from backend.bank.generate import DocumentSpec, EntrySpec, StatementSpec, write_camt053
from backend.bank.xml_safety import open_source
from backend.bank_import import AccountNotOursError, ImportReport
from backend.config import Settings
from tests.bank.fixture_paths import CAMT_02, CAMT_08, FRIDAY, MONDAY, MT940_DIR
from tests.bank_import.conftest import (
    MUNICIPAL_IBAN,
    build_persona,
    credit,
    debit,
    do_import,
    holdings,
    row_counts,
)

Snapshot = tuple[dict[str, int], dict[str, int]]
"""Row counts and holdings."""
TABLES = ("bank_statement", "bank_entry", "journal_entry", "posting", "alert")
MODES = {"in this process": "off", "in a second process": "0"}


@pytest.fixture
def reading(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    def choose(mode: str) -> None:
        monkeypatch.setenv("HUISHOUDBOEKJE_IMPORT_PIPELINE_MIN_BYTES", MODES[mode])

    return choose


def _dump(session: Session) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the import's tables, without the moments they were written."""
    dump: dict[str, list[tuple[Any, ...]]] = {}
    for table in TABLES:
        result = session.execute(text(f"SELECT * FROM {table} ORDER BY id"))
        keep = [i for i, name in enumerate(result.keys()) if not name.endswith("_at")]
        dump[table] = [tuple(row[i] for i in keep) for row in result]
    return dump


def _day(offset: int) -> dt.date:
    return dt.date(2024, 11, 4) + dt.timedelta(days=offset)


def _three_statements(*, closing_error_cents: int = 0) -> bytes:
    """Three consecutive statements of the municipal account; the last one's closing
    balance off by `closing_error_cents`."""
    statements = []
    balance = 1_000_00
    for number in range(3):
        day = _day(number * 7)
        entries: tuple[EntrySpec, ...] = (
            credit(12_50 + number, f"REF-{number}-1", day, text=f"Gift {number}"),
            debit(7_25 + number, f"REF-{number}-2", day, text=f"Incasso {number}"),
            credit(3_00, f"REF-{number}-3", day, payer=("Ander", "NL02BNGH0285128714")),
        )
        closing = balance + (12_50 + number) - (7_25 + number) + 3_00
        statements.append(
            StatementSpec(
                statement_id=f"STMT-{number}",
                account_iban=MUNICIPAL_IBAN,
                opening_cents=balance,
                opening_date=day,
                closing_date=day,
                created_at=f"{day.isoformat()}T18:00:00+01:00",
                entries=entries,
                closing_cents=closing + (closing_error_cents if number == 2 else 0),
            )
        )
        balance = closing
    return write_camt053(
        DocumentSpec("MSG-THREE", "2024-11-20T18:00:00+01:00", tuple(statements)),
        StatementFormat.CAMT053_001_02,
    )


FILES: dict[str, Callable[[], list[tuple[str, Path | bytes]]]] = {
    "persona week (.02, then .08 with two accounts)": lambda: [
        (f"{FRIDAY}.xml", CAMT_02 / f"{FRIDAY}.xml"),
        (f"{MONDAY}.xml", CAMT_08 / f"{MONDAY}.xml"),
        (f"{FRIDAY}-again.xml", CAMT_08 / f"{FRIDAY}.xml"),
    ],
    "three statements in one file": lambda: [("three.xml", _three_statements())],
}


@pytest.mark.parametrize("case", sorted(FILES))
def test_reading_in_a_second_process_books_exactly_the_same(
    fresh_database: Callable[[], AbstractContextManager[sessionmaker[Session]]],
    settings: Settings,
    reading: Callable[[str], None],
    case: str,
) -> None:
    outcomes = {}
    for mode in MODES:
        reading(mode)
        with fresh_database() as factory, factory() as session:
            build_persona(session, settings)
            session.commit()
            reports = [
                do_import(session, data, filename=name).as_dict() for name, data in FILES[case]()
            ]
            outcomes[mode] = (reports, _dump(session), holdings(session))
    sequential, pipelined = outcomes.values()
    assert pipelined == sequential
    assert sum(report["new_entries"] for report in sequential[0]) > 0  # it booked something


def _refused(
    fresh_database: Callable[[], AbstractContextManager[sessionmaker[Session]]],
    settings: Settings,
    data: bytes | Path,
    *,
    buffer_account: bool = True,
) -> Iterator[tuple[StatementError, Snapshot, Snapshot]]:
    for _mode in MODES:
        with fresh_database() as factory, factory() as session:
            build_persona(session, settings, buffer_account=buffer_account)
            session.commit()
            before = (row_counts(session), holdings(session))
            with pytest.raises(StatementError) as caught:
                do_import(session, data, filename="refused.xml")
            yield caught.value, before, (row_counts(session), holdings(session))


def test_a_refusal_after_booked_statements_undoes_them_with_the_same_error(
    fresh_database: Callable[[], AbstractContextManager[sessionmaker[Session]]],
    settings: Settings,
    reading: Callable[[str], None],
) -> None:
    """The third statement's balances do not add up: the reader finds out after the
    first two were booked in the second-process mode."""
    data = _three_statements(closing_error_cents=1)
    errors = []
    for mode in MODES:
        reading(mode)
        error, before, after = next(_refused(fresh_database, settings, data))
        assert isinstance(error, BalanceMismatchError)
        assert after == before  # nothing of the file is left
        errors.append((type(error), str(error), error.line, error.element))
    assert errors[0] == errors[1]
    assert "balances do not add up" in errors[0][1]


def test_an_import_error_after_booked_statements_is_the_sequential_one(
    fresh_database: Callable[[], AbstractContextManager[sessionmaker[Session]]],
    settings: Settings,
    reading: Callable[[str], None],
) -> None:
    """The .08 Friday file's second statement is of the buffer account, not registered
    here: refused whole, with the error the import names when it checks all accounts
    first, although the first statement was booked before the second was read."""
    errors = []
    for mode in MODES:
        reading(mode)
        error, before, after = next(
            _refused(fresh_database, settings, CAMT_08 / f"{FRIDAY}.xml", buffer_account=False)
        )
        assert isinstance(error, AccountNotOursError)
        assert after == before
        errors.append((str(error), error.line, error.element))
    assert errors[0] == errors[1]


def test_a_reading_process_that_dies_is_replaced_by_reading_here(
    session: Session,
    settings: Settings,
    reading: Callable[[str], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The child dies after handing over the first statement, which is booked by then:
    that booking is undone and the whole file read and imported in this process."""
    read = read_camt053

    def read_and_die(source: Any, *, on_entry: Any, on_statement: Any) -> Any:
        def first_then_die(statement: Any) -> None:
            on_statement(statement)
            os._exit(3)

        return read(source, on_entry=on_entry, on_statement=first_then_die)

    build_persona(session, settings)
    session.commit()
    before = row_counts(session)
    reading("in a second process")
    monkeypatch.setattr(background, "read_camt053", read_and_die)
    report: ImportReport = do_import(session, _three_statements(), filename="three.xml")
    assert [(s.new_entries, s.duplicate_statement) for s in report.statements] == [
        (3, False),
        (3, False),
        (3, False),
    ]
    after = row_counts(session)
    assert after["bank_statement"] - before["bank_statement"] == 3
    assert after["bank_entry"] - before["bank_entry"] == 9


def test_a_reading_process_that_hangs_is_given_up(
    session: Session,
    settings: Settings,
    reading: Callable[[str], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def hang(source: Any, connection: Any) -> None:
        time.sleep(60)

    build_persona(session, settings)
    session.commit()
    reading("in a second process")
    monkeypatch.setattr(background, "_read_in_child", hang)
    monkeypatch.setattr(background, "SILENCE_SECONDS_MAX", 0.5)
    started = time.monotonic()
    report: ImportReport = do_import(session, _three_statements(), filename="three.xml")
    assert [s.new_entries for s in report.statements] == [3, 3, 3]
    assert time.monotonic() - started < 20  # not the child's 60 s


def test_auto_reads_only_large_files_of_several_statements_in_a_second_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    three = _three_statements()
    one = (CAMT_02 / f"{FRIDAY}.xml").read_bytes()  # one statement
    monkeypatch.setattr(background, "PIPELINE_MIN_BYTES", 1_000)
    monkeypatch.setattr(background, "_SCAN_BYTES", 100)  # tags cut by the chunk borders

    def worth(data: bytes) -> bool:
        source = open_source(data, filename="x.xml", max_bytes=len(data) + 1)
        return background.worth_reading_in_background(source)

    monkeypatch.delenv("HUISHOUDBOEKJE_IMPORT_PIPELINE_MIN_BYTES", raising=False)
    assert not worth(three)  # off unless configured
    # The `bank import` command asks for auto; the environment still decides first.
    source = open_source(three, filename="x.xml", max_bytes=len(three) + 1)
    assert background.worth_reading_in_background(source, "auto")
    monkeypatch.setattr(background.os, "cpu_count", lambda: 1)
    assert not background.worth_reading_in_background(source, "auto")  # no core to spare
    monkeypatch.undo()
    monkeypatch.setattr(background, "PIPELINE_MIN_BYTES", 1_000)
    monkeypatch.setattr(background, "_SCAN_BYTES", 100)
    monkeypatch.setenv("HUISHOUDBOEKJE_IMPORT_PIPELINE_MIN_BYTES", "off")
    assert not background.worth_reading_in_background(source, "auto")
    monkeypatch.setenv("HUISHOUDBOEKJE_IMPORT_PIPELINE_MIN_BYTES", "auto")
    assert worth(three)
    assert not worth(one)
    monkeypatch.setattr(background, "PIPELINE_MIN_BYTES", len(three) + 1)
    assert not worth(three)  # too small
    monkeypatch.setenv("HUISHOUDBOEKJE_IMPORT_PIPELINE_MIN_BYTES", "0")
    assert worth(one)  # configured: every CAMT.053 file
    assert not worth(b"\n" + (MT940_DIR / f"{FRIDAY}.sta").read_bytes())  # MT940: never
