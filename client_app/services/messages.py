"""Berichten: in-app messages for what the resident must know, each with an outbox row.

Messages come from events in other domains, picked up where they are written so
that the message and its outbox row commit in the same transaction as the event:

- a proposal step (`proposal_event` rows): a caseworker's proposal waits for the
  resident; the caseworker approved or rejected the resident's proposal; a change
  was applied in an emergency; a decided change became part of the plan;
- an alert about the resident's money (`alert` rows, from payments and the daily
  cycle): a payment came back, income is late, the buffer was used, ...;
- the caseworker acknowledged the resident's emergency request;
- the caseworker wrote a message (`write_message`, called directly).

`install_message_events()` hooks the first three into SQLAlchemy (after_flush
for objects added to a session, do_orm_execute for bulk inserts of alerts); the
app calls it, and any other process that should notify residents (the daily
cycle's command) calls it too. Every message has a dedup key, so an event seen
twice (a replayed import) gives one message. If the message tables are missing
(a database not migrated this far) the event itself still commits: the message
work runs in a savepoint and a failure is logged, never raised.

The outbox holds general texts only ("there is a new message for you"): no
names, amounts or account numbers go out by e-mail or SMS. A municipality's
gateway takes pending rows with `relay_outbox(session, send)`; in demo mode every
committed outbox row is also written to the log (logger huishoudboekje.outbox).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict, cast

from sqlalchemy import Connection, Table, event, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction
from sqlalchemy.orm.attributes import get_history

from backend.models import Alert, EmergencyRequest, Proposal, ProposalEvent, UserAccount
from backend.models.base import utcnow
from client_app.formatting import date_long
from client_app.i18n import translate
from client_app.models import AppMessage, OutboxMessage

log = logging.getLogger("huishoudboekje.outbox")

MESSAGES_PER_PAGE_MAX = 100
OUTBOX_BATCH_MAX = 500
DEDUP_KEY_LENGTH_MAX = 200
AUTHOR_TEXT_LENGTH_MAX = 2000

# Alert kinds a resident is told about, and the message kind they become.
RESIDENT_ALERTS: Mapping[str, str] = {
    "income_missing": "income_late",
    "buffer_used": "alert",
    "arrears": "alert",
    "living_money_below_agreed": "alert",
    "payment.returned": "payment_returned",
    "payment.rejected": "payment_returned",
    # Zelfregie step 3: a bill the resident pays themselves was not marked paid in time.
    "self_payment_missed": "alert",
}


class _Common(TypedDict):
    participant_id: int
    link: str | None


# Between the participant and their caseworker: what the caseworker wrote and the
# answers to an emergency. A household member sees the household's money messages
# (income late, a payment returned, a plan changed), not these.
PERSONAL_KINDS: frozenset[str] = frozenset(
    {"caseworker_wrote", "emergency_received", "emergency_change"}
)


@dataclass(frozen=True, slots=True)
class NewMessage:
    participant_id: int
    kind: str
    dedup_key: str
    key: str  # catalogue key prefix: "<key>.title" and "<key>.body"
    values_nl: Mapping[str, str]
    values_en: Mapping[str, str]
    link: str | None = None
    author_user_id: int | None = None
    author_name: str | None = None
    body_nl: str | None = None  # a written text instead of the catalogue's body
    body_en: str | None = None


def _dedup(text: str) -> str:
    if len(text) <= DEDUP_KEY_LENGTH_MAX:
        return text
    return text[:100] + "#" + hashlib.sha256(text.encode()).hexdigest()


def _rows(message: NewMessage, now: dt.datetime) -> tuple[dict[str, Any], dict[str, Any]]:
    title_nl = translate("nl", f"{message.key}.title", **message.values_nl)
    title_en = translate("en", f"{message.key}.title", **message.values_en)
    body_nl = message.body_nl or translate("nl", f"{message.key}.body", **message.values_nl)
    body_en = message.body_en or translate("en", f"{message.key}.body", **message.values_en)
    row = {
        "participant_id": message.participant_id,
        "kind": message.kind,
        "dedup_key": _dedup(message.dedup_key),
        "title_nl": title_nl[:200],
        "title_en": title_en[:200],
        "body_nl": body_nl,
        "body_en": body_en,
        "link": message.link,
        "author_user_id": message.author_user_id,
        "author_name": message.author_name,
        "created_at": now,
    }
    outbox = {
        "participant_id": message.participant_id,
        "topic": message.kind,
        "subject": translate("nl", "outbox.subject"),
        "body": translate("nl", "outbox.body"),
        "created_at": now,
        "attempts": 0,
    }
    return row, outbox


def _insert_ignoring_duplicates(connection: Connection, row: dict[str, Any]) -> int | None:
    """Insert a message; its id, or None when the dedup key already has one."""
    table = cast(Table, AppMessage.__table__)
    if connection.dialect.name == "postgresql":
        statement: Any = postgresql.insert(table).on_conflict_do_nothing(
            index_elements=["dedup_key"]
        )
    elif connection.dialect.name == "sqlite":
        statement = sqlite.insert(table).on_conflict_do_nothing(index_elements=["dedup_key"])
    else:  # pragma: no cover - the two databases we run on
        existing = connection.scalar(
            select(AppMessage.id).where(AppMessage.dedup_key == row["dedup_key"])
        )
        if existing is not None:
            return None
        statement = insert(table)
    new_id = connection.execute(statement.values(**row).returning(table.c.id)).scalar()
    return None if new_id is None else int(new_id)


@dataclass(frozen=True, slots=True)
class WrittenOutbox:
    """An outbox row written in this transaction (for the demo log after commit)."""

    message_id: int
    participant_id: int
    topic: str
    subject: str


def store_messages(
    connection: Connection, messages: Iterable[NewMessage], *, now: dt.datetime
) -> list[WrittenOutbox]:
    """Write messages and their outbox rows on this connection (inside the caller's
    transaction); what was new (a dedup key seen before writes nothing)."""
    created: list[WrittenOutbox] = []
    for message in messages:
        row, outbox = _rows(message, now)
        message_id = _insert_ignoring_duplicates(connection, row)
        if message_id is None:
            continue
        connection.execute(
            insert(cast(Table, OutboxMessage.__table__)).values(message_id=message_id, **outbox)
        )
        created.append(
            WrittenOutbox(message_id, message.participant_id, outbox["topic"], outbox["subject"])
        )
    return created


def _store_safely(session: Session, messages: list[NewMessage]) -> None:
    if not messages:
        return
    connection = session.connection()
    try:
        with connection.begin_nested():
            created = store_messages(connection, messages, now=utcnow())
    except Exception:  # the event must commit even if messages cannot be written
        log.exception("messages for %d event(s) could not be written", len(messages))
        return
    if created:
        session.info.setdefault(_WRITTEN, []).extend(created)


# ---------------------------------------------------------------------- from events


def participant_pages(participant_id: int) -> str:
    return f"/deelnemer/{participant_id}"


def _alert_message(participant_id: int, kind: str, dedup_key: str) -> NewMessage | None:
    message_kind = RESIDENT_ALERTS.get(kind)
    if message_kind is None:
        return None
    key = "msg.alert." + kind.replace(".", "_")
    return NewMessage(
        participant_id=participant_id,
        kind=message_kind,
        dedup_key="alert:" + dedup_key,
        key=key,
        values_nl={},
        values_en={},
        link=f"{participant_pages(participant_id)}/transacties",
    )


def _proposal_rows(connection: Connection, proposal_ids: set[int]) -> dict[int, Any]:
    if not proposal_ids:
        return {}
    rows = connection.execute(
        select(
            Proposal.id,
            Proposal.participant_id,
            Proposal.proposer_party,
            Proposal.effective_from,
            Proposal.emergency,
        ).where(Proposal.id.in_(sorted(proposal_ids)))
    )
    return {row.id: row for row in rows}


def _names(connection: Connection, user_ids: set[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    rows = connection.execute(
        select(UserAccount.id, UserAccount.display_name).where(UserAccount.id.in_(sorted(user_ids)))
    )
    return {int(user_id): str(name) for user_id, name in rows}


def _proposal_messages(connection: Connection, events: Sequence[ProposalEvent]) -> list[NewMessage]:
    proposals = _proposal_rows(connection, {event.proposal_id for event in events})
    names = _names(connection, {event.actor_id for event in events if event.actor_id})
    found: list[NewMessage] = []
    for item in events:
        proposal = proposals.get(item.proposal_id)
        if proposal is None:
            continue
        pid = int(proposal.participant_id)
        link = f"{participant_pages(pid)}/afspraken#voorstel-{proposal.id}"
        by = names.get(item.actor_id or 0, "")
        common: _Common = {"participant_id": pid, "link": link}
        reason = item.reason or ""
        if (
            item.action == "proposed"
            and item.actor_party == "caseworker"
            and not proposal.emergency
        ):
            found.append(
                NewMessage(
                    kind="proposal_waiting",
                    dedup_key=f"proposal:{proposal.id}:waiting",
                    key="msg.proposal_waiting",
                    values_nl={"name": by},
                    values_en={"name": by},
                    author_user_id=item.actor_id,
                    author_name=by or None,
                    **common,
                )
            )
        elif (
            item.action in ("approved", "rejected")
            and item.actor_party == "caseworker"
            and proposal.proposer_party == "participant"
        ):
            found.append(
                NewMessage(
                    kind="proposal_decided",
                    dedup_key=f"proposal:{proposal.id}:{item.action}",
                    key=f"msg.proposal_{item.action}",
                    values_nl={"name": by, "reason": reason},
                    values_en={"name": by, "reason": reason},
                    author_user_id=item.actor_id,
                    author_name=by or None,
                    **common,
                )
            )
        elif item.action == "emergency_applied" and item.actor_party != "system":
            # (system: the daily cycle after a missed self-payment; its alert tells why)
            found.append(
                NewMessage(
                    kind="emergency_change",
                    dedup_key=f"proposal:{proposal.id}:emergency",
                    key="msg.emergency_change",
                    values_nl={"name": by, "reason": reason},
                    values_en={"name": by, "reason": reason},
                    author_user_id=item.actor_id,
                    author_name=by or None,
                    **common,
                )
            )
        elif item.action == "applied":
            effective: dt.date = proposal.effective_from
            found.append(
                NewMessage(
                    kind="plan_changed",
                    dedup_key=f"proposal:{proposal.id}:applied",
                    key="msg.plan_changed",
                    values_nl={"date": date_long(effective, "nl")},
                    values_en={"date": date_long(effective, "en")},
                    **common,
                )
            )
    return found


def _emergency_messages(
    connection: Connection, requests: Sequence[EmergencyRequest]
) -> list[NewMessage]:
    names = _names(connection, {r.acknowledged_by for r in requests if r.acknowledged_by})
    found = []
    for request in requests:
        by = names.get(request.acknowledged_by or 0, "")
        found.append(
            NewMessage(
                participant_id=request.participant_id,
                kind="emergency_received",
                dedup_key=f"emergency:{request.id}:seen",
                key="msg.emergency_received",
                values_nl={"name": by},
                values_en={"name": by},
                link=f"{participant_pages(request.participant_id)}/noodknop",
                author_user_id=request.acknowledged_by,
                author_name=by or None,
            )
        )
    return found


def _after_flush(session: Session, _context: UOWTransaction) -> None:
    events = [item for item in session.new if isinstance(item, ProposalEvent)]
    alerts = [
        item for item in session.new if isinstance(item, Alert) and item.participant_id is not None
    ]
    acknowledged = [
        item
        for item in session.dirty
        if isinstance(item, EmergencyRequest)
        and item.acknowledged_at is not None
        and get_history(item, "acknowledged_at").added
    ]
    if not (events or alerts or acknowledged):
        return
    connection = session.connection()
    messages = _proposal_messages(connection, events) + _emergency_messages(
        connection, acknowledged
    )
    for alert in alerts:
        assert alert.participant_id is not None
        found = _alert_message(alert.participant_id, alert.kind, alert.dedup_key)
        if found is not None:
            messages.append(found)
    _store_safely(session, messages)


def _on_execute(state: ORMExecuteState) -> Any:
    """Bulk `insert(Alert)` with a list of rows (the daily cycle): messages too.
    Also a Core `insert(Alert.__table__)`, which is how the daily cycle writes them."""
    if not state.is_insert:
        return None
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) != Alert.__tablename__:
        return None
    parameters = state.parameters
    rows: list[dict[str, Any]] = (
        [dict(row) for row in parameters]
        if isinstance(parameters, list)
        else [dict(cast(Mapping[str, Any], parameters or {}))]
    )
    result = state.invoke_statement()
    messages = []
    for row in rows:
        participant_id = row.get("participant_id")
        if participant_id is None or not row.get("kind") or not row.get("dedup_key"):
            continue
        found = _alert_message(int(participant_id), str(row["kind"]), str(row["dedup_key"]))
        if found is not None:
            messages.append(found)
    _store_safely(state.session, messages)
    return result


# ---------------------------------------------------------------------- outbox relay

Sender = Callable[[OutboxMessage], None]
_WRITTEN = "hb_outbox_written"
_log_after_commit = False
_installed = False
_install_lock = threading.Lock()


def log_sender(message: OutboxMessage) -> None:
    """The demo's gateway: the outbox goes to the log (general texts, no personal data)."""
    log.info(
        "outbox message %s for participant %s (%s): %s",
        message.id,
        message.participant_id,
        message.topic,
        message.subject,
    )


