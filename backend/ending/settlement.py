"""The final settlement: every account of the participant to exactly zero, with reasons.

Order (each step a journal entry with a stable idempotency key `exit:<participant>:...`,
booked on the settlement day, in one transaction with the payment instructions):

1. The rules engine runs once more for the settlement day, so fixed costs whose
   execution date has come are paid as usual (idempotent: the daily cycle's own keys).
2. Reservations for later due dates are released: those bills move to the participant.
3. Savings go back to `available`, one entry per savings goal (its movement is recorded).
4. The buffer advance (voorschot) is settled from the buffer. What the buffer cannot
   settle moves to the municipality's `advance_claim` account: a debt that is shown on
   the letter, the final statement and the caseworker's page — never hidden. Living
   money and savings are the participant's own money and are not used for it.
5. What is left in the buffer and in `available` is paid to the participant's own IBAN
   (two payment instructions, the buffer and the rest, each with its own reason).

Payable then holds only payments on their way (the batch takes them to in_transit),
so after the batch is exported and settled every participant account is zero.
A second run finds the settlement recorded and books nothing; should it run again
after a crash, the keys make a payment impossible to book twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from backend.errors import Conflict
from backend.ledger_store import account_balances, post_entry
from backend.models import Participant, ParticipationEnd, SavingsMovement
from backend.payments import create_payment_instruction
from backend.zelfregie.savings import saved_per_goal
from ledger import AccountKind, AccountRef, JournalEntry, Money, Posting, holding_cents
from rules.business_days import next_business_day

CREATED_BY = "ending"
REASON_RELEASE = "exit.release_reserved"
REASON_SAVINGS = "exit.savings_release"
REASON_ADVANCE = "exit.advance_settled"
REASON_CLAIM = "exit.advance_claim"
REASON_PAYOUT = "exit.payout"


@dataclass
class ClosingLine:
    """One closing entry, as the final statement lists it."""

    key: str
    booking_date: str
    reason_code: str
    explanation: str
    amount_cents: int

    def as_dict(self) -> dict[str, object]:
        return {
            "key": self.key,
            "booking_date": self.booking_date,
            "reason_code": self.reason_code,
            "explanation": self.explanation,
            "amount_cents": self.amount_cents,
        }


@dataclass
class Payout:
    source: str  # "buffer" or "available"
    amount_cents: int
    iban: str
    execution_date: str
    end_to_end_id: str

    def as_dict(self) -> dict[str, object]:
        return {
            "source": self.source,
            "amount_cents": self.amount_cents,
            "iban": self.iban,
            "execution_date": self.execution_date,
            "end_to_end_id": self.end_to_end_id,
        }


@dataclass
class SettlementResult:
    start_holdings: dict[str, int] = field(default_factory=dict)
    lines: list[ClosingLine] = field(default_factory=list)
    payouts: list[Payout] = field(default_factory=list)
    advance_debt_cents: int = 0
    advance_settled_cents: int = 0
    remaining_debt_cents: int = 0
    savings_cents: int = 0
    buffer_paid_cents: int = 0


def holdings(session: Session, participant_id: int) -> dict[AccountKind, int]:
    """What each of the participant's accounts holds (buffer_advance: zero or negative)."""
    raw = account_balances(session, participant_id=participant_id)
    found: dict[AccountKind, int] = {
        kind: 0 for kind in AccountKind if kind is not AccountKind.BANK
    }
    for ref, cents in raw.items():
        found[ref.kind] = holding_cents(ref, cents)
    return found


def _ref(participant_id: int, kind: AccountKind) -> AccountRef:
    return AccountRef.of_participant(participant_id, kind)


def _move(
    participant_id: int,
    key: str,
    day: dt.date,
    reason: str,
    source: AccountKind,
    target: AccountKind,
    cents: int,
    nl: str,
    en: str,
) -> JournalEntry:
    """Holding moves from `source` to `target` (credit-normal accounts: debit the source)."""
    return JournalEntry(
        idempotency_key=key,
        booking_date=day,
        reason_code=reason,
        explanation=nl,
        explanation_en=en,
        postings=(
            Posting(_ref(participant_id, source), cents),
            Posting(_ref(participant_id, target), -cents),
        ),
        metadata=(("participant_id", str(participant_id)),),
    )


