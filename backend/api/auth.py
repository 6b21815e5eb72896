"""Logging in (OAuth2 password flow), refreshing, logging out, OpenID Connect."""

from __future__ import annotations

from typing import Annotated, Literal, NoReturn

from fastapi import APIRouter, Depends, Form, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from backend.access.dependencies import AppSettings
from backend.api.deps import DbSession
from backend.api.login_check import check_password_first, checked_password
from backend.api.problem_docs import problem_responses
from backend.auth.oidc import OidcVerifier, account_for_identity
from backend.auth.passwords import PASSWORD_LENGTH_MAX
from backend.auth.service import (
    LoginThrottles,
    TokenPair,
    issue_tokens,
    log_in,
    log_out,
    refresh_tokens,
)
from backend.auth.tokens import TOKEN_LENGTH_MAX
from backend.errors import AppError, NotFound
from backend.models.base import utcnow

router = APIRouter(prefix="/api/auth", tags=["auth"])


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 token type
    expires_in: int = Field(description="seconds the access token is valid")
    refresh_token: str
    refresh_expires_in: int = Field(description="seconds the refresh token is valid")


class RefreshRequest(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=TOKEN_LENGTH_MAX)


class OidcLoginRequest(BaseModel):
    id_token: str = Field(min_length=1, max_length=TOKEN_LENGTH_MAX)
    nonce: str | None = Field(default=None, max_length=200)


def _token_response(pair: TokenPair, response: Response) -> TokenResponse:
    response.headers["Cache-Control"] = "no-store"
    return TokenResponse(
        access_token=pair.access.token,
        expires_in=pair.access.lifetime_seconds,
        refresh_token=pair.refresh.token,
        refresh_expires_in=pair.refresh.lifetime_seconds,
    )


def _commit_then_raise(session: Session, error: AppError) -> NoReturn:
    """A failed login or a reused refresh token is recorded although the request fails."""
    session.commit()
    raise error


@router.post(
    "/token",
    response_model=TokenResponse,
    summary="Log in with username and password (OAuth2 password flow)",
    responses=problem_responses(401, 429),
    dependencies=[Depends(check_password_first)],  # before the session: see login_check
)
def token(
    request: Request,
    response: Response,
    session: DbSession,
    settings: AppSettings,
    username: Annotated[str, Form(min_length=1, max_length=200)],
    password: Annotated[str, Form(min_length=1, max_length=PASSWORD_LENGTH_MAX)],
    grant_type: Annotated[str | None, Form(pattern="^password$")] = None,
) -> TokenResponse:
    throttles: LoginThrottles = request.app.state.login_throttles
    address = request.client.host if request.client else "unknown"
    try:
        pair = log_in(
            session,
            settings,
            throttles,
            username=username,
            password=password,
            address=address,
            now=utcnow(),
            checked=checked_password(request),
        )
    except AppError as error:
        _commit_then_raise(session, error)
    return _token_response(pair, response)


@router.post(
    "/refresh",
    response_model=TokenResponse,
    summary="Swap a refresh token for new tokens (the old refresh token stops working)",
    responses=problem_responses(401),
)
def refresh(
    body: RefreshRequest, response: Response, session: DbSession, settings: AppSettings
) -> TokenResponse:
    try:
        pair = refresh_tokens(session, settings, refresh_token=body.refresh_token, now=utcnow())
    except AppError as error:
        _commit_then_raise(session, error)
    return _token_response(pair, response)


@router.post(
    "/logout",
    status_code=204,
    summary="End the session of this refresh token",
    responses=problem_responses(401),
)
def logout(body: RefreshRequest, session: DbSession, settings: AppSettings) -> Response:
    log_out(session, settings, refresh_token=body.refresh_token, now=utcnow())
    return Response(status_code=204)


@router.post(
    "/oidc",
    response_model=TokenResponse,
    summary="Log in with an ID token from the configured OpenID Connect provider",
    responses=problem_responses(401, 404),
)
def oidc_login(
    request: Request,
    body: OidcLoginRequest,
    response: Response,
    session: DbSession,
    settings: AppSettings,
) -> TokenResponse:
    verifier: OidcVerifier | None = request.app.state.oidc_verifier
    if verifier is None:
        raise NotFound("OpenID Connect login is not configured for this service")
    identity = verifier.verify(body.id_token, nonce=body.nonce)
    account = account_for_identity(session, settings.field_cipher(), identity)
    now = utcnow()
    account.last_login_at = now
    return _token_response(issue_tokens(session, settings, account, now=now), response)
