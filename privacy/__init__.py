"""Privacy core (pure): identifier validation, field encryption, blind indexes,
the access log's hash chain, redaction, pseudonyms and retention terms."""

from privacy.audit_chain import (
    GENESIS_HASH,
    AccessEntry,
    Anchor,
    ChainBreak,
    ChainError,
    ChainLink,
    ChainVerifier,
    entry_hash,
    link,
)
from privacy.bsn import BsnError, validate_bsn
from privacy.fields import FieldCipher, FieldCipherError, is_tombstone, new_tombstone
from privacy.pseudonyms import participant_pseudonym
from privacy.redaction import contains_personal_data, name_tokens, redact_text
from privacy.retention import RecordType, RetentionTerms, due_on, is_due

__all__ = [
    "GENESIS_HASH",
    "AccessEntry",
    "Anchor",
    "BsnError",
    "ChainBreak",
    "ChainError",
    "ChainLink",
    "ChainVerifier",
    "FieldCipher",
    "FieldCipherError",
    "RecordType",
    "RetentionTerms",
    "contains_personal_data",
    "due_on",
    "entry_hash",
    "is_due",
    "is_tombstone",
    "link",
    "name_tokens",
    "new_tombstone",
    "participant_pseudonym",
    "redact_text",
    "validate_bsn",
]
