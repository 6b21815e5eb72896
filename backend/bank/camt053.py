"""CAMT.053 reader for camt.053.001.02 and camt.053.001.08, namespace-aware.

One streaming pass over the file with lxml ``iterparse``: the parser validates against
the matching ISO 20022 XSD (libxml2, via `etree.XMLSchema`) while we read the entries,
and clears each entry once read so memory stays flat for large statements.

Schema validation comes first: nothing is returned unless the whole file is valid, and
a schema error wins over any problem the reading found. libxml2 reports no line numbers
while validating a stream (and drops "premature end of data"), so for a refused file the
document is read once more, each entry validated on its own, to name line and element.
"""

from __future__ import annotations

import importlib.resources
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from lxml import etree

from backend.bank.errors import SchemaViolationError, StatementError, UnsupportedFormatError
from backend.bank.statement import (
    BOOKED,
    BankEntry,
    CreditDebit,
    Statement,
    StatementFormat,
    TransactionDetails,
    check_balances,
    valid_iban,
)
from backend.bank.xml_safety import (
    HARDENED_PARSER_OPTIONS,
    StatementSource,
    check_xml_prolog,
    inspect_root,
    iterparse_hardened,
    split_tag,
    xml_syntax_error,
)
from backend.collector import collector_paused
from ledger import AMOUNT_CENTS_MAX, Money, MoneyError

NAMESPACES: dict[StatementFormat, str] = {
    StatementFormat.CAMT053_001_02: "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02",
    StatementFormat.CAMT053_001_08: "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08",
}
VERSIONS_BY_NAMESPACE = {namespace: version for version, namespace in NAMESPACES.items()}
_SCHEMA_FILES = {
    StatementFormat.CAMT053_001_02: "camt.053.001.02.xsd",
    StatementFormat.CAMT053_001_08: "camt.053.001.08.xsd",
}
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
SCHEMA_ERRORS_REPORTED_MAX = 20

_thread_local = threading.local()


def camt053_schema(version: StatementFormat) -> etree.XMLSchema:
    """The XSD validator for `version`, loaded once per thread (validators keep state)."""
    cache: dict[StatementFormat, etree.XMLSchema] | None = getattr(_thread_local, "schemas", None)
    if cache is None:
        cache = {}
        _thread_local.schemas = cache
    schema = cache.get(version)
    if schema is None:
        resource = importlib.resources.files("backend").joinpath("schemas", _SCHEMA_FILES[version])
        with resource.open("rb") as stream:
            schema = etree.XMLSchema(etree.parse(stream))
        cache[version] = schema
    return schema


