"""CSRF protection for every form: a signed double-submit token bound to the login.

The browser holds a random nonce in an HTTP-only, SameSite=Lax cookie; every
form carries `csrf_token` = HMAC(key, nonce | user id) in a hidden field (htmx
requests send it as the `X-CSRF-Token` header). A request is accepted only when
the token matches the cookie's nonce *and* the user now logged in, so a token
from another session, another user or a forged cookie is refused. The nonce is
renewed at login and logout.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from starlette.requests import Request

from backend.config import Settings
from backend.errors import AppError
from client_app.web.cookies import queue_cookie, queued_value

CSRF_COOKIE = "hb_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
NONCE_LIFETIME_SECONDS = 12 * 60 * 60
TOKEN_LENGTH_MAX = 200


class CsrfRefused(AppError):
    status_code = 403
    title = "Form expired"
    slug = "csrf"


def _key(settings: Settings) -> bytes:
    return hashlib.sha256(b"huishoudboekje-csrf|" + settings.jwt_secret().encode()).digest()


def _nonce(request: Request) -> str | None:
    return queued_value(request, CSRF_COOKIE) or request.cookies.get(CSRF_COOKIE)


def renew_nonce(request: Request) -> str:
    nonce = secrets.token_urlsafe(32)
    queue_cookie(request, CSRF_COOKIE, nonce, max_age=NONCE_LIFETIME_SECONDS)
    return nonce


def _binding(user_id: int | None) -> str:
    return "anonymous" if user_id is None else str(user_id)


def token_for(request: Request, settings: Settings, user_id: int | None) -> str:
    """The token for forms on this page (creates the nonce cookie when missing)."""
    nonce = _nonce(request) or renew_nonce(request)
    message = f"{nonce}|{_binding(user_id)}".encode()
    return hmac.new(_key(settings), message, hashlib.sha256).hexdigest()


def verify(
    request: Request, settings: Settings, user_id: int | None, submitted: str | None
) -> None:
    """Refuse (403) a form without the right token."""
    nonce = request.cookies.get(CSRF_COOKIE)
    if not nonce or not submitted or len(submitted) > TOKEN_LENGTH_MAX:
        raise CsrfRefused("this form has expired; reload the page and try again")
    message = f"{nonce}|{_binding(user_id)}".encode()
    expected = hmac.new(_key(settings), message, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, submitted):
        raise CsrfRefused("this form has expired; reload the page and try again")
