"""Schedules: when a fixed cost is due, when income is expected, when living money is paid.

Kinds: monthly on day N, every N weeks on a weekday, quarterly, yearly (month + day)
and once. Every kind except `once` has a start date and an optional end date; both
are inclusive.

A day that does not exist in a month falls back to that month's last day: rent due
on the 31st is due on 28 (or 29) February and on 30 April.

Schedules are frozen pydantic models so that a plan (and therefore the backend's
stored plan versions) round-trips through JSON unchanged.
"""

from __future__ import annotations

import calendar
import datetime as dt
import enum
import functools
from fractions import Fraction
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

# A schedule is asked for at most this many years of dates at once; anything larger
# is a programming error in the caller (the engine looks at most ~14 months ahead).
SPAN_YEARS_MAX = 30

DAYS_PER_WEEK = 7


class Weekday(enum.IntEnum):
    MONDAY = 0
    TUESDAY = 1
    WEDNESDAY = 2
    THURSDAY = 3
    FRIDAY = 4
    SATURDAY = 5
    SUNDAY = 6


_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def last_day_of_month(year: int, month: int) -> int:
    # A table instead of calendar.monthrange: asked for every date the engine makes.
    if not 1 <= month <= 12:
        raise ValueError(f"month {month} does not exist")
    if month == 2 and calendar.isleap(year):
        return 29
    return _MONTH_DAYS[month - 1]


def clamped_date(year: int, month: int, day_of_month: int) -> dt.date:
    """The given day in the month, or the month's last day when the day does not exist."""
    return dt.date(year, month, min(day_of_month, last_day_of_month(year, month)))


