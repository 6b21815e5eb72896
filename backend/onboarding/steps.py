"""The onboarding steps as pydantic models, each validated on its own.

Forms send text; the models accept it as typed in ("1.312,48", " NL91 ABNA ..."),
so a step's raw form can be validated as it is. Every refusal has an error
*type* (PydanticCustomError) that the pages translate with the key
`onboarding.error.<type>`; `field_errors` turns a ValidationError into
{field: type}. Error messages never contain a BSN.

What needs the database (BSN already a participant, username taken, creditor
reuse) is checked by backend.onboarding.service, not here.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from backend.errors import InvalidInput
from backend.iban import validate_iban
from privacy import BsnError, validate_bsn
from rules import Category, IncomeKind
from rules.plan import AGREEMENT_AMOUNT_CENTS_MAX, BUFFER_ADVANCE_MAX_CENTS_DEFAULT

INCOMES_MAX = 20
FIXED_COSTS_MAX = 40
NAME_MAX = 70  # SEPA names
DISPLAY_NAME_MAX = 200
USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,39}")
SEARCH_TERMS_MAX = 5


def _error(kind: str, message: str) -> PydanticCustomError:
    return PydanticCustomError(kind, message)


def parse_euro(value: Any) -> int:
    """Euro text as typed in the Netherlands -> cents: '1.312,48', '1312,48', '€ 35',
    '35.50'. An int is taken as cents already."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if not isinstance(value, str) or not value.strip():
        raise _error("amount_missing", "fill in an amount")
    text = value.replace("€", "").replace(" ", "").replace("\u00a0", "")
    if "," in text:
        text = text.replace(".", "").replace(",", ".")
    elif re.fullmatch(r"\d{1,3}(\.\d{3})+", text):
        text = text.replace(".", "")  # 1.312 is thousands in Dutch
    if not re.fullmatch(r"-?\d+(\.\d{1,2})?", text):
        raise _error("amount_format", "write an amount such as 1.312,48")
    try:
        cents = int(Decimal(text) * 100)
    except InvalidOperation as error:  # pragma: no cover - the pattern above holds
        raise _error("amount_format", "write an amount such as 1.312,48") from error
    return cents


def _positive(cents: int) -> int:
    if cents <= 0:
        raise _error("amount_positive", "the amount must be more than € 0,00")
    if cents > AGREEMENT_AMOUNT_CENTS_MAX:
        raise _error("amount_too_large", "the amount is larger than € 50.000,00")
    return cents


def _not_negative(cents: int) -> int:
    if cents < 0:
        raise _error("amount_negative", "the amount cannot be negative")
    if cents > AGREEMENT_AMOUNT_CENTS_MAX:
        raise _error("amount_too_large", "the amount is larger than € 50.000,00")
    return cents


def _optional_euro(value: Any) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return parse_euro(value)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _error("required", "fill this in")
    return " ".join(value.split())


def _iban(value: str, kind: str = "iban_invalid") -> str:
    if not value:
        raise _error("required", "fill this in")
    try:
        return validate_iban(value)
    except InvalidInput as error:
        raise _error(kind, "this is not a valid IBAN") from error


def _required(value: str) -> str:
    if not value:
        raise _error("required", "fill this in")
    return value


def _int(value: Any) -> Any:
    if isinstance(value, str):
        stripped = value.strip()
        if not stripped:
            return None
        if not re.fullmatch(r"\d{1,4}", stripped):
            raise _error("number_format", "write a whole number")
        return int(stripped)
    return value