def relay_outbox(session: Session, send: Sender, *, limit: int = OUTBOX_BATCH_MAX) -> int:
    """Hand pending outbox rows to `send`, oldest first; mark each one sent. A failing
    send is counted and kept for the next run. The number sent. Only flushes."""
    pending = list(
        session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.dispatched_at.is_(None))
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
    )
    sent = 0
    for message in pending:
        message.attempts += 1
        try:
            send(message)
        except Exception as error:  # a gateway error must not stop the others
            message.last_error = f"{type(error).__name__}: {error}"[:500]
            continue
        message.dispatched_at = utcnow()
        message.last_error = None
        sent += 1
    session.flush()
    return sent


def _after_commit(session: Session) -> None:
    """Demo mode: the outbox written in this transaction goes to the log once it is
    committed (no database access here; the rows stay pending for a real gateway)."""
    written: list[WrittenOutbox] | None = session.info.pop(_WRITTEN, None)
    if not written or not _log_after_commit:
        return
    for item in written:
        log.info(
            "outbox message for participant %s (%s): %s",
            item.participant_id,
            item.topic,
            item.subject,
        )


def _after_rollback(session: Session) -> None:
    session.info.pop(_WRITTEN, None)


def install_message_events(*, log_outbox: bool = False) -> None:
    """Hook message creation into every SQLAlchemy session of this process (once).
    With `log_outbox` (demo mode) every committed outbox row is also logged."""
    global _installed, _log_after_commit
    with _install_lock:
        if log_outbox:
            _log_after_commit = True
        if _installed:
            return
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "do_orm_execute", _on_execute)
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_rollback", _after_rollback)
        _installed = True


