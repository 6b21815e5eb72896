"""Every page of the participant app through the real app (TestClient): status, key
content, login with cookies, CSRF refusal, scope (another's pages are 404)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from backend.models import AccessLogRecord, EmergencyRequest, LifeEvent, Proposal
from tests.access.conftest import Demo
from tests.client_app.conftest import csrf_from

Login = Callable[..., TestClient]


def _form(client: TestClient, page: str, **fields: str) -> dict[str, str]:
    return {"csrf_token": csrf_from(client.get(page).text), **fields}


# ---------------------------------------------------------------------- login


def test_login_page_has_the_form_fields_and_a_csrf_token(pages: TestClient) -> None:
    response = pages.get("/")
    assert response.status_code == 200
    html = response.text
    assert 'name="username"' in html and 'name="password"' in html
    assert 'autocomplete="current-password"' in html
    assert csrf_from(html)
    assert '<html lang="nl"' in html
    assert 'href="#inhoud"' in html  # skip link


def test_login_sets_http_only_same_site_cookies_and_lands_on_overview(
    pages: TestClient, demo: Demo
) -> None:
    response = pages.post(
        "/", data=_form(pages, "/", username="anna", password="demo"), follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/deelnemer/{demo.participants['anna']}/overzicht"
    cookies = response.headers.get_list("set-cookie")
    for name in ("hb_access", "hb_refresh", "hb_csrf"):
        cookie = next(line for line in cookies if line.startswith(f"{name}="))
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie, cookie
        assert "Secure" not in cookie  # served over plain HTTP in this test


def test_cookies_are_secure_over_https(client: TestClient, demo: Demo) -> None:
    secure = TestClient(client.app, base_url="https://testserver")
    response = secure.post(
        "/", data=_form(secure, "/", username="anna", password="demo"), follow_redirects=False
    )
    assert response.status_code == 303
    assert all("Secure" in line for line in response.headers.get_list("set-cookie"))


def test_wrong_password_is_refused_with_a_plain_message(pages: TestClient) -> None:
    response = pages.post("/", data=_form(pages, "/", username="anna", password="nope"))
    assert response.status_code == 401
    assert "klopt niet" in response.text
    assert "hb_access" not in pages.cookies


def test_login_locks_after_repeated_failures(pages: TestClient) -> None:
    for _ in range(5):
        pages.post("/", data=_form(pages, "/", username="bram", password="wrong"))
    response = pages.post("/", data=_form(pages, "/", username="bram", password="demo"))
    assert response.status_code == 429
    assert "15 minuten" in response.text


def test_login_without_csrf_token_is_refused(pages: TestClient) -> None:
    pages.get("/")
    response = pages.post("/", data={"username": "anna", "password": "demo"})
    assert response.status_code == 403
    assert "hb_access" not in pages.cookies


def test_pages_need_a_login(pages: TestClient, anna_base: str) -> None:
    response = pages.get(f"{anna_base}/overzicht", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/?next={anna_base}/overzicht"


def test_after_login_next_is_followed_but_only_within_the_site(
    pages: TestClient, anna_base: str
) -> None:
    form = _form(pages, "/", username="anna", password="demo", next=f"{anna_base}/noodknop")
    response = pages.post("/", data=form, follow_redirects=False)
    assert response.headers["location"] == f"{anna_base}/noodknop"
    pages.cookies.clear()
    form = _form(pages, "/", username="anna", password="demo", next="//evil.example/x")
    response = pages.post("/", data=form, follow_redirects=False)
    assert response.headers["location"] == f"{anna_base}/overzicht"


def test_an_expired_access_token_is_refreshed_from_the_refresh_cookie(
    login: Login, anna_base: str
) -> None:
    client = login("anna")
    old_refresh = client.cookies.get("hb_refresh")
    client.cookies.delete("hb_access")  # as when the access token has expired
    response = client.get(f"{anna_base}/overzicht")
    assert response.status_code == 200
    set_cookies = response.headers.get_list("set-cookie")
    assert any(line.startswith("hb_access=") for line in set_cookies)
    assert client.cookies.get("hb_refresh") not in (None, old_refresh)  # rotated


def test_log_out_ends_the_session(login: Login, anna_base: str) -> None:
    client = login("anna")
    refresh = client.cookies.get("hb_refresh")
    response = client.post(
        "/uitloggen", data=_form(client, f"{anna_base}/overzicht"), follow_redirects=False
    )
    assert response.status_code == 303
    client.cookies.set("hb_refresh", refresh or "")
    assert client.get(f"{anna_base}/overzicht", follow_redirects=False).status_code == 303


def test_caseworker_lands_on_her_page_and_others_on_a_plain_page(login: Login) -> None:
    client = login("carla")
    assert client.get("/start", follow_redirects=False).headers["location"] == "/hulpverlener"
    client = login("fenna")  # the finance console (issue 8)
    assert client.get("/start", follow_redirects=False).headers["location"] == (
        "/financien/afschriften"
    )
    client = login("priya")
    response = client.get("/start")
    assert response.status_code == 200
    assert "nog geen schermen" in response.text


# ---------------------------------------------------------------------- pages

PAGE_CONTENT = {
    "overzicht": (
        "Beschikbaar",
        "Gereserveerd voor vaste lasten",
        "maanden vaste lasten",
        "Je volgende leefgeld",
    ),
    "transacties": ("Zorgtoeslag", "Bij", "Gepland"),
    "wat-komt-eraan": ("Gevuld tot", "Per maand", "Leefgeld naar je eigen rekening"),
    "afspraken": ("Huur", "Mitros", "€ 645,00", "Voorstel doen", "elke week op maandag"),
    "iets-veranderd": ("Ik ga verhuizen", "Er is iemand overleden"),
    "noodknop": ("Noodknop: vraag nu hulp", "Carla Bakker"),
    "gegevens": ("Anna de Vries", "NL32INGB0007777777", "Download als PDF"),
    "berichten": ("Berichten",),
    "overzichten": ("Per maand", "Per jaar"),
}


@pytest.mark.parametrize("page", sorted(PAGE_CONTENT))
def test_every_page_shows_its_content(login: Login, anna_base: str, page: str) -> None:
    response = login("anna").get(f"{anna_base}/{page}")
    assert response.status_code == 200, response.text
    for text in PAGE_CONTENT[page]:
        assert text in response.text, (page, text)
    assert 'aria-current="page"' in response.text
    assert response.headers["cache-control"] == "no-store"
    assert "script-src 'self'" in response.headers["content-security-policy"]


def test_overview_shows_money_the_dutch_way(login: Login, anna_base: str) -> None:
    html = login("anna").get(f"{anna_base}/overzicht").text
    assert "€ 1.500,00" in html  # the advance still owed
    assert "Je krijgt € 97,4" in html  # the next weekly living money ...
    assert "maandag 30 november 2026" in html  # ... on the next Monday, in words


def test_transactions_filter_by_kind_and_month_and_paginate(login: Login, anna_base: str) -> None:
    client = login("anna")
    income = client.get(f"{anna_base}/transacties?soort=income").text
    assert "Zorgtoeslag" in income and "Huur Mitros" not in income
    month = client.get(f"{anna_base}/transacties?maand=2026-10").text
    assert "oktober 2026" in month and "november 2026</td>" not in month
    first = client.get(f"{anna_base}/transacties").text
    assert 'rel="next"' in first
    cursor = first.split("na=")[1].split('"')[0]
    older = client.get(f"{anna_base}/transacties?na={cursor}".replace("&amp;", "&"))
    assert older.status_code == 200 and "Oudere bewegingen" in older.text


def test_transactions_answer_htmx_with_the_list_only(login: Login, anna_base: str) -> None:
    response = login("anna").get(
        f"{anna_base}/transacties?soort=income",
        headers={"HX-Request": "true", "HX-Target": "movements"},
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section id="movements"')


def test_english_switch(login: Login, anna_base: str) -> None:
    client = login("anna")
    response = client.post(
        "/taal",
        data=_form(client, f"{anna_base}/overzicht", lang="en", next=f"{anna_base}/overzicht"),
    )
    assert response.status_code == 200
    assert '<html lang="en"' in response.text
    assert "Available" in response.text and "€ 1,500.00" in response.text


def test_statement_page_and_pdf(login: Login, anna_base: str) -> None:
    client = login("anna")
    page = client.get(f"{anna_base}/overzichten/2026-11")
    assert page.status_code == 200
    assert "Overzicht november 2026" in page.text
    assert "Zo klopt het" in page.text and "klopt niet" not in page.text
    assert "Belastingdienst Toeslagen" in page.text  # income per source
    october = client.get(f"{anna_base}/overzichten/2026-10").text
    assert "Mitros" in october and "€ 645,00" in october  # fixed costs per creditor
    year = client.get(f"{anna_base}/overzichten/2026")
    assert "Jaaroverzicht 2026" in year.text
    pdf = client.get(f"{anna_base}/overzichten/2026-11.pdf")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert client.get(f"{anna_base}/overzichten/2026-13").status_code == 422


def test_download_of_all_data_is_for_the_person_themself(login: Login, anna_base: str) -> None:
    response = login("anna").get(f"{anna_base}/gegevens/download")
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    data = response.json()
    assert data["person"]["name"] == "Anna de Vries"
    assert data["ledger"]
    pdf = login("anna").get(f"{anna_base}/gegevens/download.pdf")
    assert pdf.status_code in (200, 404)  # 404 only without the privacy package's PDF
    if pdf.status_code == 200:
        assert pdf.content.startswith(b"%PDF")
    for path in ("gegevens/download", "gegevens/download.pdf"):
        assert login("carla").get(f"{anna_base}/{path}").status_code == 404


# ---------------------------------------------------------------------- scope


@pytest.mark.parametrize("username", ["bram", "chris", "fenna", "priya", "admin"])
def test_anothers_pages_are_not_found(login: Login, anna_base: str, username: str) -> None:
    client = login(username)
    for page in PAGE_CONTENT:
        response = client.get(f"{anna_base}/{page}")
        assert response.status_code == 404, (username, page)
        assert "bestaat niet" in response.text
        assert "Anna" not in response.text


def test_caseworker_sees_the_pages_of_her_participant(login: Login, anna_base: str) -> None:
    response = login("carla").get(f"{anna_base}/overzicht")
    assert response.status_code == 200
    assert "Je bekijkt de pagina&#39;s van Anna de Vries" in response.text


def test_a_participant_cannot_act_for_another(login: Login, demo: Demo) -> None:
    client = login("anna")
    bram = f"/deelnemer/{demo.participants['bram']}"
    token = csrf_from(client.get(f"/deelnemer/{demo.participants['anna']}/noodknop").text)
    response = client.post(f"{bram}/noodknop", data={"csrf_token": token, "kind": "other"})
    assert response.status_code == 404


# ---------------------------------------------------------------------- forms and CSRF


def test_forms_without_or_with_a_foreign_csrf_token_are_refused(
    login: Login, anna_base: str, session_factory: sessionmaker[Session]
) -> None:
    carla = login("carla")
    carla_token = csrf_from(carla.get("/hulpverlener").text)
    client = login("anna")
    for data in (
        {"kind": "other"},
        {"kind": "other", "csrf_token": "x" * 64},
        {"kind": "other", "csrf_token": carla_token},
    ):
        response = client.post(f"{anna_base}/noodknop", data=data)
        assert response.status_code == 403
        assert "verlopen" in response.text
    with session_factory() as session:
        assert session.scalar(select(func.count(EmergencyRequest.id))) == 0


def test_proposal_form_makes_a_proposal(
    login: Login, anna_base: str, session_factory: sessionmaker[Session]
) -> None:
    client = login("anna")
    form = _form(
        client,
        f"{anna_base}/afspraken",
        kind="living_money_schedule",
        frequency="weekly",
        weekday="4",
        reason="Vrijdag past beter.",
    )
    response = client.post(f"{anna_base}/afspraken/voorstel", data=form)
    assert response.status_code == 200
    assert "Je voorstel is verstuurd" in response.text
    assert "Leefgeld: elke week op vrijdag" in response.text
    with session_factory() as session:
        proposal = session.scalars(select(Proposal)).one()
    assert proposal.kind == "living_money_schedule"
    assert proposal.payload == {"frequency": "weekly", "weekday": 4, "day_of_month": None}


def test_proposal_form_explains_what_is_wrong(login: Login, anna_base: str) -> None:
    client = login("anna")
    form = _form(
        client, f"{anna_base}/afspraken", kind="living_money_amount", amount="veel", reason=""
    )
    response = client.post(f"{anna_base}/afspraken/voorstel", data=form)
    assert response.status_code == 422
    assert "Vul een bedrag in euro in" in response.text
    assert "Schrijf kort waarom" in response.text
    assert 'aria-invalid="true"' in response.text


def test_a_second_open_proposal_of_the_same_kind_is_explained(login: Login, anna_base: str) -> None:
    client = login("anna")
    for expected in (200, 422):
        form = _form(
            client,
            f"{anna_base}/afspraken",
            kind="living_money_amount",
            amount="450,00",
            reason="Boodschappen zijn duurder.",
        )
        response = client.post(f"{anna_base}/afspraken/voorstel", data=form)
        assert response.status_code == expected
    assert "al een open voorstel" in response.text


def test_a_refused_proposal_still_logs_the_read_of_the_422_page(
    login: Login, anna_base: str, demo: Demo, session_factory: sessionmaker[Session]
) -> None:
    """The refusal undoes only the proposing (a savepoint), not the access-log records
    of the page that shows anna's data."""

    def logged() -> int:
        with session_factory() as session:
            return int(
                session.scalar(
                    select(func.count())
                    .select_from(AccessLogRecord)
                    .where(AccessLogRecord.participant_id == demo.participants["anna"])
                )
                or 0
            )

    client = login("anna")
    for expected in (200, 422):
        form = _form(
            client,
            f"{anna_base}/afspraken",
            kind="living_money_amount",
            amount="450,00",
            reason="Boodschappen zijn duurder.",
        )
        before = logged()
        response = client.post(f"{anna_base}/afspraken/voorstel", data=form)
        assert response.status_code == expected
    assert "al een open voorstel" in response.text
    assert logged() > before


