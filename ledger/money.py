"""Money as integer euro cents. Never float.

Amounts arrive as text (bank files, forms, JSON); `Money.parse` is the one way in
and refuses anything that is not an exact euro amount.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from ledger.errors import MoneyError

CURRENCY = "EUR"

# No single movement in household budget management comes near ten million euro;
# anything larger is a typo or an attack and is refused rather than booked.
AMOUNT_CENTS_MAX = 10_000_000_00

_AMOUNT_PATTERN = re.compile(r"^(?P<sign>[-+]?)(?P<units>\d{1,12})(?:[.,](?P<fraction>\d{1,2}))?$")
_TOO_MANY_DECIMALS = re.compile(r"^[-+]?\d+[.,]\d{3,}$")


@dataclass(frozen=True, slots=True, order=True)
class Money:
    """An amount of euro, held as whole cents."""

    cents: int

    def __post_init__(self) -> None:
        if isinstance(self.cents, bool) or not isinstance(self.cents, int):
            raise MoneyError(f"amount must be whole cents (int), got {type(self.cents).__name__}")
        if abs(self.cents) > AMOUNT_CENTS_MAX:
            raise MoneyError(
                f"amount {self.cents} cents is larger than the maximum of "
                f"{AMOUNT_CENTS_MAX} cents (€ {AMOUNT_CENTS_MAX // 100:,})"
            )

    @classmethod
    def zero(cls) -> Money:
        return cls(0)

    @classmethod
    def parse(cls, text: str | int | Decimal, currency: str = CURRENCY) -> Money:
        """Parse an exact euro amount such as '1312.48', '1312,48' or '-5'.

        Refuses other currencies, more than two decimals, floats and absurd sizes.
        """
        if currency != CURRENCY:
            raise MoneyError(f"currency {currency!r} is not accepted; only {CURRENCY}")
        if isinstance(text, bool):
            raise MoneyError("amount must be a number, not a boolean")
        if isinstance(text, int):
            return cls(text * 100)
        if isinstance(text, Decimal):
            return cls._from_decimal(text)
        if not isinstance(text, str):
            raise MoneyError(f"amount must be text or a Decimal, not {type(text).__name__}")
        stripped = text.strip()
        if _TOO_MANY_DECIMALS.match(stripped):
            raise MoneyError(f"amount {stripped!r} has more than two decimals")
        match = _AMOUNT_PATTERN.match(stripped)
        if match is None:
            raise MoneyError(f"amount {stripped!r} is not a euro amount like 1234.56")
        fraction = (match["fraction"] or "").ljust(2, "0")
        cents = int(match["units"]) * 100 + int(fraction or "0")
        if match["sign"] == "-":
            cents = -cents
        return cls(cents)

    @classmethod
    def _from_decimal(cls, value: Decimal) -> Money:
        try:
            if not value.is_finite():
                raise MoneyError(f"amount {value} is not a finite number")
            scaled = value * 100
            if scaled != scaled.to_integral_value():
                raise MoneyError(f"amount {value} has more than two decimals")
            return cls(int(scaled))
        except InvalidOperation as error:
            raise MoneyError(f"amount {value} is not a number") from error

    def __add__(self, other: Money) -> Money:
        return Money(self.cents + other.cents)

    def __sub__(self, other: Money) -> Money:
        return Money(self.cents - other.cents)

    def __neg__(self) -> Money:
        return Money(-self.cents)

    def __bool__(self) -> bool:
        return self.cents != 0

    def is_negative(self) -> bool:
        return self.cents < 0

    def allocate(self, weights: list[int]) -> list[Money]:
        """Split into parts proportional to `weights`; the parts always add up exactly.

        Rounding remainders go one cent at a time to the earliest parts, so the
        result is deterministic (e.g. a monthly amount split over weekly payouts).
        """
        if not weights or any(weight < 0 for weight in weights) or sum(weights) == 0:
            raise MoneyError("allocation needs at least one positive weight and none negative")
        total_weight = sum(weights)
        sign = -1 if self.cents < 0 else 1
        magnitude = abs(self.cents)
        parts = [magnitude * weight // total_weight for weight in weights]
        remainder = magnitude - sum(parts)
        for index in range(remainder):
            parts[index % len(parts)] += 1
        return [Money(sign * part) for part in parts]

    def to_decimal(self) -> Decimal:
        return Decimal(self.cents).scaleb(-2)

    def __str__(self) -> str:
        return f"{self.to_decimal():.2f}"

    def format_nl(self) -> str:
        """Dutch notation: € 1.234,56 and − € 12,00 for negatives."""
        units, cents = divmod(abs(self.cents), 100)
        grouped = f"{units:,}".replace(",", ".")
        text = f"€ {grouped},{cents:02d}"
        return f"− {text}" if self.cents < 0 else text
