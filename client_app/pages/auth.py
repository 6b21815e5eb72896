"""Login at /, logout, the language switch, and where each role lands after login."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import Response

from backend.access.policy import Principal
from backend.access.roles import Role
from backend.api.deps import DbSession
from backend.api.login_check import USERNAME_FIELD_LENGTH_MAX, check_password_first
from backend.auth.passwords import PASSWORD_LENGTH_MAX
from backend.auth.service import LoginFailed, LoginLocked
from client_app.i18n import LANGUAGES, translate
from client_app.web import csrf
from client_app.web.auth import (
    cookie_log_in,
    cookie_log_out,
    current_principal,
    settings_of,
)
from client_app.web.cookies import queue_cookie
from client_app.web.rendering import (
    LANG_COOKIE,
    redirect,
    render,
    request_language,
    safe_next,
)
from client_app.web.routing import CsrfProtected, PageRoute, PageUser

router = APIRouter(route_class=PageRoute, include_in_schema=False)

LANG_COOKIE_SECONDS = 365 * 24 * 60 * 60

# Where a role lands after login; other page packages add theirs
# (`HOME_BY_ROLE[Role.FINANCE] = lambda user: "/financien"`). First match wins,
# in the order of this dict.
HOME_BY_ROLE: dict[Role, Callable[[Principal], str]] = {
    Role.PARTICIPANT: lambda user: f"/deelnemer/{user.participant_id}/overzicht",
    Role.CASEWORKER: lambda user: "/hulpverlener",
}


def home_for(user: Principal) -> str:
    for role, home in HOME_BY_ROLE.items():
        if role in user.roles and (role is not Role.PARTICIPANT or user.participant_id):
            return home(user)
    return "/start/geen-scherm"


@router.get("/")
def login_page(request: Request, session: DbSession, next: str | None = None) -> Response:
    principal = current_principal(request, session)
    if principal is not None:
        return redirect(safe_next(next, home_for(principal)))
    return render(
        request,
        "login.html",
        {
            "page_title": translate(request_language(request), "login.title"),
            "next": next or "",
            "logged_out": request.query_params.get("uitgelogd") == "1",
        },
    )


async def _check_password_of_a_valid_form(request: Request) -> None:
    """The password checked before the request's session is opened (login_check), only
    for a form with this browser's login-form token: a refused form costs no argon2.
    A logged-in browser's form is bound to that login; it is checked in the handler."""
    form = await request.form()
    token = form.get(csrf.CSRF_FIELD)
    try:
        csrf.verify(request, settings_of(request), None, token if isinstance(token, str) else None)
    except csrf.CsrfRefused:
        return
    await check_password_first(request)


@router.post("/", dependencies=[Depends(_check_password_of_a_valid_form), CsrfProtected])
def log_in(
    request: Request,
    session: DbSession,
    username: Annotated[str, Form(max_length=USERNAME_FIELD_LENGTH_MAX)] = "",
    password: Annotated[str, Form(max_length=PASSWORD_LENGTH_MAX)] = "",
    next: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    lang = request_language(request)
    error: str | None = None
    status = 200
    if not username.strip() or not password:
        error, status = translate(lang, "login.missing"), 422
    else:
        try:
            principal = cookie_log_in(request, session, username=username, password=password)
        except LoginLocked:
            session.commit()  # the failed attempt counts, although the request fails
            error, status = translate(lang, "login.locked"), 429
        except LoginFailed:
            session.commit()
            error, status = translate(lang, "login.failed"), 401
        else:
            return redirect(safe_next(next, home_for(principal)))
    return render(
        request,
        "login.html",
        {
            "page_title": translate(lang, "login.title"),
            "error": error,
            "username": username,
            "next": next,
        },
        status_code=status,
    )


@router.post("/uitloggen", dependencies=[CsrfProtected])
def log_out(request: Request, session: DbSession) -> Response:
    cookie_log_out(request, session)
    return redirect("/?uitgelogd=1")


@router.post("/taal", dependencies=[CsrfProtected])
def switch_language(
    request: Request,
    lang: Annotated[str, Form(max_length=5)] = "nl",
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    chosen = lang if lang in LANGUAGES else "nl"
    queue_cookie(request, LANG_COOKIE, chosen, max_age=LANG_COOKIE_SECONDS)
    return redirect(safe_next(next, "/"))


@router.get("/start")
def start(user: PageUser) -> Response:
    return redirect(home_for(user))


@router.get("/start/geen-scherm")
def no_pages_for_role(request: Request, user: PageUser) -> Response:
    lang = request_language(request)
    return render(
        request,
        "start.html",
        {"page_title": translate(lang, "start.title")},
        principal=user,
    )
