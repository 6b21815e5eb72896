"""The access log: every read or change of a participant's data through the API is
recorded in the same transaction, hash-chained, append-only and verifiable."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from backend.db import transaction
from backend.models import AccessLogRecord, Participant
from backend.models import privacy as privacy_models
from backend.privacy_store.access_log import note_access, verify_chain
from tests.privacy.conftest import Cli, Demo

Headers = Callable[[str], dict[str, str]]


def records(session_factory: sessionmaker[Session]) -> list[AccessLogRecord]:
    with session_factory() as session:
        return list(session.scalars(select(AccessLogRecord).order_by(AccessLogRecord.sequence)))


@contextmanager
def guard_dropped(engine: Engine) -> Iterator[None]:
    """An attacker with database access drops the append-only guard first."""
    dialect = engine.dialect.name
    with engine.begin() as connection:
        for statement in privacy_models.guard_statements(dialect, create=False):
            connection.exec_driver_sql(statement)
    try:
        yield
    finally:
        with engine.begin() as connection:
            for statement in privacy_models.guard_statements(dialect, create=True):
                connection.exec_driver_sql(statement)


def test_a_caseworker_reading_balances_is_one_record_with_who_whose_what_why(
    client: TestClient,
    demo: Demo,
    as_user: Headers,
    session_factory: sessionmaker[Session],
) -> None:
    anna = demo.participants["anna"]
    response = client.get(f"/api/participants/{anna}/balances", headers=as_user("carla"))
    assert response.status_code == 200
    [record] = records(session_factory)
    assert record.sequence == 1
    assert record.actor_user_id == demo.users["carla"]
    assert record.actor_role == "caseworker"
    assert record.participant_id == anna
    assert record.resource == "/api/participants/{participant_id}/balances"
    assert record.operation == "read"
    assert record.processing_activity == "budgetbeheer"
    assert record.trace_id == response.headers["x-trace-id"]
    assert record.occurred_at.tzinfo is not None


def test_a_change_is_recorded_as_a_change_by_the_participant(
    client: TestClient,
    demo: Demo,
    as_user: Headers,
    session_factory: sessionmaker[Session],
) -> None:
    anna = demo.participants["anna"]
    response = client.post(
        f"/api/participants/{anna}/life-events",
        json={"kind": "moving", "note": "Ik verhuis in januari."},
        headers=as_user("anna"),
    )
    assert response.status_code == 201, response.text
    [record] = records(session_factory)
    assert (record.actor_role, record.operation) == ("participant", "change")


def test_an_incoming_trace_id_is_kept(
    client: TestClient,
    demo: Demo,
    as_user: Headers,
    session_factory: sessionmaker[Session],
) -> None:
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    client.get(
        f"/api/participants/{demo.participants['anna']}",
        headers={**as_user("anna"), "traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"},
    )
    assert [record.trace_id for record in records(session_factory)] == [trace_id]


def test_refused_requests_write_nothing(
    client: TestClient,
    demo: Demo,
    as_user: Headers,
    session_factory: sessionmaker[Session],
) -> None:
    anna = demo.participants["anna"]
    assert client.get(f"/api/participants/{anna}", headers=as_user("chris")).status_code == 404
    assert client.get(f"/api/participants/{anna}", headers=as_user("fenna")).status_code == 404
    assert client.get(f"/api/participants/{anna}").status_code == 401
    assert records(session_factory) == []


def test_the_caseload_list_records_each_participant_shown(
    client: TestClient,
    demo: Demo,
    as_user: Headers,
    session_factory: sessionmaker[Session],
) -> None:
    assert client.get("/api/caseload", headers=as_user("carla")).status_code == 200
    shown = {record.participant_id for record in records(session_factory)}
    assert shown == {demo.participants["anna"], demo.participants["bram"]}


def test_annas_inzage_lists_carla_who_looked_and_why(
    client: TestClient, demo: Demo, as_user: Headers
) -> None:
    anna = demo.participants["anna"]
    client.get(f"/api/participants/{anna}/transactions", headers=as_user("carla"))
    client.get(f"/api/participants/{demo.participants['bram']}", headers=as_user("carla"))
    document = client.get(f"/api/participants/{anna}/inzage", headers=as_user("anna")).json()
    entries = document["access_log"]["entries"]
    carla = [entry for entry in entries if entry["actor_user_id"] == demo.users["carla"]]
    assert len(carla) == 1
    assert carla[0]["who"] == "Carla Bakker (budgetcoach)"
    assert carla[0]["role_name"] == "budgetcoach"
    assert carla[0]["why"] == "budgetbeheer uitvoeren"
    assert carla[0]["what"] == "/api/participants/{participant_id}/transactions"
    assert carla[0]["operation"] == "read"
    # Bram's record is about Bram: it is not in Anna's inzage.
    assert all(entry["what"] != "/api/participants/{participant_id}" for entry in carla)
    # The inzage itself is logged too: the next one shows Anna's own look.
    again = client.get(f"/api/participants/{anna}/inzage", headers=as_user("anna")).json()
    own = [entry for entry in again["access_log"]["entries"] if entry["who"] == "uzelf"]
    assert own and own[0]["why"] == "inzageverzoek"


def test_log_rows_hold_ids_never_names_or_bsns(
    client: TestClient, demo: Demo, as_user: Headers, engine: Engine
) -> None:
    for user in ("anna", "carla"):
        client.get(f"/api/participants/{demo.participants['anna']}", headers=as_user(user))
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM access_log")).all()
    dumped = json.dumps([list(row) for row in rows], default=str)
    assert rows
    for secret in ("Anna", "Vries", "Carla", "111222333", "NL32INGB0007777777"):
        assert secret not in dumped


def test_the_access_log_refuses_update_and_delete(
    client: TestClient, demo: Demo, as_user: Headers, engine: Engine
) -> None:
    client.get(f"/api/participants/{demo.participants['anna']}", headers=as_user("anna"))
    for statement in (
        "UPDATE access_log SET participant_id = 2",
        "DELETE FROM access_log",
    ):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(text(statement))


def test_tampering_with_one_row_makes_audit_verify_fail_at_that_row(
    client: TestClient, demo: Demo, as_user: Headers, engine: Engine, cli: Cli
) -> None:
    anna = demo.participants["anna"]
    for path in ("", "/balances", "/transactions", "/life-events", "/proposals"):
        client.get(f"/api/participants/{anna}{path}", headers=as_user("carla"))
    ok = cli("audit", "verify", "--json")
    assert ok.exit_code == 0, ok.output
    report = json.loads(ok.output)
    assert report["records_checked"] == 5
    head = report["head"]
    with engine.connect() as connection:
        target_id = connection.execute(
            text("SELECT id FROM access_log WHERE sequence = 3")
        ).scalar_one()
    with guard_dropped(engine), engine.begin() as connection:
        # Someone hides that carla looked: the record now says anna looked herself.
        connection.execute(
            text(
                "UPDATE access_log SET actor_user_id = :anna, actor_role = 'participant' "
                "WHERE sequence = 3"
            ),
            {"anna": demo.users["anna"]},
        )
    broken = cli("audit", "verify", "--json")
    assert broken.exit_code == 1
    first = json.loads(broken.output)["first_broken_record"]
    assert (first["sequence"], first["id"]) == (3, target_id)
    text_report = cli("audit", "verify")
    assert text_report.exit_code == 1
    assert f"BROKEN at record 3 (id {target_id})" in text_report.output
    # The anchor of yesterday's head still names the same first break.
    anchored = cli("audit", "verify", "--json", "--anchor", head)
    assert json.loads(anchored.output)["first_broken_record"]["sequence"] == 3


def test_deleting_the_last_rows_is_caught_with_an_anchor(
    client: TestClient, demo: Demo, as_user: Headers, engine: Engine, cli: Cli
) -> None:
    anna = demo.participants["anna"]
    for path in ("", "/balances", "/transactions"):
        client.get(f"/api/participants/{anna}{path}", headers=as_user("carla"))
    head = json.loads(cli("audit", "verify", "--json").output)["head"]
    with guard_dropped(engine), engine.begin() as connection:
        connection.execute(text("DELETE FROM access_log WHERE sequence = 3"))
    assert cli("audit", "verify").exit_code == 0  # a cut tail alone looks like a shorter log
    cut = cli("audit", "verify", "--anchor", head)
    assert cut.exit_code == 1
    assert "removed from the end" in cut.output


def test_concurrent_appends_never_fork_the_chain(
    demo: Demo, session_factory: sessionmaker[Session]
) -> None:
    writers, appends = 8, 6
    errors: list[BaseException] = []
    start = threading.Barrier(writers)

    def write(worker: int) -> None:
        try:
            start.wait()
            for number in range(appends):
                with transaction(session_factory, write=True) as session:
                    session.scalar(select(func.count()).select_from(Participant))
                    note_access(
                        session,
                        actor_user_id=worker,
                        actor_role="caseworker",
                        participant_id=demo.participants["anna"],
                        resource=f"test:{worker}:{number}",
                    )
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=write, args=(worker,)) for worker in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with session_factory() as session:
        result = verify_chain(session, batch_rows=7)
    assert result.ok, result.broken
    assert result.checked == writers * appends


def test_a_finance_user_reading_a_batch_records_every_payee_participant(
    client: TestClient,
    demo: Demo,
    as_user: Headers,
    session_factory: sessionmaker[Session],
) -> None:
    from backend.models import PaymentInstruction

    batches = client.post("/api/finance/batches/propose", headers=as_user("fenna")).json()
    assert batches, "the demo seed leaves payments to batch"
    before = len(records(session_factory))
    batch_id = batches[0]["id"]
    response = client.get(f"/api/finance/batches/{batch_id}", headers=as_user("fenna"))
    assert response.status_code == 200
    new = records(session_factory)[before:]
    with session_factory() as session:
        payees = set(
            session.scalars(
                select(PaymentInstruction.participant_id).where(
                    PaymentInstruction.batch_id == batch_id
                )
            )
        )
    assert payees
    assert {record.participant_id for record in new} == payees
    assert {record.actor_user_id for record in new} == {demo.users["fenna"]}
    assert {record.processing_activity for record in new} == {"betalingen"}
