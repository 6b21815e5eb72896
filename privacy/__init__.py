"""Privacy core (pure): identifier validation, field encryption, blind indexes."""

from privacy.bsn import BsnError, validate_bsn
from privacy.fields import FieldCipher, FieldCipherError

__all__ = ["BsnError", "FieldCipher", "FieldCipherError", "validate_bsn"]
