"""Waar ging mijn leefgeld heen? in a real browser on a 360 px phone (issue 12, Insight):
anna chooses her household type, notes two things she spent, sees them per category
next to the reference figures in a table, changes one and removes the other; axe finds
no serious or critical violation, also with a form error, and nothing scrolls sideways."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.browser.check_page import check_page
from tests.browser.fixtures import LiveServer

pytestmark = pytest.mark.browser


def _no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the page is {width}px wide on a 360px phone"


def test_anna_notes_her_spending_and_compares_it_on_her_phone(
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
    page.click("a:has-text('Naar mijn uitgaven')")
    page.wait_for_load_state("load")
    assert page.url.endswith(f"{base}/inzicht")
    assert "Alleen jij ziet dit." in page.get_by_test_id("privacy").inner_text()
    check_page(page, "participant-inzicht-empty")

    page.select_option("#household-type", "single_parent_1")
    page.click("button:has-text('Bewaar')")
    page.wait_for_load_state("load")
    assert "Je keuze is bewaard." in page.content()

    page.fill("#note-amount", "23,40")
    page.select_option("#note-category", "boodschappen")
    page.fill("#note-text", "Bakker")
    page.click("button:has-text('Opschrijven')")
    page.wait_for_load_state("load")
    page.fill("#note-amount", "15")
    page.select_option("#note-category", "vervoer")
    page.click("button:has-text('Opschrijven')")
    page.wait_for_load_state("load")
    assert page.get_by_test_id("note").count() == 2

    table = page.get_by_test_id("comparison")
    groceries = table.locator("tr[data-category=boodschappen]").inner_text()
    assert "€ 23,40" in groceries and "€ 440,00" in groceries, groceries
    assert page.get_by_test_id("recorded").inner_text() == "€ 38,40"
    text = page.content()
    for judging in ("te veel", "teveel", "te weinig", "goed gedaan", "slecht"):
        assert judging not in text.lower()
    _no_sideways_scroll(page)
    check_page(page, "participant-inzicht")

    # Change the groceries note, remove the transport note.
    page.get_by_test_id("note").filter(has_text="Bakker").locator("a:has-text('Verander')").click()
    page.wait_for_load_state("load")
    page.fill("#note-amount", "30")
    page.click("button:has-text('Opslaan')")
    page.wait_for_load_state("load")
    page.get_by_test_id("note").filter(has_text="€ 15,00").locator("button").click()
    page.wait_for_load_state("load")
    assert page.get_by_test_id("note").count() == 1
    assert page.get_by_test_id("recorded").inner_text() == "€ 30,00"

    # A mistake is explained next to the field, accessibly.
    page.fill("#note-amount", "veel")
    page.click("button:has-text('Opschrijven')")
    page.wait_for_load_state("load")
    assert page.locator(".utrecht-form-field-error-message").count() >= 1
    check_page(page, "participant-inzicht-error", widths=(360,))
