"""Onboarding loose ends in a real browser (axe on every page): carla gives a new
participant who has not activated a new activation code from the Deelnemer page, and
proposes the first plan again after the proposal expired."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from backend.access.policy import Principal
from backend.clock import today_amsterdam
from backend.config import Settings
from backend.models import Proposal, UserAccount
from backend.models.base import utcnow
from backend.onboarding.service import submit_onboarding
from backend.onboarding.steps import Onboarding
from tests.browser.axe import assert_accessible
from tests.browser.check_page import check_page
from tests.browser.fixtures import LiveServer
from tests.client_app.own_live_server import live_server  # noqa: F401  (own database)

pytestmark = pytest.mark.browser

BSN = "999990044"  # passes the 11-proef, fictitious


def _onboarding() -> dict[str, Any]:
    start = today_amsterdam() + dt.timedelta(days=3)
    return {
        "person": {"display_name": "Femke Bos", "bsn": BSN, "username": "femke"},
        "household": {"household_name": "Bos", "adults": "1", "children": "2"},
        "bank": {"own_iban": "NL91 ABNA 0417 1643 00", "account_holder": "F. Bos"},
        "incomes": [
            {
                "payer_name": "Gemeente Utrecht Werk en Inkomen",
                "payer_iban": "NL71BNGH0285000111",
                "description": "Uitkering",
                "kind": "benefit",
                "amount_cents": "1.300,00",
                "day_of_month": "1",
                "search_terms": "Participatiewet Bos",
            }
        ],
        "fixed_costs": [
            {
                "creditor_name": "Mitros",
                "creditor_iban": "NL44RABO0123456789",
                "description": "Huur",
                "category": "rent",
                "amount_cents": "650,00",
                "day_of_month": "20",
                "reference": "Huur Bos",
            }
        ],
        "living_money": {"frequency": "monthly", "day_of_month": "2"},
        "buffer": {
            "build_up_cents": "30,00",
            "advance_cents": "0",
            "repayment_cents": "0",
            "start_date": start.isoformat(),
        },
    }


def test_new_code_and_first_plan_again(
    live_server: LiveServer,  # noqa: F811  (this module's own server)
    new_page: Callable[..., Any],
    log_in: Callable[..., None],
) -> None:
    from backend.db import make_engine, make_session_factory

    settings = Settings(database_url=live_server.database_url, demo=True)
    engine = make_engine(live_server.database_url)
    try:
        factory = make_session_factory(engine)
        with factory() as session:
            account = session.scalar(select(UserAccount).where(UserAccount.username == "carla"))
            assert account is not None
            result = submit_onboarding(
                session,
                settings.field_cipher(),
                Principal.from_account(account),
                Onboarding.model_validate(_onboarding()),
                today=today_amsterdam(),
                now=utcnow(),
            )
            session.commit()
        femke = result.participant_id

        carla = new_page()
        log_in(carla, "carla")
        carla.goto(live_server.url(f"/hulpverlener/deelnemer/{femke}"))
        assert carla.get_by_test_id("activation-pending").is_visible()
        check_page(carla, "onboarding-followup-not-activated")
        with carla.expect_navigation():
            carla.get_by_test_id("new-activation-code").click()
        assert_accessible(carla, "onboarding-followup-new-code")  # a POST answer
        code = carla.get_by_test_id("activation-code").inner_text()
        assert len(code) == 14 and code != result.activation_code

        # The first plan's proposal runs out.
        with factory() as session:
            proposal = session.get(Proposal, result.proposal_id)
            assert proposal is not None
            proposal.expires_at = utcnow() - dt.timedelta(minutes=1)
            session.commit()
        carla.goto(live_server.url(f"/hulpverlener/deelnemer/{femke}"))
        assert carla.get_by_test_id("first-plan-again").is_visible()
        check_page(carla, "onboarding-followup-first-plan-again")
        with carla.expect_navigation():
            carla.get_by_test_id("first-plan-again-button").click()
        assert "opnieuw voorgesteld" in carla.content()
        assert carla.get_by_test_id("first-plan-again").count() == 0
        with factory() as session:
            kinds = session.scalars(
                select(Proposal.status)
                .where(Proposal.participant_id == femke, Proposal.kind == "initial_plan")
                .order_by(Proposal.id)
            ).all()
            assert list(kinds) == ["expired", "proposed"]
    finally:
        engine.dispose()
