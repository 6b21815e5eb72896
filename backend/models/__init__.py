"""All ORM models, in one package so Alembic sees every table."""

from backend.models.agreement import Agreement
from backend.models.base import Base
from backend.models.counterparty import Counterparty
from backend.models.ledger import JournalEntryRecord, LedgerAccount, PostingRecord
from backend.models.municipality import MunicipalBankAccount
from backend.models.people import Household, Participant

__all__ = [
    "Agreement",
    "Base",
    "Counterparty",
    "Household",
    "JournalEntryRecord",
    "LedgerAccount",
    "MunicipalBankAccount",
    "Participant",
    "PostingRecord",
]
