"""Matching rules on their own (no database): tolerance, terms, window, never a guess."""

from __future__ import annotations

import dataclasses
import datetime as dt

from backend.bank_import.matching import (
    ExpectationIndex,
    normalise_text,
    rank_suggestions,
)
from backend.plans import IncomeExpectation
from rules import IncomeAgreement, IncomeKind, MonthlySchedule

PAYER = "NL02BNGH0285128714"
START = dt.date(2024, 10, 1)


def expectation(
    participant_id: int, cents: int, tolerance: int, terms: tuple[str, ...]
) -> IncomeExpectation:
    agreement = IncomeAgreement(
        agreement_id="uitkering",
        payer_name="Werk en Inkomen",
        payer_iban=PAYER,
        search_terms=terms,
        expected_amount_cents=cents,
        tolerance_cents=tolerance,
        schedule=MonthlySchedule(day_of_month=25, start_date=START),
        kind=IncomeKind.BENEFIT,
    )
    return IncomeExpectation(
        participant_id=participant_id,
        agreement_id="uitkering",
        plan_version=1,
        effective_from=START,
        effective_until=None,
        payer_iban=PAYER,
        payer_name="Werk en Inkomen",
        search_terms=terms,
        expected_amount_cents=cents,
        tolerance_cents=tolerance,
        agreement=agreement,
    )


INDEX = ExpectationIndex(
    {
        PAYER: [
            expectation(1, 131_248, 500, ("Participatiewet", "klantnr 111")),
            expectation(2, 131_248, 500, ("Participatiewet", "klantnr 222")),
            expectation(3, 108_920, 0, ("Participatiewet",)),
        ]
    }
)


def match(cents: int, text: str, day: dt.date = dt.date(2024, 11, 25)) -> tuple[int | None, str]:
    result = INDEX.match(
        payer_iban=PAYER, amount_cents=cents, booking_date=day, text_normalised=normalise_text(text)
    )
    return (result.expectation.participant_id if result.expectation else None), result.reason


def test_the_client_number_tells_two_equal_benefits_apart() -> None:
    assert match(131_248, "Participatiewet nov klantnr 111") == (1, "")
    assert match(131_248 + 500, "participatiewet KLANTNR  222") == (2, "")
    assert match(131_248 + 501, "Participatiewet klantnr 222")[0] is None


def test_without_the_distinguishing_term_it_is_never_guessed() -> None:
    both = expectation(4, 131_248, 500, ("Participatiewet",))
    index = ExpectationIndex({PAYER: [both, expectation(5, 131_248, 500, ("Participatiewet",))]})
    result = index.match(
        payer_iban=PAYER,
        amount_cents=131_248,
        booking_date=dt.date(2024, 11, 25),
        text_normalised=normalise_text("Participatiewet"),
    )
    assert result.expectation is None and result.matches == 2


def test_window_and_unknown_payer() -> None:
    assert match(108_920, "Participatiewet", dt.date(2024, 11, 23)) == (3, "")  # 2 days early
    assert match(108_920, "Participatiewet", dt.date(2024, 11, 22))[0] is None  # 3 days early
    assert match(108_920, "Participatiewet", dt.date(2024, 11, 30)) == (3, "")  # 5 days late
    result = INDEX.match(
        payer_iban="NL91ABNA0417164300",
        amount_cents=108_920,
        booking_date=dt.date(2024, 11, 25),
        text_normalised="participatiewet",
    )
    assert result.reason == "no income agreement has this payer IBAN"


def test_suggestions_rank_the_best_fit_first() -> None:
    ranked = rank_suggestions(
        INDEX.expectations_of(PAYER),
        payer_iban=PAYER,
        amount_cents=131_000,
        booking_date=dt.date(2024, 11, 25),
        text_normalised=normalise_text("Participatiewet klantnr 222"),
    )
    assert [item.participant_id for item in ranked] == [2, 1, 3]
    assert ranked[0].score == 100 and ranked[0].search_terms_found == 2
    assert ranked[1].search_terms_found == 1 and ranked[1].score < ranked[0].score


def test_an_index_read_for_a_whole_file_reasons_as_one_read_for_the_statement() -> None:
    """An agreement that starts in March, an entry of its payer in January: read for
    January alone the payer is unknown; the file's index (read for the year) used
    `within` January says the same, and in March it matches."""
    march = dataclasses.replace(
        expectation(6, 131_248, 500, ("Participatiewet",)), effective_from=dt.date(2025, 3, 1)
    )
    year = ExpectationIndex({PAYER: [march]})

    def reason(index: ExpectationIndex, day: dt.date) -> str:
        return index.match(
            payer_iban=PAYER,
            amount_cents=131_248,
            booking_date=day,
            text_normalised=normalise_text("Participatiewet"),
        ).reason

    january = year.within(dt.date(2025, 1, 1), dt.date(2025, 1, 31))
    assert reason(ExpectationIndex({PAYER: []}), dt.date(2025, 1, 25)) == (
        "no income agreement has this payer IBAN"
    )
    assert reason(january, dt.date(2025, 1, 25)) == "no income agreement has this payer IBAN"
    # Without `within` the file's index would tell finance something else.
    assert reason(year, dt.date(2025, 1, 25)) == (
        "the payer's agreements are not in force on the booking date"
    )
    assert (
        reason(year.within(dt.date(2025, 3, 1), dt.date(2025, 3, 31)), dt.date(2025, 3, 25)) == ""
    )
