"""Words for explanations: Dutch at language level B1, and English.

Kept in one place so that the sentences stay short, consistent and testable.
"""

from __future__ import annotations

import datetime as dt
import functools

from ledger import Money
from rules.plan import Category, FixedCostAgreement, IncomeAgreement, IncomeKind

MONTHS_NL = (
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
)
MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

CATEGORY_WORDS: dict[Category, tuple[str, str]] = {
    Category.RENT: ("Huur", "Rent"),
    Category.MORTGAGE: ("Hypotheek", "Mortgage"),
    Category.ENERGY: ("Energie", "Energy"),
    Category.WATER: ("Water", "Water"),
    Category.DISTRICT_HEATING: ("Stadsverwarming", "District heating"),
    Category.HEALTH_INSURANCE: ("Zorgverzekering", "Health insurance"),
    Category.MUNICIPAL_TAXES: ("Gemeentelijke belastingen", "Municipal taxes"),
    Category.WATER_BOARD_TAXES: ("Waterschapsbelasting", "Water board tax"),
    Category.PHONE_AND_INTERNET: ("Telefoon en internet", "Phone and internet"),
    Category.INSURANCE: ("Verzekering", "Insurance"),
    Category.REPAYMENT_ARRANGEMENT: ("Betalingsregeling", "Repayment arrangement"),
    Category.OTHER: ("Vaste last", "Fixed cost"),
}
INCOME_WORDS: dict[IncomeKind, tuple[str, str]] = {
    IncomeKind.BENEFIT: ("Uitkering", "Benefit"),
    IncomeKind.ALLOWANCE: ("Toeslag", "Allowance"),
    IncomeKind.WAGES: ("Loon", "Wages"),
    IncomeKind.OTHER: ("Inkomen", "Income"),
}


@functools.lru_cache(maxsize=8192)
def euro_nl(cents: int) -> str:
    """€ 1.234,56 (cached: an int key, and every explanation names an amount)"""
    return Money(cents).format_nl()


@functools.lru_cache(maxsize=8192)
def euro_en(cents: int) -> str:
    """€1,234.56"""
    units, rest = divmod(abs(cents), 100)
    return f"{'-' if cents < 0 else ''}€{units:,}.{rest:02d}"


def month_nl(day: dt.date, today: dt.date) -> str:
    """'december', or 'maart 2027' when the year is not the current one."""
    name = MONTHS_NL[day.month - 1]
    return name if day.year == today.year else f"{name} {day.year}"


def month_en(day: dt.date, today: dt.date) -> str:
    name = MONTHS_EN[day.month - 1]
    return name if day.year == today.year else f"{name} {day.year}"


def date_nl(day: dt.date) -> str:
    """'30 november 2026'"""
    return f"{day.day} {MONTHS_NL[day.month - 1]} {day.year}"


def date_en(day: dt.date) -> str:
    """'30 November 2026'"""
    return f"{day.day} {MONTHS_EN[day.month - 1]} {day.year}"


def fixed_cost_subject(
    cost: FixedCostAgreement, due_date: dt.date, today: dt.date
) -> tuple[str, str]:
    """'Huur Mitros december' / 'Rent Mitros December'."""
    words_nl, words_en = CATEGORY_WORDS[cost.category]
    label_nl = cost.description_nl or words_nl
    return (
        f"{label_nl} {cost.creditor_name} {month_nl(due_date, today)}",
        f"{words_en} {cost.creditor_name} {month_en(due_date, today)}",
    )


def own_bill(cost: FixedCostAgreement, due_date: dt.date) -> tuple[str, str]:
    """'je rekening Telefoon en internet (KPN) van 15 december 2026' and in English."""
    words_nl, words_en = CATEGORY_WORDS[cost.category]
    label_nl = cost.description_nl or words_nl
    return (
        f"je rekening {label_nl} ({cost.creditor_name}) van {date_nl(due_date)}",
        f"your {words_en.lower()} bill ({cost.creditor_name}) of {date_en(due_date)}",
    )


def income_subject(income: IncomeAgreement) -> tuple[str, str]:
    """'Zorgtoeslag van Belastingdienst Toeslagen' / 'Allowance from ...'."""
    words_nl, words_en = INCOME_WORDS[income.kind]
    label_nl = income.description_nl or words_nl
    return f"{label_nl} van {income.payer_name}", f"{words_en} from {income.payer_name}"
