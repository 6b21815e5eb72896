"""Money that reaches an ended participant after the final settlement (follow-up).

After the settlement every account of the participant is zero, but money can still
arrive: a payment the bank returns later (the money goes back to the account it was
paid from: reserved, available or buffer), or finance assigning an entry in suspense
to them (available). Left alone it would wait there for ever, unseen.

The daily cycle (through `settle_due_endings`, where the settlement is hooked) calls
`pay_after_end`: for every ended participant, each of those accounts that holds money
is paid to their own IBAN with a clear reason (`exit.followup_payout`), and the
caseworker gets an info alert.

- Idempotent: the payout moves the money to payable, so a re-run finds nothing to
  pay; the key `exit:<participant>:followup:<account>:<n>` counts the follow-ups of
  that account, so a crash before the commit books nothing and a replay of the same
  state books the same key (a payment cannot be booked twice).
- Not again to an account that sent it back: when a payout of the ending (the final
  settlement or a follow-up) to the same own IBAN came back (or the bank rejected it,
  or finance cancelled it before export), nothing is paid and the
  caseworker gets a warning alert to find out which account the participant uses
  now. Paying the same account again would only bounce again (closed account AC04,
  wrong number AC01, ...). Once a different own IBAN is recorded it is paid there.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.access.policy import Party, Principal, ensure_can_act_for_participant
from backend.ending.settlement import holdings
from backend.errors import Conflict, InvalidInput
from backend.iban import validate_iban
from backend.ledger_store import post_entry
from backend.models import (
    Alert,
    LedgerAccount,
    MunicipalBankAccount,
    Participant,
    ParticipationEnd,
    PaymentInstruction,
    PostingRecord,
)
from backend.models.base import utcnow
from backend.payments import create_payment_instruction
from backend.payments.alerts import raise_alert
from backend.payments.settlement import reason_words
from ledger import AccountKind, AccountRef, JournalEntry, Money, Posting
from rules.business_days import next_business_day

log = logging.getLogger(__name__)

CREATED_BY = "ending"
REASON_FOLLOWUP = "exit.followup_payout"
ALERT_PAID = "exit.followup_paid"
ALERT_BLOCKED = "exit.followup_blocked"
# A payout of the ending that did not reach the own account: sent back after settlement,
# rejected by the bank before it, or cancelled by finance before export. The follow-up
# never pays that account again on its own.
STOPPED = ("returned", "rejected", "cancelled")
# The accounts money can come back to (the sources a payment instruction knows).
SOURCES = (AccountKind.RESERVED, AccountKind.BUFFER, AccountKind.AVAILABLE)
SOURCE_NL = {
    AccountKind.RESERVED: "geld dat terugkwam van een vaste last",
    AccountKind.BUFFER: "je buffer die terugkwam",
    AccountKind.AVAILABLE: "geld dat na je eindafrekening binnenkwam",
}
SOURCE_EN = {
    AccountKind.RESERVED: "money returned from a fixed cost",
    AccountKind.BUFFER: "your buffer, which came back",
    AccountKind.AVAILABLE: "money that arrived after your final settlement",
}


@dataclass(frozen=True, slots=True)
class FollowUp:
    participant_id: int
    source: str
    amount_cents: int
    end_to_end_id: str | None  # None: not paid (the own IBAN sent money back)


def _payee(session: Session, participant: Participant, end: ParticipationEnd) -> str | None:
    """The participant's own IBAN now; else the one the final settlement paid to."""
    handover_iban = (end.handover or {}).get("own_iban")
    return participant.own_iban or (str(handover_iban) if handover_iban else None)


def _returned_by(session: Session, participant_id: int, iban: str) -> PaymentInstruction | None:
    """The latest payout of the ending to `iban` that the bank sent back."""
    return session.scalar(
        select(PaymentInstruction)
        .where(
            PaymentInstruction.participant_id == participant_id,
            PaymentInstruction.idempotency_key.like(f"exit:{participant_id}:%"),
            PaymentInstruction.creditor_iban == iban,
            PaymentInstruction.status.in_(STOPPED),
        )
        .order_by(PaymentInstruction.id.desc())
        .limit(1)
    )


