"""After the end, in a real browser (axe on every page): a participant whose
participation ended (a new one, so the shared demo's people stay active) sees the
emergency and life-event pages without their forms; the caseworker sees the money that
waits after the end and the field for the new account; finance is warned when
assigning suspense to them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.access.policy import Principal
from backend.bank_import import assign_suspense_entry
from backend.clock import today_amsterdam
from backend.codecision import service as proposals
from backend.codecision.changes import EndParticipationChange
from backend.config import Settings
from backend.ending.followup import pay_after_end
from backend.models import (
    MunicipalBankAccount,
    Participant,
    PaymentInstruction,
    Proposal,
    UserAccount,
)
from backend.models.base import utcnow
from backend.onboarding.service import activate_account, submit_onboarding
from backend.onboarding.steps import Onboarding
from backend.payments import cancel_instruction
from backend.plans import register_plan_appliers
from tests.browser.axe import assert_accessible
from tests.browser.check_page import check_page
from tests.browser.fixtures import LiveServer
from tests.client_app.own_live_server import live_server  # noqa: F401  (own database)
from tests.client_app.test_onboarding_followup_browser import _onboarding
from tests.payments.statements import credit_in_suspense, record_statement

pytestmark = pytest.mark.browser

BSN = "999990056"  # passes the 11-proef, fictitious
PASSWORD = "een zin als wachtwoord"


def _principal(session: Session, username: str) -> Principal:
    account = session.scalar(select(UserAccount).where(UserAccount.username == username))
    assert account is not None
    return Principal.from_account(account)


def _suspense_credit(session: Session, number: int, cents: int) -> int:
    iban = session.scalar(select(MunicipalBankAccount.iban).order_by(MunicipalBankAccount.id))
    assert iban is not None
    today = today_amsterdam()
    statement_id = f"STMT-AFTER-END-{number}"
    record_statement(
        session, iban=iban, statement_id=statement_id, closing_cents=0, closing_date=today
    )
    return credit_in_suspense(
        session,
        statement_id=statement_id,
        sequence=number,
        day=today,
        cents=cents,
        key=f"test:after-end:{number}",
        remittance="Teruggave",
    )


def _ended_participant(factory: Any, database_url: str) -> tuple[int, int]:
    """Gijs: onboarded, activated, plan approved, ended today; money arrived after the
    end and the follow-up payout was cancelled (so it waits). Returns (participant,
    a second suspense entry for finance)."""
    register_plan_appliers()
    settings = Settings(database_url=database_url, demo=True)
    today = today_amsterdam()
    data = _onboarding()
    data["person"] = {"display_name": "Gijs Smit", "bsn": BSN, "username": "gijs"}
    with factory() as session:
        result = submit_onboarding(
            session,
            settings.field_cipher(),
            _principal(session, "carla"),
            Onboarding.model_validate(data),
            today=today,
            now=utcnow(),
        )
        activate_account(
            session,
            username="gijs",
            code=result.activation_code,
            new_password=PASSWORD,
            now=utcnow(),
        )
        first = session.get(Proposal, result.proposal_id)
        assert first is not None
        proposals.approve(
            session, _principal(session, "gijs"), first, reason=None, today=today, now=utcnow()
        )
        end = proposals.create_proposal(
            session,
            _principal(session, "carla"),
            result.participant_id,
            change=EndParticipationChange(),
            reason="Gijs regelt het zelf.",
            effective_from=today,
            emergency=False,
            today=today,
            now=utcnow(),
            expiry_days=14,
        )
        proposals.approve(
            session, _principal(session, "gijs"), end, reason=None, today=today, now=utcnow()
        )
        person = session.get(Participant, result.participant_id)
        assert person is not None and person.status == "ended"
        entry_id = _suspense_credit(session, 1, 1_234)
        assign_suspense_entry(
            session,
            bank_entry_id=entry_id,
            participant_id=result.participant_id,
            assigned_by="fenna",
            reason="Teruggave voor Gijs",
        )
        pay_after_end(session, today=today)
        followup = session.scalar(
            select(PaymentInstruction).where(
                PaymentInstruction.participant_id == result.participant_id,
                PaymentInstruction.idempotency_key.like("exit:%:followup:%"),
            )
        )
        assert followup is not None
        cancel_instruction(
            session, instruction_id=followup.id, actor="fenna", reason="Navragen", today=today
        )
        pay_after_end(session, today=today)  # waits now, with a warning
        second = _suspense_credit(session, 2, 500)
        session.commit()
    return result.participant_id, second


def test_pages_after_the_end(
    live_server: LiveServer,  # noqa: F811  (this module's own server)
    new_page: Callable[..., Any],
    log_in: Callable[..., None],
) -> None:
    from backend.db import make_engine, make_session_factory

    engine = make_engine(live_server.database_url)
    try:
        gijs, entry_id = _ended_participant(make_session_factory(engine), live_server.database_url)
    finally:
        engine.dispose()

    page = new_page(width=360, height=800)
    log_in(page, "gijs", PASSWORD)
    page.goto(live_server.url(f"/deelnemer/{gijs}/noodknop"))
    assert page.get_by_test_id("participation-ended").is_visible()
    assert page.get_by_test_id("emergency-button").count() == 0
    check_page(page, "after-end-emergency")
    page.goto(live_server.url(f"/deelnemer/{gijs}/iets-veranderd"))
    assert page.get_by_test_id("participation-ended").is_visible()
    check_page(page, "after-end-life-events")

    carla = new_page()
    log_in(carla, "carla")
    carla.goto(live_server.url(f"/hulpverlener/deelnemer/{gijs}"))
    assert "geannuleerd" in carla.get_by_test_id("followup-blocked").inner_text()
    check_page(carla, "after-end-caseworker-money-waits")

    fenna = new_page()
    log_in(fenna, "fenna")
    fenna.goto(live_server.url(f"/financien/te-verdelen/{entry_id}"))
    fenna.check("#keuze-manual")
    fenna.fill("#deelnemer", str(gijs))
    fenna.fill("#reden", "Teruggave voor Gijs")
    with fenna.expect_navigation():
        fenna.click("main button:has-text('Controleren')")
    assert fenna.get_by_test_id("assign-ended-warning").is_visible()
    assert_accessible(fenna, "after-end-finance-warning")  # a POST answer
