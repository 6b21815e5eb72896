"""`huishoudboekje bank ...`: accounts, import (text and JSON, refusals), suspense."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.orm import Session

from backend.cli import main
from backend.config import Settings, get_settings
from tests.bank.fixture_paths import CAMT_02, FRIDAY, MONDAY
from tests.bank_import.conftest import build_persona, row_counts
from tests.payments.conftest import add_finance_user

Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    monkeypatch.setenv("HUISHOUDBOEKJE_DATABASE_URL", database_url)
    monkeypatch.setenv("HUISHOUDBOEKJE_DEMO", "1")
    get_settings.cache_clear()
    runner = CliRunner()

    def invoke(*args: str) -> tuple[int, str, str]:
        result = runner.invoke(main, list(args), catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    yield invoke
    get_settings.cache_clear()


def test_accounts_add_and_list(cli: Cli) -> None:
    code, out, err = cli("bank", "accounts", "add", "NL84 BNGH 0285 0501 23", "--name", "Budget")
    assert code == 0, err
    assert out.strip() == "account NL84BNGH0285050123 (Budget) registered"
    code, out, _ = cli("bank", "accounts", "add", "NL84BNGH0285050123", "--name", "Budget")
    assert "was already registered" in out
    code, out, err = cli("bank", "accounts", "add", "NL00BNGH0285050123")
    assert code == 2 and "IBAN" in err
    code, out, _ = cli("bank", "accounts", "list", "--json")
    assert json.loads(out) == [{"iban": "NL84BNGH0285050123", "name": "Budget", "bic": None}]


def test_import_prints_counts_and_refuses_clearly(
    cli: Cli, session: Session, settings: Settings, tmp_path: Path
) -> None:
    persona = build_persona(session, settings)
    add_finance_user(session, "fenna")
    add_finance_user(session, "carla", roles=("caseworker",))
    friday, monday = CAMT_02 / f"{FRIDAY}.xml", CAMT_02 / f"{MONDAY}.xml"

    code, out, err = cli("bank", "import", str(friday), str(monday), "--json", "--user", "fenna")
    assert code == 0, err
    first, second = json.loads(out)
    assert first["status"] == "imported"
    assert {
        key: first[key]
        for key in (
            "new_entries",
            "duplicate_entries",
            "skipped_pending_entries",
            "matched_entries",
            "settled_entries",
            "returned_entries",
            "suspense_entries",
            "gap_cents",
        )
    } == {
        "new_entries": 9,
        "duplicate_entries": 0,
        "skipped_pending_entries": 1,
        "matched_entries": 3,
        "settled_entries": 2,
        "returned_entries": 1,
        "suspense_entries": 3,
        "gap_cents": None,
    }
    (statement,) = first["statements"]
    assert (statement["statement_id"], statement["account"]) == (
        "0285050123-20241115-01",
        "NL84BNGH0285050123",
    )
    assert second["gap_cents"] == 25_000

    code, out, err = cli("bank", "import", str(friday))
    assert code == 0, err
    assert "statement 0285050123-20241115-01 account NL84BNGH0285050123" in out
    assert "duplicate statement" in out
    assert "new 0, duplicate 9, skipped pending 1, matched 0" in out

    bad = tmp_path / "bad.xml"
    bad.write_bytes(
        friday.read_bytes().replace(b'<Amt Ccy="EUR">123.00</Amt>', b'<Amt Ccy="EUR">12.345</Amt>')
    )
    counts = row_counts(session)
    code, out, err = cli("bank", "import", str(bad), str(monday))
    assert code == 1
    assert "REFUSED bad.xml line " in err and ", element Ntry/Amt: amount '12.345'" in err
    assert "nothing was imported from this file" in err
    assert "1 of 2 file(s) refused" in err
    assert f"{monday}: imported" in out
    session.expire_all()
    assert row_counts(session) == counts

    code, out, err = cli("bank", "import", str(bad), "--json")
    assert code == 1
    (refused,) = json.loads(out)
    assert (refused["status"], refused["filename"], refused["element"]) == (
        "refused",
        "bad.xml",
        "Ntry/Amt",
    )

    code, _, err = cli("bank", "import", str(friday), "--user", "carla")
    assert code == 2 and "not a finance user" in err

    code, out, err = cli("bank", "suspense", "list", "--json")
    assert code == 0, err
    queue = json.loads(out)
    assert queue["total"] == 3
    huurtoeslag = next(i for i in queue["items"] if i["bank_reference"] == "2024111500003")
    assert huurtoeslag["suggestions"][0]["participant_id"] == persona.zoe
    code, out, _ = cli("bank", "suspense", "list")
    assert "suggestion" in out and "3 entries in suspense" in out

    code, out, err = cli(
        "bank",
        "suspense",
        "assign",
        str(huurtoeslag["id"]),
        str(persona.zoe),
        "--reason",
        "Huurtoeslag van Zoë",
        "--user",
        "fenna",
        "--json",
    )
    assert code == 0, err
    assigned = json.loads(out)
    assert assigned["journal_entry_key"] == f"suspense:assign:{huurtoeslag['id']}"
    assert assigned["assigned_by"] == "fenna"
    entry_id = str(huurtoeslag["id"])
    code, _, err = cli(
        "bank", "suspense", "assign", entry_id, str(persona.jan), "--reason", "x", "--user", "fenna"
    )
    assert code == 2 and "already assigned" in err
