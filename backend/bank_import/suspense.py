"""The suspense queue: bank entries the import could not attribute, and finance's
decision about each.

- `list_suspense`: the entries in suspense, oldest first, each credit with ranked
  suggestions (computed now from the income agreements, never applied by themselves).
- `assign_suspense_entry`: finance assigns an entry to a participant, with who and why.
  A credit books `suspense → participant available`; picking one of the participant's
  income agreements books it as that income (`income.matched` with
  `rules.income_metadata`), so the daily engine sees the income as received. A debit
  in suspense (money that left without a payment of ours) is charged to the
  participant's available money (`available → suspense`), only when it covers it.
  Assigning is exactly once per entry (a unique assignment row and a conditional
  status change); assigning again with the same decision returns the first one.

Returning money to the sender is not done here: it needs an outgoing payment and
belongs to the payments flow (a refund instruction); see the report of issue 3.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import case, func, or_, select, true, update
from sqlalchemy.orm import Session

from backend.bank_import.income_alerts import resolve_income_missing
from backend.bank_import.matching import (
    SUGGESTIONS_MAX,
    Suggestion,
    normalise_text,
    rank_suggestions,
    terms_found,
)
from backend.bank_import.texts import assignment_explanation, income_explanation
from backend.errors import Conflict, InvalidInput, NotFound
from backend.ledger_store import account_balances, post_entries
from backend.models import (
    BankEntryRecord,
    IncomeExpectationRecord,
    Participant,
    SuspenseAssignmentRecord,
)
from backend.plans import IncomeExpectation, income_expectations_for_payers
from ledger import AccountKind, AccountRef, JournalEntry, Posting, holding_cents
from rules import REASON_INCOME_MATCHED, IncomeAgreement, income_metadata, occurrences

REASON_ASSIGNED = "suspense.assigned"
PAGE_SIZE_MAX = 200
REASON_LENGTH_MAX = 500
ASSIGNED_BY_LENGTH_MAX = 100
# Agreements of other payers scanned for suggestions by search term (bounded).
OTHER_PAYER_EXPECTATIONS_MAX = 2_000
MARGIN = dt.timedelta(days=31)


@dataclass(frozen=True, slots=True)
class SuggestionView:
    suggestion: Suggestion
    participant_name: str


@dataclass(frozen=True, slots=True)
class SuspenseItem:
    entry: BankEntryRecord
    suggestions: tuple[SuggestionView, ...]


@dataclass(frozen=True, slots=True)
class SuspensePage:
    items: list[SuspenseItem]
    total: int
    total_cents: int
    """Net amount in the queue: credits positive, debits negative."""


def list_suspense(
    session: Session,
    *,
    limit: int = 50,
    offset: int = 0,
    account_iban: str | None = None,
    suggestions: bool = True,
) -> SuspensePage:
    """Entries in suspense, oldest first (ix_bank_entry_status_booking)."""
    if not 1 <= limit <= PAGE_SIZE_MAX:
        raise InvalidInput(f"limit must be between 1 and {PAGE_SIZE_MAX}")
    if offset < 0:
        raise InvalidInput("offset must not be negative")
    condition = [BankEntryRecord.status == "suspense"]
    if account_iban:
        condition.append(BankEntryRecord.account_iban == account_iban)
    entries = list(
        session.scalars(
            select(BankEntryRecord)
            .where(*condition)
            .order_by(BankEntryRecord.booking_date, BankEntryRecord.id)
            .limit(limit)
            .offset(offset)
        )
    )
    signed = case(
        (BankEntryRecord.credit_debit == "CRDT", BankEntryRecord.amount_cents),
        else_=-BankEntryRecord.amount_cents,
    )
    total, total_cents = session.execute(
        select(func.count(BankEntryRecord.id), func.coalesce(func.sum(signed), 0)).where(*condition)
    ).one()
    ranked = _suggestions_for(session, entries) if suggestions else {}
    return SuspensePage(
        items=[SuspenseItem(entry, ranked.get(entry.id, ())) for entry in entries],
        total=int(total),
        total_cents=int(total_cents),
    )


def suggestions_for_entry(session: Session, entry: BankEntryRecord) -> tuple[SuggestionView, ...]:
    return _suggestions_for(session, [entry]).get(entry.id, ())


def _suggestions_for(
    session: Session, entries: Sequence[BankEntryRecord]
) -> dict[int, tuple[SuggestionView, ...]]:
    credits = [entry for entry in entries if entry.credit_debit == "CRDT"]
    if not credits:
        return {}
    start = min(entry.booking_date for entry in credits) - MARGIN
    end = max(entry.booking_date for entry in credits) + MARGIN
    payers = {entry.counterparty_iban for entry in credits if entry.counterparty_iban}
    by_payer = income_expectations_for_payers(session, payers, start=start, end=end)
    others = [
        expectation_from_record(record)
        for record in session.scalars(
            select(IncomeExpectationRecord)
            .where(
                IncomeExpectationRecord.payer_iban.not_in(sorted(payers)) if payers else true(),
                IncomeExpectationRecord.effective_from <= end,
                or_(
                    IncomeExpectationRecord.effective_until.is_(None),
                    IncomeExpectationRecord.effective_until > start,
                ),
            )
            .order_by(IncomeExpectationRecord.id)
            .limit(OTHER_PAYER_EXPECTATIONS_MAX)
        )
    ]
    found: dict[int, list[Suggestion]] = {}
    for entry in credits:
        text = normalise_text(entry.remittance_unstructured, entry.creditor_reference) or (
            normalise_text(entry.additional_info)
        )
        candidates: list[IncomeExpectation] = list(by_payer.get(entry.counterparty_iban or "", []))
        # Another payer (a new employer, another bank account): only with a search term.
        candidates += [item for item in others if terms_found(item, text)[0] > 0]
        found[entry.id] = rank_suggestions(
            candidates,
            payer_iban=entry.counterparty_iban,
            amount_cents=entry.amount_cents,
            booking_date=entry.booking_date,
            text_normalised=text,
            limit=SUGGESTIONS_MAX,
        )
    names = dict(
        session.execute(
            select(Participant.id, Participant.display_name).where(
                Participant.id.in_(
                    sorted({item.participant_id for items in found.values() for item in items})
                )
            )
        ).all()
    )
    return {
        entry_id: tuple(
            SuggestionView(item, str(names.get(item.participant_id, ""))) for item in items
        )
        for entry_id, items in found.items()
    }


# ---------------------------------------------------------------------- assigning


@dataclass(frozen=True, slots=True)
class AssignmentResult:
    assignment_id: int
    bank_entry_id: int
    participant_id: int
    agreement_id: str | None
    expected_date: dt.date | None
    amount_cents: int
    journal_entry_key: str
    assigned_by: str
    reason: str
    assigned_at: dt.datetime
    created: bool


def _result(record: SuspenseAssignmentRecord, *, created: bool) -> AssignmentResult:
    return AssignmentResult(
        assignment_id=record.id,
        bank_entry_id=record.bank_entry_id,
        participant_id=record.participant_id,
        agreement_id=record.agreement_id,
        expected_date=record.expected_date,
        amount_cents=record.amount_cents,
        journal_entry_key=record.journal_entry_key,
        assigned_by=record.assigned_by,
        reason=record.reason,
        assigned_at=record.assigned_at,
        created=created,
    )


def assign_suspense_entry(
    session: Session,
    *,
    bank_entry_id: int,
    participant_id: int,
    assigned_by: str,
    reason: str,
    agreement_id: str | None = None,
) -> AssignmentResult:
    """Assign one entry in suspense to a participant (see the module docstring).

    Raises NotFound (entry, participant, agreement), Conflict (already assigned
    otherwise, not in suspense, not enough available money for a debit) or
    InvalidInput (reason, agreement outside its window). Only flushes.
    """
    reason = " ".join((reason or "").split())
    assigned_by = (assigned_by or "").strip()
    if not reason or len(reason) > REASON_LENGTH_MAX:
        raise InvalidInput(f"give a reason of 1 to {REASON_LENGTH_MAX} characters")
    if not assigned_by or len(assigned_by) > ASSIGNED_BY_LENGTH_MAX:
        raise InvalidInput(f"assigned_by must be 1 to {ASSIGNED_BY_LENGTH_MAX} characters")
    entry = session.scalar(
        select(BankEntryRecord)
        .where(BankEntryRecord.id == bank_entry_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if entry is None:
        raise NotFound(f"bank entry {bank_entry_id} does not exist")
    existing = session.scalar(
        select(SuspenseAssignmentRecord).where(
            SuspenseAssignmentRecord.bank_entry_id == bank_entry_id
        )
    )
    if existing is not None:
        if existing.participant_id == participant_id and existing.agreement_id == agreement_id:
            return _result(existing, created=False)
        raise Conflict(
            f"bank entry {bank_entry_id} was already assigned to participant "
            f"{existing.participant_id} by {existing.assigned_by} on "
            f"{existing.assigned_at:%Y-%m-%d}"
        )
    if entry.status != "suspense":
        raise Conflict(
            f"bank entry {bank_entry_id} is not in suspense (it is {entry.status}); "
            "only entries in suspense can be assigned"
        )
    participant = session.get(Participant, participant_id)
    if participant is None:
        raise NotFound(f"participant {participant_id} does not exist")
    credit = entry.credit_debit == "CRDT"
    income: tuple[str, str] | None = None
    expected_date: dt.date | None = None
    if agreement_id is not None:
        if not credit:
            raise InvalidInput("a debit cannot be booked as income; leave out the agreement")
        expectation = _agreement(session, participant_id, agreement_id, entry.booking_date)
        expected_date = expectation.expected_date_for(entry.booking_date) or _nearest(
            expectation, entry.booking_date
        )
        if expected_date is None:
            raise InvalidInput(
                f"income agreement {agreement_id!r} expects no payment within a month of "
                f"{entry.booking_date}"
            )
        income = income_explanation(expectation, expected_date, entry.booking_date)
    amount = entry.amount_cents
    available = AccountRef.of_participant(participant_id, AccountKind.AVAILABLE)
    if not credit:
        raw = account_balances(session, participant_id=participant_id).get(available, 0)
        holding = holding_cents(available, raw)
        if holding < amount:
            raise Conflict(
                f"participant {participant_id} has {holding} cents available; the debit of "
                f"{amount} cents cannot be charged to them"
            )
    explanation, explanation_en = assignment_explanation(
        credit=credit,
        name=entry.counterparty_name,
        account=entry.counterparty_iban or entry.counterparty_account,
        booking_date=entry.booking_date,
        reason=reason,
        income=income,
    )
    key = f"suspense:assign:{entry.id}"
    signed = amount if credit else -amount
    journal_entry = JournalEntry(
        idempotency_key=key,
        booking_date=entry.booking_date,
        reason_code=REASON_INCOME_MATCHED if income is not None else REASON_ASSIGNED,
        explanation=explanation,
        explanation_en=explanation_en,
        postings=(Posting(AccountRef.suspense(), signed), Posting(available, -signed)),
        metadata=(
            income_metadata(agreement_id, expected_date)
            if agreement_id is not None and expected_date is not None
            else ()
        ),
    )
    changed = session.execute(
        update(BankEntryRecord)
        .where(BankEntryRecord.id == entry.id, BankEntryRecord.status == "suspense")
        .values(
            status="assigned",
            participant_id=participant_id,
            agreement_id=agreement_id,
            status_reason=f"assigned by {assigned_by}"[:300],
        )
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"bank entry {bank_entry_id} changed while it was being assigned")
    post_entries(session, [journal_entry], created_by=assigned_by)
    record = SuspenseAssignmentRecord(
        bank_entry_id=entry.id,
        participant_id=participant_id,
        agreement_id=agreement_id,
        expected_date=expected_date,
        amount_cents=amount,
        assigned_by=assigned_by,
        reason=reason,
        journal_entry_key=key,
    )
    session.add(record)
    if agreement_id is not None and expected_date is not None:
        # The income arrived after all: the caseworker's missing-income alert is done.
        resolve_income_missing(
            session,
            [(participant_id, agreement_id, expected_date)],
            resolved_by=f"te verdelen: {assigned_by}",
        )
    session.flush()
    session.refresh(entry)
    return _result(record, created=True)


def _agreement(
    session: Session, participant_id: int, agreement_id: str, day: dt.date
) -> IncomeExpectation:
    """The participant's income agreement in force on `day` (else the nearest version)."""
    records = list(
        session.scalars(
            select(IncomeExpectationRecord)
            .where(
                IncomeExpectationRecord.participant_id == participant_id,
                IncomeExpectationRecord.agreement_id == agreement_id,
            )
            .order_by(IncomeExpectationRecord.plan_version)
        )
    )
    if not records:
        raise NotFound(f"participant {participant_id} has no income agreement {agreement_id!r}")
    expectations = [expectation_from_record(record) for record in records]
    for expectation in expectations:
        if expectation.in_force_on(day):
            return expectation
    return min(
        expectations,
        key=lambda item: abs((item.effective_from - day).days),
    )


def expectation_from_record(record: IncomeExpectationRecord) -> IncomeExpectation:
    return IncomeExpectation(
        participant_id=record.participant_id,
        agreement_id=record.agreement_id,
        plan_version=record.plan_version,
        effective_from=record.effective_from,
        effective_until=record.effective_until,
        payer_iban=record.payer_iban,
        payer_name=record.payer_name,
        search_terms=tuple(record.search_terms),
        expected_amount_cents=record.expected_amount_cents,
        tolerance_cents=record.tolerance_cents,
        agreement=IncomeAgreement.model_validate(record.terms),
    )


def _nearest(expectation: IncomeExpectation, day: dt.date) -> dt.date | None:
    days = occurrences(expectation.agreement.schedule, day - MARGIN, day + MARGIN)
    if not days:
        return None
    return min(days, key=lambda item: (abs((item - day).days), item))
