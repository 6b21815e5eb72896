"""Check a login's password before the request opens its database session.

A password check is argon2: ~0.45 s of CPU by design. On SQLite every request of a
worker takes its turn at the database in order (backend.api.deps.database_turn), and a
login handler holds its turn from its first dependency to its commit, so each login
stalled every other page of that worker for half a second. Here the account is looked
up in a short session of its own, the password is checked holding no turn, and the
login handler records the outcome in its own session (`log_in(checked=...)`), which
checks that the account did not change in between.
"""

from __future__ import annotations

import anyio.to_thread
from fastapi import Request

from backend.api.deps import database_turn
from backend.auth.passwords import PASSWORD_LENGTH_MAX, verify_password
from backend.auth.service import (
    CheckedPassword,
    LoginCheck,
    LoginLocked,
    LoginThrottles,
    start_log_in,
)
from backend.models.base import utcnow

_STATE_KEY = "login_check"
USERNAME_FIELD_LENGTH_MAX = 200


async def check_password_first(request: Request) -> None:
    """A route dependency listed before anything that opens the request's session.

    Only for a request the handler will answer with the outcome: a form it refuses
    anyway (grant_type, lengths; the page's CSRF token, see client_app.pages.auth)
    costs no argon2 here, or such requests could each take half a second of a thread
    without ever being counted by the login throttles."""
    form = await request.form()  # parsed once: the handler's Form fields reuse it
    username, password = form.get("username"), form.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        return
    if form.get("grant_type", "password") != "password":
        return
    if not username.strip() or not password:
        return
    if len(username) > USERNAME_FIELD_LENGTH_MAX or len(password) > PASSWORD_LENGTH_MAX:
        return  # the handler refuses these with its own message
    throttles: LoginThrottles = request.app.state.login_throttles
    address = request.client.host if request.client else "unknown"
    factory = request.app.state.session_factory
    now = utcnow()

    def look_up() -> LoginCheck:
        with factory() as session:
            return start_log_in(session, throttles, username=username, address=address, now=now)

    try:
        async with database_turn(request):
            check = await anyio.to_thread.run_sync(look_up)
    except LoginLocked:
        return  # the handler finds the same lock and answers it
    verified = await anyio.to_thread.run_sync(verify_password, check.password_hash, password)
    setattr(request.state, _STATE_KEY, CheckedPassword(check, verified))


def checked_password(request: Request) -> CheckedPassword | None:
    found = getattr(request.state, _STATE_KEY, None)
    return found if isinstance(found, CheckedPassword) else None
