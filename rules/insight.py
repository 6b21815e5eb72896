"""Insight (issue 12): where did the living money go, next to reference budgets.

Pure: the shape of a reference-budget file (validated with pydantic, so a bad file
is refused at startup with a message that says what is wrong) and the monthly
comparison. The participant's own notes of what they spent are *notes*, not
ledger entries: nothing here moves money.

Reference budgets are data, not code: a municipality ships its own file with the
current figures it licenses (e.g. the Nibud voorbeeldbegrotingen); the file in the
package holds example figures only.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, model_validator

# A category code: lower case, digits and underscores, as used in forms and the database.
CATEGORY_CODE_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
MONTHLY_CENTS_MAX = 10_000_000  # € 100.000 a month: far above any real reference figure


class HouseholdType(enum.StrEnum):
    """The household types reference budgets are given for."""

    SINGLE = "single"
    SINGLE_PARENT_1 = "single_parent_1"
    SINGLE_PARENT_2 = "single_parent_2"
    COUPLE = "couple"
    COUPLE_1 = "couple_1"
    COUPLE_2 = "couple_2"


# Stored as the participant's choice when they would rather not say: no default then.
HOUSEHOLD_NOT_SAID = "none"


def household_type_for(adults: int | None, children: int | None) -> HouseholdType | None:
    """The household type that fits the composition noted at onboarding, as a default
    the participant can change. More than two children: the nearest type there is (two
    children). More than two adults, or unknown: no default (the participant chooses)."""
    if adults is None or adults < 1 or adults > 2:
        return None
    kids = max(0, children or 0)
    if adults == 1:
        return (HouseholdType.SINGLE, HouseholdType.SINGLE_PARENT_1, HouseholdType.SINGLE_PARENT_2)[
            min(kids, 2)
        ]
    return (HouseholdType.COUPLE, HouseholdType.COUPLE_1, HouseholdType.COUPLE_2)[min(kids, 2)]


class ReferenceCategory(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(pattern=CATEGORY_CODE_PATTERN)
    nl: str = Field(min_length=1, max_length=60)
    en: str = Field(min_length=1, max_length=60)


class ReferenceBudgets(BaseModel):
    """A reference-budget file: monthly amounts in cents per household type and category."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str = Field(min_length=1, max_length=200)
    version: str = Field(min_length=1, max_length=60)
    year: int = Field(ge=2000, le=2100)
    example_figures: bool = Field(
        description="true while the figures are examples, not the licensed current figures"
    )
    note: str = Field(default="", max_length=1000)
    categories: tuple[ReferenceCategory, ...] = Field(min_length=1, max_length=30)
    # Keys are HouseholdType values; checked below so every problem is named at once.
    budgets: dict[str, dict[str, StrictInt]]

    @model_validator(mode="after")
    def _complete(self) -> ReferenceBudgets:
        codes = [category.code for category in self.categories]
        twice = sorted({code for code in codes if codes.count(code) > 1})
        if twice:
            raise ValueError(f"categories: code(s) listed twice: {', '.join(twice)}")
        known = [kind.value for kind in HouseholdType]
        problems: list[str] = []
        unknown_types = sorted(set(self.budgets) - set(known))
        if unknown_types:
            problems.append(
                f"budgets: unknown household type(s): {', '.join(unknown_types)} "
                f"(known: {', '.join(known)})"
            )
        missing_types = [kind for kind in known if kind not in self.budgets]
        if missing_types:
            problems.append(f"budgets: household type(s) missing: {', '.join(missing_types)}")
        for kind, amounts in self.budgets.items():
            if kind not in known:
                continue
            missing = [code for code in codes if code not in amounts]
            unknown = sorted(set(amounts) - set(codes))
            if missing:
                problems.append(f"budgets.{kind}: category(ies) missing: {', '.join(missing)}")
            if unknown:
                problems.append(
                    f"budgets.{kind}: unknown category(ies): {', '.join(unknown)} "
                    "(list them under 'categories' first)"
                )
            for code, cents in amounts.items():
                if not 0 <= cents <= MONTHLY_CENTS_MAX:
                    problems.append(
                        f"budgets.{kind}.{code}: {cents} is not a monthly amount in cents "
                        f"from 0 to {MONTHLY_CENTS_MAX}"
                    )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def category_codes(self) -> tuple[str, ...]:
        return tuple(category.code for category in self.categories)

    def label(self, code: str, lang: str) -> str | None:
        for category in self.categories:
            if category.code == code:
                return category.en if lang == "en" else category.nl
        return None

    def for_household(self, kind: HouseholdType) -> dict[str, int]:
        return dict(self.budgets[kind.value])


