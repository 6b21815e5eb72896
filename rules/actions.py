"""Actions: what the engine decides for one participant on one day.

Every action names its rule (`rule_id`), the plan version it followed, a stable
idempotency key, an amount in cents and one sentence in Dutch (B1) and English.
Money-moving actions turn into a `ledger.JournalEntry` on the participant's
accounts; payments also describe the payment instruction for the SEPA batch.

Movements (holding view, "from -> to"):
    ReserveFixedCost     available -> reserved
    ReleaseReservation   reserved  -> available
    DrawOnBuffer         buffer    -> reserved   (a fixed cost that is short)
                         buffer    -> available  (living money up to the floor)
    PayFixedCost         reserved  -> payable    + payment instruction to the creditor
    RefillBuffer         available -> buffer     (gives back what was drawn)
    BuildUpBuffer        available -> buffer     (towards the target)
    RepayAdvance         available -> buffer_advance
    PayLivingMoney       available -> payable    + payment instruction to the participant
    HandOverFixedCost    reserved  -> payable    + payment instruction to the participant
                         (a fixed cost they pay themselves, zelfregie step 3)
    PayOneOffPayout      available -> payable    + payment instruction to the participant
                         (a one-off extra payout, co-decision `extra_payout`; a
                         DrawOnBuffer buffer -> available first when available is short)
    RaiseAlert           no movement

A draw puts the money into the reservation rather than straight into `payable`, so
that a payment is always one movement of the full amount that matches its one
payment instruction, while the draw is its own entry with its own explanation.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import hashlib
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, TypeAdapter

from ledger import AccountKind, AccountRef, JournalEntry, Posting
from rules.plan import PaymentReference, PriorityClass
from rules.state import (
    META_AGREEMENT_ID,
    META_CONFIRM_BY,
    META_DUE_DATE,
    META_MONTH,
    META_PAY_ON,
    META_PAYOUT_DATE,
    META_PAYOUT_ID,
    META_PLAN_VERSION,
    META_PURPOSE,
    META_RULE_ID,
)

# SEPA EndToEndId: at most 35 characters from the restricted Latin set.
END_TO_END_ID_LENGTH = 35
END_TO_END_ID_PREFIX = "HB"


def end_to_end_id(idempotency_key: str) -> str:
    """A SEPA EndToEndId derived from the idempotency key: same key, same id.

    'HB' + 33 upper-case hex digits of SHA-256 (132 bits: collisions are not a concern).
    """
    digest = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest().upper()
    return END_TO_END_ID_PREFIX + digest[: END_TO_END_ID_LENGTH - len(END_TO_END_ID_PREFIX)]


@dataclass(frozen=True, slots=True)
class PaymentInstruction:
    """What the backend stores as a payment instruction for the next SEPA batch."""

    idempotency_key: str
    end_to_end_id: str
    participant_id: int
    creditor_name: str
    creditor_iban: str
    amount_cents: int
    reference: PaymentReference
    requested_execution_date: dt.date
    due_date: dt.date | None


@functools.lru_cache(maxsize=4096)
def _participant_account(participant_id: int, kind: AccountKind) -> AccountRef:
    """Participant accounts are immutable values; the cycle books several entries per
    participant on the same few accounts, one participant after the other, so a small
    cache saves building (and checking) them again for every posting."""
    return AccountRef.of_participant(participant_id, kind)


class AlertKind(enum.StrEnum):
    INCOME_MISSING = "income_missing"
    INCOME_AMOUNT_UNEXPECTED = "income_amount_unexpected"
    BUFFER_USED = "buffer_used"
    BUFFER_BELOW_TARGET = "buffer_below_target"
    ARREARS = "arrears"
    ADVANCE_NOT_REPAID = "advance_not_repaid"
    LIVING_MONEY_BELOW_AGREED = "living_money_below_agreed"
    SELF_PAYMENT_MISSED = "self_payment_missed"
    HANDOVER_RETURNED = "handover_returned"
    ONE_OFF_PAYOUT_SHORT = "one_off_payout_short"


class Severity(enum.StrEnum):
    """Where an alert lands in the caseworker's queue: urgent ones on top."""

    INFO = "info"
    WARNING = "warning"
    URGENT = "urgent"