def _why_not_paid(stopped: PaymentInstruction | None) -> tuple[str, str]:
    """Why nothing is paid, in words for the caseworker (Dutch, English)."""
    if stopped is None:
        return "Er is geen eigen rekeningnummer bekend.", "No own account number is known."
    if stopped.status == "cancelled":
        return (
            "De betaling naar de eigen rekening is geannuleerd; daarom betalen we niet "
            "vanzelf opnieuw naar die rekening.",
            "The payment to their own account was cancelled; so we do not pay that account "
            "again by ourselves.",
        )
    code = stopped.status_reason_code
    reason_nl, reason_en = reason_words(code)
    return (
        f"De betaling naar de eigen rekening kwam terug ({code or 'geen code'}: {reason_nl}); "
        "daarom betalen we niet opnieuw naar die rekening.",
        f"The payment to their own account came back ({code or 'no code'}: {reason_en}); so "
        "we do not pay that account again.",
    )


def _count_followups(session: Session, participant_id: int, source: AccountKind) -> int:
    prefix = f"exit:{participant_id}:followup:{source}:"
    return int(
        session.scalar(
            select(func.count(PaymentInstruction.id)).where(
                PaymentInstruction.participant_id == participant_id,
                PaymentInstruction.idempotency_key.like(f"{prefix}%"),
            )
        )
        or 0
    )


def _ended_with_money(session: Session) -> list[tuple[Participant, ParticipationEnd]]:
    """Ended participants (settled end) whose reserved, buffer or available account is
    not zero: one grouped query, so the daily cost does not grow with every ended
    participant's history."""
    with_money = (
        select(LedgerAccount.participant_id)
        .join(PostingRecord, PostingRecord.account_id == LedgerAccount.id)
        .join(Participant, Participant.id == LedgerAccount.participant_id)
        .where(
            Participant.status == "ended",
            LedgerAccount.kind.in_([str(kind) for kind in SOURCES]),
        )
        .group_by(LedgerAccount.participant_id, LedgerAccount.id)
        .having(func.sum(PostingRecord.amount_cents) != 0)
    )
    rows = session.execute(
        select(Participant, ParticipationEnd)
        .join(ParticipationEnd, ParticipationEnd.participant_id == Participant.id)
        .where(
            Participant.status == "ended",
            ParticipationEnd.status == "settled",
            Participant.id.in_(with_money),
        )
        .order_by(Participant.id)
    ).all()
    return [(participant, end) for participant, end in rows]


def pay_after_end_for(
    session: Session,
    participant: Participant,
    end: ParticipationEnd,
    *,
    today: dt.date,
    debtor_iban: str,
) -> list[FollowUp]:
    """Pay (or, when the own IBAN sent money back, flag) what this ended participant's
    accounts hold. Only flushes; the caller commits."""
    pid = participant.id
    held = holdings(session, pid)
    waiting = [(source, held[source]) for source in SOURCES if held[source] > 0]
    if not waiting:
        return []
    iban = _payee(session, participant, end)
    total = Money(sum(cents for _, cents in waiting))
    bounced = _returned_by(session, pid, iban) if iban else None
    if iban is None or bounced is not None:
        why_nl, why_en = _why_not_paid(bounced)
        dedup = f"exit:{pid}:followup-blocked:" + (
            str(bounced.id) if bounced is not None else "no-iban"
        )
        raise_alert(
            session,
            dedup_key=dedup,
            participant_id=pid,
            kind=ALERT_BLOCKED,
            severity="warning",
            message_nl=(
                f"De deelname van {participant.display_name} is gestopt, maar er staat nog "
                f"{total.format_nl()} voor hen klaar. {why_nl} Vraag welk rekeningnummer de "
                "deelnemer nu gebruikt en leg het vast."
            ),
            message_en=(
                f"The participation of {participant.display_name} has ended, but "
                f"EUR {total} is still waiting for them. {why_en} Ask which account the "
                "participant uses now and record it."
            ),
            payment_instruction_id=bounced.id if bounced is not None else None,
        )
        return [FollowUp(pid, str(source), cents, None) for source, cents in waiting]

    execution = next_business_day(today)
    done: list[FollowUp] = []
    for source, cents in waiting:
        number = _count_followups(session, pid, source) + 1
        key = f"exit:{pid}:followup:{source}:{number}"
        euro = Money(cents)
        entry = JournalEntry(
            idempotency_key=key,
            booking_date=today,
            reason_code=REASON_FOLLOWUP,
            explanation=(
                f"Na het einde van je deelname: {SOURCE_NL[source]} ({euro.format_nl()}) "
                "wordt betaald op je eigen rekening."
            ),
            explanation_en=(
                f"After the end of your participation: {SOURCE_EN[source]} (EUR {euro}) is "
                "paid to your own account."
            ),
            postings=(
                Posting(AccountRef.of_participant(pid, source), cents),
                Posting(AccountRef.of_participant(pid, AccountKind.PAYABLE), -cents),
            ),
            metadata=(("participant_id", str(pid)),),
        )
        post_entry(session, entry, created_by=CREATED_BY)
        instruction = create_payment_instruction(
            session,
            entry=entry,
            participant_id=pid,
            kind="living_money",
            creditor_name=participant.display_name,
            creditor_iban=iban,
            amount_cents=cents,
            due_date=execution,
            execution_date=execution,
            remittance="Nabetaling Huishoudboekje na je eindafrekening",
            creditor_reference=None,
            source_kind=str(source),
            debtor_iban=debtor_iban,
        )
        raise_alert(
            session,
            dedup_key=key,
            participant_id=pid,
            kind=ALERT_PAID,
            severity="info",
            message_nl=(
                f"Na het einde van de deelname kwam er nog {euro.format_nl()} binnen voor "
                f"{participant.display_name}. Dat wordt op {execution:%d-%m-%Y} betaald op de "
                "eigen rekening."
            ),
            message_en=(
                f"After the end of participation EUR {euro} still arrived for "
                f"{participant.display_name}. It is paid to their own account on "
                f"{execution.isoformat()}."
            ),
            payment_instruction_id=instruction.id,
        )
        done.append(FollowUp(pid, str(source), cents, instruction.end_to_end_id))
    session.flush()
    return done