class ReferenceBudgetsError(ValueError):
    """A reference-budget file that cannot be used; the message says why, per problem."""


def parse_reference_budgets(text: str, *, origin: str) -> ReferenceBudgets:
    """The budgets in `text` (JSON), or ReferenceBudgetsError naming `origin` and each problem."""
    try:
        return ReferenceBudgets.model_validate_json(text)
    except ValidationError as error:
        problems = []
        for item in error.errors(include_url=False):
            where = ".".join(str(part) for part in item["loc"])
            message = str(item["msg"]).removeprefix("Value error, ")
            problems.append(f"{where}: {message}" if where else message)
        raise ReferenceBudgetsError(
            f"reference budgets {origin} are not valid: " + "; ".join(problems)
        ) from None


# ---------------------------------------------------------------------- months


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def next_month(first: dt.date) -> dt.date:
    return dt.date(first.year + first.month // 12, first.month % 12 + 1, 1)


def previous_month(first: dt.date) -> dt.date:
    return dt.date(first.year - (first.month == 1), (first.month - 2) % 12 + 1, 1)


# ---------------------------------------------------------------------- comparison


@dataclass(frozen=True, slots=True)
class Spent:
    """What the participant noted: an amount (cents, > 0) under a category key."""

    category: str
    amount_cents: int


@dataclass(frozen=True, slots=True)
class InsightRow:
    category: str
    recorded_cents: int
    reference_cents: int | None  # None: the participant's own category, no reference


@dataclass(frozen=True, slots=True)
class MonthInsight:
    month: dt.date  # the first of the month
    living_money_cents: int  # living money paid out to the participant that month
    recorded_cents: int  # everything the participant noted that month
    not_recorded_cents: int  # living money not (yet) noted: never below zero
    recorded_beyond_cents: int  # noted above the month's living money (savings, last month)
    rows: tuple[InsightRow, ...]
    reference_total_cents: int | None


def compare_month(
    *,
    month: dt.date,
    living_money_cents: int,
    spent: Sequence[Spent],
    reference_categories: Sequence[str],
    own_categories: Sequence[str] = (),
    reference: Mapping[str, int] | None = None,
) -> MonthInsight:
    """One month: per category what was noted next to the reference figure.

    Rows: every reference category (also at zero, so the reference is always shown),
    then the participant's own categories, then any other key that has notes (a
    category a municipality removed from its file) without a reference figure.
    """
    if month.day != 1:
        raise ValueError("month must be the first day of a month")
    if living_money_cents < 0:
        raise ValueError("living money received cannot be negative")
    per_category: dict[str, int] = {}
    for item in spent:
        if item.amount_cents <= 0:
            raise ValueError("a noted amount must be above zero")
        per_category[item.category] = per_category.get(item.category, 0) + item.amount_cents
    order = list(dict.fromkeys([*reference_categories, *own_categories]))
    order += sorted(set(per_category) - set(order))
    reference_keys = set(reference_categories)
    rows = tuple(
        InsightRow(
            category=key,
            recorded_cents=per_category.get(key, 0),
            reference_cents=(reference.get(key, 0) if reference is not None else None)
            if key in reference_keys
            else None,
        )
        for key in order
    )
    recorded = sum(per_category.values())
    return MonthInsight(
        month=month,
        living_money_cents=living_money_cents,
        recorded_cents=recorded,
        not_recorded_cents=max(0, living_money_cents - recorded),
        recorded_beyond_cents=max(0, recorded - living_money_cents),
        rows=rows,
        reference_total_cents=(
            sum(reference.get(key, 0) for key in reference_categories)
            if reference is not None
            else None
        ),
    )