def test_caseworker_approves_and_rejects_from_her_page(
    login: Login, anna_base: str, session_factory: sessionmaker[Session]
) -> None:
    anna = login("anna")
    for kind, fields in (
        ("living_money_amount", {"amount": "450"}),
        ("extra_payout", {"amount": "75,50"}),
    ):
        anna.post(
            f"{anna_base}/afspraken/voorstel",
            data=_form(anna, f"{anna_base}/afspraken", kind=kind, reason="Nodig.", **fields),
        )
    with session_factory() as session:
        first, second = session.scalars(select(Proposal).order_by(Proposal.id)).all()
    carla = login("carla")
    queue = carla.get("/hulpverlener").text
    assert "Leefgeld: € 450,00 per maand" in queue and "Eenmalig extra geld: € 75,50" in queue
    response = carla.post(
        f"{anna_base}/voorstellen/{first.id}/goedkeuren?terug=hulpverlener",
        data=_form(carla, "/hulpverlener"),
    )
    assert response.status_code == 200 and "goedgekeurd" in response.text
    refused = carla.post(
        f"{anna_base}/voorstellen/{second.id}/afwijzen",
        data=_form(carla, "/hulpverlener", reason=""),
    )
    assert refused.status_code == 422 and "waarom je het voorstel afwijst" in refused.text
    carla.post(
        f"{anna_base}/voorstellen/{second.id}/afwijzen",
        data=_form(carla, "/hulpverlener", reason="Eerst samen kijken."),
    )
    with session_factory() as session:
        statuses = [p.status for p in session.scalars(select(Proposal).order_by(Proposal.id))]
    assert statuses == ["approved", "rejected"]
    messages = login("anna").get(f"{anna_base}/berichten").text
    assert "Je voorstel is goedgekeurd" in messages
    assert "Je voorstel is afgewezen" in messages and "Eerst samen kijken." in messages