def settle_accounts(
    session: Session,
    end: ParticipationEnd,
    *,
    today: dt.date,
    debtor_iban: str,
    actor_user_id: int,
    payee_name: str,
    payee_iban: str | None,
) -> SettlementResult:
    """Book steps 2-5 of the module docstring; the caller has run the engine (step 1)."""
    pid = end.participant_id
    prefix = f"exit:{pid}"
    result = SettlementResult()
    held = holdings(session, pid)
    result.start_holdings = {str(kind): cents for kind, cents in held.items() if cents}
    money_to_pay = (
        held[AccountKind.AVAILABLE] + held[AccountKind.RESERVED] + (held[AccountKind.SAVINGS])
    )
    leftover = money_to_pay + max(0, held[AccountKind.BUFFER] + held[AccountKind.BUFFER_ADVANCE])
    if leftover > 0 and not payee_iban:
        raise Conflict(
            f"participant {pid} has no own IBAN to pay the remaining money to; "
            "record it first, then the settlement runs again"
        )

    def book(entry: JournalEntry) -> None:
        post_entry(session, entry, created_by=CREATED_BY)
        result.lines.append(
            ClosingLine(
                entry.idempotency_key,
                entry.booking_date.isoformat(),
                entry.reason_code,
                entry.explanation,
                entry.amount_cents(),
            )
        )

    reserved = held[AccountKind.RESERVED]
    if reserved > 0:
        euro = Money(reserved)
        book(
            _move(
                pid,
                f"{prefix}:release_reserved",
                today,
                REASON_RELEASE,
                AccountKind.RESERVED,
                AccountKind.AVAILABLE,
                reserved,
                f"Einde deelname: {euro} dat klaarstond voor latere rekeningen komt vrij. "
                "Die rekeningen betaal je vanaf nu zelf.",
                f"End of participation: {euro} set aside for later bills is released. "
                "You pay those bills yourself from now on.",
            )
        )
    per_goal = saved_per_goal(session, pid)
    for goal_id, saved in sorted(per_goal.items()):
        if saved <= 0:
            continue
        euro = Money(saved)
        entry = _move(
            pid,
            f"{prefix}:savings:{goal_id}",
            today,
            REASON_SAVINGS,
            AccountKind.SAVINGS,
            AccountKind.AVAILABLE,
            saved,
            f"Einde deelname: je spaargeld voor spaardoel {goal_id} ({euro}) gaat mee "
            "naar je eigen rekening.",
            f"End of participation: your savings for goal {goal_id} ({euro}) go with you "
            "to your own account.",
        )
        posted = post_entry(session, entry, created_by=CREATED_BY)
        result.lines.append(
            ClosingLine(
                entry.idempotency_key, today.isoformat(), REASON_SAVINGS, entry.explanation, saved
            )
        )
        if posted.created:
            session.add(
                SavingsMovement(
                    goal_id=goal_id,
                    participant_id=pid,
                    journal_entry_id=posted.entry_id,
                    amount_cents=-saved,
                    created_by=actor_user_id,
                )
            )
        result.savings_cents += saved
    session.flush()
    held = holdings(session, pid)
    if held[AccountKind.SAVINGS] != 0:
        # Savings outside any goal cannot happen (set-aside always names a goal); refuse
        # rather than leave money behind.
        raise Conflict(f"participant {pid}: savings do not add up to the savings goals")

    debt = -held[AccountKind.BUFFER_ADVANCE]
    result.advance_debt_cents = debt
    if debt > 0:
        settled = min(debt, held[AccountKind.BUFFER])
        if settled > 0:
            euro = Money(settled)
            book(
                _move(
                    pid,
                    f"{prefix}:advance_settled",
                    today,
                    REASON_ADVANCE,
                    AccountKind.BUFFER,
                    AccountKind.BUFFER_ADVANCE,
                    settled,
                    f"Einde deelname: het voorschot van de gemeente voor je buffer wordt "
                    f"terugbetaald uit je buffer: {euro}.",
                    f"End of participation: the municipality's advance for your buffer is "
                    f"repaid from your buffer: {euro}.",
                )
            )
        remaining = debt - settled
        result.advance_settled_cents = settled
        result.remaining_debt_cents = remaining
        if remaining > 0:
            euro = Money(remaining)
            book(
                JournalEntry(
                    idempotency_key=f"{prefix}:advance_claim",
                    booking_date=today,
                    reason_code=REASON_CLAIM,
                    explanation=(
                        f"Einde deelname: {euro} van het voorschot kon niet uit je buffer worden "
                        "terugbetaald. Dat bedrag blijf je de gemeente schuldig; je maakt er "
                        "een afspraak over met je hulpverlener."
                    ),
                    explanation_en=(
                        f"End of participation: {euro} of the advance could not be repaid from "
                        "your buffer. You still owe this to the municipality; you agree how to "
                        "repay it with your caseworker."
                    ),
                    postings=(
                        Posting(AccountRef(AccountKind.ADVANCE_CLAIM), remaining),
                        Posting(_ref(pid, AccountKind.BUFFER_ADVANCE), -remaining),
                    ),
                    metadata=(("participant_id", str(pid)),),
                )
            )

    held = holdings(session, pid)
    execution = next_business_day(today)
    for source, cents, nl, en, remittance in (
        (
            AccountKind.BUFFER,
            held[AccountKind.BUFFER],
            "Einde deelname: je buffer ({euro}) wordt betaald op je eigen rekening.",
            "End of participation: your buffer ({euro}) is paid to your own account.",
            "Eindafrekening Huishoudboekje: je buffer",
        ),
        (
            AccountKind.AVAILABLE,
            held[AccountKind.AVAILABLE],
            "Einde deelname: je beschikbare geld en spaargeld ({euro}) wordt betaald op je "
            "eigen rekening.",
            "End of participation: your available money and savings ({euro}) are paid to your "
            "own account.",
            "Eindafrekening Huishoudboekje: je geld en spaargeld",
        ),
    ):
        if cents <= 0:
            continue
        assert payee_iban is not None
        euro = Money(cents)
        entry = _move(
            pid,
            f"{prefix}:payout:{source}",
            today,
            REASON_PAYOUT,
            source,
            AccountKind.PAYABLE,
            cents,
            nl.format(euro=euro),
            en.format(euro=euro),
        )
        book(entry)
        instruction = create_payment_instruction(
            session,
            entry=entry,
            participant_id=pid,
            kind="living_money",
            creditor_name=payee_name,
            creditor_iban=payee_iban,
            amount_cents=cents,
            due_date=execution,
            execution_date=execution,
            remittance=remittance,
            creditor_reference=None,
            source_kind=str(source),
            debtor_iban=debtor_iban,
        )
        result.payouts.append(
            Payout(
                str(source),
                cents,
                instruction.creditor_iban,
                execution.isoformat(),
                instruction.end_to_end_id,
            )
        )
        if source is AccountKind.BUFFER:
            result.buffer_paid_cents = cents
    session.flush()
    left = {
        kind: cents
        for kind, cents in holdings(session, pid).items()
        if cents and kind is not AccountKind.PAYABLE and kind is not AccountKind.ADVANCE_CLAIM
    }
    if left:
        raise Conflict(f"participant {pid}: accounts not closed to zero after settlement: {left}")
    return result


def participant_payee(session: Session, participant_id: int) -> tuple[str, str | None]:
    participant = session.get(Participant, participant_id)
    if participant is None:
        raise Conflict(f"participant {participant_id} does not exist")
    return participant.display_name, participant.own_iban


def open_payable_cents(session: Session, participant_id: int) -> int:
    return holdings(session, participant_id)[AccountKind.PAYABLE]


__all__ = [
    "ClosingLine",
    "Payout",
    "SettlementResult",
    "holdings",
    "open_payable_cents",
    "participant_payee",
    "settle_accounts",
]
