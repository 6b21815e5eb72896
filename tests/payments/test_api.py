"""Finance API: batches through prepare, approve (four eyes), export and download."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from typing import Annotated

import pytest
from fastapi import Header
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from backend.api.deps import DbSession
from backend.app import create_app
from backend.clock import today_amsterdam
from backend.config import Settings
from backend.payments.endpoints import current_finance_user
from backend.payments.finance_users import FinanceUser, resolve_finance_user
from backend.payments.sepa_file import check_file
from tests.payments.conftest import add_finance_user, build_world, make_payment


def _header_user(
    session: DbSession, x_finance_user: Annotated[str | None, Header()] = None
) -> FinanceUser:
    return resolve_finance_user(session, x_finance_user)


@pytest.fixture
def client(session: Session, settings: Settings) -> Iterator[TestClient]:
    world = build_world(session, settings)
    execution = today_amsterdam() + dt.timedelta(days=3)
    make_payment(
        session,
        world.anna,
        64_500,
        "cycle:anna:rent",
        execution_date=execution,
        due_date=execution + dt.timedelta(days=1),
    )
    make_payment(
        session,
        world.zoe,
        2_150,
        "cycle:zoe:water",
        execution_date=execution,
        reference="RF18539007547034",
    )
    session.commit()
    for name in ("fenna", "frank"):
        add_finance_user(session, name)
    app = create_app(settings)
    app.dependency_overrides[current_finance_user] = _header_user
    with TestClient(app) as test_client:
        yield test_client


def _as(user: str) -> dict[str, str]:
    return {"X-Finance-User": user}


def test_batch_through_the_api(client: TestClient) -> None:
    (batch,) = client.post("/api/finance/batches/propose", headers=_as("fenna")).json()
    path = f"/api/finance/batches/{batch['id']}"
    assert (batch["payments"], batch["control_sum_cents"]) == (2, 66_650)
    response = client.post(f"{path}/export", headers=_as("fenna"))
    assert response.status_code == 409
    assert response.headers["content-type"].startswith("application/problem+json")
    assert client.post(f"{path}/prepare", json={}, headers=_as("fenna")).status_code == 200
    refused = client.post(f"{path}/approve", json={}, headers=_as("fenna"))
    assert refused.status_code == 403
    assert "another finance user" in refused.json()["detail"]
    stale = client.post(f"{path}/approve", json={"expected_version": 1}, headers=_as("frank"))
    assert stale.status_code == 409
    approved = client.post(f"{path}/approve", json={}, headers=_as("frank"))
    assert approved.status_code == 200
    assert approved.json()["approved_by"] == "frank"
    exported = client.post(f"{path}/export?format=pain.001.001.03", headers=_as("frank"))
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("application/xml")
    check_file(exported.content, file_format="pain.001.001.03")
    assert exported.headers["x-checksum-sha256"] == hashlib.sha256(exported.content).hexdigest()
    downloaded = client.get(f"{path}/file", headers=_as("fenna"))
    assert downloaded.content == exported.content
    assert (
        client.post(f"{path}/export?format=pain.001.001.09", headers=_as("fenna")).status_code
        == 409
    )
    detail = client.get(path, headers=_as("fenna")).json()
    assert detail["sha1"] == hashlib.sha1(exported.content, usedforsecurity=False).hexdigest()
    assert [event["action"] for event in detail["events"]] == [
        "proposed",
        "payments_added",
        "prepared",
        "approved",
        "exported",
        "downloaded",
    ]
    assert {i["status"] for i in detail["instructions"]} == {"exported"}
    report = client.get("/api/finance/reconciliation", headers=_as("fenna")).json()
    assert report["ok"] is True
    assert report["totals"]["in_transit_cents"] == 66_650


def test_cancel_through_the_api(client: TestClient) -> None:
    (batch,) = client.post("/api/finance/batches/propose", headers=_as("fenna")).json()
    path = f"/api/finance/batches/{batch['id']}"
    assert (
        client.post(f"{path}/cancel", json={"reason": ""}, headers=_as("fenna")).status_code == 422
    )
    cancelled = client.post(f"{path}/cancel", json={"reason": "dubbel"}, headers=_as("fenna"))
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert {i["status"] for i in cancelled.json()["instructions"]} == {"cancelled"}
    assert client.get(f"{path}/file", headers=_as("fenna")).status_code == 409


def test_unknown_user_is_refused(client: TestClient) -> None:
    response = client.get("/api/finance/batches", headers=_as("mallory"))
    assert response.status_code == 401


def test_a_finance_user_header_is_not_a_login(session: Session, settings: Settings) -> None:
    build_world(session, settings)
    add_finance_user(session, "fenna")
    with TestClient(create_app(settings)) as client:
        response = client.get("/api/finance/batches", headers=_as("fenna"))
    # The header names nobody: finance routes take bearer tokens only.
    assert response.status_code == 401
