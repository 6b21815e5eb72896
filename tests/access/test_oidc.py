"""OpenID Connect: ID tokens verified with the provider's JWKS (RS256 pinned),
mapped to accounts. A locally generated RSA key plays the provider; no network."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from jose import jwk, jwt  # type: ignore[import-untyped]
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.auth.oidc import (
    OidcConfig,
    OidcVerifier,
    RemoteJwks,
    StaticJwks,
)
from backend.auth.tokens import InvalidToken
from backend.config import Settings
from backend.db import transaction
from backend.models import UserAccount
from tests.access.conftest import Demo, assert_problem

ISSUER = "https://login.gemeente.example"
CLIENT_ID = "huishoudboekje"
CONFIG = OidcConfig(issuer=ISSUER, client_id=CLIENT_ID, audience=CLIENT_ID, bsn_claim="bsn")


class Provider:
    """A fake identity provider with its own RSA key."""

    def __init__(self, kid: str = "key-1") -> None:
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = kid
        self.private_pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        self.public_pem = (
            private.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )
        public_jwk = jwk.construct(self.public_pem, "RS256").to_dict()
        self.jwk = {**public_jwk, "kid": kid, "use": "sig", "alg": "RS256"}

    def key_set(self) -> dict[str, Any]:
        return {"keys": [self.jwk]}

    def id_token(self, *, kid: str | None = None, **overrides: Any) -> str:
        now = int(dt.datetime.now(dt.UTC).timestamp())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": CLIENT_ID,
            "sub": "subject-1",
            "iat": now,
            "exp": now + 300,
            "name": "Carla Bakker",
            **overrides,
        }
        headers = {"kid": kid or self.kid}
        return str(jwt.encode(claims, self.private_pem, algorithm="RS256", headers=headers))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hand_made(header: dict[str, Any], claims: dict[str, Any], hmac_key: bytes | None) -> str:
    """A JWT built by hand, as an attacker would (python-jose refuses to make these)."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    if hmac_key is None:
        return signing_input + "."
    signature = hmac.new(hmac_key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


@pytest.fixture(scope="module")
def provider() -> Provider:
    return Provider()


@pytest.fixture(scope="module")
def verifier(provider: Provider) -> OidcVerifier:
    return OidcVerifier(CONFIG, StaticJwks(provider.key_set()))


def test_valid_id_token(provider: Provider, verifier: OidcVerifier) -> None:
    identity = verifier.verify(provider.id_token(bsn="111222333", nonce="n-1"), nonce="n-1")
    assert identity.external_subject == f"{ISSUER}#subject-1"
    assert identity.name == "Carla Bakker"
    assert identity.bsn == "111222333"


def test_refused_id_tokens(provider: Provider, verifier: OidcVerifier) -> None:
    other = Provider(kid=provider.kid)  # same key id, different key
    now = int(dt.datetime.now(dt.UTC).timestamp())
    good_claims = {"iss": ISSUER, "aud": CLIENT_ID, "sub": "s", "iat": now, "exp": now + 300}
    bad = {
        "wrong key": other.id_token(),
        "expired": provider.id_token(iat=now - 7200, exp=now - 3600),
        "wrong audience": provider.id_token(aud="someone-else"),
        "wrong issuer": provider.id_token(iss="https://evil.example"),
        "several audiences, no azp": provider.id_token(aud=[CLIENT_ID, "other"]),
        # RS/HS confusion: HMAC with the public key as the secret
        "HS256 with public key": _hand_made(
            {"alg": "HS256", "kid": provider.kid}, good_claims, provider.public_pem.encode()
        ),
        "alg none": _hand_made({"alg": "none", "kid": provider.kid}, good_claims, None),
        "unknown key id": provider.id_token(kid="key-9"),
        "not a jwt": "garbage",
    }
    accepted = []
    for name, token in bad.items():
        try:
            verifier.verify(token)
        except InvalidToken:
            continue
        accepted.append(name)
    assert accepted == []
    with pytest.raises(InvalidToken, match="nonce"):
        verifier.verify(provider.id_token(nonce="a"), nonce="b")


def test_key_rotation_fetches_the_key_set_again(provider: Provider) -> None:
    rotated = Provider(kid="key-2")
    served = [provider.key_set()]
    fetched: list[str] = []
    clock = [dt.datetime(2026, 11, 28, tzinfo=dt.UTC)]

    def fetch(url: str) -> dict[str, Any]:
        fetched.append(url)
        if url.endswith("/.well-known/openid-configuration"):
            return {"jwks_uri": f"{ISSUER}/keys"}
        return served[-1]

    verifier = OidcVerifier(CONFIG, RemoteJwks(CONFIG, fetch=fetch, clock=lambda: clock[0]))
    verifier.verify(provider.id_token())
    assert fetched == [f"{ISSUER}/.well-known/openid-configuration", f"{ISSUER}/keys"]
    verifier.verify(provider.id_token())  # cached
    assert len(fetched) == 2
    served.append(rotated.key_set())
    clock[0] += dt.timedelta(minutes=5)
    verifier.verify(rotated.id_token())  # unknown kid: fetched again
    assert len(fetched) == 4
    with pytest.raises(InvalidToken):  # and not again within a minute
        verifier.verify(Provider(kid="key-3").id_token())
    assert len(fetched) == 4


@pytest.fixture
def oidc_client(client: TestClient, verifier: OidcVerifier, demo: Demo) -> Callable[[str], Any]:
    client.app.state.oidc_verifier = verifier  # type: ignore[attr-defined]

    def log_in(token: str) -> Any:
        return client.post("/api/auth/oidc", json={"id_token": token})

    return log_in


def _me(client: TestClient, response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    me = client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert isinstance(me, dict)
    return me


def test_staff_log_in_with_a_linked_subject(
    client: TestClient,
    oidc_client: Callable[[str], Any],
    provider: Provider,
    session_factory: sessionmaker[Session],
) -> None:
    assert_problem(oidc_client(provider.id_token(sub="carla-at-idp")), 401)  # not linked yet
    with transaction(session_factory) as session:
        carla = session.scalars(select(UserAccount).where(UserAccount.username == "carla")).one()
        carla.external_subject = f"{ISSUER}#carla-at-idp"
    me = _me(client, oidc_client(provider.id_token(sub="carla-at-idp")))
    assert me["username"] == "carla"
    assert me["roles"] == ["caseworker"]  # the role comes from us, never from the provider


def test_residents_log_in_through_a_digid_broker_by_bsn(
    client: TestClient,
    oidc_client: Callable[[str], Any],
    provider: Provider,
    demo: Demo,
) -> None:
    me = _me(client, oidc_client(provider.id_token(sub="digid-anna", bsn="111222333")))
    assert me["username"] == "anna"
    # Linked now: the next login works on the subject alone.
    assert _me(client, oidc_client(provider.id_token(sub="digid-anna")))["username"] == "anna"
    # Zoë has no account yet: one is made for her participant row, role participant only.
    zoe = _me(client, oidc_client(provider.id_token(sub="digid-zoe", bsn="100000009")))
    assert zoe["roles"] == ["participant"]
    assert zoe["participant_id"] == demo.participants["zoe"]
    # A BSN nobody has is no account.
    assert_problem(oidc_client(provider.id_token(sub="digid-x", bsn="999999990")), 401)


def test_configuration(settings: Settings) -> None:
    assert OidcConfig.from_settings(settings) is None
    configured = settings.model_copy(
        update={"oidc_issuer": ISSUER + "/", "oidc_client_id": CLIENT_ID}
    )
    config = OidcConfig.from_settings(configured)
    assert config == OidcConfig(issuer=ISSUER, client_id=CLIENT_ID, audience=CLIENT_ID)
