"""The daily rules engine: `evaluate(plan, balances, open_items, today) -> list[Action]`.

Pure and deterministic: the same inputs give the same actions, in the same order.
Applying the actions and evaluating again for the same day gives no new actions.

Every day, in this order:

1. Release reserved money that no longer belongs to a due date of the plan (an
   agreement ended, its schedule or amount changed). Money held for a returned
   payment stays reserved: the caseworker decides, nothing is retried.
2. Reserve (available -> reserved), in due-date order and then by priority, using
   only money that is there:
   a. everything executed before the next expected income, and the monthly saving
      installments of quarterly and yearly costs up to that date (a yearly tax:
      1/12 a month);
   b. then, from money the days until that income do not need (buffer refill, this
      month's buffer set-aside, the living money paid before it), what falls due up
      to the horizon end: the next expected income plus its window.
3. Pay (reserved -> payable) every fixed cost whose execution date (the last TARGET
   business day before the due date) has come, in priority order. When the
   reservation is short, the rest comes from available money and then from the
   buffer (alert "inkomen te laat" / "inkomen te laag"). A cost that cannot be paid
   in full is not paid at all: it becomes arrears with an urgent alert and is
   retried every day for LOOKBACK_DAYS; due-date order gives it the first claim on
   new money, and it is then paid late.
   A cost the participant pays themselves (`paid_by_participant`, zelfregie step 3)
   is handed over instead: the same reserved amount goes to their own account
   (`fixed_cost.handover`), to be confirmed paid by due date + SELF_PAYMENT_CONFIRM_DAYS.
   A handover the bank returned (`fixed_cost.handover_returned`, written by the backend)
   is not the participant's miss: that due date is paid to the creditor directly, with
   an alert `handover_returned` for the caseworker.
3b. One-off payouts of the plan (`Plan.one_off_payouts`, co-decision `extra_payout`)
   whose day has come, each once (`living_money.one_off:<payout id>`): to the
   participant's own account, from available money the fixed costs up to the horizon
   end do not need, then from the buffer (`buffer.draw`, purpose `one_off_payout`).
   One that would leave such a fixed cost short is not paid: alert
   `one_off_payout_short` (once) naming the shortfall, and tried again every day for
   LOOKBACK_DAYS. `one_off_payout_shortfall` is the same check, for the backend before
   a payout is granted.
4. Refill the buffer with what was drawn from it, before anything below.
5. Build up the buffer by the agreed amount per month until it is at target; once
   at target, repay the advance at its rate.
6. Pay living money on its schedule: what is available after 1-5, at most the
   agreed amount, never below zero; up to the floor from this month's set-aside and
   then from the buffer, when the buffer can carry it. A payout date is decided once
   (paid, or paid short with an alert); a day the cycle did not run is caught up.
7. Alerts: income missing after its window, income amount outside tolerance, a
   handed-over cost not confirmed paid by its deadline (`self_payment_missed`), and at
   month end buffer below target / advance not repaid when the month's plan was not
   met. Each alert once (its key is in open_items.alerts_raised afterwards).

Where MONEY-FLOW.md is contradictory or silent, these are the rules chosen (each has
a scenario test in tests/rules/):

- Horizon. "Until the next expected main income plus its window" would, on 25
  November, also reserve energy due 28 December, which the worked month does not
  do (and living money would then come out short every month). The horizon is
  therefore the next expected income of *any* income agreement that has not
  arrived, plus that income's window (25 Nov: zorgtoeslag 20 Dec + 5 = 25 Dec).
  An income missing beyond its window no longer limits the horizon; it raises an
  alert instead. This reproduces the worked month exactly.
- Window versus living money (step 2b). Reserving the whole window first takes the
  March rent out of the Monday payout before the 25 February benefit (25 Feb + 5 =
  2 March), so that payout would be skipped every February. Costs that are executed
  before the income is expected always come first; costs only inside the window
  give way to the living money of the days before the income. If the income is then
  late, the buffer pays, which is what the buffer is for.
- Reservations come before the buffer refill: a cost coming due is certain, a
  future late income is not, and refilling first would only draw again.
- Floor. The month's buffer build-up gives way to living money up to the floor
  before the buffer itself is drawn on, instead of topping up the buffer and
  drawing from it again the same month.
- Set-aside. Build-up and repayment together never exceed the larger of the two
  monthly rates, so the month the buffer reaches its target does not take both in
  full and the agreed living money stays what the plan says.
- Weekly living money. Every payout is the agreed weekly amount (monthly x 12 / 52,
  € 97,41 for Anna); the payouts of one calendar month together are monthly x 12 x
  n / 52 rounded (Money.allocate), the rounding difference going with the last
  payout(s) of the month.
- Plan changes. A due date from before the plan version took effect is only pursued
  when money was reserved for it or arrears were alerted: a new schedule with an old
  start date must not pay months that were never due.
- Self-paid costs (zelfregie step 3). A handover is a payment of the reservation, not
  new money: reserving, the buffer and living money are exactly as when the service
  pays the creditor. A handover that was not confirmed by its deadline while this plan
  version was in force makes the engine pay that cost to the creditor itself from then
  on, whatever the flag says (the backend also switches the flag off); a plan version
  that took effect after the deadline (switching it on again) is followed. A missed
  cost that left the plan raises no alert.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from dataclasses import dataclass, field

from rules.actions import (
    Action,
    AlertKind,
    BuildUpBuffer,
    DrawOnBuffer,
    HandOverFixedCost,
    PayFixedCost,
    PayLivingMoney,
    PayOneOffPayout,
    RaiseAlert,
    RefillBuffer,
    ReleaseReservation,
    RepayAdvance,
    ReserveFixedCost,
    Severity,
)
from rules.agreement_changes import in_force
from rules.business_days import execution_date, next_business_day
from rules.errors import RulesError
from rules.plan import FixedCostAgreement, OneOffPayout, PaymentReference, Plan
from rules.schedules import (
    AnySchedule,
    WeeklySchedule,
    installment_dates,
    is_occurrence,
    month_end,
    month_start,
    months_per_period,
    occurrences,
    shift_months,
)
from rules.state import (
    LIVING_MONEY_CATCH_UP_DAYS,
    LOOKBACK_DAYS,
    SELF_PAYMENT_CONFIRM_DAYS,
    Balances,
    OpenItems,
)
from rules.texts import (
    date_en,
    date_nl,
    euro_en,
    euro_nl,
    fixed_cost_subject,
    income_subject,
    month_en,
    month_nl,
    own_bill,
)

# Without any expected income the horizon is one month.
HORIZON_DAYS_WITHOUT_INCOME = 31
# Incomes are searched this far ahead for the next expected one.
INCOME_SEARCH_DAYS = 400
# A buffer draw is put down to a late income when one expected this recently is missing.
INCOME_LATE_LOOKBACK_DAYS = 31
# A payment is executed at most this many days before its due date (long weekends,
# Easter, Christmas); dues are enumerated at least this far ahead.
EXECUTION_LEAD_DAYS_MAX = 14
# Actions that settle a due date (a tuple: `A | B` in `_emit` built a union per action).
_PAYS_A_DUE_DATE = (PayFixedCost, HandOverFixedCost)


@dataclass(frozen=True, slots=True)
class DueDate:
    """One due date of one fixed cost, with the dates money is set aside for it."""

    cost: FixedCostAgreement
    due_date: dt.date
    execution_date: dt.date
    installments: tuple[tuple[dt.date, int], ...]
    # (agreement id, due date): looked up many times per evaluation, so made once.
    key: tuple[str, dt.date] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", (self.cost.agreement_id, self.due_date))

    @property
    def amount_cents(self) -> int:
        return self.cost.amount_cents

    def target_cents(self, limit: dt.date, today: dt.date, *, by_execution: bool) -> int:
        """What should be reserved by now for saving up to `limit`.

        Everything once it is to be executed today, or (by_execution) when it is executed
        before `limit`; otherwise the installments due up to `limit`.
        """
        if self.execution_date <= today or (by_execution and self.execution_date < limit):
            return self.amount_cents
        return sum(cents for day, cents in self.installments if day <= limit)

    def first_open_installment(self, reserved_cents: int) -> dt.date:
        """The date of the first installment not yet covered (orders the reservations)."""
        covered = 0
        for day, cents in self.installments:
            covered += cents
            if covered > reserved_cents:
                return day
        return self.due_date


def due_date_of(cost: FixedCostAgreement, due_date: dt.date) -> DueDate:
    months = months_per_period(cost.schedule)
    if months is None or months == 1:
        installments: tuple[tuple[dt.date, int], ...] = ((due_date, cost.amount_cents),)
    else:
        installments = _installments(cost.schedule, due_date, cost.amount_cents)
    return DueDate(
        cost=cost,
        due_date=due_date,
        execution_date=execution_date(due_date),
        installments=installments,
    )


@functools.lru_cache(maxsize=4096)
def _installments(
    schedule: AnySchedule, due_date: dt.date, amount_cents: int
) -> tuple[tuple[dt.date, int], ...]:
    """Saving installments of a quarterly or yearly due date (keyed on the schedule and
    amount themselves, never on a plan, so the cache cannot go stale)."""
    dates = installment_dates(schedule, due_date)
    return tuple(zip(dates, equal_parts(amount_cents, len(dates)), strict=True))


def equal_parts(cents: int, count: int) -> list[int]:
    """`cents` split in `count` parts that add up exactly, the remainder one cent at a
    time to the earliest parts: `ledger.Money.allocate` with equal weights, without a
    Money object per part."""
    sign = -1 if cents < 0 else 1
    base, remainder = divmod(abs(cents), count)
    return [sign * (base + 1)] * remainder + [sign * base] * (count - remainder)


def round_half_up_ratio(numerator: int, denominator: int) -> int:
    """`round_half_up(Fraction(numerator, denominator))` in integers (denominator > 0)."""
    rounded = (2 * abs(numerator) + denominator) // (2 * denominator)
    return rounded if numerator >= 0 else -rounded


def due_dates_between(plan: Plan, start: dt.date, end: dt.date) -> list[DueDate]:
    """Due dates from `start` to `end`, plus later ones whose saving has started by `end`."""
    found: list[DueDate] = []
    for cost in plan.fixed_costs:
        months = months_per_period(cost.schedule) or 1
        last = shift_months(end, months - 1, 31) if months > 1 else end
        for day in occurrences(cost.schedule, start, last):
            due = due_date_of(cost, day)
            if day <= end or due.installments[0][0] <= end:
                found.append(due)
    return found


def monthly_totals_cents(plan: Plan) -> tuple[int, int]:
    """(`plan.buffer_target_cents`, `plan.living_money_monthly_cents`), the same exact
    arithmetic in integers: every monthly share is a whole number of 1/denominator
    cents, so the sums are exact and rounded once, as with Fractions."""
    denominator = 12
    for schedule in (
        *(cost.schedule for cost in plan.fixed_costs),
        *(income.schedule for income in plan.incomes),
    ):
        if isinstance(schedule, WeeklySchedule):
            denominator = math.lcm(denominator, 12 * schedule.every_weeks)

    def share(amount_cents: int, schedule: AnySchedule) -> int:
        """The monthly share (rules.schedules.monthly_share) times the denominator."""
        if isinstance(schedule, WeeklySchedule):
            return amount_cents * 52 * (denominator // (12 * schedule.every_weeks))
        months = months_per_period(schedule)
        return 0 if months is None else amount_cents * (denominator // months)

    costs = sum(share(cost.amount_cents, cost.schedule) for cost in plan.fixed_costs)
    buffer_target_cents = round_half_up_ratio(2 * costs, denominator)
    if plan.living_money is None:
        return buffer_target_cents, 0
    incomes = sum(share(income.expected_amount_cents, income.schedule) for income in plan.incomes)
    set_aside = plan.buffer.monthly_set_aside_cents * denominator
    # Rounded down: promising a cent that the income does not bring is worse.
    computed = max(0, (incomes - costs - set_aside) // denominator)
    cap = plan.living_money.monthly_amount_cap_cents
    return buffer_target_cents, computed if cap is None else min(cap, computed)


def payout_amount_cents(monthly_cents: int, plan: Plan, payout_date: dt.date) -> int:
    """One payout's share of a monthly living-money amount (or floor)."""
    assert plan.living_money is not None
    schedule = plan.living_money.schedule
    if not isinstance(schedule, WeeklySchedule):
        return monthly_cents
    return _weekly_payout_cents(monthly_cents, schedule, payout_date)


