"""The caseworker dashboard and the finance console, through the TestClient."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.db import transaction
from backend.models import Alert, PaymentBatch
from backend.payments.sepa_file import check_file
from client_app.formatting import money
from client_app.staff_models import ParticipantNote
from tests.staff.conftest import SEED_TODAY, Demo, csrf_from
from tests.staff.statements import ledger_bank_balance, statement_with_unknown_credit

Login = Callable[..., TestClient]


def _token(client: TestClient, path: str) -> str:
    return csrf_from(client.get(path).text)


# ---------------------------------------------------------------------- caseworker


def test_queue_orders_by_urgency_with_one_action_each(
    login: Login, demo: Demo, as_user: Callable[[str], dict[str, str]]
) -> None:
    anna = demo.participants["anna"]
    client = login("carla")
    client.post(
        f"/api/participants/{anna}/life-events", json={"kind": "moving"}, headers=as_user("anna")
    )
    client.post(
        f"/api/participants/{anna}/emergency", json={"kind": "other"}, headers=as_user("anna")
    )
    client.post(
        f"/api/participants/{anna}/proposals",
        json={"change": {"kind": "extra_payout", "amount_cents": 2500}, "reason": "Verjaardag."},
        headers=as_user("anna"),
    )
    page = client.get("/hulpverlener")
    assert page.status_code == 200
    html = page.text
    kinds = [part.split('"')[0] for part in html.split('data-kind="')[1:]]
    assert kinds[0] == "emergency"
    assert kinds.index("proposal") < kinds.index("life_event")
    assert "Gezien, ik neem contact op met Anna de Vries" in html
    assert "/goedkeuren?terug=hulpverlener" in html


def test_quiet_participants_are_hidden_until_asked_and_the_choice_is_remembered(
    login: Login,
) -> None:
    client = login("carla")
    first = client.get("/hulpverlener").text
    assert 'data-testid="quiet-list"' not in first
    shown = client.get("/hulpverlener?toon=alle").text
    assert 'data-testid="quiet-list"' in shown
    again = client.get("/hulpverlener").text  # remembered (cookie per user)
    assert 'data-testid="quiet-list"' in again


def test_an_alert_is_resolved_from_the_queue(
    login: Login, demo: Demo, session_factory: sessionmaker[Session]
) -> None:
    anna = demo.participants["anna"]
    with transaction(session_factory, write=True) as session:
        alert = Alert(
            dedup_key="test:arrears",
            participant_id=anna,
            kind="arrears",
            severity="critical",
            message_nl="Huur kon niet betaald worden.",
            message_en="Rent could not be paid.",
        )
        session.add(alert)
        session.flush()
        alert_id = alert.id
    client = login("carla")
    html = client.get("/hulpverlener").text
    assert "Huur kon niet betaald worden." in html
    assert "Achterstand van Anna de Vries oplossen" in html
    token = csrf_from(html)
    done = client.post(
        f"/hulpverlener/deelnemer/{anna}/signaal/{alert_id}/afgehandeld",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert "Huur kon niet betaald worden." not in client.get("/hulpverlener").text


def test_participant_page_shows_money_plan_versions_and_forecast(login: Login, demo: Demo) -> None:
    anna = demo.participants["anna"]
    html = login("carla").get(f"/hulpverlener/deelnemer/{anna}").text
    assert "Anna de Vries" in html
    for heading in (
        "Geld",
        "Voorspelling",
        "Laatste boekingen",
        "Versies",
        "Notities",
        "Kantelgesprek",
    ):
        assert heading in html
    assert "Versie 1" in html


def test_notes_need_a_reason_to_be_internal(
    login: Login, demo: Demo, session_factory: sessionmaker[Session]
) -> None:
    anna = demo.participants["anna"]
    client = login("carla")
    base = f"/hulpverlener/deelnemer/{anna}"
    token = _token(client, base)
    refused = client.post(
        f"{base}/notitie", data={"csrf_token": token, "tekst": "Schuldhulp loopt.", "intern": "ja"}
    )
    assert refused.status_code == 422
    visible = client.post(
        f"{base}/notitie",
        data={"csrf_token": token, "tekst": "We bellen maandag."},
        follow_redirects=False,
    )
    internal = client.post(
        f"{base}/notitie",
        data={
            "csrf_token": token,
            "tekst": "Melding Veilig Thuis.",
            "intern": "ja",
            "reden": "Veiligheid.",
        },
        follow_redirects=False,
    )
    assert visible.status_code == internal.status_code == 303
    with transaction(session_factory) as session:
        notes = {note.text: note for note in session.scalars(select(ParticipantNote))}
    assert not notes["We bellen maandag."].internal
    assert notes["Melding Veilig Thuis."].internal_reason == "Veiligheid."
    html = client.get(base).text
    assert "intern: Veiligheid." in html


def test_review_conversation_is_planned_and_its_outcome_recorded(login: Login, demo: Demo) -> None:
    anna = demo.participants["anna"]
    client = login("carla")
    base = f"/hulpverlener/deelnemer/{anna}"
    token = _token(client, base)
    planned = client.post(
        f"{base}/kantelgesprek",
        data={"csrf_token": token, "datum": "2026-11-20", "onderwerpen": "Buffer en huurverhoging"},
        follow_redirects=False,
    )
    assert planned.status_code == 303
    queue = client.get("/hulpverlener").text
    assert 'data-kind="review"' in queue  # the date has passed: record the outcome
    review_id = queue.split("/kantelgesprek/")[0]  # not in the queue: link goes to the page
    html = client.get(base).text
    action = html.split('action="' + base + "/kantelgesprek/")[1].split("/uitkomst")[0]
    recorded = client.post(
        f"{base}/kantelgesprek/{action}/uitkomst",
        data={"csrf_token": token, "uitkomst": "Leefgeld per week blijft; voorstel buffer."},
        follow_redirects=False,
    )
    assert recorded.status_code == 303, review_id
    assert "Leefgeld per week blijft" in client.get(base).text
    assert 'data-kind="review"' not in client.get("/hulpverlener").text


def test_forms_without_csrf_token_are_refused(login: Login, demo: Demo) -> None:
    anna = demo.participants["anna"]
    client = login("carla")
    refused = client.post(f"/hulpverlener/deelnemer/{anna}/notitie", data={"tekst": "x"})
    assert refused.status_code == 403
    finance = login("fenna")
    assert finance.post("/financien/betaalbatches/voorstellen", data={}).status_code == 403


def test_scope_chris_sees_no_participants(login: Login, demo: Demo) -> None:
    client = login("chris")
    html = client.get("/hulpverlener").text
    assert "Anna de Vries" not in html and "Bram Jansen" not in html
    assert client.get(f"/hulpverlener/deelnemer/{demo.participants['anna']}").status_code == 404


@pytest.mark.parametrize("username", ["fenna", "anna", "priya"])
def test_others_cannot_use_caseworker_pages(login: Login, demo: Demo, username: str) -> None:
    client = login(username)
    assert client.get("/hulpverlener").status_code == 403
    anna_page = client.get(f"/hulpverlener/deelnemer/{demo.participants['anna']}")
    assert anna_page.status_code in (403, 404)


@pytest.mark.parametrize("username", ["carla", "anna", "priya"])
def test_others_cannot_use_finance_pages(login: Login, username: str) -> None:
    client = login(username)
    for path in (
        "/financien/afschriften",
        "/financien/te-verdelen",
        "/financien/betaalbatches",
        "/financien/aansluiting",
    ):
        assert client.get(path).status_code == 403, path


def test_finance_lands_on_statements(login: Login) -> None:
    client = login("fenna")
    landing = client.get("/start", follow_redirects=False)
    assert landing.headers["location"] == "/financien/afschriften"


# ---------------------------------------------------------------------- finance


def test_statement_upload_suspense_assignment_and_reconciliation(
    login: Login, demo: Demo, session_factory: sessionmaker[Session]
) -> None:
    with transaction(session_factory) as session:
        opening = ledger_bank_balance(session)
    data = statement_with_unknown_credit(day=SEED_TODAY, opening_cents=opening)
    client = login("fenna")
    token = _token(client, "/financien/afschriften")
    uploaded = client.post(
        "/financien/afschriften",
        data={"csrf_token": token},
        files={"bestand": ("afschrift.xml", data, "application/xml")},
    )
    assert uploaded.status_code == 200, uploaded.text[-2000:]
    assert 'data-testid="import-result"' in uploaded.text
    assert hashlib.sha256(data).hexdigest() in uploaded.text
    again = client.post(
        "/financien/afschriften",
        data={"csrf_token": token},
        files={"bestand": ("afschrift.xml", data, "application/xml")},
    )
    assert "al ingelezen" in again.text
    refused = client.post(
        "/financien/afschriften",
        data={"csrf_token": token},
        files={"bestand": ("kapot.xml", b"<Document>", "application/xml")},
    )
    assert refused.status_code == 422

    queue = client.get("/financien/te-verdelen").text
    assert "Gift voor Anna de Vries" in queue
    entry_id = queue.split('href="/financien/te-verdelen/')[1].split('"')[0]
    anna = demo.participants["anna"]
    form = {"csrf_token": token, "keuze": "manual", "deelnemer": str(anna), "reden": ""}
    missing_reason = client.post(f"/financien/te-verdelen/{entry_id}", data=form)
    assert missing_reason.status_code == 422
    form["reden"] = "Gift van familie, telefonisch bevestigd."
    confirm = client.post(f"/financien/te-verdelen/{entry_id}", data=form)
    assert 'data-testid="assign-confirm"' in confirm.text
    assert "€ 50,00 wordt geboekt voor Anna de Vries" in confirm.text
    booked = client.post(
        f"/financien/te-verdelen/{entry_id}",
        data={**form, "bevestigd": "ja"},
        follow_redirects=False,
    )
    assert booked.status_code == 303
    assert "Gift voor Anna de Vries" not in client.get("/financien/te-verdelen").text

    report = client.get("/financien/aansluiting").text
    assert 'data-testid="reconciliation-ok"' in report
    assert 'data-testid="difference">€ 0,00<' in report


def test_batch_four_eyes_export_and_download(
    login: Login, session_factory: sessionmaker[Session]
) -> None:
    fenna = login("fenna")
    token = _token(fenna, "/financien/betaalbatches")
    fenna.post("/financien/betaalbatches/voorstellen", data={"csrf_token": token})
    with transaction(session_factory) as session:
        batch = session.scalars(
            select(PaymentBatch).where(PaymentBatch.status == "proposed")
        ).first()
        assert batch is not None
        batch_id = batch.id
    base = f"/financien/betaalbatches/{batch_id}"
    prepared = fenna.post(f"{base}/klaarzetten", data={"csrf_token": token}, follow_redirects=False)
    assert prepared.status_code == 303
    page = fenna.get(base).text
    assert 'data-testid="four-eyes"' in page
    assert fenna.post(f"{base}/goedkeuren", data={"csrf_token": token}).status_code == 403

    frank = login("frank")
    frank_token = _token(frank, base)
    approved = frank.post(
        f"{base}/goedkeuren", data={"csrf_token": frank_token}, follow_redirects=False
    )
    assert approved.status_code == 303
    exported = frank.post(
        f"{base}/exporteren", data={"csrf_token": frank_token}, follow_redirects=False
    )
    assert exported.status_code == 303
    page = frank.get(base).text
    download = frank.get(f"{base}/pain001.xml")
    assert download.status_code == 200
    content = download.content
    assert hashlib.sha256(content).hexdigest() in page
    assert hashlib.sha1(content).hexdigest() in page
    check_file(content, file_format=_format(session_factory, batch_id))
    with transaction(session_factory) as session:
        stored = session.get(PaymentBatch, batch_id)
        assert stored is not None
        control = money(stored.control_sum_cents, "nl")
    assert control in page


def _format(session_factory: sessionmaker[Session], batch_id: int) -> str:
    with transaction(session_factory) as session:
        batch = session.get(PaymentBatch, batch_id)
        assert batch is not None and batch.format
        return batch.format


def test_batches_filter_is_remembered_and_lists_paginate(login: Login) -> None:
    client = login("fenna")
    client.get("/financien/betaalbatches?status=approved")
    html = client.get("/financien/betaalbatches").text
    assert '<option value="approved" selected>' in html
    cleared = client.get("/financien/betaalbatches?status=").text
    assert '<option value="" selected>' in cleared


def test_today_is_pinned(pages: TestClient) -> None:
    assert pages.app.state.client_today == SEED_TODAY  # type: ignore[attr-defined]
    assert isinstance(SEED_TODAY, dt.date)