def read_camt053(
    source: StatementSource,
    *,
    on_entry: Callable[[BankEntry], None] | None = None,
    on_statement: Callable[[Statement], None] | None = None,
) -> list[Statement]:
    """Every statement in a CAMT.053 file, or a StatementError naming line and element.

    `on_entry` is called with each entry (booked or not) as soon as it is read, and
    `on_statement` with each statement once its ``Stmt`` element is read (the import
    reads in a second process and books a statement while the next one is read). What
    is handed over is not final: the file may still be refused further on, and then the
    error is raised here as always."""
    check_xml_prolog(source.head, filename=source.filename)
    root = inspect_root(source)
    version = VERSIONS_BY_NAMESPACE.get(root.namespace or "")
    if root.local_name != "Document" or version is None:
        expected = " or ".join(NAMESPACES.values())
        found = f"{{{root.namespace}}}{root.local_name}" if root.namespace else root.local_name
        raise UnsupportedFormatError(
            f"the root element is {found}; expected a CAMT.053 Document in namespace {expected}",
            filename=source.filename,
            line=root.line,
            element=root.local_name,
        )
    schema = camt053_schema(version)
    reader = _CamtReader(version, source.filename, on_entry, on_statement)
    tag_document = f"{{{NAMESPACES[version]}}}Document"
    document_complete = False
    # ~600 bytes per entry: a file of a few hundred entries reads with the collector on.
    with collector_paused(source.size // 600), source.open() as stream:
        try:
            for _event, element in iterparse_hardened(
                stream, tag=[reader.tag_entry, reader.tag_statement, tag_document], schema=schema
            ):
                if element.tag == tag_document:
                    document_complete = element.getparent() is None
                else:
                    reader.handle(element)
        except etree.XMLSyntaxError as error:
            raise _locate_error(source, version, error) from None
    # libxml2's streaming validation swallows "premature end of data": a truncated file
    # would look like a shorter statement. Only the end of the root element proves the end.
    if not document_complete:
        raise _locate_error(source, version, None)
    if reader.failure is not None:
        raise reader.failure
    return reader.statements


class _Problem(NamedTuple):
    line: int | None
    element: str | None
    message: str


def _locate_error(
    source: StatementSource, version: StatementFormat, error: etree.XMLSyntaxError | None
) -> StatementError:
    """Name line and element of the first problems, after the streaming pass failed.

    Validating the whole document as a tree would name them too, but lxml computes an
    XPath for every error, which walks all preceding siblings: 100,000 bad entries take
    minutes. So each entry is validated on its own (against the entry type) and the rest
    of the document, without its entries, once at the end: linear, and a few per unit.
    """
    problems, listed_all = _schema_problems(source, version)
    if not problems and error is not None:
        # An error that needs the context of the entries (an entry out of place): named
        # as the streaming validator saw it, without a line. (The exception's error_log may
        # hold entries of earlier parses in this thread; its own message is this parse's.)
        message = str(error.msg or "")
        name = re.match(r"^Element '(?:\{[^}]*\})?([^']+)'", message)
        if name is not None:
            problems.append(_Problem(None, name.group(1), _schema_message(message)))
    if not problems:
        if error is None:
            return UnsupportedFormatError(
                "the document ends before its root element is closed (truncated?)",
                filename=source.filename,
            )
        return xml_syntax_error(error, source.filename)
    problems.sort(key=lambda problem: problem.line or 0)
    first = problems[0]
    details = tuple(
        f"line {p.line}, element {p.element}: {p.message}"
        for p in problems[:SCHEMA_ERRORS_REPORTED_MAX]
    )
    more = len(problems) - 1
    if not listed_all:
        suffix = " (and more schema errors)"
    elif more:
        suffix = f" (and {more} more schema error{'s' if more != 1 else ''})"
    else:
        suffix = ""
    return SchemaViolationError(
        f"does not follow the {version.value} schema: {first.message}{suffix}",
        filename=source.filename,
        line=first.line,
        element=first.element,
        details=details,
    )


def _schema_problems(
    source: StatementSource, version: StatementFormat
) -> tuple[list[_Problem], bool]:
    """Schema errors with line and element; the flag says whether all were looked for."""
    namespace = NAMESPACES[version]
    tag_entry = f"{{{namespace}}}Ntry"
    tag_statement = f"{{{namespace}}}Stmt"
    entry_schema = camt053_entry_schema(version)
    problems: list[_Problem] = []
    listed_all = True
    with source.open() as stream:
        context = etree.iterparse(
            stream, events=("end",), tag=[tag_entry, tag_statement], **HARDENED_PARSER_OPTIONS
        )
        try:
            for _event, element in context:
                parent = element.getparent()
                if element.tag == tag_statement:
                    for leftover in list(element.iterchildren(tag_entry)):
                        element.remove(leftover)  # the cleared last entry
                    continue
                if parent is None or parent.tag != tag_statement:
                    continue
                if len(problems) >= SCHEMA_ERRORS_REPORTED_MAX:
                    listed_all = False
                else:
                    problems.extend(_validate_unit(entry_schema, element))
                element.clear(keep_tail=True)
                previous = element.getprevious()
                while previous is not None and previous.tag == tag_entry:
                    parent.remove(previous)
                    previous = element.getprevious()
        except etree.XMLSyntaxError as syntax_error:
            raise xml_syntax_error(syntax_error, source.filename) from None
        # What is left is the document without its entries: header, accounts, balances.
        if context.root is not None:
            problems.extend(_validate_unit(camt053_schema(version), context.root))
    return problems, listed_all


LOCATE_ELEMENTS_MAX = 5_000
"""Largest unit (one entry, or the document without entries) validated as a tree."""


def _validate_unit(schema: etree.XMLSchema, unit: Any) -> list[_Problem]:
    size = sum(1 for _ in unit.iter())
    if size > LOCATE_ELEMENTS_MAX:
        return [
            _Problem(
                unit.sourceline,
                element_path_of(unit),
                f"{size} elements are too many to check one by one; the file is refused",
            )
        ]
    if schema.validate(unit):
        return []
    problems: list[_Problem] = []
    for log_entry in schema.error_log:
        node = _node_at(unit, log_entry.path)
        problems.append(
            _Problem(
                log_entry.line or (node.sourceline if node is not None else None),
                element_path_of(node) if node is not None else None,
                _schema_message(log_entry.message),
            )
        )
    return problems


def _node_at(unit: Any, path: str | None) -> Any:
    """The element an error's XPath names; the path starts at `unit` (validated as root)."""
    if not path or not path.startswith("/*"):
        return None
    relative = "." + path[2:]
    try:
        found = unit.xpath(relative)
    except etree.XPathError:
        return None
    if isinstance(found, list) and found and isinstance(found[0], etree._Element):
        return found[0]
    return None


def camt053_entry_schema(version: StatementFormat) -> etree.XMLSchema:
    """The CAMT.053 schema plus a global ``Ntry`` element, to validate one entry on its own."""
    cache: dict[StatementFormat, etree.XMLSchema] | None = getattr(
        _thread_local, "entry_schemas", None
    )
    if cache is None:
        cache = {}
        _thread_local.entry_schemas = cache
    schema = cache.get(version)
    if schema is None:
        resource = importlib.resources.files("backend").joinpath("schemas", _SCHEMA_FILES[version])
        with resource.open("rb") as stream:
            document = etree.parse(stream)
        entry_type = (
            "ReportEntry10" if version is StatementFormat.CAMT053_001_08 else "ReportEntry2"
        )
        etree.SubElement(document.getroot(), f"{{{_XS}}}element", name="Ntry", type=entry_type)
        schema = etree.XMLSchema(document)
        cache[version] = schema
    return schema


_XS = "http://www.w3.org/2001/XMLSchema"


_NAMESPACE_IN_MESSAGE = re.compile(r"\{(?:urn|https?):[^{}\s]*\}")


def _schema_message(message: str) -> str:
    text = _NAMESPACE_IN_MESSAGE.sub("", message)
    text = re.sub(r"^Element '[^']*'(, attribute '[^']*')?: ", "", text)
    text = re.sub(r"^\[facet '[^']*'\] ", "", text).strip().rstrip(".")
    return text[:1].lower() + text[1:]


def element_path_of(element: Any) -> str:
    """``Ntry/NtryDtls/TxDtls/Amt``: the element's path below its Stmt (or below the root)."""
    names: list[str] = []
    node = element
    while node is not None:
        name = split_tag(node.tag)[1]
        if names and name in ("Stmt", "BkToCstmrStmt"):
            break
        names.append(name)
        node = node.getparent()
    if len(names) == 1 and node is not None and split_tag(node.tag)[1] == "Stmt":
        names.append("Stmt")
    return "/".join(reversed(names))


class _Party(NamedTuple):
    name: str | None
    iban: str | None
    account: str | None
    bic: str | None

    def is_empty(self) -> bool:
        return not (self.name or self.iban or self.account)


_NO_PARTY = _Party(None, None, None, None)


def _counterparty(
    debtor: _Party, creditor: _Party, credit_debit: CreditDebit, own_iban: str | None
) -> _Party:
    """The other side of an entry: the debtor of a credit, the creditor of a debit;
    the other one when that side is empty or is the municipality's own account."""
    candidates = (debtor, creditor) if credit_debit is CreditDebit.CREDIT else (creditor, debtor)
    for candidate in candidates:
        is_own = candidate.iban is not None and candidate.iban == own_iban
        if not candidate.is_empty() and not is_own:
            return candidate
    return _NO_PARTY


@dataclass(slots=True)
class _Header:
    statement_id: str
    account: str
    account_iban: str | None
    created_at: datetime | None
    sequence_number: str | None
    message_id: str | None
    line: int | None


_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:Z|[+-]\d{2}:\d{2})?$")
_DATE_TIME = re.compile(
    r"^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})?$"
)


