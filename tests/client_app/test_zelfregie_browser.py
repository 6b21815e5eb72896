"""Op weg naar zelf doen in a real browser (issue 12): anna sees her step, what the next
step needs, makes a savings goal, sets money aside and sees its progress; axe finds no
serious or critical violation on the page, also with a form error."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.browser.check_page import check_page
from tests.browser.fixtures import LiveServer

pytestmark = pytest.mark.browser


def test_anna_sees_her_step_the_next_step_and_her_goal_progress(
    live_server: LiveServer,
    new_page: Callable[..., Any],
    log_in: Callable[..., None],
) -> None:
    page = new_page(width=360)
    log_in(page, "anna")
    match = re.search(r"(/deelnemer/\d+)/", page.url)
    assert match, page.url
    base = match.group(1)

    page.click("nav a:has-text('Zelf doen')")
    page.wait_for_load_state("load")
    assert "Stap 1 van 4: Alles geregeld." in page.get_by_test_id("current-step").inner_text()
    conditions = page.get_by_test_id("next-step-conditions").inner_text()
    assert "3 maanden zonder achterstand in deze stap" in conditions
    check_page(page, "participant-zelf-doen-empty")

    # A goal: a fridge of € 400, € 50 a month.
    page.fill("#goal-name", "Koelkast")
    page.fill("#goal-target", "400")
    page.fill("#goal-monthly", "50")
    page.click("button:has-text('Spaardoel maken')")
    page.wait_for_load_state("load")
    assert "Je spaardoel staat erin." in page.content()

    # Too much is explained, accessibly.
    goal = page.get_by_test_id("goal").first
    goal.locator("input[name=amount]").first.fill("100000")
    goal.locator("button:has-text('Opzij zetten')").click()
    page.wait_for_load_state("load")
    assert page.locator(".utrecht-form-field-error-message").count() >= 1
    check_page(page, "participant-zelf-doen-error", widths=(360,))

    # € 100 set aside: a quarter of the goal.
    page.goto(live_server.url(f"{base}/zelf-doen"))
    goal = page.get_by_test_id("goal").first
    goal.locator("input[name=amount]").first.fill("100")
    goal.locator("button:has-text('Opzij zetten')").click()
    page.wait_for_load_state("load")
    progress = page.get_by_test_id("goal-progress").first.inner_text()
    assert progress == "€ 100,00 van € 400,00 gespaard (25%).", progress
    assert page.locator(".hb-bar__fill--20").count() == 1
    assert "Met € 50,00 per maand heb je het op" in page.content()
    check_page(page, "participant-zelf-doen")


def test_at_step_3_bram_sees_his_payout_limits_and_can_choose_a_bill_to_pay_himself(
    live_server: LiveServer,
    new_page: Callable[..., Any],
    log_in: Callable[..., None],
) -> None:
    """Steps 2 and 3 (issue 12): the limits for choosing living money and the fixed costs
    one may pay oneself. Bram is put at step 3 directly (the co-decision path is
    tests/zelfregie's); the page passes axe."""
    import datetime as dt

    from sqlalchemy import select

    from backend.db import make_engine, make_session_factory, transaction
    from backend.models import AutonomyStepRecord, UserAccount
    from backend.models.base import utcnow

    engine = make_engine(live_server.database_url)
    try:
        with transaction(make_session_factory(engine)) as session:
            bram = session.scalar(
                select(UserAccount.participant_id).where(UserAccount.username == "bram")
            )
            assert bram is not None
            session.add(
                AutonomyStepRecord(
                    participant_id=bram,
                    step=3,
                    effective_from=dt.date(2000, 1, 1),
                    created_at=utcnow(),
                )
            )
    finally:
        engine.dispose()
    page = new_page(width=360)
    log_in(page, "bram")
    page.click("nav a:has-text('Zelf doen')")
    page.wait_for_load_state("load")
    assert "Stap 3 van 4: Zelf betalen." in page.get_by_test_id("current-step").inner_text()
    limits = page.get_by_test_id("payout-limits").inner_text()
    assert re.search(r"tussen € [\d.,]+ en € [\d.,]+ per maand", limits), limits
    costs = page.get_by_test_id("own-costs")
    assert costs.locator("button:has-text('Deze rekening zelf betalen')").count() >= 1
    check_page(page, "participant-zelf-doen-step-3")
