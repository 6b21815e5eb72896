"""The command line as an operator uses it: real subprocesses, real exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from sqlalchemy import text

from backend.db import make_engine
from tests.conftest import append_only_guard_dropped


def run_cli(database_url: str, *args: str, demo: bool = True) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("HUISHOUDBOEKJE_")}
    env["HUISHOUDBOEKJE_DATABASE_URL"] = database_url
    if demo:
        env["HUISHOUDBOEKJE_DEMO"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "backend", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_seed_is_idempotent_and_ledger_check_passes(database_url: str) -> None:
    first = run_cli(database_url, "demo", "seed", "--today", "2026-11-28", "--json")
    assert first.returncode == 0, first.stderr
    created = json.loads(first.stdout)
    assert created["participants_created"] == 3
    assert created["journal_entries_created"] > 0
    second = run_cli(database_url, "demo", "seed", "--today", "2026-11-28", "--json")
    assert json.loads(second.stdout) == {"participants_created": 0, "journal_entries_created": 0}
    check = run_cli(database_url, "ledger", "check", "--json")
    assert check.returncode == 0, check.stdout + check.stderr
    report = json.loads(check.stdout)
    assert report["ok"] is True
    assert report["journal_entries"] == created["journal_entries_created"]


def test_tampered_posting_makes_ledger_check_fail_naming_the_entry(database_url: str) -> None:
    assert run_cli(database_url, "demo", "seed", "--today", "2026-11-28").returncode == 0
    engine = make_engine(database_url)
    with append_only_guard_dropped(engine), engine.begin() as connection:
        target = connection.execute(
            text(
                "SELECT p.id, j.idempotency_key FROM posting p "
                "JOIN journal_entry j ON j.id = p.journal_entry_id ORDER BY p.id DESC LIMIT 1"
            )
        ).one()
        connection.execute(
            text("UPDATE posting SET amount_cents = amount_cents + 1 WHERE id = :id"),
            {"id": target.id},
        )
    engine.dispose()
    check = run_cli(database_url, "ledger", "check", "--json")
    assert check.returncode == 1
    report = json.loads(check.stdout)
    assert report["ok"] is False
    assert target.idempotency_key in {v["entry"] for v in report["violations"]}
    text_report = run_cli(database_url, "ledger", "check")
    assert target.idempotency_key in text_report.stdout


def test_demo_seed_refused_outside_demo_mode(database_url: str) -> None:
    result = run_cli(database_url, "demo", "seed", demo=False)
    assert result.returncode == 2
    assert "HUISHOUDBOEKJE_DEMO=1" in result.stderr
    assert "Traceback" not in result.stderr


def test_unmigrated_database_gets_a_clear_message(tmp_path: object) -> None:
    result = run_cli(f"sqlite:///{tmp_path}/empty.db", "ledger", "check")
    assert result.returncode == 2
    assert "db upgrade" in result.stderr
    assert "Traceback" not in result.stderr


def test_every_command_has_help() -> None:
    for command in (
        [],
        ["db", "upgrade"],
        ["demo", "seed"],
        ["serve"],
        ["ledger", "check"],
    ):
        result = run_cli("sqlite://", *command, "--help")
        assert result.returncode == 0, command
        assert "Usage:" in result.stdout
