"""Import a bank statement file: store every entry exactly once and book it.

    import_statement_file(session, data, filename=..., imported_by=...) -> ImportReport

Per file, in the caller's transaction (services only flush; a refused file raises and
the caller rolls back, so a refused file writes nothing):

1. Read it (`backend.bank.read_statement_file`: hardened XML, XSD, balances add up).
   When configured, a large CAMT.053 file is read in a second process
   (`backend.bank.background`) while the statements read so far are booked, in a
   savepoint: a file refused further on undoes them, and any other failure imports the
   file the sequential way, so the result and the error are the same as reading first
   and booking after.
2. Every statement's account must be one of the municipality's accounts. The accounts
   are locked (PostgreSQL: FOR UPDATE; SQLite: the caller's BEGIN IMMEDIATE), so two
   imports of the same account run one after the other and the second sees the first.
3. A statement already imported (same account, statement id, closing balance and
   date) is a duplicate: nothing is written for it. Its entries must still agree with
   what was stored.
4. Opening balance against the previous statement's closing balance: a difference is
   a gap — stored on the statement (`gap_cents`) and raised as an alert for finance,
   never booked away. The first statement of an account books its opening balance to
   suspense (`bank → suspense`) as far as the ledger does not know it yet, so the
   ledger's bank balance follows the bank; a statement that starts before that first
   statement is refused.
5. Entries are keyed by `BankEntry.dedup_key`. A known key with the same fingerprint is
   a duplicate (re-import, overlapping statement); with another fingerprint the bank
   reused a reference for different money: the file is refused.
6. New entries are booked, in chunks, with one `post_entries` call and one bulk insert
   per chunk:
   - a credit returning our payment (RtrInf reason or reversal, EndToEndId known) →
     `payments.return_payment` (money back to the participant, alert);
   - a debit of a batch (NtryDtls/Btch PmtInfId) → `payments.settle_batch_booking`,
     or per EndToEndId when the bank gives the transactions of an unknown batch;
   - a debit with a known EndToEndId → `payments.settle_by_end_to_end_id`;
   - a credit matching exactly one income agreement → `bank → participant available`
     with `rules.income_metadata` (see backend.bank_import.matching);
   - everything else → `bank ↔ suspense`. An unknown debit books bank −X / suspense +X
     (suspense then holds a negative amount: money that left without a reason we
     know) and raises an alert for finance, one per statement.
   Lookups are prefetched per statement (known keys, our payments by EndToEndId and
   PmtInfId, straight to the driver; the income expectations of every payer IBAN in
   one query, once per file when its statements are known up front); only entries
   that really settle or return a payment call the payments hooks. The garbage
   collector pauses while a chunk is booked.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection, Table, func, select, text
from sqlalchemy.orm import Session

from backend.bank import (
    DEFAULT_MAX_BYTES,
    BankEntry,
    CreditDebit,
    Statement,
    StatementError,
    StatementFormat,
    read_statement_file,
)
from backend.bank.background import BackgroundReader, ReadFailed, worth_reading_in_background
from backend.bank.xml_safety import Source, StatementSource, open_source
from backend.bank_import.errors import (
    AccountNotOursError,
    EntryConflictError,
    StatementConflictError,
    StatementTooOldError,
)
from backend.bank_import.income_alerts import resolve_income_missing
from backend.bank_import.matching import ExpectationIndex, normalise_text
from backend.bank_import.texts import (
    euro_nl,
    euro_plain,
    income_explanation,
    opening_balance_explanation,
    suspense_credit_explanation,
    suspense_debit_explanation,
)
from backend.collector import collector_paused
from backend.errors import InvalidInput
from backend.ledger_store import post_entries
from backend.ledger_store.driver import insert_rows, select_in
from backend.models import (
    BankEntryRecord,
    BankStatementRecord,
    LedgerAccount,
    MunicipalBankAccount,
    PostingRecord,
)
from backend.models.bank_import import DEDUP_KEY_LENGTH_MAX
from backend.models.base import utcnow
from backend.payments import (
    PaymentMatchError,
    SettlementResult,
    raise_alert,
    return_payment,
    settle_batch_booking,
    settle_by_end_to_end_id,
)
from backend.plans import IncomeExpectation, income_expectations_for_payers
from ledger import AMOUNT_CENTS_MAX, AccountKind, AccountRef, JournalEntry, Posting
from ledger.journal import IDEMPOTENCY_KEY_LENGTH_MAX
from rules import REASON_INCOME_MATCHED, income_metadata
from rules.state import META_AGREEMENT_ID, META_EXPECTED_DATE

_BANK_ENTRY_TABLE = cast(Table, BankEntryRecord.__table__)
ENTRIES_PER_CHUNK = 5_000
ANALYZE_AFTER_NEW_ENTRIES = 10_000
ENTRIES_PER_STATEMENT_MAX = 2_000_000
IMPORTED_BY_LENGTH_MAX = 100
REASON_SUSPENSE = "bank.suspense"
REASON_OPENING_BALANCE = "bank.opening_balance"
KEY_PREFIX = "bank:"


# ---------------------------------------------------------------------- the report


@dataclass
class StatementReport:
    """What importing one statement did."""

    statement_id: str
    account: str
    format: str
    opening_balance_cents: int
    closing_balance_cents: int
    closing_balance_date: dt.date
    statement_row_id: int | None = None
    duplicate_statement: bool = False
    booked_entries: int = 0
    new_entries: int = 0
    duplicate_entries: int = 0
    skipped_pending_entries: int = 0
    matched_entries: int = 0
    settled_entries: int = 0
    returned_entries: int = 0
    suspense_entries: int = 0
    ignored_entries: int = 0
    gap_cents: int | None = None
    opening_balance_booked_cents: int | None = None
    journal_entries_created: int = 0
    alerts_raised: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "statement_id": self.statement_id,
            "account": self.account,
            "format": self.format,
            "statement_row_id": self.statement_row_id,
            "duplicate_statement": self.duplicate_statement,
            "opening_balance_cents": self.opening_balance_cents,
            "closing_balance_cents": self.closing_balance_cents,
            "closing_balance_date": self.closing_balance_date.isoformat(),
            "booked_entries": self.booked_entries,
            "new_entries": self.new_entries,
            "duplicate_entries": self.duplicate_entries,
            "skipped_pending_entries": self.skipped_pending_entries,
            "matched_entries": self.matched_entries,
            "settled_entries": self.settled_entries,
            "returned_entries": self.returned_entries,
            "suspense_entries": self.suspense_entries,
            "ignored_entries": self.ignored_entries,
            "gap_cents": self.gap_cents,
            "opening_balance_booked_cents": self.opening_balance_booked_cents,
            "journal_entries_created": self.journal_entries_created,
            "alerts_raised": self.alerts_raised,
        }


COUNTS = (
    "booked_entries",
    "new_entries",
    "duplicate_entries",
    "skipped_pending_entries",
    "matched_entries",
    "settled_entries",
    "returned_entries",
    "suspense_entries",
    "ignored_entries",
    "journal_entries_created",
    "alerts_raised",
)


@dataclass
class ImportReport:
    """What importing one file did; the counts are the sums over its statements."""

    filename: str
    file_sha256: str
    statements: list[StatementReport] = field(default_factory=list)

    def total(self, name: str) -> int:
        return sum(int(getattr(statement, name)) for statement in self.statements)

    @property
    def gap_cents(self) -> int | None:
        gaps = [s.gap_cents for s in self.statements if s.gap_cents is not None]
        return sum(gaps) if gaps else None

    @property
    def duplicate_file(self) -> bool:
        return bool(self.statements) and all(s.duplicate_statement for s in self.statements)

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.filename,
            "status": "imported",
            "sha256": self.file_sha256,
            "duplicate_file": self.duplicate_file,
            "statements": [statement.as_dict() for statement in self.statements],
            **{name: self.total(name) for name in COUNTS},
            "gap_cents": self.gap_cents,
        }


# ---------------------------------------------------------------------- entry point


def import_statement_file(
    session: Session,
    data: Source,
    *,
    filename: str | None = None,
    imported_by: str,
    max_bytes: int = DEFAULT_MAX_BYTES,
    reading_process: str = "off",
) -> ImportReport:
    """Import every statement in one file; see the module docstring.

    `data` is the file's bytes or a path. Raises `StatementError` (with file, line and
    element) when the file is refused; the caller must then roll back. Only flushes.

    When configured (`reading_process`: ``off`` or ``auto``, unless the environment
    says otherwise), a large CAMT.053 file is read in a second process while the
    statements read so far are booked (`backend.bank.background.pipeline_min_bytes`);
    the result, and the error of a refused file, are the same as reading it first and
    booking it after.
    """
    by = (imported_by or "").strip()
    if not by or len(by) > IMPORTED_BY_LENGTH_MAX:
        raise InvalidInput(f"imported_by must be 1 to {IMPORTED_BY_LENGTH_MAX} characters")
    if filename is None:
        is_bytes = isinstance(data, bytes | bytearray | memoryview)
        filename = "upload" if is_bytes else Path(os.fsdecode(data)).name
    source: StatementSource | None = None
    with contextlib.suppress(ValueError, TypeError):  # refused below, with the same error
        source = open_source(data, filename=filename, max_bytes=max_bytes)
    if source is not None and worth_reading_in_background(source, reading_process):
        report = _import_while_reading(session, source, data, imported_by=by)
        if report is not None:
            return report
    statements = read_statement_file(data, filename=filename, max_bytes=max_bytes)
    return import_statements(
        session, statements, filename=filename, file_sha256=_sha256(data), imported_by=by
    )


def import_statements(
    session: Session,
    statements: Sequence[Statement],
    *,
    filename: str,
    file_sha256: str,
    imported_by: str,
) -> ImportReport:
    """Import statements already read from one file (see `import_statement_file`)."""
    by = (imported_by or "").strip()
    if not by or len(by) > IMPORTED_BY_LENGTH_MAX:
        raise InvalidInput(f"imported_by must be 1 to {IMPORTED_BY_LENGTH_MAX} characters")
    file_import = _FileImport(session, filename, file_sha256, by)
    file_import.accounts = _lock_accounts(session, statements)
    file_import.incomes = _FileExpectations.of(statements)
    for statement in statements:
        file_import.add(statement)
    return file_import.finish()


class _FileImport:
    """The statements of one file, imported one after the other."""

    def __init__(self, session: Session, filename: str, file_sha256: str, by: str) -> None:
        self.session = session
        self.by = by
        self.report = ImportReport(filename=filename, file_sha256=file_sha256)
        self.accounts: dict[str, int] = {}
        self.seen: dict[str, str] = {}  # keys of this file's earlier statements -> fingerprint
        self.incomes = _FileExpectations()  # no horizon: each statement reads its window
        self.analysed_at = 0

    def add(self, statement: Statement) -> None:
        report = self.report
        report.statements.append(
            _StatementImport(
                self.session, statement, self.accounts, report, self.by, self.seen, self.incomes
            ).run()
        )
        # After each statement, not only at the end: a year's file of a large city is
        # twelve statements of ~200,000 entries, and each later one looked up its keys
        # with sequential scans of what the earlier ones wrote (docs/performance.md).
        written = report.total("new_entries")
        if written - self.analysed_at >= ANALYZE_AFTER_NEW_ENTRIES:
            self.session.flush()
            _refresh_statistics(self.session, written - self.analysed_at)
            self.analysed_at = written

    def finish(self) -> ImportReport:
        self.session.flush()
        _refresh_statistics(self.session, self.report.total("new_entries") - self.analysed_at)
        return self.report


def _import_while_reading(
    session: Session, source: StatementSource, data: Source, *, imported_by: str
) -> ImportReport | None:
    """Book each statement while a second process reads the next (a savepoint around it).

    Whatever goes wrong ends as the sequential import would end: a file the reader
    refuses raises the reader's error; any other failure undoes this attempt and imports
    the statements read (all of them) the sequential way, which raises its own error (or
    succeeds). None: the reading process died; read the file in this process.

    Accounts are locked as their statements arrive, not all at once in id order: a file
    of one account (the usual case) locks the same row; for a file of several accounts
    two imports could wait for each other crosswise, which PostgreSQL detects and ends
    with an error in one of them, and that one then runs the sequential way."""
    received: list[Statement] = []
    with BackgroundReader(source) as reader:
        file_sha256 = _sha256(data)  # while the first statement is read
        savepoint = session.begin_nested()
        try:
            file_import = _FileImport(session, source.filename, file_sha256, imported_by)
            file_import.incomes = _FileExpectations(open_ended=True)
            for statement in reader:
                received.append(statement)
                file_import.accounts.update(_lock_accounts(session, [statement]))
                file_import.add(statement)
            report = file_import.finish()
        except ReadFailed as failure:
            savepoint.rollback()
            if failure.error is not None:
                raise failure.error from None
            return None
        except Exception:
            savepoint.rollback()
            try:
                received.extend(reader)  # the rest of the file
            except ReadFailed as failure:
                if failure.error is not None:
                    raise failure.error from None
                return None
        else:
            savepoint.commit()
            return report
    return import_statements(
        session,
        received,
        filename=source.filename,
        file_sha256=file_sha256,
        imported_by=imported_by,
    )


def _refresh_statistics(session: Session, new_entries: int) -> None:
    """After a large import, let PostgreSQL see the new rows at once.

    Until (auto)analyze has run, the planner does not know the tables grew and looks up
    keys (`dedup_key IN (...)`, `idempotency_key IN (...)`) with sequential scans: the
    next import of a large statement then takes minutes instead of seconds. ANALYZE
    samples a fixed number of rows, takes no lock that blocks readers or writers and may
    run inside the transaction."""
    if new_entries < ANALYZE_AFTER_NEW_ENTRIES:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ANALYZE bank_entry, journal_entry, posting"))


def file_sha256(data: Source) -> str:
    """SHA-256 of a file's bytes (read in blocks for a path)."""
    return _sha256(data)


