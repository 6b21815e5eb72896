"""Finance API for bank statements: upload, lists, the suspense queue, assigning."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from backend.access.roles import Role
from backend.access.users import create_user
from backend.app import create_app
from backend.auth.tokens import issue_access_token
from backend.bank_import import endpoints
from backend.config import Settings
from tests.access.conftest import assert_problem
from tests.bank.fixture_paths import CAMT_02, FRIDAY, MONDAY, MT940_DIR
from tests.bank_import.conftest import Persona, build_persona, row_counts

FRIDAY_02 = (CAMT_02 / f"{FRIDAY}.xml").read_bytes()


class Api:
    def __init__(self, client: TestClient, tokens: dict[str, str], persona: Persona) -> None:
        self.client = client
        self.tokens = tokens
        self.persona = persona

    def headers(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    def upload(self, user: str, data: bytes, name: str = "afschrift.xml") -> httpx.Response:
        return self.client.post(
            "/api/finance/bank/statements",
            files={"file": (name, data, "application/xml")},
            headers=self.headers(user),
        )


@pytest.fixture
def api(session: Session, settings: Settings) -> Iterator[Api]:
    persona = build_persona(session, settings)
    tokens = {}
    for username, role in (("fenna", Role.FINANCE), ("carla", Role.CASEWORKER)):
        account = create_user(
            session,
            username=username,
            display_name=username.title(),
            roles=[role],
            password_hash="x",  # never used: tokens are minted directly
        )
        session.flush()
        tokens[username] = issue_access_token(
            settings, subject=str(account.id), roles=(), now=dt.datetime.now(dt.UTC)
        ).token
    session.commit()
    with TestClient(create_app(settings)) as client:
        yield Api(client, tokens, persona)


def test_upload_lists_and_assign(api: Api, session: Session) -> None:
    response = api.upload("fenna", FRIDAY_02, "vrijdag.xml")
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["file"], body["new_entries"], body["matched_entries"]) == ("vrijdag.xml", 9, 3)
    assert body["statements"][0]["account"] == "NL84BNGH0285050123"
    again = api.upload("fenna", FRIDAY_02, "vrijdag.xml").json()
    assert again["duplicate_file"] is True and again["new_entries"] == 0
    monday = (MT940_DIR / f"{MONDAY}.sta").read_bytes()
    assert api.upload("fenna", monday, "maandag.sta").json()["gap_cents"] is not None

    statements = api.client.get("/api/finance/bank/statements", headers=api.headers("fenna"))
    assert statements.status_code == 200
    page = statements.json()
    assert [item["statement_id"] for item in page["items"]] == [
        "MT940-20241118",
        "0285050123-20241115-01",
    ]
    friday_id = page["items"][-1]["id"]
    entries = api.client.get(
        "/api/finance/bank/entries",
        params={"statement": friday_id, "status": ["suspense", "matched_income"]},
        headers=api.headers("fenna"),
    ).json()
    assert entries["total"] == 6
    assert [item["sequence"] for item in entries["items"]] == sorted(
        item["sequence"] for item in entries["items"]
    )
    bad_filter = api.client.get(
        "/api/finance/bank/entries", params={"status": "lost"}, headers=api.headers("fenna")
    )
    assert_problem(bad_filter, 422)

    queue = api.client.get("/api/finance/bank/suspense", headers=api.headers("fenna")).json()
    assert queue["total"] == 3
    huurtoeslag = next(i for i in queue["items"] if i["bank_reference"] == "2024111500003")
    suggestion = huurtoeslag["suggestions"][0]
    assert (suggestion["participant_id"], suggestion["participant_name"]) == (
        api.persona.zoe,
        "Zoë Ĳzerman",
    )
    assigned = api.client.post(
        f"/api/finance/bank/suspense/{huurtoeslag['id']}/assign",
        json={"participant_id": api.persona.zoe, "reason": "Huurtoeslag van Zoë"},
        headers=api.headers("fenna"),
    )
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["journal_entry_key"] == f"suspense:assign:{huurtoeslag['id']}"
    assert assigned.json()["assigned_by"] == "fenna"
    conflict = api.client.post(
        f"/api/finance/bank/suspense/{huurtoeslag['id']}/assign",
        json={"participant_id": api.persona.jan, "reason": "toch Jan"},
        headers=api.headers("fenna"),
    )
    assert_problem(conflict, 409)


def test_a_refused_upload_is_a_problem_naming_file_line_and_element(
    api: Api, session: Session
) -> None:
    before = row_counts(session)
    data = FRIDAY_02.replace(b'<Amt Ccy="EUR">123.00</Amt>', b'<Amt Ccy="EUR">12.345</Amt>')
    body = assert_problem(api.upload("fenna", data, "kapot.xml"), 422)
    assert body["title"] == "Bank statement refused"
    assert (body["filename"], body["element"]) == ("kapot.xml", "Ntry/Amt")
    assert isinstance(body["line"], int)
    assert body["detail"].startswith(f"kapot.xml line {body['line']}, element Ntry/Amt: ")
    foreign = FRIDAY_02.replace(b"NL84BNGH0285050123", b"NL91ABNA0417164300")
    body = assert_problem(api.upload("fenna", foreign, "vreemd.xml"), 422)
    assert "not one of the municipality's accounts" in body["detail"]
    not_multipart = api.client.post(
        "/api/finance/bank/statements", content=FRIDAY_02, headers=api.headers("fenna")
    )
    assert_problem(not_multipart, 422)
    session.expire_all()
    assert row_counts(session) == before


def test_a_too_large_upload_is_413(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(endpoints, "UPLOAD_BYTES_MAX", 1_000)
    body = assert_problem(api.upload("fenna", FRIDAY_02), 413)  # the file inside the form
    assert "larger than the maximum" in body["detail"]
    monkeypatch.setattr(endpoints, "MULTIPART_OVERHEAD_BYTES_MAX", 0)
    body = assert_problem(api.upload("fenna", FRIDAY_02), 413)  # from Content-Length alone
    assert "larger than the maximum" in body["detail"]


def test_only_finance_may_use_the_bank_routes(api: Api) -> None:
    assert_problem(api.upload("carla", FRIDAY_02), 403)
    for path in ("/api/finance/bank/statements", "/api/finance/bank/suspense"):
        assert_problem(api.client.get(path, headers=api.headers("carla")), 403)
        assert_problem(api.client.get(path), 401)
    assert_problem(
        api.client.post(
            "/api/finance/bank/suspense/1/assign",
            json={"participant_id": 1, "reason": "x"},
            headers=api.headers("carla"),
        ),
        403,
    )
