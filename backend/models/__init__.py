"""All ORM models, in one package so Alembic sees every table."""

from backend.models.access import CaseloadAssignment, RefreshToken, UserAccount
from backend.models.agreement import Agreement
from backend.models.alert import Alert
from backend.models.bank_import import (
    BankEntryRecord,
    BankStatementRecord,
    SuspenseAssignmentRecord,
)
from backend.models.base import Base
from backend.models.codecision import EmergencyRequest, LifeEvent, Proposal, ProposalEvent
from backend.models.counterparty import Counterparty
from backend.models.cycle import CycleRun, CycleState
from backend.models.ending import ParticipationEnd
from backend.models.insight import InsightSetting, SpendingCategory, SpendingNote
from backend.models.ledger import (
    AccountBalance,
    JournalEntryRecord,
    LedgerAccount,
    PostingRecord,
)
from backend.models.municipality import MunicipalBankAccount
from backend.models.onboarding import AccountActivation, OnboardingDraft
from backend.models.payments import PaymentBatch, PaymentBatchEvent, PaymentInstruction
from backend.models.people import Household, Participant
from backend.models.plans import IncomeExpectationRecord, PlanVersionRecord
from backend.models.privacy import AccessLogRecord, PseudonymisationRecord
from backend.models.self_payment import SelfPaymentConfirmation
from backend.models.zelfregie import AutonomyStepRecord, SavingsGoal, SavingsMovement

__all__ = [
    "AccessLogRecord",
    "AccountActivation",
    "AccountBalance",
    "Agreement",
    "Alert",
    "AutonomyStepRecord",
    "BankEntryRecord",
    "BankStatementRecord",
    "Base",
    "CaseloadAssignment",
    "Counterparty",
    "CycleRun",
    "CycleState",
    "EmergencyRequest",
    "Household",
    "IncomeExpectationRecord",
    "InsightSetting",
    "JournalEntryRecord",
    "LedgerAccount",
    "LifeEvent",
    "MunicipalBankAccount",
    "OnboardingDraft",
    "Participant",
    "ParticipationEnd",
    "PaymentBatch",
    "PaymentBatchEvent",
    "PaymentInstruction",
    "PlanVersionRecord",
    "PostingRecord",
    "Proposal",
    "ProposalEvent",
    "PseudonymisationRecord",
    "RefreshToken",
    "SavingsGoal",
    "SavingsMovement",
    "SelfPaymentConfirmation",
    "SpendingCategory",
    "SpendingNote",
    "SuspenseAssignmentRecord",
    "UserAccount",
]