def _sha256(data: Source) -> str:
    digest = hashlib.sha256()
    if isinstance(data, bytes | bytearray | memoryview):
        digest.update(data)
        return digest.hexdigest()
    with Path(os.fsdecode(data)).open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _lock_accounts(session: Session, statements: Sequence[Statement]) -> dict[str, int]:
    """The municipal accounts of these statements by IBAN, locked in id order (so two
    imports never wait for each other crosswise). Refuses an account that is not ours."""
    ibans = sorted({s.account_iban for s in statements if s.account_iban})
    found: dict[str, int] = {}
    if ibans:
        rows = session.execute(
            select(MunicipalBankAccount.iban, MunicipalBankAccount.id)
            .where(MunicipalBankAccount.iban.in_(ibans))
            .order_by(MunicipalBankAccount.id)
            .with_for_update()
        )
        found = {str(row[0]): int(row[1]) for row in rows}
    for statement in statements:
        if statement.account_iban is None or statement.account_iban not in found:
            raise AccountNotOursError(
                f"account {statement.account} is not one of the municipality's accounts; "
                "register it first with `huishoudboekje bank accounts add IBAN`",
                filename=statement.source_filename,
                line=statement.line,
                element=":25:" if statement.format is StatementFormat.MT940 else "Acct/Id/IBAN",
            )
    return found


