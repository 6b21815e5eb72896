from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger import AMOUNT_CENTS_MAX, Money, MoneyError


@pytest.mark.parametrize(
    ("text", "cents"),
    [("1312.48", 131248), ("1312,48", 131248), ("-5", -500), ("0.5", 50), ("+7.05", 705)],
)
def test_parse_exact_amounts(text: str, cents: int) -> None:
    assert Money.parse(text).cents == cents


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("12.345", "more than two decimals"),
        ("1e3", "not a euro amount"),
        ("", "not a euro amount"),
        ("12.3.4", "not a euro amount"),
        ("100000000000", "larger than the maximum"),
        ("NaN", "not a euro amount"),
    ],
)
def test_parse_refuses_with_reason(text: str, message: str) -> None:
    with pytest.raises(MoneyError, match=message):
        Money.parse(text)


def test_parse_refuses_foreign_currency() -> None:
    with pytest.raises(MoneyError, match="'USD' is not accepted"):
        Money.parse("10.00", currency="USD")


def test_floats_are_refused() -> None:
    with pytest.raises(MoneyError):
        Money.parse(10.5)  # type: ignore[arg-type]
    with pytest.raises(MoneyError):
        Money(10.5)  # type: ignore[arg-type]


def test_decimal_with_sub_cent_refused() -> None:
    assert Money.parse(Decimal("1.20")).cents == 120
    with pytest.raises(MoneyError, match="more than two decimals"):
        Money.parse(Decimal("1.205"))


def test_dutch_formatting() -> None:
    assert Money(123456).format_nl() == "€ 1.234,56"
    assert Money(-1200).format_nl() == "− € 12,00"
    assert Money(5).format_nl() == "€ 0,05"


def test_weekly_living_money_split_from_money_flow() -> None:
    # 422,10 a month paid on the Mondays of a month with 5 Mondays: parts add up exactly.
    parts = Money(42210).allocate([1, 1, 1, 1, 1])
    assert sum(part.cents for part in parts) == 42210
    assert max(p.cents for p in parts) - min(p.cents for p in parts) <= 1


@given(
    cents=st.integers(min_value=-AMOUNT_CENTS_MAX, max_value=AMOUNT_CENTS_MAX),
    weights=st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=12).filter(
        lambda weights: sum(weights) > 0
    ),
)
def test_allocation_never_creates_or_loses_a_cent(cents: int, weights: list[int]) -> None:
    parts = Money(cents).allocate(weights)
    assert sum(part.cents for part in parts) == cents
    assert len(parts) == len(weights)
    assert parts == Money(cents).allocate(weights)  # deterministic


@given(cents=st.integers(min_value=-AMOUNT_CENTS_MAX, max_value=AMOUNT_CENTS_MAX))
def test_text_round_trip(cents: int) -> None:
    assert Money.parse(str(Money(cents))).cents == cents
