"""What the bank says about our payments: settlement, returns and rejections.

Called by the bank-statement import inside its transaction, once per bank entry:
- `settle_by_end_to_end_id`: a debit for one payment          in_transit → bank
- `settle_batch_booking`: one debit for a whole batch (PmtInfId) in_transit → bank
- `return_payment`: a credit returning a settled payment        bank → source account
- `reject_payment` (pain.002 RJCT, before settlement)          in_transit → source account

A return or rejection entry carries `rules.payment_outcome_metadata`: which
instruction, which rule paid it (and for a fixed cost its agreement and due date), the
account the money went back to and the bank's reason code. The daily cycle reads that,
not the entry's key.

Each checks everything first and writes nothing when it refuses: a
`PaymentMatchError` (unknown payment, amount or account mismatch, wrong state) tells
the importer to put the bank entry in suspense. A replay of the same bank entry (same
bank reference) is recognised and changes nothing. Journal entries have
deterministic keys (`payments:settle|return|reject:<EndToEndId>`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.iban import validate_iban
from backend.ledger_store import post_entries
from backend.models import (
    JournalEntryRecord,
    MunicipalBankAccount,
    PaymentBatch,
    PaymentInstruction,
)
from backend.models.base import utcnow
from backend.payments.alerts import raise_alert
from backend.payments.batches import refresh_batch_outcome
from backend.payments.errors import (
    AccountMismatch,
    AmountMismatch,
    PaymentStateError,
    UnknownPayment,
)
from backend.payments.instructions import SOURCE_WORDS_EN, SOURCE_WORDS_NL, payee_words
from ledger import AccountKind, AccountRef, JournalEntry, Money, Posting
from rules import payment_outcome_metadata
from rules.state import META_AGREEMENT_ID, META_DUE_DATE

BANK_ACTOR = "bank-import"
REGULATORY_REASONS = frozenset({"RR01", "RR02", "RR03", "RR04"})

# Return and reject reasons (ISO 20022 external codes) in words for people.
REASONS: dict[str, tuple[str, str]] = {
    "AC01": ("het rekeningnummer klopt niet", "the account number is wrong"),
    "AC04": ("de rekening is opgeheven", "the account is closed"),
    "AC06": ("de rekening is geblokkeerd", "the account is blocked"),
    "AC13": ("het soort rekening klopt niet", "the account type is wrong"),
    "AG01": ("deze betaling is op deze rekening niet toegestaan", "transaction forbidden"),
    "AG02": ("de betaalcode klopt niet", "invalid bank operation code"),
    "AM04": ("er was niet genoeg saldo", "insufficient funds"),
    "AM05": ("de betaling is dubbel", "duplicate payment"),
    "BE04": ("het adres van de ontvanger ontbreekt", "creditor address missing"),
    "CUST": ("de ontvanger heeft de betaling geweigerd", "refused by the creditor"),
    "DUPL": ("de betaling is dubbel", "duplicate payment"),
    "FOCR": ("de betaling is teruggevraagd", "return after a cancellation request"),
    "FF01": ("het betaalbestand klopt niet", "invalid file format"),
    "MD07": ("de rekeninghouder is overleden", "the account holder has died"),
    "MS02": ("de ontvanger gaf geen reden", "refused by the creditor, no reason"),
    "MS03": ("de bank gaf geen reden", "no reason given"),
    "RC01": ("de BIC klopt niet", "the BIC is wrong"),
    "RR01": ("gegevens van de betaler ontbreken (wettelijke regel)", "regulatory: debtor data"),
    "RR02": ("naam of adres van de betaler ontbreekt (wettelijke regel)", "regulatory: name"),
    "RR03": ("naam of adres van de ontvanger ontbreekt (wettelijke regel)", "regulatory: name"),
    "RR04": ("wettelijke reden", "regulatory reason"),
    "TM01": ("de betaling kwam te laat binnen bij de bank", "received after cut-off"),
}


def reason_words(code: str | None) -> tuple[str, str]:
    if code and code in REASONS:
        return REASONS[code]
    return (f"reden {code or 'onbekend'}", f"reason {code or 'unknown'}")


@dataclass(frozen=True, slots=True)
class SettlementResult:
    """What one call did, for the importer to count and link.

    outcome: "settled", "returned" or "rejected"; `replayed` is True when this bank
        entry was already applied before (nothing was written this time).
    """

    outcome: str
    instruction_ids: tuple[int, ...]
    batch_id: int | None
    amount_cents: int
    entries_created: int
    replayed: bool
    journal_entry_keys: tuple[str, ...] = field(default=())
    alerts_raised: int = 0


# ------------------------------------------------------------------ lookups


def _instruction(session: Session, end_to_end_id: str) -> PaymentInstruction:
    instruction = session.scalar(
        select(PaymentInstruction)
        .where(PaymentInstruction.end_to_end_id == end_to_end_id)
        .execution_options(populate_existing=True)
    )
    if instruction is None:
        raise UnknownPayment(f"no payment has EndToEndId {end_to_end_id!r}")
    return instruction


def _outcome_metadata(
    session: Session, instruction: PaymentInstruction, code: str | None
) -> tuple[tuple[str, str], ...]:
    """Metadata for the entry that books a returned or rejected payment: from the
    instruction and the entry that made it payable (its rule, fixed cost, due date)."""
    row = session.execute(
        select(JournalEntryRecord.reason_code, JournalEntryRecord.entry_metadata).where(
            JournalEntryRecord.id == instruction.payable_entry_id
        )
    ).one_or_none()
    payment_rule, metadata = (row[0], row[1] or {}) if row is not None else ("", {})
    return payment_outcome_metadata(
        instruction_id=instruction.id,
        end_to_end_id=instruction.end_to_end_id,
        payment_rule=str(payment_rule or instruction.kind),
        source_kind=instruction.source_kind,
        agreement_id=metadata.get(META_AGREEMENT_ID),
        due_date=metadata.get(META_DUE_DATE),
        return_reason=code,
    )


def _check_account(session: Session, instruction_or_batch_account_id: int, bank_iban: str) -> str:
    iban = validate_iban(bank_iban, field="bank_iban")
    account_iban = session.scalar(
        select(MunicipalBankAccount.iban).where(
            MunicipalBankAccount.id == instruction_or_batch_account_id
        )
    )
    if account_iban != iban:
        raise AccountMismatch(f"the payment was made from {account_iban}, not from {iban}")
    return iban


def _check_amount(expected_cents: int, amount_cents: int, what: str) -> None:
    if amount_cents != expected_cents:
        raise AmountMismatch(
            f"{what} is {Money(expected_cents)}, the bank entry says {Money(amount_cents)}"
        )


def _settle_entry(
    instruction: PaymentInstruction,
    *,
    bank_iban: str,
    booking_date: dt.date,
    bank_reference: str | None,
) -> JournalEntry:
    amount = Money(instruction.amount_cents)
    return JournalEntry(
        idempotency_key=f"payments:settle:{instruction.end_to_end_id}",
        booking_date=booking_date,
        reason_code="payment.settled",
        explanation=(
            f"De bank heeft {amount.format_nl()} aan {payee_words(instruction)[0]} betaald."
        ),
        explanation_en=f"The bank paid EUR {amount} to {instruction.creditor_name}.",
        postings=(
            Posting(AccountRef.in_transit(), instruction.amount_cents),
            Posting(AccountRef.bank(bank_iban), -instruction.amount_cents),
        ),
    )


def _mark_settled(
    session: Session,
    ids: Sequence[int],
    *,
    booking_date: dt.date,
    bank_reference: str | None,
) -> None:
    for start in range(0, len(ids), 500):
        result = session.execute(
            update(PaymentInstruction)
            .where(
                PaymentInstruction.id.in_(ids[start : start + 500]),
                PaymentInstruction.status == "exported",
            )
            .values(
                status="settled",
                settled_on=booking_date,
                settlement_reference=bank_reference,
                updated_at=utcnow(),
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != len(ids[start : start + 500]):  # type: ignore[attr-defined]
            raise PaymentStateError("a payment changed while it was being settled")


# ------------------------------------------------------------------ settlement


def settle_by_end_to_end_id(
    session: Session,
    *,
    end_to_end_id: str,
    amount_cents: int,
    bank_iban: str,
    booking_date: dt.date,
    bank_reference: str | None,
) -> SettlementResult:
    """A debit on the statement for one exported payment: in_transit → bank."""
    instruction = _instruction(session, end_to_end_id)
    iban = _check_account(session, instruction.debtor_account_id, bank_iban)
    _check_amount(instruction.amount_cents, amount_cents, f"payment {end_to_end_id}")
    if instruction.status == "settled":
        if instruction.settlement_reference == bank_reference:
            return SettlementResult(
                "settled", (instruction.id,), instruction.batch_id, amount_cents, 0, True
            )
        raise PaymentStateError(
            f"payment {end_to_end_id} was already settled by bank entry "
            f"{instruction.settlement_reference!r}; this second debit is not ours to book"
        )
    if instruction.status != "exported":
        raise PaymentStateError(
            f"payment {end_to_end_id} is {instruction.status}; only an exported payment "
            "can be settled"
        )
    entry = _settle_entry(
        instruction, bank_iban=iban, booking_date=booking_date, bank_reference=bank_reference
    )
    # All or nothing inside the importer's transaction, which goes on after a refusal.
    with session.begin_nested():
        posted = post_entries(session, [entry], created_by=BANK_ACTOR)
        _mark_settled(
            session, [instruction.id], booking_date=booking_date, bank_reference=bank_reference
        )
        if instruction.batch_id is not None:
            refresh_batch_outcome(session, instruction.batch_id, actor=BANK_ACTOR)
    return SettlementResult(
        "settled",
        (instruction.id,),
        instruction.batch_id,
        amount_cents,
        sum(1 for item in posted if item.created),
        False,
        (entry.idempotency_key,),
    )


def settle_batch_booking(
    session: Session,
    *,
    pmt_inf_id: str,
    amount_cents: int,
    bank_iban: str,
    booking_date: dt.date,
    bank_reference: str | None,
) -> SettlementResult:
    """One debit for a whole batch (batch booking, PmtInfId): every payment in it that is
    still exported is settled. The amount must equal their sum (rejected payments are
    not debited by the bank and are not counted)."""
    batch = session.scalar(
        select(PaymentBatch)
        .where(PaymentBatch.pmt_inf_id == pmt_inf_id)
        .execution_options(populate_existing=True)
    )
    if batch is None:
        raise UnknownPayment(f"no payment batch has PmtInfId {pmt_inf_id!r}")
    iban = _check_account(session, batch.debtor_account_id, bank_iban)
    instructions = list(
        session.scalars(
            select(PaymentInstruction)
            .where(PaymentInstruction.batch_id == batch.id)
            .order_by(PaymentInstruction.id)
            .execution_options(populate_existing=True)
        )
    )
    waiting = [i for i in instructions if i.status == "exported"]
    if not waiting:
        settled_here = [
            i
            for i in instructions
            if i.status in ("settled", "returned") and i.settlement_reference == bank_reference
        ]
        if settled_here and sum(i.amount_cents for i in settled_here) == amount_cents:
            return SettlementResult(
                "settled",
                tuple(i.id for i in settled_here),
                batch.id,
                amount_cents,
                0,
                True,
            )
        raise PaymentStateError(
            f"batch {batch.id} ({pmt_inf_id}) has no payments waiting for the bank"
        )
    _check_amount(
        sum(i.amount_cents for i in waiting),
        amount_cents,
        f"batch {batch.id} ({len(waiting)} payments waiting for the bank)",
    )
    entries = [
        _settle_entry(i, bank_iban=iban, booking_date=booking_date, bank_reference=bank_reference)
        for i in waiting
    ]
    # All or nothing inside the importer's transaction, which goes on after a refusal.
    with session.begin_nested():
        posted = post_entries(session, entries, created_by=BANK_ACTOR)
        _mark_settled(
            session,
            [i.id for i in waiting],
            booking_date=booking_date,
            bank_reference=bank_reference,
        )
        refresh_batch_outcome(session, batch.id, actor=BANK_ACTOR)
    return SettlementResult(
        "settled",
        tuple(i.id for i in waiting),
        batch.id,
        amount_cents,
        sum(1 for item in posted if item.created),
        False,
        tuple(entry.idempotency_key for entry in entries),
    )


# ------------------------------------------------------------------ returns and rejections


def return_payment(
    session: Session,
    *,
    end_to_end_id: str,
    amount_cents: int,
    reason_code: str | None,
    bank_iban: str,
    booking_date: dt.date,
    bank_reference: str | None,
) -> SettlementResult:
    """A credit that returns a settled payment (RtrInf): bank +X, and the money goes back
    to the participant's account it came from (reserved for a fixed cost, available for
    living money, buffer when the buffer paid). An alert asks someone to look;
    regulatory reasons (RR01-RR04) are flagged never to be retried automatically."""
    instruction = _instruction(session, end_to_end_id)
    iban = _check_account(session, instruction.debtor_account_id, bank_iban)
    _check_amount(instruction.amount_cents, amount_cents, f"payment {end_to_end_id}")
    code = (reason_code or "").strip().upper() or None
    if instruction.status == "returned":
        if instruction.return_reference == bank_reference:
            return SettlementResult(
                "returned", (instruction.id,), instruction.batch_id, amount_cents, 0, True
            )
        raise PaymentStateError(
            f"payment {end_to_end_id} was already returned by bank entry "
            f"{instruction.return_reference!r}"
        )
    if instruction.status != "settled":
        raise PaymentStateError(
            f"payment {end_to_end_id} is {instruction.status}; a return can only follow "
            "the debit that settled it"
        )
    source = AccountKind(instruction.source_kind)
    amount = Money(amount_cents)
    reason_nl, reason_en = reason_words(code)
    entry = JournalEntry(
        idempotency_key=f"payments:return:{end_to_end_id}",
        booking_date=booking_date,
        reason_code="payment.returned",
        explanation=(
            f"De betaling van {amount.format_nl()} aan {payee_words(instruction)[0]} kwam terug: "
            f"{reason_nl}. Het geld staat weer {SOURCE_WORDS_NL[instruction.source_kind]}."
        )[:500],
        explanation_en=(
            f"The payment of EUR {amount} to {payee_words(instruction)[1]} was returned: "
            f"{reason_en}. The money is {SOURCE_WORDS_EN[instruction.source_kind]} again."
        )[:500],
        postings=(
            Posting(AccountRef.bank(iban), amount_cents),
            Posting(AccountRef.of_participant(instruction.participant_id, source), -amount_cents),
        ),
        metadata=_outcome_metadata(session, instruction, code),
    )
    return _book_outcome(
        session,
        instruction,
        entry,
        outcome="returned",
        was="settled",
        code=code,
        actor=BANK_ACTOR,
        returned_on=booking_date,
        return_reference=bank_reference,
    )


def reject_payment(
    session: Session,
    *,
    end_to_end_id: str,
    reason_code: str | None,
    rejected_on: dt.date,
    status_report_id: str | None = None,
    actor: str = BANK_ACTOR,
) -> SettlementResult:
    """The bank rejected an exported payment before executing it (pain.002 RJCT):
    in_transit → the participant's account the money came from, and an alert."""
    instruction = _instruction(session, end_to_end_id)
    code = (reason_code or "").strip().upper() or None
    if instruction.status == "rejected":
        return SettlementResult(
            "rejected", (instruction.id,), instruction.batch_id, instruction.amount_cents, 0, True
        )
    if instruction.status != "exported":
        raise PaymentStateError(
            f"payment {end_to_end_id} is {instruction.status}; only an exported payment that "
            "is not settled yet can be rejected"
        )
    source = AccountKind(instruction.source_kind)
    amount = Money(instruction.amount_cents)
    reason_nl, reason_en = reason_words(code)
    entry = JournalEntry(
        idempotency_key=f"payments:reject:{end_to_end_id}",
        booking_date=rejected_on,
        reason_code="payment.rejected",
        explanation=(
            f"De bank heeft de betaling van {amount.format_nl()} aan "
            f"{payee_words(instruction)[0]} niet uitgevoerd: {reason_nl}. Het geld staat weer "
            f"{SOURCE_WORDS_NL[instruction.source_kind]}."
        )[:500],
        explanation_en=(
            f"The bank did not execute the payment of EUR {amount} to "
            f"{payee_words(instruction)[1]}: {reason_en}. The money is "
            f"{SOURCE_WORDS_EN[instruction.source_kind]} again."
        )[:500],
        postings=(
            Posting(AccountRef.in_transit(), instruction.amount_cents),
            Posting(
                AccountRef.of_participant(instruction.participant_id, source),
                -instruction.amount_cents,
            ),
        ),
        metadata=_outcome_metadata(session, instruction, code),
    )
    return _book_outcome(
        session, instruction, entry, outcome="rejected", was="exported", code=code, actor=actor
    )