def test_participant_cannot_approve_her_own_proposal(
    login: Login, anna_base: str, session_factory: sessionmaker[Session]
) -> None:
    anna = login("anna")
    anna.post(
        f"{anna_base}/afspraken/voorstel",
        data=_form(
            anna, f"{anna_base}/afspraken", kind="extra_payout", amount="20", reason="Verjaardag."
        ),
    )
    with session_factory() as session:
        proposal = session.scalars(select(Proposal)).one()
    response = anna.post(
        f"{anna_base}/voorstellen/{proposal.id}/goedkeuren",
        data=_form(anna, f"{anna_base}/afspraken"),
    )
    assert response.status_code == 403


def test_life_event_form(
    login: Login, anna_base: str, session_factory: sessionmaker[Session]
) -> None:
    client = login("anna")
    empty = client.post(
        f"{anna_base}/iets-veranderd", data=_form(client, f"{anna_base}/iets-veranderd")
    )
    assert empty.status_code == 422 and "Kies wat er veranderd is" in empty.text
    response = client.post(
        f"{anna_base}/iets-veranderd",
        data=_form(
            client,
            f"{anna_base}/iets-veranderd",
            kind="moving",
            occurs_on="2026-12-15",
            note="Nieuw adres: Dorpsstraat 1.",
        ),
    )
    assert response.status_code == 200
    assert "Ik ga verhuizen" in response.text and "Nog niet gezien" in response.text
    with session_factory() as session:
        event = session.scalars(select(LifeEvent)).one()
    assert event.kind == "moving" and str(event.occurs_on) == "2026-12-15"


