"""Mijn gegevens → download: everything the service holds about the resident, as JSON.

When the privacy package's inzage (AVG art. 15, with the access log) is
installed it is used, so the download and `/api/participants/{id}/inzage` give
the same answer and the download is logged as an inzage request; without it
this module assembles the data itself from the tables the app can read.
Amounts are cents, dates ISO 8601.
"""

from __future__ import annotations

import importlib
from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.access.policy import Principal
from backend.errors import NotFound
from backend.models import (
    Alert,
    EmergencyRequest,
    Household,
    JournalEntryRecord,
    LedgerAccount,
    LifeEvent,
    Participant,
    PaymentInstruction,
    PlanVersionRecord,
    PostingRecord,
    Proposal,
    ProposalEvent,
    SavingsGoal,
    UserAccount,
)
from backend.models.base import utcnow
from client_app.models import AppMessage
from ledger import AccountKind, AccountRef, holding_cents
from privacy import FieldCipher

EXPORT_FORMAT = "huishoudboekje-gegevens/1"


def personal_data_export(
    session: Session, principal: Principal, participant: Participant, *, cipher: FieldCipher
) -> dict[str, Any]:
    """Everything held about the participant, for the participant themself.

    The privacy package's inzage document (backend.privacy_store.inzage, the same as
    GET /api/participants/{id}/inzage, with the access log) when it is installed, so
    the download is recorded as an inzage request; otherwise this module's own export.
    """
    if principal.participant_id != participant.id:
        raise NotFound(f"participant {participant.id} was not found")
    try:
        inzage = importlib.import_module("backend.privacy_store.inzage")
        policy = importlib.import_module("backend.access.policy")
    except ImportError:
        return _own_export(session, participant)
    ensure = getattr(policy, "ensure_can_see_inzage", None)
    if callable(ensure):
        ensure(session, principal, participant.id)  # records the inzage in the access log
    document: dict[str, Any] = inzage.build_inzage(
        session, cipher, participant, for_self=True, now=utcnow()
    )
    return document


def personal_data_pdf(document: dict[str, Any]) -> bytes | None:
    """The inzage as a readable PDF (the privacy package's), when installed."""
    try:
        module = importlib.import_module("backend.privacy_store.inzage_pdf")
    except ImportError:
        return None
    rendered: bytes = module.render_inzage_pdf(document)
    return rendered


