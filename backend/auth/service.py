"""Logging in, refreshing and logging out; turning an access token into a Principal.

Login protection, in two layers:
- per account, in the database: after `login_failures_max` failed passwords in
  a row the account is locked for `login_lockout_minutes` (even the right
  password is refused until then); a successful login resets the count.
- per client address and per unknown name, in this process (LoginThrottle).
A locked account and a throttled unknown name get the same answer (429), so
the answer never tells whether a username exists.

Failed attempts are flushed before the error is raised: the endpoint commits
them although the request fails (see backend.api.auth).
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from backend.access.policy import Principal
from backend.auth.passwords import hash_password, needs_rehash, verify_password
from backend.auth.throttle import LoginThrottle
from backend.auth.tokens import (
    InvalidToken,
    IssuedToken,
    TokenType,
    decode_token,
    issue_access_token,
    issue_refresh_token,
    token_id_hash,
)
from backend.config import Settings
from backend.errors import AppError, Unauthorized
from backend.models import RefreshToken, UserAccount

USERNAME_LENGTH_MAX = 80


class LoginFailed(Unauthorized):
    title = "Login failed"
    slug = "login-failed"


class LoginLocked(AppError):
    status_code = 429
    title = "Too many failed logins"
    slug = "login-locked"


@dataclass(frozen=True, slots=True)
class TokenPair:
    access: IssuedToken
    refresh: IssuedToken


@dataclass
class LoginThrottles:
    """The in-process limiters of one app instance."""

    by_address: LoginThrottle
    by_unknown_name: LoginThrottle

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginThrottles:
        return cls(
            by_address=LoginThrottle(
                failures_max=settings.login_address_failures_max,
                window=dt.timedelta(minutes=settings.login_address_window_minutes),
            ),
            by_unknown_name=LoginThrottle(
                failures_max=settings.login_failures_max,
                window=dt.timedelta(minutes=settings.login_lockout_minutes),
            ),
        )


def normalise_username(username: str) -> str:
    return username.strip().lower()


def _locked(wait: dt.timedelta) -> LoginLocked:
    minutes = max(1, math.ceil(wait.total_seconds() / 60))
    return LoginLocked(
        f"Too many failed attempts. Try again in {minutes} minute(s).",
        retry_after_seconds=max(1, math.ceil(wait.total_seconds())),
    )


_LOGIN_FAILED = "the username or password is not right"


@dataclass(frozen=True, slots=True)
class LoginCheck:
    """Who would log in, found before the password is checked."""

    name: str
    address_key: str
    account_id: int | None
    password_hash: str | None


@dataclass(frozen=True, slots=True)
class CheckedPassword:
    """A password checked before the request's own session was opened (on SQLite the
    0.45 s argon2 check would otherwise hold the worker's one database turn)."""

    check: LoginCheck
    verified: bool


def log_in(
    session: Session,
    settings: Settings,
    throttles: LoginThrottles,
    *,
    username: str,
    password: str,
    address: str,
    now: dt.datetime,
    checked: CheckedPassword | None = None,
) -> TokenPair:
    """Tokens for a right username and password; LoginFailed (the failure is counted in
    this session: commit it) or LoginLocked otherwise. `checked`: the password was
    checked already for this username (`start_log_in`, then `verify_password`)."""
    if checked is None or checked.check.name != normalise_username(username):
        check = start_log_in(session, throttles, username=username, address=address, now=now)
        checked = CheckedPassword(check, verify_password(check.password_hash, password))
    return _finish_log_in(session, settings, throttles, checked, password=password, now=now)


def start_log_in(
    session: Session, throttles: LoginThrottles, *, username: str, address: str, now: dt.datetime
) -> LoginCheck:
    """Throttles and lockout first (raises LoginLocked); then who would log in."""
    name = normalise_username(username)
    address_key = f"address:{address}"
    wait = throttles.by_address.blocked_for(address_key, now)
    if wait is not None:
        raise _locked(wait)
    account = None
    if 0 < len(name) <= USERNAME_LENGTH_MAX:
        account = session.scalar(select(UserAccount).where(UserAccount.username == name))
    if account is None:
        wait = throttles.by_unknown_name.blocked_for(_name_key(name), now)
        if wait is not None:
            raise _locked(wait)
        # verify_password(None, …) checks a dummy hash: an unknown name takes as long
        return LoginCheck(name, address_key, None, None)
    if account.locked_until is not None and account.locked_until > now:
        raise _locked(account.locked_until - now)
    return LoginCheck(name, address_key, account.id, account.password_hash)