def _provided(text: str | None) -> str | None:
    """None for absent, empty and ``NOTPROVIDED`` references."""
    if text is None:
        return None
    if text.replace(" ", "").upper() == "NOTPROVIDED":
        return None
    return text


class _CamtReader:
    """Turns Ntry and Stmt elements (end events) into BankEntry and Statement records."""

    def __init__(
        self,
        version: StatementFormat,
        filename: str,
        on_entry: Callable[[BankEntry], None] | None = None,
        on_statement: Callable[[Statement], None] | None = None,
    ) -> None:
        self.version = version
        self.on_entry = on_entry
        self.on_statement = on_statement
        self.v08 = version is StatementFormat.CAMT053_001_08
        self.namespace = NAMESPACES[version]
        self.filename = filename
        self.tag_entry = self._qualified("Ntry")
        self.tag_statement = self._qualified("Stmt")
        self.tag_group = self._qualified("BkToCstmrStmt")
        self.statements: list[Statement] = []
        self.failure: StatementError | None = None
        self._paths: dict[str, str] = {}
        self._prefix_length = len(self.namespace) + 2
        self._statement_element: Any = None
        self._header: _Header | None = None
        self._entries: list[BankEntry] = []
        self._skipped: list[BankEntry] = []
        self._occurrences: dict[str, int] = {}
        self._plans: dict[tuple[tuple[Any, ...], tuple[int, ...]], _EntryPlan] = {}
        self._dates: dict[str, date] = {}

    # --- element access ----------------------------------------------------------------

    def _qualified(self, path: str) -> str:
        return "/".join(f"{{{self.namespace}}}{part}" for part in path.split("/"))

    def q(self, path: str) -> str:
        qualified = self._paths.get(path)
        if qualified is None:
            qualified = self._paths[path] = self._qualified(path)
        return qualified

    def text(self, element: Any, path: str) -> str | None:
        if element is None:
            return None
        value = element.findtext(self.q(path))
        if value is None:
            return None
        value = value.strip()
        return value or None

    def error(self, message: str, element: Any) -> StatementError:
        return StatementError(
            message,
            filename=self.filename,
            line=element.sourceline if element is not None else None,
            element=element_path_of(element) if element is not None else None,
        )

    # --- events --------------------------------------------------------------------------

    def handle(self, element: Any) -> None:
        """One end event. After a failure only clears (the schema pass must still finish)."""
        parent = element.getparent()
        if element.tag == self.tag_entry:
            if parent is None or parent.tag != self.tag_statement:
                return  # an element named Ntry inside SplmtryData: not an entry
            if self.failure is None:
                try:
                    self._entry(element, parent)
                except StatementError as failure:
                    self.failure = failure
            element.clear(keep_tail=True)
            previous = element.getprevious()
            while previous is not None and previous.tag == self.tag_entry:
                parent.remove(previous)
                previous = element.getprevious()
            return
        if parent is None or parent.tag != self.tag_group:
            return
        if self.failure is None:
            try:
                self._statement(element)
            except StatementError as failure:
                self.failure = failure
        self._statement_element = None
        self._header = None
        self._entries = []
        self._skipped = []
        self._occurrences = {}
        element.clear(keep_tail=True)
        previous = element.getprevious()
        while previous is not None and previous.tag == self.tag_statement:
            parent.remove(previous)
            previous = element.getprevious()

    def _header_of(self, statement: Any) -> _Header:
        if self._header is None or self._statement_element is not statement:
            self._statement_element = statement
            self._header = self._read_header(statement)
        return self._header

    # --- statement -----------------------------------------------------------------------

    def _read_header(self, statement: Any) -> _Header:
        statement_id = self.text(statement, "Id")
        if statement_id is None:
            raise self.error("the statement has no Id", statement)
        iban_element = statement.find(self.q("Acct/Id/IBAN"))
        account_iban: str | None
        if iban_element is not None:
            given = (iban_element.text or "").strip()
            account_iban = valid_iban(given)
            if account_iban is None:
                raise self.error(
                    f"the account {given!r} is not a valid IBAN (length or check digits)",
                    iban_element,
                )
            account = account_iban
        else:
            other = self.text(statement, "Acct/Id/Othr/Id")
            if other is None:
                raise self.error("the statement names no account", statement)
            account, account_iban = other, None
        currency_element = statement.find(self.q("Acct/Ccy"))
        if currency_element is not None and (currency_element.text or "").strip() != "EUR":
            raise self.error(
                f"the account currency {(currency_element.text or '').strip()!r} is not "
                "accepted; only EUR",
                currency_element,
            )
        group = statement.getparent()
        group_header = group.find(self.q("GrpHdr")) if group is not None else None
        created_element = statement.find(self.q("CreDtTm"))
        if created_element is None and group_header is not None:
            created_element = group_header.find(self.q("CreDtTm"))
        return _Header(
            statement_id=statement_id,
            account=account,
            account_iban=account_iban,
            created_at=self._timestamp(created_element) if created_element is not None else None,
            sequence_number=self.text(statement, "ElctrncSeqNb")
            or self.text(statement, "LglSeqNb"),
            message_id=self.text(group_header, "MsgId"),
            line=statement.sourceline,
        )

    def _statement(self, statement: Any) -> None:
        header = self._header_of(statement)
        balances: dict[str, list[tuple[int, date, Any]]] = {}
        for balance in statement.iterfind(self.q("Bal")):
            code = self.text(balance, "Tp/CdOrPrtry/Cd") or self.text(balance, "Tp/CdOrPrtry/Prtry")
            amount_element = balance.find(self.q("Amt"))
            cents = self._amount(amount_element, balance)
            indicator = self.text(balance, "CdtDbtInd")
            if indicator == "DBIT":
                cents = -cents
            elif indicator != "CRDT":
                raise self.error("the balance has no CdtDbtInd CRDT or DBIT", balance)
            on = self._date_choice(self.child(balance, "Dt"))
            if on is None:
                raise self.error("the balance has no date", balance)
            balances.setdefault(code or "", []).append((cents, on, balance))
        opening_code = "OPBD" if "OPBD" in balances else "PRCD"
        openings = balances.get(opening_code, [])
        closings = balances.get("CLBD", [])
        if not openings:
            raise self.error(
                "the statement has no opening balance (Bal with type OPBD or PRCD)", statement
            )
        if len(openings) > 1:
            raise self.error(
                f"the statement has {len(openings)} {opening_code} balances", statement
            )
        if len(closings) != 1:
            raise self.error(
                f"the statement has {len(closings)} closing balances (Bal with type CLBD); "
                "expected exactly one",
                statement,
            )
        opening_cents, opening_date, _ = openings[0]
        closing_cents, closing_date, closing_element = closings[0]
        check_balances(
            opening_cents=opening_cents,
            entries=self._entries,
            closing_cents=closing_cents,
            filename=self.filename,
            line=closing_element.sourceline,
            element=element_path_of(closing_element),
            closing_label="CLBD",
        )
        self.statements.append(
            Statement(
                format=self.version,
                statement_id=header.statement_id,
                account=header.account,
                account_iban=header.account_iban,
                currency="EUR",
                opening_balance_cents=opening_cents,
                opening_balance_date=opening_date,
                closing_balance_cents=closing_cents,
                closing_balance_date=closing_date,
                created_at=header.created_at,
                sequence_number=header.sequence_number,
                message_id=header.message_id,
                entries=tuple(self._entries),
                skipped_entries=tuple(self._skipped),
                source_filename=self.filename,
                line=header.line,
            )
        )
        if self.on_statement is not None:
            self.on_statement(self.statements[-1])

    # --- entry ---------------------------------------------------------------------------
    # Entries are read by indexing each element's children once (dict lookups) instead of
    # one ElementPath search per field: about four times faster on large statements.

    def kids(self, element: Any) -> dict[str, Any]:
        """Direct children by local name (the first of each name)."""
        result: dict[str, Any] = {}
        if element is None:
            return result
        cut = self._prefix_length
        for child in element:
            tag = child.tag
            if isinstance(tag, str) and tag[cut:] not in result:
                result[tag[cut:]] = child
        return result

    def child(self, element: Any, *names: str) -> Any:
        """The element at ``names`` below `element` (first match at each step), or None."""
        for name in names:
            if element is None:
                return None
            element = next(element.iterchildren(self.q(name)), None)
        return element

    def _entry(self, entry: Any, statement: Any) -> None:
        header = self._header_of(statement)
        bank_entry = self._fast_entry(entry, header)
        if bank_entry is None:
            bank_entry = self._entry_record(entry, header)
        if bank_entry.status != BOOKED:
            self._skipped.append(bank_entry)
        else:
            key = bank_entry.base_key
            seen = self._occurrences.get(key, 0)
            self._occurrences[key] = seen + 1
            if seen:
                bank_entry = replace(bank_entry, occurrence=seen + 1)
            self._entries.append(bank_entry)
        if self.on_entry is not None:
            self.on_entry(bank_entry)

    def _entry_record(self, entry: Any, header: _Header) -> BankEntry:
        """The entry read field by field: the reference for `_fast_entry`, and the one
        that names the element of a problem."""
        k = self.kids(entry)
        amount_cents = self._amount(k.get("Amt"), entry)
        indicator = _text(k.get("CdtDbtInd"))
        if indicator == "CRDT":
            credit_debit = CreditDebit.CREDIT
        elif indicator == "DBIT":
            credit_debit = CreditDebit.DEBIT
        else:
            raise self.error("the entry has no CdtDbtInd CRDT or DBIT", entry)
        if self.v08:
            status_choice = self.kids(k.get("Sts"))
            status = _text(status_choice.get("Cd")) or _text(status_choice.get("Prtry"))
        else:
            status = _text(k.get("Sts"))
        if status is None:
            raise self.error("the entry has no status (Sts)", entry)
        booking_date = self._date_choice(k.get("BookgDt"))
        if status == BOOKED and booking_date is None:
            raise self.error("a booked entry has no booking date (BookgDt)", entry)
        batch_id: str | None = None
        batch_count: int | None = None
        transactions: list[TransactionDetails] = []
        for details in entry.iterchildren(self.q("NtryDtls")):
            batch = self.child(details, "Btch")
            if batch is not None and batch_id is None and batch_count is None:
                batch_kids = self.kids(batch)
                batch_id = _text(batch_kids.get("PmtInfId"))
                count_text = _text(batch_kids.get("NbOfTxs"))
                if count_text is not None:
                    if not count_text.isdigit() or len(count_text) > 15:
                        raise self.error(f"NbOfTxs {count_text!r} is not a number", batch)
                    batch_count = int(count_text)
            for transaction in details.iterchildren(self.q("TxDtls")):
                transactions.append(self._transaction(transaction, credit_debit, header))
        single = transactions[0] if len(transactions) == 1 else None
        reversal_text = (_text(k.get("RvslInd")) or "").lower()
        return BankEntry(
            account=header.account,
            amount_cents=amount_cents,
            credit_debit=credit_debit,
            status=status,
            booking_date=booking_date,
            value_date=self._date_choice(k.get("ValDt")),
            bank_reference=_text(k.get("AcctSvcrRef")),
            counterparty_name=single.counterparty_name if single else None,
            counterparty_iban=single.counterparty_iban if single else None,
            counterparty_account=single.counterparty_account if single else None,
            counterparty_bic=single.counterparty_bic if single else None,
            remittance_unstructured=single.remittance_unstructured if single else None,
            creditor_reference=single.creditor_reference if single else None,
            end_to_end_id=single.end_to_end_id if single else None,
            batch_payment_information_id=batch_id,
            batch_transaction_count=batch_count,
            transactions=tuple(transactions),
            reversal=reversal_text in ("true", "1"),
            return_reason_code=single.return_reason_code if single else None,
            bank_transaction_code=self._bank_transaction_code(k.get("BkTxCd")),
            additional_info=_text(k.get("AddtlNtryInf")),
            occurrence=1,
            line=entry.sourceline,
        )

    # --- entry, fast path ----------------------------------------------------------------
    # An entry's elements in document order (one C call), keyed by their tags and child
    # counts (which fix the tree), give a plan computed once per shape: for each field
    # the position of its element, found with the same first-match-per-step rule as
    # `_entry_record`. A year's file has a handful of shapes. Anything unusual (several
    # NtryDtls or TxDtls, a value that does not read cleanly) goes the field-by-field way,
    # which also names the element of a problem: the result is the same BankEntry.

    def _fast_entry(self, entry: Any, header: _Header) -> BankEntry | None:
        elements = list(entry.iter())
        shape = (tuple([element.tag for element in elements]), tuple(map(len, elements)))
        plan = self._plans.get(shape)
        if plan is None:
            plan = _entry_plan(shape, self.namespace, self.v08)
            if len(self._plans) < _PLANS_MAX:
                self._plans[shape] = plan
        if plan is _NO_PLAN:
            return None
        try:
            return self._planned_entry(entry, elements, plan, header)
        except StatementError:
            return None  # read again field by field, which raises it with its element

    def _planned_entry(
        self, entry: Any, elements: list[Any], plan: _EntryPlan, header: _Header
    ) -> BankEntry | None:
        texts = [element.text for element in elements]
        at = plan.positions

        def text(field: int) -> str | None:
            position = at[field]
            if position < 0:
                return None
            value = texts[position]
            if value is None:
                return None
            value = value.strip()
            return value or None

        amount_cents = self._fast_amount(elements, at[_AMT])
        if amount_cents is None:
            return None
        indicator = text(_CDTDBTIND)
        if indicator == "CRDT":
            credit_debit = CreditDebit.CREDIT
        elif indicator == "DBIT":
            credit_debit = CreditDebit.DEBIT
        else:
            return None
        status = (text(_STS_CD) or text(_STS_PRTRY)) if self.v08 else text(_STS)
        if status is None:
            return None
        booking_date = self._fast_date(elements, at[_BOOKGDT], at[_BOOKGDT_DT], at[_BOOKGDT_DTTM])
        if status == BOOKED and booking_date is None:
            return None
        value_date = self._fast_date(elements, at[_VALDT], at[_VALDT_DT], at[_VALDT_DTTM])
        batch_id: str | None = None
        batch_count: int | None = None
        if at[_BTCH] >= 0:
            batch_id = text(_BTCH_ID)
            count_text = text(_BTCH_COUNT)
            if count_text is not None:
                if not count_text.isdigit() or len(count_text) > 15:
                    return None
                batch_count = int(count_text)
        transactions: tuple[TransactionDetails, ...] = ()
        single: TransactionDetails | None = None
        if at[_TXDTLS] >= 0:
            transaction_amount: int | None = None
            amount_position = at[_TX_AMT] if self.v08 else -1
            if amount_position < 0:
                amount_position = at[_TX_AMTDTLS_AMT]
            if amount_position >= 0:
                transaction_amount = self._fast_amount(elements, amount_position)
                if transaction_amount is None:
                    return None
            debtor = self._fast_party(text, _DBTR_NM, _DBTR_IBAN, _DBTR_OTHR, _DBTR_BIC)
            creditor = self._fast_party(text, _CDTR_NM, _CDTR_IBAN, _CDTR_OTHR, _CDTR_BIC)
            counterparty = _counterparty(debtor, creditor, credit_debit, header.account_iban)
            unstructured: str | None = None
            creditor_reference: str | None = None
            if at[_RMTINF] >= 0:
                unstructured = _joined_texts(texts, plan.remittance_lines)
                creditor_reference = text(_CDTR_REF)
            return_reason: str | None = None
            return_info: str | None = None
            if at[_RTRINF] >= 0:
                return_reason = text(_RSN_CD) or text(_RSN_PRTRY)
                return_info = _joined_texts(texts, plan.return_lines)
            single = TransactionDetails(
                amount_cents=transaction_amount,
                end_to_end_id=_provided(text(_E2E)),
                instruction_id=_provided(text(_INSTR)),
                payment_information_id=_provided(text(_PMTINF)),
                mandate_id=_provided(text(_MNDT)),
                counterparty_name=counterparty.name,
                counterparty_iban=counterparty.iban,
                counterparty_account=counterparty.account,
                counterparty_bic=counterparty.bic,
                remittance_unstructured=unstructured,
                creditor_reference=creditor_reference,
                return_reason_code=return_reason,
                return_additional_info=return_info,
            )
            transactions = (single,)
        bank_transaction_code: str | None = None
        if at[_BKTXCD] >= 0:
            if at[_DOMN] >= 0:
                bank_transaction_code = "/".join(
                    (text(_DOMN_CD) or "", text(_FMLY_CD) or "", text(_SUBFMLY_CD) or "")
                )
            else:
                bank_transaction_code = text(_PRTRY_CD)
        reversal_text = (text(_RVSLIND) or "").lower()
        return BankEntry(
            account=header.account,
            amount_cents=amount_cents,
            credit_debit=credit_debit,
            status=status,
            booking_date=booking_date,
            value_date=value_date,
            bank_reference=text(_ACCTSVCRREF),
            counterparty_name=single.counterparty_name if single else None,
            counterparty_iban=single.counterparty_iban if single else None,
            counterparty_account=single.counterparty_account if single else None,
            counterparty_bic=single.counterparty_bic if single else None,
            remittance_unstructured=single.remittance_unstructured if single else None,
            creditor_reference=single.creditor_reference if single else None,
            end_to_end_id=single.end_to_end_id if single else None,
            batch_payment_information_id=batch_id,
            batch_transaction_count=batch_count,
            transactions=transactions,
            reversal=reversal_text in ("true", "1"),
            return_reason_code=single.return_reason_code if single else None,
            bank_transaction_code=bank_transaction_code,
            additional_info=text(_ADDTLNTRYINF),
            occurrence=1,
            line=entry.sourceline,
        )

    def _fast_party(
        self, text: Callable[[int], str | None], name: int, iban: int, other: int, bic: int
    ) -> _Party:
        name_text = text(name)
        iban_text = text(iban)
        valid = valid_iban(iban_text)
        account = None
        if valid is None:
            account = iban_text or text(other)
        return _Party(" ".join(name_text.split()) if name_text else None, valid, account, text(bic))

    def _fast_amount(self, elements: list[Any], position: int) -> int | None:
        """Cents of a plain EUR amount like ``1234.56``; None for anything else."""
        if position < 0:
            return None
        element = elements[position]
        match = _PLAIN_AMOUNT.match((element.text or "").strip())
        if match is None or element.get("Ccy") != "EUR":
            return None
        cents = int(match[1]) * 100 + int((match[2] or "").ljust(2, "0"))
        return cents if cents <= AMOUNT_CENTS_MAX else None

    def _fast_date(self, elements: list[Any], choice: int, day: int, moment: int) -> date | None:
        """`_date_choice`, with the dates of a file (a few hundred) parsed once."""
        if choice < 0:
            return None
        if day >= 0:
            text = (elements[day].text or "").strip()
            parsed = self._dates.get(text)
            if parsed is None:
                parsed = self._date(elements[day])
                self._dates[text] = parsed
            return parsed
        if moment >= 0:
            return self._timestamp(elements[moment]).astimezone(AMSTERDAM).date()
        return None

    def _transaction(
        self, transaction: Any, credit_debit: CreditDebit, header: _Header
    ) -> TransactionDetails:
        k = self.kids(transaction)
        amount_element = k.get("Amt") if self.v08 else None
        if amount_element is None:
            amount_element = self.child(k.get("AmtDtls"), "TxAmt", "Amt")
        amount_cents = (
            self._amount(amount_element, transaction) if amount_element is not None else None
        )
        references = self.kids(k.get("Refs"))
        parties = self.kids(k.get("RltdPties"))
        agents = self.kids(k.get("RltdAgts"))
        debtor = self._party(parties, agents, "Dbtr")
        creditor = self._party(parties, agents, "Cdtr")
        counterparty = _counterparty(debtor, creditor, credit_debit, header.account_iban)
        remittance = k.get("RmtInf")
        unstructured: str | None = None
        creditor_reference: str | None = None
        if remittance is not None:
            unstructured = _joined(remittance.iterchildren(self.q("Ustrd")))
            creditor_reference = _text(self.child(remittance, "Strd", "CdtrRefInf", "Ref"))
        return_information = k.get("RtrInf")
        return_reason: str | None = None
        return_info: str | None = None
        if return_information is not None:
            reason = self.kids(self.child(return_information, "Rsn"))
            return_reason = _text(reason.get("Cd")) or _text(reason.get("Prtry"))
            return_info = _joined(return_information.iterchildren(self.q("AddtlInf")))
        return TransactionDetails(
            amount_cents=amount_cents,
            end_to_end_id=_provided(_text(references.get("EndToEndId"))),
            instruction_id=_provided(_text(references.get("InstrId"))),
            payment_information_id=_provided(_text(references.get("PmtInfId"))),
            mandate_id=_provided(_text(references.get("MndtId"))),
            counterparty_name=counterparty.name,
            counterparty_iban=counterparty.iban,
            counterparty_account=counterparty.account,
            counterparty_bic=counterparty.bic,
            remittance_unstructured=unstructured,
            creditor_reference=creditor_reference,
            return_reason_code=return_reason,
            return_additional_info=return_info,
        )

    def _party(self, parties: dict[str, Any], agents: dict[str, Any], role: str) -> _Party:
        party = parties.get(role)
        if self.v08:
            party = self.child(party, "Pty")
        name = _text(self.child(party, "Nm"))
        account_id = self.child(parties.get(f"{role}Acct"), "Id")
        iban_text = _text(self.child(account_id, "IBAN"))
        iban = valid_iban(iban_text)
        account = None
        if iban is None:
            account = iban_text or _text(self.child(account_id, "Othr", "Id"))
        bic = _text(
            self.child(agents.get(f"{role}Agt"), "FinInstnId", "BICFI" if self.v08 else "BIC")
        )
        return _Party(" ".join(name.split()) if name else None, iban, account, bic)

    def _bank_transaction_code(self, code: Any) -> str | None:
        if code is None:
            return None
        domain = self.child(code, "Domn")
        if domain is not None:
            family = self.kids(self.child(domain, "Fmly"))
            return "/".join(
                (
                    _text(self.child(domain, "Cd")) or "",
                    _text(family.get("Cd")) or "",
                    _text(family.get("SubFmlyCd")) or "",
                )
            )
        return _text(self.child(code, "Prtry", "Cd"))

    # --- values --------------------------------------------------------------------------

    def _amount(self, element: Any, context: Any) -> int:
        if element is None:
            raise self.error("the amount (Amt) is missing", context)
        text = (element.text or "").strip()
        try:
            cents = Money.parse(text, element.get("Ccy") or "").cents
        except MoneyError as error:
            raise self.error(str(error), element) from None
        if cents < 0:
            raise self.error(
                f"amount {text!r} is negative; the direction belongs in CdtDbtInd", element
            )
        return cents

    def _date_choice(self, choice: Any) -> date | None:
        """A DateAndDateTimeChoice (``Dt`` or ``DtTm``) as a date in Amsterdam."""
        if choice is None:
            return None
        day = self.child(choice, "Dt")
        if day is not None:
            return self._date(day)
        moment = self.child(choice, "DtTm")
        if moment is not None:
            timestamp = self._timestamp(moment)
            return timestamp.astimezone(AMSTERDAM).date()
        return None

    def _date(self, element: Any) -> date:
        text = (element.text or "").strip()
        match = _DATE.match(text)
        try:
            if match is None:
                raise ValueError
            return date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            raise self.error(f"{text!r} is not a date like 2024-11-15", element) from None

    def _timestamp(self, element: Any) -> datetime:
        """An ISO date-time as aware UTC; a time without offset is Europe/Amsterdam time."""
        text = (element.text or "").strip()
        match = _DATE_TIME.match(text)
        try:
            if match is None:
                raise ValueError
            day, hour, minute, second, fraction, zone = match.groups()
            micro = (fraction or "")[:6].ljust(6, "0")
            offset = "" if zone is None else ("+00:00" if zone == "Z" else zone)
            moment = datetime.fromisoformat(f"{day}T{hour}:{minute}:{second}.{micro}{offset}")
        except ValueError:
            raise self.error(
                f"{text!r} is not a date and time like 2024-11-15T18:05:00+01:00", element
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=AMSTERDAM)
        return moment.astimezone(UTC)


