"""Wires accounts, roles and co-decision into the app: routers, login throttles,
the optional OpenID Connect verifier, problem+json in the OpenAPI document."""

from __future__ import annotations

from fastapi import FastAPI

from backend.api import admin, auth, caseload, me, participants, proposals
from backend.api.problem_docs import document_problems
from backend.auth.oidc import build_verifier
from backend.auth.service import LoginThrottles
from backend.config import Settings


def install_access_api(app: FastAPI, settings: Settings) -> None:
    app.state.login_throttles = LoginThrottles.from_settings(settings)
    app.state.oidc_verifier = build_verifier(settings)
    for module in (auth, me, participants, proposals, caseload, admin):
        app.include_router(module.router)
    document_problems(app)