class _ActionBase(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    rule_id: str
    participant_id: StrictInt
    plan_version: StrictInt
    on_date: dt.date
    idempotency_key: Annotated[str, Field(min_length=1, max_length=200)]
    amount_cents: Annotated[StrictInt, Field(ge=0)]
    explanation_nl: Annotated[str, Field(min_length=1, max_length=500)]
    explanation_en: Annotated[str, Field(min_length=1, max_length=500)]

    def _movement(self) -> tuple[AccountKind, AccountKind] | None:
        """(from, to) in the owner's view; None for an action that moves no money."""
        return None

    def _metadata(self) -> tuple[tuple[str, str], ...]:
        return ()

    def to_journal_entry(self, booking_date: dt.date) -> JournalEntry | None:
        """The ledger entry for this action; None for an alert."""
        movement = self._movement()
        if movement is None:
            return None
        source, destination = movement
        # Credit-normal accounts: a debit lowers the holding, a credit raises it.
        postings = (
            Posting(_participant_account(self.participant_id, source), self.amount_cents),
            Posting(_participant_account(self.participant_id, destination), -self.amount_cents),
        )
        metadata = (
            (META_RULE_ID, self.rule_id),
            (META_PLAN_VERSION, str(self.plan_version)),
            *self._metadata(),
        )
        return JournalEntry(
            idempotency_key=self.idempotency_key,
            booking_date=booking_date,
            reason_code=self.rule_id,
            explanation=self.explanation_nl,
            explanation_en=self.explanation_en,
            postings=postings,
            metadata=tuple(sorted(metadata)),
        )

    def payment_instruction(self) -> PaymentInstruction | None:
        """The instruction for the SEPA batch; None unless the action pays someone."""
        return None

    def _instruction(
        self,
        *,
        payee_name: str,
        payee_iban: str,
        reference: PaymentReference,
        execution_date: dt.date,
        due_date: dt.date | None,
    ) -> PaymentInstruction:
        """The one way a paying action describes its instruction: this action's key,
        participant and amount, paid to `payee_name` / `payee_iban`."""
        return PaymentInstruction(
            idempotency_key=self.idempotency_key,
            end_to_end_id=end_to_end_id(self.idempotency_key),
            participant_id=self.participant_id,
            creditor_name=payee_name,
            creditor_iban=payee_iban,
            amount_cents=self.amount_cents,
            reference=reference,
            requested_execution_date=execution_date,
            due_date=due_date,
        )


class ReserveFixedCost(_ActionBase):
    rule_id: Literal["fixed_cost.reserve"] = "fixed_cost.reserve"
    agreement_id: str
    due_date: dt.date

    def _movement(self) -> tuple[AccountKind, AccountKind]:
        return AccountKind.AVAILABLE, AccountKind.RESERVED

    def _metadata(self) -> tuple[tuple[str, str], ...]:
        return ((META_AGREEMENT_ID, self.agreement_id), (META_DUE_DATE, self.due_date.isoformat()))


class ReleaseReservation(_ActionBase):
    rule_id: Literal["fixed_cost.release"] = "fixed_cost.release"
    agreement_id: str
    due_date: dt.date

    def _movement(self) -> tuple[AccountKind, AccountKind]:
        return AccountKind.RESERVED, AccountKind.AVAILABLE

    def _metadata(self) -> tuple[tuple[str, str], ...]:
        return ((META_AGREEMENT_ID, self.agreement_id), (META_DUE_DATE, self.due_date.isoformat()))


class DrawOnBuffer(_ActionBase):
    rule_id: Literal["buffer.draw"] = "buffer.draw"
    purpose: Literal["fixed_cost", "living_money", "one_off_payout"]
    agreement_id: str | None = None
    due_date: dt.date | None = None
    payout_date: dt.date | None = None

    def _movement(self) -> tuple[AccountKind, AccountKind]:
        if self.purpose == "fixed_cost":
            return AccountKind.BUFFER, AccountKind.RESERVED
        return AccountKind.BUFFER, AccountKind.AVAILABLE

    def _metadata(self) -> tuple[tuple[str, str], ...]:
        found: list[tuple[str, str]] = [(META_PURPOSE, self.purpose)]
        if self.agreement_id is not None:
            found.append((META_AGREEMENT_ID, self.agreement_id))
        if self.due_date is not None:
            found.append((META_DUE_DATE, self.due_date.isoformat()))
        if self.payout_date is not None:
            found.append((META_PAYOUT_DATE, self.payout_date.isoformat()))
        return tuple(found)


class PayFixedCost(_ActionBase):
    rule_id: Literal["fixed_cost.pay"] = "fixed_cost.pay"
    agreement_id: str
    due_date: dt.date
    execution_date: dt.date
    creditor_name: str
    creditor_iban: str
    reference: PaymentReference
    priority_class: PriorityClass
    late: bool = False

    def _movement(self) -> tuple[AccountKind, AccountKind]:
        return AccountKind.RESERVED, AccountKind.PAYABLE

    def _metadata(self) -> tuple[tuple[str, str], ...]:
        return ((META_AGREEMENT_ID, self.agreement_id), (META_DUE_DATE, self.due_date.isoformat()))

    def payment_instruction(self) -> PaymentInstruction:
        return self._instruction(
            payee_name=self.creditor_name,
            payee_iban=self.creditor_iban,
            reference=self.reference,
            execution_date=self.execution_date,
            due_date=self.due_date,
        )


class HandOverFixedCost(_ActionBase):
    """Zelfregie step 3: the reserved amount of a fixed cost the participant pays
    themselves goes to their own account on the execution date. Not new money: the
    same reservation a payment to the creditor would have used. The participant pays
    the creditor and confirms it by `confirm_by`."""

    rule_id: Literal["fixed_cost.handover"] = "fixed_cost.handover"
    agreement_id: str
    due_date: dt.date
    confirm_by: dt.date
    execution_date: dt.date
    payee_name: str
    payee_iban: str
    creditor_name: str
    reference: PaymentReference

    def _movement(self) -> tuple[AccountKind, AccountKind]:
        return AccountKind.RESERVED, AccountKind.PAYABLE

    def _metadata(self) -> tuple[tuple[str, str], ...]:
        return (
            (META_AGREEMENT_ID, self.agreement_id),
            (META_DUE_DATE, self.due_date.isoformat()),
            (META_CONFIRM_BY, self.confirm_by.isoformat()),
        )

    def payment_instruction(self) -> PaymentInstruction:
        return self._instruction(
            payee_name=self.payee_name,
            payee_iban=self.payee_iban,
            reference=self.reference,
            execution_date=self.execution_date,
            due_date=self.due_date,
        )


class RefillBuffer(_ActionBase):
    rule_id: Literal["buffer.refill"] = "buffer.refill"

    def _movement(self) -> tuple[AccountKind, AccountKind]:
        return AccountKind.AVAILABLE, AccountKind.BUFFER


class BuildUpBuffer(_ActionBase):
    rule_id: Literal["buffer.build_up"] = "buffer.build_up"
    month: dt.date

    def _movement(self) -> tuple[AccountKind, AccountKind]:
        return AccountKind.AVAILABLE, AccountKind.BUFFER

    def _metadata(self) -> tuple[tuple[str, str], ...]:
        return ((META_MONTH, self.month.isoformat()),)


class RepayAdvance(_ActionBase):
    rule_id: Literal["advance.repay"] = "advance.repay"
    month: dt.date

    def _movement(self) -> tuple[AccountKind, AccountKind]:
        return AccountKind.AVAILABLE, AccountKind.BUFFER_ADVANCE

    def _metadata(self) -> tuple[tuple[str, str], ...]:
        return ((META_MONTH, self.month.isoformat()),)


class PayLivingMoney(_ActionBase):
    rule_id: Literal["living_money.pay"] = "living_money.pay"
    payout_date: dt.date
    execution_date: dt.date
    payee_name: str
    payee_iban: str
    reference: PaymentReference
    agreed_amount_cents: Annotated[StrictInt, Field(ge=0)]

    def _movement(self) -> tuple[AccountKind, AccountKind]:
        return AccountKind.AVAILABLE, AccountKind.PAYABLE

    def _metadata(self) -> tuple[tuple[str, str], ...]:
        return ((META_PAYOUT_DATE, self.payout_date.isoformat()),)

    def payment_instruction(self) -> PaymentInstruction:
        return self._instruction(
            payee_name=self.payee_name,
            payee_iban=self.payee_iban,
            reference=self.reference,
            execution_date=self.execution_date,
            due_date=None,
        )


class PayOneOffPayout(_ActionBase):
    """A one-off extra payout to the participant's own account (`OneOffPayout` in the
    plan), paid once: its key is made of the payout id alone."""

    rule_id: Literal["living_money.one_off"] = "living_money.one_off"
    payout_id: str
    pay_on: dt.date
    execution_date: dt.date
    payee_name: str
    payee_iban: str
    reference: PaymentReference

    def _movement(self) -> tuple[AccountKind, AccountKind]:
        return AccountKind.AVAILABLE, AccountKind.PAYABLE

    def _metadata(self) -> tuple[tuple[str, str], ...]:
        return ((META_PAYOUT_ID, self.payout_id), (META_PAY_ON, self.pay_on.isoformat()))

    def payment_instruction(self) -> PaymentInstruction:
        return self._instruction(
            payee_name=self.payee_name,
            payee_iban=self.payee_iban,
            reference=self.reference,
            execution_date=self.execution_date,
            due_date=None,
        )


class RaiseAlert(_ActionBase):
    """Something for the caseworker. `amount_cents` is the amount the alert is about."""

    rule_id: Literal["alert"] = "alert"
    alert_kind: AlertKind
    severity: Severity
    agreement_id: str | None = None
    subject_date: dt.date | None = None


Action = Annotated[
    ReserveFixedCost
    | ReleaseReservation
    | DrawOnBuffer
    | PayFixedCost
    | HandOverFixedCost
    | RefillBuffer
    | BuildUpBuffer
    | RepayAdvance
    | PayLivingMoney
    | PayOneOffPayout
    | RaiseAlert,
    Field(discriminator="rule_id"),
]
ActionList: TypeAdapter[list[Action]] = TypeAdapter(list[Action])
