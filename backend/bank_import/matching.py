"""Matching incoming money to income agreements, and ranking suggestions for suspense.

An income agreement is an *expected payment* (backend.plans.IncomeExpectation). A bank
credit matches it when all of these hold:

1. the payer's IBAN is the agreement's payer IBAN;
2. the agreement (its plan version) is in force on the booking date;
3. the amount is within the tolerance: |amount − expected| ≤ tolerance;
4. every search term of the agreement appears in the remittance text (case, accents
   and spacing ignored; an agreement without search terms skips this check);
5. the booking date lies in the window around one of the agreement's expected dates.

A credit that matches exactly one agreement is booked to that participant. Zero or
several matches: suspense, never a guess. Search terms are conjunctive on purpose:
when a payer (Werk en Inkomen, Toeslagen) pays many participants the same amount,
only a term such as a client number tells them apart, and adding a term can only
make a match stricter.

`ExpectationIndex` holds the expectations of every payer IBAN in a statement (one
query, `income_expectations_for_payers`), sorted by amount, so matching a credit costs a
bisection plus a check of the few agreements near its amount — not a query per entry.
`rank_suggestions` scores agreements for an entry that is in suspense (computed on
read): a hint for finance, never applied automatically.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from unidecode import unidecode

from backend.plans import IncomeExpectation

SUGGESTIONS_MAX = 5
SUGGESTION_SCORE_MIN = 20
TEXT_LENGTH_MAX = 2_000


@functools.lru_cache(maxsize=4096)
def normalise_term(text: str) -> str:
    """Lower case, accents folded (ë → e, Ĳ → ij), whitespace collapsed."""
    return " ".join(unidecode(text[:TEXT_LENGTH_MAX]).casefold().split())


def normalise_text(*parts: str | None) -> str:
    """The searchable text of a bank entry (remittance lines, structured reference)."""
    joined = " ".join(part for part in parts if part)
    return " ".join(unidecode(joined[:TEXT_LENGTH_MAX]).casefold().split())


def terms_found(expectation: IncomeExpectation, text_normalised: str) -> tuple[int, int]:
    """(search terms present in the text, search terms of the agreement)."""
    terms = [normalise_term(term) for term in expectation.search_terms]
    return sum(1 for term in terms if term and term in text_normalised), len(terms)


@dataclass(frozen=True, slots=True)
class MatchResult:
    """The outcome for one credit: `expectation` is set only for exactly one match."""

    expectation: IncomeExpectation | None
    expected_date: dt.date | None
    matches: int
    reason: str
    """Why the entry went to suspense (empty for a match), for finance."""


_Candidate = tuple[IncomeExpectation, dt.date, dt.date | None, int, int, tuple[str, ...]]
"""An expectation with what matching reads of it: effective from, until, expected
amount, tolerance, normalised search terms."""


class ExpectationIndex:
    """The income expectations of a statement's payers, for matching without queries."""

    def __init__(self, by_payer: Mapping[str, Sequence[IncomeExpectation]]) -> None:
        self._by_payer: dict[str, tuple[list[int], list[_Candidate], int]] = {}
        for iban, expectations in by_payer.items():
            ordered = sorted(
                expectations,
                key=lambda item: (
                    item.expected_amount_cents,
                    item.participant_id,
                    item.agreement_id,
                    item.plan_version,
                ),
            )
            if not ordered:
                continue
            amounts = [item.expected_amount_cents for item in ordered]
            tolerance_max = max(item.tolerance_cents for item in ordered)
            candidates = [
                (
                    item,
                    item.effective_from,
                    item.effective_until,
                    item.expected_amount_cents,
                    item.tolerance_cents,
                    tuple(normalise_term(term) for term in item.search_terms),
                )
                for item in ordered
            ]
            self._by_payer[iban] = (amounts, candidates, tolerance_max)
        self._in_force_on: dict[tuple[str, dt.date], bool] = {}
        self._window: tuple[dt.date, dt.date] | None = None
        self._known_in_window: dict[str, bool] = {}

    def within(self, first_day: dt.date, last_day: dt.date) -> ExpectationIndex:
        """The same expectations for one statement's dates (an index read once for a
        whole file, backend.bank_import.service): a payer none of whose agreements is in
        force on any day from `first_day` to `last_day` counts as unknown, as it would
        for an index read for that statement alone, so the reasons finance reads do not
        depend on the file an entry came in."""
        view = object.__new__(ExpectationIndex)
        view._by_payer = self._by_payer
        view._in_force_on = self._in_force_on
        view._window = (first_day, last_day)
        view._known_in_window = {}
        return view

    def _known(self, payer_iban: str, candidates: Sequence[_Candidate]) -> bool:
        if self._window is None:
            return True
        known = self._known_in_window.get(payer_iban)
        if known is None:
            first_day, last_day = self._window
            # As backend.plans.income_expectations_for_payers selects them.
            known = self._known_in_window[payer_iban] = any(
                start <= last_day and (until is None or until > first_day)
                for _, start, until, *_ in candidates
            )
        return known

    def expectations_of(self, payer_iban: str | None) -> list[IncomeExpectation]:
        if not payer_iban or payer_iban not in self._by_payer:
            return []
        return [candidate[0] for candidate in self._by_payer[payer_iban][1]]

    def match(
        self,
        *,
        payer_iban: str | None,
        amount_cents: int,
        booking_date: dt.date,
        text_normalised: str,
    ) -> MatchResult:
        if not payer_iban:
            return MatchResult(None, None, 0, "the payer's account is not an IBAN")
        found = self._by_payer.get(payer_iban)
        if found is None or not self._known(payer_iban, found[1]):
            return MatchResult(None, None, 0, "no income agreement has this payer IBAN")
        amounts, candidates, tolerance_max = found
        start = bisect.bisect_left(amounts, amount_cents - tolerance_max)
        end = bisect.bisect_right(amounts, amount_cents + tolerance_max)
        amount_fits = terms_fit = 0
        matches: list[tuple[IncomeExpectation, dt.date]] = []
        # A payer of many participants (benefits) has tens of agreements near every
        # amount: the checks of `amount_matches`, `in_force_on` and `terms_found` are
        # written out on the values taken once per statement (the same rules; the
        # amount first, as it rules out most).
        for expectation, first_day, until, expected_cents, tolerance, terms in candidates[
            start:end
        ]:
            if abs(amount_cents - expected_cents) > tolerance:
                continue
            if booking_date < first_day or (until is not None and booking_date >= until):
                continue
            amount_fits += 1
            for term in terms:  # every term, conjunctive (an empty term is never found)
                if not term or term not in text_normalised:
                    break
            else:
                terms_fit += 1
                expected = expectation.expected_date_for(booking_date)
                if expected is not None:
                    matches.append((expectation, expected))
        if len(matches) == 1:
            expectation, expected = matches[0]
            return MatchResult(expectation, expected, 1, "")
        if len(matches) > 1:
            who = ", ".join(
                f"participant {item.participant_id} ({item.agreement_id})" for item, _ in matches
            )
            return MatchResult(
                None, None, len(matches), f"{len(matches)} income agreements match ({who})"[:300]
            )
        if terms_fit:
            reason = "the amount fits, but the date is outside the agreement's window"
        elif amount_fits:
            reason = "the amount fits, but the search terms are not in the description"
        elif self._payer_in_force(payer_iban, candidates, booking_date):
            reason = "the payer is known, but no agreement expects this amount"
        else:
            reason = "the payer's agreements are not in force on the booking date"
        return MatchResult(None, None, 0, reason)

    def _payer_in_force(
        self, payer_iban: str, candidates: Sequence[_Candidate], day: dt.date
    ) -> bool:
        """Whether any agreement of the payer is in force that day (remembered per payer
        and day: a statement has many credits the payer's agreements do not explain)."""
        key = (payer_iban, day)
        found = self._in_force_on.get(key)
        if found is None:
            found = self._in_force_on[key] = any(item[0].in_force_on(day) for item in candidates)
        return found


