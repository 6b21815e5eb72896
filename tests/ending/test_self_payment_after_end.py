"""Read-only after the end (backend.ending.guard): "Ik heb betaald" for a bill the
participant paid themself is a change too, refused once participation has ended."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from backend.access.policy import Principal
from backend.access.roles import Role
from backend.db import transaction
from backend.errors import Conflict
from backend.models import JournalEntryRecord, Participant, SelfPaymentConfirmation
from backend.models.base import utcnow
from backend.zelfregie import self_payment
from rules import REASON_HANDOVER
from rules.state import META_AGREEMENT_ID, META_CONFIRM_BY, META_DUE_DATE
from tests.access.conftest import SEED_TODAY, Demo
from tests.client_app.conftest import csrf_from

Login = Callable[..., TestClient]
PHONE = "telefoon"
BEFORE, AFTER = SEED_TODAY - dt.timedelta(days=30), SEED_TODAY - dt.timedelta(days=2)


def _anna(demo: Demo) -> Principal:
    return Principal(
        user_id=demo.users["anna"],
        username="anna",
        display_name="Anna",
        roles=frozenset({Role.PARTICIPANT}),
        participant_id=demo.participants["anna"],
    )


def _hand_over(session: Session, participant_id: int, due: dt.date) -> None:
    """The marker confirm_paid looks for: the engine's handover entry of this bill."""
    session.add(
        JournalEntryRecord(
            idempotency_key=self_payment.handover_key(participant_id, PHONE, due),
            fingerprint="0" * 64,
            booking_date=due,
            reason_code=REASON_HANDOVER,
            explanation="Test: rekening overgedragen",
            created_by="test",
            entry_metadata={
                META_AGREEMENT_ID: PHONE,
                META_DUE_DATE: due.isoformat(),
                META_CONFIRM_BY: (due + dt.timedelta(days=7)).isoformat(),
            },
        )
    )
    session.flush()


def _confirmations(session_factory: sessionmaker[Session], participant_id: int) -> int:
    with session_factory() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(SelfPaymentConfirmation)
                .where(SelfPaymentConfirmation.participant_id == participant_id)
            )
            or 0
        )


def _end(session_factory: sessionmaker[Session], participant_id: int) -> None:
    with transaction(session_factory) as session:
        participant = session.get(Participant, participant_id)
        assert participant is not None
        participant.status = "ended"
        participant.ended_on = SEED_TODAY - dt.timedelta(days=1)


def test_confirming_a_bill_is_refused_after_the_end(
    demo: Demo, session_factory: sessionmaker[Session]
) -> None:
    anna = demo.participants["anna"]
    with transaction(session_factory) as session:
        _hand_over(session, anna, BEFORE)
        _hand_over(session, anna, AFTER)
        # While participation runs, confirming works (the handover marker is enough).
        self_payment.confirm_paid(
            session, _anna(demo), anna, agreement_id=PHONE, due_date=BEFORE, now=utcnow()
        )
    assert _confirmations(session_factory, anna) == 1
    _end(session_factory, anna)
    with (
        transaction(session_factory) as session,
        pytest.raises(Conflict) as refused,
    ):
        self_payment.confirm_paid(
            session, _anna(demo), anna, agreement_id=PHONE, due_date=AFTER, now=utcnow()
        )
    assert refused.value.extra["code"] == "participation_ended"
    assert _confirmations(session_factory, anna) == 1


def test_the_page_refuses_it_too(
    login: Login, demo: Demo, session_factory: sessionmaker[Session]
) -> None:
    anna = demo.participants["anna"]
    with transaction(session_factory) as session:
        _hand_over(session, anna, AFTER)
    client = login("anna")
    token = csrf_from(client.get(f"/deelnemer/{anna}/zelf-doen").text)
    _end(session_factory, anna)
    response = client.post(
        f"/deelnemer/{anna}/zelf-doen/betaald",
        data={"csrf_token": token, "agreement": PHONE, "due": AFTER.isoformat()},
        follow_redirects=False,
    )
    assert response.status_code == 409
    assert "Je deelname is gestopt." in response.text
    assert _confirmations(session_factory, anna) == 0
