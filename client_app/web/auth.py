"""Logging in with cookies: the same accounts, lockout and tokens as the API.

After `log_in` (backend.auth.service: per-account lockout, per-address
throttle) the access token and the refresh token are kept in HTTP-only,
SameSite=Lax cookies (Secure when the page is served over HTTPS). A page
request reads the access token; when it has expired, the refresh token is
rotated (backend.auth.service.refresh_tokens) and the new pair set. Logging out
revokes the refresh token's whole session.

`current_principal` is the one way a page learns who is asking; scope and
roles are then decided by backend.access.policy, as for the API.
"""

from __future__ import annotations

import contextlib

from sqlalchemy.orm import Session
from starlette.requests import Request

from backend.access.policy import Principal
from backend.api.login_check import checked_password
from backend.auth.service import (
    LoginThrottles,
    TokenPair,
    log_in,
    log_out,
    principal_from_access_token,
    refresh_tokens,
)
from backend.config import Settings
from backend.errors import AppError
from backend.models.base import utcnow
from client_app.web.cookies import queue_cookie, queue_delete
from client_app.web.csrf import renew_nonce

ACCESS_COOKIE = "hb_access"
REFRESH_COOKIE = "hb_refresh"
_STATE_PRINCIPAL = "hb_principal"


class LoginRequired(Exception):
    """No (valid) login: the page sends the browser to the login form."""


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _set_tokens(request: Request, pair: TokenPair) -> None:
    refresh_lifetime = pair.refresh.lifetime_seconds
    # The access cookie lives as long as the session: an expired token in it is
    # what tells us to refresh (and is refused by the token check itself).
    queue_cookie(request, ACCESS_COOKIE, pair.access.token, max_age=refresh_lifetime)
    queue_cookie(request, REFRESH_COOKIE, pair.refresh.token, max_age=refresh_lifetime)


def clear_login(request: Request) -> None:
    queue_delete(request, ACCESS_COOKIE)
    queue_delete(request, REFRESH_COOKIE)


def cookie_log_in(request: Request, session: Session, *, username: str, password: str) -> Principal:
    """Log in (raises LoginFailed / LoginLocked like the API) and set the cookies.
    The CSRF nonce is renewed: a form token from before the login is not valid after."""
    settings = settings_of(request)
    throttles: LoginThrottles = request.app.state.login_throttles
    address = request.client.host if request.client else "unknown"
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
    _set_tokens(request, pair)
    renew_nonce(request)
    principal = principal_from_access_token(session, settings, pair.access.token)
    setattr(request.state, _STATE_PRINCIPAL, principal)
    return principal


def cookie_log_out(request: Request, session: Session) -> None:
    refresh = request.cookies.get(REFRESH_COOKIE)
    if refresh:
        # An unknown or expired session: there is nothing left to end.
        with contextlib.suppress(AppError):
            log_out(session, settings_of(request), refresh_token=refresh, now=utcnow())
    clear_login(request)
    renew_nonce(request)
    setattr(request.state, _STATE_PRINCIPAL, None)


def current_principal(request: Request, session: Session) -> Principal | None:
    """Who is logged in on this request, refreshing the tokens when needed; None
    when nobody is (and then any stale login cookies are removed)."""
    if hasattr(request.state, _STATE_PRINCIPAL):
        cached: Principal | None = getattr(request.state, _STATE_PRINCIPAL)
        return cached
    principal = _resolve(request, session)
    setattr(request.state, _STATE_PRINCIPAL, principal)
    return principal


def _resolve(request: Request, session: Session) -> Principal | None:
    settings = settings_of(request)
    access = request.cookies.get(ACCESS_COOKIE)
    if access:
        try:
            return principal_from_access_token(session, settings, access)
        except AppError:
            pass  # expired or no longer valid: try the refresh token
    refresh = request.cookies.get(REFRESH_COOKIE)
    if not refresh:
        if access:
            clear_login(request)
        return None
    try:
        pair = refresh_tokens(session, settings, refresh_token=refresh, now=utcnow())
        principal = principal_from_access_token(session, settings, pair.access.token)
    except AppError:
        # A reused refresh token revokes its whole session: keep that decision.
        session.commit()
        clear_login(request)
        return None
    # Commit the rotation now: if the page itself fails later, the new tokens the
    # browser receives must still be the ones the database knows.
    session.commit()
    _set_tokens(request, pair)
    return principal