def _weekly_payout_cents(monthly_cents: int, schedule: WeeklySchedule, payout_date: dt.date) -> int:
    month_dates = occurrences(schedule, month_start(payout_date), month_end(payout_date))
    if payout_date not in month_dates:
        return 0
    return _weekly_share_cents(monthly_cents, len(month_dates), month_dates.index(payout_date))


@functools.lru_cache(maxsize=16384)
def _weekly_share_cents(monthly_cents: int, count: int, index: int) -> int:
    """The `index`-th of `count` weekly payouts in a month of a monthly amount. Cached:
    participants share amounts, and each payout date is asked about several times per
    evaluation (docs/performance.md); the key is only ints."""
    weekly_cents = round_half_up_ratio(monthly_cents * 12, 52)
    month_total_cents = round_half_up_ratio(monthly_cents * 12 * count, 52)
    parts = equal_parts(month_total_cents, count)
    # Payouts of exactly the weekly amount first: the difference goes with the last.
    parts.sort(key=lambda cents: cents != weekly_cents)
    return parts[index]


def next_income_dates(plan: Plan, open_items: OpenItems, today: dt.date) -> tuple[dt.date, dt.date]:
    """(next expected income date, horizon end) over all income agreements.

    For every income agreement: its first expected date that has not arrived and
    whose window has not passed. The next income date is the earliest of those; the
    horizon end is the earliest expected date plus that income's window after.
    Without any expected income both are one month ahead.
    """
    received = open_items.income_received_cents()
    expected_dates: list[dt.date] = []
    window_ends: list[dt.date] = []
    for income in plan.incomes:
        after = dt.timedelta(days=income.window_days_after)
        search_end = today + dt.timedelta(days=INCOME_SEARCH_DAYS)
        for expected in occurrences(income.schedule, today - after, search_end):
            if (income.agreement_id, expected) not in received:
                expected_dates.append(expected)
                window_ends.append(expected + after)
                break
    if not expected_dates:
        fallback = today + dt.timedelta(days=HORIZON_DAYS_WITHOUT_INCOME)
        return fallback, fallback
    return min(expected_dates), min(window_ends)


