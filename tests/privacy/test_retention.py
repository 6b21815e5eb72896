"""Retention: a participant whose participation ended eight years ago loses their
identity; their money trail stays whole, reconciling, and the access log verifying."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, inspect, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from backend.ledger_store import account_balances
from backend.models import AccessLogRecord, Participant, UserAccount
from backend.privacy_store.retention import pseudonym_name
from tests.privacy.conftest import Cli, Demo

Headers = Callable[[str], dict[str, str]]

ENDED_ON = dt.date(2026, 12, 31)
EIGHT_YEARS_LATER = "2034-12-31"
ANNA_IDENTIFIERS = ("Anna", "Vries", "111222333", "NL32INGB0007777777", "NL32 INGB")


def _end_participation(session_factory: sessionmaker[Session], participant_id: int) -> None:
    with session_factory() as session, session.begin():
        session.execute(
            update(Participant)
            .where(Participant.id == participant_id)
            .values(status="ended", ended_on=ENDED_ON)
        )


def _dump(engine: Engine) -> str:
    """Every value in every table, as text."""
    parts = []
    with engine.connect() as connection:
        for table in sorted(inspect(connection).get_table_names()):
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                parts.append(f"{table}: " + json.dumps([str(value) for value in row]))
    return "\n".join(parts)


def _annas_history(client: TestClient, demo: Demo, as_user: Headers) -> None:
    anna = demo.participants["anna"]
    client.get(f"/api/participants/{anna}/transactions", headers=as_user("carla"))
    created = client.post(
        f"/api/participants/{anna}/life-events",
        json={"kind": "moving", "note": "Anna de Vries verhuist naar de Biltstraat 7."},
        headers=as_user("anna"),
    )
    assert created.status_code == 201, created.text
    proposal = client.post(
        f"/api/participants/{anna}/proposals",
        json={
            "change": {"kind": "living_money_amount", "amount_cents_per_month": 45000},
            "reason": "Ik (Anna, bsn 111222333) heb meer nodig voor de kinderen.",
        },
        headers=as_user("anna"),
    )
    assert proposal.status_code == 201, proposal.text


@pytest.fixture
def ended_anna(
    client: TestClient,
    demo: Demo,
    as_user: Headers,
    session_factory: sessionmaker[Session],
) -> int:
    _annas_history(client, demo, as_user)
    anna = demo.participants["anna"]
    _end_participation(session_factory, anna)
    return anna


def test_retention_eight_years_after_ending_removes_annas_identity(
    ended_anna: int,
    demo: Demo,
    client: TestClient,
    as_user: Headers,
    cli: Cli,
    engine: Engine,
    session_factory: sessionmaker[Session],
    database_url: str,
) -> None:
    anna = ended_anna
    with session_factory() as session:
        balances_before = account_balances(session, participant_id=anna)
    reconcile_before = cli("reconcile", "--json")
    assert "Anna de Vries" in _dump(engine)

    result = cli("privacy", "retention", "--today", EIGHT_YEARS_LATER, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    [outcome] = report["pseudonymised"]
    assert outcome["participant_id"] == anna
    assert outcome["due_on"] == "2033-12-31"
    assert report["residual"] == []
    assert outcome["changed"]["participant"] == 1
    assert outcome["changed"]["user_account"] == 1
    assert outcome["changed"]["life_event.note"] == 1
    assert outcome["changed"]["proposal.reason"] == 1

    # Identity gone, everywhere in the database (bram and zoe are untouched).
    dumped = _dump(engine)
    for identifier in ANNA_IDENTIFIERS:
        assert identifier not in dumped, identifier
    assert "Bram Jansen" in dumped
    with session_factory() as session:
        participant = session.get(Participant, anna)
        assert participant is not None
        assert participant.display_name == pseudonym_name(anna)
        assert participant.own_iban is None
        assert participant.bsn_encrypted.startswith("tombstone-")
        assert participant.bsn_index.startswith("tombstone-")
        account = session.scalar(select(UserAccount).where(UserAccount.participant_id == anna))
        assert account is not None
        assert (account.active, account.password_hash) == (False, None)
        assert account.username == f"gepseudonimiseerd-{anna}"
        # The money trail is whole: the same balances as before.
        assert account_balances(session, participant_id=anna) == balances_before
        record = session.scalars(
            select(AccessLogRecord).order_by(AccessLogRecord.sequence.desc())
        ).first()
        assert record is not None
        assert (record.participant_id, record.operation) == (anna, "change")
        assert record.processing_activity == "bewaartermijn"

    # On SQLite the freed pages are rewritten: the file holds no trace of her either.
    if database_url.startswith("sqlite"):
        path = Path(database_url.removeprefix("sqlite:///"))
        raw = b"".join(
            candidate.read_bytes()
            for candidate in (path, path.with_name(path.name + "-wal"))
            if candidate.exists()
        )
        for identifier in ANNA_IDENTIFIERS:
            assert identifier.encode() not in raw, identifier

    # Ledger and reconciliation still pass; the access-log chain still verifies.
    ledger = cli("ledger", "check", "--json")
    assert ledger.exit_code == 0, ledger.output
    reconcile_after = cli("reconcile", "--json")
    assert reconcile_after.exit_code == reconcile_before.exit_code
    assert json.loads(reconcile_after.output) == json.loads(reconcile_before.output)
    verified = cli("audit", "verify", "--json")
    assert verified.exit_code == 0, verified.output

    # The guards retention lifted for its own transaction are back.
    for statement in ("UPDATE plan_version SET source = source", "DELETE FROM proposal_event"):
        with pytest.raises(DBAPIError), engine.begin() as connection:
            connection.execute(text(statement))

    # She can no longer log in; her earlier token is refused.
    response = client.get(f"/api/participants/{anna}", headers=as_user("anna"))
    assert response.status_code == 401

    # Running it again finds nothing left to do.
    again = json.loads(cli("privacy", "retention", "--today", EIGHT_YEARS_LATER, "--json").output)
    assert again["pseudonymised"] == []
    assert again["case_notes_cleared"] == []


def test_a_dry_run_changes_nothing(
    ended_anna: int, cli: Cli, engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    before = _dump(engine)
    result = cli("privacy", "retention", "--today", EIGHT_YEARS_LATER, "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["dry_run"] is True
    assert [item["participant_id"] for item in report["pseudonymised"]] == [ended_anna]
    assert _dump(engine) == before


def test_before_the_term_only_case_notes_go(
    ended_anna: int, cli: Cli, engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    result = cli("privacy", "retention", "--today", "2029-06-01", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["pseudonymised"] == []
    [cleared] = report["case_notes_cleared"]
    assert cleared["participant_id"] == ended_anna
    dumped = _dump(engine)
    assert "Biltstraat" not in dumped
    assert "meer nodig voor de kinderen" not in dumped
    assert "Anna de Vries" in dumped  # her identity stays until the identity term


def test_nothing_is_due_for_a_current_participant(demo: Demo, cli: Cli, engine: Engine) -> None:
    result = cli("privacy", "retention", "--today", "2060-01-01", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["pseudonymised"] == []


def test_terms_come_from_configuration(ended_anna: int, cli: Cli) -> None:
    result = cli(
        "privacy",
        "retention",
        "--today",
        "2027-06-01",
        "--dry-run",
        "--json",
        env={"HUISHOUDBOEKJE_RETENTION_IDENTITY_YEARS": "0"},
    )
    report = json.loads(result.output)
    assert report["terms_years"]["identity"] == 0
    assert [item["participant_id"] for item in report["pseudonymised"]] == [ended_anna]


def test_only_a_privacy_officer_may_be_named_as_the_one_running_it(
    ended_anna: int, cli: Cli
) -> None:
    refused = cli("privacy", "retention", "--dry-run", "--user", "carla")
    assert refused.exit_code == 2
    assert "retention" in refused.output
    allowed = cli("privacy", "retention", "--dry-run", "--user", "priya", "--json")
    assert allowed.exit_code == 0, allowed.output


def test_a_name_left_in_the_append_only_ledger_is_reported_not_hidden(
    ended_anna: int, cli: Cli, session_factory: sessionmaker[Session]
) -> None:
    """The ledger is never changed. If a payment's ledger entry names her (as a settled
    living-money payment's explanation does), retention says so and exits 1."""
    from backend.demo.seed import MUNICIPAL_IBAN
    from backend.ledger_store import post_entry
    from backend.models import PaymentInstruction
    from ledger import AccountRef, JournalEntry, Posting

    with session_factory() as session, session.begin():
        instruction = session.scalars(
            select(PaymentInstruction).where(
                PaymentInstruction.participant_id == ended_anna,
                PaymentInstruction.kind == "living_money",
            )
        ).first()
        assert instruction is not None
        post_entry(
            session,
            JournalEntry(
                idempotency_key=f"payments:settle:{instruction.end_to_end_id}",
                booking_date=dt.date(2026, 11, 30),
                reason_code="payment.settled",
                explanation="De bank heeft € 50,00 aan A. de Vries betaald.",
                explanation_en="The bank paid EUR 50.00 to A. de Vries.",
                postings=(
                    Posting(AccountRef.in_transit(), 5000),
                    Posting(AccountRef.bank(MUNICIPAL_IBAN), -5000),
                ),
            ),
            created_by="test",
        )
    result = cli("privacy", "retention", "--today", EIGHT_YEARS_LATER, "--json")
    assert result.exit_code == 1
    residual = json.loads(result.output)["residual"]
    assert {(item["table"], item["why"]) for item in residual} == {
        ("journal_entry", "ledger: their payments")
    }
    assert "Vries" not in result.output  # the report names places, never values
