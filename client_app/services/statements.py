"""Overzichten: a monthly or yearly statement per household, from the ledger.

For residents' benefit and tax matters: what came in (per income), what was paid
(per creditor), the living money paid out, the buffer at the start and the end,
and whatever else moved. The statement adds up by construction: the money held
in the household's own pots (available + reserved + buffer) at the start, plus
every line, is the money held at the end; the page shows that check.

A payment counts in the period its payment instruction was made (the money left
the resident's pots then); a payment that came back is its own line.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.errors import InvalidInput
from backend.models import (
    Household,
    JournalEntryRecord,
    LedgerAccount,
    Participant,
    PaymentInstruction,
    PlanVersionRecord,
    PostingRecord,
)
from client_app.i18n import translate
from ledger import AccountKind, AccountRef, holding_cents

OWN_POTS = (AccountKind.AVAILABLE, AccountKind.RESERVED, AccountKind.BUFFER, AccountKind.SAVINGS)
_PERIOD = re.compile(r"^(?P<year>\d{4})(?:-(?P<month>0[1-9]|1[0-2]))?$")


@dataclass(frozen=True, slots=True)
class Period:
    start: dt.date
    end: dt.date  # exclusive
    monthly: bool

    @property
    def key(self) -> str:
        return f"{self.start:%Y-%m}" if self.monthly else f"{self.start:%Y}"

    @classmethod
    def parse(cls, text: str) -> Period:
        match = _PERIOD.match(text)
        if match is None:
            raise InvalidInput("period: use YYYY-MM for a month or YYYY for a year")
        year = int(match["year"])
        if not 2000 <= year <= 2100:
            raise InvalidInput("period: a year from 2000 to 2100")
        if match["month"]:
            month = int(match["month"])
            start = dt.date(year, month, 1)
            end = dt.date(year + month // 12, month % 12 + 1, 1)
            return cls(start, end, True)
        return cls(dt.date(year, 1, 1), dt.date(year + 1, 1, 1), False)


@dataclass
class Line:
    label: str
    amount_cents: int


@dataclass
class Statement:
    household_name: str
    participant_names: list[str]
    period: Period
    incomes: list[Line] = field(default_factory=list)
    fixed_costs: list[Line] = field(default_factory=list)
    living_money_cents: int = 0
    returned_cents: int = 0
    advance_received_cents: int = 0
    advance_repaid_cents: int = 0
    other_cents: int = 0
    own_start_cents: int = 0
    own_end_cents: int = 0
    buffer_start_cents: int = 0
    buffer_end_cents: int = 0
    debt_end_cents: int = 0  # buffer advance still owed at the end (positive)

    @property
    def income_total_cents(self) -> int:
        return sum(line.amount_cents for line in self.incomes)

    @property
    def fixed_costs_total_cents(self) -> int:
        return sum(line.amount_cents for line in self.fixed_costs)

    @property
    def computed_end_cents(self) -> int:
        return (
            self.own_start_cents
            + self.income_total_cents
            - self.fixed_costs_total_cents
            - self.living_money_cents
            + self.returned_cents
            + self.advance_received_cents
            - self.advance_repaid_cents
            + self.other_cents
        )

    @property
    def adds_up(self) -> bool:
        return self.computed_end_cents == self.own_end_cents


def household_participants(
    session: Session, participant_id: int
) -> tuple[Household, list[Participant]]:
    participant = session.get(Participant, participant_id)
    if participant is None:
        raise InvalidInput(f"participant {participant_id} does not exist")
    household = session.get(Household, participant.household_id)
    assert household is not None
    members = list(
        session.scalars(
            select(Participant)
            .where(Participant.household_id == household.id)
            .order_by(Participant.id)
        )
    )
    return household, members


def _agreement_names(session: Session, participant_ids: list[int]) -> dict[tuple[int, str], str]:
    """Name per (participant, rules agreement id), from every plan version (newest wins)."""
    names: dict[tuple[int, str], str] = {}
    for participant_id, body in session.execute(
        select(PlanVersionRecord.participant_id, PlanVersionRecord.body)
        .where(PlanVersionRecord.participant_id.in_(participant_ids))
        .order_by(PlanVersionRecord.version)
    ):
        for cost in body.get("fixed_costs", []):
            names[(participant_id, cost["agreement_id"])] = cost["creditor_name"]
        for income in body.get("incomes", []):
            label = income.get("description_nl") or income["payer_name"]
            names[(participant_id, income["agreement_id"])] = f"{label} ({income['payer_name']})"
    return names


def _balances_before(
    session: Session, accounts: dict[int, tuple[int, AccountKind]], day: dt.date
) -> dict[AccountKind, int]:
    totals: dict[AccountKind, int] = defaultdict(int)
    if not accounts:
        return totals
    rows = session.execute(
        select(PostingRecord.account_id, func.sum(PostingRecord.amount_cents))
        .join(JournalEntryRecord, JournalEntryRecord.id == PostingRecord.journal_entry_id)
        .where(PostingRecord.account_id.in_(list(accounts)), JournalEntryRecord.booking_date < day)
        .group_by(PostingRecord.account_id)
    )
    for account_id, total in rows:
        participant_id, kind = accounts[account_id]
        totals[kind] += holding_cents(AccountRef.of_participant(participant_id, kind), int(total))
    return totals


def build_statement(session: Session, participant_id: int, period: Period, lang: str) -> Statement:
    household, members = household_participants(session, participant_id)
    member_ids = [member.id for member in members]
    statement = Statement(
        household_name=household.name,
        participant_names=[member.display_name for member in members],
        period=period,
    )
    accounts = {
        account_id: (owner, AccountKind(kind))
        for account_id, owner, kind in session.execute(
            select(LedgerAccount.id, LedgerAccount.participant_id, LedgerAccount.kind).where(
                LedgerAccount.participant_id.in_(member_ids)
            )
        )
        if owner is not None  # (in member_ids: never None; for the type checker)
    }
    start = _balances_before(session, accounts, period.start)
    end = _balances_before(session, accounts, period.end)
    statement.own_start_cents = sum(start[kind] for kind in OWN_POTS)
    statement.own_end_cents = sum(end[kind] for kind in OWN_POTS)
    statement.buffer_start_cents = start[AccountKind.BUFFER]
    statement.buffer_end_cents = end[AccountKind.BUFFER]
    statement.debt_end_cents = -end[AccountKind.BUFFER_ADVANCE]
    if not accounts:
        return statement
    changes: dict[int, dict[AccountKind, int]] = defaultdict(lambda: defaultdict(int))
    owner_of: dict[int, int] = {}
    for entry_id, account_id, amount in session.execute(
        select(PostingRecord.journal_entry_id, PostingRecord.account_id, PostingRecord.amount_cents)
        .join(JournalEntryRecord, JournalEntryRecord.id == PostingRecord.journal_entry_id)
        .where(
            PostingRecord.account_id.in_(list(accounts)),
            JournalEntryRecord.booking_date >= period.start,
            JournalEntryRecord.booking_date < period.end,
        )
    ):
        owner, kind = accounts[account_id]
        owner_of[entry_id] = owner
        changes[entry_id][kind] += holding_cents(AccountRef.of_participant(owner, kind), amount)
    if not changes:
        return statement
    entry_ids = sorted(changes)
    headers = {
        row.id: row
        for start_index in range(0, len(entry_ids), 500)
        for row in session.execute(
            select(
                JournalEntryRecord.id,
                JournalEntryRecord.reason_code,
                JournalEntryRecord.entry_metadata,
            ).where(JournalEntryRecord.id.in_(entry_ids[start_index : start_index + 500]))
        )
    }
    creditors = {
        int(entry_id): str(name)
        for start_index in range(0, len(entry_ids), 500)
        for entry_id, name in session.execute(
            select(PaymentInstruction.payable_entry_id, PaymentInstruction.creditor_name).where(
                PaymentInstruction.payable_entry_id.in_(entry_ids[start_index : start_index + 500])
            )
        )
    }
    names = _agreement_names(session, member_ids)
    incomes: dict[str, int] = defaultdict(int)
    costs: dict[str, int] = defaultdict(int)
    other_income = translate(lang, "statement.income_other")
    other_cost = translate(lang, "statement.cost_other")
    for entry_id in entry_ids:
        header = headers[entry_id]
        reason = str(header.reason_code)
        metadata: dict[str, str] = header.entry_metadata or {}
        delta = changes[entry_id]
        own = sum(delta.get(kind, 0) for kind in OWN_POTS)
        owner = owner_of[entry_id]
        agreement = metadata.get("agreement_id")
        if reason.startswith(("income.", "suspense.")):
            label = names.get((owner, agreement), other_income) if agreement else other_income
            incomes[label] += own
        elif reason == "fixed_cost.pay":
            label = creditors.get(entry_id) or (
                names.get((owner, agreement), other_cost) if agreement else other_cost
            )
            costs[label] += -own
        elif reason == "fixed_cost.handover":
            # Zelfregie step 3: the bill's money went to the participant to pay it.
            label = names.get((owner, agreement), other_cost) if agreement else other_cost
            costs[label] += -own
        elif reason == "living_money.pay":
            statement.living_money_cents += -own
        elif reason in ("payment.returned", "payment.rejected"):
            statement.returned_cents += own
        elif reason == "buffer.advance":
            statement.advance_received_cents += own
        elif reason == "advance.repay":
            statement.advance_repaid_cents += -own
        else:
            statement.other_cents += own
    statement.incomes = [Line(label, cents) for label, cents in sorted(incomes.items())]
    statement.fixed_costs = [Line(label, cents) for label, cents in sorted(costs.items())]
    return statement


def statement_periods(
    session: Session, participant_id: int, *, months_max: int = 24
) -> tuple[list[Period], list[Period]]:
    """The months and years that have movements for the household, newest first."""
    _, members = household_participants(session, participant_id)
    touching = (
        select(PostingRecord.journal_entry_id)
        .join(LedgerAccount, LedgerAccount.id == PostingRecord.account_id)
        .where(LedgerAccount.participant_id.in_([member.id for member in members]))
    )
    first = session.scalar(
        select(func.min(JournalEntryRecord.booking_date)).where(JournalEntryRecord.id.in_(touching))
    )
    last = session.scalar(
        select(func.max(JournalEntryRecord.booking_date)).where(JournalEntryRecord.id.in_(touching))
    )
    if first is None or last is None:
        return [], []
    months: list[Period] = []
    year, month = last.year, last.month
    while (year, month) >= (first.year, first.month) and len(months) < months_max:
        months.append(Period.parse(f"{year:04d}-{month:02d}"))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    years = [Period.parse(f"{year:04d}") for year in range(last.year, first.year - 1, -1)]
    return months, years
