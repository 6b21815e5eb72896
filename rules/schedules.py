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


def last_day_of_month(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


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
    first = max(start, schedule_start(schedule))
    last_of_schedule = schedule_end(schedule)
    last = end if last_of_schedule is None else min(end, last_of_schedule)
    if last < first:
        return []
    found: list[dt.date] = []
    for year in range(first.year, last.year + 1):
        found.extend(day for day in _dates_in_year(schedule, year) if first <= day <= last)
    return found


def next_occurrence(schedule: AnySchedule, on_or_after: dt.date) -> dt.date | None:
    """The first date of the schedule on or after `on_or_after`, if any within 2 years."""
    found = occurrences(schedule, on_or_after, on_or_after + dt.timedelta(days=731))
    return found[0] if found else None


def is_occurrence(schedule: AnySchedule, day: dt.date) -> bool:
    return occurrences(schedule, day, day) == [day]


@functools.lru_cache(maxsize=8192)
def _dates_in_year(schedule: AnySchedule, year: int) -> tuple[dt.date, ...]:
    """All dates of the schedule in one calendar year, ignoring start and end.

    Cached: the engine asks the same schedule for the same years every day.
    """
    if isinstance(schedule, OnceSchedule):
        return (schedule.on_date,) if schedule.on_date.year == year else ()
    if isinstance(schedule, MonthlySchedule):
        months: tuple[int, ...] = tuple(range(1, 13))
    elif isinstance(schedule, QuarterlySchedule):
        months = tuple(month for month in range(1, 13) if (month - schedule.month) % 3 == 0)
    elif isinstance(schedule, YearlySchedule):
        months = (schedule.month,)
    else:
        return _weekly_dates_in_year(schedule, year)
    return tuple(clamped_date(year, month, schedule.day_of_month) for month in months)


def _weekly_dates_in_year(schedule: WeeklySchedule, year: int) -> tuple[dt.date, ...]:
    first = schedule.start_date + dt.timedelta(
        days=(schedule.weekday - schedule.start_date.weekday()) % DAYS_PER_WEEK
    )
    step_days = DAYS_PER_WEEK * schedule.every_weeks
    year_first = dt.date(year, 1, 1)
    if first >= year_first:
        day = first
    else:
        steps = -(-(year_first - first).days // step_days)  # ceiling division
        day = first + dt.timedelta(days=steps * step_days)
    found: list[dt.date] = []
    while day.year == year:
        found.append(day)
        day += dt.timedelta(days=step_days)
    return tuple(found)


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
    dates = tuple(
        shift_months(due_date, -back, schedule.day_of_month) for back in range(months - 1, -1, -1)
    )
    kept = tuple(day for day in dates if day >= schedule.start_date)
    return kept or (due_date,)
