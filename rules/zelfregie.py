"""Zelfregie: the path back to managing one's own money. Pure functions, no I/O.

Two things live here:

- **savings goals (potjes)**: `goal_forecast` says when a goal is reached when the
  participant sets aside a chosen amount each month, and how much a month it takes
  to reach it by the target date;
- **steps of autonomy**: `next_step_conditions` says what is needed to move from the
  current step to the next one (e.g. three months without arrears at this step), so
  the app can show it and the caseworker can agree to it through co-decision.

Steps:
    1 everything is managed by the service;
    2 the participant chooses the day and size of living-money payouts within limits;
    3 the participant pays chosen fixed costs themselves from their living money;
    4 preparing to leave: buffer handed over as savings, agreements move over.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from dataclasses import dataclass

from rules.errors import RulesError
from rules.forecast import Forecast

MONTHS_WITHOUT_ARREARS = 3


# ---------------------------------------------------------------------- savings goals


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later; the last day of the month when it is shorter."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    for candidate in range(day.day, 27, -1):
        try:
            return dt.date(year, month, candidate)
        except ValueError:
            continue
    return dt.date(year, month, min(day.day, 28))


def whole_months_between(start: dt.date, end: dt.date) -> int:
    """Full calendar months from `start` to `end` (0 when `end` is not later)."""
    if end <= start:
        return 0
    months = (end.year - start.year) * 12 + end.month - start.month
    if add_months(start, months) > end:
        months -= 1
    return max(0, months)


@dataclass(frozen=True, slots=True)
class GoalForecast:
    """What the app says about one savings goal.

    remaining_cents: still to set aside (0 when reached).
    progress_percent: 0..100, for the progress bar.
    months_needed: monthly set-asides still needed at `monthly_cents`; None when
        nothing is set aside monthly and the goal is not reached.
    reached_on: when the goal is reached at that pace (today when reached already).
    on_time: whether that is on or before the target date (None: no target date or
        no pace).
    monthly_needed_cents: what a month it takes to reach the goal by the target date
        (None without target date; the whole remainder when the date is this month or
        has passed).
    """

    remaining_cents: int
    progress_percent: int
    months_needed: int | None
    reached_on: dt.date | None
    on_time: bool | None
    monthly_needed_cents: int | None

    @property
    def reached(self) -> bool:
        return self.remaining_cents == 0


def goal_forecast(
    *,
    saved_cents: int,
    target_cents: int,
    monthly_cents: int,
    today: dt.date,
    target_date: dt.date | None = None,
) -> GoalForecast:
    """When a goal is reached, setting aside `monthly_cents` once a month from today on."""
    if target_cents <= 0:
        raise RulesError("a savings goal needs a target above zero")
    if saved_cents < 0 or monthly_cents < 0:
        raise RulesError("saved and monthly amounts cannot be below zero")
    remaining = max(0, target_cents - saved_cents)
    progress = min(100, saved_cents * 100 // target_cents)
    monthly_needed: int | None = None
    if target_date is not None:
        months_left = whole_months_between(today, target_date)
        monthly_needed = remaining if months_left == 0 else -(-remaining // months_left)
    if remaining == 0:
        return GoalForecast(0, 100, 0, today, True if target_date else None, monthly_needed)
    if monthly_cents == 0:
        return GoalForecast(remaining, progress, None, None, None, monthly_needed)
    months = -(-remaining // monthly_cents)
    reached_on = add_months(today, months)
    on_time = None if target_date is None else reached_on <= target_date
    return GoalForecast(remaining, progress, months, reached_on, on_time, monthly_needed)


# ---------------------------------------------------------------------- steps of autonomy


class AutonomyStep(enum.IntEnum):
    MANAGED = 1
    CHOOSES_PAYOUTS = 2
    PAYS_OWN_COSTS = 3
    PREPARING_TO_LEAVE = 4


class ConditionCode(enum.StrEnum):
    MONTHS_WITHOUT_ARREARS = "months_without_arrears"
    NO_MISSED_OWN_PAYMENTS = "no_missed_own_payments"
    BUFFER_AT_TARGET = "buffer_at_target"


@dataclass(frozen=True, slots=True)
class StepCondition:
    """One condition for the next step: met or not, with how far along (done/needed)."""

    code: ConditionCode
    met: bool
    done: int
    needed: int


@dataclass(frozen=True, slots=True)
class StepFacts:
    """What the conditions are computed from.

    step_since: the day the current step started.
    arrears_on: days on which a fixed cost went into arrears (any order).
    missed_own_payments_on: days a fixed cost the participant pays themselves was
        not marked paid in time (step 3).
    """

    step: AutonomyStep
    step_since: dt.date
    today: dt.date
    arrears_on: Sequence[dt.date] = ()
    missed_own_payments_on: Sequence[dt.date] = ()
    buffer_cents: int = 0
    buffer_target_cents: int = 0


@dataclass(frozen=True, slots=True)
class NextStep:
    current: AutonomyStep
    next: AutonomyStep | None  # None at the last step
    conditions: tuple[StepCondition, ...]

    @property
    def ready(self) -> bool:
        return self.next is not None and all(condition.met for condition in self.conditions)


def _months_clean(since: dt.date, today: dt.date, bad_days: Sequence[dt.date]) -> int:
    relevant = [day for day in bad_days if since <= day <= today]
    start = max(relevant) if relevant else since
    return whole_months_between(start, today)


def next_step_conditions(facts: StepFacts) -> NextStep:
    """What is needed to move from `facts.step` to the next step."""
    if facts.step is AutonomyStep.PREPARING_TO_LEAVE:
        return NextStep(facts.step, None, ())
    clean = _months_clean(facts.step_since, facts.today, facts.arrears_on)
    conditions = [
        StepCondition(
            ConditionCode.MONTHS_WITHOUT_ARREARS,
            clean >= MONTHS_WITHOUT_ARREARS,
            min(clean, MONTHS_WITHOUT_ARREARS),
            MONTHS_WITHOUT_ARREARS,
        )
    ]
    if facts.step is AutonomyStep.PAYS_OWN_COSTS:
        missed = sum(
            1 for day in facts.missed_own_payments_on if facts.step_since <= day <= facts.today
        )
        conditions.append(
            StepCondition(ConditionCode.NO_MISSED_OWN_PAYMENTS, missed == 0, missed, 0)
        )
        at_target = facts.buffer_cents >= facts.buffer_target_cents
        conditions.append(
            StepCondition(
                ConditionCode.BUFFER_AT_TARGET,
                at_target,
                max(0, facts.buffer_cents),
                max(0, facts.buffer_target_cents),
            )
        )
    return NextStep(facts.step, AutonomyStep(facts.step + 1), tuple(conditions))


# ---------------------------------------------------------------------- setting money aside


def free_to_set_aside(available_cents: int, forecast: Forecast | None) -> int:
    """How much of `available` a participant may move into savings now.

    Money in `available` is partly still needed: the engine reserves fixed costs
    from it until the next income. What it would pay out as living money before
    that income is theirs to spend, so theirs to set aside. Without a forecast
    (no plan yet) nothing is to be reserved and all of `available` is free.
    """
    if available_cents <= 0:
        return 0
    if forecast is None:
        return available_cents
    spare = 0
    for day in forecast.days:
        if day.income_cents > 0:
            break
        spare += day.living_money_cents
    return max(0, min(available_cents, spare))
