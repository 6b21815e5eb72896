"""Participants see their own household, caseworkers their caseload; everyone
else gets 404 for a participant, exactly as for one that does not exist."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from backend.access.roles import Role
from backend.access.users import create_user
from backend.auth.tokens import issue_access_token
from backend.config import Settings
from backend.db import transaction
from backend.models import Participant
from backend.participants.service import create_participant
from tests.access.conftest import Demo, assert_problem

Headers = Callable[[str], dict[str, str]]

PARTICIPANT_PAGES = ("", "/balances", "/transactions", "/life-events", "/emergency", "/proposals")


@pytest.mark.parametrize(
    ("caller", "whose"),
    [
        ("anna", "bram"),
        ("bram", "anna"),
        ("anna", "zoe"),
        ("carla", "zoe"),  # not on carla's caseload
        ("chris", "anna"),  # a caseworker with no caseload
        ("fenna", "anna"),  # finance has no participant pages
        ("priya", "anna"),
        ("admin", "anna"),
    ],
)
def test_outside_scope_is_404_like_a_missing_participant(
    client: TestClient, demo: Demo, as_user: Headers, caller: str, whose: str
) -> None:
    headers = as_user(caller)
    hidden_id = demo.participants[whose]
    missing_id = max(demo.participants.values()) + 1000
    for page in PARTICIPANT_PAGES:
        hidden = assert_problem(
            client.get(f"/api/participants/{hidden_id}{page}", headers=headers), 404
        )
        missing = assert_problem(
            client.get(f"/api/participants/{missing_id}{page}", headers=headers), 404
        )
        assert hidden["title"] == missing["title"]
        assert str(hidden["detail"]).replace(str(hidden_id), "N") == str(missing["detail"]).replace(
            str(missing_id), "N"
        )


def test_in_scope(client: TestClient, demo: Demo, as_user: Headers) -> None:
    for caller, whose, party in [
        ("anna", "anna", "participant"),
        ("bram", "bram", "participant"),
        ("carla", "anna", "caseworker"),
        ("carla", "bram", "caseworker"),
    ]:
        response = client.get(
            f"/api/participants/{demo.participants[whose]}", headers=as_user(caller)
        )
        assert response.status_code == 200, (caller, whose, response.text)
        assert response.json()["your_party"] == party
        assert "bsn" not in response.text.lower()


def test_caseload(client: TestClient, demo: Demo, as_user: Headers) -> None:
    carla = client.get("/api/caseload", headers=as_user("carla")).json()
    assert [entry["display_name"] for entry in carla] == ["Anna de Vries", "Bram Jansen"]
    assert carla[0]["open_proposals"] == 0
    assert client.get("/api/caseload", headers=as_user("chris")).json() == []
    assert_problem(client.get("/api/caseload", headers=as_user("anna")), 403)


def test_household_member_reads_but_does_not_act(
    client: TestClient,
    demo: Demo,
    as_user: Headers,
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    with transaction(session_factory) as session:
        anna = session.get(Participant, demo.participants["anna"])
        assert anna is not None
        partner = create_participant(
            session,
            settings.field_cipher(),
            household_id=anna.household_id,
            display_name="Daan de Vries",
            bsn="999999990",
            own_iban=None,
            started_on=dt.date(2026, 9, 1),
        )
        daan_user = create_user(
            session,
            username="daan",
            display_name="Daan de Vries",
            roles=[Role.PARTICIPANT],
            password_hash="not-a-real-hash",
            participant_id=partner.id,
        )
        daan_id = partner.id
    token = issue_access_token(
        settings, subject=str(daan_user.id), roles=(), now=dt.datetime.now(dt.UTC)
    ).token
    headers = {"Authorization": f"Bearer {token}"}
    anna_id = demo.participants["anna"]
    summary = client.get(f"/api/participants/{anna_id}", headers=headers)
    assert summary.status_code == 200
    assert summary.json()["your_party"] is None
    assert client.get(f"/api/participants/{anna_id}/balances", headers=headers).status_code == 200
    proposal = client.post(
        f"/api/participants/{anna_id}/proposals",
        json={
            "change": {"kind": "extra_payout", "amount_cents": 5000},
            "reason": "Voor de verjaardag van Anna.",
        },
        headers=headers,
    )
    assert_problem(proposal, 403)
    assert_problem(
        client.post(
            f"/api/participants/{anna_id}/emergency", json={"kind": "other"}, headers=headers
        ),
        403,
    )
    # Anna sees Daan's household page too, and bram sees neither.
    assert client.get(f"/api/participants/{daan_id}", headers=as_user("anna")).status_code == 200
    assert_problem(client.get(f"/api/participants/{daan_id}", headers=as_user("bram")), 404)


def _holdings_from_sql(
    session_factory: sessionmaker[Session], participant_id: int
) -> dict[str, int]:
    """Independent of the API: sum the raw postings per account kind."""
    with session_factory() as session:
        rows = session.execute(
            text(
                "SELECT a.kind, COALESCE(SUM(p.amount_cents), 0) FROM ledger_account a "
                "LEFT JOIN posting p ON p.account_id = a.id "
                "WHERE a.participant_id = :pid GROUP BY a.kind"
            ),
            {"pid": participant_id},
        )
        return {kind: -int(total) for kind, total in rows}


def _entries_from_sql(session_factory: sessionmaker[Session], participant_id: int) -> list[str]:
    with session_factory() as session:
        rows = session.execute(
            text(
                "SELECT DISTINCT j.idempotency_key, j.booking_date, j.id FROM journal_entry j "
                "JOIN posting p ON p.journal_entry_id = j.id "
                "JOIN ledger_account a ON a.id = p.account_id "
                "WHERE a.participant_id = :pid ORDER BY j.booking_date DESC, j.id DESC"
            ),
            {"pid": participant_id},
        )
        return [key for key, _, _ in rows]


def test_balances(
    client: TestClient,
    demo: Demo,
    as_user: Headers,
    session_factory: sessionmaker[Session],
) -> None:
    anna = demo.participants["anna"]
    body = client.get(f"/api/participants/{anna}/balances", headers=as_user("anna")).json()
    holdings = {item["kind"]: item["holding_cents"] for item in body["accounts"]}
    assert holdings == _holdings_from_sql(session_factory, anna)
    assert holdings["buffer_advance"] == -150_000  # anna owes the advance
    assert holdings["buffer"] >= 150_000  # the advance plus what she built up
    assert body["total_held_cents"] == sum(
        holdings[kind] for kind in ("available", "reserved", "buffer", "payable")
    )


def test_transactions_newest_first_with_explanations_and_pages(
    client: TestClient,
    demo: Demo,
    as_user: Headers,
    session_factory: sessionmaker[Session],
) -> None:
    anna = demo.participants["anna"]
    headers = as_user("carla")
    url = f"/api/participants/{anna}/transactions"
    everything = client.get(url, params={"limit": 200}, headers=headers).json()
    items = everything["items"]
    assert everything["next_cursor"] is None
    expected_keys = _entries_from_sql(session_factory, anna)
    assert len(items) == len(expected_keys) > 5
    dates = [item["booking_date"] for item in items]
    assert dates == sorted(dates, reverse=True)
    assert all(item["explanation"] for item in items)
    advance = items[-1]
    assert {change["account_kind"]: change["change_cents"] for change in advance["changes"]} == {
        "buffer": 150_000,
        "buffer_advance": -150_000,
    }
    # The sum of every change per kind equals the balances: nothing missing, nothing twice.
    totals: dict[str, int] = {}
    for item in items:
        for change in item["changes"]:
            totals[change["account_kind"]] = (
                totals.get(change["account_kind"], 0) + change["change_cents"]
            )
    holdings = _holdings_from_sql(session_factory, anna)
    assert {kind: total for kind, total in totals.items() if total} == {
        kind: value for kind, value in holdings.items() if value
    }
    # Pages of two, following the cursor, give the same list.
    paged: list[dict[str, object]] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = client.get(url, params=params, headers=headers).json()
        paged.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert paged == items
    october = client.get(url, params={"month": "2026-10"}, headers=headers).json()["items"]
    assert october
    assert {item["booking_date"][:7] for item in october} == {"2026-10"}
    assert len(october) == sum(1 for item in items if item["booking_date"].startswith("2026-10"))
    assert_problem(client.get(url, params={"cursor": "garbage!"}, headers=headers), 422)
    assert_problem(client.get(url, params={"month": "2026-13"}, headers=headers), 422)