# ---------------------------------------------------------------------- suggestions


@dataclass(frozen=True, slots=True)
class Suggestion:
    """An agreement that might explain an entry in suspense, with how well it fits."""

    participant_id: int
    agreement_id: str
    plan_version: int
    payer_name: str
    description: str
    expected_amount_cents: int
    tolerance_cents: int
    expected_date: dt.date | None
    score: int
    """0 to 100; higher fits better. Only a hint: finance decides."""
    payer_iban_matches: bool
    search_terms_found: int
    search_terms_total: int
    amount_within_tolerance: bool
    amount_difference_cents: int
    in_window: bool
    reasons: tuple[str, ...] = field(default=())


def _nearest_expected_date(expectation: IncomeExpectation, day: dt.date) -> dt.date | None:
    from rules import occurrences

    window = dt.timedelta(days=40)
    days = occurrences(expectation.agreement.schedule, day - window, day + window)
    if not days:
        return None
    return min(days, key=lambda item: (abs((item - day).days), item))


def score_suggestion(
    expectation: IncomeExpectation,
    *,
    payer_iban: str | None,
    amount_cents: int,
    booking_date: dt.date,
    text_normalised: str,
) -> Suggestion:
    """How well one agreement fits one credit (see `rank_suggestions`)."""
    iban_matches = bool(payer_iban) and payer_iban == expectation.payer_iban
    present, total = terms_found(expectation, text_normalised)
    difference = amount_cents - expectation.expected_amount_cents
    within = abs(difference) <= expectation.tolerance_cents
    window_date = expectation.expected_date_for(booking_date)
    score = 0
    reasons: list[str] = []
    if iban_matches:
        score += 35
        reasons.append("payer IBAN matches")
    if total:
        score += round(25 * present / total)
        reasons.append(f"{present} of {total} search terms found")
    if within:
        score += 25
        reasons.append("amount within tolerance")
    else:
        relative = abs(difference) / max(expectation.expected_amount_cents, 1)
        score += max(0, round(15 * (1 - relative * 4)))
        reasons.append(f"amount differs by {abs(difference)} cents")
    if window_date is not None:
        score += 15
        reasons.append("date within the window")
    return Suggestion(
        participant_id=expectation.participant_id,
        agreement_id=expectation.agreement_id,
        plan_version=expectation.plan_version,
        payer_name=expectation.payer_name,
        description=expectation.agreement.description_nl or expectation.payer_name,
        expected_amount_cents=expectation.expected_amount_cents,
        tolerance_cents=expectation.tolerance_cents,
        expected_date=window_date or _nearest_expected_date(expectation, booking_date),
        score=min(score, 100),
        payer_iban_matches=iban_matches,
        search_terms_found=present,
        search_terms_total=total,
        amount_within_tolerance=within,
        amount_difference_cents=difference,
        in_window=window_date is not None,
        reasons=tuple(reasons),
    )


