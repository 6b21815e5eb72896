"""Logging in, lockout and throttling, refresh rotation, logout, /api/me."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from backend.app import create_app
from backend.auth.throttle import LoginThrottle
from backend.config import Settings
from backend.db import transaction
from backend.models import UserAccount
from tests.access.conftest import Demo, assert_problem


def login(client: TestClient, username: str, password: str = "demo") -> Any:
    return client.post("/api/auth/token", data={"username": username, "password": password})


def test_login_and_me(client: TestClient, demo: Demo, settings: Settings) -> None:
    response = login(client, "anna")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == settings.access_token_minutes * 60
    assert body["refresh_expires_in"] == settings.refresh_token_hours * 3600
    assert response.headers["cache-control"] == "no-store"
    me = client.get("/api/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json() == {
        "user_id": demo.users["anna"],
        "username": "anna",
        "display_name": "Anna de Vries",
        "roles": ["participant"],
        "permissions": ["own_household"],
        "participant_id": demo.participants["anna"],
    }


@pytest.mark.parametrize(
    ("username", "roles"),
    [
        ("carla", ["caseworker"]),
        ("fenna", ["finance"]),
        ("priya", ["privacy_officer"]),
        ("admin", ["admin"]),
    ],
)
def test_staff_have_no_participant_id(
    client: TestClient, demo: Demo, username: str, roles: list[str]
) -> None:
    token = login(client, username.upper()).json()["access_token"]  # usernames ignore case
    me = client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me["roles"] == roles
    assert me["participant_id"] is None


def test_wrong_password_and_unknown_user_look_the_same(client: TestClient, demo: Demo) -> None:
    wrong = assert_problem(login(client, "anna", "nope"), 401)
    unknown = assert_problem(login(client, "nobody", "nope"), 401)
    assert wrong["detail"] == unknown["detail"]
    assert wrong["title"] == unknown["title"]


def test_lockout_after_five_failures(
    client: TestClient, demo: Demo, session_factory: sessionmaker[Session]
) -> None:
    for _ in range(4):
        assert_problem(login(client, "bram", "wrong"), 401)
    assert login(client, "bram").status_code == 200  # success resets the count
    for _ in range(5):
        assert_problem(login(client, "bram", "wrong"), 401)
    locked = assert_problem(login(client, "bram"), 429)  # even the right password
    assert locked["retry_after_seconds"] > 14 * 60
    assert "15 minute" in str(locked["detail"])
    with transaction(session_factory) as session:
        account = session.scalars(select(UserAccount).where(UserAccount.username == "bram")).one()
        assert account.locked_until is not None
        # The lock ends by itself.
        session.execute(
            update(UserAccount)
            .where(UserAccount.id == account.id)
            .values(locked_until=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
    assert login(client, "bram").status_code == 200


def test_admin_unlocks(client: TestClient, demo: Demo) -> None:
    for _ in range(5):
        login(client, "bram", "wrong")
    assert_problem(login(client, "bram"), 429)
    admin = {"Authorization": f"Bearer {login(client, 'admin').json()['access_token']}"}
    unlocked = client.post(f"/api/admin/users/{demo.users['bram']}/unlock", headers=admin)
    assert unlocked.status_code == 200
    assert unlocked.json()["locked_until"] is None
    assert login(client, "bram").status_code == 200


def test_unknown_names_are_throttled_like_accounts(client: TestClient, demo: Demo) -> None:
    for _ in range(5):
        assert_problem(login(client, "ghost", "wrong"), 401)
    assert_problem(login(client, "ghost", "wrong"), 429)


def test_one_address_trying_many_names_is_throttled(settings: Settings, demo: Demo) -> None:
    strict = settings.model_copy(update={"login_address_failures_max": 3})
    with TestClient(create_app(strict)) as client:
        for name in ("anna", "bram", "x"):
            assert_problem(login(client, name, "wrong"), 401)
        assert_problem(login(client, "carla"), 429)


def test_throttle_window_slides() -> None:
    throttle = LoginThrottle(failures_max=2, window=dt.timedelta(minutes=10), keys_max=2)
    start = dt.datetime(2026, 11, 28, tzinfo=dt.UTC)
    throttle.record_failure("a", start)
    throttle.record_failure("a", start + dt.timedelta(minutes=1))
    assert throttle.blocked_for("a", start + dt.timedelta(minutes=2)) == dt.timedelta(minutes=8)
    assert throttle.blocked_for("a", start + dt.timedelta(minutes=10)) is None
    throttle.record_failure("b", start)
    throttle.record_failure("c", start)  # at most keys_max keys: "a" is forgotten
    assert throttle.blocked_for("a", start + dt.timedelta(minutes=2)) is None


def test_refresh_rotates_and_reuse_ends_the_session(client: TestClient, demo: Demo) -> None:
    first = login(client, "carla").json()
    second = client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200, second.text
    new = second.json()
    assert new["refresh_token"] != first["refresh_token"]
    me = client.get("/api/me", headers={"Authorization": f"Bearer {new['access_token']}"})
    assert me.json()["username"] == "carla"
    # The old refresh token was used once already: someone copied it. Both die.
    reused = client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert_problem(reused, 401)
    after = client.post("/api/auth/refresh", json={"refresh_token": new["refresh_token"]})
    assert_problem(after, 401)


def test_access_token_is_no_refresh_token(client: TestClient, demo: Demo) -> None:
    tokens = login(client, "carla").json()
    response = client.post("/api/auth/refresh", json={"refresh_token": tokens["access_token"]})
    assert_problem(response, 401)


def test_logout_ends_the_session(client: TestClient, demo: Demo) -> None:
    tokens = login(client, "fenna").json()
    assert (
        client.post("/api/auth/logout", json={"refresh_token": tokens["refresh_token"]}).status_code
        == 204
    )
    response = client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert_problem(response, 401)


def test_migrations_create_no_accounts(session: Session) -> None:
    assert session.scalars(select(UserAccount)).all() == []


def test_oidc_login_is_off_unless_configured(client: TestClient) -> None:
    assert_problem(client.post("/api/auth/oidc", json={"id_token": "x.y.z"}), 404)
