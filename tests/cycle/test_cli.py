"""`huishoudboekje cycle run --json`: the keys a scheduler and a dashboard read."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from sqlalchemy.orm import Session, sessionmaker

from backend.cli import main
from backend.codecision.applying import unregister_applier
from backend.codecision.matrix import ChangeKind
from backend.config import get_settings
from backend.db import transaction
from backend.ledger_store import post_entries
from tests.cycle.support import add_participants, give_plans, incomes_on, municipality

SUMMARY_KEYS = {
    "run_id",
    "run_date",
    "participants_evaluated",
    "participants_without_plan",
    "journal_entries_created",
    "payment_instructions_created",
    "payment_amount_cents",
    "alerts_raised",
    "stale_reevaluated",
    "workers",
    "proposals_applied",
    "state_rebuilds",
    "chunks",
    "failed_participants",
    "timings_seconds",
}


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    for key in ("HUISHOUDBOEKJE_DEMO", "HUISHOUDBOEKJE_DATABASE_URL"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HUISHOUDBOEKJE_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()
    for kind in ChangeKind:  # the command registers the real appliers
        unregister_applier(kind)


def test_cycle_run_json(cli: CliRunner, session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory, write=True) as session:
        municipality(session)
        plans = give_plans(session, add_participants(session, 2))
        for day in (dt.date(2026, 10, 20), dt.date(2026, 10, 25)):
            post_entries(session, incomes_on(plans, day), created_by="bank-import")
    result = cli.invoke(main, ["cycle", "run", "--date", "2026-10-26", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert set(summary) == SUMMARY_KEYS
    assert summary["run_date"] == "2026-10-26"
    assert summary["participants_evaluated"] == 2
    assert summary["failed_participants"] == []
    assert summary["journal_entries_created"] > 0
    assert summary["payment_instructions_created"] == 2  # Monday: living money for both
    assert set(summary["timings_seconds"]) >= {"load", "evaluate", "write", "total"}
    again = cli.invoke(main, ["cycle", "run", "--date", "2026-10-26"])
    assert again.exit_code == 0, again.output
    assert "0 journal entries" in again.stdout
    bad = cli.invoke(main, ["cycle", "run", "--date", "26-10-2026"])
    assert bad.exit_code == 2
    assert "is not a date like" in bad.output


def test_cycle_run_in_two_processes(cli: CliRunner, session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory, write=True) as session:
        municipality(session)
        give_plans(session, add_participants(session, 3))
    result = cli.invoke(
        main, ["cycle", "run", "--date", "2026-10-26", "--chunk-size", "1", "--workers", "2"]
    )
    assert result.exit_code == 0, result.output
    assert "3 participants evaluated" in result.output
    assert "2 processes shared 3 chunks; 0 participants changed meanwhile" in result.output


@pytest.mark.parametrize("workers", ["many", "0"])
def test_cycle_run_refuses_a_wrong_number_of_processes(cli: CliRunner, workers: str) -> None:
    result = cli.invoke(main, ["cycle", "run", "--date", "2026-10-26", "--workers", workers])
    assert result.exit_code == 2
    expected = (
        "'many' is not a number of processes or 'auto'"
        if workers == "many"
        else "workers must be 1 to 8, not 0"
    )
    assert expected in result.output
