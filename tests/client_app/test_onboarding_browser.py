"""Aanmelden in a real browser: carla onboards a new participant end to end (axe on
every wizard step), the participant activates the account and approves the first
plan, and the daily cycle then runs for them with the forecast in the app."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from backend.clock import today_amsterdam
from backend.models import Participant, PlanVersionRecord
from tests.browser.axe import assert_accessible
from tests.browser.check_page import check_page
from tests.browser.fixtures import LiveServer

pytestmark = pytest.mark.browser

BSN = "999990032"  # passes the 11-proef, fictitious
PASSWORD = "een zin als wachtwoord"


def _next(page: Any) -> None:
    with page.expect_navigation():
        page.get_by_test_id("onboarding-next").click()


def test_carla_onboards_a_new_participant_end_to_end(
    live_server: LiveServer, new_page: Callable[..., Any], log_in: Callable[..., None]
) -> None:
    carla = new_page()
    log_in(carla, "carla")
    carla.click("a:has-text('Aanmelden')")
    carla.wait_for_load_state("load")
    check_page(carla, "onboarding-1-person")

    # A BSN that fails the 11-proef: the error summary links to the field.
    carla.fill("#display_name", "Eva Smit")
    carla.fill("#bsn", "123456789")
    carla.fill("#username", "eva")
    _next(carla)
    errors = carla.get_by_test_id("onboarding-errors")
    assert "elfproef" in errors.inner_text()
    assert errors.locator("a[href='#bsn']").count() == 1
    assert_accessible(carla, "onboarding-1-person-error")
    carla.fill("#bsn", BSN)
    _next(carla)
    assert BSN not in carla.url

    check_page(carla, "onboarding-2-household")
    carla.fill("#household_name", "Huishouden Smit")
    carla.fill("#adults", "1")
    carla.fill("#children", "1")
    _next(carla)

    check_page(carla, "onboarding-3-account")
    carla.fill("#own_iban", "NL36 INGB 0007 6543 21")
    carla.fill("#account_holder", "E. Smit")
    _next(carla)

    check_page(carla, "onboarding-4-incomes")
    carla.fill("#payer_name", "Gemeente Utrecht Werk en Inkomen")
    carla.fill("#payer_iban", "NL71BNGH0285000111")
    carla.fill("#description", "Uitkering")
    carla.select_option("#kind", "benefit")
    carla.fill("#amount_cents", "1.280,00")
    carla.fill("#day_of_month", "25")
    carla.fill("#search_terms", "Participatiewet Smit")
    with carla.expect_navigation():
        carla.get_by_test_id("onboarding-add").click()
    assert "Uitkering" in carla.get_by_test_id("onboarding-items").inner_text()
    _next(carla)

    check_page(carla, "onboarding-5-fixed-costs")
    # Mitros is a known creditor: its IBAN brings the name we already pay.
    carla.fill("#creditor_name", "Woningcorporatie Mitros")
    carla.fill("#creditor_iban", "NL44RABO0123456789")
    carla.fill("#description", "Huur")
    carla.select_option("#category", "rent")
    carla.fill("#amount_cents", "690,00")
    carla.fill("#day_of_month", "1")
    carla.fill("#reference", "Huur Lange Nieuwstraat 3")
    with carla.expect_navigation():
        carla.get_by_test_id("onboarding-add").click()
    assert "Mitros" in carla.get_by_test_id("known-creditor").inner_text()
    check_page(carla, "onboarding-5-fixed-costs-added")
    _next(carla)

    check_page(carla, "onboarding-6-living-money")
    carla.select_option("#frequency", "weekly")
    carla.select_option("#weekday", "0")
    _next(carla)

    check_page(carla, "onboarding-7-buffer")
    carla.fill("#build_up_cents", "40,00")
    carla.fill("#advance_cents", "600,00")
    carla.fill("#repayment_cents", "20,00")
    carla.fill("#start_date", today_amsterdam().isoformat())
    _next(carla)

    check_page(carla, "onboarding-8-summary")
    summary = carla.get_by_test_id("onboarding-summary").inner_text()
    assert "Eva Smit" in summary and BSN not in summary
    # € 1.280 - € 690 - € 40 = € 550 living money a month.
    assert carla.get_by_test_id("summary-living").inner_text() == "€ 550,00"
    with carla.expect_navigation():
        carla.get_by_test_id("onboarding-send").click()
    assert_accessible(carla, "onboarding-9-done")  # (a POST answer: not reloaded)
    code = carla.get_by_test_id("activation-code").inner_text()
    username = carla.get_by_test_id("new-username").inner_text()
    assert username == "eva" and len(code) == 14

    from backend.db import make_engine, make_session_factory

    engine = make_engine(live_server.database_url)
    try:
        factory = make_session_factory(engine)
        with factory() as session:
            eva = session.scalar(select(Participant).where(Participant.display_name == "Eva Smit"))
            assert eva is not None
            eva_id = eva.id
            # Nothing runs before the participant approves.
            assert (
                session.scalar(
                    select(PlanVersionRecord.id).where(PlanVersionRecord.participant_id == eva_id)
                )
                is None
            )

        # Eva activates her account with the code and approves her plan in the app.
        page = new_page(width=360, height=800)
        page.goto(live_server.url("/activeren"))
        check_page(page, "onboarding-activate")
        page.fill("#username", username)
        page.fill("#code", code)
        page.fill("#password", PASSWORD)
        page.fill("#password_again", PASSWORD)
        with page.expect_navigation():
            page.click("button:has-text('Activeren')")
        assert page.url.endswith(f"/deelnemer/{eva_id}/overzicht")
        page.goto(live_server.url(f"/deelnemer/{eva_id}/afspraken"))
        assert "Je eerste plan" in page.content()
        check_page(page, "onboarding-participant-proposal")
        with page.expect_navigation():
            page.click("button:has-text('Goedkeuren')")
        with factory() as session:
            version = session.scalar(
                select(PlanVersionRecord.version).where(PlanVersionRecord.participant_id == eva_id)
            )
            assert version == 1

        # The first daily cycle for Eva: it runs, and her app shows what comes.
        from backend.cycle.service import run_daily_cycle

        result = run_daily_cycle(factory, today=today_amsterdam(), participant_ids=[eva_id])
        assert result.ok and result.participants_evaluated == 1
        again = run_daily_cycle(factory, today=today_amsterdam(), participant_ids=[eva_id])
        assert again.journal_entries_created == 0 and again.payment_instructions_created == 0
    finally:
        engine.dispose()
    page.goto(live_server.url(f"/deelnemer/{eva_id}/wat-komt-eraan"))
    text = page.content()
    assert "Huur" in text and "Leefgeld" in text
    check_page(page, "onboarding-participant-forecast")

    # Carla sees Eva on her caseload.
    carla.goto(live_server.url(f"/hulpverlener/deelnemer/{eva_id}"))
    assert "Eva Smit" in carla.content()
