"""The caseworker grants extra living money from the emergency item in her queue."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.models import EmergencyRequest, Proposal
from tests.client_app.conftest import Demo, csrf_from

Login = Callable[[str], TestClient]
REASON = "Koelkast kapot, geen geld voor eten deze week."


def _press(login: Login, anna: int) -> None:
    client = login("anna")
    base = f"/deelnemer/{anna}/noodknop"
    token = csrf_from(client.get(base).text)
    response = client.post(
        base, data={"csrf_token": token, "kind": "no_money_for_food", "note": "Help."}
    )
    assert response.status_code == 200


def test_carla_gives_extra_living_money_and_the_emergency_is_handled(
    login: Login, demo: Demo, session_factory: sessionmaker[Session]
) -> None:
    anna = demo.participants["anna"]
    _press(login, anna)
    with session_factory() as session:
        request = session.scalars(select(EmergencyRequest)).one()
    carla = login("carla")
    queue = carla.get("/hulpverlener").text
    assert 'data-testid="emergency-payout"' in queue and "hoogstens € 250,00" in queue
    url = f"/hulpverlener/deelnemer/{anna}/noodmelding/{request.id}/noodbetaling"

    def post(amount: str, reason: str) -> object:
        token = csrf_from(carla.get("/hulpverlener").text)
        return carla.post(
            url,
            data={"csrf_token": token, "bedrag": amount, "reden": reason},
            follow_redirects=False,
        )

    # Over the cap, or without a real reason: refused, in plain words, nothing stored.
    over = post("250,01", REASON)
    assert over.status_code == 422 and "hoogstens € 250,00" in over.text  # type: ignore[attr-defined]
    short = post("75,00", "Nood.")
    assert short.status_code == 422 and "minstens 20 tekens" in short.text  # type: ignore[attr-defined]
    with session_factory() as session:
        assert session.scalars(select(Proposal)).all() == []

    granted = post("75,00", REASON)
    assert granted.status_code == 303  # type: ignore[attr-defined]
    assert granted.headers["location"] == "/hulpverlener?gedaan=payout_granted"  # type: ignore[attr-defined]
    page = carla.get("/hulpverlener?gedaan=payout_granted").text
    assert "Extra leefgeld toegekend" in page
    assert 'data-kind="emergency"' not in page  # the emergency item is handled
    with session_factory() as session:
        proposal = session.scalars(select(Proposal)).one()
        assert (proposal.kind, proposal.status, proposal.emergency) == (
            "extra_payout",
            "emergency_applied",
            True,
        )
        assert proposal.payload["amount_cents"] == 7_500 and proposal.reason == REASON
        assert proposal.applied_at is not None
        assert session.get_one(EmergencyRequest, request.id).acknowledged_at is not None


def test_a_payout_the_fixed_costs_need_is_refused_in_plain_dutch(
    login: Login, demo: Demo, session_factory: sessionmaker[Session]
) -> None:
    from backend.db import transaction
    from tests.one_off.test_one_off_payout import _drain

    anna = demo.participants["anna"]
    _press(login, anna)
    with transaction(session_factory) as session:
        _drain(session, anna, leave_buffer_cents=4_000)
        request = session.scalars(select(EmergencyRequest)).one()
    carla = login("carla")
    token = csrf_from(carla.get("/hulpverlener").text)
    refused = carla.post(
        f"/hulpverlener/deelnemer/{anna}/noodmelding/{request.id}/noodbetaling",
        data={"csrf_token": token, "bedrag": "100", "reden": REASON},
        follow_redirects=False,
    )
    assert refused.status_code == 422
    assert (
        "dan is er € 60,00 te weinig voor de vaste lasten tot het volgende inkomen. "
        "Nu kan hoogstens € 40,00."
    ) in refused.text
    with session_factory() as session:
        assert session.scalars(select(Proposal)).all() == []
        assert session.get_one(EmergencyRequest, request.id).acknowledged_at is None
