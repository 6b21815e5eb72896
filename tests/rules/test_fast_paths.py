"""The engine's fast paths give exactly what the plain definitions give (issue #10).

The daily cycle evaluates every participant every day, so the engine computes due
dates, monthly sums and weekly payouts with integers and small caches instead of
Fractions and pydantic objects. These tests hold each fast path against an independent
definition: a schedule's dates day by day, the plan's own Fraction sums, and
`Money.allocate`. And the caches are keyed on values only: a plan whose amounts
change from one day to the next gets the new amounts, in the same process.
"""

from __future__ import annotations

import datetime as dt
import random
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import Money
from rules import (
    Action,
    Balances,
    MonthlySchedule,
    OnceSchedule,
    OpenItems,
    PayFixedCost,
    PayLivingMoney,
    Plan,
    QuarterlySchedule,
    ReserveFixedCost,
    Weekday,
    WeeklySchedule,
    YearlySchedule,
    actions,
    business_days,
    engine,
    evaluate,
    occurrences,
    payout_amount_cents,
    schedules,
    texts,
)
from rules.engine import equal_parts, monthly_totals_cents, round_half_up_ratio
from rules.schedules import AnySchedule, installment_dates, last_day_of_month, round_half_up
from tests.rules.support import anna_plan, euro
from tests.rules.test_properties import plans


def _is_date_of(schedule: AnySchedule, day: dt.date) -> bool:
    """The schedule's definition, one day at a time (no pattern, no cache)."""
    if isinstance(schedule, OnceSchedule):
        return day == schedule.on_date
    if day < schedule.start_date or (schedule.end_date is not None and day > schedule.end_date):
        return False
    if isinstance(schedule, WeeklySchedule):
        first = schedule.start_date
        while first.weekday() != schedule.weekday:
            first += dt.timedelta(days=1)
        return day >= first and (day - first).days % (7 * schedule.every_weeks) == 0
    if isinstance(schedule, QuarterlySchedule):
        month_matches = (day.month - schedule.month) % 3 == 0
    elif isinstance(schedule, YearlySchedule):
        month_matches = day.month == schedule.month
    else:
        month_matches = True
    wanted = min(schedule.day_of_month, last_day_of_month(day.year, day.month))
    return month_matches and day.day == wanted


def _random_schedule(rng: random.Random) -> AnySchedule:
    start = dt.date(2023, 1, 1) + dt.timedelta(days=rng.randrange(0, 1500))
    end = rng.choice([None, start + dt.timedelta(days=rng.randrange(0, 900))])
    kind = rng.choice(["monthly", "weekly", "quarterly", "yearly", "once"])
    if kind == "monthly":
        return MonthlySchedule(day_of_month=rng.randint(1, 31), start_date=start, end_date=end)
    if kind == "weekly":
        return WeeklySchedule(
            weekday=Weekday(rng.randrange(7)),
            every_weeks=rng.randint(1, 5),
            start_date=start,
            end_date=end,
        )
    if kind == "quarterly":
        return QuarterlySchedule(
            month=rng.randint(1, 12),
            day_of_month=rng.randint(1, 31),
            start_date=start,
            end_date=end,
        )
    if kind == "yearly":
        month = rng.randint(1, 12)
        longest = 29 if month == 2 else last_day_of_month(2001, month)
        return YearlySchedule(
            month=month, day_of_month=rng.randint(1, longest), start_date=start, end_date=end
        )
    return OnceSchedule(on_date=start)


def test_occurrences_are_the_schedules_dates_day_by_day() -> None:
    rng = random.Random(10)
    for _ in range(400):
        schedule = _random_schedule(rng)
        start = dt.date(2022, 6, 1) + dt.timedelta(days=rng.randrange(0, 2000))
        end = start + dt.timedelta(days=rng.randrange(-3, 800))
        expected = []
        day = start
        while day <= end:
            if _is_date_of(schedule, day):
                expected.append(day)
            day += dt.timedelta(days=1)
        # Twice: the second answer comes from the cache and must be the same (and a
        # caller changing its list must not change the cache).
        first = occurrences(schedule, start, end)
        assert first == expected, (schedule, start, end)
        first.append(dt.date(1999, 1, 1))
        assert occurrences(schedule, start, end) == expected


