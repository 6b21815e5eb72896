"""Berichten and the transactional outbox: written with the event that caused them."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from backend.db import transaction
from backend.models import Alert
from backend.payments import raise_alert
from client_app.models import AppMessage, OutboxMessage
from client_app.services.messages import NewMessage, log_sender, relay_outbox, store_messages
from tests.access.conftest import Demo
from tests.client_app.conftest import csrf_from

MESSAGE_TABLES = {"app_message", "outbox_message"}


def test_models_match_the_migration(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "render_as_batch": True}
        )
        diffs = compare_metadata(context, AppMessage.metadata)
    ours = [diff for diff in diffs if any(table in str(diff) for table in MESSAGE_TABLES)]
    assert ours == []


def _messages(factory: sessionmaker[Session], participant_id: int) -> list[AppMessage]:
    with factory() as session:
        return list(
            session.scalars(
                select(AppMessage)
                .where(AppMessage.participant_id == participant_id)
                .order_by(AppMessage.id)
            )
        )


def _outbox(factory: sessionmaker[Session]) -> list[OutboxMessage]:
    with factory() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_a_caseworker_proposal_becomes_a_message_and_an_outbox_row(
    client: TestClient,
    demo: Demo,
    as_user: Callable[[str], dict[str, str]],
    session_factory: sessionmaker[Session],
) -> None:
    anna = demo.participants["anna"]
    response = client.post(
        f"/api/participants/{anna}/proposals",
        json={
            "change": {"kind": "living_money_amount", "amount_cents_per_month": 40000},
            "reason": "Zo houden we wat over voor de buffer.",
        },
        headers=as_user("carla"),
    )
    assert response.status_code == 201, response.text
    (message,) = _messages(session_factory, anna)
    assert message.kind == "proposal_waiting"
    assert message.title_nl == "Er is een voorstel voor jou"
    assert "Carla Bakker" in message.body_nl
    assert message.link == f"/deelnemer/{anna}/afspraken#voorstel-{response.json()['id']}"
    (outbox,) = _outbox(session_factory)
    assert outbox.message_id == message.id and outbox.topic == "proposal_waiting"
    # General words only: no names, amounts or account numbers leave by e-mail or SMS.
    assert "Carla" not in outbox.body and "€" not in outbox.body and "Anna" not in outbox.body


def test_an_alert_in_the_same_transaction_and_only_once(
    demo: Demo, session_factory: sessionmaker[Session]
) -> None:
    anna = demo.participants["anna"]
    for _ in range(2):  # a replayed import raises the same alert: one message
        with transaction(session_factory) as session:
            raise_alert(
                session,
                dedup_key="payments:returned:HB123",
                participant_id=anna,
                kind="payment.returned",
                severity="critical",
                message_nl="De betaling kwam terug.",
                message_en="The payment was returned.",
            )
    messages = _messages(session_factory, anna)
    assert [m.kind for m in messages] == ["payment_returned"]
    assert messages[0].title_nl == "Een betaling is teruggekomen"


def test_bulk_inserted_alerts_become_messages_too(
    demo: Demo, session_factory: sessionmaker[Session]
) -> None:
    from sqlalchemy import insert

    from backend.models.base import utcnow

    anna = demo.participants["anna"]
    with transaction(session_factory) as session:
        session.execute(
            insert(Alert),
            [
                {
                    "dedup_key": f"rules:test:{kind}",
                    "participant_id": anna,
                    "kind": kind,
                    "severity": "warning",
                    "message_nl": "x",
                    "message_en": "x",
                    "created_at": utcnow(),
                }
                for kind in ("income_missing", "buffer_below_target")
            ],
        )
    kinds = [m.kind for m in _messages(session_factory, anna)]
    assert kinds == ["income_late"]  # buffer_below_target is for the caseworker only


def test_a_rolled_back_event_leaves_no_message(
    demo: Demo, session_factory: sessionmaker[Session]
) -> None:
    anna = demo.participants["anna"]
    with pytest.raises(RuntimeError), transaction(session_factory) as session:
        raise_alert(
            session,
            dedup_key="payments:returned:HB999",
            participant_id=anna,
            kind="payment.returned",
            severity="critical",
            message_nl="x",
            message_en="x",
        )
        raise RuntimeError("the import failed after the alert")
    assert _messages(session_factory, anna) == []


def test_the_caseworker_writes_a_message(
    pages: TestClient,
    demo: Demo,
    login: Callable[[str], TestClient],
    session_factory: sessionmaker[Session],
) -> None:
    anna = demo.participants["anna"]
    carla = login("carla")
    token = csrf_from(carla.get("/hulpverlener").text)
    response = carla.post(
        f"/hulpverlener/deelnemer/{anna}/bericht",
        data={"csrf_token": token, "text": "Ik bel je morgen om tien uur."},
    )
    assert response.status_code == 200
    page = login("anna")
    html = page.get(f"/deelnemer/{anna}/overzicht").text
    assert 'class="hb-nav__badge"' in html  # unread
    html = page.get(f"/deelnemer/{anna}/berichten").text
    assert "Bericht van Carla Bakker (budgetcoach)" in html
    assert "Ik bel je morgen om tien uur." in html
    html = page.get(f"/deelnemer/{anna}/berichten").text
    assert "Nieuw</span>" not in html  # read now
    chris = login("chris")
    token = csrf_from(chris.get("/hulpverlener").text)
    outside = chris.post(
        f"/hulpverlener/deelnemer/{anna}/bericht", data={"csrf_token": token, "text": "x"}
    )
    assert outside.status_code == 404
    assert [m.participant_id for m in _outbox(session_factory)] == [anna]


def test_the_relay_hands_pending_rows_to_the_gateway_once(
    demo: Demo, session_factory: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    from backend.models.base import utcnow

    anna = demo.participants["anna"]
    message = NewMessage(
        participant_id=anna,
        kind="alert",
        dedup_key="test:relay",
        key="msg.alert.arrears",
        values_nl={},
        values_en={},
    )
    with transaction(session_factory) as session:
        store_messages(session.connection(), [message], now=utcnow())
    with session_factory() as session:
        pending = session.scalar(
            select(func.count(OutboxMessage.id)).where(OutboxMessage.dispatched_at.is_(None))
        )
    sent: list[int] = []
    failed_once: set[int] = set()

    def flaky(row: OutboxMessage) -> None:
        if row.id not in failed_once:
            failed_once.add(row.id)
            raise ConnectionError("gateway down")
        sent.append(row.id)

    with transaction(session_factory) as session:
        assert relay_outbox(session, flaky) == 0
    with transaction(session_factory) as session:
        assert relay_outbox(session, flaky) == pending
    with transaction(session_factory) as session:
        assert relay_outbox(session, flaky) == 0
    assert len(sent) == pending
    with caplog.at_level(logging.INFO, logger="huishoudboekje.outbox"):
        log_sender(_outbox(session_factory)[-1])
    assert "Anna" not in caplog.text and "outbox message" in caplog.text