# ---------------------------------------------------------------------- one statement


@dataclass(slots=True)
class _Outcome:
    """What booking one entry decided: the status columns of its `bank_entry` row."""

    dedup_key: str
    status: str = "suspense"
    status_reason: str | None = None
    participant_id: int | None = None
    agreement_id: str | None = None
    journal_entry_key: str | None = None
    payment_instruction_count: int = 0


_CREDIT_DEBIT = {direction: direction.value for direction in CreditDebit}


def _entry_element(statement: Statement, entry: BankEntry) -> str:
    if statement.format is StatementFormat.MT940:
        return ":61:"
    return "Ntry/AcctSvcrRef" if entry.bank_reference else "Ntry"


def _incomes_received(journal: Sequence[JournalEntry]) -> list[tuple[int, str, dt.date]]:
    """(participant, agreement, expected date) of the matched incomes in `journal`."""
    found: list[tuple[int, str, dt.date]] = []
    for entry in journal:
        if entry.reason_code != REASON_INCOME_MATCHED:
            continue
        meta = dict(entry.metadata)
        participants = [
            posting.account.participant_id
            for posting in entry.postings
            if posting.account.participant_id
        ]
        agreement, expected = meta.get(META_AGREEMENT_ID), meta.get(META_EXPECTED_DATE)
        if participants and agreement and expected:
            found.append((participants[0], agreement, dt.date.fromisoformat(expected)))
    return found


def journal_key(dedup_key: str) -> str:
    """The idempotency key of the journal entry that books a bank entry."""
    key = KEY_PREFIX + dedup_key
    if len(key) <= IDEMPOTENCY_KEY_LENGTH_MAX:
        return key
    return f"{KEY_PREFIX}sha256:{hashlib.sha256(dedup_key.encode()).hexdigest()}"


_KNOWN_ENTRIES = "SELECT dedup_key, fingerprint FROM bank_entry WHERE dedup_key {in}"


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _cut(text: str | None, length: int) -> str | None:
    return text if text is None or len(text) <= length else text[:length]