def _own_export(session: Session, participant: Participant) -> dict[str, Any]:
    pid = participant.id
    household = session.get(Household, participant.household_id)
    account = session.scalar(select(UserAccount).where(UserAccount.participant_id == pid))
    proposals = list(
        session.scalars(
            select(Proposal).where(Proposal.participant_id == pid).order_by(Proposal.id)
        )
    )
    events: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if proposals:
        for event in session.scalars(
            select(ProposalEvent)
            .where(ProposalEvent.proposal_id.in_([item.id for item in proposals]))
            .order_by(ProposalEvent.id)
        ):
            events[event.proposal_id].append(
                {
                    "action": event.action,
                    "at": event.created_at,
                    "by_user_id": event.actor_id,
                    "party": event.actor_party,
                    "reason": event.reason,
                }
            )
    return {
        "format": EXPORT_FORMAT,
        "person": {
            "participant_id": pid,
            "name": participant.display_name,
            "household": household.name if household else None,
            "own_iban": participant.own_iban,
            "status": participant.status,
            "started_on": participant.started_on,
            "ended_on": participant.ended_on,
            "bsn": "stored encrypted; not included in this download",
        },
        "account": None
        if account is None
        else {
            "username": account.username,
            "display_name": account.display_name,
            "roles": account.roles,
            "last_login_at": account.last_login_at,
        },
        "plan_versions": [
            {
                "version": record.version,
                "effective_from": record.effective_from,
                "source": record.source,
                "created_at": record.created_at,
                "plan": record.body,
            }
            for record in session.scalars(
                select(PlanVersionRecord)
                .where(PlanVersionRecord.participant_id == pid)
                .order_by(PlanVersionRecord.version)
            )
        ],
        "proposals": [
            {
                "id": item.id,
                "kind": item.kind,
                "change": item.payload,
                "reason": item.reason,
                "status": item.status,
                "effective_from": item.effective_from,
                "created_at": item.created_at,
                "decision_reason": item.decision_reason,
                "history": events[item.id],
            }
            for item in proposals
        ],
        "life_events": [
            {
                "kind": item.kind,
                "note": item.note,
                "occurs_on": item.occurs_on,
                "created_at": item.created_at,
                "acknowledged_at": item.acknowledged_at,
            }
            for item in session.scalars(
                select(LifeEvent).where(LifeEvent.participant_id == pid).order_by(LifeEvent.id)
            )
        ],
        "savings_goals": [
            {
                "name": item.name,
                "target_cents": item.target_cents,
                "monthly_cents": item.monthly_cents,
                "target_date": item.target_date,
                "created_at": item.created_at,
            }
            for item in session.scalars(
                select(SavingsGoal)
                .where(SavingsGoal.participant_id == pid)
                .order_by(SavingsGoal.id)
            )
        ],
        "emergency_requests": [
            {
                "kind": item.kind,
                "note": item.note,
                "created_at": item.created_at,
                "acknowledged_at": item.acknowledged_at,
            }
            for item in session.scalars(
                select(EmergencyRequest)
                .where(EmergencyRequest.participant_id == pid)
                .order_by(EmergencyRequest.id)
            )
        ],
        "messages": [
            {
                "kind": item.kind,
                "title": item.title_nl,
                "text": item.body_nl,
                "from": item.author_name,
                "created_at": item.created_at,
                "read_at": item.read_at,
            }
            for item in session.scalars(
                select(AppMessage).where(AppMessage.participant_id == pid).order_by(AppMessage.id)
            )
        ],
        "alerts": [
            {
                "kind": item.kind,
                "message": item.message_nl,
                "created_at": item.created_at,
                "resolved_at": item.resolved_at,
            }
            for item in session.scalars(
                select(Alert).where(Alert.participant_id == pid).order_by(Alert.id)
            )
        ],
        "payments": [
            {
                "to": item.creditor_name,
                "iban": item.creditor_iban,
                "amount_cents": item.amount_cents,
                "due_date": item.due_date,
                "execution_date": item.requested_execution_date,
                "status": item.status,
            }
            for item in session.scalars(
                select(PaymentInstruction)
                .where(PaymentInstruction.participant_id == pid)
                .order_by(PaymentInstruction.id)
            )
        ],
        "ledger": _ledger(session, pid),
    }


def _ledger(session: Session, participant_id: int) -> list[dict[str, Any]]:
    accounts = {
        account_id: AccountKind(kind)
        for account_id, kind in session.execute(
            select(LedgerAccount.id, LedgerAccount.kind).where(
                LedgerAccount.participant_id == participant_id
            )
        )
    }
    if not accounts:
        return []
    changes: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for entry_id, account_id, amount in session.execute(
        select(
            PostingRecord.journal_entry_id, PostingRecord.account_id, PostingRecord.amount_cents
        ).where(PostingRecord.account_id.in_(list(accounts)))
    ):
        kind = accounts[account_id]
        changes[entry_id][kind.value] += holding_cents(
            AccountRef.of_participant(participant_id, kind), amount
        )
    found = []
    ids = sorted(changes)
    for start in range(0, len(ids), 500):
        for record in session.execute(
            select(
                JournalEntryRecord.id,
                JournalEntryRecord.booking_date,
                JournalEntryRecord.reason_code,
                JournalEntryRecord.explanation,
            )
            .where(JournalEntryRecord.id.in_(ids[start : start + 500]))
            .order_by(JournalEntryRecord.id)
        ):
            found.append(
                {
                    "entry_id": record.id,
                    "booking_date": record.booking_date,
                    "reason_code": record.reason_code,
                    "explanation": record.explanation,
                    "changes_cents": dict(changes[record.id]),
                }
            )
    return found