def test_emergency_with_a_payout_request_reaches_the_caseworker(
    login: Login, anna_base: str, session_factory: sessionmaker[Session]
) -> None:
    client = login("anna")
    response = client.post(
        f"{anna_base}/noodknop",
        data=_form(
            client,
            f"{anna_base}/noodknop",
            kind="no_money_for_food",
            payout="ja",
            amount="50,00",
            note="Pas kwijt.",
        ),
    )
    assert response.status_code == 200
    assert "Je noodmelding is ontvangen" in response.text
    with session_factory() as session:
        request = session.scalars(select(EmergencyRequest)).one()
        proposal = session.scalars(select(Proposal)).one()
    assert proposal.kind == "extra_payout" and proposal.payload["amount_cents"] == 5000
    assert f"melding {request.id}" in proposal.reason
    carla = login("carla")
    queue = carla.get("/hulpverlener").text
    assert queue.index('data-kind="emergency"') < queue.index("Ik heb geen geld voor eten")
    # The payout she asked for answers this request: carla approves that proposal;
    # an extra emergency payout for the same request is refused, nothing more stored.
    assert proposal.payload["emergency_request_id"] == request.id
    second = carla.post(
        f"/hulpverlener/deelnemer/{proposal.participant_id}/noodmelding/{request.id}/noodbetaling",
        data=_form(carla, "/hulpverlener", bedrag="50,00", reden="Pas kwijt, geen geld voor eten."),
        follow_redirects=False,
    )
    assert second.status_code == 409, second.text
    assert "vroeg de deelnemer zelf al om extra leefgeld" in second.text
    with session_factory() as session:
        assert len(session.scalars(select(Proposal)).all()) == 1
    carla.post(
        f"/hulpverlener/deelnemer/{request.participant_id}/noodmelding/{request.id}/gezien",
        data=_form(carla, "/hulpverlener"),
    )
    page = login("anna").get(f"{anna_base}/noodknop").text
    assert "Gezien door Carla Bakker (budgetcoach)" in page


def test_only_the_participant_presses_her_emergency_button(login: Login, anna_base: str) -> None:
    carla = login("carla")
    response = carla.post(f"{anna_base}/noodknop", data=_form(carla, "/hulpverlener", kind="other"))
    assert response.status_code == 403