def _text(element: Any) -> str | None:
    """The element's text, stripped; None when absent or empty."""
    if element is None:
        return None
    value = element.text
    if value is None:
        return None
    value = value.strip()
    return value or None


def _joined(elements: Any) -> str | None:
    """The texts of several elements (Ustrd lines), whitespace collapsed, joined by a space."""
    parts = [" ".join(e.text.split()) for e in elements if e.text and e.text.strip()]
    return " ".join(parts) or None


# ---------------------------------------------------------------------- entry plans

_PLANS_MAX = 1_000
_PLAIN_AMOUNT = re.compile(r"^(\d{1,12})(?:\.(\d{1,2}))?$")
"""What `Money.parse` reads the same way: no sign, a point, at most two decimals."""

# Field numbers: positions in `_EntryPlan.positions`.
(
    _AMT,
    _CDTDBTIND,
    _STS,
    _STS_CD,
    _STS_PRTRY,
    _BOOKGDT,
    _BOOKGDT_DT,
    _BOOKGDT_DTTM,
    _VALDT,
    _VALDT_DT,
    _VALDT_DTTM,
    _ACCTSVCRREF,
    _RVSLIND,
    _ADDTLNTRYINF,
    _BKTXCD,
    _DOMN,
    _DOMN_CD,
    _FMLY_CD,
    _SUBFMLY_CD,
    _PRTRY_CD,
    _BTCH,
    _BTCH_ID,
    _BTCH_COUNT,
    _TXDTLS,
    _TX_AMT,
    _TX_AMTDTLS_AMT,
    _E2E,
    _INSTR,
    _PMTINF,
    _MNDT,
    _DBTR_NM,
    _DBTR_IBAN,
    _DBTR_OTHR,
    _DBTR_BIC,
    _CDTR_NM,
    _CDTR_IBAN,
    _CDTR_OTHR,
    _CDTR_BIC,
    _RMTINF,
    _CDTR_REF,
    _RTRINF,
    _RSN_CD,
    _RSN_PRTRY,
) = range(43)