class _StatementImport:
    def __init__(
        self,
        session: Session,
        statement: Statement,
        accounts: dict[str, int],
        report: ImportReport,
        imported_by: str,
        seen: dict[str, str],
        incomes: _FileExpectations,
    ) -> None:
        assert statement.account_iban is not None  # checked by _lock_accounts
        self.session = session
        self.statement = statement
        self.iban: str = statement.account_iban
        self.bank_account_id = accounts[self.iban]
        self.file_report = report
        self.imported_by = imported_by
        self.seen = seen
        self.incomes = incomes
        self.report = StatementReport(
            statement_id=statement.statement_id,
            account=self.iban,
            format=str(statement.format),
            opening_balance_cents=statement.opening_balance_cents,
            closing_balance_cents=statement.closing_balance_cents,
            closing_balance_date=statement.closing_balance_date,
            booked_entries=len(statement.entries),
            skipped_pending_entries=statement.pending_entries_skipped,
        )
        self.bank = AccountRef.bank(self.iban)
        self.suspense_account = AccountRef.suspense()
        self.explanations: dict[tuple[bool, str | None, str | None], tuple[str, str]] = {}
        self.unknown_debits: list[tuple[int, str]] = []  # (cents, reason)
        self.unknown_returns: list[tuple[int, str]] = []

    # -------------------------------------------------------------- checks

    def _fail(self, error_class: type[StatementError], message: str, **where: Any) -> None:
        raise error_class(
            message,
            filename=self.statement.source_filename,
            line=where.get("line", self.statement.line),
            element=where.get("element"),
        )

    def run(self) -> StatementReport:
        statement = self.statement
        if len(statement.entries) > ENTRIES_PER_STATEMENT_MAX:
            self._fail(
                StatementConflictError,
                f"the statement has {len(statement.entries)} entries; the maximum is "
                f"{ENTRIES_PER_STATEMENT_MAX}",
                element="Stmt",
            )
        # Keys and fingerprints are hashes of many fields: compute them once per entry.
        self.keys = {id(entry): entry.dedup_key for entry in statement.entries}
        self.fingerprints = {id(entry): entry.fingerprint for entry in statement.entries}
        for entry in statement.entries:
            if len(self.keys[id(entry)]) > DEDUP_KEY_LENGTH_MAX:
                self._fail(
                    EntryConflictError,
                    f"the entry's key is longer than {DEDUP_KEY_LENGTH_MAX} characters",
                    line=entry.line,
                    element=_entry_element(statement, entry),
                )
        existing = self._same_statement()
        new_entries, duplicates = self._classify()
        self.report.duplicate_entries = duplicates
        if existing is not None:
            if new_entries:
                first = new_entries[0]
                self._fail(
                    StatementConflictError,
                    f"statement {statement.statement_id} of {self.iban} was imported before "
                    f"(file {existing.source_filename!r}, {existing.imported_at:%Y-%m-%d}), "
                    f"but this copy has {len(new_entries)} entries it did not have",
                    line=first.line,
                    element=_entry_element(statement, first),
                )
            self.report.duplicate_statement = True
            self.report.statement_row_id = existing.id
            self.report.gap_cents = existing.gap_cents
            return self.report
        previous, first_opening_date = self._previous_statement()
        if first_opening_date is not None and statement.opening_balance_date < first_opening_date:
            self._fail(
                StatementTooOldError,
                f"the statement starts on {statement.opening_balance_date}, before the first "
                f"statement imported for {self.iban} (from {first_opening_date}); its money "
                "is in the opening balance booked with that first statement",
                element="Stmt",
            )
        record = BankStatementRecord(
            bank_account_id=self.bank_account_id,
            account_iban=self.iban,
            statement_id=statement.statement_id,
            message_id=statement.message_id,
            sequence_number=statement.sequence_number,
            format=str(statement.format),
            opening_balance_cents=statement.opening_balance_cents,
            opening_balance_date=statement.opening_balance_date,
            closing_balance_cents=statement.closing_balance_cents,
            closing_balance_date=statement.closing_balance_date,
            created_by_bank_at=statement.created_at,
            previous_statement_id=previous.id if previous is not None else None,
            gap_cents=(
                statement.opening_balance_cents - previous.closing_balance_cents
                if previous is not None
                else None
            ),
            source_filename=_cut(statement.source_filename, 255) or "upload",
            file_sha256=self.file_report.file_sha256,
            imported_by=self.imported_by,
            booked_entries=len(statement.entries),
            new_entries=len(new_entries),
            duplicate_entries=duplicates,
            skipped_pending_entries=statement.pending_entries_skipped,
            matched_entries=0,
            settled_entries=0,
            returned_entries=0,
            suspense_entries=0,
            ignored_entries=0,
        )
        self.session.add(record)
        self.session.flush()
        self.record = record
        self.record_id: int = record.id  # read per entry row: not through the ORM attribute
        self.report.statement_row_id = record.id
        self.report.gap_cents = record.gap_cents
        self.report.new_entries = len(new_entries)
        if previous is None and first_opening_date is None:
            self._book_opening_balance()
        self._book(new_entries)
        self._raise_alerts(previous)
        for name in (
            "matched_entries",
            "settled_entries",
            "returned_entries",
            "suspense_entries",
            "ignored_entries",
        ):
            setattr(record, name, getattr(self.report, name))
        self.session.flush()
        return self.report

    def _same_statement(self) -> BankStatementRecord | None:
        statement = self.statement
        return self.session.scalar(
            select(BankStatementRecord).where(
                BankStatementRecord.account_iban == self.iban,
                BankStatementRecord.statement_id == statement.statement_id,
                BankStatementRecord.closing_balance_date == statement.closing_balance_date,
                BankStatementRecord.closing_balance_cents == statement.closing_balance_cents,
            )
        )

    def _previous_statement(self) -> tuple[BankStatementRecord | None, dt.date | None]:
        """The statement this one follows and the opening date of the account's first
        statement.

        The previous statement is the last one that started before this one and closed
        on or before this one's opening date (banks date an opening balance either on the
        statement's first day or on the previous closing day). A statement that starts on
        the same day as an earlier one overlaps it rather than follows it."""
        opening_date = self.statement.opening_balance_date
        previous = self.session.scalar(
            select(BankStatementRecord)
            .where(
                BankStatementRecord.account_iban == self.iban,
                BankStatementRecord.closing_balance_date <= opening_date,
                BankStatementRecord.opening_balance_date < opening_date,
            )
            .order_by(
                BankStatementRecord.closing_balance_date.desc(), BankStatementRecord.id.desc()
            )
            .limit(1)
        )
        first_opening = self.session.scalar(
            select(func.min(BankStatementRecord.opening_balance_date)).where(
                BankStatementRecord.account_iban == self.iban
            )
        )
        return previous, first_opening

    def _classify(self) -> tuple[list[BankEntry], int]:
        """New entries, and how many are duplicates. Refuses a reused key (conflict)."""
        statement = self.statement
        keys = [self.keys[id(entry)] for entry in statement.entries]
        if self.session.autoflush:  # the lookup goes to the driver, past the ORM's autoflush
            self.session.flush()
        # Straight to the driver (one `= ANY` query on PostgreSQL): through the ORM each
        # of the keys was bound and processed one by one.
        known: dict[str, str] = dict(select_in(self.session.connection(), _KNOWN_ENTRIES, keys))
        new: list[BankEntry] = []
        duplicates = 0
        conflicts: list[BankEntry] = []
        for entry in statement.entries:
            key = self.keys[id(entry)]
            fingerprint = self.fingerprints[id(entry)]
            stored = known.get(key, self.seen.get(key))
            if stored is None:
                new.append(entry)
                self.seen[key] = fingerprint
            elif stored == fingerprint:
                duplicates += 1
            else:
                conflicts.append(entry)
        if conflicts:
            first = conflicts[0]
            reference = first.bank_reference or first.dedup_key
            details = tuple(
                f"line {entry.line}: {entry.bank_reference or entry.dedup_key}"
                for entry in conflicts[1:20]
            )
            raise EntryConflictError(
                f"bank entry {reference!r} was imported before with other content "
                f"(amount, dates, counterparty or description differ); the bank reused a "
                f"reference — {len(conflicts)} entr{'y' if len(conflicts) == 1 else 'ies'} "
                "like this; ask the bank",
                filename=statement.source_filename,
                line=first.line,
                element=_entry_element(statement, first),
                details=details,
            )
        return new, duplicates

    # -------------------------------------------------------------- booking

    def _ledger_bank_cents(self) -> int:
        total = self.session.scalar(
            select(func.coalesce(func.sum(PostingRecord.amount_cents), 0))
            .join(LedgerAccount, LedgerAccount.id == PostingRecord.account_id)
            .where(LedgerAccount.code == self.bank.label())
        )
        return int(total or 0)

    def _book_opening_balance(self) -> None:
        """The account's first statement: what the bank holds at its start and the ledger
        does not know yet (usually the whole opening balance) goes to suspense."""
        opening = self.statement.opening_balance_cents
        ledger_cents = self._ledger_bank_cents()
        cents = opening - ledger_cents
        if cents == 0:
            return
        key = journal_key(f"opening|{self.iban}|{self.statement.statement_id}")
        explanation, explanation_en = opening_balance_explanation(
            self.iban, self.statement.statement_id, cents
        )
        postings: list[Posting] = []
        remaining = cents
        while remaining:  # a posting is at most AMOUNT_CENTS_MAX; a bank balance may be more
            part = max(-AMOUNT_CENTS_MAX, min(AMOUNT_CENTS_MAX, remaining))
            postings += [Posting(self.bank, part), Posting(AccountRef.suspense(), -part)]
            remaining -= part
        entry = JournalEntry(
            idempotency_key=key,
            booking_date=self.statement.opening_balance_date,
            reason_code=REASON_OPENING_BALANCE,
            explanation=explanation,
            explanation_en=explanation_en,
            postings=tuple(postings),
        )
        posted = post_entries(self.session, [entry], created_by=self.imported_by)
        self.report.journal_entries_created += sum(1 for item in posted if item.created)
        self.report.opening_balance_booked_cents = cents
        self.record.opening_entry_key = key
        _, created = raise_alert(
            self.session,
            dedup_key=f"bank-import:opening:{self.iban}",
            participant_id=None,
            kind="bank.opening_balance",
            severity="warning",
            message_nl=(
                f"Eerste afschrift van rekening {self.iban}: het beginsaldo is "
                f"{euro_nl(opening)}, het grootboek kende "
                f"{euro_nl(ledger_cents)}. Het verschil van "
                f"{euro_nl(cents)} staat op de tussenrekening. Wijs het toe."
            ),
            message_en=(
                f"First statement of account {self.iban}: its opening balance is EUR "
                f"{euro_plain(opening)}, the ledger knew EUR {euro_plain(ledger_cents)}. "
                f"The difference of EUR {euro_plain(cents)} is held in suspense. Assign it."
            ),
        )
        self.report.alerts_raised += int(created)

    def _book(self, entries: Sequence[BankEntry]) -> None:
        if not entries:
            return
        with collector_paused(len(entries)):
            lookups = _Lookups.load(self.session, entries, self.incomes)
        sequence_of = {id(entry): index for index, entry in enumerate(self.statement.entries, 1)}
        for chunk in _chunks(entries, ENTRIES_PER_CHUNK):
            with collector_paused(len(chunk)):
                self._book_chunk(chunk, sequence_of, lookups)

    def _book_chunk(
        self, chunk: Sequence[BankEntry], sequence_of: dict[int, int], lookups: _Lookups
    ) -> None:
        journal: list[JournalEntry] = []
        rows: list[tuple[Any, ...]] = []
        now = utcnow()
        keys, fingerprints = self.keys, self.fingerprints
        for entry in chunk:
            ident = id(entry)
            outcome = _Outcome(keys[ident])
            self._handle(entry, outcome, lookups, journal)
            rows.append(self._row(entry, sequence_of[ident], fingerprints[ident], outcome, now))
        if journal:
            posted = post_entries(self.session, journal, created_by=self.imported_by)
            self.report.journal_entries_created += sum(1 for item in posted if item.created)
            # Incomes matched now resolve their missing-income alerts (issue 8).
            resolve_income_missing(
                self.session, _incomes_received(journal), resolved_by="bankimport"
            )
        insert_bank_entries(self.session.connection(), rows)

    def _row(
        self,
        entry: BankEntry,
        sequence: int,
        fingerprint: str,
        outcome: _Outcome,
        now: dt.datetime,
    ) -> tuple[Any, ...]:
        """The entry's `bank_entry` row, in `BANK_ENTRY_COLUMNS` order (a tuple built
        once: a dict per row, updated and taken apart again, cost more)."""
        assert entry.booking_date is not None  # booked entries always have one
        transactions = None
        if len(entry.transactions) > 1 or entry.batch_payment_information_id:
            transactions = [
                {
                    "amount_cents": tx.amount_cents,
                    "end_to_end_id": tx.end_to_end_id,
                    "counterparty_name": tx.counterparty_name,
                    "counterparty_iban": tx.counterparty_iban,
                    "remittance_unstructured": tx.remittance_unstructured,
                    "creditor_reference": tx.creditor_reference,
                    "return_reason_code": tx.return_reason_code,
                }
                for tx in entry.transactions
            ]
        # Cut to the column widths (inline: a function call per field cost more than
        # the rest of the row).
        reference = entry.bank_reference
        name = entry.counterparty_name
        iban = entry.counterparty_iban
        account = entry.counterparty_account
        bic = entry.counterparty_bic
        creditor_reference = entry.creditor_reference
        end_to_end_id = entry.end_to_end_id
        batch_id = entry.batch_payment_information_id
        reason_code = entry.return_reason_code
        code = entry.bank_transaction_code
        return (
            self.record_id,  # statement_id
            sequence,
            self.iban,  # account_iban
            outcome.dedup_key,
            fingerprint,
            entry.amount_cents,
            _CREDIT_DEBIT[entry.credit_debit],
            entry.booking_date,
            entry.value_date,
            reference[:140] if reference else reference,  # bank_reference
            name[:140] if name else name,  # counterparty_name
            iban[:34] if iban else iban,  # counterparty_iban
            account[:70] if account else account,  # counterparty_account
            bic[:11] if bic else bic,  # counterparty_bic
            entry.remittance_unstructured,
            creditor_reference[:140] if creditor_reference else creditor_reference,
            end_to_end_id[:140] if end_to_end_id else end_to_end_id,
            batch_id[:140] if batch_id else batch_id,  # batch_payment_information_id
            entry.batch_transaction_count,
            transactions,
            entry.reversal,
            reason_code[:35] if reason_code else reason_code,  # return_reason_code
            code[:70] if code else code,  # bank_transaction_code
            entry.additional_info,
            entry.line,  # source_line
            outcome.status,
            outcome.status_reason,
            outcome.participant_id,
            outcome.agreement_id,
            outcome.journal_entry_key,
            outcome.payment_instruction_count,
            now,  # imported_at
        )

    def _handle(
        self,
        entry: BankEntry,
        outcome: _Outcome,
        lookups: _Lookups,
        journal: list[JournalEntry],
    ) -> None:
        if entry.amount_cents == 0:
            outcome.status = "ignored"
            outcome.status_reason = "the bank booked an amount of zero"
            self.report.ignored_entries += 1
            return
        if entry.credit_debit is CreditDebit.CREDIT:
            if entry.return_reason_code or entry.reversal:
                self._return(entry, outcome, lookups, journal)
                return
            self._income(entry, outcome, lookups, journal)
            return
        if entry.reversal:
            self._suspense(
                entry, outcome, journal, "the bank reversed an earlier credit (reversal indicator)"
            )
            return
        self._settle(entry, outcome, lookups, journal)

    def _apply_payment(
        self, entry: BankEntry, outcome: _Outcome, result: SettlementResult, status: str
    ) -> None:
        keys = result.journal_entry_keys or tuple(
            f"payments:{'settle' if status == 'settled' else 'return'}:{e2e}"
            for e2e in ([entry.end_to_end_id] if entry.end_to_end_id else [])
        )
        outcome.status = status
        outcome.journal_entry_key = keys[0] if keys else None
        outcome.payment_instruction_count = len(result.instruction_ids)
        outcome.status_reason = f"{status} {len(result.instruction_ids)} payment(s)" + (
            " (applied before)" if result.replayed else ""
        )
        self.report.journal_entries_created += result.entries_created
        self.report.alerts_raised += result.alerts_raised
        if status == "settled":
            self.report.settled_entries += 1
        else:
            self.report.returned_entries += 1

    def _settle(
        self,
        entry: BankEntry,
        outcome: _Outcome,
        lookups: _Lookups,
        journal: list[JournalEntry],
    ) -> None:
        assert entry.booking_date is not None
        reasons: list[str] = []
        batch_id = entry.batch_payment_information_id
        if batch_id:
            if batch_id in lookups.batches:
                try:
                    result = settle_batch_booking(
                        self.session,
                        pmt_inf_id=batch_id,
                        amount_cents=entry.amount_cents,
                        bank_iban=self.iban,
                        booking_date=entry.booking_date,
                        bank_reference=entry.bank_reference,
                    )
                except PaymentMatchError as error:
                    reasons.append(f"batch {batch_id}: {error.detail}")
                else:
                    self._apply_payment(entry, outcome, result, "settled")
                    return
            else:
                reasons.append(f"no payment batch has PmtInfId {batch_id!r}")
            settled = self._settle_transactions(entry, lookups, reasons)
            if settled is not None:
                self._apply_payment(entry, outcome, settled, "settled")
                return
        elif entry.end_to_end_id and entry.end_to_end_id in lookups.instructions:
            try:
                result = settle_by_end_to_end_id(
                    self.session,
                    end_to_end_id=entry.end_to_end_id,
                    amount_cents=entry.amount_cents,
                    bank_iban=self.iban,
                    booking_date=entry.booking_date,
                    bank_reference=entry.bank_reference,
                )
            except PaymentMatchError as error:
                reasons.append(error.detail)
            else:
                self._apply_payment(entry, outcome, result, "settled")
                return
        elif entry.end_to_end_id:
            reasons.append(f"no payment has EndToEndId {entry.end_to_end_id!r}")
        elif len(entry.transactions) > 1:
            settled = self._settle_transactions(entry, lookups, reasons)
            if settled is not None:
                self._apply_payment(entry, outcome, settled, "settled")
                return
        else:
            reasons.append("the debit names no EndToEndId or batch of ours")
        self._suspense(entry, outcome, journal, "; ".join(reasons))

    def _settle_transactions(
        self, entry: BankEntry, lookups: _Lookups, reasons: list[str]
    ) -> SettlementResult | None:
        """A batch booking we know only by its transactions: each must settle one of our
        exported payments by EndToEndId, all of them or none."""
        assert entry.booking_date is not None
        transactions = entry.transactions
        ids = [tx.end_to_end_id for tx in transactions]
        if not transactions or any(e2e is None or e2e not in lookups.instructions for e2e in ids):
            reasons.append("its transactions do not all name a payment of ours")
            return None
        if any(tx.amount_cents is None for tx in transactions) or (
            sum(tx.amount_cents or 0 for tx in transactions) != entry.amount_cents
        ):
            reasons.append("its transactions do not add up to the entry's amount")
            return None
        results: list[SettlementResult] = []
        try:
            with self.session.begin_nested():
                for tx in transactions:
                    assert tx.end_to_end_id is not None and tx.amount_cents is not None
                    results.append(
                        settle_by_end_to_end_id(
                            self.session,
                            end_to_end_id=tx.end_to_end_id,
                            amount_cents=tx.amount_cents,
                            bank_iban=self.iban,
                            booking_date=entry.booking_date,
                            bank_reference=entry.bank_reference,
                        )
                    )
        except PaymentMatchError as error:
            reasons.append(f"by EndToEndId: {error.detail}")
            return None
        return SettlementResult(
            "settled",
            tuple(i for result in results for i in result.instruction_ids),
            None,
            entry.amount_cents,
            sum(result.entries_created for result in results),
            all(result.replayed for result in results),
            tuple(key for result in results for key in result.journal_entry_keys),
        )

    def _return(
        self,
        entry: BankEntry,
        outcome: _Outcome,
        lookups: _Lookups,
        journal: list[JournalEntry],
    ) -> None:
        assert entry.booking_date is not None
        e2e = entry.end_to_end_id
        if e2e and e2e in lookups.instructions:
            try:
                result = return_payment(
                    self.session,
                    end_to_end_id=e2e,
                    amount_cents=entry.amount_cents,
                    reason_code=entry.return_reason_code,
                    bank_iban=self.iban,
                    booking_date=entry.booking_date,
                    bank_reference=entry.bank_reference,
                )
            except PaymentMatchError as error:
                reason = f"return of {e2e}: {error.detail}"
            else:
                self._apply_payment(entry, outcome, result, "returned")
                return
        elif e2e:
            reason = f"a returned payment, but no payment of ours has EndToEndId {e2e!r}"
        else:
            reason = "a returned payment without EndToEndId"
        self.unknown_returns.append((entry.amount_cents, reason))
        self._suspense(entry, outcome, journal, reason, alert=False)

    def _income(
        self,
        entry: BankEntry,
        outcome: _Outcome,
        lookups: _Lookups,
        journal: list[JournalEntry],
    ) -> None:
        assert entry.booking_date is not None
        result = lookups.expectations.match(
            payer_iban=entry.counterparty_iban,
            amount_cents=entry.amount_cents,
            booking_date=entry.booking_date,
            text_normalised=searchable_text(entry),
        )
        if result.expectation is None or result.expected_date is None:
            self._suspense(entry, outcome, journal, result.reason)
            return
        expectation = result.expectation
        key = journal_key(outcome.dedup_key)
        explanation, explanation_en = income_explanation(
            expectation, result.expected_date, entry.booking_date
        )
        journal.append(
            JournalEntry(
                idempotency_key=key,
                booking_date=entry.booking_date,
                reason_code=REASON_INCOME_MATCHED,
                explanation=explanation,
                explanation_en=explanation_en,
                postings=(
                    Posting(self.bank, entry.amount_cents),
                    Posting(
                        AccountRef.of_participant(
                            expectation.participant_id, AccountKind.AVAILABLE
                        ),
                        -entry.amount_cents,
                    ),
                ),
                metadata=income_metadata(expectation.agreement_id, result.expected_date),
            )
        )
        outcome.status = "matched_income"
        outcome.status_reason = None
        outcome.participant_id = expectation.participant_id
        outcome.agreement_id = expectation.agreement_id
        outcome.journal_entry_key = key
        self.report.matched_entries += 1

    def _suspense(
        self,
        entry: BankEntry,
        outcome: _Outcome,
        journal: list[JournalEntry],
        reason: str,
        *,
        alert: bool = True,
    ) -> None:
        assert entry.booking_date is not None
        credit = entry.credit_debit is CreditDebit.CREDIT
        account = entry.counterparty_iban or entry.counterparty_account
        # A statement has many entries of the same counterparty: each text made once.
        explained = (credit, entry.counterparty_name, account)
        explanations = self.explanations.get(explained)
        if explanations is None:
            explain = suspense_credit_explanation if credit else suspense_debit_explanation
            explanations = self.explanations[explained] = explain(entry.counterparty_name, account)
        explanation, explanation_en = explanations
        if not credit and alert:
            self.unknown_debits.append((entry.amount_cents, reason))
        key = journal_key(outcome.dedup_key)
        journal.append(
            JournalEntry(
                idempotency_key=key,
                booking_date=entry.booking_date,
                reason_code=REASON_SUSPENSE,
                explanation=explanation,
                explanation_en=explanation_en,
                postings=(
                    Posting(self.bank, entry.signed_cents),
                    Posting(self.suspense_account, -entry.signed_cents),
                ),
            )
        )
        outcome.status = "suspense"
        outcome.status_reason = _cut(reason, 300)
        outcome.journal_entry_key = key
        self.report.suspense_entries += 1

    # -------------------------------------------------------------- alerts

    def _raise_alerts(self, previous: BankStatementRecord | None) -> None:
        record = self.record
        statement = self.statement
        gap = record.gap_cents
        if previous is not None and gap:
            self._alert(
                f"bank-import:gap:{record.id}",
                "bank.statement_gap",
                "critical",
                (
                    f"Afschrift {statement.statement_id} van {self.iban} begint met "
                    f"{euro_nl(statement.opening_balance_cents)}, maar het vorige "
                    f"afschrift ({previous.statement_id}) eindigde met "
                    f"{euro_nl(previous.closing_balance_cents)}: verschil "
                    f"{euro_nl(gap)}. Er ontbreekt waarschijnlijk een afschrift; "
                    "importeer het."
                ),
                (
                    f"Statement {statement.statement_id} of {self.iban} opens at EUR "
                    f"{euro_plain(statement.opening_balance_cents)}, but the previous statement "
                    f"({previous.statement_id}) closed at EUR "
                    f"{euro_plain(previous.closing_balance_cents)}: a gap of EUR "
                    f"{euro_plain(gap)}. A statement is probably missing; import it."
                ),
            )
        for kind, items, what_nl, what_en in (
            (
                "bank.unknown_debits",
                self.unknown_debits,
                "afschrijving(en) die geen betaling van ons zijn",
                "debit(s) that are not payments of ours",
            ),
            (
                "bank.unknown_returns",
                self.unknown_returns,
                "teruggekomen betaling(en) die we niet kennen",
                "returned payment(s) we do not recognise",
            ),
        ):
            if not items:
                continue
            total = sum(cents for cents, _ in items)
            self._alert(
                f"bank-import:{kind.removeprefix('bank.')}:{record.id}",
                kind,
                "warning",
                (
                    f"Afschrift {statement.statement_id} van {self.iban}: {len(items)} "
                    f"{what_nl}, samen {euro_nl(total)}. Ze staan op de "
                    f"tussenrekening. Eerste: {items[0][1]}"
                ),
                (
                    f"Statement {statement.statement_id} of {self.iban}: {len(items)} "
                    f"{what_en}, EUR {euro_plain(total)} in total, held in suspense. "
                    f"First: {items[0][1]}"
                ),
            )

    def _alert(self, key: str, kind: str, severity: str, message_nl: str, message_en: str) -> None:
        _, created = raise_alert(
            self.session,
            dedup_key=key,
            participant_id=None,
            kind=kind,
            severity=severity,
            message_nl=message_nl,
            message_en=message_en,
        )
        self.report.alerts_raised += int(created)


