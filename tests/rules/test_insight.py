"""Insight (issue 12), pure: the reference-budget file is refused with a message that
names each problem, and the monthly comparison adds up (nothing noted is lost or
counted twice; the reference is shown per category for the chosen household)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.zelfregie.reference_budgets import DEFAULT_PATH
from rules.insight import (
    HouseholdType,
    ReferenceBudgetsError,
    Spent,
    compare_month,
    month_start,
    next_month,
    parse_reference_budgets,
    previous_month,
)

NOV = dt.date(2026, 11, 1)


def _file(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DEFAULT_PATH.read_text(encoding="utf-8"))
    data.update(changes)
    return data


def _parse(data: dict[str, Any]) -> None:
    parse_reference_budgets(json.dumps(data), origin="in test.json")


def test_the_shipped_file_is_complete_and_marked_as_example_figures() -> None:
    budgets = parse_reference_budgets(DEFAULT_PATH.read_text(encoding="utf-8"), origin="shipped")
    assert budgets.example_figures is True
    assert "Nibud" in budgets.source
    assert "vervang" in budgets.note.lower() or "vervangt" in budgets.note
    assert set(budgets.budgets) == {kind.value for kind in HouseholdType}
    codes = budgets.category_codes()
    assert {"boodschappen", "kleding", "verzorging", "vervoer", "vrije_tijd", "inventaris"} <= set(
        codes
    )
    for kind in HouseholdType:
        amounts = budgets.for_household(kind)
        assert set(amounts) == set(codes)
        assert all(isinstance(cents, int) and cents > 0 for cents in amounts.values())
    # More people, more groceries: the example figures are at least plausible.
    groceries = {kind: budgets.for_household(kind)["boodschappen"] for kind in HouseholdType}
    assert groceries[HouseholdType.SINGLE] < groceries[HouseholdType.SINGLE_PARENT_1]
    assert groceries[HouseholdType.SINGLE_PARENT_1] < groceries[HouseholdType.SINGLE_PARENT_2]
    assert groceries[HouseholdType.COUPLE] < groceries[HouseholdType.COUPLE_2]


def test_an_unknown_household_type_is_refused_by_name() -> None:
    data = _file()
    data["budgets"]["commune"] = data["budgets"]["single"]
    with pytest.raises(ReferenceBudgetsError, match=r"unknown household type\(s\): commune"):
        _parse(data)


def test_a_missing_household_type_is_refused_by_name() -> None:
    data = _file()
    del data["budgets"]["couple_2"]
    with pytest.raises(ReferenceBudgetsError, match=r"household type\(s\) missing: couple_2"):
        _parse(data)


def test_a_negative_amount_is_refused_with_where_it_is() -> None:
    data = _file()
    data["budgets"]["single"]["kleding"] = -100
    with pytest.raises(ReferenceBudgetsError, match=r"budgets\.single\.kleding: -100 is not"):
        _parse(data)


def test_a_missing_category_and_an_unlisted_one_are_both_named() -> None:
    data = _file()
    del data["budgets"]["couple"]["vervoer"]
    data["budgets"]["couple"]["auto"] = 5000
    with pytest.raises(ReferenceBudgetsError) as raised:
        _parse(data)
    message = str(raised.value)
    assert "budgets.couple: category(ies) missing: vervoer" in message
    assert "budgets.couple: unknown category(ies): auto" in message
    assert message.startswith("reference budgets in test.json are not valid")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"budgets": {}}, "household type(s) missing"),
        ({"year": "twintig"}, "year"),
        ({"example_figures": None}, "example_figures"),
        ({"categories": []}, "categories"),
        ({"extra": 1}, "extra"),
    ],
)
def test_other_bad_files_are_refused(change: dict[str, Any], expected: str) -> None:
    with pytest.raises(
        ReferenceBudgetsError, match=expected.replace("(", r"\(").replace(")", r"\)")
    ):
        _parse(_file(**change))


def test_amounts_must_be_whole_cents_not_euros_with_decimals() -> None:
    data = _file()
    data["budgets"]["single"]["kleding"] = 65.5
    with pytest.raises(ReferenceBudgetsError, match=r"budgets\.single\.kleding"):
        _parse(data)


def test_not_json_is_refused() -> None:
    with pytest.raises(ReferenceBudgetsError, match="not valid"):
        parse_reference_budgets("{not json", origin="x")


def test_a_month_compared_with_the_reference() -> None:
    result = compare_month(
        month=NOV,
        living_money_cents=80_000,
        spent=[
            Spent("boodschappen", 12_000),
            Spent("boodschappen", 3_050),
            Spent("own:7", 2_000),
            Spent("vervoer", 1_000),
        ],
        reference_categories=["boodschappen", "kleding", "vervoer"],
        own_categories=["own:7", "own:9"],
        reference={"boodschappen": 30_000, "kleding": 6_500, "vervoer": 6_000},
    )
    rows = {row.category: (row.recorded_cents, row.reference_cents) for row in result.rows}
    assert [row.category for row in result.rows] == [
        "boodschappen",
        "kleding",
        "vervoer",
        "own:7",
        "own:9",
    ]
    assert rows["boodschappen"] == (15_050, 30_000)
    assert rows["kleding"] == (0, 6_500)  # the reference shows, also with nothing noted
    assert rows["own:7"] == (2_000, None)  # own categories have no reference figure
    assert result.recorded_cents == 18_050
    assert result.not_recorded_cents == 80_000 - 18_050
    assert result.recorded_beyond_cents == 0
    assert result.reference_total_cents == 42_500


def test_without_a_household_type_there_is_no_reference_and_a_removed_category_stays() -> None:
    result = compare_month(
        month=NOV,
        living_money_cents=10_000,
        spent=[Spent("boodschappen", 6_000), Spent("telefoon", 7_000)],
        reference_categories=["boodschappen"],
    )
    assert [(row.category, row.reference_cents) for row in result.rows] == [
        ("boodschappen", None),
        ("telefoon", None),
    ]
    assert result.reference_total_cents is None
    # More noted than received (savings, another month): said, never a negative remainder.
    assert result.not_recorded_cents == 0
    assert result.recorded_beyond_cents == 3_000


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"month": dt.date(2026, 11, 2)}, "first day"),
        ({"living_money_cents": -1}, "negative"),
        ({"spent": [Spent("boodschappen", 0)]}, "above zero"),
    ],
)
def test_impossible_input_is_refused(kwargs: dict[str, Any], message: str) -> None:
    arguments: dict[str, Any] = {
        "month": NOV,
        "living_money_cents": 0,
        "spent": [],
        "reference_categories": ["boodschappen"],
    }
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=message):
        compare_month(**arguments)


@given(
    living=st.integers(min_value=0, max_value=10**9),
    amounts=st.lists(
        st.tuples(st.sampled_from(["a", "b", "own:1", "gone"]), st.integers(1, 10**8)),
        max_size=40,
    ),
)
def test_every_noted_cent_is_in_exactly_one_row(
    living: int, amounts: list[tuple[str, int]]
) -> None:
    result = compare_month(
        month=NOV,
        living_money_cents=living,
        spent=[Spent(category, cents) for category, cents in amounts],
        reference_categories=["a", "b"],
        own_categories=["own:1"],
        reference={"a": 100, "b": 200},
    )
    total = sum(cents for _, cents in amounts)
    assert sum(row.recorded_cents for row in result.rows) == total == result.recorded_cents
    assert len({row.category for row in result.rows}) == len(result.rows)
    assert (
        result.recorded_cents + result.not_recorded_cents - result.recorded_beyond_cents == living
    )


def test_month_arithmetic_across_the_year() -> None:
    assert month_start(dt.date(2026, 12, 31)) == dt.date(2026, 12, 1)
    assert next_month(dt.date(2026, 12, 1)) == dt.date(2027, 1, 1)
    assert previous_month(dt.date(2027, 1, 1)) == dt.date(2026, 12, 1)
    assert previous_month(dt.date(2026, 3, 1)) == dt.date(2026, 2, 1)
