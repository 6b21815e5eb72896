"""Pseudonymised export for policy reporting: amounts and dates, no direct identifiers,
stable pseudonyms per export key."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.ledger_store import account_balances
from backend.models import AccessLogRecord
from backend.privacy_store.settings import DEMO_EXPORT_KEY
from ledger import AccountRef, holding_cents
from privacy.fields import decode_key, new_key_text
from privacy.pseudonyms import participant_pseudonym
from tests.privacy.conftest import Cli, Demo, sqlite_database_url

IDENTIFIERS = (
    "Anna",
    "Vries",
    "Bram",
    "Jansen",
    "IJzerman",
    "111222333",
    "123456782",
    "100000009",
    "NL32INGB0007777777",
    "NL81RABO0309876543",
    "Mitros",  # no free text at all: counterparties only appear as reason codes
)

# Nothing here depends on the database kind: SQLite only, for speed.
database_url = pytest.fixture(sqlite_database_url)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_the_export_keeps_amounts_and_dates_but_no_identifiers(
    demo: Demo, cli: Cli, tmp_path: Path, session_factory: sessionmaker[Session]
) -> None:
    target = tmp_path / "beleid.csv"
    result = cli("privacy", "export", "--key-id", "demo", "-o", str(target), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["participants"] == 3
    content = target.read_text(encoding="utf-8")
    for identifier in IDENTIFIERS:
        assert identifier not in content, identifier
    rows = read_csv(target)
    assert len(rows) == summary["rows"] > 0
    key = decode_key(DEMO_EXPORT_KEY)
    anna = participant_pseudonym(key, demo.participants["anna"])
    assert {row["participant"] for row in rows} == {
        participant_pseudonym(key, participant_id) for participant_id in demo.participants.values()
    }
    # Amounts add up to what the ledger holds for her, pot by pot.
    totals: dict[str, int] = defaultdict(int)
    for row in rows:
        if row["participant"] == anna:
            totals[row["pot"]] += int(row["amount_cents"])
            assert row["booking_date"][:4] == "2026"
    with session_factory() as session:
        raw = account_balances(session, participant_id=demo.participants["anna"])
    expected = {
        ref.kind.value if ref.kind else "": holding_cents(ref, cents)
        for ref, cents in raw.items()
        if isinstance(ref, AccountRef)
    }
    assert {pot: cents for pot, cents in totals.items() if cents} == {
        pot: cents for pot, cents in expected.items() if cents
    }
    # Each participant included is in the access log, with why.
    with session_factory() as session:
        logged = session.scalars(
            select(AccessLogRecord).where(
                AccessLogRecord.processing_activity == "beleidsinformatie"
            )
        ).all()
    assert {record.participant_id for record in logged} == set(demo.participants.values())


def test_pseudonyms_are_stable_per_key_and_differ_between_keys(
    demo: Demo, cli: Cli, tmp_path: Path
) -> None:
    other = {"HUISHOUDBOEKJE_EXPORT_KEYS": json.dumps({"raad-2026": new_key_text()})}
    first, second, third = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.json"
    assert cli("privacy", "export", "--key-id", "demo", "-o", str(first)).exit_code == 0
    assert cli("privacy", "export", "--key-id", "demo", "-o", str(second)).exit_code == 0
    result = cli("privacy", "export", "--key-id", "raad-2026", "-o", str(third), env=other)
    assert result.exit_code == 0, result.output
    assert first.read_text() == second.read_text()
    document = json.loads(third.read_text())
    assert document["key_id"] == "raad-2026"
    pseudonyms_demo = {row["participant"] for row in read_csv(first)}
    pseudonyms_other = {row["participant"] for row in document["rows"]}
    assert len(pseudonyms_other) == 3
    assert not pseudonyms_demo & pseudonyms_other


def test_an_unknown_export_key_is_refused(demo: Demo, cli: Cli, tmp_path: Path) -> None:
    result = cli("privacy", "export", "--key-id", "nope", "-o", str(tmp_path / "x.csv"))
    assert result.exit_code == 2
    assert "export key 'nope' is not configured" in result.output
    assert not (tmp_path / "x.csv").exists()
