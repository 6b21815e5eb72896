"""Waar ging mijn leefgeld heen? (issue 12, Insight) through the real app.

The participant notes what they spent (their own notes: no money moves), changes and
removes them, and sees the month next to the reference budget of their household
type. Only they see it; their caseworker only while they share it, and then only to
read; a household member or anyone else gets 404. The reference-budget file is
checked when the app starts."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from backend.access.policy import Principal
from backend.access.roles import Role
from backend.app import create_app
from backend.config import ConfigurationError, Settings
from backend.errors import Forbidden, NotFound
from backend.ledger_store.service import check_ledger
from backend.models import (
    AccessLogRecord,
    JournalEntryRecord,
    Participant,
    PostingRecord,
    SpendingNote,
)
from backend.participants.service import create_participant
from backend.zelfregie import insight
from backend.zelfregie.reference_budgets import DEFAULT_PATH
from tests.access.conftest import SEED_TODAY, Demo
from tests.client_app.conftest import csrf_from

Login = Callable[..., TestClient]
NOTE_ID = re.compile(r'name="id" value="(\d+)"')


def _form(client: TestClient, page: str, **fields: str) -> dict[str, str]:
    return {"csrf_token": csrf_from(client.get(page).text), **fields}


def _ledger_size(session: Session) -> tuple[int, int]:
    return (
        session.scalar(select(func.count()).select_from(JournalEntryRecord)) or 0,
        session.scalar(select(func.count()).select_from(PostingRecord)) or 0,
    )


def _notes(session_factory: sessionmaker[Session], participant_id: int) -> list[SpendingNote]:
    with session_factory() as session:
        return list(
            session.scalars(
                select(SpendingNote)
                .where(SpendingNote.participant_id == participant_id)
                .order_by(SpendingNote.id)
            )
        )


def test_the_month_shows_living_money_received_from_the_ledger(
    login: Login, anna_base: str, demo: Demo, session_factory: sessionmaker[Session]
) -> None:
    anna_id = demo.participants["anna"]
    html = login("anna").get(f"{anna_base}/inzicht").text
    assert "Waar ging mijn leefgeld heen?" in html
    assert "Alleen jij ziet dit." in html
    assert "november 2026" in html
    with session_factory() as session:
        received = insight.living_money_received(session, anna_id, dt.date(2026, 11, 1))
        # Independently: what left anna's `available` with a living-money payout.
        paid = session.scalars(
            select(JournalEntryRecord).where(
                JournalEntryRecord.reason_code == "living_money.pay",
                JournalEntryRecord.booking_date >= dt.date(2026, 11, 1),
                JournalEntryRecord.booking_date < dt.date(2026, 12, 1),
            )
        ).all()
    assert received > 0, "the demo pays anna living money in November"
    assert len(paid) >= 1
    euros = f"€ {received // 100:,}".replace(",", ".") + f",{received % 100:02d}"
    received_cell = re.search(r'data-testid="received">([^<]+)<', html)
    assert received_cell and received_cell.group(1) == euros
    not_recorded = re.search(r'data-testid="not-recorded">([^<]+)<', html)
    assert not_recorded and not_recorded.group(1) == euros  # nothing noted yet
    # No household chosen yet: no reference figures, and the page says how to get them.
    assert "Kies onderaan deze pagina wat voor huishouden je hebt." in html


def test_noting_changing_and_removing_spending_moves_no_money(
    login: Login, anna_base: str, demo: Demo, session_factory: sessionmaker[Session]
) -> None:
    anna_id = demo.participants["anna"]
    client = login("anna")
    page = f"{anna_base}/inzicht"
    with session_factory() as session:
        ledger_before = _ledger_size(session)

    # The household type: the reference for a single adult appears.
    done = client.post(f"{page}/huishouden", data=_form(client, page, household_type="single"))
    assert done.status_code == 200 and "Je keuze is bewaard." in done.text
    assert "huishouden zoals het jouwe (ik woon alleen)" in done.text
    row = re.search(r'data-category="boodschappen">(.*?)</tr>', done.text, re.S)
    assert row and "€ 300,00" in row.group(1)  # the example figure for groceries

    added = client.post(
        f"{page}/uitgave",
        data=_form(
            client, page, day="2026-11-20", amount="45,50", category="boodschappen", note="Markt"
        ),
    )
    assert added.status_code == 200, added.text
    assert "Je uitgave staat erin." in added.text
    client.post(
        f"{page}/uitgave",
        data=_form(client, page, day="2026-11-21", amount="12", category="vervoer"),
    )
    html = client.get(page).text
    row = re.search(r'data-category="boodschappen">(.*?)</tr>', html, re.S)
    assert row and "€ 45,50" in row.group(1) and "€ 300,00" in row.group(1)
    recorded = re.search(r'data-testid="recorded">([^<]+)<', html)
    assert recorded and recorded.group(1) == "€ 57,50"
    notes = _notes(session_factory, anna_id)
    assert [(n.amount_cents, n.category, n.note) for n in notes] == [
        (4_550, "boodschappen", "Markt"),
        (1_200, "vervoer", None),
    ]

    # Change the first: the form comes back filled in, the save replaces it.
    edit = client.get(f"{page}?maand=2026-11&bewerk={notes[0].id}").text
    assert "Verander deze uitgave" in edit and 'value="45,50"' in edit
    changed = client.post(
        f"{page}/uitgave",
        data=_form(
            client,
            page,
            id=str(notes[0].id),
            day="2026-11-19",
            amount="40",
            category="kleding",
            note="Sokken",
        ),
    )
    assert changed.status_code == 200, changed.text
    notes = _notes(session_factory, anna_id)
    first = notes[0]
    assert (first.amount_cents, first.category, first.note, first.spent_on) == (
        4_000,
        "kleding",
        "Sokken",
        dt.date(2026, 11, 19),
    )
    assert len(notes) == 2

    # Remove the second.
    removed = client.post(
        f"{page}/uitgave/verwijderen",
        data=_form(client, page, id=str(notes[1].id), maand="2026-11"),
    )
    assert removed.status_code == 200 and "De uitgave is weggehaald." in removed.text
    assert [n.id for n in _notes(session_factory, anna_id)] == [notes[0].id]

    # These are notes, never ledger entries: the ledger is exactly as it was.
    with session_factory() as session:
        assert _ledger_size(session) == ledger_before
        assert check_ledger(session) == []


def test_wrong_input_is_explained_and_nothing_is_saved(
    login: Login, anna_base: str, demo: Demo, session_factory: sessionmaker[Session]
) -> None:
    client = login("anna")
    page = f"{anna_base}/inzicht"
    cases = [
        ({"day": "2026-11-20", "amount": "nul", "category": "vervoer"}, "Vul een bedrag"),
        ({"day": "2026-12-05", "amount": "5", "category": "vervoer"}, "Kies vandaag of een dag"),
        ({"day": "2026-11-20", "amount": "5", "category": ""}, "Kies waaraan je het uitgaf."),
        ({"day": "2026-11-20", "amount": "5", "category": "casino"}, "Kies waaraan je het uitgaf."),
        ({"day": "2026-11-20", "amount": "-5", "category": "vervoer"}, "Vul een bedrag"),
    ]
    for fields, message in cases:
        response = client.post(f"{page}/uitgave", data=_form(client, page, **fields))
        assert response.status_code == 422, fields
        assert message in response.text, (fields, response.text[:3000])
    assert _notes(session_factory, demo.participants["anna"]) == []
    bad_type = client.post(f"{page}/huishouden", data=_form(client, page, household_type="kasteel"))
    assert bad_type.status_code == 422
    assert "Kies een huishouden uit de lijst." in bad_type.text


def test_own_categories_are_used_and_cannot_be_removed_while_in_use(
    login: Login, anna_base: str, demo: Demo, session_factory: sessionmaker[Session]
) -> None:
    client = login("anna")
    page = f"{anna_base}/inzicht"
    added = client.post(f"{page}/categorie", data=_form(client, page, name="  Hond  "))
    assert added.status_code == 200 and "Je eigen soort staat erin." in added.text
    own = re.search(r'<option value="(own:\d+)">Hond</option>', added.text)
    assert own
    twice = client.post(f"{page}/categorie", data=_form(client, page, name="hond"))
    assert twice.status_code == 422 and "Die naam heb je al" in twice.text

    client.post(
        f"{page}/uitgave",
        data=_form(client, page, day="2026-11-02", amount="20", category=own.group(1)),
    )
    html = client.get(page).text
    row = re.search(rf'data-category="{own.group(1)}">(.*?)</tr>', html, re.S)
    assert row and "Hond" in row.group(1) and "€ 20,00" in row.group(1)
    assert "geen bedrag om mee te vergelijken" in row.group(1)

    category_id = own.group(1).removeprefix("own:")
    in_use = client.post(f"{page}/categorie/verwijderen", data=_form(client, page, id=category_id))
    assert in_use.status_code == 422 and "Je hebt deze soort nog gebruikt." in in_use.text
    note = _notes(session_factory, demo.participants["anna"])[0]
    client.post(f"{page}/uitgave/verwijderen", data=_form(client, page, id=str(note.id)))
    gone = client.post(f"{page}/categorie/verwijderen", data=_form(client, page, id=category_id))
    assert gone.status_code == 200 and "Je eigen soort is weggehaald." in gone.text


def test_the_caseworker_sees_nothing_until_shared_and_never_changes(
    login: Login, anna_base: str, demo: Demo, session_factory: sessionmaker[Session]
) -> None:
    anna_id = demo.participants["anna"]
    page = f"{anna_base}/inzicht"
    anna = login("anna")
    anna.post(
        f"{page}/uitgave",
        data=_form(anna, page, day="2026-11-20", amount="7", category="vrije_tijd", note="Bios"),
    )
    assert "Je deelt dit nu niet." in anna.get(page).text

    carla = login("carla")
    assert carla.get(page).status_code == 403
    assert "Bios" not in carla.get(page).text
    assert "Waar ging mijn leefgeld heen?" not in carla.get(f"{anna_base}/zelf-doen").text

    anna = login("anna")
    shared = anna.post(f"{page}/delen", data=_form(anna, page, share="1"))
    assert "Je budgetcoach kan dit nu bekijken." in shared.text

    carla = login("carla")
    seen = carla.get(page)
    assert seen.status_code == 200 and "Bios" in seen.text
    assert "Schrijf een uitgave op" not in seen.text  # no forms for her
    note = _notes(session_factory, anna_id)[0]
    form = _form(
        carla,
        f"{anna_base}/overzicht",
        id=str(note.id),
        day="2026-11-20",
        amount="1",
        category="vervoer",
    )
    assert carla.post(f"{page}/uitgave", data=form).status_code == 403
    assert carla.post(f"{page}/uitgave/verwijderen", data=form).status_code == 403
    assert carla.post(f"{page}/delen", data={**form, "share": "0"}).status_code == 403
    assert [(n.amount_cents, n.category) for n in _notes(session_factory, anna_id)] == [
        (700, "vrije_tijd")
    ]

    # Another caseworker, another participant: 404, as if there were nothing.
    assert login("chris").get(page).status_code == 404
    bram = login("bram")
    assert bram.get(page).status_code == 404
    bram_form = _form(bram, f"/deelnemer/{demo.participants['bram']}/inzicht", id=str(note.id))
    assert bram.post(f"{page}/uitgave/verwijderen", data=bram_form).status_code == 404
    # bram cannot reach anna's note through his own pages either.
    own = f"/deelnemer/{demo.participants['bram']}/inzicht/uitgave/verwijderen"
    assert bram.post(own, data=bram_form).status_code == 404
    assert len(_notes(session_factory, anna_id)) == 1

    anna = login("anna")
    stopped = anna.post(f"{page}/delen", data=_form(anna, page, share="0"))
    assert "Je budgetcoach kan dit niet meer bekijken." in stopped.text
    assert login("carla").get(page).status_code == 403


def test_a_household_member_never_sees_the_notes(
    demo: Demo, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    anna_id = demo.participants["anna"]
    with session_factory() as session:
        anna = session.get(Participant, anna_id)
        assert anna is not None
        partner = create_participant(
            session,
            settings.field_cipher(),
            household_id=anna.household_id,
            display_name="Partner van Anna",
            bsn="100000010",
            own_iban=None,
            started_on=SEED_TODAY,
        )
        session.commit()
        partner_principal = Principal(
            user_id=demo.users["bram"],
            username="partner",
            display_name="Partner",
            roles=frozenset({Role.PARTICIPANT}),
            participant_id=partner.id,
        )
        logged_before = session.scalar(select(func.count()).select_from(AccessLogRecord))
        with pytest.raises(NotFound):
            insight.ensure_insight_access(session, partner_principal, anna_id)
        with pytest.raises(NotFound):
            insight.set_sharing(session, partner_principal, anna_id, True)
        # Refused before anything is read: no access to anna is logged for the partner.
        assert session.scalar(select(func.count()).select_from(AccessLogRecord)) == logged_before
        carla = Principal(
            user_id=demo.users["carla"],
            username="carla",
            display_name="Carla",
            roles=frozenset({Role.CASEWORKER}),
        )
        with pytest.raises(Forbidden):
            insight.ensure_insight_access(session, carla, anna_id)


def test_a_municipality_file_replaces_the_example_and_a_bad_one_stops_the_start(
    tmp_path: Path, database_url: str
) -> None:
    data = json.loads(DEFAULT_PATH.read_text(encoding="utf-8"))
    data.update(source="Nibud, gelicenseerd door de gemeente", example_figures=False, year=2027)
    data["budgets"]["single"]["boodschappen"] = 31_234
    good = tmp_path / "budgets.json"
    good.write_text(json.dumps(data), encoding="utf-8")
    settings = Settings(database_url=database_url, demo=True, reference_budgets_path=str(good))
    assert (
        settings.reference_budgets().for_household(insight.HouseholdType.SINGLE)["boodschappen"]
        == 31_234
    )

    data["budgets"]["single"]["boodschappen"] = -1
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"REFERENCE_BUDGETS_PATH.*single\.boodschappen"):
        create_app(Settings(database_url=database_url, demo=True, reference_budgets_path=str(bad)))
    with pytest.raises(ConfigurationError, match="cannot read"):
        create_app(
            Settings(
                database_url=database_url,
                demo=True,
                reference_budgets_path=str(tmp_path / "missing.json"),
            )
        )


def test_the_migration_builds_the_tables_the_models_describe(engine: Engine) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from backend.models import Base

    ours = {"insight_setting", "spending_category", "spending_note"}
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "render_as_batch": True}
        )
        diffs = compare_metadata(context, Base.metadata)
    mentioned = [diff for diff in diffs if any(name in repr(diff) for name in ours)]
    assert mentioned == []


def test_the_notes_are_in_annas_own_data_download(
    login: Login, anna_base: str, session_factory: sessionmaker[Session]
) -> None:
    client = login("anna")
    page = f"{anna_base}/inzicht"
    client.post(f"{page}/categorie", data=_form(client, page, name="Hond"))
    client.post(
        f"{page}/uitgave",
        data=_form(client, page, day="2026-11-20", amount="9", category="vervoer", note="Tram"),
    )
    client.post(f"{page}/delen", data=_form(client, page, share="1"))
    download = client.get(f"{anna_base}/gegevens/download")
    assert download.status_code == 200
    text = download.text
    for expected in ("Inzicht in uitgaven: wat u opschreef", "Tram", "Hond"):
        assert expected in text, expected