def horizon_end(plan: Plan, open_items: OpenItems, today: dt.date) -> dt.date:
    """Until when money is reserved: the next expected income that has not arrived, plus
    its window (the earliest over all income agreements)."""
    return next_income_dates(plan, open_items, today)[1]


def evaluate(plan: Plan, balances: Balances, open_items: OpenItems, today: dt.date) -> list[Action]:
    """Everything to do today for one participant, in the order it is to be applied."""
    _check_inputs(plan, balances, open_items, today)
    run = _Run(plan, balances, open_items, today)
    run.release_stale_reservations()
    run.reserve()
    run.pay_due()
    run.pay_one_off_payouts()
    run.refill_buffer()
    run.build_up_buffer()
    run.repay_advance()
    run.pay_living_money()
    run.income_alerts()
    run.self_payment_alerts()
    run.month_end_alerts()
    return run.actions


def one_off_payout_shortfall(
    plan: Plan, balances: Balances, open_items: OpenItems, today: dt.date, amount_cents: int
) -> int:
    """How much is missing to pay a new one-off payout of `amount_cents` today: 0 when it
    can be paid from available money and the buffer without leaving a fixed cost that is
    executed before the next income (plus its window: the horizon end) unreserved. For
    the backend, before a payout is granted (the engine checks again on the day it
    pays). Payouts of the plan that are due and not paid yet count first."""
    _check_inputs(plan, balances, open_items, today)
    run = _Run(plan, balances, open_items, today)
    run.release_stale_reservations()
    run.reserve()
    run.pay_due()
    run.pay_one_off_payouts()
    return max(0, amount_cents - run._one_off_room_cents())


def _check_inputs(plan: Plan, balances: Balances, open_items: OpenItems, today: dt.date) -> None:
    if today < plan.effective_from:
        raise RulesError(
            f"plan version {plan.version} is effective from {plan.effective_from}, "
            f"not yet on {today}"
        )
    problems = balances.problems()
    if problems:
        raise RulesError(f"participant {plan.participant_id}: " + "; ".join(problems))
    reserved_total = sum(item.amount_cents for item in open_items.reservations)
    if reserved_total != balances.reserved_cents:
        raise RulesError(
            f"participant {plan.participant_id}: reserved holds {balances.reserved_cents} "
            f"cents but the open reservations add up to {reserved_total} cents"
        )


