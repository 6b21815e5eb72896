"""Inzage (AVG art. 15): everything held about a participant, as JSON and as a PDF;
only for the participant themself and the privacy officer."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from backend.app import create_app
from backend.config import Settings
from backend.privacy_store.inzage_pdf import render_inzage_pdf
from tests.access.conftest import assert_problem
from tests.privacy.conftest import Demo, sqlite_database_url

Headers = Callable[[str], dict[str, str]]

# Nothing here depends on the database kind: SQLite only, for speed.
database_url = pytest.fixture(sqlite_database_url)


def inzage(client: TestClient, participant_id: int, headers: dict[str, str]) -> dict:  # type: ignore[type-arg]
    response = client.get(f"/api/participants/{participant_id}/inzage", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    return response.json()  # type: ignore[no-any-return]


WHO_GETS_ANNAS_INZAGE = {
    "anna": 200,
    "priya": 200,
    "carla": 403,  # her caseworker: in scope, but an inzage is not casework
    "bram": 404,
    "chris": 404,
    "fenna": 404,
    "admin": 404,
}


def test_who_gets_annas_inzage(client: TestClient, demo: Demo, as_user: Headers) -> None:
    anna = demo.participants["anna"]
    for caller, status in WHO_GETS_ANNAS_INZAGE.items():
        for suffix in ("inzage", "inzage.pdf"):
            response = client.get(f"/api/participants/{anna}/{suffix}", headers=as_user(caller))
            if status == 200:
                assert response.status_code == 200, (caller, response.text)
            else:
                assert_problem(response, status)
    assert_problem(client.get(f"/api/participants/{anna}/inzage"), 401)


def test_a_participant_that_does_not_exist_is_404_for_the_privacy_officer(
    client: TestClient, demo: Demo, as_user: Headers
) -> None:
    assert_problem(client.get("/api/participants/999/inzage", headers=as_user("priya")), 404)


def test_annas_inzage_holds_everything_about_her(
    client: TestClient, demo: Demo, as_user: Headers
) -> None:
    anna = demo.participants["anna"]
    headers = as_user("anna")
    client.post(
        f"/api/participants/{anna}/life-events",
        json={"kind": "new_job", "note": "Ik begin bij de bakker."},
        headers=headers,
    )
    client.post(
        f"/api/participants/{anna}/emergency", json={"kind": "no_money_for_food"}, headers=headers
    )
    client.post(
        f"/api/participants/{anna}/proposals",
        json={
            "change": {"kind": "living_money_amount", "amount_cents_per_month": 45000},
            "reason": "Boodschappen zijn duurder.",
        },
        headers=headers,
    )
    document = inzage(client, anna, headers)
    person = document["person"]
    assert person["name"] == "Anna de Vries"
    assert person["bsn"] == {"held": True, "value": "111222333", "note": None}
    assert person["own_iban"] == "NL32INGB0007777777"
    assert person["account"]["username"] == "anna"
    assert "password_hash" not in str(document)
    sections = {section["table"]: section for section in document["records"]}
    for table in ("life_event", "emergency_request", "proposal", "proposal_event", "agreement"):
        assert sections[table]["rows"], table
    for table in ("plan_version", "alert", "payment_instruction"):
        if table in sections:  # tables of feature packages: included when present
            assert isinstance(sections[table]["rows"], list)
    [event] = sections["life_event"]["rows"]
    assert event["note"] == "Ik begin bij de bakker."
    assert event["created_by_name"] == "Anna de Vries"
    assert all(row["participant_id"] == anna for row in sections["proposal"]["rows"])
    assert document["ledger"]["movements"]
    assert set(document["ledger"]["balances_cents"]) >= {"available", "buffer"}


def test_the_privacy_officer_sees_that_a_bsn_is_held_not_the_number(
    client: TestClient, demo: Demo, as_user: Headers
) -> None:
    document = inzage(client, demo.participants["anna"], as_user("priya"))
    assert document["person"]["bsn"]["held"] is True
    assert document["person"]["bsn"]["value"] is None
    assert "111222333" not in str(document)


def test_the_inzage_shows_no_other_participant(
    client: TestClient, demo: Demo, as_user: Headers
) -> None:
    document = inzage(client, demo.participants["anna"], as_user("anna"))
    dumped = str(document)
    for other in ("Bram", "Jansen", "123456782", "IJzerman", "NL81RABO0309876543"):
        assert other not in dumped


def test_rows_marked_internal_are_left_out(
    client: TestClient,
    demo: Demo,
    as_user: Headers,
    session_factory: sessionmaker[Session],
) -> None:
    """A notes table with an `internal` flag (as a later package may add) is handled."""
    anna = demo.participants["anna"]
    with session_factory() as session, session.begin():
        session.execute(
            text(
                "CREATE TABLE caseworker_note (id INTEGER PRIMARY KEY, participant_id INTEGER "
                "NOT NULL REFERENCES participant(id), text VARCHAR(200), internal BOOLEAN)"
            )
        )
        session.execute(
            text(
                "INSERT INTO caseworker_note (id, participant_id, text, internal) VALUES "
                "(1, :p, 'Gesprek gehad over de huur.', false), "
                "(2, :p, 'Intern: overleg met collega.', true)"
            ),
            {"p": anna},
        )
    try:
        document = inzage(client, anna, as_user("anna"))
        [section] = [s for s in document["records"] if s["table"] == "caseworker_note"]
        assert [row["text"] for row in section["rows"]] == ["Gesprek gehad over de huur."]
        assert section["internal_rows_left_out"] == 1
    finally:
        with session_factory() as session, session.begin():
            session.execute(text("DROP TABLE caseworker_note"))


def _pdf_text(pdf: bytes) -> str:
    """The text shown by an uncompressed fpdf2 PDF, line fragments joined by spaces."""
    shown = re.findall(rb"\((.*?)(?<!\\)\) Tj", pdf)
    text = " ".join(part.decode("latin-1") for part in shown)
    return re.sub(r"\\(.)", r"\1", text)


def test_the_pdf_is_readable_and_names_who_looked(
    client: TestClient, demo: Demo, as_user: Headers
) -> None:
    anna = demo.participants["anna"]
    client.get(f"/api/participants/{anna}/balances", headers=as_user("carla"))
    response = client.get(f"/api/participants/{anna}/inzage.pdf", headers=as_user("anna"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert "attachment" in response.headers["content-disposition"]
    document = inzage(client, anna, as_user("anna"))
    text_of_pdf = _pdf_text(render_inzage_pdf(document, compress=False))
    for expected in (
        "Inzage in uw gegevens",
        "Anna de Vries",
        "111222333",
        "Carla Bakker (budgetcoach)",
        "budgetbeheer uitvoeren",
    ):
        assert expected in text_of_pdf, expected


def test_no_inzage_leaves_the_server_unless_its_access_record_is_stored(
    demo: Demo,
    as_user: Headers,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from backend.privacy_store import access_log

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("the access log cannot be written")

    monkeypatch.setattr(access_log, "append_drafts", broken)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        response = client.get(
            f"/api/participants/{demo.participants['anna']}/inzage", headers=as_user("anna")
        )
    assert response.status_code == 500
    assert "111222333" not in response.text
    assert "Anna" not in response.text