def rank_suggestions(
    expectations: Iterable[IncomeExpectation],
    *,
    payer_iban: str | None,
    amount_cents: int,
    booking_date: dt.date,
    text_normalised: str,
    limit: int = SUGGESTIONS_MAX,
) -> list[Suggestion]:
    """The best-fitting agreements for a credit in suspense, best first.

    Each agreement (in force around the booking date) is scored out of 100: payer IBAN
    35, search terms 25 (in proportion), amount 25 within tolerance (less the further
    off), date in the window 15. Agreements scoring below 20 are left out; ties go to
    the lower participant id, so the order is stable.
    """
    best: dict[tuple[int, str], Suggestion] = {}
    for expectation in expectations:
        if not _near_in_force(expectation, booking_date):
            continue
        suggestion = score_suggestion(
            expectation,
            payer_iban=payer_iban,
            amount_cents=amount_cents,
            booking_date=booking_date,
            text_normalised=text_normalised,
        )
        if suggestion.score < SUGGESTION_SCORE_MIN:
            continue
        key = (suggestion.participant_id, suggestion.agreement_id)
        if key not in best or best[key].score < suggestion.score:
            best[key] = suggestion
    ranked = sorted(
        best.values(), key=lambda item: (-item.score, item.participant_id, item.agreement_id)
    )
    return ranked[:limit]


def _near_in_force(expectation: IncomeExpectation, day: dt.date) -> bool:
    margin = dt.timedelta(days=31)
    return expectation.effective_from <= day + margin and (
        expectation.effective_until is None or day - margin < expectation.effective_until
    )
