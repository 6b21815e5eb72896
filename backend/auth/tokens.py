"""Access and refresh tokens: JWTs signed with HS256 through python-jose.

The one place tokens are made and read. Decoding pins the algorithm to HS256,
so `alg: none`, an RS/HS confusion or any other algorithm is refused before the
signature is looked at; issuer, audience, expiry, issue time, subject and token
id are required. The `typ` claim keeps access and refresh tokens apart: a
refresh token is never accepted as an access token, nor the other way round.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from jose import jwt  # type: ignore[import-untyped]
from jose.exceptions import (  # type: ignore[import-untyped]
    ExpiredSignatureError,
    JOSEError,
)

from backend.config import Settings
from backend.errors import Unauthorized

ALGORITHM = "HS256"
ISSUER = "huishoudboekje"
AUDIENCE = "huishoudboekje-api"
TOKEN_LENGTH_MAX = 4096
ROLES_PER_TOKEN_MAX = 10


class TokenType(enum.StrEnum):
    ACCESS = "access"
    REFRESH = "refresh"


class InvalidToken(Unauthorized):
    title = "Invalid token"
    slug = "invalid-token"


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a verified token says.

    subject: the user account id, as text.
    token_type: access or refresh.
    roles: the roles when the token was issued (the database stays authoritative).
    token_id: the `jti`, random; a refresh token is stored by its SHA-256.
    family_id: for refresh tokens, the login session the token belongs to.
    """

    subject: str
    token_type: TokenType
    roles: tuple[str, ...]
    token_id: str
    issued_at: dt.datetime
    expires_at: dt.datetime
    family_id: str | None = None


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    claims: TokenClaims

    @property
    def lifetime_seconds(self) -> int:
        return int((self.claims.expires_at - self.claims.issued_at).total_seconds())


def token_id_hash(token_id: str) -> str:
    return hashlib.sha256(token_id.encode()).hexdigest()


def issue_token(
    *,
    secret: str,
    subject: str,
    token_type: TokenType,
    roles: tuple[str, ...],
    lifetime: dt.timedelta,
    now: dt.datetime,
    family_id: str | None = None,
) -> IssuedToken:
    assert now.tzinfo is not None, "token times are UTC"
    assert lifetime > dt.timedelta(0)
    assert len(roles) <= ROLES_PER_TOKEN_MAX
    issued_at = now.replace(microsecond=0)
    claims = TokenClaims(
        subject=subject,
        token_type=token_type,
        roles=roles,
        token_id=secrets.token_urlsafe(24),
        issued_at=issued_at,
        expires_at=issued_at + lifetime,
        family_id=family_id,
    )
    body: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": subject,
        "typ": str(token_type),
        "roles": list(roles),
        "jti": claims.token_id,
        "iat": int(claims.issued_at.timestamp()),
        "exp": int(claims.expires_at.timestamp()),
    }
    if family_id is not None:
        body["fam"] = family_id
    return IssuedToken(jwt.encode(body, secret, algorithm=ALGORITHM), claims)


def issue_access_token(
    settings: Settings, *, subject: str, roles: tuple[str, ...], now: dt.datetime
) -> IssuedToken:
    return issue_token(
        secret=settings.jwt_secret(),
        subject=subject,
        token_type=TokenType.ACCESS,
        roles=roles,
        lifetime=dt.timedelta(minutes=settings.access_token_minutes),
        now=now,
    )


def issue_refresh_token(
    settings: Settings,
    *,
    subject: str,
    roles: tuple[str, ...],
    now: dt.datetime,
    family_id: str,
) -> IssuedToken:
    return issue_token(
        secret=settings.jwt_secret(),
        subject=subject,
        token_type=TokenType.REFRESH,
        roles=roles,
        lifetime=dt.timedelta(hours=settings.refresh_token_hours),
        now=now,
        family_id=family_id,
    )


def decode_token(token: str, *, secret: str, expected_type: TokenType) -> TokenClaims:
    """The verified claims, or InvalidToken (401) saying in general terms what is wrong."""
    if not token or len(token) > TOKEN_LENGTH_MAX:
        raise InvalidToken("the token is missing or too long")
    try:
        header = jwt.get_unverified_header(token)
    except JOSEError as error:
        raise InvalidToken("the token is not a well-formed JWT") from error
    if header.get("alg") != ALGORITHM:
        raise InvalidToken("the token is not signed with the expected algorithm")
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={
                "require_aud": True,
                "require_iss": True,
                "require_exp": True,
                "require_iat": True,
                "require_sub": True,
                "require_jti": True,
                "leeway": 0,
            },
        )
    except ExpiredSignatureError as error:
        raise InvalidToken("the token has expired; log in again or refresh it") from error
    except JOSEError as error:
        raise InvalidToken("the token's signature or claims are not valid") from error
    return _claims(claims, expected_type)


def _claims(claims: dict[str, Any], expected_type: TokenType) -> TokenClaims:
    if claims.get("typ") != expected_type:
        raise InvalidToken(f"this is not a token of the kind wanted here ({expected_type})")
    roles = claims.get("roles", [])
    subject = claims["sub"]
    if (
        not isinstance(subject, str)
        or not isinstance(roles, list)
        or not all(isinstance(role, str) for role in roles)
        or not isinstance(claims["iat"], int)
        or not isinstance(claims["exp"], int)
    ):
        raise InvalidToken("the token's claims are not valid")
    family_id = claims.get("fam")
    if expected_type is TokenType.REFRESH and not isinstance(family_id, str):
        raise InvalidToken("the refresh token has no session")
    return TokenClaims(
        subject=subject,
        token_type=expected_type,
        roles=tuple(roles),
        token_id=str(claims["jti"]),
        issued_at=dt.datetime.fromtimestamp(claims["iat"], dt.UTC),
        expires_at=dt.datetime.fromtimestamp(claims["exp"], dt.UTC),
        family_id=family_id if isinstance(family_id, str) else None,
    )
