"""A participant's plan: the agreements and policies the engine follows.

A plan version is immutable and effective from a date; a change agreed in
co-decision becomes a new version. Agreement ids are chosen by the backend and
stay the same across versions, so a due date that was paid under version 3 is
never paid again under version 4.

Every model is a frozen pydantic model that round-trips through JSON unchanged
(`Plan.model_validate_json(plan.model_dump_json()) == plan`): the backend stores
plan versions as JSON documents.

Validation refuses what cannot be meant (negative or absurd amounts, an advance
above the maximum, a tolerance larger than the amount). IBANs are only checked to
be present here; the backend validates them with schwifty.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from fractions import Fraction
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, model_validator

from rules.schedules import (
    MonthlySchedule,
    Schedule,
    WeeklySchedule,
    monthly_share,
    occurrences,
    round_half_up,
)

# No single household agreement comes near € 50.000; a larger amount is a typo.
AGREEMENT_AMOUNT_CENTS_MAX = 5_000_000
# Default maximum of the municipal buffer advance (€ 1.500,00); configurable per plan.
BUFFER_ADVANCE_MAX_CENTS_DEFAULT = 150_000
AGREEMENTS_PER_PLAN_MAX = 100
SEARCH_TERMS_MAX = 20
WINDOW_DAYS_MAX = 31
AGREEMENT_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# SEPA: creditor names up to 70 characters, unstructured remittance up to 140.
NAME_LENGTH_MAX = 70
REFERENCE_LENGTH_MAX = 140
IBAN_LENGTH_MAX = 34


def _euro(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    units, rest = divmod(abs(cents), 100)
    return f"{sign}€ {units}.{rest:02d}"


def _amount_not_negative(cents: int) -> int:
    if cents < 0:
        raise ValueError(f"amount {_euro(cents)} is negative; amounts are zero or more")
    if cents > AGREEMENT_AMOUNT_CENTS_MAX:
        raise ValueError(
            f"amount {_euro(cents)} is larger than {_euro(AGREEMENT_AMOUNT_CENTS_MAX)}; "
            "that is not a household amount"
        )
    return cents


def _amount_positive(cents: int) -> int:
    _amount_not_negative(cents)
    if cents == 0:
        raise ValueError("amount is € 0.00; an agreement needs an amount above zero")
    return cents


def _text_present(text: str) -> str:
    stripped = text.strip()
    if not stripped:
        raise ValueError("text is empty")
    return stripped


def _agreement_id(text: str) -> str:
    if not AGREEMENT_ID_PATTERN.match(text):
        raise ValueError(
            f"agreement_id {text!r} must be 1 to 64 letters, digits, '.', '_' or '-' "
            "(it becomes part of payment keys)"
        )
    return text


CentsNotNegative = Annotated[StrictInt, AfterValidator(_amount_not_negative)]
CentsPositive = Annotated[StrictInt, AfterValidator(_amount_positive)]
AgreementId = Annotated[str, AfterValidator(_agreement_id)]
Name = Annotated[str, AfterValidator(_text_present), Field(max_length=NAME_LENGTH_MAX)]
Iban = Annotated[str, AfterValidator(_text_present), Field(max_length=IBAN_LENGTH_MAX)]
WindowDays = Annotated[StrictInt, Field(ge=0, le=WINDOW_DAYS_MAX)]


class PriorityClass(enum.IntEnum):
    """Who is paid first when money is short (budget-management practice): lower first."""

    RENT_OR_MORTGAGE = 1
    ENERGY_WATER_HEATING = 2
    HEALTH_INSURANCE = 3
    MUNICIPAL_AND_WATER_BOARD_TAXES = 4
    OTHER = 5
    REPAYMENT_ARRANGEMENT = 6


class Category(enum.StrEnum):
    """Grouping for reports (rubriek); also gives the words used in explanations."""

    RENT = "rent"
    MORTGAGE = "mortgage"
    ENERGY = "energy"
    WATER = "water"
    DISTRICT_HEATING = "district_heating"
    HEALTH_INSURANCE = "health_insurance"
    MUNICIPAL_TAXES = "municipal_taxes"
    WATER_BOARD_TAXES = "water_board_taxes"
    PHONE_AND_INTERNET = "phone_and_internet"
    INSURANCE = "insurance"
    REPAYMENT_ARRANGEMENT = "repayment_arrangement"
    OTHER = "other"


class IncomeKind(enum.StrEnum):
    BENEFIT = "benefit"
    ALLOWANCE = "allowance"
    WAGES = "wages"
    OTHER = "other"


class PaymentReference(BaseModel):
    """What the creditor needs to recognise the payment.

    free_text: up to 140 characters (SEPA unstructured remittance).
    structured: a Dutch betalingskenmerk, 7 to 16 digits (the creditor's check digit is
        the creditor's business; the bank refuses a wrong one).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["free_text", "structured"] = "free_text"
    text: Annotated[str, AfterValidator(_text_present), Field(max_length=REFERENCE_LENGTH_MAX)]

    @model_validator(mode="after")
    def _structured_is_digits(self) -> PaymentReference:
        if self.kind == "structured" and not re.fullmatch(r"\d{7,16}", self.text):
            raise ValueError(
                f"betalingskenmerk {self.text!r} must be 7 to 16 digits without spaces"
            )
        return self


class FixedCostAgreement(BaseModel):
    """One fixed cost the service pays for the participant."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    agreement_id: AgreementId
    creditor_name: Name
    creditor_iban: Iban
    amount_cents: CentsPositive
    schedule: Schedule
    reference: PaymentReference
    priority_class: PriorityClass
    category: Category
    # Dutch words for the cost in explanations ("Huur"); the category's words when empty.
    description_nl: Annotated[str, Field(max_length=NAME_LENGTH_MAX)] = ""
    # Zelfregie step 3: the participant pays this cost themselves. The engine still
    # reserves it, and on the execution date hands the reserved amount over to the
    # participant's own account instead of paying the creditor (rules.engine).
    paid_by_participant: bool = False
    # A follow-up (vervolgafspraak, rules.agreement_changes) names the agreement it
    # follows: until that one ends, this one does not count in the plan's monthly sums.
    follows_agreement_id: AgreementId | None = None

    @property
    def monthly_share(self) -> Fraction:
        return monthly_share(self.amount_cents, self.schedule)


class IncomeAgreement(BaseModel):
    """One expected income stream; the import matches bank entries against it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    agreement_id: AgreementId
    payer_name: Name
    payer_iban: Iban
    search_terms: Annotated[
        tuple[Annotated[str, AfterValidator(_text_present)], ...],
        Field(max_length=SEARCH_TERMS_MAX),
    ] = ()
    expected_amount_cents: CentsPositive
    tolerance_cents: CentsNotNegative = 0
    schedule: Schedule
    window_days_before: WindowDays = 2
    window_days_after: WindowDays = 5
    kind: IncomeKind = IncomeKind.OTHER
    description_nl: Annotated[str, Field(max_length=NAME_LENGTH_MAX)] = ""
    # See FixedCostAgreement.follows_agreement_id (a follow-up of an income).
    follows_agreement_id: AgreementId | None = None

    @model_validator(mode="after")
    def _tolerance_below_amount(self) -> IncomeAgreement:
        if self.tolerance_cents >= self.expected_amount_cents:
            raise ValueError(
                f"tolerance {_euro(self.tolerance_cents)} is not smaller than the expected "
                f"amount {_euro(self.expected_amount_cents)}; any amount would match"
            )
        return self

    @property
    def monthly_share(self) -> Fraction:
        return monthly_share(self.expected_amount_cents, self.schedule)

    def expected_date_for(self, received_on: dt.date) -> dt.date | None:
        """The expected date (period) a payment received on `received_on` belongs to.

        The nearest expected date whose window (days before / after) contains the day;
        on a tie the earlier one. None when the day is in no window. The import puts
        the answer in the income entry's metadata (`rules.income_metadata`).
        """
        candidates = occurrences(
            self.schedule,
            received_on - dt.timedelta(days=self.window_days_after),
            received_on + dt.timedelta(days=self.window_days_before),
        )
        if not candidates:
            return None
        return min(candidates, key=lambda day: (abs((day - received_on).days), day))


class BufferPolicy(BaseModel):
    """The two-month buffer: how it is built up and how a municipal advance is repaid.

    The target itself is computed from the fixed costs (`Plan.buffer_target_cents`).
    monthly_build_up_cents: moved to the buffer each month while it is below target.
    advance_cents: the advance the municipality granted (the ledger holds what is
        still owed); at most advance_max_cents.
    monthly_advance_repayment_cents: repaid each month once the buffer is at target.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    monthly_build_up_cents: CentsNotNegative = 0
    advance_cents: CentsNotNegative = 0
    advance_max_cents: CentsNotNegative = BUFFER_ADVANCE_MAX_CENTS_DEFAULT
    monthly_advance_repayment_cents: CentsNotNegative = 0

    @model_validator(mode="after")
    def _advance_within_limits(self) -> BufferPolicy:
        if self.advance_cents > self.advance_max_cents:
            raise ValueError(
                f"buffer advance {_euro(self.advance_cents)} is above the maximum "
                f"{_euro(self.advance_max_cents)}"
            )
        if self.advance_cents > 0 and self.monthly_advance_repayment_cents == 0:
            raise ValueError("a buffer advance needs a monthly repayment above € 0.00")
        return self

    @property
    def monthly_set_aside_cents(self) -> int:
        """What a month sets aside at most: build-up, then repayment, never both in full."""
        repayment = self.monthly_advance_repayment_cents if self.advance_cents > 0 else 0
        return max(self.monthly_build_up_cents, repayment)


class LivingMoneyPolicy(BaseModel):
    """Living money (leefgeld): paid to the participant's own account on a schedule.

    schedule: weekly on a weekday (every_weeks must be 1) or monthly on a day.
    monthly_amount_cap_cents: the agreed most per month; None means: what the plan
        leaves after fixed costs and the buffer (`Plan.living_money_monthly_cents`).
    monthly_floor_cents: the least per month when the buffer can carry it (configuration,
        e.g. derived from the beslagvrije voet; not a rule in code).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    schedule: Annotated[MonthlySchedule | WeeklySchedule, Field(discriminator="kind")]
    payee_name: Name
    payee_iban: Iban
    monthly_amount_cap_cents: CentsNotNegative | None = None
    monthly_floor_cents: CentsNotNegative = 0

    @model_validator(mode="after")
    def _weekly_means_every_week(self) -> LivingMoneyPolicy:
        if isinstance(self.schedule, WeeklySchedule) and self.schedule.every_weeks != 1:
            raise ValueError("weekly living money is paid every week (every_weeks = 1)")
        return self


# One-off payouts (extra leefgeld / noodbetaling) a plan version keeps; the backend
# drops paid and old ones when it makes a new version.
ONE_OFF_PAYOUTS_MAX = 20
ONE_OFF_REASON_LENGTH_MAX = 300


class OneOffPayout(BaseModel):
    """A one-off extra payout to the participant's own account, agreed in co-decision
    (`extra_payout`). Paid once, by the daily cycle on or after `pay_on`, from available
    money and then from the buffer; `payout_id` makes its idempotency key."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    payout_id: AgreementId
    amount_cents: CentsPositive
    pay_on: dt.date
    reason: Annotated[
        str, AfterValidator(_text_present), Field(max_length=ONE_OFF_REASON_LENGTH_MAX)
    ]
    payee_name: Name
    payee_iban: Iban


class Plan(BaseModel):
    """One version of a participant's plan."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    participant_id: Annotated[StrictInt, Field(ge=1)]
    version: Annotated[StrictInt, Field(ge=1)]
    effective_from: dt.date
    fixed_costs: Annotated[
        tuple[FixedCostAgreement, ...], Field(max_length=AGREEMENTS_PER_PLAN_MAX)
    ] = ()
    incomes: Annotated[tuple[IncomeAgreement, ...], Field(max_length=AGREEMENTS_PER_PLAN_MAX)] = ()
    buffer: BufferPolicy = BufferPolicy()
    living_money: LivingMoneyPolicy | None = None
    one_off_payouts: Annotated[tuple[OneOffPayout, ...], Field(max_length=ONE_OFF_PAYOUTS_MAX)] = ()

    @model_validator(mode="after")
    def _payout_ids_unique(self) -> Plan:
        ids = [payout.payout_id for payout in self.one_off_payouts]
        if len(set(ids)) != len(ids):
            raise ValueError("one-off payout ids must be unique in a plan")
        return self

    @model_validator(mode="after")
    def _agreement_ids_unique(self) -> Plan:
        ids = [cost.agreement_id for cost in self.fixed_costs] + [
            income.agreement_id for income in self.incomes
        ]
        duplicates = sorted({agreement_id for agreement_id in ids if ids.count(agreement_id) > 1})
        if duplicates:
            raise ValueError(f"agreement ids must be unique in a plan; repeated: {duplicates}")
        return self

    @model_validator(mode="after")
    def _self_paid_needs_own_account(self) -> Plan:
        if self.living_money is None and any(c.paid_by_participant for c in self.fixed_costs):
            raise ValueError(
                "a fixed cost the participant pays themselves needs living money: the "
                "amount is handed over to the account living money is paid to"
            )
        return self

    def fixed_cost(self, agreement_id: str) -> FixedCostAgreement | None:
        for cost in self.fixed_costs:
            if cost.agreement_id == agreement_id:
                return cost
        return None

    def income(self, agreement_id: str) -> IncomeAgreement | None:
        for income in self.incomes:
            if income.agreement_id == agreement_id:
                return income
        return None

    @property
    def monthly_fixed_costs_cents(self) -> int:
        """Fixed costs per month, non-monthly ones as their monthly share (yearly / 12)."""
        return round_half_up(sum((cost.monthly_share for cost in self.fixed_costs), Fraction(0)))

    @property
    def buffer_target_cents(self) -> int:
        """Two months of fixed costs, rounded once (half up) from the exact sum."""
        return round_half_up(
            2 * sum((cost.monthly_share for cost in self.fixed_costs), Fraction(0))
        )

    @property
    def monthly_income_cents(self) -> int:
        return round_half_up(sum((income.monthly_share for income in self.incomes), Fraction(0)))

    @property
    def living_money_monthly_cents(self) -> int:
        """The agreed living money per month.

        Expected income - fixed costs - the monthly set-aside for the buffer (or the
        advance), never below zero, and at most the agreed cap.
        """
        if self.living_money is None:
            return 0
        exact = (
            sum((income.monthly_share for income in self.incomes), Fraction(0))
            - sum((cost.monthly_share for cost in self.fixed_costs), Fraction(0))
            - self.buffer.monthly_set_aside_cents
        )
        # Rounded down: promising a cent that the income does not bring is worse.
        computed = max(0, exact.numerator // exact.denominator)
        cap = self.living_money.monthly_amount_cap_cents
        return computed if cap is None else min(cap, computed)

    @property
    def living_money_weekly_cents(self) -> int:
        """The agreed weekly amount: monthly x 12 / 52, rounded half up (Anna: € 97,41)."""
        return round_half_up(Fraction(self.living_money_monthly_cents * 12, 52))