def pay_after_end(
    session: Session, *, today: dt.date, debtor_iban: str | None = None
) -> list[FollowUp]:
    """For the daily cycle: every ended participant with money in their accounts. One
    failure (logged, savepoint rolled back) does not stop the others."""
    done: list[FollowUp] = []
    found = _ended_with_money(session)
    if not found:
        return done
    debtor = debtor_iban or session.scalar(
        select(MunicipalBankAccount.iban).order_by(MunicipalBankAccount.id)
    )
    if debtor is None:
        log.error("follow-up payouts wait: the municipality has no bank account to pay from")
        return done
    for participant, end in found:
        try:
            with session.begin_nested():
                done.extend(
                    pay_after_end_for(session, participant, end, today=today, debtor_iban=debtor)
                )
        except Exception:
            log.exception("follow-up payout for ended participant %s failed", participant.id)
            session.expire_all()
    return done


def blocked_alerts(session: Session, participant_id: int) -> list[Alert]:
    """Open warnings: money waits because the own IBAN sent a payout back."""
    return list(
        session.scalars(
            select(Alert)
            .where(
                Alert.participant_id == participant_id,
                Alert.kind == ALERT_BLOCKED,
                Alert.resolved_at.is_(None),
            )
            .order_by(Alert.id)
        )
    )


def record_new_own_iban(
    session: Session, caseworker: Principal, participant_id: int, iban_text: str
) -> str:
    """The account an ended participant uses now, so the money waiting for them can be
    paid there (the next daily cycle does it). The one change allowed after the end:
    only while such money waits (an open warning), only by their caseworker, never
    a municipal account nor an account that sent a payout of the ending back."""
    participant, _ = ensure_can_act_for_participant(
        session, caseworker, participant_id, parties=frozenset({Party.CASEWORKER})
    )
    open_alerts = blocked_alerts(session, participant_id)
    if participant.status != "ended" or not open_alerts:
        raise Conflict(
            f"participant {participant_id}: no money is waiting for a new account number "
            "(only after the end, when a payout came back)",
            code="no_followup_waiting",
        )
    iban = validate_iban(iban_text, field="own_iban")
    if session.scalar(select(MunicipalBankAccount.id).where(MunicipalBankAccount.iban == iban)):
        raise InvalidInput("own_iban: this is one of the municipality's own accounts")
    if _returned_by(session, participant_id, iban) is not None:
        raise InvalidInput("own_iban: a payment to this account came back; give another one")
    participant.own_iban = iban
    now = utcnow()
    for alert in open_alerts:
        alert.resolved_at = now
        alert.resolved_by = caseworker.username
    session.flush()
    log.info("new own account recorded for ended participant %s", participant_id)
    return iban