# ---------------------------------------------------------------------- reading, writing


def write_message(
    session: Session,
    *,
    participant_id: int,
    author_user_id: int,
    author_name: str,
    text: str,
    now: dt.datetime,
) -> int | None:
    """A message the caseworker writes to the resident (shown as written, in both
    languages). Returns the message id."""
    body = text.strip()[:AUTHOR_TEXT_LENGTH_MAX]
    digest = hashlib.sha256(f"{author_user_id}|{now.isoformat()}|{body}".encode()).hexdigest()
    message = NewMessage(
        participant_id=participant_id,
        kind="caseworker_wrote",
        dedup_key=f"wrote:{digest}",
        key="msg.caseworker_wrote",
        values_nl={"name": author_name},
        values_en={"name": author_name},
        link=f"{participant_pages(participant_id)}/berichten",
        author_user_id=author_user_id,
        author_name=author_name,
        body_nl=body,
        body_en=body,
    )
    created = store_messages(session.connection(), [message], now=now)
    if created:
        session.info.setdefault(_WRITTEN, []).extend(created)
    return created[0].message_id if created else None


def list_messages(
    session: Session,
    participant_ids: Sequence[int],
    *,
    limit: int,
    offset: int = 0,
    include_personal: bool = True,
) -> list[AppMessage]:
    query = select(AppMessage).where(AppMessage.participant_id.in_(list(participant_ids)))
    if not include_personal:
        query = query.where(AppMessage.kind.not_in(PERSONAL_KINDS))
    return list(
        session.scalars(
            query.order_by(AppMessage.created_at.desc(), AppMessage.id.desc())
            .limit(min(limit, MESSAGES_PER_PAGE_MAX))
            .offset(offset)
        )
    )


def unread_count(session: Session, participant_id: int, *, include_personal: bool = True) -> int:
    query = select(func.count(AppMessage.id)).where(
        AppMessage.participant_id == participant_id, AppMessage.read_at.is_(None)
    )
    if not include_personal:
        query = query.where(AppMessage.kind.not_in(PERSONAL_KINDS))
    return int(session.scalar(query) or 0)


def mark_read(session: Session, participant_id: int, *, now: dt.datetime) -> int:
    result = session.execute(
        update(AppMessage)
        .where(AppMessage.participant_id == participant_id, AppMessage.read_at.is_(None))
        .values(read_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
