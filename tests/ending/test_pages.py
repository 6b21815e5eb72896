"""Stoppen met Huishoudboekje through the real app: carla proposes the end on the
Deelnemer page's "Deelname beëindigen", anna approves it in the app, the settlement is
booked, both download the handover letter and the final statement, and afterwards
anna can look at everything but change nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from backend.db import transaction
from backend.models import AccessLogRecord, JournalEntryRecord, ParticipationEnd, Proposal
from client_app.services.handover_pdf import final_statement_pdf, handover_letter_pdf
from ledger import AccountKind
from tests.access.conftest import SEED_TODAY, Demo
from tests.client_app.conftest import csrf_from
from tests.ending.pdf_text import pdf_text
from tests.ending.support import participant_holdings

Login = Callable[..., TestClient]


def _end_proposals(session_factory: sessionmaker[Session], participant_id: int) -> list[Proposal]:
    with transaction(session_factory) as session:
        return list(
            session.scalars(
                select(Proposal).where(
                    Proposal.participant_id == participant_id,
                    Proposal.kind == "end_participation",
                )
            )
        )


def test_end_proposed_approved_settled_and_documents(
    login: Login, demo: Demo, session_factory: sessionmaker[Session]
) -> None:
    anna = demo.participants["anna"]
    carla = login("carla")
    deelnemer = carla.get(f"/hulpverlener/deelnemer/{anna}").text
    assert f'href="/hulpverlener/deelnemer/{anna}/beeindigen"' in deelnemer
    page_url = f"/hulpverlener/deelnemer/{anna}/beeindigen"
    page = carla.get(page_url)
    assert page.status_code == 200
    assert "Deelname beëindigen: Anna de Vries" in page.text

    # Wrong input: refused with a clear message, nothing stored.
    refused = carla.post(
        page_url,
        data={"csrf_token": csrf_from(page.text), "end_date": "", "reason": ""},
        follow_redirects=False,
    )
    assert refused.status_code == 422
    assert "Vul een datum in" in refused.text and "Schrijf kort waarom." in refused.text
    past = carla.post(
        page_url,
        data={
            "csrf_token": csrf_from(page.text),
            "end_date": (SEED_TODAY - dt.timedelta(days=1)).isoformat(),
            "reason": "Te laat",
        },
        follow_redirects=False,
    )
    assert past.status_code == 422 and "in het verleden" in past.text
    assert _end_proposals(session_factory, anna) == []

    sent = carla.post(
        page_url,
        data={
            "csrf_token": csrf_from(page.text),
            "end_date": SEED_TODAY.isoformat(),
            "reason": "Anna is klaar om het zelf te doen.",
        },
        follow_redirects=False,
    )
    assert sent.status_code == 303
    assert "Voorstel: stoppen met Huishoudboekje" in carla.get(page_url).text

    client = login("anna")
    own = client.get(f"/deelnemer/{anna}/einde")
    assert own.status_code == 200
    assert "Anna is klaar om het zelf te doen." in own.text
    [proposal] = _end_proposals(session_factory, anna)
    approved = client.post(
        f"/deelnemer/{anna}/voorstellen/{proposal.id}/goedkeuren",
        data={"csrf_token": csrf_from(own.text)},
        follow_redirects=False,
    )
    assert approved.status_code == 303

    with transaction(session_factory) as session:
        end = session.scalar(
            select(ParticipationEnd).where(ParticipationEnd.participant_id == anna)
        )
        assert end is not None and end.status == "settled"
        assert set(participant_holdings(session, anna)) <= {AccountKind.PAYABLE}
        handover = dict(end.handover)
        entries = session.scalar(select(func.count(JournalEntryRecord.id)))

    done = client.get(f"/deelnemer/{anna}/einde").text
    assert "Je deelname is gestopt op" in done
    assert "Je kunt nog alles bekijken en downloaden." in done
    for document in ("overdrachtsbrief", "eindafrekening"):
        for viewer in ("anna", "carla"):
            response = login(viewer).get(f"/deelnemer/{anna}/einde/{document}.pdf")
            assert response.status_code == 200, (viewer, document)
            assert response.headers["content-type"] == "application/pdf"
            assert response.content.startswith(b"%PDF")

    letter = pdf_text(
        handover_letter_pdf(
            handover,
            name="Anna de Vries",
            lang="nl",
            municipality="Gemeente",
            made_on=SEED_TODAY,
            compress=False,
        )
    )
    assert "Beste Anna de Vries," in letter
    for creditor in ("Mitros", "Eneco", "Zilveren Kruis"):
        assert creditor in letter, creditor
    mitros = next(c for c in handover["fixed_costs"] if c["creditor_name"] == "Mitros")
    # Rent due 1 December is executed on Monday 30 November, after the end: hers.
    assert mitros["you_pay_from"] == "2026-12-01"
    assert "Je betaalt zelf vanaf dinsdag 1 december 2026." in letter
    assert "Werk en Inkomen" in letter and "op je eigen rekening" in letter
    assert "Je buffer, op" in letter
    statement = pdf_text(
        final_statement_pdf(
            handover,
            name="Anna de Vries",
            lang="nl",
            municipality="Gemeente",
            made_on=SEED_TODAY,
            compress=False,
        )
    )
    assert "Eindafrekening" in statement and "Alle rekeningen op € 0,00" in statement
    assert "het voorschot van de gemeente voor je buffer wordt terugbetaald" in statement

    # Afterwards: every page still opens; changing anything is refused and changes nothing.
    client = login("anna")
    assert client.get(f"/deelnemer/{anna}/overzicht").status_code == 200
    assert client.get(f"/deelnemer/{anna}/transacties").status_code == 200
    page = client.get(f"/deelnemer/{anna}/zelf-doen")
    goal = client.post(
        f"/deelnemer/{anna}/zelf-doen/spaardoel",
        data={"csrf_token": csrf_from(page.text), "name": "Fiets", "target": "100"},
        follow_redirects=False,
    )
    assert goal.status_code == 409
    assert "Je deelname is gestopt. Je kunt alles nog bekijken en downloaden" in goal.text
    ask = client.post(
        f"/deelnemer/{anna}/einde",
        data={
            "csrf_token": csrf_from(page.text),
            "end_date": SEED_TODAY.isoformat(),
            "reason": "Nog een keer",
        },
        follow_redirects=False,
    )
    assert ask.status_code == 422 and "nothing can be changed" in ask.text
    with transaction(session_factory) as session:
        assert session.scalar(select(func.count(JournalEntryRecord.id))) == entries
    assert len(_end_proposals(session_factory, anna)) == 1


def _access_rows(session_factory: sessionmaker[Session], participant_id: int, user: int) -> int:
    with transaction(session_factory) as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(AccessLogRecord)
                .where(
                    AccessLogRecord.participant_id == participant_id,
                    AccessLogRecord.actor_user_id == user,
                )
            )
            or 0
        )


def test_refused_end_request_still_logs_the_read(
    login: Login, demo: Demo, session_factory: sessionmaker[Session]
) -> None:
    """A refused request (an end proposal is already open) shows anna's data on the
    422 page: that read is in the access log, not rolled back with the refusal."""
    anna = demo.participants["anna"]
    carla = login("carla")
    page_url = f"/hulpverlener/deelnemer/{anna}/beeindigen"
    form = {
        "csrf_token": csrf_from(carla.get(page_url).text),
        "end_date": SEED_TODAY.isoformat(),
        "reason": "Anna is klaar om het zelf te doen.",
    }
    assert carla.post(page_url, data=form, follow_redirects=False).status_code == 303
    for url in (f"/deelnemer/{anna}/einde", page_url):
        before = _access_rows(session_factory, anna, demo.users["carla"])
        refused = carla.post(url, data=form, follow_redirects=False)
        assert refused.status_code == 422, url
        assert "Anna" in refused.text
        assert _access_rows(session_factory, anna, demo.users["carla"]) > before, url
    assert len(_end_proposals(session_factory, anna)) == 1
