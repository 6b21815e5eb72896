"""Two imports of the same file at the same moment have exactly one effect."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.orm import Session, sessionmaker

from backend.bank_import import ImportReport, import_statement_file
from backend.config import Settings
from backend.db import transaction
from tests.bank.fixture_paths import CAMT_02, FRIDAY
from tests.bank_import.conftest import build_persona, holdings, row_counts

FRIDAY_02 = CAMT_02 / f"{FRIDAY}.xml"


def test_the_same_file_imported_twice_at_once_is_booked_once(
    session: Session, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    build_persona(session, settings)
    session.close()
    start = threading.Barrier(2)

    def run(user: str) -> ImportReport:
        start.wait()
        # As the CLI and the API do: one writing transaction per file.
        with transaction(session_factory, write=True) as own:
            return import_statement_file(own, FRIDAY_02, imported_by=user)

    with ThreadPoolExecutor(max_workers=2) as pool:
        reports = list(pool.map(run, ("fenna", "frank")))

    new = sorted(report.total("new_entries") for report in reports)
    assert new == [0, 9]
    assert sorted(report.duplicate_file for report in reports) == [False, True]
    with session_factory() as fresh:
        assert row_counts(fresh)["bank_statement"] == 1
        assert row_counts(fresh)["bank_entry"] == 9
        assert holdings(fresh)["bank:NL84BNGH0285050123"] == 1_471_053
