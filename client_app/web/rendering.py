"""Rendering pages: one Jinja2 environment, one `render` that every page uses.

Templates get, besides their own context:
    t(key, **values)   the message in the reader's language (client_app.i18n)
    lang               "nl" or "en"
    money(cents), signed_money(cents), date_long(day), date_medium(day),
    month_label(first_day), when(timestamp)      formatted for that language
    csrf_token         for the hidden field of every form (macro `csrf_field`)
    user               the logged-in Principal, or None
    static(path)       the URL of a file under client_app/static

Other page packages (caseworker, finance) add their own template directory
with `register_template_directory` and extend "base.html".
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse

from backend.access.policy import Principal
from backend.clock import today_amsterdam
from client_app import formatting
from client_app.config import client_settings
from client_app.i18n import language, translate
from client_app.web import csrf
from client_app.web.cookies import mark_page

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"
LANG_COOKIE = "hb_lang"
_extra_directories: list[Path] = []


def register_template_directory(directory: Path) -> None:
    """Let another page package render its own templates (searched before ours)."""
    if directory not in _extra_directories:
        _extra_directories.insert(0, directory)
        environment.cache_clear()


@functools.lru_cache(maxsize=1)
def environment() -> Environment:
    loader = ChoiceLoader(
        [FileSystemLoader(str(path)) for path in _extra_directories]
        + [FileSystemLoader(str(TEMPLATE_DIR))]
    )
    env = Environment(
        loader=loader,
        autoescape=select_autoescape(["html", "xml"], default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


def page_today(request: Request) -> dt.date:
    """Today in Amsterdam; tests may pin it with `app.state.client_today`."""
    pinned: dt.date | None = getattr(request.app.state, "client_today", None)
    return pinned or today_amsterdam()


def request_language(request: Request) -> str:
    return language(request.cookies.get(LANG_COOKIE))


def static_url(path: str) -> str:
    return f"/static/{path.lstrip('/')}"


def safe_next(target: str | None, default: str = "/start") -> str:
    """A local path to go to after a form (never another site: no open redirect)."""
    if not target or len(target) > 500:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target or any(ord(char) < 32 for char in target):
        return default
    return target


def template_context(
    request: Request, principal: Principal | None, lang: str | None = None
) -> dict[str, Any]:
    """What every page template can use."""
    settings = request.app.state.settings
    reader = lang or request_language(request)
    user_id = principal.user_id if principal is not None else None

    def t(key: str, **values: Any) -> str:
        return translate(reader, key, **values)

    return {
        "request": request,
        "lang": reader,
        "t": t,
        "user": principal,
        "csrf_token": csrf.token_for(request, settings, user_id),
        "app": client_settings(),
        "money": lambda cents: formatting.money(cents, reader),
        "signed_money": lambda cents: formatting.signed_money(cents, reader),
        "date_long": lambda day: formatting.date_long(day, reader),
        "date_medium": lambda day: formatting.date_medium(day, reader),
        "month_label": lambda day: formatting.month_label(day, reader),
        "weekday_name": lambda number: formatting.weekday_name(number, reader),
        "month_name": lambda number: formatting.month_name(number, reader),
        "when": lambda moment: formatting.local_datetime(moment, reader),
        "static": static_url,
        "today": page_today(request),
        "current_path": request.url.path,
    }


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    principal: Principal | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    full = template_context(request, principal)
    full.update(context or {})
    html = environment().get_template(template).render(full)
    mark_page(request)
    return HTMLResponse(html, status_code=status_code)


def redirect(url: str) -> RedirectResponse:
    """After a form: see the result with GET (303), so reloading does not resend it."""
    return RedirectResponse(url, status_code=303)