def _field_paths(v08: bool) -> tuple[tuple[str, ...], ...]:
    """Each field's path below Ntry, in field-number order (as `_entry_record` reads it)."""
    tx = ("NtryDtls", "TxDtls")
    bic = "BICFI" if v08 else "BIC"

    def party(role: str) -> tuple[tuple[str, ...], ...]:
        name = (*tx, "RltdPties", role, *(("Pty",) if v08 else ()), "Nm")
        account = (*tx, "RltdPties", f"{role}Acct", "Id")
        return (
            name,
            (*account, "IBAN"),
            (*account, "Othr", "Id"),
            (*tx, "RltdAgts", f"{role}Agt", "FinInstnId", bic),
        )

    return (
        ("Amt",),
        ("CdtDbtInd",),
        ("Sts",),
        ("Sts", "Cd"),
        ("Sts", "Prtry"),
        ("BookgDt",),
        ("BookgDt", "Dt"),
        ("BookgDt", "DtTm"),
        ("ValDt",),
        ("ValDt", "Dt"),
        ("ValDt", "DtTm"),
        ("AcctSvcrRef",),
        ("RvslInd",),
        ("AddtlNtryInf",),
        ("BkTxCd",),
        ("BkTxCd", "Domn"),
        ("BkTxCd", "Domn", "Cd"),
        ("BkTxCd", "Domn", "Fmly", "Cd"),
        ("BkTxCd", "Domn", "Fmly", "SubFmlyCd"),
        ("BkTxCd", "Prtry", "Cd"),
        ("NtryDtls", "Btch"),
        ("NtryDtls", "Btch", "PmtInfId"),
        ("NtryDtls", "Btch", "NbOfTxs"),
        tx,
        (*tx, "Amt"),
        (*tx, "AmtDtls", "TxAmt", "Amt"),
        (*tx, "Refs", "EndToEndId"),
        (*tx, "Refs", "InstrId"),
        (*tx, "Refs", "PmtInfId"),
        (*tx, "Refs", "MndtId"),
        *party("Dbtr"),
        *party("Cdtr"),
        (*tx, "RmtInf"),
        (*tx, "RmtInf", "Strd", "CdtrRefInf", "Ref"),
        (*tx, "RtrInf"),
        (*tx, "RtrInf", "Rsn", "Cd"),
        (*tx, "RtrInf", "Rsn", "Prtry"),
    )


