"""`huishoudboekje users ...` and the demo accounts, as an operator runs them."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.cli import main
from backend.config import Settings, get_settings
from backend.db import make_engine, make_session_factory, transaction
from backend.demo.seed import seed_demo
from backend.models import CaseloadAssignment, UserAccount


def run_cli(
    database_url: str, *args: str, stdin: str = "", demo: bool = False
) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("HUISHOUDBOEKJE_")}
    env["HUISHOUDBOEKJE_DATABASE_URL"] = database_url
    if demo:
        env["HUISHOUDBOEKJE_DEMO"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "backend", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_demo_seed_makes_the_demo_accounts_once(database_url: str) -> None:
    first = run_cli(database_url, "demo", "seed", "--today", "2026-11-28", demo=True)
    assert first.returncode == 0, first.stderr
    assert "8 demo accounts" in first.stdout
    again = run_cli(database_url, "demo", "seed", "--today", "2026-11-28", "--json", demo=True)
    assert json.loads(again.stdout)["participants_created"] == 0
    engine = make_engine(database_url)
    with transaction(make_session_factory(engine)) as session:
        accounts = {a.username: a for a in session.scalars(select(UserAccount))}
        assert set(accounts) == {
            "anna",
            "bram",
            "carla",
            "chris",
            "fenna",
            "frank",
            "priya",
            "admin",
        }
        assert accounts["anna"].participant_id is not None
        assert accounts["carla"].participant_id is None
        caseload = session.scalars(
            select(CaseloadAssignment.participant_id).where(
                CaseloadAssignment.caseworker_id == accounts["carla"].id
            )
        ).all()
        assert set(caseload) == {accounts["anna"].participant_id, accounts["bram"].participant_id}
    engine.dispose()


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Result]]:
    """The CLI in-process (fast); test_demo_seed_... above runs it as a real subprocess."""
    for key in [key for key in os.environ if key.startswith("HUISHOUDBOEKJE_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("HUISHOUDBOEKJE_DATABASE_URL", database_url)
    get_settings.cache_clear()
    runner = CliRunner()

    def invoke(*args: str, stdin: str = "") -> Result:
        return runner.invoke(main, list(args), input=stdin)

    yield invoke
    get_settings.cache_clear()


def test_users_add_and_assign_caseload(
    cli: Callable[..., Result], session_factory: sessionmaker[Session], settings: Settings
) -> None:
    with transaction(session_factory) as session:
        seed_demo(session, settings.field_cipher(), today=dt.date(2026, 11, 28))
    added = cli(
        "users",
        "add",
        "Dirk",
        "--role",
        "caseworker",
        "--display-name",
        "Dirk de Wit",
        "--password-stdin",
        stdin="een-lang-genoeg-wachtwoord\n",
    )
    assert added.exit_code == 0, added.output
    assert "'dirk' created" in added.stdout
    assigned = cli("users", "assign-caseload", "dirk", "1")
    assert assigned.exit_code == 0, assigned.output
    assert "is now on the caseload" in assigned.stdout
    for args, stdin, message in [
        (("users", "add", "eva", "--role", "finance", "--password-stdin"), "kort\n", "12"),
        (("users", "add", "dirk", "--role", "finance", "--password-stdin"), "x" * 12, "taken"),
        (
            ("users", "add", "piet", "--role", "participant", "--password-stdin"),
            "x" * 12,
            "--participant-id",
        ),
        (("users", "assign-caseload", "anna", "1"), "", "not a caseworker"),
        (("users", "unlock", "nobody"), "", "no account"),
    ]:
        result = cli(*args, stdin=stdin)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.stderr
    assert cli("users", "unlock", "dirk").exit_code == 0
    with transaction(session_factory) as session:
        dirk = session.scalars(select(UserAccount).where(UserAccount.username == "dirk")).one()
        assert dirk.roles == ["caseworker"]
        assert dirk.password_hash is not None and dirk.password_hash.startswith("$argon2id$")