def _finish_log_in(
    session: Session,
    settings: Settings,
    throttles: LoginThrottles,
    checked: CheckedPassword,
    *,
    password: str,
    now: dt.datetime,
) -> TokenPair:
    check, verified = checked.check, checked.verified
    # Again after the (slow) password check: attempts checked side by side all passed
    # the throttles before any of them failed.
    wait = throttles.by_address.blocked_for(check.address_key, now)
    if wait is None and check.account_id is None:
        wait = throttles.by_unknown_name.blocked_for(_name_key(check.name), now)
    if wait is not None:
        raise _locked(wait)
    if check.account_id is None:
        throttles.by_address.record_failure(check.address_key, now)
        throttles.by_unknown_name.record_failure(_name_key(check.name), now)
        raise LoginFailed(_LOGIN_FAILED)
    account = session.get(UserAccount, check.account_id)
    if account is None or account.password_hash != check.password_hash:
        verified = False  # removed, or given another password, while it was checked
    if account is not None and account.locked_until is not None and account.locked_until > now:
        raise _locked(account.locked_until - now)  # locked meanwhile by other failures
    if account is None or not verified or not account.active:
        throttles.by_address.record_failure(check.address_key, now)
        if account is not None:
            _record_failure(session, settings, account, now)
        raise LoginFailed(_LOGIN_FAILED)
    account.failed_login_count = 0
    account.locked_until = None
    account.last_login_at = now
    if account.password_hash is not None and needs_rehash(account.password_hash):
        account.password_hash = hash_password(password)
    session.execute(
        delete(RefreshToken).where(
            RefreshToken.user_id == account.id, RefreshToken.expires_at < now - dt.timedelta(days=1)
        )
    )
    return issue_tokens(session, settings, account, now=now)


def _name_key(name: str) -> str:
    return f"name:{name[:USERNAME_LENGTH_MAX]}"


def _record_failure(
    session: Session, settings: Settings, account: UserAccount, now: dt.datetime
) -> None:
    """Count atomically (two workers, two failures: the count is 2), lock at the limit."""
    count = session.execute(
        update(UserAccount)
        .where(UserAccount.id == account.id)
        .values(failed_login_count=UserAccount.failed_login_count + 1)
        .returning(UserAccount.failed_login_count)
    ).scalar_one()
    if count >= settings.login_failures_max:
        account.failed_login_count = 0
        account.locked_until = now + dt.timedelta(minutes=settings.login_lockout_minutes)
    session.flush()


def issue_tokens(
    session: Session,
    settings: Settings,
    account: UserAccount,
    *,
    now: dt.datetime,
    family_id: str | None = None,
) -> TokenPair:
    """A new access token and a new stored refresh token (a new session unless
    `family_id` continues one)."""
    roles = tuple(sorted(account.roles or []))
    subject = str(account.id)
    access = issue_access_token(settings, subject=subject, roles=roles, now=now)
    refresh = issue_refresh_token(
        settings, subject=subject, roles=roles, now=now, family_id=family_id or str(uuid.uuid4())
    )
    assert refresh.claims.family_id is not None
    session.add(
        RefreshToken(
            token_hash=token_id_hash(refresh.claims.token_id),
            family_id=refresh.claims.family_id,
            user_id=account.id,
            issued_at=refresh.claims.issued_at,
            expires_at=refresh.claims.expires_at,
        )
    )
    session.flush()
    return TokenPair(access=access, refresh=refresh)


def _stored_refresh(session: Session, settings: Settings, token: str) -> RefreshToken:
    claims = decode_token(token, secret=settings.jwt_secret(), expected_type=TokenType.REFRESH)
    stored = session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == token_id_hash(claims.token_id))
    )
    if stored is None or str(stored.user_id) != claims.subject:
        raise InvalidToken("this refresh token is not known")
    return stored


def _revoke_family(session: Session, family_id: str, now: dt.datetime) -> None:
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    session.flush()


def refresh_tokens(
    session: Session, settings: Settings, *, refresh_token: str, now: dt.datetime
) -> TokenPair:
    """Rotate: the presented refresh token is revoked and a new pair issued.
    A refresh token used twice means it was copied: the whole session is revoked."""
    stored = _stored_refresh(session, settings, refresh_token)
    if stored.revoked_at is not None:
        _revoke_family(session, stored.family_id, now)
        raise InvalidToken("this refresh token was already used; log in again")
    if stored.expires_at <= now:
        raise InvalidToken("the refresh token has expired; log in again")
    account = session.get(UserAccount, stored.user_id)
    if account is None or not account.active:
        raise InvalidToken("the account for this token is not active")
    rotated = session.execute(
        update(RefreshToken)
        .where(RefreshToken.id == stored.id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    ).rowcount  # type: ignore[attr-defined]
    if rotated != 1:
        raise InvalidToken("this refresh token was already used; log in again")
    return issue_tokens(session, settings, account, now=now, family_id=stored.family_id)


def log_out(session: Session, settings: Settings, *, refresh_token: str, now: dt.datetime) -> None:
    """Revoke the session (every refresh token of its family)."""
    stored = _stored_refresh(session, settings, refresh_token)
    _revoke_family(session, stored.family_id, now)


def principal_from_access_token(session: Session, settings: Settings, token: str) -> Principal:
    """The caller behind a bearer token. Roles and `active` come from the database,
    so a deactivated account or a removed role counts at once, not at token expiry."""
    claims = decode_token(token, secret=settings.jwt_secret(), expected_type=TokenType.ACCESS)
    try:
        user_id = int(claims.subject)
    except ValueError as error:
        raise InvalidToken("the token's subject is not valid") from error
    account = session.get(UserAccount, user_id)
    if account is None or not account.active:
        raise InvalidToken("the account for this token is not active")
    return Principal.from_account(account)