def _at_most(length: int, kind: str, message: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        _required(value)
        if len(value) > length:
            raise _error(kind, message)
        return value

    return check


Cents = Annotated[int, BeforeValidator(parse_euro)]
PositiveCents = Annotated[Cents, AfterValidator(_positive)]
Text = Annotated[str, BeforeValidator(_text)]
# Filled in and not too long (the kinds name the message the form shows).
PersonName = Annotated[
    Text, AfterValidator(_at_most(DISPLAY_NAME_MAX, "too_long", "this is too long"))
]
Name = Annotated[Text, AfterValidator(_at_most(NAME_MAX, "name_too_long", "at most 70 characters"))]
Reference = Annotated[
    Text, AfterValidator(_at_most(140, "reference_too_long", "at most 140 characters"))
]
Iban = Annotated[Text, AfterValidator(_iban)]
Number = Annotated[int, BeforeValidator(_int)]
OptionalNumber = Annotated[int | None, BeforeValidator(_int)]


class _Step(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class PersonStep(_Step):
    """Stap 1: who joins. The BSN passes the 11-proef; the username is the login name."""

    display_name: PersonName
    bsn: Text
    username: Text

    @field_validator("bsn")
    @classmethod
    def _bsn(cls, value: str) -> str:
        _required(value)
        try:
            return validate_bsn(value)
        except BsnError as error:
            raise _error("bsn_invalid", "this BSN fails the 11-proef") from error

    @field_validator("username")
    @classmethod
    def _username(cls, value: str) -> str:
        name = _required(value).lower()
        if not USERNAME.fullmatch(name):
            raise _error("username_format", "2 to 40 of a-z, 0-9, '.', '-', '_'")
        return name


class HouseholdStep(_Step):
    """Stap 2: the household (who lives together)."""

    household_name: PersonName
    adults: Number = Field(ge=1, le=10)
    children: Number = Field(default=0, ge=0, le=20)


class BankStep(_Step):
    """Stap 3: the participant's own account, where living money goes."""

    own_iban: Iban
    account_holder: Name


class IncomeItem(_Step):
    """Stap 4, one income: who pays, how much, on which day of the month."""

    payer_name: Name
    payer_iban: Iban
    description: Name
    kind: IncomeKind = IncomeKind.OTHER
    amount_cents: PositiveCents
    tolerance_cents: Annotated[int | None, BeforeValidator(_optional_euro)] = None
    day_of_month: Number = Field(ge=1, le=28)
    search_terms: Text = ""

    @model_validator(mode="after")
    def _tolerance(self) -> IncomeItem:
        if self.tolerance_cents is not None and (
            self.tolerance_cents < 0 or self.tolerance_cents >= self.amount_cents
        ):
            raise _error("tolerance_too_large", "the margin must be smaller than the amount")
        return self

    @property
    def tolerance(self) -> int:
        """The margin a bank amount may differ: given, or 1 % (at least € 1, at most € 25)."""
        if self.tolerance_cents is not None:
            return self.tolerance_cents
        return min(max(self.amount_cents // 100, 100), 2500, self.amount_cents - 1)

    @property
    def terms(self) -> tuple[str, ...]:
        parts = [part.strip() for part in self.search_terms.split(",")]
        return tuple(part for part in parts if part)[:SEARCH_TERMS_MAX]


class FixedCostItem(_Step):
    """Stap 5, one fixed cost: creditor, amount, when, and the payment reference."""

    creditor_name: Name
    creditor_iban: Iban
    description: Name
    category: Category = Category.OTHER
    amount_cents: PositiveCents
    frequency: Literal["monthly", "yearly"] = "monthly"
    day_of_month: Number = Field(ge=1, le=28)
    month: OptionalNumber = Field(default=None, ge=1, le=12)
    reference: Reference
    structured_reference: bool = False

    @field_validator("structured_reference", mode="before")
    @classmethod
    def _checkbox(cls, value: Any) -> bool:
        return value in (True, "ja", "on", "1", "true")

    @model_validator(mode="after")
    def _consistent(self) -> FixedCostItem:
        if self.frequency == "yearly" and self.month is None:
            raise _error("month_required", "a yearly cost needs a month")
        if self.structured_reference and not re.fullmatch(
            r"\d{7,16}", self.reference.replace(" ", "")
        ):
            raise _error("reference_structured", "a betalingskenmerk is 7 to 16 digits")
        return self


class LivingMoneyStep(_Step):
    """Stap 6: when living money is paid, and optionally an agreed most per month."""

    frequency: Literal["weekly", "monthly"] = "weekly"
    weekday: OptionalNumber = Field(default=None, ge=0, le=6)
    day_of_month: OptionalNumber = Field(default=None, ge=1, le=28)
    cap_cents: Annotated[int | None, BeforeValidator(_optional_euro)] = None

    @model_validator(mode="after")
    def _day(self) -> LivingMoneyStep:
        if self.frequency == "weekly" and self.weekday is None:
            raise _error("weekday_required", "choose a weekday")
        if self.frequency == "monthly" and self.day_of_month is None:
            raise _error("day_required", "choose a day of the month")
        if self.cap_cents is not None:
            _positive(self.cap_cents)
        return self


class BufferStep(_Step):
    """Stap 7: buffer build-up, the optional municipal advance, and the start date."""

    build_up_cents: Annotated[Cents, AfterValidator(_not_negative)]
    advance_cents: Annotated[int | None, BeforeValidator(_optional_euro)] = None
    repayment_cents: Annotated[int | None, BeforeValidator(_optional_euro)] = None
    start_date: dt.date

    @field_validator("start_date", mode="before")
    @classmethod
    def _date(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value.strip())
            except ValueError as error:
                raise _error("date_format", "choose a date") from error
        return value

    @model_validator(mode="after")
    def _advance(self) -> BufferStep:
        advance = self.advance_cents or 0
        if advance < 0:
            raise _error("amount_negative", "the amount cannot be negative")
        if advance > BUFFER_ADVANCE_MAX_CENTS_DEFAULT:
            raise _error("advance_too_large", "the advance is at most € 1.500,00")
        if advance and not self.repayment_cents:
            raise _error("repayment_required", "an advance needs a monthly repayment")
        if self.repayment_cents is not None and not 0 <= self.repayment_cents <= advance:
            raise _error("repayment_invalid", "at most the advance")
        return self

    def check_start(self, today: dt.date) -> None:
        """Today up to a year ahead (raises PydanticCustomError-typed InvalidStep)."""
        if self.start_date < today or self.start_date > today + dt.timedelta(days=366):
            raise InvalidStep({"start_date": "start_date_range"})


class Onboarding(_Step):
    """The whole onboarding, as the summary shows it and the service takes it."""

    person: PersonStep
    household: HouseholdStep
    bank: BankStep
    incomes: Annotated[tuple[IncomeItem, ...], Field(min_length=1, max_length=INCOMES_MAX)]
    fixed_costs: Annotated[tuple[FixedCostItem, ...], Field(max_length=FIXED_COSTS_MAX)] = ()
    living_money: LivingMoneyStep
    buffer: BufferStep


class InvalidStep(Exception):
    """A step that is refused: {field: error type}; the pages translate the types."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(", ".join(f"{field}: {kind}" for field, kind in errors.items()))
        self.errors = errors


_GENERIC = {
    "missing": "required",
    "string_type": "required",
    "int_type": "number_format",
    "int_parsing": "number_format",
    "greater_than_equal": "out_of_range",
    "less_than_equal": "out_of_range",
    "greater_than": "out_of_range",
    "less_than": "out_of_range",
    "literal_error": "choice",
    "enum": "choice",
    "date_from_datetime_parsing": "date_format",
    "date_parsing": "date_format",
    "date_type": "date_format",
    "too_short": "list_too_short",
    "too_long": "list_too_long",
}


# Errors of a whole step (model validators) and the field they are about.
_FIELD_OF_ERROR = {
    "tolerance_too_large": "tolerance_cents",
    "month_required": "month",
    "reference_structured": "reference",
    "weekday_required": "weekday",
    "day_required": "day_of_month",
    "amount_positive": "cap_cents",
    "amount_too_large": "cap_cents",
    "amount_negative": "advance_cents",
    "advance_too_large": "advance_cents",
    "repayment_required": "repayment_cents",
    "repayment_invalid": "repayment_cents",
}


def field_errors(error: ValidationError, *, form_fields: tuple[str, ...] = ()) -> dict[str, str]:
    """{field: error type}; an error of the whole step goes to the field it is about."""
    found: dict[str, str] = {}
    for item in error.errors():
        loc = [str(part) for part in item["loc"]]
        kind = str(item["type"])
        fallback = _FIELD_OF_ERROR.get(kind) or (form_fields[0] if form_fields else "form")
        field = loc[-1] if loc else fallback
        if field.isdigit() and len(loc) > 1:
            field = loc[-2]
        found.setdefault(field, _GENERIC.get(kind, kind))
    return found


StepModel = TypeVar("StepModel", bound=_Step)


def validate_step(model: type[StepModel], form: dict[str, Any]) -> StepModel:
    """The step, or InvalidStep with {field: error type}."""
    try:
        return model.model_validate(form)
    except ValidationError as error:
        fields = tuple(model.model_fields)
        raise InvalidStep(field_errors(error, form_fields=fields)) from None