def _book_outcome(
    session: Session,
    instruction: PaymentInstruction,
    entry: JournalEntry,
    *,
    outcome: str,
    was: str,
    code: str | None,
    actor: str,
    **columns: Any,
) -> SettlementResult:
    """Book the entry that gives the money back, move the payment from `was` to
    `outcome`, tell the caseworker. All or nothing inside the importer's transaction,
    which goes on after a refusal."""
    with session.begin_nested():
        posted = post_entries(session, [entry], created_by=actor)
        blocked = code in REGULATORY_REASONS
        result = session.execute(
            update(PaymentInstruction)
            .where(PaymentInstruction.id == instruction.id, PaymentInstruction.status == was)
            .values(
                status=outcome,
                status_reason_code=code,
                retry_blocked=blocked,
                updated_at=utcnow(),
                **columns,
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise PaymentStateError(
                f"payment {instruction.end_to_end_id} changed while it was being {outcome}"
            )
        alert_new = _alert(
            session,
            instruction,
            outcome=outcome,
            code=code,
            blocked=blocked,
            amount=Money(instruction.amount_cents),
        )
        if instruction.batch_id is not None:
            refresh_batch_outcome(session, instruction.batch_id, actor=actor)
    return SettlementResult(
        outcome,
        (instruction.id,),
        instruction.batch_id,
        instruction.amount_cents,
        sum(1 for item in posted if item.created),
        False,
        (entry.idempotency_key,),
        int(alert_new),
    )


def _alert(
    session: Session,
    instruction: PaymentInstruction,
    *,
    outcome: str,
    code: str | None,
    blocked: bool,
    amount: Money,
) -> bool:
    reason_nl, reason_en = reason_words(code)
    verb_nl = "kwam terug" if outcome == "returned" else "is door de bank geweigerd"
    verb_en = "was returned" if outcome == "returned" else "was rejected by the bank"
    advice_nl = (
        "Controleer het rekeningnummer van de ontvanger."
        if code in ("AC01", "AC04", "AC06", "AC13", "RC01")
        else "Bekijk wat er nodig is."
    )
    advice_en = (
        "Check the creditor's account number."
        if code in ("AC01", "AC04", "AC06", "AC13", "RC01")
        else "Look into what is needed."
    )
    if blocked:
        advice_nl += " Wettelijke reden: deze betaling wordt nooit automatisch opnieuw gedaan."
        advice_en += " Regulatory reason: this payment is never retried automatically."
    _, created = raise_alert(
        session,
        dedup_key=f"payments:{outcome}:{instruction.end_to_end_id}",
        participant_id=instruction.participant_id,
        kind=f"payment.{outcome}",
        severity="critical" if blocked or instruction.kind == "fixed_cost" else "warning",
        message_nl=(
            f"De betaling van {amount.format_nl()} aan {payee_words(instruction)[0]} {verb_nl} "
            f"({code or 'geen code'}: {reason_nl}). {advice_nl}"
        ),
        message_en=(
            f"The payment of EUR {amount} to {payee_words(instruction)[1]} {verb_en} "
            f"({code or 'no code'}: {reason_en}). {advice_en}"
        ),
        payment_instruction_id=instruction.id,
    )
    return created
