"""FastAPI application factory."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from backend.api import health
from backend.api.access import install_access_api
from backend.api.problems import install_problem_handlers
from backend.bank_import import endpoints as finance_bank
from backend.config import Settings, get_settings
from backend.db import make_engine, make_session_factory
from backend.payments import endpoints as finance_payments
from backend.plans.appliers import register_plan_appliers
from backend.privacy_store.install import install_privacy
from client_app import install_client_app


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    settings.check_for_serving()
    engine = make_engine(settings.database_url, pool_size=settings.pool_size)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # What exists at startup (modules, schemas, templates) lives as long as the
        # process: keep it out of the collector's full passes, which otherwise stalled
        # every request of the worker for 250-400 ms (docs/performance.md). Once per
        # process (a test process starts many apps).
        if gc.get_freeze_count() == 0:
            gc.collect()
            gc.freeze()
        yield
        engine.dispose()

    app = FastAPI(
        lifespan=lifespan,
        title="Huishoudboekje",
        version="0.1.0",
        summary="Budgetbeheer voor gemeenten: inkomen in, vaste lasten betaald, buffer, leefgeld.",
        license_info={"name": "EUPL-1.2", "identifier": "EUPL-1.2"},
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    # Approved proposals become plan versions in the same request.
    register_plan_appliers()
    install_problem_handlers(app)
    app.include_router(health.router)
    app.include_router(finance_payments.router)
    app.include_router(finance_bank.router)
    install_access_api(app, settings)
    install_privacy(app)
    install_client_app(app)
    return app