def shift_months(day: dt.date, months: int, day_of_month: int) -> dt.date:
    """`months` calendar months later (or earlier), on `day_of_month` clamped to that month."""
    month_index = day.year * 12 + (day.month - 1) + months
    return clamped_date(month_index // 12, month_index % 12 + 1, day_of_month)


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def month_end(day: dt.date) -> dt.date:
    return day.replace(day=last_day_of_month(day.year, day.month))


class _ScheduleBase(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    start_date: dt.date
    end_date: dt.date | None = None

    @model_validator(mode="after")
    def _end_not_before_start(self) -> _ScheduleBase:
        if self.end_date is not None and self.end_date < self.start_date:
            raise ValueError(
                f"end_date {self.end_date} is before start_date {self.start_date}; "
                "a schedule must end on or after the day it starts"
            )
        return self


DayOfMonth = Annotated[StrictInt, Field(ge=1, le=31)]
MonthNumber = Annotated[StrictInt, Field(ge=1, le=12)]


class MonthlySchedule(_ScheduleBase):
    """Every month on `day_of_month` (31 means: the last day of every month)."""

    kind: Literal["monthly"] = "monthly"
    day_of_month: DayOfMonth


class WeeklySchedule(_ScheduleBase):
    """Every `every_weeks` weeks on `weekday`, the first time on or after `start_date`."""

    kind: Literal["weekly"] = "weekly"
    weekday: Weekday
    every_weeks: Annotated[StrictInt, Field(ge=1, le=52)] = 1


class QuarterlySchedule(_ScheduleBase):
    """Every three months on `day_of_month`, in `month` and every third month from it."""

    kind: Literal["quarterly"] = "quarterly"
    month: MonthNumber
    day_of_month: DayOfMonth


class YearlySchedule(_ScheduleBase):
    """Every year on `month` / `day_of_month` (29 February falls back to the 28th)."""

    kind: Literal["yearly"] = "yearly"
    month: MonthNumber
    day_of_month: DayOfMonth

    @model_validator(mode="after")
    def _day_exists_in_month(self) -> YearlySchedule:
        # 29 February is a real date in leap years; 30 February or 31 April is a typo.
        longest = 29 if self.month == 2 else last_day_of_month(2001, self.month)
        if self.day_of_month > longest:
            raise ValueError(
                f"day {self.day_of_month} does not exist in month {self.month}; "
                f"the highest day is {longest}"
            )
        return self


class OnceSchedule(BaseModel):
    """One date only."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["once"] = "once"
    on_date: dt.date


Schedule = Annotated[
    MonthlySchedule | WeeklySchedule | QuarterlySchedule | YearlySchedule | OnceSchedule,
    Field(discriminator="kind"),
]
RepeatingSchedule = MonthlySchedule | WeeklySchedule | QuarterlySchedule | YearlySchedule
AnySchedule = RepeatingSchedule | OnceSchedule


def schedule_start(schedule: AnySchedule) -> dt.date:
    return schedule.on_date if isinstance(schedule, OnceSchedule) else schedule.start_date


def schedule_end(schedule: AnySchedule) -> dt.date | None:
    return schedule.on_date if isinstance(schedule, OnceSchedule) else schedule.end_date


def occurrences(schedule: AnySchedule, start: dt.date, end: dt.date) -> list[dt.date]:
    """Every date of the schedule from `start` to `end`, both inclusive, in order."""
    if end < start:
        return []
    if end.year - start.year > SPAN_YEARS_MAX:
        raise ValueError(f"asked for {end.year - start.year} years of dates; at most 30")
    if isinstance(schedule, OnceSchedule):
        return [schedule.on_date] if start <= schedule.on_date <= end else []
    first = max(start, schedule.start_date)
    last = end if schedule.end_date is None else min(end, schedule.end_date)
    if last < first:
        return []
    return list(_dates_between(_pattern(schedule), first, last))


# A schedule's dates without its start and end: ("month", months of the year, day) or
# ("week", ordinal of any one date modulo the step, step in days). Plans of different
# participants (and versions) share patterns even when their start dates differ, so the
# dates between two days are computed once per pattern and window (the daily cycle asks
# the same windows for every participant, docs/performance.md).
_Pattern = tuple[str, int, int]


def _pattern(schedule: RepeatingSchedule) -> _Pattern:
    if isinstance(schedule, MonthlySchedule):
        return ("month", 0b111111111111, schedule.day_of_month)
    if isinstance(schedule, QuarterlySchedule):
        months = sum(
            1 << (month - 1) for month in range(1, 13) if (month - schedule.month) % 3 == 0
        )
        return ("month", months, schedule.day_of_month)
    if isinstance(schedule, YearlySchedule):
        return ("month", 1 << (schedule.month - 1), schedule.day_of_month)
    step_days = DAYS_PER_WEEK * schedule.every_weeks
    # The first date on or after start_date; `occurrences` never asks before start_date,
    # so every date of the phase from `first` on is a date of the schedule.
    first = schedule.start_date + dt.timedelta(
        days=(schedule.weekday - schedule.start_date.weekday()) % DAYS_PER_WEEK
    )
    return ("week", first.toordinal() % step_days, step_days)


@functools.lru_cache(maxsize=16384)
def _dates_between(pattern: _Pattern, first: dt.date, last: dt.date) -> tuple[dt.date, ...]:
    """The pattern's dates from `first` to `last`, both inclusive (bounded cache: the
    key holds only ints and dates, nothing of a plan, so it can never be stale)."""
    kind, what, value = pattern
    found: list[dt.date] = []
    if kind == "week":
        ordinal = first.toordinal()
        ordinal += (what - ordinal) % value
        last_ordinal = last.toordinal()
        while ordinal <= last_ordinal:
            found.append(dt.date.fromordinal(ordinal))
            ordinal += value
        return tuple(found)
    for month_index in range(first.year * 12 + first.month - 1, last.year * 12 + last.month):
        year, month0 = divmod(month_index, 12)
        if what >> month0 & 1:
            day = clamped_date(year, month0 + 1, value)
            if first <= day <= last:
                found.append(day)
    return tuple(found)


def next_occurrence(schedule: AnySchedule, on_or_after: dt.date) -> dt.date | None:
    """The first date of the schedule on or after `on_or_after`, if any within 2 years."""
    found = occurrences(schedule, on_or_after, on_or_after + dt.timedelta(days=731))
    return found[0] if found else None


def is_occurrence(schedule: AnySchedule, day: dt.date) -> bool:
    return occurrences(schedule, day, day) == [day]


def months_per_period(schedule: AnySchedule) -> int | None:
    """Calendar months between two dates of a month-based schedule; None for weekly or once."""
    if isinstance(schedule, MonthlySchedule):
        return 1
    if isinstance(schedule, QuarterlySchedule):
        return 3
    if isinstance(schedule, YearlySchedule):
        return 12
    return None


def monthly_share(amount_cents: int, schedule: AnySchedule) -> Fraction:
    """The exact average amount per month (yearly / 12, every N weeks x 52 / 12 / N).

    A one-off payment has no monthly share. Kept as a Fraction so that sums over
    many agreements are rounded once, at the end.
    """
    if isinstance(schedule, OnceSchedule):
        return Fraction(0)
    if isinstance(schedule, WeeklySchedule):
        return Fraction(amount_cents * 52, 12 * schedule.every_weeks)
    months = months_per_period(schedule)
    assert months is not None
    return Fraction(amount_cents, months)


def round_half_up(value: Fraction) -> int:
    """Round to whole cents, halves away from zero (the rounding people expect on paper)."""
    magnitude = abs(value)
    rounded = int(magnitude.numerator * 2 + magnitude.denominator) // (2 * magnitude.denominator)
    return rounded if value >= 0 else -rounded


def installment_dates(schedule: AnySchedule, due_date: dt.date) -> tuple[dt.date, ...]:
    """The dates on which money is set aside for one due date, the last one being the due date.

    Quarterly and yearly costs are saved for month by month over their period, on the
    same day of the month as the due date (a yearly tax due 31 March: 30 April ... 31
    March, 12 dates). Months before the schedule started are left out, so the first
    year's amount is spread over the months that remain. Other kinds: the due date only.
    """
    months = months_per_period(schedule)
    if months is None or months == 1:
        return (due_date,)
    assert isinstance(schedule, QuarterlySchedule | YearlySchedule)
    return _installment_dates(months, schedule.day_of_month, schedule.start_date, due_date)


@functools.lru_cache(maxsize=4096)
def _installment_dates(
    months: int, day_of_month: int, start_date: dt.date, due_date: dt.date
) -> tuple[dt.date, ...]:
    # Cached on ints and dates only (shared by every plan with the same tax date).
    dates = tuple(shift_months(due_date, -back, day_of_month) for back in range(months - 1, -1, -1))
    kept = tuple(day for day in dates if day >= start_date)
    return kept or (due_date,)
