"""What the engine knows about a participant besides the plan: balances and open items.

`Balances` are the participant's holdings in cents from the owner's view (what the
municipality holds for them); `buffer_advance` is zero or negative (a debt).

`OpenItems` is the part of the past the balances do not show: which money in
`reserved` belongs to which due date, which due dates were already paid, which
incomes arrived, what was drawn from the buffer and not yet refilled, which living
money was paid, what was set aside this month and which alerts were raised.

The backend builds both from the ledger: `Balances.from_ledger` from folded
balances, `open_items_from_entries` (or `OpenItemsBuilder`) from the journal
entries the engine produced, whose metadata carry everything needed. Income
entries written by the import must carry `income_metadata(...)`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from ledger import AccountKind, AccountRef, JournalEntry, holding_cents
from rules.errors import RulesError
from rules.schedules import month_start, shift_months

# How far back the engine looks for unpaid due dates (arrears it keeps trying to pay)
# and for incomes that did not arrive. Older arrears are the caseworker's to resolve.
LOOKBACK_DAYS = 92
# Living-money payouts missed because the daily cycle did not run are caught up
# for at most this many days.
LIVING_MONEY_CATCH_UP_DAYS = 6

# Metadata keys on journal entries written by the engine (and by the import for income).
META_RULE_ID = "rule_id"
META_PLAN_VERSION = "plan_version"
META_AGREEMENT_ID = "agreement_id"
META_DUE_DATE = "due_date"
META_PAYOUT_DATE = "payout_date"
META_MONTH = "month"
META_PURPOSE = "purpose"
META_EXPECTED_DATE = "expected_date"
META_CONFIRM_BY = "confirm_by"
META_PAYOUT_ID = "payout_id"
META_PAY_ON = "pay_on"
# Metadata backend.payments puts on the entry that books a returned or rejected payment
# (`payment.returned` / `payment.rejected`), see `payment_outcome_metadata`.
META_INSTRUCTION_ID = "instruction_id"
META_END_TO_END_ID = "end_to_end_id"
META_PAYMENT_RULE = "payment_rule"
META_SOURCE_KIND = "source_kind"
META_RETURN_REASON = "return_reason"

# Zelfregie step 3: a fixed cost the participant pays themselves is to be confirmed
# paid (in the app, or by the caseworker) at most this many days after its due date.
SELF_PAYMENT_CONFIRM_DAYS = 7
REASON_HANDOVER = "fixed_cost.handover"

# Reason codes the open-items builder reads. The engine's own are its rule ids;
# the other two are written by the backend.
REASON_INCOME_MATCHED = "income.matched"
REASON_PAYMENT_RETURNED = "fixed_cost.returned"
# A handover (zelfregie step 3) the bank returned: the money is back in the reservation
# and the engine pays the bill to the creditor itself (written by the backend's cycle).
REASON_HANDOVER_RETURNED = "fixed_cost.handover_returned"
# A one-off extra payout (co-decision `extra_payout`), the engine's rule id.
REASON_ONE_OFF_PAYOUT = "living_money.one_off"

Cents = Annotated[StrictInt, Field(ge=0)]
CentsPositive = Annotated[StrictInt, Field(gt=0)]


class Balances(BaseModel):
    """A participant's holdings in cents (owner's view)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    available_cents: StrictInt = 0
    reserved_cents: StrictInt = 0
    buffer_cents: StrictInt = 0
    payable_cents: StrictInt = 0
    buffer_advance_cents: StrictInt = 0

    @classmethod
    def from_ledger(cls, participant_id: int, raw_balances: Mapping[AccountRef, int]) -> Balances:
        """Holdings of one participant from raw (debit-positive) ledger balances."""

        def holding(kind: AccountKind) -> int:
            account = AccountRef.of_participant(participant_id, kind)
            return holding_cents(account, raw_balances.get(account, 0))

        return cls(
            available_cents=holding(AccountKind.AVAILABLE),
            reserved_cents=holding(AccountKind.RESERVED),
            buffer_cents=holding(AccountKind.BUFFER),
            payable_cents=holding(AccountKind.PAYABLE),
            buffer_advance_cents=holding(AccountKind.BUFFER_ADVANCE),
        )

    def problems(self) -> list[str]:
        """What makes these balances impossible for the engine to work with."""
        found = [
            f"{name} holds {cents} cents, below zero"
            for name, cents in (
                ("available", self.available_cents),
                ("reserved", self.reserved_cents),
                ("buffer", self.buffer_cents),
                ("payable", self.payable_cents),
            )
            if cents < 0
        ]
        if self.buffer_advance_cents > 0:
            found.append(
                f"buffer_advance holds {self.buffer_advance_cents} cents; it can only be a debt"
            )
        return found