_FIELD_PATHS = {False: _field_paths(False), True: _field_paths(True)}


@dataclass(frozen=True, slots=True)
class _EntryPlan:
    positions: tuple[int, ...]
    """Per field number: the position of its element in the entry's elements, or -1."""
    remittance_lines: tuple[int, ...]
    """Positions of every Ustrd of the (first) RmtInf."""
    return_lines: tuple[int, ...]
    """Positions of every AddtlInf of the (first) RtrInf."""


_NO_PLAN = _EntryPlan((), (), ())
"""For shapes the fast path does not read (several NtryDtls or TxDtls, odd nodes)."""


def _entry_plan(
    shape: tuple[tuple[Any, ...], tuple[int, ...]], namespace: str, v08: bool
) -> _EntryPlan:
    tags, lengths = shape
    prefix = f"{{{namespace}}}"
    names: list[str | None] = []
    for tag in tags:
        if not isinstance(tag, str):
            return _NO_PLAN  # an entity or other special node: read field by field
        names.append(tag[len(prefix) :] if tag.startswith(prefix) else None)
    # Preorder with child counts fixes the tree: rebuild each element's children.
    children: list[list[int]] = [[] for _ in tags]
    open_elements: list[list[int]] = []  # [position, children still to come]
    for position, length in enumerate(lengths):
        if position:
            if not open_elements:
                return _NO_PLAN
            parent = open_elements[-1]
            children[parent[0]].append(position)
            parent[1] -= 1
            if parent[1] == 0:
                open_elements.pop()
        elif length == 0:
            continue
        if length:
            open_elements.append([position, length])
    if open_elements:
        return _NO_PLAN

    def named(position: int, name: str) -> list[int]:
        return [child for child in children[position] if names[child] == name]

    def find(path: tuple[str, ...]) -> int:
        position = 0
        for name in path:
            found = named(position, name)
            if not found:
                return -1
            position = found[0]
        return position

    details = named(0, "NtryDtls")
    if len(details) > 1 or (details and len(named(details[0], "TxDtls")) > 1):
        return _NO_PLAN
    positions = tuple(find(path) for path in _FIELD_PATHS[v08])
    remittance = positions[_RMTINF]
    returned = positions[_RTRINF]
    return _EntryPlan(
        positions=positions,
        remittance_lines=tuple(named(remittance, "Ustrd")) if remittance >= 0 else (),
        return_lines=tuple(named(returned, "AddtlInf")) if returned >= 0 else (),
    )


def _joined_texts(texts: list[str | None], positions: tuple[int, ...]) -> str | None:
    """`_joined` over the texts at `positions`."""
    parts = [" ".join(t.split()) for t in (texts[p] for p in positions) if t and t.strip()]
    return " ".join(parts) or None
