"""The Aanmelden wizard without a browser (SQLite and PostgreSQL): every step, errors
that link to their field, back, the summary, the one-time code, activation and the
participant's approval of the first plan."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from backend.models import Participant, PlanVersionRecord, Proposal
from tests.client_app.conftest import csrf_from

BASE = "/hulpverlener/aanmelden"
BSN = "999990019"
STEPS = {
    "persoon": {"display_name": "Daan Kok", "bsn": BSN, "username": "daan"},
    "huishouden": {"household_name": "Huishouden Kok", "adults": "1", "children": "2"},
    "rekening": {"own_iban": "NL91 ABNA 0417 1643 00", "account_holder": "D. Kok"},
    "leefgeld": {"frequency": "weekly", "weekday": "0", "day_of_month": "", "cap_cents": ""},
    "buffer": {
        "build_up_cents": "50,00",
        "advance_cents": "500,00",
        "repayment_cents": "25,00",
        "start_date": "2026-11-30",
    },
}
INCOME = {
    "payer_name": "Gemeente Utrecht Werk en Inkomen",
    "payer_iban": "NL71BNGH0285000111",
    "description": "Uitkering",
    "kind": "benefit",
    "amount_cents": "1.250,00",
    "day_of_month": "25",
    "search_terms": "Participatiewet",
}
RENT = {
    "creditor_name": "Mitros Wonen",
    "creditor_iban": "NL44 RABO 0123 4567 89",
    "description": "Huur",
    "category": "rent",
    "amount_cents": "700,00",
    "frequency": "monthly",
    "day_of_month": "1",
    "reference": "Huur Biltstraat 5",
}


def post_step(
    client: TestClient, step: str, fields: dict[str, str], action: str = "volgende"
) -> object:
    token = csrf_from(client.get(f"{BASE}?stap={step}").text)
    return client.post(
        BASE,
        data={**fields, "stap": step, "actie": action, "csrf_token": token},
        follow_redirects=False,
    )


def test_carla_onboards_daan_through_the_wizard(
    login: Callable[[str], TestClient], session_factory: sessionmaker[Session]
) -> None:
    client = login("carla")
    first = client.get(BASE)
    assert first.status_code == 200 and 'aria-current="step"' in first.text

    # A wrong BSN: refused, the error is listed at the top and links to its field.
    wrong = post_step(client, "persoon", {**STEPS["persoon"], "bsn": "123456789"})
    assert wrong.status_code == 422  # type: ignore[attr-defined]
    assert 'href="#bsn"' in wrong.text  # type: ignore[attr-defined]
    assert "elfproef" in wrong.text  # type: ignore[attr-defined]
    assert 'aria-invalid="true"' in wrong.text  # type: ignore[attr-defined]
    # anna's BSN: she already takes part (the message does not repeat the number).
    taken = post_step(client, "persoon", {**STEPS["persoon"], "bsn": "111222333"})
    assert "doet al mee" in taken.text  # type: ignore[attr-defined]

    locations = []
    for step in ("persoon", "huishouden", "rekening"):
        response = post_step(client, step, STEPS[step])
        assert response.status_code == 303, response.text  # type: ignore[attr-defined]
        locations.append(response.headers["location"])  # type: ignore[attr-defined]

    # Incomes: at least one; added one at a time.
    empty = post_step(client, "inkomsten", {})
    assert empty.status_code == 422  # type: ignore[attr-defined]
    added = post_step(client, "inkomsten", INCOME, action="toevoegen")
    assert added.status_code == 303  # type: ignore[attr-defined]
    assert post_step(client, "inkomsten", {}).status_code == 303  # type: ignore[attr-defined]

    # A bad creditor IBAN is refused; Mitros's IBAN shows the name we already know.
    bad = post_step(client, "vaste-lasten", {**RENT, "creditor_iban": "NL00 RABO 0000 0000 00"})
    assert bad.status_code == 422 and 'href="#creditor_iban"' in bad.text  # type: ignore[attr-defined]
    post_step(client, "vaste-lasten", RENT, action="toevoegen")
    costs_page = client.get(f"{BASE}?stap=vaste-lasten").text
    assert "Bekende schuldeiser: we betalen aan Mitros." in costs_page
    # Back from fixed costs keeps the list and shows the incomes again.
    back = post_step(client, "vaste-lasten", {}, action="terug")
    assert back.headers["location"].endswith("stap=inkomsten")  # type: ignore[attr-defined]
    assert post_step(client, "vaste-lasten", {}).status_code == 303  # type: ignore[attr-defined]
    for step in ("leefgeld", "buffer"):
        response = post_step(client, step, STEPS[step])
        assert response.status_code == 303, response.text  # type: ignore[attr-defined]
        locations.append(response.headers["location"])  # type: ignore[attr-defined]
    assert all(BSN not in location for location in locations)

    summary = client.get(f"{BASE}?stap=controleren").text
    # € 1.250 - € 700 - € 50 build-up = € 500 living money a month.
    assert "€ 500,00" in summary and "Voorstel versturen" in summary
    assert BSN not in summary  # the summary says "gecontroleerd", not the number

    with session_factory() as session:
        before = session.scalar(select(func.count()).select_from(Participant))
    done = client.post(
        f"{BASE}/versturen", data={"csrf_token": csrf_from(summary)}, follow_redirects=False
    )
    assert done.status_code == 200, done.text
    code = re.search(r'data-testid="activation-code">([A-Z0-9-]+)<', done.text)
    assert code is not None
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Participant)) == (before or 0) + 1
        daan = session.scalar(select(Participant).where(Participant.display_name == "Daan Kok"))
        assert daan is not None
        assert (
            session.scalar(
                select(PlanVersionRecord.id).where(PlanVersionRecord.participant_id == daan.id)
            )
            is None
        )
    # Daan is on carla's caseload at once, with the first plan waiting for him.
    page = client.get(f"/hulpverlener/deelnemer/{daan.id}")
    assert page.status_code == 200 and "Je eerste plan" in page.text
    queue = client.get("/hulpverlener")
    assert "Daan Kok" in queue.text
    # The draft is gone: sending again changes nothing.
    again = client.post(
        f"{BASE}/versturen", data={"csrf_token": csrf_from(summary)}, follow_redirects=False
    )
    assert again.status_code == 422

    # Daan activates his account with the code and lands in his app.
    client.cookies.clear()
    form = client.get("/activeren").text
    wrong_code = client.post(
        "/activeren",
        data={
            "username": "daan",
            "code": "AAAA-BBBB-CCCC",
            "password": "mijn eigen wachtwoord",
            "password_again": "mijn eigen wachtwoord",
            "csrf_token": csrf_from(form),
        },
        follow_redirects=False,
    )
    assert wrong_code.status_code == 400
    activated = client.post(
        "/activeren",
        data={
            "username": "daan",
            "code": code.group(1),
            "password": "mijn eigen wachtwoord",
            "password_again": "mijn eigen wachtwoord",
            "csrf_token": csrf_from(client.get("/activeren").text),
        },
        follow_redirects=False,
    )
    assert activated.status_code == 303, activated.text
    home = activated.headers["location"]
    assert home == f"/deelnemer/{daan.id}/overzicht"
    before_approval = client.get(home)  # no plan yet: the app still works
    assert before_approval.status_code == 200 and "Bekijk het voorstel" in before_approval.text
    agreements = client.get(f"/deelnemer/{daan.id}/afspraken")
    assert agreements.status_code == 200
    assert "Je eerste plan" in agreements.text
    with session_factory() as session:
        proposal = session.scalar(select(Proposal).where(Proposal.participant_id == daan.id))
        assert proposal is not None
    approved = client.post(
        f"/deelnemer/{daan.id}/voorstellen/{proposal.id}/goedkeuren",
        data={"csrf_token": csrf_from(agreements.text)},
        follow_redirects=False,
    )
    assert approved.status_code == 303
    with session_factory() as session:
        version = session.scalar(
            select(PlanVersionRecord.version).where(PlanVersionRecord.participant_id == daan.id)
        )
        assert version == 1
    overview = client.get(f"/deelnemer/{daan.id}/overzicht")
    assert overview.status_code == 200


def test_participants_and_finance_cannot_onboard(login: Callable[[str], TestClient]) -> None:
    for username in ("anna", "fenna"):
        client = login(username)
        assert client.get(BASE).status_code == 403
