"""After the end, through the real app: the life-event and emergency forms are hidden
and a post is refused with the `participation_ended` sentence (nothing stored);
finance assigning suspense to an ended participant is warned, and still allowed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from backend.db import transaction
from backend.models import BankEntryRecord, EmergencyRequest, LifeEvent
from ledger import AccountKind
from tests.access.conftest import SEED_TODAY, Demo
from tests.client_app.conftest import csrf_from
from tests.ending.support import participant_holdings
from tests.ending.test_followup import ended_and_paid, late_credit_in_suspense

Login = Callable[..., TestClient]
ENDED_NL = "Je deelname is gestopt."


def _count(session_factory: sessionmaker[Session], model: type) -> int:
    with transaction(session_factory) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_life_event_and_emergency_after_the_end(
    login: Login, demo: Demo, session_factory: sessionmaker[Session]
) -> None:
    anna = demo.participants["anna"]
    base = f"/deelnemer/{anna}"
    client = login("anna")
    before = client.get(f"{base}/noodknop").text
    assert 'data-testid="emergency-button"' in before and ENDED_NL not in before
    ended_and_paid(session_factory, anna)
    events, emergencies = (
        _count(session_factory, LifeEvent),
        _count(session_factory, EmergencyRequest),
    )

    page = client.get(f"{base}/noodknop")
    assert page.status_code == 200
    assert 'data-testid="emergency-button"' not in page.text
    assert 'data-testid="participation-ended"' in page.text and ENDED_NL in page.text
    refused = client.post(
        f"{base}/noodknop",
        data={"csrf_token": csrf_from(page.text), "kind": "other", "note": "help"},
        follow_redirects=False,
    )
    assert refused.status_code == 409 and ENDED_NL in refused.text

    told = client.get(f"{base}/iets-veranderd")
    assert 'action="' + f"{base}/iets-veranderd" + '"' not in told.text
    assert ENDED_NL in told.text
    refused = client.post(
        f"{base}/iets-veranderd",
        data={"csrf_token": csrf_from(told.text), "kind": "new_job", "note": "x"},
        follow_redirects=False,
    )
    assert refused.status_code == 409 and ENDED_NL in refused.text
    assert _count(session_factory, LifeEvent) == events
    assert _count(session_factory, EmergencyRequest) == emergencies


def test_finance_is_warned_when_assigning_suspense_to_an_ended_participant(
    login: Login, demo: Demo, session_factory: sessionmaker[Session]
) -> None:
    anna = demo.participants["anna"]
    ended_and_paid(session_factory, anna)
    with transaction(session_factory, write=True) as session:
        entry_id = late_credit_in_suspense(session, SEED_TODAY + dt.timedelta(days=1), 1_500)
    fenna = login("fenna")
    url = f"/financien/te-verdelen/{entry_id}"
    form = fenna.get(url)
    assert form.status_code == 200
    values = {"keuze": "manual", "deelnemer": str(anna), "reden": "Teruggave voor Anna"}
    check = fenna.post(url, data={"csrf_token": csrf_from(form.text), **values})
    assert check.status_code == 200
    assert 'data-testid="assign-ended-warning"' in check.text
    assert "is gestopt op" in check.text
    booked = fenna.post(
        url,
        data={"csrf_token": csrf_from(check.text), **values, "bevestigd": "ja"},
        follow_redirects=False,
    )
    assert booked.status_code == 303, booked.text
    with transaction(session_factory) as session:
        entry = session.get(BankEntryRecord, entry_id)
        assert entry is not None and (entry.status, entry.participant_id) == ("assigned", anna)
        assert participant_holdings(session, anna) == {AccountKind.AVAILABLE: 1_500}


def test_the_api_refuses_life_events_and_emergencies_after_the_end(
    client: TestClient,
    as_user: Callable[[str], dict[str, str]],
    demo: Demo,
    session_factory: sessionmaker[Session],
) -> None:
    anna = demo.participants["anna"]
    ended_and_paid(session_factory, anna)
    events, emergencies = (
        _count(session_factory, LifeEvent),
        _count(session_factory, EmergencyRequest),
    )
    for path, body in (("life-events", {"kind": "moving"}), ("emergency", {"kind": "other"})):
        refused = client.post(
            f"/api/participants/{anna}/{path}", json=body, headers=as_user("anna")
        )
        assert refused.status_code == 409, refused.text
        assert refused.json()["code"] == "participation_ended"
    assert _count(session_factory, LifeEvent) == events
    assert _count(session_factory, EmergencyRequest) == emergencies


def test_the_caseworker_records_the_new_account_on_the_deelnemer_page(
    login: Login, demo: Demo, session_factory: sessionmaker[Session]
) -> None:
    from backend.ending.followup import pay_after_end
    from backend.models import Participant, PaymentInstruction
    from backend.payments.settlement import return_payment
    from tests.ending.test_followup import NEW_IBAN, _municipal_iban

    anna = demo.participants["anna"]
    ended_and_paid(session_factory, anna)
    day = SEED_TODAY + dt.timedelta(days=4)
    with transaction(session_factory, write=True) as session:
        payout = session.scalars(
            select(PaymentInstruction).where(
                PaymentInstruction.idempotency_key.like(f"exit:{anna}:payout:%"),
                PaymentInstruction.status == "settled",
            )
        ).first()
        assert payout is not None
        return_payment(
            session,
            end_to_end_id=payout.end_to_end_id,
            amount_cents=payout.amount_cents,
            reason_code="AC01",
            bank_iban=_municipal_iban(session),
            booking_date=day,
            bank_reference="RETURN-PAGE-1",
        )
        assert pay_after_end(session, today=day)[0].end_to_end_id is None  # not paid
    carla = login("carla")
    url = f"/hulpverlener/deelnemer/{anna}"
    page = carla.get(url)
    assert 'data-testid="followup-blocked"' in page.text and "AC01" in page.text
    wrong = carla.post(
        f"{url}/nabetaling-rekening",
        data={"csrf_token": csrf_from(page.text), "own_iban": "NL00 GEEN IBAN"},
        follow_redirects=False,
    )
    assert wrong.status_code == 422
    saved = carla.post(
        f"{url}/nabetaling-rekening",
        data={"csrf_token": csrf_from(page.text), "own_iban": "NL02 ABNA 0123 4567 89"},
        follow_redirects=False,
    )
    assert saved.status_code == 303 and "gedaan=followup_iban_saved" in saved.headers["location"]
    page = carla.get(saved.headers["location"])
    assert 'data-testid="followup-blocked"' not in page.text
    assert "Het rekeningnummer is opgeslagen" in page.text
    with transaction(session_factory) as session:
        person = session.get(Participant, anna)
        assert person is not None and person.own_iban == NEW_IBAN
