"""Routes for pages: errors become pages, login and CSRF are dependencies.

    router = APIRouter(route_class=PageRoute, include_in_schema=False)

    @router.get("/werkvoorraad")
    def queue(request: Request, user: PageUser, session: DbSession) -> HTMLResponse: ...

    @router.post("/iets", dependencies=[CsrfProtected])
    def act(...): ...

A PageRoute turns what the API answers with problem+json into a page: no login
→ a redirect to the login form (with `next`); an AppError (404 outside scope,
403 wrong party or role, 409, 422) → the error page with that status, in the
reader's language. Pages are not in the OpenAPI document: they are not API.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session
from starlette.responses import Response

from backend.access.policy import Principal
from backend.api.deps import DbSession
from backend.errors import AppError
from client_app.i18n import translate
from client_app.web import csrf
from client_app.web.auth import LoginRequired, current_principal, settings_of
from client_app.web.rendering import redirect, render, request_language

log = logging.getLogger(__name__)

_ERROR_KEYS = {
    400: "error.400",
    403: "error.403",
    404: "error.404",
    409: "error.409",
    422: "error.422",
    429: "error.429",
}


def error_page(
    request: Request, status_code: int, detail: str | None = None, code: str | None = None
) -> Response:
    lang = request_language(request)
    principal: Principal | None = getattr(request.state, "hb_principal", None)
    key = _ERROR_KEYS.get(status_code, "error.other")
    if code and translate(lang, f"error.{code}") != f"error.{code}":
        key = f"error.{code}"  # a known problem with its own sentence (e.g. participation_ended)
    return render(
        request,
        "error.html",
        {
            "status_code": status_code,
            "message": translate(lang, key),
            "detail": detail if lang == "en" else None,
        },
        principal=principal,
        status_code=status_code,
    )


class PageRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                target = request.url.path
                if request.method == "GET" and request.url.query:
                    target += "?" + request.url.query
                return redirect("/?next=" + quote(target, safe="/"))
            except AppError as error:
                code = error.extra.get("code")
                return error_page(
                    request,
                    error.status_code,
                    error.detail,
                    code if isinstance(code, str) else None,
                )
            except RequestValidationError:
                return error_page(request, 422)
            except Exception:
                # Logged with its traceback; the reader gets a calm page and no details.
                log.exception("page %s failed", request.url.path)
                return error_page(request, 500)

        return page_handler


def _begin(session: Session) -> None:
    """Reading a participant's pages writes the access log in this transaction; on
    SQLite take the write lock up front (as the API does), so concurrent requests
    queue instead of failing on a lock upgrade."""
    if session.get_transaction() is None:
        session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})


def page_user(request: Request, session: DbSession) -> Principal:
    """The logged-in person, or a redirect to the login form."""
    _begin(session)
    principal = current_principal(request, session)
    if principal is None:
        raise LoginRequired()
    return principal


PageUser = Annotated[Principal, Depends(page_user)]


async def _submitted_token(request: Request) -> str | None:
    submitted = request.headers.get(csrf.CSRF_HEADER)
    if submitted is None:
        form = await request.form()
        value = form.get(csrf.CSRF_FIELD)
        submitted = value if isinstance(value, str) else None
    return submitted


def check_csrf(
    request: Request,
    session: DbSession,
    submitted: Annotated[str | None, Depends(_submitted_token)],
) -> None:
    """Every form: the CSRF token must match this browser and this login."""
    _begin(session)
    principal = current_principal(request, session)
    csrf.verify(
        request,
        settings_of(request),
        principal.user_id if principal is not None else None,
        submitted,
    )


CsrfProtected = Depends(check_csrf)


def page_routes(app: Any) -> list[tuple[str, str]]:
    """(method, path template) of every page route in the app (for the access walk)."""
    try:  # FastAPI >= 0.165 includes routers lazily; its route contexts list them
        from fastapi.routing import iter_route_contexts

        contexts = [(ctx.original_route, ctx.path) for ctx in iter_route_contexts(app.routes)]
    except ImportError:  # pragma: no cover - older FastAPI: routes are copied on include
        contexts = [(route, getattr(route, "path", None)) for route in app.routes]
    found: list[tuple[str, str]] = []
    for route, path in contexts:
        if isinstance(route, PageRoute) and path is not None:
            found.extend((method, path) for method in sorted(route.methods or ()))
    return found
