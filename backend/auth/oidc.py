"""OpenID Connect login (optional): verify an ID token from the configured
issuer and map it to an account.

Staff log in through the municipal identity provider; their account is made
beforehand (`huishoudboekje users add ... --external-subject ISSUER#SUB`), the
provider only proves who they are, never which role they have. Residents log
in through a DigiD broker whose ID token carries the BSN (claim named by
HUISHOUDBOEKJE_OIDC_BSN_CLAIM); the BSN is looked up through its blind index.

The front end runs the authorisation-code flow with the provider and hands us
the ID token (POST /api/auth/oidc); we verify it with the provider's JWKS,
RS256 pinned, issuer and audience required, and issue our own tokens.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from jose import jwt  # type: ignore[import-untyped]
from jose.exceptions import (  # type: ignore[import-untyped]
    ExpiredSignatureError,
    JOSEError,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.auth.tokens import TOKEN_LENGTH_MAX, InvalidToken
from backend.config import Settings
from backend.errors import Unauthorized
from backend.models import UserAccount
from privacy import FieldCipher

ALGORITHM = "RS256"
JWKS_BYTES_MAX = 1_000_000
JWKS_CACHE = dt.timedelta(hours=1)
JWKS_REFRESH_INTERVAL_MIN = dt.timedelta(minutes=1)
FETCH_TIMEOUT_SECONDS = 5


@dataclass(frozen=True, slots=True)
class OidcConfig:
    issuer: str
    client_id: str
    audience: str
    jwks_url: str | None = None
    bsn_claim: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> OidcConfig | None:
        if not settings.oidc_issuer or not settings.oidc_client_id:
            return None
        return cls(
            issuer=settings.oidc_issuer.rstrip("/"),
            client_id=settings.oidc_client_id,
            audience=settings.oidc_audience or settings.oidc_client_id,
            jwks_url=settings.oidc_jwks_url,
            bsn_claim=settings.oidc_bsn_claim,
        )


class JwksSource(Protocol):
    def key_set(self, *, refresh: bool = False) -> dict[str, Any]: ...


class StaticJwks:
    """A fixed key set (tests; a provider whose keys are pinned in configuration)."""

    def __init__(self, key_set: dict[str, Any]) -> None:
        self._key_set = key_set

    def key_set(self, *, refresh: bool = False) -> dict[str, Any]:
        return self._key_set


def _fetch_json(url: str) -> dict[str, Any]:
    parsed = urllib.parse.urlsplit(url)
    local = parsed.hostname in {"localhost", "127.0.0.1", "::1"}
    if parsed.scheme != "https" and not (parsed.scheme == "http" and local):
        raise Unauthorized(f"OpenID Connect: {url} must be an https address")
    with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_SECONDS) as response:  # noqa: S310
        body = response.read(JWKS_BYTES_MAX + 1)
    if len(body) > JWKS_BYTES_MAX:
        raise Unauthorized(f"OpenID Connect: {url} returned more than {JWKS_BYTES_MAX} bytes")
    document = json.loads(body)
    if not isinstance(document, dict):
        raise Unauthorized(f"OpenID Connect: {url} did not return a JSON object")
    return document


class RemoteJwks:
    """The provider's keys over HTTPS, cached; fetched again (at most once a minute)
    when a token names a key we do not know, so key rotation just works."""

    def __init__(
        self,
        config: OidcConfig,
        *,
        fetch: Callable[[str], dict[str, Any]] = _fetch_json,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._config = config
        self._fetch = fetch
        self._clock = clock
        self._cached: dict[str, Any] | None = None
        self._fetched_at: dt.datetime | None = None
        self._lock = threading.Lock()

    def key_set(self, *, refresh: bool = False) -> dict[str, Any]:
        with self._lock:
            now = self._clock()
            age = now - self._fetched_at if self._fetched_at else None
            stale = age is None or age > JWKS_CACHE
            may_refresh = age is None or age > JWKS_REFRESH_INTERVAL_MIN
            if self._cached is None or stale or (refresh and may_refresh):
                self._cached = self._fetch(self._jwks_url())
                self._fetched_at = now
            return self._cached

    def _jwks_url(self) -> str:
        if self._config.jwks_url:
            return self._config.jwks_url
        discovery = self._fetch(f"{self._config.issuer}/.well-known/openid-configuration")
        url = discovery.get("jwks_uri")
        if not isinstance(url, str):
            raise Unauthorized("OpenID Connect: the discovery document has no jwks_uri")
        return url


@dataclass(frozen=True, slots=True)
class OidcIdentity:
    issuer: str
    subject: str
    name: str | None = None
    bsn: str | None = None

    @property
    def external_subject(self) -> str:
        return f"{self.issuer}#{self.subject}"


class OidcVerifier:
    def __init__(self, config: OidcConfig, jwks: JwksSource) -> None:
        self.config = config
        self._jwks = jwks

    def verify(self, id_token: str, *, nonce: str | None = None) -> OidcIdentity:
        if not id_token or len(id_token) > TOKEN_LENGTH_MAX:
            raise InvalidToken("the ID token is missing or too long")
        try:
            header = jwt.get_unverified_header(id_token)
        except JOSEError as error:
            raise InvalidToken("the ID token is not a well-formed JWT") from error
        if header.get("alg") != ALGORITHM:
            raise InvalidToken("the ID token is not signed with RS256")
        key = self._signing_key(header.get("kid"))
        try:
            claims: dict[str, Any] = jwt.decode(
                id_token,
                key,
                algorithms=[ALGORITHM],
                audience=self.config.audience,
                issuer=self.config.issuer,
                options={
                    "require_aud": True,
                    "require_iss": True,
                    "require_exp": True,
                    "require_iat": True,
                    "require_sub": True,
                    "verify_at_hash": False,
                    "leeway": 30,
                },
            )
        except ExpiredSignatureError as error:
            raise InvalidToken("the ID token has expired; log in again") from error
        except JOSEError as error:
            raise InvalidToken("the ID token's signature or claims are not valid") from error
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.config.client_id:
            raise InvalidToken("the ID token was issued to another client")
        if nonce is not None and claims.get("nonce") != nonce:
            raise InvalidToken("the ID token does not belong to this login (nonce)")
        bsn = claims.get(self.config.bsn_claim) if self.config.bsn_claim else None
        name = claims.get("name")
        return OidcIdentity(
            issuer=str(claims["iss"]),
            subject=str(claims["sub"]),
            name=name if isinstance(name, str) else None,
            bsn=str(bsn) if bsn is not None else None,
        )

    def _signing_key(self, kid: object) -> dict[str, Any]:
        for refresh in (False, True):
            keys = [
                key
                for key in self._jwks.key_set(refresh=refresh).get("keys", [])
                if isinstance(key, dict)
                and key.get("kty") == "RSA"
                and key.get("use", "sig") == "sig"
                and key.get("alg", ALGORITHM) == ALGORITHM
            ]
            if kid is not None:
                keys = [key for key in keys if key.get("kid") == kid]
            if len(keys) == 1:
                return keys[0]
        raise InvalidToken("the ID token is signed with a key the identity provider does not list")


def build_verifier(settings: Settings) -> OidcVerifier | None:
    config = OidcConfig.from_settings(settings)
    if config is None:
        return None
    return OidcVerifier(config, RemoteJwks(config))


def account_for_identity(
    session: Session, cipher: FieldCipher, identity: OidcIdentity
) -> UserAccount:
    """The account this identity logs in as; never creates staff accounts.

    1. an account linked to this issuer and subject;
    2. with a BSN (DigiD broker): the account of the participant with that BSN,
       made on their first login, and linked to the identity from then on.
    """
    from backend.participants.service import find_participant_by_bsn

    account = session.scalar(
        select(UserAccount).where(UserAccount.external_subject == identity.external_subject)
    )
    if account is None and identity.bsn is not None:
        participant = find_participant_by_bsn(session, cipher, identity.bsn)
        if participant is not None:
            account = session.scalar(
                select(UserAccount).where(UserAccount.participant_id == participant.id)
            )
            if account is None:
                account = UserAccount(
                    username=f"participant-{participant.id}",
                    display_name=participant.display_name,
                    password_hash=None,
                    roles=["participant"],
                    participant_id=participant.id,
                    external_subject=identity.external_subject,
                    active=True,
                    failed_login_count=0,
                )
                session.add(account)
            elif account.external_subject is None:
                account.external_subject = identity.external_subject
            session.flush()
    if account is None or not account.active:
        raise Unauthorized(
            "no active account is linked to this login; ask the municipality to set one up"
        )
    return account
