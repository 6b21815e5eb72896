"""Deelname beëindigen in a real browser: carla proposes the end for bram (a form error
first), bram sees the proposal in the app and agrees; axe finds no serious or critical
violation on the pages involved. The end lies a month ahead, so the shared live demo
keeps bram active for the other browser tests (the settlement itself is in
test_exit.py and test_pages.py)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.browser.check_page import check_page
from tests.browser.fixtures import LiveServer

pytestmark = pytest.mark.browser


def test_carla_proposes_the_end_and_bram_agrees(
    live_server: LiveServer,
    new_page: Callable[..., Any],
    log_in: Callable[..., None],
) -> None:
    page = new_page(width=1280)
    log_in(page, "bram")
    match = re.search(r"/deelnemer/(\d+)/", page.url)
    assert match, page.url
    bram = match.group(1)

    carla = new_page(width=1280)
    log_in(carla, "carla")
    carla.goto(live_server.url(f"/hulpverlener/deelnemer/{bram}"))
    carla.click("[data-testid=end-participation]")
    carla.wait_for_load_state("load")
    assert "Deelname beëindigen: Bram Jansen" in carla.content()
    check_page(carla, "caseworker-end-participation")

    carla.click("button:has-text('Einde voorstellen')")
    carla.wait_for_load_state("load")
    assert "Vul een datum in" in carla.content()
    check_page(carla, "caseworker-end-participation-error", widths=(1280,))

    last_day = dt.date.today() + dt.timedelta(days=30)
    carla.goto(live_server.url(f"/hulpverlener/deelnemer/{bram}/beeindigen"))
    carla.fill("#end_date", last_day.isoformat())
    carla.fill("#reason", "Bram regelt zijn geld weer zelf.")
    carla.click("button:has-text('Einde voorstellen')")
    carla.wait_for_load_state("load")
    assert "Voorstel: stoppen met Huishoudboekje" in carla.content()

    page.goto(live_server.url(f"/deelnemer/{bram}/einde"))
    assert "Bram regelt zijn geld weer zelf." in page.content()
    check_page(page, "participant-end-proposal")
    page.click("button:has-text('Ja, ik ga akkoord')")
    page.wait_for_load_state("load")
    page.goto(live_server.url(f"/deelnemer/{bram}/einde"))
    assert "Afgesproken: je deelname stopt op" in page.get_by_test_id("ending-agreed").inner_text()
    check_page(page, "participant-end-agreed")