def searchable_text(entry: BankEntry) -> str:
    """What the search terms are looked for in: remittance and structured reference
    (MT940 without a /REMI/ part: the whole :86: text)."""
    if entry.remittance_unstructured or entry.creditor_reference:
        return normalise_text(entry.remittance_unstructured, entry.creditor_reference)
    return normalise_text(entry.additional_info)


# ---------------------------------------------------------------------- prefetching


@dataclass
class _Lookups:
    """What one statement's entries need from the database, fetched in bulk."""

    instructions: frozenset[str]
    """EndToEndIds (named by the entries) of payment instructions of ours."""
    batches: frozenset[str]
    """PmtInfIds (named by the entries) of payment batches of ours."""
    expectations: ExpectationIndex

    @classmethod
    def load(
        cls, session: Session, entries: Sequence[BankEntry], incomes: _FileExpectations
    ) -> _Lookups:
        end_to_end_ids: set[str] = set()
        batch_ids: set[str] = set()
        payers: set[str] = set()
        first_day: dt.date | None = None
        last_day: dt.date | None = None
        for entry in entries:
            credit = entry.credit_debit is CreditDebit.CREDIT
            if credit and not (entry.return_reason_code or entry.reversal):
                if entry.counterparty_iban:
                    payers.add(entry.counterparty_iban)
                    day = entry.booking_date
                    if day is not None:
                        first_day = day if first_day is None else min(first_day, day)
                        last_day = day if last_day is None else max(last_day, day)
                continue
            if entry.end_to_end_id:
                end_to_end_ids.add(entry.end_to_end_id)
            if entry.batch_payment_information_id:
                batch_ids.add(entry.batch_payment_information_id)
            end_to_end_ids.update(tx.end_to_end_id for tx in entry.transactions if tx.end_to_end_id)
        if payers and first_day is not None and last_day is not None:
            expectations = incomes.index(session, payers, first_day, last_day)
        else:
            expectations = ExpectationIndex({})
        return cls(
            instructions=frozenset(_existing(session, _OUR_END_TO_END_IDS, end_to_end_ids)),
            batches=frozenset(_existing(session, _OUR_BATCHES, batch_ids)),
            expectations=expectations,
        )