def test_two_schedules_that_differ_only_in_start_date_keep_their_own_dates() -> None:
    # Every two weeks from a Monday, one week apart: the same pattern key must not
    # give one the other's dates.
    early = WeeklySchedule(weekday=Weekday.MONDAY, every_weeks=2, start_date=dt.date(2026, 1, 5))
    late = WeeklySchedule(weekday=Weekday.MONDAY, every_weeks=2, start_date=dt.date(2026, 1, 12))
    window = (dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    assert occurrences(early, *window) == [
        dt.date(2026, 3, 2),
        dt.date(2026, 3, 16),
        dt.date(2026, 3, 30),
    ]
    assert occurrences(late, *window) == [dt.date(2026, 3, 9), dt.date(2026, 3, 23)]
    # A yearly tax whose schedule starts mid-year saves over the months that remain.
    tax = YearlySchedule(month=3, day_of_month=31, start_date=dt.date(2026, 11, 1))
    older = YearlySchedule(month=3, day_of_month=31, start_date=dt.date(2025, 1, 1))
    assert len(installment_dates(tax, dt.date(2027, 3, 31))) == 5
    assert len(installment_dates(older, dt.date(2027, 3, 31))) == 12


@settings(max_examples=300, deadline=None)
@given(plans())
def test_integer_monthly_totals_equal_the_plans_fraction_sums(plan: Plan) -> None:
    assert monthly_totals_cents(plan) == (
        plan.buffer_target_cents,
        plan.living_money_monthly_cents,
    )


@given(st.integers(-(10**9), 10**9), st.integers(1, 10**6))
def test_round_half_up_ratio_is_round_half_up_of_the_fraction(
    numerator: int, denominator: int
) -> None:
    assert round_half_up_ratio(numerator, denominator) == round_half_up(
        Fraction(numerator, denominator)
    )


@given(st.integers(-(10**8), 10**8), st.integers(1, 60))
def test_equal_parts_are_money_allocate_with_equal_weights(cents: int, count: int) -> None:
    assert equal_parts(cents, count) == [part.cents for part in Money(cents).allocate([1] * count)]


def _weekly_payout_by_fractions(monthly_cents: int, plan: Plan, payout_date: dt.date) -> int:
    """The definition before issue #10, in Fractions and Money objects."""
    assert plan.living_money is not None
    schedule = plan.living_money.schedule
    first = payout_date.replace(day=1)
    last = payout_date.replace(day=last_day_of_month(payout_date.year, payout_date.month))
    month_dates = [day for day in _days(first, last) if _is_date_of(schedule, day)]
    if payout_date not in month_dates:
        return 0
    count = len(month_dates)
    weekly_cents = round_half_up(Fraction(monthly_cents * 12, 52))
    month_total_cents = round_half_up(Fraction(monthly_cents * 12 * count, 52))
    parts = [part.cents for part in Money(month_total_cents).allocate([1] * count)]
    parts.sort(key=lambda cents: cents != weekly_cents)
    return parts[month_dates.index(payout_date)]


def _days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=offset) for offset in range((last - first).days + 1)]


@given(st.integers(0, 5_000_00), st.dates(dt.date(2026, 1, 1), dt.date(2028, 12, 31)))
def test_weekly_payouts_are_the_fraction_definition(monthly_cents: int, day: dt.date) -> None:
    plan = anna_plan()
    assert payout_amount_cents(monthly_cents, plan, day) == _weekly_payout_by_fractions(
        monthly_cents, plan, day
    )


def _clear_caches() -> None:
    for cached in (
        schedules._dates_between,
        schedules._installment_dates,
        engine._installments,
        engine._weekly_share_cents,
        business_days.execution_date,
        business_days.next_business_day,
        texts.euro_nl,
        texts.euro_en,
        actions._participant_account,
    ):
        cached.cache_clear()


def test_a_plan_changed_between_two_days_gives_the_new_amounts_in_the_same_process() -> None:
    """The caches hold dates and amounts, never a plan: evaluating version 1 and then
    version 2 (other rent, other yearly tax, so other living money) in one process gives
    exactly what version 2 gives in a fresh process."""
    first = anna_plan()
    second = anna_plan(
        version=2,
        fixed_costs=tuple(
            cost.model_copy(update={"amount_cents": changed})
            if (changed := {"rent": euro("700,00"), "taxes": euro("360,00")}.get(cost.agreement_id))
            else cost
            for cost in first.fixed_costs
        ),
    )
    assert second.living_money_monthly_cents < first.living_money_monthly_cents
    balances = Balances(available_cents=euro("3.000,00"))
    monday = dt.date(2026, 5, 4)
    before = evaluate(first, balances, OpenItems(), monday)
    after = evaluate(second, balances, OpenItems(), monday)
    _clear_caches()
    assert after == evaluate(second, balances, OpenItems(), monday)
    assert before != after

    def amounts(actions: list[Action], kind: type, agreement_id: str | None = None) -> set[int]:
        return {
            action.amount_cents
            for action in actions
            if isinstance(action, kind)
            and (agreement_id is None or getattr(action, "agreement_id", None) == agreement_id)
        }

    assert amounts(before, PayFixedCost, "rent") == {euro("645,00")}
    assert amounts(after, PayFixedCost, "rent") == {euro("700,00")}
    # The yearly tax saves 1/12 a month: € 26,00 then € 30,00.
    assert amounts(before, ReserveFixedCost, "taxes") == {euro("26,00")}
    assert amounts(after, ReserveFixedCost, "taxes") == {euro("30,00")}
    assert amounts(after, PayLivingMoney) == {
        payout_amount_cents(second.living_money_monthly_cents, second, monday)
    }
    assert amounts(after, PayLivingMoney) != amounts(before, PayLivingMoney)
