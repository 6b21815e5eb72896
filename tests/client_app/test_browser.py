"""The participant app in a real headless Chromium, against the real app under uvicorn.

- every page at 360 px and 1280 px: axe-core finds no serious or critical WCAG 2.1
  AA violation, and a screenshot is written to test-artifacts/screenshots/;
- the story of issue 7: anna logs in, sees her balances and a transaction's reason,
  proposes weekly living money; carla (another browser context) approves it; anna
  sees the new plan; anna presses the emergency button and carla sees it.
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from tests.browser.check_page import check_page
from tests.browser.fixtures import LiveServer

pytestmark = pytest.mark.browser


def _participant_base(page: Any) -> str:
    match = re.search(r"(/deelnemer/\d+)/", page.url)
    assert match, f"not on a participant page: {page.url}"
    return match.group(1)


PARTICIPANT_PAGES = (
    "overzicht",
    "transacties",
    "wat-komt-eraan",
    "afspraken",
    "berichten",
    "overzichten",
    "iets-veranderd",
    "zelf-doen",
    "gegevens",
    "noodknop",
)


def test_every_page_passes_axe_and_is_captured(
    live_server: LiveServer,
    new_page: Callable[..., Any],
    log_in: Callable[..., None],
) -> None:
    page = new_page()
    page.goto(live_server.url("/"))
    check_page(page, "login")
    log_in(page, "anna")
    base = _participant_base(page)
    for name in PARTICIPANT_PAGES:
        page.goto(live_server.url(f"{base}/{name}"))
        check_page(page, f"participant-{name}")
    page.goto(live_server.url(f"{base}/overzichten"))
    month_link = page.locator("a[href*='/overzichten/']:not([href$='.pdf'])").first
    month_link.click()
    page.wait_for_load_state("load")
    check_page(page, "participant-statement-month")
    # A form with errors is accessible too.
    page.goto(live_server.url(f"{base}/iets-veranderd"))
    page.click("button[type=submit]:has-text('Versturen')")
    page.wait_for_load_state("load")
    assert page.locator(".utrecht-form-field-error-message").count() >= 1
    check_page(page, "participant-life-events-error", widths=(360,))
    # English.
    page.goto(live_server.url(f"{base}/overzicht"))
    page.click("button:has-text('English')")
    page.wait_for_load_state("load")
    assert page.locator("html").get_attribute("lang") == "en"
    check_page(page, "participant-overview-en")
    page.click("button:has-text('Nederlands')")
    page.wait_for_load_state("load")
    # Not found, as a page.
    page.goto(live_server.url("/deelnemer/999999/overzicht"))
    check_page(page, "not-found")
    # The caseworker's page.
    carla = new_page()
    log_in(carla, "carla")
    assert carla.url.endswith("/hulpverlener")
    check_page(carla, "caseworker-queue")


def _api_token(live_server: LiveServer, username: str) -> str:
    request = urllib.request.Request(
        live_server.url("/api/auth/token"),
        data=f"username={username}&password=demo".encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(json.load(response)["access_token"])


def _api_get(live_server: LiveServer, path: str, token: str) -> Any:
    request = urllib.request.Request(
        live_server.url(path), headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def test_anna_proposes_carla_approves_and_sees_the_emergency(
    live_server: LiveServer,
    new_page: Callable[..., Any],
    log_in: Callable[..., None],
) -> None:
    anna = new_page(width=360)
    log_in(anna, "anna")
    base = _participant_base(anna)
    assert anna.url.endswith(f"{base}/overzicht")

    # Her balances, the Dutch way.
    for testid in ("available", "reserved", "buffer"):
        text = anna.get_by_test_id(testid).inner_text()
        assert re.fullmatch(r"−? ?€ \d{1,3}(\.\d{3})*,\d{2}", text), text
    assert "maanden vaste lasten" in anna.content()

    # A transaction with its reason, status and direction in words.
    anna.click("nav a:has-text('Transacties')")
    anna.wait_for_load_state("load")
    first = anna.locator("#movements tbody tr").first
    reason = first.locator("td").nth(1).inner_text()
    assert len(reason) > 10, reason
    assert re.search(r"Bij|Af|Verschoven|Onderweg", first.inner_text())
    incomes = anna.locator("#movements tbody tr:has-text('Zorgtoeslag')")
    assert incomes.count() >= 1

    # The kind filter (htmx swaps the list; also works without script).
    anna.select_option("#soort", "income")
    anna.wait_for_function("() => location.search.includes('soort=income')")
    anna.wait_for_load_state("networkidle")
    rows = anna.locator("#movements tbody tr")
    assert rows.count() >= 1
    assert all("Bij" in rows.nth(i).inner_text() for i in range(rows.count()))

    # She proposes weekly living money, on Fridays.
    anna.goto(live_server.url(f"{base}/afspraken"))
    anna.click("summary:has-text('vaker of minder vaak')")
    anna.check("#frequency-weekly")
    anna.select_option("#weekday", "4")
    anna.fill("#reason-schedule", "Op vrijdag doe ik de boodschappen voor het weekend.")
    anna.click("form:has(#reason-schedule) button[type=submit]")
    anna.wait_for_load_state("load")
    assert "Je voorstel is verstuurd" in anna.content()
    proposal = anna.locator("article[id^='voorstel-']").first
    proposal_id = (proposal.get_attribute("id") or "").removeprefix("voorstel-")
    assert proposal_id.isdigit()

    # Carla, in her own browser context, approves it.
    carla = new_page()
    log_in(carla, "carla")
    assert carla.url.endswith("/hulpverlener")
    card = carla.locator(f"#voorstel-{proposal_id}")
    assert "Anna de Vries" in card.inner_text()
    card.locator("button:has-text('Goedkeuren')").click()
    carla.wait_for_load_state("load")
    assert "Je hebt het voorstel goedgekeurd" in carla.content()

    # Anna sees the decision and the new plan: weekly on Friday. The plan version is
    # made by the plans package's applier (backend.plans.register_plan_appliers),
    # which the app factory registers; while an app does not, the proposal stays
    # approved-but-not-applied and that is what anna sees.
    anna.goto(live_server.url(f"{base}/afspraken"))
    decided = anna.locator(f"#voorstel-{proposal_id}")
    assert "Goedgekeurd" in decided.inner_text()
    schedule = anna.get_by_test_id("living-money-schedule").inner_text()
    if "staat in je plan" in decided.inner_text():
        assert schedule == "elke week op vrijdag", schedule
    else:
        assert schedule != "elke week op vrijdag", "a plan change shown that was not applied"
    anna.goto(live_server.url(f"{base}/berichten"))
    assert "Je voorstel is goedgekeurd" in anna.content()

    # Anna presses the emergency button.
    anna.goto(live_server.url(f"{base}/noodknop"))
    anna.check("#kind-no_money_for_food")
    anna.fill("#note", "Mijn pinpas is gestolen.")
    anna.get_by_test_id("emergency-button").click()
    anna.wait_for_load_state("load")
    assert "Je noodmelding is ontvangen" in anna.content()
    assert "Ontvangen" in anna.get_by_test_id("emergency-list").inner_text()

    # Carla sees it on top of her page, and in the caseload API.
    carla.goto(live_server.url("/hulpverlener"))
    emergency = carla.get_by_test_id("caseworker-emergency").first
    assert "Anna de Vries" in emergency.inner_text()
    assert "Ik heb geen geld voor eten" in emergency.inner_text()
    caseload = _api_get(live_server, "/api/caseload", _api_token(live_server, "carla"))
    anna_row = next(row for row in caseload if row["display_name"] == "Anna de Vries")
    assert anna_row["open_emergencies"] >= 1

    # She marks it seen; Anna sees who saw it.
    emergency.locator("button:has-text('Gezien')").click()
    carla.wait_for_load_state("load")
    anna.goto(live_server.url(f"{base}/noodknop"))
    assert (
        "Gezien door Carla Bakker (budgetcoach)"
        in anna.get_by_test_id("emergency-list").inner_text()
    )
