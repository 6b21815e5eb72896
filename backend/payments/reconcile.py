"""Reconciliation: the ledger against the bank, and the ledger against our payments.

Checks, each listing the entries (or payments) involved when it does not reconcile:
1. per municipal account: the ledger's bank balance on the date of the last imported
   statement equals that statement's closing balance ("no statement imported yet"
   is reported, not counted as a difference);
2. Σ participant holdings + suspense + in_transit = Σ bank in the ledger;
3. (as of now only) in_transit = Σ exported payments not yet settled, and
   Σ payable = Σ payments not yet exported;
4. (always as of now) every participant account's kept balance
   (`ledger_account_balance`, which the daily cycle reads) = the sum and count of its
   postings, listing the accounts that differ.

The statement side is read through `latest_statement_closing`, the one interface to
the bank-import's `bank_statement` table.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Date,
    String,
    column,
    func,
    inspect,
    select,
    table,
    true,
)
from sqlalchemy.orm import Session

from backend.errors import AppError
from backend.ledger_store.balances import balance_mismatches
from backend.models import (
    JournalEntryRecord,
    LedgerAccount,
    MunicipalBankAccount,
    PaymentInstruction,
    PostingRecord,
)
from ledger import AccountKind, Money

ENTRIES_LISTED_MAX = 200
PARTICIPANT_KINDS = ("available", "reserved", "buffer", "payable", "buffer_advance", "savings")
STATEMENT_COLUMNS = (
    "id",
    "account_iban",
    "statement_id",
    "closing_balance_cents",
    "closing_balance_date",
)
# The bank-import's table, as far as reconciliation reads it.
_STATEMENT = table(
    "bank_statement",
    column("id", BigInteger),
    column("account_iban", String),
    column("statement_id", String),
    column("closing_balance_cents", BigInteger),
    column("closing_balance_date", Date),
)


@dataclass(frozen=True, slots=True)
class StatementClosing:
    statement_id: str
    closing_balance_cents: int
    closing_balance_date: dt.date
    previous_closing_date: dt.date | None


def latest_statement_closing(
    session: Session, iban: str, as_of: dt.date | None
) -> StatementClosing | None:
    """The last imported statement of `iban` closing on or before `as_of` (any date when
    None), or None when there is none (or no `bank_statement` table yet).

    Reads bank_statement(id, account_iban, statement_id, closing_balance_cents,
    closing_balance_date); see STATEMENT_COLUMNS.
    """
    inspector = inspect(session.connection())
    if not inspector.has_table("bank_statement"):
        return None
    columns = {column["name"] for column in inspector.get_columns("bank_statement")}
    missing = [name for name in STATEMENT_COLUMNS if name not in columns]
    if missing:
        raise AppError(
            f"bank_statement has no column(s) {', '.join(missing)}; reconciliation reads "
            f"{', '.join(STATEMENT_COLUMNS)}"
        )
    query = (
        select(
            _STATEMENT.c.statement_id,
            _STATEMENT.c.closing_balance_cents,
            _STATEMENT.c.closing_balance_date,
        )
        .where(_STATEMENT.c.account_iban == iban)
        .order_by(_STATEMENT.c.closing_balance_date.desc(), _STATEMENT.c.id.desc())
        .limit(2)
    )
    if as_of is not None:
        query = query.where(_STATEMENT.c.closing_balance_date <= as_of)
    rows = session.execute(query).all()
    if not rows:
        return None
    latest = rows[0]
    previous = _as_date(rows[1].closing_balance_date) if len(rows) > 1 else None
    return StatementClosing(
        statement_id=str(latest.statement_id),
        closing_balance_cents=int(latest.closing_balance_cents),
        closing_balance_date=_as_date(latest.closing_balance_date),
        previous_closing_date=previous,
    )


def _as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


@dataclass
class Difference:
    check: str
    message: str
    expected_cents: int
    actual_cents: int
    account: str | None = None
    entries: list[dict[str, Any]] = field(default_factory=list)
    payments: list[dict[str, Any]] = field(default_factory=list)
    accounts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def difference_cents(self) -> int:
        return self.actual_cents - self.expected_cents


@dataclass
class AccountResult:
    iban: str
    name: str
    ledger_balance_cents: int
    status: str  # "ok", "difference" or "no_statement"
    statement_id: str | None = None
    statement_date: dt.date | None = None
    statement_closing_cents: int | None = None
    ledger_balance_on_statement_date_cents: int | None = None


@dataclass
class ReconciliationReport:
    as_of: dt.date | None
    accounts: list[AccountResult]
    totals: dict[str, int]
    differences: list[Difference]
    notes: list[str]

    @property
    def ok(self) -> bool:
        return not self.differences

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "accounts": [
                {
                    **asdict(account),
                    "statement_date": account.statement_date.isoformat()
                    if account.statement_date
                    else None,
                }
                for account in self.accounts
            ],
            "totals": self.totals,
            "differences": [
                {**asdict(difference), "difference_cents": difference.difference_cents}
                for difference in self.differences
            ],
            "notes": self.notes,
        }


def _date_condition(as_of: dt.date | None) -> ColumnElement[bool]:
    if as_of is None:
        return true()
    return JournalEntryRecord.booking_date <= as_of


def _balances_by_kind(session: Session, as_of: dt.date | None) -> dict[str, int]:
    rows = session.execute(
        select(LedgerAccount.kind, func.sum(PostingRecord.amount_cents))
        .join(LedgerAccount, LedgerAccount.id == PostingRecord.account_id)
        .join(JournalEntryRecord, JournalEntryRecord.id == PostingRecord.journal_entry_id)
        .where(_date_condition(as_of))
        .group_by(LedgerAccount.kind)
    )
    return {kind: int(total or 0) for kind, total in rows}


def _bank_balance(session: Session, account_id: int, as_of: dt.date | None) -> int:
    total = session.scalar(
        select(func.sum(PostingRecord.amount_cents))
        .join(LedgerAccount, LedgerAccount.id == PostingRecord.account_id)
        .join(JournalEntryRecord, JournalEntryRecord.id == PostingRecord.journal_entry_id)
        .where(
            LedgerAccount.kind == "bank",
            LedgerAccount.bank_account_id == account_id,
            _date_condition(as_of),
        )
    )
    return int(total or 0)


def _bank_entries(
    session: Session, account_id: int, after: dt.date | None, until: dt.date
) -> list[dict[str, Any]]:
    query = (
        select(
            JournalEntryRecord.idempotency_key,
            JournalEntryRecord.booking_date,
            JournalEntryRecord.reason_code,
            PostingRecord.amount_cents,
        )
        .join(PostingRecord, PostingRecord.journal_entry_id == JournalEntryRecord.id)
        .join(LedgerAccount, LedgerAccount.id == PostingRecord.account_id)
        .where(
            LedgerAccount.kind == "bank",
            LedgerAccount.bank_account_id == account_id,
            JournalEntryRecord.booking_date <= until,
        )
        .order_by(JournalEntryRecord.booking_date, JournalEntryRecord.id)
        .limit(ENTRIES_LISTED_MAX)
    )
    if after is not None:
        query = query.where(JournalEntryRecord.booking_date > after)
    return [
        {
            "entry": key,
            "booking_date": booking_date.isoformat(),
            "reason": reason,
            "amount_cents": int(amount),
        }
        for key, booking_date, reason, amount in session.execute(query)
    ]


def _unbalanced_entries(session: Session, as_of: dt.date | None) -> list[dict[str, Any]]:
    rows = session.execute(
        select(
            JournalEntryRecord.idempotency_key,
            JournalEntryRecord.booking_date,
            func.sum(PostingRecord.amount_cents),
        )
        .join(PostingRecord, PostingRecord.journal_entry_id == JournalEntryRecord.id)
        .where(_date_condition(as_of))
        .group_by(JournalEntryRecord.id, JournalEntryRecord.idempotency_key)
        .group_by(JournalEntryRecord.booking_date)
        .having(func.sum(PostingRecord.amount_cents) != 0)
        .limit(ENTRIES_LISTED_MAX)
    )
    return [
        {"entry": key, "booking_date": day.isoformat(), "sum_cents": int(total)}
        for key, day, total in rows
    ]


def reconcile(session: Session, *, as_of: dt.date | None = None) -> ReconciliationReport:
    """Every check; `as_of=None` means everything booked so far (and the payment checks)."""
    differences: list[Difference] = []
    notes: list[str] = []
    accounts: list[AccountResult] = []
    for account in session.scalars(select(MunicipalBankAccount).order_by(MunicipalBankAccount.id)):
        balance = _bank_balance(session, account.id, as_of)
        result = AccountResult(account.iban, account.name, balance, "no_statement")
        statement = latest_statement_closing(session, account.iban, as_of)
        if statement is None:
            notes.append(f"{account.iban}: no statement imported yet")
        else:
            on_date = _bank_balance(session, account.id, statement.closing_balance_date)
            result.statement_id = statement.statement_id
            result.statement_date = statement.closing_balance_date
            result.statement_closing_cents = statement.closing_balance_cents
            result.ledger_balance_on_statement_date_cents = on_date
            result.status = "ok"
            if on_date != statement.closing_balance_cents:
                result.status = "difference"
                differences.append(
                    Difference(
                        check="bank_vs_statement",
                        account=account.iban,
                        expected_cents=statement.closing_balance_cents,
                        actual_cents=on_date,
                        message=(
                            f"{account.iban}: ledger bank balance on "
                            f"{statement.closing_balance_date} is {Money(on_date)}, statement "
                            f"{statement.statement_id} closes at "
                            f"{Money(statement.closing_balance_cents)}"
                        ),
                        entries=_bank_entries(
                            session,
                            account.id,
                            statement.previous_closing_date,
                            statement.closing_balance_date,
                        ),
                    )
                )
        accounts.append(result)

    raw = _balances_by_kind(session, as_of)
    participants = -sum(raw.get(kind, 0) for kind in PARTICIPANT_KINDS)
    suspense = -raw.get(str(AccountKind.SUSPENSE), 0)
    in_transit = -raw.get(str(AccountKind.IN_TRANSIT), 0)
    # What former participants still owe on an advance (backend.ending): zero or negative.
    advance_claims = -raw.get(str(AccountKind.ADVANCE_CLAIM), 0)
    bank = raw.get(str(AccountKind.BANK), 0)
    held = participants + suspense + in_transit + advance_claims
    totals = {
        "bank_cents": bank,
        "participants_cents": participants,
        "suspense_cents": suspense,
        "in_transit_cents": in_transit,
        "payable_cents": -raw.get(str(AccountKind.PAYABLE), 0),
        "advance_claims_cents": advance_claims,
        "held_cents": held,
    }
    if held != bank:
        differences.append(
            Difference(
                check="holdings_vs_bank",
                expected_cents=bank,
                actual_cents=held,
                message=(
                    f"participants {Money(participants)} + suspense {Money(suspense)} + "
                    f"in transit {Money(in_transit)} = {Money(held)}, bank {Money(bank)}"
                ),
                entries=_unbalanced_entries(session, as_of),
            )
        )
    if as_of is None:
        differences.extend(_payment_checks(session, in_transit, totals["payable_cents"]))
    else:
        notes.append("payment checks (in transit, payable) only run for today, without --date")
    # Always against every posting so far, whatever `as_of`: the rows hold the present.
    differences.extend(_kept_balance_checks(session))
    return ReconciliationReport(as_of, accounts, totals, differences, notes)


def _kept_balance_checks(session: Session) -> list[Difference]:
    """The kept balances (`ledger_account_balance`) against the postings they add up:
    a difference means the daily cycle decides on wrong balances."""
    mismatches = balance_mismatches(session, limit=ENTRIES_LISTED_MAX)
    if not mismatches:
        return []
    stored = sum(item["stored_balance_cents"] for item in mismatches)
    summed = sum(item["postings_balance_cents"] for item in mismatches)
    listed = ", ".join(
        f"{item['account']} kept {Money(item['stored_balance_cents'])} over "
        f"{item['stored_postings_count']} postings, postings say "
        f"{Money(item['postings_balance_cents'])} over {item['postings_count']}"
        for item in mismatches[:5]
    )
    more = f" (and {len(mismatches) - 5} more)" if len(mismatches) > 5 else ""
    return [
        Difference(
            check="kept_balances_vs_postings",
            expected_cents=summed,
            actual_cents=stored,
            message=(
                f"{len(mismatches)} participant account(s) whose kept balance "
                f"(ledger_account_balance) differs from their postings: {listed}{more}"
            ),
            accounts=mismatches,
        )
    ]


def _payment_checks(
    session: Session, in_transit_cents: int, payable_cents: int
) -> list[Difference]:
    differences: list[Difference] = []
    exported = int(
        session.scalar(
            select(func.coalesce(func.sum(PaymentInstruction.amount_cents), 0)).where(
                PaymentInstruction.status == "exported"
            )
        )
        or 0
    )
    if exported != in_transit_cents:
        differences.append(
            Difference(
                check="in_transit_vs_payments",
                expected_cents=exported,
                actual_cents=in_transit_cents,
                message=(
                    f"in transit holds {Money(in_transit_cents)}, exported payments not yet "
                    f"settled add up to {Money(exported)}"
                ),
                payments=_in_transit_mismatches(session),
            )
        )
    open_payments = int(
        session.scalar(
            select(func.coalesce(func.sum(PaymentInstruction.amount_cents), 0)).where(
                PaymentInstruction.status.in_(("payable", "batched"))
            )
        )
        or 0
    )
    if open_payments != payable_cents:
        differences.append(
            Difference(
                check="payable_vs_payments",
                expected_cents=open_payments,
                actual_cents=payable_cents,
                message=(
                    f"payable holds {Money(payable_cents)}, payments not yet exported add up "
                    f"to {Money(open_payments)}"
                ),
                payments=_payable_mismatches(session),
            )
        )
    return differences


def _in_transit_mismatches(session: Session) -> list[dict[str, Any]]:
    """Per EndToEndId: what in_transit holds for it against what its status says."""
    held: dict[str, int] = defaultdict(int)
    entries: dict[str, list[str]] = defaultdict(list)
    for key, amount in session.execute(
        select(JournalEntryRecord.idempotency_key, PostingRecord.amount_cents)
        .join(PostingRecord, PostingRecord.journal_entry_id == JournalEntryRecord.id)
        .join(LedgerAccount, LedgerAccount.id == PostingRecord.account_id)
        .where(LedgerAccount.kind == "in_transit")
    ):
        end_to_end_id = key.rsplit(":", 1)[-1] if key.startswith("payments:") else key
        held[end_to_end_id] -= int(amount)
        entries[end_to_end_id].append(key)
    expected = {
        end_to_end_id: (instruction_id, status, amount if status == "exported" else 0)
        for instruction_id, end_to_end_id, status, amount in session.execute(
            select(
                PaymentInstruction.id,
                PaymentInstruction.end_to_end_id,
                PaymentInstruction.status,
                PaymentInstruction.amount_cents,
            )
        )
    }
    mismatches = []
    for end_to_end_id in sorted(set(held) | {k for k, v in expected.items() if v[2]}):
        instruction_id, status, should = expected.get(end_to_end_id, (None, None, 0))
        if held.get(end_to_end_id, 0) != should:
            mismatches.append(
                {
                    "end_to_end_id": end_to_end_id,
                    "payment_instruction_id": instruction_id,
                    "status": status,
                    "expected_cents": should,
                    "in_transit_cents": held.get(end_to_end_id, 0),
                    "entries": entries.get(end_to_end_id, []),
                }
            )
        if len(mismatches) >= ENTRIES_LISTED_MAX:
            break
    return mismatches


def _payable_mismatches(session: Session) -> list[dict[str, Any]]:
    """Per participant: payable holding against the payments not yet exported."""
    held = {
        participant_id: -int(total)
        for participant_id, total in session.execute(
            select(LedgerAccount.participant_id, func.sum(PostingRecord.amount_cents))
            .join(LedgerAccount, LedgerAccount.id == PostingRecord.account_id)
            .where(LedgerAccount.kind == "payable")
            .group_by(LedgerAccount.participant_id)
        )
        if participant_id is not None  # payable accounts are participants' (typing)
    }
    expected: dict[int, int] = defaultdict(int)
    keys: dict[int, list[str]] = defaultdict(list)
    for participant_id, amount, key in session.execute(
        select(
            PaymentInstruction.participant_id,
            PaymentInstruction.amount_cents,
            PaymentInstruction.idempotency_key,
        ).where(PaymentInstruction.status.in_(("payable", "batched")))
    ):
        expected[participant_id] += int(amount)
        keys[participant_id].append(key)
    return [
        {
            "participant_id": participant_id,
            "expected_cents": expected.get(participant_id, 0),
            "payable_cents": held.get(participant_id, 0),
            "entries": keys.get(participant_id, [])[:20],
        }
        for participant_id in sorted(set(held) | set(expected))
        if held.get(participant_id, 0) != expected.get(participant_id, 0)
    ][:ENTRIES_LISTED_MAX]