class _Item(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Reservation(_Item):
    """Money in `reserved` earmarked for one due date of one fixed cost."""

    agreement_id: str
    due_date: dt.date
    amount_cents: CentsPositive


class PaymentMade(_Item):
    """A due date that was paid (instructed). A returned payment stays listed: it is
    never retried automatically, and its money stays reserved for the caseworker."""

    agreement_id: str
    due_date: dt.date
    amount_cents: CentsPositive


class IncomeReceived(_Item):
    """Income matched to an income agreement, for the period with `expected_date`."""

    agreement_id: str
    expected_date: dt.date
    received_on: dt.date
    amount_cents: CentsPositive


class LivingMoneyPaid(_Item):
    payout_date: dt.date
    amount_cents: Cents


class MonthAmount(_Item):
    """An amount set aside in one calendar month (`month` is its first day)."""

    month: dt.date
    amount_cents: CentsPositive


class SelfPayment(_Item):
    """A fixed cost handed over to the participant to pay themselves (zelfregie step 3):
    to be confirmed paid by `confirm_by`. The backend adds confirmations
    (`OpenItemsBuilder.confirm_self_payment`); they are not journal entries."""

    agreement_id: str
    due_date: dt.date
    amount_cents: CentsPositive
    confirm_by: dt.date
    confirmed: bool = False

    def missed(self, today: dt.date) -> bool:
        return not self.confirmed and self.confirm_by < today


class OneOffPaid(_Item):
    """A one-off payout of the plan that was paid (instructed): never paid again."""

    payout_id: str
    pay_on: dt.date
    amount_cents: CentsPositive


class HandoverReturned(_Item):
    """A handed-over cost whose payment to the participant came back from the bank: its
    money is reserved again and the engine pays the creditor directly."""

    agreement_id: str
    due_date: dt.date
    amount_cents: CentsPositive


class OpenItems(BaseModel):
    """The engine's view of the past beyond balances. Build it with `open_items_from_entries`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reservations: tuple[Reservation, ...] = ()
    payments: tuple[PaymentMade, ...] = ()
    incomes: tuple[IncomeReceived, ...] = ()
    buffer_drawn_not_refilled_cents: Cents = 0
    living_money_paid: tuple[LivingMoneyPaid, ...] = ()
    buffer_build_ups: tuple[MonthAmount, ...] = ()
    advance_repayments: tuple[MonthAmount, ...] = ()
    alerts_raised: tuple[str, ...] = ()
    self_payments: tuple[SelfPayment, ...] = ()
    one_off_paid: tuple[OneOffPaid, ...] = ()
    handovers_returned: tuple[HandoverReturned, ...] = ()

    def reserved_by_due_date(self) -> dict[tuple[str, dt.date], int]:
        found: dict[tuple[str, dt.date], int] = defaultdict(int)
        for reservation in self.reservations:
            found[(reservation.agreement_id, reservation.due_date)] += reservation.amount_cents
        return dict(found)

    def paid_due_dates(self) -> frozenset[tuple[str, dt.date]]:
        return frozenset((payment.agreement_id, payment.due_date) for payment in self.payments)

    def income_received_cents(self) -> dict[tuple[str, dt.date], int]:
        found: dict[tuple[str, dt.date], int] = defaultdict(int)
        for income in self.incomes:
            found[(income.agreement_id, income.expected_date)] += income.amount_cents
        return dict(found)

    def living_money_paid_dates(self) -> frozenset[dt.date]:
        return frozenset(item.payout_date for item in self.living_money_paid)

    def built_up_in_month_cents(self, day: dt.date) -> int:
        month = month_start(day)
        return sum(item.amount_cents for item in self.buffer_build_ups if item.month == month)

    def repaid_in_month_cents(self, day: dt.date) -> int:
        month = month_start(day)
        return sum(item.amount_cents for item in self.advance_repayments if item.month == month)


def income_metadata(agreement_id: str, expected_date: dt.date) -> tuple[tuple[str, str], ...]:
    """Metadata the import puts on an income entry (reason code `income.matched`)."""
    return (
        (META_AGREEMENT_ID, agreement_id),
        (META_EXPECTED_DATE, expected_date.isoformat()),
    )


def returned_payment_metadata(agreement_id: str, due_date: dt.date) -> tuple[tuple[str, str], ...]:
    """Metadata on the entry that moves a returned payment back to `reserved`
    (reason code `fixed_cost.returned`)."""
    return ((META_AGREEMENT_ID, agreement_id), (META_DUE_DATE, due_date.isoformat()))


def payment_outcome_metadata(
    *,
    instruction_id: int,
    end_to_end_id: str,
    payment_rule: str,
    source_kind: str,
    agreement_id: str | None,
    due_date: str | None,
    return_reason: str | None,
) -> tuple[tuple[str, str], ...]:
    """Metadata on the entry that books a returned or rejected payment: which
    instruction, which rule paid it (`fixed_cost.pay`, `fixed_cost.handover`, ...), which
    account the money went back to, the fixed cost and due date (when it was one) and
    the bank's reason code. The daily cycle reads these, not the entry's key."""
    found: list[tuple[str, str]] = [
        (META_INSTRUCTION_ID, str(instruction_id)),
        (META_END_TO_END_ID, end_to_end_id),
        (META_PAYMENT_RULE, payment_rule),
        (META_SOURCE_KIND, source_kind),
    ]
    if agreement_id is not None and due_date is not None:
        found += [(META_AGREEMENT_ID, agreement_id), (META_DUE_DATE, due_date)]
    if return_reason:
        found.append((META_RETURN_REASON, return_reason))
    return tuple(sorted(found))


_Effect = tuple[str, tuple[tuple[str, str], ...], int, dt.date]


class OpenItemsBuilder:
    """Folds journal entries, in booking order, into open items.

    Entries the builder does not know (bank imports without metadata, settlements,
    the buffer advance) are ignored. A reversal undoes the entry it reverses.
    """

    def __init__(self) -> None:
        self._reserved: dict[tuple[str, dt.date], int] = defaultdict(int)
        self._payments: dict[tuple[str, dt.date], int] = {}
        self._incomes: list[IncomeReceived] = []
        self._drawn_cents = 0
        self._living_money: dict[dt.date, int] = {}
        self._build_ups: dict[dt.date, int] = defaultdict(int)
        self._repayments: dict[dt.date, int] = defaultdict(int)
        self._alerts: set[str] = set()
        self._effects: dict[str, _Effect] = {}
        self._handovers: dict[tuple[str, dt.date], tuple[int, dt.date]] = {}
        self._confirmed: set[tuple[str, dt.date]] = set()
        self._one_off: dict[str, tuple[dt.date, int]] = {}
        self._handovers_returned: dict[tuple[str, dt.date], int] = {}

    @classmethod
    def starting_from(cls, open_items: OpenItems) -> OpenItemsBuilder:
        builder = cls()
        for reservation in open_items.reservations:
            builder._reserved[(reservation.agreement_id, reservation.due_date)] += (
                reservation.amount_cents
            )
        for payment in open_items.payments:
            builder._payments[(payment.agreement_id, payment.due_date)] = payment.amount_cents
        builder._incomes.extend(open_items.incomes)
        builder._drawn_cents = open_items.buffer_drawn_not_refilled_cents
        for paid in open_items.living_money_paid:
            builder._living_money[paid.payout_date] = paid.amount_cents
        for item in open_items.buffer_build_ups:
            builder._build_ups[item.month] += item.amount_cents
        for item in open_items.advance_repayments:
            builder._repayments[item.month] += item.amount_cents
        builder._alerts.update(open_items.alerts_raised)
        for handover in open_items.self_payments:
            key = (handover.agreement_id, handover.due_date)
            builder._handovers[key] = (handover.amount_cents, handover.confirm_by)
            if handover.confirmed:
                builder._confirmed.add(key)
        for one_off in open_items.one_off_paid:
            builder._one_off[one_off.payout_id] = (one_off.pay_on, one_off.amount_cents)
        for returned in open_items.handovers_returned:
            builder._handovers_returned[(returned.agreement_id, returned.due_date)] = (
                returned.amount_cents
            )
        return builder

    def confirm_self_payment(self, agreement_id: str, due_date: dt.date) -> None:
        """The participant (or the caseworker) confirmed the handed-over cost was paid."""
        self._confirmed.add((agreement_id, due_date))

    def add_alert(self, idempotency_key: str) -> None:
        self._alerts.add(idempotency_key)

    def add_entry(self, entry: JournalEntry) -> None:
        if entry.reverses_key is not None:
            original = self._effects.get(entry.reverses_key)
            if original is not None:
                reason, metadata, amount_cents, booking_date = original
                self._apply(reason, dict(metadata), -amount_cents, booking_date, entry)
            return
        effect: _Effect = (
            entry.reason_code,
            entry.metadata,
            entry.amount_cents(),
            entry.booking_date,
        )
        if self._apply(
            entry.reason_code, dict(entry.metadata), entry.amount_cents(), entry.booking_date, entry
        ):
            self._effects[entry.idempotency_key] = effect

    def _apply(
        self,
        reason: str,
        metadata: dict[str, str],
        amount_cents: int,
        booking_date: dt.date,
        entry: JournalEntry,
    ) -> bool:
        """Apply one entry's effect (negative amount: undo it). False if not ours."""

        def need(key: str) -> str:
            value = metadata.get(key)
            if value is None:
                raise RulesError(
                    f"entry {entry.idempotency_key!r} ({reason}) lacks metadata {key!r}"
                )
            return value

        def occurrence() -> tuple[str, dt.date]:
            return need(META_AGREEMENT_ID), dt.date.fromisoformat(need(META_DUE_DATE))

        if reason in ("fixed_cost.reserve", REASON_PAYMENT_RETURNED):
            self._reserved[occurrence()] += amount_cents
        elif reason == "fixed_cost.release":
            self._reserved[occurrence()] -= amount_cents
        elif reason == "buffer.draw":
            self._drawn_cents += amount_cents
            if need(META_PURPOSE) == "fixed_cost":
                self._reserved[occurrence()] += amount_cents
        elif reason == "fixed_cost.pay":
            key = occurrence()
            self._reserved[key] -= amount_cents
            if amount_cents > 0:
                self._payments[key] = amount_cents
            else:
                self._payments.pop(key, None)
        elif reason == REASON_HANDOVER:
            # Like a payment (the due date is done), plus an item to confirm.
            key = occurrence()
            self._reserved[key] -= amount_cents
            if amount_cents > 0:
                self._payments[key] = amount_cents
                confirm_by = dt.date.fromisoformat(need(META_CONFIRM_BY))
                self._handovers[key] = (amount_cents, confirm_by)
            else:
                self._payments.pop(key, None)
                self._handovers.pop(key, None)
        elif reason == REASON_HANDOVER_RETURNED:
            # The due date is open again with its money reserved; no confirmation is
            # expected any more. The engine pays the creditor directly.
            key = occurrence()
            self._reserved[key] += amount_cents
            if amount_cents > 0:
                self._payments.pop(key, None)
                self._handovers.pop(key, None)
                self._handovers_returned[key] = amount_cents
            else:
                self._handovers_returned.pop(key, None)
        elif reason == REASON_ONE_OFF_PAYOUT:
            payout_id = need(META_PAYOUT_ID)
            if amount_cents > 0:
                self._one_off[payout_id] = (dt.date.fromisoformat(need(META_PAY_ON)), amount_cents)
            else:
                self._one_off.pop(payout_id, None)
        elif reason == "buffer.refill":
            self._drawn_cents -= amount_cents
        elif reason == "buffer.build_up":
            self._build_ups[dt.date.fromisoformat(need(META_MONTH))] += amount_cents
        elif reason == "advance.repay":
            self._repayments[dt.date.fromisoformat(need(META_MONTH))] += amount_cents
        elif reason == "living_money.pay":
            payout_date = dt.date.fromisoformat(need(META_PAYOUT_DATE))
            if amount_cents > 0:
                self._living_money[payout_date] = amount_cents
            else:
                self._living_money.pop(payout_date, None)
        elif reason == REASON_INCOME_MATCHED:
            if META_AGREEMENT_ID not in metadata:
                return False  # income booked before the plan knew it: nothing to track
            self._add_income(
                need(META_AGREEMENT_ID),
                dt.date.fromisoformat(need(META_EXPECTED_DATE)),
                booking_date,
                amount_cents,
            )
        else:
            return False
        return True

    def _add_income(
        self, agreement_id: str, expected_date: dt.date, received_on: dt.date, amount_cents: int
    ) -> None:
        if amount_cents > 0:
            self._incomes.append(
                IncomeReceived(
                    agreement_id=agreement_id,
                    expected_date=expected_date,
                    received_on=received_on,
                    amount_cents=amount_cents,
                )
            )
            return
        for index, income in enumerate(self._incomes):
            if (income.agreement_id, income.expected_date, income.amount_cents) == (
                agreement_id,
                expected_date,
                -amount_cents,
            ):
                del self._incomes[index]
                return

    def build(self, today: dt.date | None = None) -> OpenItems:
        """The open items; with `today`, history the engine no longer looks at is left out."""
        if self._drawn_cents < 0 or any(cents < 0 for cents in self._reserved.values()):
            raise RulesError("journal entries undo more than was reserved or drawn")
        reserved_keys = {key for key, cents in self._reserved.items() if cents > 0}
        lookback_start = None if today is None else today - dt.timedelta(days=LOOKBACK_DAYS + 31)
        month_kept = None if today is None else shift_months(month_start(today), -1, 1)

        def recent(day: dt.date, since: dt.date | None) -> bool:
            return since is None or day >= since

        return OpenItems(
            reservations=tuple(
                Reservation(agreement_id=agreement_id, due_date=due_date, amount_cents=cents)
                for (agreement_id, due_date), cents in sorted(self._reserved.items())
                if cents > 0
            ),
            payments=tuple(
                PaymentMade(agreement_id=agreement_id, due_date=due_date, amount_cents=cents)
                for (agreement_id, due_date), cents in sorted(self._payments.items())
                if recent(due_date, lookback_start) or (agreement_id, due_date) in reserved_keys
            ),
            incomes=tuple(
                sorted(
                    (item for item in self._incomes if recent(item.expected_date, lookback_start)),
                    key=lambda item: (item.agreement_id, item.expected_date, item.received_on),
                )
            ),
            buffer_drawn_not_refilled_cents=self._drawn_cents,
            living_money_paid=tuple(
                LivingMoneyPaid(payout_date=payout_date, amount_cents=cents)
                for payout_date, cents in sorted(self._living_money.items())
                if recent(payout_date, lookback_start)
            ),
            buffer_build_ups=_month_amounts(self._build_ups, month_kept),
            advance_repayments=_month_amounts(self._repayments, month_kept),
            alerts_raised=tuple(sorted(self._alerts)),
            self_payments=tuple(
                SelfPayment(
                    agreement_id=agreement_id,
                    due_date=due_date,
                    amount_cents=cents,
                    confirm_by=confirm_by,
                    confirmed=(agreement_id, due_date) in self._confirmed,
                )
                for (agreement_id, due_date), (cents, confirm_by) in sorted(self._handovers.items())
                if recent(due_date, lookback_start)
            ),
            one_off_paid=tuple(
                OneOffPaid(payout_id=payout_id, pay_on=pay_on, amount_cents=cents)
                for payout_id, (pay_on, cents) in sorted(self._one_off.items())
                if recent(pay_on, lookback_start)
            ),
            handovers_returned=tuple(
                HandoverReturned(agreement_id=agreement_id, due_date=due_date, amount_cents=cents)
                for (agreement_id, due_date), cents in sorted(self._handovers_returned.items())
                if recent(due_date, lookback_start)
            ),
        )


def _month_amounts(amounts: dict[dt.date, int], since: dt.date | None) -> tuple[MonthAmount, ...]:
    return tuple(
        MonthAmount(month=month, amount_cents=cents)
        for month, cents in sorted(amounts.items())
        if cents > 0 and (since is None or month >= since)
    )


def open_items_from_entries(
    entries: Iterable[JournalEntry],
    *,
    alerts_raised: Iterable[str] = (),
    today: dt.date | None = None,
) -> OpenItems:
    """Open items from a participant's journal entries (in booking order) and raised alerts.

    Pass every entry the engine wrote for the participant plus income entries
    (`income.matched`) and returned payments (`fixed_cost.returned`); other entries
    are ignored. `today` trims history the engine does not need.
    """
    builder = OpenItemsBuilder()
    for entry in entries:
        builder.add_entry(entry)
    for key in alerts_raised:
        builder.add_alert(key)
    return builder.build(today)