class _FileExpectations:
    """The income expectations of a file's payers, read once for all its statements.

    A year's file is twelve statements of the same payers; read per statement, the
    expectations (a query and a validated agreement each) cost ~4 µs per entry
    (docs/performance.md). So a payer's expectations are read once for a horizon: the
    file's first to last balance date when its statements are known up front (at most
    `HORIZON_DAYS_MAX` apart), else (`open_ended`: a file read while it is booked) from
    the first day of the first statement on, `HORIZON_DAYS_MAX` long. That is a
    superset of what one statement's window reads, and the extra ones are not in force
    on any booking date of that statement: matching counts nothing for them, and the
    index is used `within` the statement's dates, so a payer with only such agreements
    is "unknown" as before: every match and every reason is the same. A plan version
    another transaction commits while a file is imported is seen from the next file on
    (as before, from the next statement on). A statement outside the horizon reads its
    own window, as without one."""

    HORIZON_DAYS_MAX = 400

    def __init__(
        self, horizon: tuple[dt.date, dt.date] | None = None, *, open_ended: bool = False
    ) -> None:
        if horizon is not None and (horizon[1] - horizon[0]).days > self.HORIZON_DAYS_MAX:
            horizon = None
        self.horizon = horizon
        self.open_ended = open_ended and horizon is None
        self.by_payer: dict[str, list[IncomeExpectation]] = {}
        self.payers_read: set[str] = set()
        self.last_index: ExpectationIndex | None = None

    @classmethod
    def of(cls, statements: Sequence[Statement]) -> _FileExpectations:
        if not statements:
            return cls()
        return cls(
            (
                min(statement.opening_balance_date for statement in statements),
                max(statement.closing_balance_date for statement in statements),
            )
        )

    def index(
        self, session: Session, payers: set[str], first_day: dt.date, last_day: dt.date
    ) -> ExpectationIndex:
        if self.open_ended:
            self.open_ended = False
            self.horizon = (first_day, first_day + dt.timedelta(days=self.HORIZON_DAYS_MAX))
        horizon = self.horizon
        if horizon is None or first_day < horizon[0] or last_day > horizon[1]:
            return ExpectationIndex(
                income_expectations_for_payers(session, payers, start=first_day, end=last_day)
            )
        missing = payers - self.payers_read
        if missing or self.last_index is None:
            if missing:
                self.by_payer.update(
                    income_expectations_for_payers(
                        session, missing, start=horizon[0], end=horizon[1]
                    )
                )
                self.payers_read |= missing
            # Payers of earlier statements stay in the index: matching looks up only
            # the payer of the entry at hand.
            self.last_index = ExpectationIndex(self.by_payer)
        return self.last_index.within(first_day, last_day)


