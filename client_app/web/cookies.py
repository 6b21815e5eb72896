"""Cookies set while a request is handled, applied to whatever response it gets.

A page may refresh the login (new tokens) and then fail with a 404; the new
cookies must still reach the browser, or its next request would present a
refresh token that was already used (and lose the session). So cookies are
queued on the request (`queue_cookie`) and `PageCookiesMiddleware` adds them to
the response at the last moment, whatever produced it.

The middleware also adds the security headers of server-rendered pages
(`mark_page`): no caching of personal data, a strict Content-Security-Policy
(no inline script, no third-party origin), no framing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_STATE_COOKIES = "hb_cookies"
_STATE_PAGE = "hb_page"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)
PAGE_HEADERS = (
    ("cache-control", "no-store"),
    ("content-security-policy", CONTENT_SECURITY_POLICY),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "same-origin"),
    ("permissions-policy", "camera=(), microphone=(), geolocation=()"),
)


@dataclass(frozen=True, slots=True)
class QueuedCookie:
    name: str
    value: str
    max_age: int | None  # None with an empty value: delete the cookie
    http_only: bool = True


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def queue_cookie(
    request: Request, name: str, value: str, *, max_age: int, http_only: bool = True
) -> None:
    _queued(request)[name] = QueuedCookie(name, value, max_age, http_only)


def queue_delete(request: Request, name: str) -> None:
    _queued(request)[name] = QueuedCookie(name, "", None)


def queued_value(request: Request, name: str) -> str | None:
    """The value this request set for a cookie (None: it set none or deletes it)."""
    cookie = _queued(request).get(name)
    if cookie is None or cookie.max_age is None:
        return None
    return cookie.value


def mark_page(request: Request) -> None:
    """This response is a server-rendered page: add the page security headers."""
    request.state.hb_page = True


def _queued(request: Request) -> dict[str, QueuedCookie]:
    queued: dict[str, QueuedCookie] | None = getattr(request.state, _STATE_COOKIES, None)
    if queued is None:
        queued = {}
        setattr(request.state, _STATE_COOKIES, queued)
    return queued


def _cookie_headers(cookies: dict[str, QueuedCookie], secure: bool) -> list[tuple[bytes, bytes]]:
    carrier = Response()
    for cookie in cookies.values():
        if cookie.max_age is None:
            carrier.delete_cookie(
                cookie.name, path="/", secure=secure, httponly=True, samesite="lax"
            )
        else:
            carrier.set_cookie(
                cookie.name,
                cookie.value,
                max_age=cookie.max_age,
                path="/",
                secure=secure,
                httponly=cookie.http_only,
                samesite="lax",
            )
    return [(name, value) for name, value in carrier.raw_headers if name == b"set-cookie"]


class PageCookiesMiddleware:
    """Pure ASGI middleware: adds queued cookies and page security headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_cookies(message: Message) -> None:
            if message["type"] == "http.response.start":
                state: dict[str, Any] = scope.get("state") or {}
                cookies: dict[str, QueuedCookie] | None = state.get(_STATE_COOKIES)
                extra: list[tuple[bytes, bytes]] = []
                if cookies:
                    extra.extend(_cookie_headers(cookies, scope.get("scheme") == "https"))
                if state.get(_STATE_PAGE):
                    present = {name.lower() for name, _ in message.get("headers", [])}
                    extra.extend(
                        (name.encode(), value.encode())
                        for name, value in PAGE_HEADERS
                        if name.encode() not in present
                    )
                if extra:
                    message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_cookies)
