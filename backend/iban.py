"""IBAN validation with schwifty; errors name the field, never guess."""

from __future__ import annotations

from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from backend.errors import InvalidInput


def validate_iban(text: str, *, field: str = "iban") -> str:
    """The IBAN in compact upper-case form, or InvalidInput saying what is wrong."""
    try:
        return IBAN(text).compact
    except SchwiftyException as error:
        raise InvalidInput(f"{field}: not a valid IBAN ({error})") from error
