"""Access tokens: only our own, unexpired, HS256-signed access tokens are accepted."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from jose import jwt  # type: ignore[import-untyped]
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from backend.auth.tokens import (
    ALGORITHM,
    AUDIENCE,
    ISSUER,
    InvalidToken,
    TokenType,
    decode_token,
    issue_token,
)
from backend.config import Settings
from backend.db import transaction
from backend.models import UserAccount
from tests.access.conftest import Demo, assert_problem

SECRET = "a-test-secret-that-is-long-enough-000000"
NOW = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(subject: str, **extra: object) -> dict[str, object]:
    now = int(dt.datetime.now(dt.UTC).timestamp())
    return {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": subject,
        "typ": "access",
        "roles": ["participant"],
        "jti": "test-jti",
        "iat": now,
        "exp": now + 600,
        **extra,
    }


def test_round_trip() -> None:
    issued = issue_token(
        secret=SECRET,
        subject="7",
        token_type=TokenType.ACCESS,
        roles=("caseworker",),
        lifetime=dt.timedelta(minutes=15),
        now=dt.datetime.now(dt.UTC),
    )
    claims = decode_token(issued.token, secret=SECRET, expected_type=TokenType.ACCESS)
    assert claims.subject == "7"
    assert claims.roles == ("caseworker",)
    assert claims.token_type is TokenType.ACCESS
    assert issued.lifetime_seconds == 900
    header = jwt.get_unverified_header(issued.token)
    assert header["alg"] == ALGORITHM


def test_refresh_token_is_not_an_access_token_and_back() -> None:
    refresh = issue_token(
        secret=SECRET,
        subject="7",
        token_type=TokenType.REFRESH,
        roles=(),
        lifetime=dt.timedelta(hours=1),
        now=dt.datetime.now(dt.UTC),
        family_id="family",
    )
    with pytest.raises(InvalidToken, match=r"kind wanted here \(access\)"):
        decode_token(refresh.token, secret=SECRET, expected_type=TokenType.ACCESS)
    access = issue_token(
        secret=SECRET,
        subject="7",
        token_type=TokenType.ACCESS,
        roles=(),
        lifetime=dt.timedelta(hours=1),
        now=dt.datetime.now(dt.UTC),
    )
    with pytest.raises(InvalidToken, match=r"kind wanted here \(refresh\)"):
        decode_token(access.token, secret=SECRET, expected_type=TokenType.REFRESH)


def _bad_tokens(settings: Settings, user_id: int) -> dict[str, str]:
    secret = settings.jwt_secret()
    good = jwt.encode(_claims(str(user_id)), secret, algorithm="HS256")
    header, payload, signature = good.split(".")
    tampered_payload = _b64(_claims(str(user_id), roles=["admin"], sub=str(user_id + 1)))
    expired = issue_token(
        secret=secret,
        subject=str(user_id),
        token_type=TokenType.ACCESS,
        roles=(),
        lifetime=dt.timedelta(minutes=15),
        now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1),
    ).token
    return {
        "tampered payload": f"{header}.{tampered_payload}.{signature}",
        "tampered signature": f"{header}.{payload}.{signature[:-4]}AAAA",
        "expired": expired,
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{payload}.",
        "alg none with signature": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{payload}.{signature}",
        "wrong secret": jwt.encode(
            _claims(str(user_id)), "another-secret-entirely-0000000000000", algorithm="HS256"
        ),
        "HS512": jwt.encode(_claims(str(user_id)), secret, algorithm="HS512"),
        "wrong audience": jwt.encode(_claims(str(user_id), aud="other"), secret, algorithm="HS256"),
        "wrong issuer": jwt.encode(_claims(str(user_id), iss="other"), secret, algorithm="HS256"),
        "no expiry": jwt.encode(
            {k: v for k, v in _claims(str(user_id)).items() if k != "exp"}, secret, "HS256"
        ),
        "refresh as access": jwt.encode(
            _claims(str(user_id), typ="refresh", fam="f"), secret, algorithm="HS256"
        ),
        "unknown user": jwt.encode(_claims("999999"), secret, algorithm="HS256"),
        "not a jwt": "not-a-jwt",
        "too long": "a" * 5000,
    }


def test_bad_tokens_are_refused_with_401_problem(
    client: TestClient, settings: Settings, demo: Demo
) -> None:
    anna = demo.users["anna"]
    good = jwt.encode(_claims(str(anna)), settings.jwt_secret(), algorithm="HS256")
    assert client.get("/api/me", headers={"Authorization": f"Bearer {good}"}).status_code == 200
    for name, token in _bad_tokens(settings, anna).items():
        response = client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
        body = assert_problem(response, 401)
        assert response.headers["www-authenticate"] == "Bearer", name
        assert "Traceback" not in str(body), name


def test_missing_token_is_401(client: TestClient, demo: Demo) -> None:
    response = client.get(f"/api/participants/{demo.participants['anna']}")
    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


def test_deactivated_account_is_refused_at_once(
    client: TestClient,
    demo: Demo,
    as_user: Callable[[str], dict[str, str]],
    session_factory: sessionmaker[Session],
) -> None:
    headers = as_user("anna")
    assert client.get("/api/me", headers=headers).status_code == 200
    with transaction(session_factory) as session:
        session.execute(
            update(UserAccount).where(UserAccount.id == demo.users["anna"]).values(active=False)
        )
    assert_problem(client.get("/api/me", headers=headers), 401)
