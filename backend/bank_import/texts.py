"""Explanations on the journal entries the import writes: Dutch (B1) and English."""

from __future__ import annotations

import datetime as dt

from backend.plans import IncomeExpectation
from ledger.journal import EXPLANATION_LENGTH_MAX
from rules.texts import INCOME_WORDS, MONTHS_EN, MONTHS_NL, date_en, date_nl


def euro_nl(cents: int) -> str:
    """€ 1.234,56 (− € 12,00 for negatives); also for bank balances and totals, which
    may be larger than one ledger amount may be."""
    units, rest = divmod(abs(cents), 100)
    text = f"€ {units:,}".replace(",", ".") + f",{rest:02d}"
    return f"− {text}" if cents < 0 else text


def euro_plain(cents: int) -> str:
    """1234.56 (-12.00 for negatives)."""
    units, rest = divmod(abs(cents), 100)
    return f"{'-' if cents < 0 else ''}{units}.{rest:02d}"


def _cut(text: str) -> str:
    return text if len(text) <= EXPLANATION_LENGTH_MAX else text[: EXPLANATION_LENGTH_MAX - 1] + "…"


def _party(name: str | None, account: str | None) -> tuple[str, str]:
    if name:
        return name, name
    if account:
        return f"rekening {account}", f"account {account}"
    return "een onbekende rekening", "an unknown account"


def income_explanation(
    expectation: IncomeExpectation, expected_date: dt.date, received_on: dt.date
) -> tuple[str, str]:
    """'Uitkering november van Werk en Inkomen' / 'Benefit for November from ...'.

    The year is added when the payment belongs to another year than the day it came
    in; a payment after its expected day says so ("later dan verwacht")."""
    agreement = expectation.agreement
    words_nl, words_en = INCOME_WORDS[agreement.kind]
    label_nl = agreement.description_nl or words_nl
    month_nl = MONTHS_NL[expected_date.month - 1]
    month_en = MONTHS_EN[expected_date.month - 1]
    if expected_date.year != received_on.year:
        month_nl += f" {expected_date.year}"
        month_en += f" {expected_date.year}"
    late = received_on > expected_date
    return (
        _cut(
            f"{label_nl} {month_nl} van {agreement.payer_name}"
            + (" (later dan verwacht)" if late else "")
        ),
        _cut(
            f"{words_en} for {month_en} from {agreement.payer_name}"
            + (" (later than expected)" if late else "")
        ),
    )


def suspense_credit_explanation(name: str | None, account: str | None) -> tuple[str, str]:
    party_nl, party_en = _party(name, account)
    return (
        _cut(
            f"Geld ontvangen van {party_nl}. We weten nog niet voor wie het is; "
            "het staat op de tussenrekening tot financiën het toewijst."
        ),
        _cut(
            f"Money received from {party_en}. We do not know yet whom it is for; "
            "it is held in suspense until finance assigns it."
        ),
    )


def suspense_debit_explanation(name: str | None, account: str | None) -> tuple[str, str]:
    party_nl, party_en = _party(name, account)
    return (
        _cut(
            f"Geld afgeschreven naar {party_nl}. Dit is geen betaling die we kennen; "
            "financiën zoekt het uit."
        ),
        _cut(f"Money paid to {party_en}. We do not recognise this payment; finance looks into it."),
    )


def opening_balance_explanation(iban: str, statement_id: str, cents: int) -> tuple[str, str]:
    """The part of the first statement's opening balance the ledger did not know."""
    return (
        _cut(
            f"Saldo van rekening {iban} bij het eerste afschrift ({statement_id}) dat nog "
            f"niet in het grootboek stond: {euro_nl(cents)}. Het staat op de tussenrekening "
            "tot financiën het toewijst."
        ),
        _cut(
            f"Balance of account {iban} at the first statement ({statement_id}) that the "
            "ledger did not know yet. It is held in suspense until finance assigns it."
        ),
    )


def assignment_explanation(
    *,
    credit: bool,
    name: str | None,
    account: str | None,
    booking_date: dt.date,
    reason: str,
    income: tuple[str, str] | None,
) -> tuple[str, str]:
    """For `suspense → available` (or back, for a debit) with finance's reason."""
    party_nl, party_en = _party(name, account)
    if income is not None:
        head_nl, head_en = income
        return (
            _cut(f"{head_nl}. Toegewezen door financiën: {reason}"),
            _cut(f"{head_en}. Assigned by finance: {reason}"),
        )
    if credit:
        return (
            _cut(
                f"Geld van {party_nl} van {date_nl(booking_date)} is voor jou. "
                f"Toegewezen door financiën: {reason}"
            ),
            _cut(
                f"Money from {party_en} of {date_en(booking_date)} is yours. "
                f"Assigned by finance: {reason}"
            ),
        )
    return (
        _cut(
            f"Betaling aan {party_nl} van {date_nl(booking_date)} gaat van jouw geld af. "
            f"Toegewezen door financiën: {reason}"
        ),
        _cut(
            f"The payment to {party_en} of {date_en(booking_date)} is paid from your money. "
            f"Assigned by finance: {reason}"
        ),
    )