class _Run:
    """One evaluation: the working balances and the actions decided so far."""

    def __init__(
        self, plan: Plan, balances: Balances, open_items: OpenItems, today: dt.date
    ) -> None:
        self.plan = plan
        self.today = today
        self.open_items = open_items
        self.actions: list[Action] = []
        self.available_cents = balances.available_cents
        self.reserved_cents = balances.reserved_cents
        self.buffer_cents = balances.buffer_cents
        self.advance_cents = balances.buffer_advance_cents
        self.reserved_by_due = open_items.reserved_by_due_date()
        self.paid = set(open_items.paid_due_dates())
        # Payout dates paid before today (a frozenset built once, not at every question).
        self.living_money_paid = open_items.living_money_paid_dates()
        self._open: list[DueDate] | None = None
        self.drawn_cents = open_items.buffer_drawn_not_refilled_cents
        self.built_up_cents = open_items.built_up_in_month_cents(today)
        self.repaid_cents = open_items.repaid_in_month_cents(today)
        self.alerts_raised = set(open_items.alerts_raised)
        self.month = month_start(today)
        self.next_income_date, self.horizon_end = next_income_dates(plan, open_items, today)
        self.lookback_start = today - dt.timedelta(days=LOOKBACK_DAYS)
        # Sums over the plan's agreements: computed once per run, not at every use, in
        # integers rather than Fractions (docs/performance.md). Only agreements in force
        # today count (an ended agreement, or a follow-up that has not started while the
        # agreement it follows runs, does not; issue 8).
        self.buffer_target_cents, self.living_money_monthly_cents = monthly_totals_cents(
            in_force(plan, today)
        )
        enumerate_end = max(self.horizon_end, today + dt.timedelta(days=EXECUTION_LEAD_DAYS_MAX))
        self.key_prefix = f"rules:{plan.participant_id}"
        self.dues = [
            due
            for due in due_dates_between(plan, self.lookback_start, enumerate_end)
            if self._belongs_to_this_plan(due)
        ]
        # Costs whose self-payment was missed while this plan version was in force: paid
        # directly again, even before the plan is changed (the backend switches the flag
        # off; a later version that switches it on again is a new agreement).
        self.fallen_back = {
            item.agreement_id
            for item in open_items.self_payments
            if item.missed(today) and item.confirm_by >= plan.effective_from
        }
        # Handovers the bank returned: the creditor is paid directly for that due date.
        self.handovers_returned = {
            (item.agreement_id, item.due_date) for item in open_items.handovers_returned
        }
        self.one_off_paid = {item.payout_id for item in open_items.one_off_paid}

    def _belongs_to_this_plan(self, due: DueDate) -> bool:
        """A due date before this plan version took effect is only pursued when it was
        already being handled (money reserved for it, or arrears alerted). Otherwise a new
        schedule with an old start date would pay months that were never due."""
        if due.due_date >= self.plan.effective_from:
            return True
        arrears_key = self._alert_key(AlertKind.ARREARS, f"{due.cost.agreement_id}:{due.due_date}")
        return due.key in self.reserved_by_due or arrears_key in self.alerts_raised

    # -- bookkeeping -------------------------------------------------------------------

    def _emit(self, action: Action) -> None:
        """Record an action and apply it to the working balances."""
        amount = action.amount_cents
        if isinstance(action, ReserveFixedCost):
            self.available_cents -= amount
            self._add_reserved(action.agreement_id, action.due_date, amount)
        elif isinstance(action, ReleaseReservation):
            self._add_reserved(action.agreement_id, action.due_date, -amount)
            self.available_cents += amount
        elif isinstance(action, DrawOnBuffer):
            self.buffer_cents -= amount
            self.drawn_cents += amount
            if action.purpose == "fixed_cost":
                assert action.agreement_id is not None and action.due_date is not None
                self._add_reserved(action.agreement_id, action.due_date, amount)
            else:
                self.available_cents += amount
        elif isinstance(action, _PAYS_A_DUE_DATE):
            self._add_reserved(action.agreement_id, action.due_date, -amount)
            self.paid.add((action.agreement_id, action.due_date))
            self._open = None
        elif isinstance(action, RefillBuffer):
            self.available_cents -= amount
            self.buffer_cents += amount
            self.drawn_cents -= amount
        elif isinstance(action, BuildUpBuffer):
            self.available_cents -= amount
            self.buffer_cents += amount
            self.built_up_cents += amount
        elif isinstance(action, RepayAdvance):
            self.available_cents -= amount
            self.advance_cents += amount
            self.repaid_cents += amount
        elif isinstance(action, PayLivingMoney):
            self.available_cents -= amount
        elif isinstance(action, PayOneOffPayout):
            self.available_cents -= amount
            self.one_off_paid.add(action.payout_id)
        else:
            self.alerts_raised.add(action.idempotency_key)
        # Money invariants get a check that `python -O` cannot strip.
        if min(self.available_cents, self.reserved_cents, self.buffer_cents) < 0 or (
            self.advance_cents > 0 or self.drawn_cents < 0
        ):
            raise AssertionError(f"rules engine drove a balance out of range with {action!r}")
        self.actions.append(action)

    def _add_reserved(self, agreement_id: str, due_date: dt.date, cents: int) -> None:
        key = (agreement_id, due_date)
        self.reserved_by_due[key] = self.reserved_by_due.get(key, 0) + cents
        self.reserved_cents += cents
        if self.reserved_by_due[key] < 0:
            raise AssertionError(f"reservation {key} went below zero")

    def _common(self, cents: int, key: str, nl: str, en: str) -> dict[str, object]:
        return {
            "participant_id": self.plan.participant_id,
            "plan_version": self.plan.version,
            "on_date": self.today,
            "idempotency_key": f"{self.key_prefix}:{key}",
            "amount_cents": cents,
            "explanation_nl": nl,
            "explanation_en": en,
        }

    def _alert(
        self,
        kind: AlertKind,
        severity: Severity,
        subject: str,
        cents: int,
        nl: str,
        en: str,
        *,
        agreement_id: str | None = None,
        subject_date: dt.date | None = None,
    ) -> None:
        if self._alert_key(kind, subject) in self.alerts_raised:
            return
        self._emit(
            RaiseAlert.model_validate(
                {
                    **self._common(cents, f"alert.{kind}:{subject}", nl, en),
                    "alert_kind": kind,
                    "severity": severity,
                    "agreement_id": agreement_id,
                    "subject_date": subject_date,
                }
            )
        )

    def _alert_key(self, kind: AlertKind, subject: str) -> str:
        return f"{self.key_prefix}:alert.{kind}:{subject}"

    def _open_dues(self) -> list[DueDate]:
        """The due dates not paid yet (kept until the next payment: asked for often)."""
        if self._open is None:
            self._open = [due for due in self.dues if due.key not in self.paid]
        return self._open

    def _still_to_reserve_cents(self) -> int:
        """What is needed until the next income and not reserved (money that is not there)."""
        return sum(
            max(0, self._target_before_next_income(due) - self._reserved(due))
            for due in self._open_dues()
        )

    def _target_before_next_income(self, due: DueDate) -> int:
        return due.target_cents(self.next_income_date, self.today, by_execution=True)

    def _reserved(self, due: DueDate) -> int:
        return self.reserved_by_due.get(due.key, 0)

    def _reserve(self, due: DueDate, cents: int) -> None:
        before = self._reserved(due)
        nl, en = fixed_cost_subject(due.cost, due.due_date, self.today)
        self._emit(
            ReserveFixedCost.model_validate(
                {
                    **self._common(
                        cents,
                        f"fixed_cost.reserve:{due.cost.agreement_id}:{due.due_date}:"
                        f"{self.today}:{before}-{before + cents}",
                        f"{nl}: {euro_nl(cents)} opzij gezet, zodat het op tijd betaald kan "
                        "worden.",
                        f"{en}: {euro_en(cents)} set aside so it can be paid on time.",
                    ),
                    "agreement_id": due.cost.agreement_id,
                    "due_date": due.due_date,
                }
            )
        )

    # -- 1. release ----------------------------------------------------------------------

    def release_stale_reservations(self) -> None:
        for (agreement_id, due_date), reserved in sorted(self.reserved_by_due.items()):
            if (agreement_id, due_date) in self.paid or reserved <= 0:
                continue
            cost = self.plan.fixed_cost(agreement_id)
            if cost is None or not is_occurrence(cost.schedule, due_date):
                excess = reserved
            else:
                excess = reserved - cost.amount_cents
            if excess <= 0:
                continue
            self._emit(
                ReleaseReservation.model_validate(
                    {
                        **self._common(
                            excess,
                            f"fixed_cost.release:{agreement_id}:{due_date}:{self.today}:"
                            f"{reserved}-{reserved - excess}",
                            f"{euro_nl(excess)} stond opzij voor een betaling op "
                            f"{date_nl(due_date)}; dat is niet meer nodig, dus het staat "
                            "weer bij je beschikbare geld.",
                            f"{euro_en(excess)} was set aside for a payment on "
                            f"{date_en(due_date)}; it is no longer needed, so it is back in "
                            "your available money.",
                        ),
                        "agreement_id": agreement_id,
                        "due_date": due_date,
                    }
                )
            )

    # -- 2. reserve ----------------------------------------------------------------------

    def reserve(self) -> None:
        """First what is executed before the next income (and saving installments up to
        it); then, from money the days until that income do not need (refill, set-aside,
        living money), what falls due within that income's window, in case it is late."""
        self._reserve_until(self.next_income_date, self.available_cents, by_execution=True)
        needed_first = (
            self.drawn_cents
            + self._set_aside_still_due_cents()
            + self._living_money_until_next_income_cents()
        )
        budget_cents = self.available_cents - needed_first
        self._reserve_until(self.horizon_end, budget_cents, by_execution=False)

    def _reserve_until(self, limit: dt.date, budget_cents: int, *, by_execution: bool) -> None:
        needs: list[tuple[tuple[dt.date, int, str, dt.date], DueDate, int]] = []
        for due in self._open_dues():
            reserved = self._reserved(due)
            need = due.target_cents(limit, self.today, by_execution=by_execution) - reserved
            if need > 0:
                order = (
                    due.first_open_installment(reserved),
                    int(due.cost.priority_class),
                    due.cost.agreement_id,
                    due.due_date,
                )
                needs.append((order, due, need))
        for _, due, need in sorted(needs, key=lambda item: item[0]):
            cents = min(need, budget_cents, self.available_cents)
            if cents <= 0:
                return
            self._reserve(due, cents)
            budget_cents -= cents

    def _living_money_until_next_income_cents(self) -> int:
        """Agreed living money of the payouts still to come before the next income."""
        policy = self.plan.living_money
        if policy is None:
            return 0
        first = self.today - dt.timedelta(days=LIVING_MONEY_CATCH_UP_DAYS)
        last = self.next_income_date - dt.timedelta(days=1)
        monthly_cents = self.living_money_monthly_cents
        return sum(
            payout_amount_cents(monthly_cents, self.plan, payout_date)
            for payout_date in occurrences(policy.schedule, first, last)
            if not self._payout_decided(payout_date)
        )

    # -- 3. pay --------------------------------------------------------------------------

    def pay_due(self) -> None:
        to_pay = sorted(
            (due for due in self._open_dues() if due.execution_date <= self.today),
            key=lambda due: (int(due.cost.priority_class), due.due_date, due.cost.agreement_id),
        )
        for due in to_pay:
            short = due.amount_cents - self._reserved(due)
            if short > 0:
                from_available = min(short, self.available_cents)
                from_buffer = short - from_available
                if from_buffer > self.buffer_cents:
                    self._arrears(due, short)
                    continue
                if from_available > 0:
                    self._reserve(due, from_available)
                if from_buffer > 0:
                    self._draw_for(due, from_buffer)
            if due.key in self.handovers_returned:
                self._pay_after_returned_handover(due)
            elif self._paid_by_participant(due.cost):
                self._hand_over(due)
            else:
                self._pay(due)

    def _pay_after_returned_handover(self, due: DueDate) -> None:
        """The bank returned the money handed over for this bill: it is not the
        participant's miss, so the creditor is paid directly, and the caseworker told."""
        self._pay(due)
        bill_nl, bill_en = own_bill(due.cost, due.due_date)
        self._alert(
            AlertKind.HANDOVER_RETURNED,
            Severity.WARNING,
            f"{due.cost.agreement_id}:{due.due_date}",
            due.amount_cents,
            f"Het geld voor {bill_nl} ({euro_nl(due.amount_cents)}) kwam terug van de bank. "
            f"Daarom betalen wij deze rekening zelf aan {due.cost.creditor_name}. Controleer "
            "het rekeningnummer van de deelnemer.",
            f"The money for {bill_en} ({euro_en(due.amount_cents)}) came back from the bank. "
            f"So we pay this bill to {due.cost.creditor_name} directly. Check the "
            "participant's account number.",
            agreement_id=due.cost.agreement_id,
            subject_date=due.due_date,
        )

    def _paid_by_participant(self, cost: FixedCostAgreement) -> bool:
        return (
            cost.paid_by_participant
            and self.plan.living_money is not None
            and cost.agreement_id not in self.fallen_back
        )

    def _hand_over(self, due: DueDate) -> None:
        """Step 3: the reserved amount goes to the participant, who pays the creditor."""
        policy = self.plan.living_money
        assert policy is not None
        bill_nl, bill_en = own_bill(due.cost, due.due_date)
        confirm_by = due.due_date + dt.timedelta(days=SELF_PAYMENT_CONFIRM_DAYS)
        self._emit(
            HandOverFixedCost.model_validate(
                {
                    **self._common(
                        due.amount_cents,
                        f"fixed_cost.handover:{due.cost.agreement_id}:{due.due_date}",
                        f"Voor {bill_nl}: {euro_nl(due.amount_cents)} naar je eigen rekening; "
                        f"betaal die zelf. Zet in de app uiterlijk {date_nl(confirm_by)} dat "
                        "je hebt betaald.",
                        f"For {bill_en}: {euro_en(due.amount_cents)} to your own account; pay "
                        f"it yourself. Mark it paid in the app by {date_en(confirm_by)}.",
                    ),
                    "agreement_id": due.cost.agreement_id,
                    "due_date": due.due_date,
                    "confirm_by": confirm_by,
                    "execution_date": max(due.execution_date, next_business_day(self.today)),
                    "payee_name": policy.payee_name,
                    "payee_iban": policy.payee_iban,
                    "creditor_name": due.cost.creditor_name,
                    "reference": PaymentReference(
                        kind="free_text",
                        text=f"Zelf betalen {due.cost.creditor_name} {due.due_date.isoformat()}"[
                            :140
                        ],
                    ),
                }
            )
        )

    def _pay(self, due: DueDate) -> None:
        nl, en = fixed_cost_subject(due.cost, due.due_date, self.today)
        late = self.today > due.execution_date
        self._emit(
            PayFixedCost.model_validate(
                {
                    **self._common(
                        due.amount_cents,
                        f"fixed_cost.pay:{due.cost.agreement_id}:{due.due_date}",
                        f"{nl} — te laat, maar nu betaald."
                        if late
                        else f"{nl} — betaald volgens afspraak.",
                        f"{en} — late, but paid now." if late else f"{en} — paid as agreed.",
                    ),
                    "agreement_id": due.cost.agreement_id,
                    "due_date": due.due_date,
                    "execution_date": max(due.execution_date, next_business_day(self.today)),
                    "creditor_name": due.cost.creditor_name,
                    "creditor_iban": due.cost.creditor_iban,
                    "reference": due.cost.reference,
                    "priority_class": due.cost.priority_class,
                    "late": late,
                }
            )
        )

    def _income_is_late(self) -> bool:
        """Did an income expected in the last month not arrive (yet)? Then a buffer draw is
        "inkomen te laat"; otherwise the income was too low: "inkomen te laag"."""
        received = self.open_items.income_received_cents()
        month_ago = self.today - dt.timedelta(days=INCOME_LATE_LOOKBACK_DAYS)
        for income in self.plan.incomes:
            for expected in occurrences(income.schedule, month_ago, self.today):
                if (income.agreement_id, expected) not in received:
                    return True
        return False

    def _draw_for(self, due: DueDate, cents: int) -> None:
        nl, en = fixed_cost_subject(due.cost, due.due_date, self.today)
        late = self._income_is_late()
        reason_nl = "je inkomen nog niet binnen is" if late else "er te weinig geld was"
        reason_en = "your income has not arrived yet" if late else "there was not enough money"
        self._emit(
            DrawOnBuffer.model_validate(
                {
                    **self._common(
                        cents,
                        f"buffer.draw:{due.cost.agreement_id}:{due.due_date}",
                        f"{nl}: {euro_nl(cents)} uit je buffer gebruikt, omdat {reason_nl}.",
                        f"{en}: {euro_en(cents)} taken from your buffer because {reason_en}.",
                    ),
                    "purpose": "fixed_cost",
                    "agreement_id": due.cost.agreement_id,
                    "due_date": due.due_date,
                }
            )
        )
        headline_nl = "Inkomen te laat" if late else "Inkomen te laag"
        headline_en = "Income late" if late else "Income short"
        self._alert(
            AlertKind.BUFFER_USED,
            Severity.WARNING,
            f"{due.cost.agreement_id}:{due.due_date}",
            cents,
            f"{headline_nl}: {nl} is op tijd betaald met {euro_nl(cents)} uit de buffer.",
            f"{headline_en}: {en} was paid on time with {euro_en(cents)} from the buffer.",
            agreement_id=due.cost.agreement_id,
            subject_date=due.due_date,
        )

    def _arrears(self, due: DueDate, short_cents: int) -> None:
        nl, en = fixed_cost_subject(due.cost, due.due_date, self.today)
        self._alert(
            AlertKind.ARREARS,
            Severity.URGENT,
            f"{due.cost.agreement_id}:{due.due_date}",
            due.amount_cents,
            f"Achterstand: {nl} ({euro_nl(due.amount_cents)}) is niet betaald, want er is "
            f"{euro_nl(short_cents)} te weinig, ook in de buffer.",
            f"Arrears: {en} ({euro_en(due.amount_cents)}) was not paid because "
            f"{euro_en(short_cents)} is missing, also in the buffer.",
            agreement_id=due.cost.agreement_id,
            subject_date=due.due_date,
        )

    # -- 3b. one-off payouts --------------------------------------------------------------

    def _one_off_needed_cents(self) -> int:
        """What the fixed costs executed up to the horizon end (the next income plus its
        window, so a late income is covered too) still need beyond their reservations."""
        limit = self.horizon_end + dt.timedelta(days=1)
        return sum(
            max(0, due.target_cents(limit, self.today, by_execution=True) - self._reserved(due))
            for due in self._open_dues()
        )

    def _one_off_room_cents(self) -> int:
        """What a one-off payout may take: available money and the buffer, less what the
        fixed costs up to the horizon end still need."""
        return self.available_cents + self.buffer_cents - self._one_off_needed_cents()

    def pay_one_off_payouts(self) -> None:
        """One-off payouts whose day has come, each once: from available money the days
        until the next income do not need, then from the buffer (refilled by step 4). A
        payout that would leave a fixed cost executed up to the horizon end short waits,
        with an alert, and is tried again every day for LOOKBACK_DAYS."""
        first = self.today - dt.timedelta(days=LOOKBACK_DAYS)
        for payout in sorted(self.plan.one_off_payouts, key=lambda p: (p.pay_on, p.payout_id)):
            if payout.payout_id in self.one_off_paid or not first <= payout.pay_on <= self.today:
                continue
            short = payout.amount_cents - self._one_off_room_cents()
            if short > 0:
                self._alert(
                    AlertKind.ONE_OFF_PAYOUT_SHORT,
                    Severity.URGENT,
                    payout.payout_id,
                    short,
                    f"Extra uitbetaling van {euro_nl(payout.amount_cents)} is nog niet gedaan: "
                    f"er is {euro_nl(short)} te weinig om ook de vaste lasten voor het volgende "
                    "inkomen te betalen.",
                    f"Extra payout of {euro_en(payout.amount_cents)} not made yet: "
                    f"{euro_en(short)} is missing to also pay the fixed costs before the next "
                    "income.",
                    subject_date=payout.pay_on,
                )
                continue
            free = max(0, self.available_cents - self._one_off_needed_cents())
            from_buffer = payout.amount_cents - min(payout.amount_cents, free)
            if from_buffer > 0:
                self._draw_for_one_off(payout, from_buffer)
            self._pay_one_off(payout)

    def _draw_for_one_off(self, payout: OneOffPayout, cents: int) -> None:
        self._emit(
            DrawOnBuffer.model_validate(
                {
                    **self._common(
                        cents,
                        f"buffer.draw.one_off:{payout.payout_id}",
                        f"{euro_nl(cents)} uit je buffer voor de extra uitbetaling. Je buffer "
                        "wordt daarna weer aangevuld.",
                        f"{euro_en(cents)} from your buffer for the extra payout. Your buffer "
                        "is filled up again afterwards.",
                    ),
                    "purpose": "one_off_payout",
                    "payout_date": payout.pay_on,
                }
            )
        )

    def _pay_one_off(self, payout: OneOffPayout) -> None:
        cents = payout.amount_cents
        self._emit(
            PayOneOffPayout.model_validate(
                {
                    **self._common(
                        cents,
                        f"living_money.one_off:{payout.payout_id}",
                        f"Extra leefgeld: {euro_nl(cents)} naar je eigen rekening. "
                        f"Reden: {payout.reason}"[:500],
                        f"Extra living money: {euro_en(cents)} to your own account. "
                        f"Reason: {payout.reason}"[:500],
                    ),
                    "payout_id": payout.payout_id,
                    "pay_on": payout.pay_on,
                    "execution_date": next_business_day(self.today),
                    "payee_name": payout.payee_name,
                    "payee_iban": payout.payee_iban,
                    "reference": PaymentReference(
                        kind="free_text", text=f"Extra leefgeld {payout.pay_on.isoformat()}"
                    ),
                }
            )
        )

    # -- 4. refill -----------------------------------------------------------------------

    def _free_cents(self) -> int:
        """Available money that the horizon does not need."""
        return max(0, self.available_cents - self._still_to_reserve_cents())

    def refill_buffer(self) -> None:
        cents = min(self.drawn_cents, self._free_cents())
        if cents <= 0:
            return
        before = self.drawn_cents
        self._emit(
            RefillBuffer.model_validate(
                self._common(
                    cents,
                    f"buffer.refill:{self.today}:{before}-{before - cents}",
                    f"{euro_nl(cents)} terug in je buffer, want dat geld was eerder uit de "
                    "buffer gebruikt.",
                    f"{euro_en(cents)} back into your buffer, because it was used earlier.",
                )
            )
        )

    # -- 5. build up and repay -------------------------------------------------------------

    def _build_up_due_cents(self) -> int:
        target = self.buffer_target_cents
        if self.buffer_cents >= target:
            return 0
        rate = self.plan.buffer.monthly_build_up_cents
        return max(0, min(rate - self.built_up_cents, target - self.buffer_cents))

    def _repayment_due_cents(self, build_up_still_due_cents: int) -> int:
        owed = -self.advance_cents
        if owed <= 0:
            return 0
        if self.buffer_cents + build_up_still_due_cents < self.buffer_target_cents:
            return 0
        rate = self.plan.buffer.monthly_advance_repayment_cents
        set_aside_cap = max(self.plan.buffer.monthly_build_up_cents, rate)
        room = set_aside_cap - self.built_up_cents - build_up_still_due_cents - self.repaid_cents
        return max(0, min(rate - self.repaid_cents, room, owed))

    def _set_aside_still_due_cents(self) -> int:
        build_up = self._build_up_due_cents()
        return build_up + self._repayment_due_cents(build_up)

    def build_up_buffer(self) -> None:
        cents = min(self._build_up_due_cents(), self._free_cents())
        if cents <= 0:
            return
        before = self.built_up_cents
        self._emit(
            BuildUpBuffer.model_validate(
                {
                    **self._common(
                        cents,
                        f"buffer.build_up:{self.month}:{before}-{before + cents}",
                        f"{euro_nl(cents)} naar je buffer voor {month_nl(self.today, self.today)}, "
                        "zoals afgesproken.",
                        f"{euro_en(cents)} into your buffer for "
                        f"{month_en(self.today, self.today)}, as agreed.",
                    ),
                    "month": self.month,
                }
            )
        )

    def repay_advance(self) -> None:
        cents = min(self._repayment_due_cents(0), self._free_cents())
        if cents <= 0:
            return
        before = self.repaid_cents
        self._emit(
            RepayAdvance.model_validate(
                {
                    **self._common(
                        cents,
                        f"advance.repay:{self.month}:{before}-{before + cents}",
                        f"{euro_nl(cents)} terugbetaald aan de gemeente voor het "
                        f"buffervoorschot ({month_nl(self.today, self.today)}).",
                        f"{euro_en(cents)} repaid to the municipality for the buffer advance "
                        f"({month_en(self.today, self.today)}).",
                    ),
                    "month": self.month,
                }
            )
        )

    # -- 6. living money -------------------------------------------------------------------

    def pay_living_money(self) -> None:
        policy = self.plan.living_money
        if policy is None:
            return
        first = self.today - dt.timedelta(days=LIVING_MONEY_CATCH_UP_DAYS)
        for payout_date in occurrences(policy.schedule, first, self.today):
            if not self._payout_decided(payout_date):
                self._pay_living_money(payout_date)

    def _payout_decided(self, payout_date: dt.date) -> bool:
        """Paid, or found short (and alerted): a payout date is decided once; only a day
        the cycle did not run is caught up."""
        if payout_date in self.living_money_paid:
            return True
        alert_key = self._alert_key(AlertKind.LIVING_MONEY_BELOW_AGREED, f"{payout_date}")
        return alert_key in self.alerts_raised

    def _pay_living_money(self, payout_date: dt.date) -> None:
        policy = self.plan.living_money
        assert policy is not None
        agreed = payout_amount_cents(self.living_money_monthly_cents, self.plan, payout_date)
        floor = min(agreed, payout_amount_cents(policy.monthly_floor_cents, self.plan, payout_date))
        still_to_reserve = self._still_to_reserve_cents()
        free = max(0, self.available_cents - still_to_reserve)
        cents = min(agreed, max(0, free - self._set_aside_still_due_cents()))
        if cents < floor:
            # Up to the floor, living money comes before this month's set-aside ...
            cents = min(floor, free)
            shortfall = floor - cents
            # ... and then from the buffer, if the buffer still covers what is unreserved.
            if shortfall > 0 and self.buffer_cents >= shortfall + still_to_reserve:
                self._draw_for_living_money(payout_date, shortfall)
                cents = floor
        weekly = isinstance(policy.schedule, WeeklySchedule)
        when_nl = (
            f"de week van {date_nl(payout_date)}" if weekly else month_nl(payout_date, self.today)
        )
        when_en = (
            f"the week of {date_en(payout_date)}" if weekly else month_en(payout_date, self.today)
        )
        if cents > 0:
            reference = f"Leefgeld {payout_date.isoformat()}"
            self._emit(
                PayLivingMoney.model_validate(
                    {
                        **self._common(
                            cents,
                            f"living_money.pay:{payout_date}",
                            f"Leefgeld voor {when_nl}: {euro_nl(cents)} naar je eigen rekening.",
                            f"Living money for {when_en}: {euro_en(cents)} to your own account.",
                        ),
                        "payout_date": payout_date,
                        "execution_date": next_business_day(max(payout_date, self.today)),
                        "payee_name": policy.payee_name,
                        "payee_iban": policy.payee_iban,
                        "reference": PaymentReference(kind="free_text", text=reference),
                        "agreed_amount_cents": agreed,
                    }
                )
            )
        if cents < agreed:
            self._alert(
                AlertKind.LIVING_MONEY_BELOW_AGREED,
                Severity.WARNING,
                f"{payout_date}",
                agreed - cents,
                f"Leefgeld lager dan afgesproken: {euro_nl(cents)} in plaats van "
                f"{euro_nl(agreed)} voor {when_nl}.",
                f"Living money lower than agreed: {euro_en(cents)} instead of "
                f"{euro_en(agreed)} for {when_en}.",
                subject_date=payout_date,
            )

    def _draw_for_living_money(self, payout_date: dt.date, cents: int) -> None:
        self._emit(
            DrawOnBuffer.model_validate(
                {
                    **self._common(
                        cents,
                        f"buffer.draw.living_money:{payout_date}",
                        f"{euro_nl(cents)} uit je buffer, zodat je leefgeld niet onder het "
                        "afgesproken minimum komt.",
                        f"{euro_en(cents)} from your buffer, so your living money does not "
                        "fall below the agreed minimum.",
                    ),
                    "purpose": "living_money",
                    "payout_date": payout_date,
                }
            )
        )

    # -- 7. alerts -------------------------------------------------------------------------

    def income_alerts(self) -> None:
        received = self.open_items.income_received_cents()
        for income in sorted(self.plan.incomes, key=lambda income: income.agreement_id):
            nl, en = income_subject(income)
            window_end = self.today - dt.timedelta(days=income.window_days_after + 1)
            for expected in occurrences(income.schedule, self.lookback_start, window_end):
                if (income.agreement_id, expected) in received:
                    continue
                self._alert(
                    AlertKind.INCOME_MISSING,
                    Severity.WARNING,
                    f"{income.agreement_id}:{expected}",
                    income.expected_amount_cents,
                    f"{nl}, verwacht op {date_nl(expected)}, is niet binnengekomen.",
                    f"{en}, expected on {date_en(expected)}, has not arrived.",
                    agreement_id=income.agreement_id,
                    subject_date=expected,
                )
            for (agreement_id, expected), cents in sorted(received.items()):
                if agreement_id != income.agreement_id or expected < self.lookback_start:
                    continue
                if abs(cents - income.expected_amount_cents) <= income.tolerance_cents:
                    continue
                self._alert(
                    AlertKind.INCOME_AMOUNT_UNEXPECTED,
                    Severity.WARNING,
                    f"{agreement_id}:{expected}",
                    cents,
                    f"{nl} is {euro_nl(cents)} in plaats van "
                    f"{euro_nl(income.expected_amount_cents)}.",
                    f"{en} is {euro_en(cents)} instead of {euro_en(income.expected_amount_cents)}.",
                    agreement_id=agreement_id,
                    subject_date=expected,
                )

    def self_payment_alerts(self) -> None:
        """A handed-over cost not confirmed paid by its deadline: both parties are told,
        and the cost is paid directly again (`fallen_back`)."""
        for item in self.open_items.self_payments:
            if not item.missed(self.today):
                continue
            cost = self.plan.fixed_cost(item.agreement_id)
            if cost is None:
                continue  # the cost left the plan; nothing to fall back to
            bill_nl, bill_en = own_bill(cost, item.due_date)
            self._alert(
                AlertKind.SELF_PAYMENT_MISSED,
                Severity.WARNING,
                f"{item.agreement_id}:{item.due_date}",
                item.amount_cents,
                f"Niet gemeld als betaald: {bill_nl} ({euro_nl(item.amount_cents)}), "
                f"uiterlijk {date_nl(item.confirm_by)}. Daarom betalen wij deze rekening "
                f"vanaf nu weer zelf aan {cost.creditor_name}. Controleer of de rekening "
                "van deze keer betaald is.",
                f"Not marked as paid: {bill_en} ({euro_en(item.amount_cents)}), by "
                f"{date_en(item.confirm_by)}. So from now on we pay this bill to "
                f"{cost.creditor_name} directly again. Check whether this bill was paid.",
                agreement_id=item.agreement_id,
                subject_date=item.due_date,
            )

    def month_end_alerts(self) -> None:
        if self.today != month_end(self.today):
            return
        target = self.buffer_target_cents
        build_up_due = self._build_up_due_cents()
        if self.buffer_cents < target and (build_up_due > 0 or self.drawn_cents > 0):
            self._alert(
                AlertKind.BUFFER_BELOW_TARGET,
                Severity.INFO,
                f"{self.month}",
                target - self.buffer_cents,
                f"De buffer is {euro_nl(self.buffer_cents)} en groeit deze maand niet zoals "
                f"afgesproken naar {euro_nl(target)}.",
                f"The buffer is {euro_en(self.buffer_cents)} and did not grow towards "
                f"{euro_en(target)} this month as agreed.",
                subject_date=self.month,
            )
        repayment_due = self._repayment_due_cents(build_up_due)
        if repayment_due > 0:
            self._alert(
                AlertKind.ADVANCE_NOT_REPAID,
                Severity.INFO,
                f"{self.month}",
                repayment_due,
                f"Het buffervoorschot is in {month_nl(self.today, self.today)} niet "
                f"helemaal terugbetaald: {euro_nl(repayment_due)} te weinig.",
                f"The buffer advance was not fully repaid in "
                f"{month_en(self.today, self.today)}: {euro_en(repayment_due)} short.",
                subject_date=self.month,
            )
