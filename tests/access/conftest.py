"""A seeded demo municipality and an API client, per test (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.app import create_app
from backend.auth.tokens import issue_access_token
from backend.config import Settings
from backend.db import transaction
from backend.demo.seed import DEMO_PARTICIPANTS, DEMO_USERS, seed_demo
from backend.models import UserAccount
from backend.participants.service import find_participant_by_bsn

SEED_TODAY = dt.date(2026, 11, 28)
DEMO_USERNAMES = tuple(user.username for user in DEMO_USERS)


@dataclass(frozen=True)
class Demo:
    """Ids of the seeded demo world."""

    participants: dict[str, int]  # anna, bram, zoe -> participant id
    users: dict[str, int]  # username -> user account id


@pytest.fixture
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Cheap argon2 parameters, so tests that log in often stay fast (like Django's
    test hasher). Verification reads the parameters from the hash itself.
    tests/access/test_passwords.py checks the real parameters."""
    from backend.auth import passwords
    from backend.demo import seed

    monkeypatch.setattr(
        passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )
    seed._demo_password_hash.cache_clear()
    passwords._dummy_hash.cache_clear()
    yield
    seed._demo_password_hash.cache_clear()
    passwords._dummy_hash.cache_clear()


@pytest.fixture
def demo(
    session_factory: sessionmaker[Session], settings: Settings, fast_password_hashing: None
) -> Demo:
    with transaction(session_factory, write=True) as session:
        seed_demo(session, settings.field_cipher(), today=SEED_TODAY)
    cipher = settings.field_cipher()
    with transaction(session_factory) as session:
        participants = {}
        for seeded in DEMO_PARTICIPANTS:
            participant = find_participant_by_bsn(session, cipher, seeded.bsn)
            assert participant is not None
            participants[seeded.username] = participant.id
        users = {
            username: user_id
            for user_id, username in session.execute(select(UserAccount.id, UserAccount.username))
        }
    return Demo(participants=participants, users=users)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def token_for(settings: Settings, demo: Demo) -> Callable[[str], str]:
    """An access token for a demo user, minted directly (login is tested on its own)."""

    def mint(username: str) -> str:
        return issue_access_token(
            settings,
            subject=str(demo.users[username]),
            roles=(),
            now=dt.datetime.now(dt.UTC),
        ).token

    return mint


@pytest.fixture
def as_user(token_for: Callable[[str], str]) -> Callable[[str], dict[str, str]]:
    def headers(username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token_for(username)}"}

    return headers


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert isinstance(body, dict)
    return body
