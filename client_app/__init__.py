"""The participant app: server-rendered pages residents use on a phone.

`install_client_app(app)` adds the pages (Jinja2 + htmx, NL Design System CSS
with an open theme), the static files, the cookie/security-header middleware
and the message events (berichten + outbox) to the FastAPI app.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from client_app import models as _models  # noqa: F401  (tables in the metadata)
from client_app import staff_filters as _staff_filters  # noqa: F401  (tables in the metadata)
from client_app import staff_models as _staff_models  # noqa: F401  (tables in the metadata)
from client_app.config import client_settings
from client_app.pages import (
    auth,
    casework_agreements,  # follow up / copy / end an agreement (issue 8)
    caseworker,
    ending,  # Stoppen met Huishoudboekje (issues 8, 12)
    finance,
    insight,  # Waar ging mijn leefgeld heen? (issue 12)
    onboarding,  # Aanmelden en activeren (issue 8)
    participant,
    zelfregie,
)
from client_app.services.messages import install_message_events
from client_app.web.cookies import PageCookiesMiddleware

STATIC_DIR = Path(__file__).resolve().parent / "static"

__all__ = ["STATIC_DIR", "install_client_app"]


def install_client_app(app: FastAPI) -> None:
    settings = app.state.settings
    app.add_middleware(PageCookiesMiddleware)
    theme = client_settings().theme_directory
    if theme is not None:
        # A municipality's own theme.css replaces ours (mounted before /static).
        app.mount("/static/theme", StaticFiles(directory=theme), name="theme")
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for module in (auth, participant, zelfregie, caseworker, finance, casework_agreements):
        app.include_router(module.router)
    app.include_router(insight.router)
    app.include_router(ending.router)
    app.include_router(onboarding.router)
    install_message_events(log_outbox=settings.demo)
