"""The participant sees the caseworker's notes (never the internal ones) and the
kantelgesprekken in the app (Berichten)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from backend.access.roles import Role
from backend.access.users import create_user
from backend.auth.passwords import hash_password
from backend.config import Settings
from backend.db import transaction
from backend.models import Participant
from backend.participants.service import create_participant
from tests.staff.conftest import Demo, csrf_from

Login = Callable[..., TestClient]


def _post(client: TestClient, path: str, page: str, **fields: str) -> None:
    token = csrf_from(client.get(page).text)
    response = client.post(path, data={"csrf_token": token, **fields}, follow_redirects=False)
    assert response.status_code == 303, response.text


def test_anna_sees_notes_and_reviews_but_never_an_internal_note(login: Login, demo: Demo) -> None:
    anna, bram = demo.participants["anna"], demo.participants["bram"]
    carla = login("carla")
    base = f"/hulpverlener/deelnemer/{anna}"
    _post(carla, f"{base}/notitie", base, tekst="We bellen maandag over de huur.")
    _post(
        carla,
        f"{base}/notitie",
        base,
        tekst="Geheime melding Veilig Thuis.",
        intern="ja",
        reden="Veiligheid van de deelnemer.",
    )
    _post(
        carla, f"{base}/kantelgesprek", base, datum="2026-12-10", onderwerpen="Buffer en vakantie"
    )
    _post(carla, f"{base}/kantelgesprek", base, datum="2026-11-20", onderwerpen="Huurverhoging")
    review_id = carla.get(base).text.split("/kantelgesprek/", 1)[1].split("/", 1)[0]
    _post(
        carla,
        f"{base}/kantelgesprek/{review_id}/uitkomst",
        base,
        uitkomst="Leefgeld blijft gelijk; buffer sneller opbouwen.",
    )

    page = login("anna").get(f"/deelnemer/{anna}/berichten")
    assert page.status_code == 200
    html = page.text
    assert "We bellen maandag over de huur." in html
    assert "Geschreven door Carla Bakker (budgetcoach)" in html
    assert "Buffer en vakantie" in html and "10 december 2026" in html
    assert "Huurverhoging" in html
    assert "Leefgeld blijft gelijk; buffer sneller opbouwen." in html
    assert "Dit gesprek is nog niet geweest." in html  # the one without an outcome
    # Internal: neither the note nor its reason, anywhere in the app.
    for path in ("berichten", "overzicht", "afspraken", "gegevens"):
        text = login("anna").get(f"/deelnemer/{anna}/{path}").text
        assert "Geheime melding" not in text, path
        assert "Veiligheid van de deelnemer" not in text, path
    # The caseworker looking at the participant's app view sees what anna sees.
    as_participant = login("carla").get(f"/deelnemer/{anna}/berichten").text
    assert "We bellen maandag over de huur." in as_participant
    assert "Geheime melding" not in as_participant
    # bram sees nothing of anna's.
    bram_page = login("bram").get(f"/deelnemer/{bram}/berichten").text
    assert "We bellen maandag" not in bram_page
    assert "Huurverhoging" not in bram_page
    assert "Er zijn nog geen notities." in bram_page


def test_the_data_export_keeps_internal_notes_out_too(login: Login, demo: Demo) -> None:
    """The participant's own data download must not leak an internal note either."""
    anna = demo.participants["anna"]
    carla = login("carla")
    base = f"/hulpverlener/deelnemer/{anna}"
    _post(
        carla,
        f"{base}/notitie",
        base,
        tekst="Interne afweging schuldhulp.",
        intern="ja",
        reden="Overleg.",
    )
    export = login("anna").get(f"/deelnemer/{anna}/gegevens/download")
    assert export.status_code == 200
    assert "Interne afweging schuldhulp." not in export.text


def test_a_household_member_does_not_see_annas_notes_or_reviews(
    login: Login, demo: Demo, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    """Daan lives with anna and may read her pages, but the notes and kantelgesprekken
    are between anna and her caseworker."""
    anna = demo.participants["anna"]
    with transaction(session_factory) as session:
        row = session.get(Participant, anna)
        assert row is not None
        partner = create_participant(
            session,
            settings.field_cipher(),
            household_id=row.household_id,
            display_name="Daan de Vries",
            bsn="999999990",
            own_iban=None,
            started_on=dt.date(2026, 9, 1),
        )
        create_user(
            session,
            username="daan",
            display_name="Daan de Vries",
            roles=[Role.PARTICIPANT],
            password_hash=hash_password("demo"),
            participant_id=partner.id,
        )
    carla = login("carla")
    base = f"/hulpverlener/deelnemer/{anna}"
    _post(carla, f"{base}/notitie", base, tekst="We bellen maandag over de huur.")
    _post(
        carla, f"{base}/kantelgesprek", base, datum="2026-12-10", onderwerpen="Buffer en vakantie"
    )
    anna_client = login("anna")
    emergency = f"/deelnemer/{anna}/noodknop"
    _post(anna_client, emergency, emergency, kind="other", note="Ruzie thuis, ik durf niet.")
    # (login() gives one client: carla's posts come before anyone else logs in)
    unread_before = _unread_badge(login("daan").get(f"/deelnemer/{anna}/overzicht").text)
    carla = login("carla")
    _post(carla, f"{base}/bericht", base, text="Hoe gaat het met de schuld bij de tandarts?")
    daan = login("daan")
    page = daan.get(f"/deelnemer/{anna}/berichten")
    assert page.status_code == 200  # daan may read anna's messages page...
    assert "We bellen maandag" not in page.text  # ...but not her caseworker's notes
    assert "Buffer en vakantie" not in page.text
    assert "schuld bij de tandarts" not in page.text  # ...nor what carla wrote to her
    # and the unread count he sees does not give the personal message away
    assert _unread_badge(daan.get(f"/deelnemer/{anna}/overzicht").text) == unread_before
    # nor does he see that she asked for help, or what she wrote
    for path in ("noodknop", "overzicht"):
        text = daan.get(f"/deelnemer/{anna}/{path}").text
        assert "Ruzie thuis" not in text, path
        assert "Je noodmelding is ontvangen" not in text, path
    assert (
        "alleen voor Anna de Vries en de budgetcoach"
        in daan.get(f"/deelnemer/{anna}/noodknop").text
    )
    # (anna reads last: reading marks her messages read)
    anna_page = login("anna").get(f"/deelnemer/{anna}/berichten").text
    assert "We bellen maandag over de huur." in anna_page
    assert "schuld bij de tandarts" in anna_page
    assert "Ruzie thuis" in login("anna").get(emergency).text
    assert "Je noodmelding is ontvangen" in login("anna").get(f"/deelnemer/{anna}/overzicht").text


def _unread_badge(html: str) -> str:
    """The navigation's Berichten link with its unread count, as shown."""
    start = html.index("/berichten")
    return html[start : html.index("</a>", start)]