_OUR_END_TO_END_IDS = "SELECT end_to_end_id FROM payment_instruction WHERE end_to_end_id {in}"
_OUR_BATCHES = "SELECT pmt_inf_id FROM payment_batch WHERE pmt_inf_id {in}"


def _existing(session: Session, statement: str, values: Iterable[str]) -> set[str]:
    """Which of `values` the statement ("SELECT column ... {in}") finds, straight to
    the driver."""
    if session.autoflush:  # past the ORM's autoflush
        session.flush()
    return {str(row[0]) for row in select_in(session.connection(), statement, sorted(values))}


# ---------------------------------------------------------------------- storing entries

BANK_ENTRY_COLUMNS = (
    "statement_id",
    "sequence",
    "account_iban",
    "dedup_key",
    "fingerprint",
    "amount_cents",
    "credit_debit",
    "booking_date",
    "value_date",
    "bank_reference",
    "counterparty_name",
    "counterparty_iban",
    "counterparty_account",
    "counterparty_bic",
    "remittance_unstructured",
    "creditor_reference",
    "end_to_end_id",
    "batch_payment_information_id",
    "batch_transaction_count",
    "transactions",
    "reversal",
    "return_reason_code",
    "bank_transaction_code",
    "additional_info",
    "source_line",
    "status",
    "status_reason",
    "participant_id",
    "agreement_id",
    "journal_entry_key",
    "payment_instruction_count",
    "imported_at",
)
"""Every column `_StatementImport._row` fills (all but the id)."""


def insert_bank_entries(connection: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Store bank entry rows (tuples in `BANK_ENTRY_COLUMNS` order) in bulk, straight
    to the driver (backend.ledger_store.driver: converted by the columns' own SQLAlchemy
    processors, so stored exactly as a Core insert stores them). Through Core every
    row's parameters were built and processed one by one: a third of the import's
    database time."""
    insert_rows(connection, _BANK_ENTRY_TABLE, BANK_ENTRY_COLUMNS, rows)
