"""Write CAMT.053 files: a small writer for fixtures and a deterministic generator for benchmarks.

`write_camt053` turns a `DocumentSpec` into bytes that validate against the
camt.053.001.02 or .001.08 schema. `generate_camt053(n_entries, seed)` builds a realistic
statement of any size, the same bytes for the same arguments, with balances that add up.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from xml.sax.saxutils import escape, quoteattr

from backend.bank.camt053 import NAMESPACES
from backend.bank.statement import StatementFormat

N_ENTRIES_MAX = 2_000_000


@dataclass(frozen=True, slots=True)
class PartySpec:
    name: str | None = None
    iban: str | None = None
    bic: str | None = None


@dataclass(frozen=True, slots=True)
class TransactionSpec:
    amount_cents: int
    end_to_end_id: str | None = None
    instruction_id: str | None = None
    mandate_id: str | None = None
    debtor: PartySpec | None = None
    creditor: PartySpec | None = None
    unstructured: tuple[str, ...] = ()
    creditor_reference: str | None = None
    return_reason_code: str | None = None
    return_additional_info: str | None = None


@dataclass(frozen=True, slots=True)
class EntrySpec:
    amount_cents: int
    credit: bool
    booking_date: date | None
    value_date: date | None = None
    status: str = "BOOK"
    reference: str | None = None
    domain_code: tuple[str, str, str] | None = ("PMNT", "RCDT", "ESCT")
    proprietary_code: tuple[str, str] | None = None
    reversal: bool = False
    batch_payment_information_id: str | None = None
    batch_transaction_count: int | None = None
    transactions: tuple[TransactionSpec, ...] = ()
    additional_info: str | None = None
    comment: str | None = None


@dataclass(frozen=True, slots=True)
class StatementSpec:
    statement_id: str
    account_iban: str
    opening_cents: int
    opening_date: date
    closing_date: date
    created_at: str
    entries: tuple[EntrySpec, ...] = ()
    account_bic: str | None = "BNGHNL2G"
    account_owner: str | None = None
    electronic_sequence_number: int | None = None
    closing_cents: int | None = None
    """None: computed from the opening balance and the booked entries."""
    currency: str = "EUR"
    comment: str | None = None

    def computed_closing_cents(self) -> int:
        if self.closing_cents is not None:
            return self.closing_cents
        total = self.opening_cents
        for entry in self.entries:
            if entry.status == "BOOK":
                total += entry.amount_cents if entry.credit else -entry.amount_cents
        return total


@dataclass(frozen=True, slots=True)
class DocumentSpec:
    message_id: str
    created_at: str
    statements: tuple[StatementSpec, ...] = field(default_factory=tuple)


def amount_text(cents: int) -> str:
    """Cents as an ISO 20022 decimal amount: 123456 -> '1234.56'."""
    units, rest = divmod(abs(cents), 100)
    return f"{units}.{rest:02d}"


class _Writer:
    """Appends XML text; indentation is optional (off for large generated files)."""

    def __init__(self, *, indent: bool) -> None:
        self.parts: list[str] = []
        self.depth = 0
        self.indent = indent

    def _pad(self) -> str:
        return "\n" + "  " * self.depth if self.indent else ""

    def open(self, tag: str, attributes: str = "") -> None:
        self.parts.append(f"{self._pad()}<{tag}{attributes}>")
        self.depth += 1

    def close(self, tag: str) -> None:
        self.depth -= 1
        self.parts.append(f"{self._pad()}</{tag}>")

    def leaf(self, tag: str, text: str, attributes: str = "") -> None:
        self.parts.append(f"{self._pad()}<{tag}{attributes}>{escape(text)}</{tag}>")

    def comment(self, text: str) -> None:
        if self.indent:
            self.parts.append(f"{self._pad()}<!-- {text.replace('--', '- -')} -->")

    def amount(self, tag: str, cents: int, currency: str) -> None:
        self.leaf(tag, amount_text(cents), f" Ccy={quoteattr(currency)}")


def write_camt053(
    document: DocumentSpec, version: StatementFormat, *, indent: bool = True
) -> bytes:
    """The CAMT.053 file for `document` in the given version, UTF-8 encoded."""
    if version not in NAMESPACES:
        raise ValueError(f"not a CAMT.053 version: {version}")
    v08 = version is StatementFormat.CAMT053_001_08
    out = _Writer(indent=indent)
    out.parts.append('<?xml version="1.0" encoding="UTF-8"?>')
    out.parts.append("\n" if indent else "")
    out.parts.append(f'<Document xmlns="{NAMESPACES[version]}">')
    out.depth = 1
    out.open("BkToCstmrStmt")
    out.open("GrpHdr")
    out.leaf("MsgId", document.message_id)
    out.leaf("CreDtTm", document.created_at)
    out.close("GrpHdr")
    for statement in document.statements:
        _write_statement(out, statement, v08=v08)
    out.close("BkToCstmrStmt")
    out.depth = 0
    out.parts.append(("\n" if indent else "") + "</Document>\n")
    return "".join(out.parts).encode("utf-8")


def _write_statement(out: _Writer, statement: StatementSpec, *, v08: bool) -> None:
    if statement.comment:
        out.comment(statement.comment)
    out.open("Stmt")
    out.leaf("Id", statement.statement_id)
    if statement.electronic_sequence_number is not None:
        out.leaf("ElctrncSeqNb", str(statement.electronic_sequence_number))
    out.leaf("CreDtTm", statement.created_at)
    out.open("Acct")
    out.open("Id")
    out.leaf("IBAN", statement.account_iban)
    out.close("Id")
    out.leaf("Ccy", statement.currency)
    if statement.account_owner:
        out.open("Ownr")
        out.leaf("Nm", statement.account_owner)
        out.close("Ownr")
    if statement.account_bic:
        out.open("Svcr")
        out.open("FinInstnId")
        out.leaf("BICFI" if v08 else "BIC", statement.account_bic)
        out.close("FinInstnId")
        out.close("Svcr")
    out.close("Acct")
    _write_balance(out, "OPBD", statement.opening_cents, statement.opening_date, statement.currency)
    closing = statement.computed_closing_cents()
    _write_balance(out, "CLBD", closing, statement.closing_date, statement.currency)
    for entry in statement.entries:
        _write_entry(out, entry, statement.currency, v08=v08)
    out.close("Stmt")


def _write_balance(out: _Writer, code: str, cents: int, on: date, currency: str) -> None:
    out.open("Bal")
    out.open("Tp")
    out.open("CdOrPrtry")
    out.leaf("Cd", code)
    out.close("CdOrPrtry")
    out.close("Tp")
    out.amount("Amt", abs(cents), currency)
    out.leaf("CdtDbtInd", "DBIT" if cents < 0 else "CRDT")
    out.open("Dt")
    out.leaf("Dt", on.isoformat())
    out.close("Dt")
    out.close("Bal")


def _write_entry(out: _Writer, entry: EntrySpec, currency: str, *, v08: bool) -> None:
    if entry.comment:
        out.comment(entry.comment)
    out.open("Ntry")
    out.amount("Amt", entry.amount_cents, currency)
    out.leaf("CdtDbtInd", "CRDT" if entry.credit else "DBIT")
    if entry.reversal:
        out.leaf("RvslInd", "true")
    if v08:
        out.open("Sts")
        out.leaf("Cd", entry.status)
        out.close("Sts")
    else:
        out.leaf("Sts", entry.status)
    if entry.booking_date is not None:
        out.open("BookgDt")
        out.leaf("Dt", entry.booking_date.isoformat())
        out.close("BookgDt")
    if entry.value_date is not None:
        out.open("ValDt")
        out.leaf("Dt", entry.value_date.isoformat())
        out.close("ValDt")
    if entry.reference is not None:
        out.leaf("AcctSvcrRef", entry.reference)
    out.open("BkTxCd")
    if entry.domain_code is not None:
        domain, family, sub_family = entry.domain_code
        out.open("Domn")
        out.leaf("Cd", domain)
        out.open("Fmly")
        out.leaf("Cd", family)
        out.leaf("SubFmlyCd", sub_family)
        out.close("Fmly")
        out.close("Domn")
    if entry.proprietary_code is not None:
        out.open("Prtry")
        out.leaf("Cd", entry.proprietary_code[0])
        out.leaf("Issr", entry.proprietary_code[1])
        out.close("Prtry")
    out.close("BkTxCd")
    if entry.transactions or entry.batch_payment_information_id:
        out.open("NtryDtls")
        if entry.batch_payment_information_id or entry.batch_transaction_count is not None:
            out.open("Btch")
            if entry.batch_payment_information_id:
                out.leaf("PmtInfId", entry.batch_payment_information_id)
            if entry.batch_transaction_count is not None:
                out.leaf("NbOfTxs", str(entry.batch_transaction_count))
            out.close("Btch")
        for transaction in entry.transactions:
            _write_transaction(out, transaction, entry, currency, v08=v08)
        out.close("NtryDtls")
    if entry.additional_info:
        out.leaf("AddtlNtryInf", entry.additional_info)
    out.close("Ntry")


def _write_transaction(
    out: _Writer, tx: TransactionSpec, entry: EntrySpec, currency: str, *, v08: bool
) -> None:
    out.open("TxDtls")
    if tx.end_to_end_id or tx.instruction_id or tx.mandate_id:
        out.open("Refs")
        if tx.instruction_id:
            out.leaf("InstrId", tx.instruction_id)
        if tx.end_to_end_id:
            out.leaf("EndToEndId", tx.end_to_end_id)
        if tx.mandate_id:
            out.leaf("MndtId", tx.mandate_id)
        out.close("Refs")
    if v08:
        out.amount("Amt", tx.amount_cents, currency)
        out.leaf("CdtDbtInd", "CRDT" if entry.credit else "DBIT")
    else:
        out.open("AmtDtls")
        out.open("TxAmt")
        out.amount("Amt", tx.amount_cents, currency)
        out.close("TxAmt")
        out.close("AmtDtls")
    if tx.debtor or tx.creditor:
        out.open("RltdPties")
        for role, party in (("Dbtr", tx.debtor), ("Cdtr", tx.creditor)):
            if party is None:
                continue
            if party.name:
                out.open(role)
                if v08:
                    out.open("Pty")
                out.leaf("Nm", party.name)
                if v08:
                    out.close("Pty")
                out.close(role)
            if party.iban:
                out.open(f"{role}Acct")
                out.open("Id")
                out.leaf("IBAN", party.iban)
                out.close("Id")
                out.close(f"{role}Acct")
        out.close("RltdPties")
    agents = [
        (role, p.bic) for role, p in (("Dbtr", tx.debtor), ("Cdtr", tx.creditor)) if p and p.bic
    ]
    if agents:
        out.open("RltdAgts")
        for role, bic in agents:
            out.open(f"{role}Agt")
            out.open("FinInstnId")
            out.leaf("BICFI" if v08 else "BIC", bic)
            out.close("FinInstnId")
            out.close(f"{role}Agt")
        out.close("RltdAgts")
    if tx.unstructured or tx.creditor_reference:
        out.open("RmtInf")
        for line in tx.unstructured:
            out.leaf("Ustrd", line)
        if tx.creditor_reference:
            out.open("Strd")
            out.open("CdtrRefInf")
            out.open("Tp")
            out.open("CdOrPrtry")
            out.leaf("Cd", "SCOR")
            out.close("CdOrPrtry")
            out.leaf("Issr", "CUR")
            out.close("Tp")
            out.leaf("Ref", tx.creditor_reference)
            out.close("CdtrRefInf")
            out.close("Strd")
        out.close("RmtInf")
    if tx.return_reason_code:
        out.open("RtrInf")
        out.open("Rsn")
        out.leaf("Cd", tx.return_reason_code)
        out.close("Rsn")
        if tx.return_additional_info:
            out.leaf("AddtlInf", tx.return_additional_info)
        out.close("RtrInf")
    out.close("TxDtls")


# --- the benchmark generator -------------------------------------------------------------

_PAYERS = (
    ("Gemeente Utrecht Werk en Inkomen", "NL02BNGH0285128714", "Uitkering Participatiewet"),
    ("Belastingdienst Toeslagen", "NL81INGB0002445581", "Voorschot zorgtoeslag"),
    ("Belastingdienst Toeslagen", "NL81INGB0002445581", "Voorschot huurtoeslag"),
    ("Bakkerij Müller B.V.", "NL42RABO0301862911", "Salaris"),
    ("Sociale Verzekeringsbank", "NL98INGB0000003300", "Kinderbijslag"),
)
_CREDITORS = (
    ("Stichting Mitros", "NL91ABNA0417164300", "Huur"),
    ("Eneco Consumenten B.V.", "NL51ABNA0242490233", "Energie"),
    ("Zilveren Kruis Zorgverzekeringen N.V.", "NL39INGB0000004750", "Premie zorgverzekering"),
    ("Vitens N.V.", "NL75RABO0397050066", "Water"),
    ("Zoë Ĳzerman", "NL46ASNB0708473105", "Leefgeld"),
)


def generate_camt053(
    n_entries: int,
    seed: int,
    *,
    version: StatementFormat = StatementFormat.CAMT053_001_02,
    account_iban: str = "NL84BNGH0285050123",
    opening_cents: int = 25_000_000,
    booking_date: date = date(2024, 11, 15),
    indent: bool = False,
) -> bytes:
    """A valid statement with `n_entries` booked entries; same arguments, same bytes.

    Credits come from the usual income sources (benefit, allowances, wages), debits go to
    fixed costs and living money; every 50th entry is a batch of three transactions.
    """
    if not 0 <= n_entries <= N_ENTRIES_MAX:
        raise ValueError(f"n_entries must be between 0 and {N_ENTRIES_MAX}")
    rng = random.Random(seed)
    entries: list[EntrySpec] = []
    for index in range(n_entries):
        day = booking_date - timedelta(days=rng.randrange(0, 3))
        reference = f"{seed % 10_000:04d}{index:012d}"
        if index % 50 == 49:
            parts = tuple(rng.randrange(2_500, 95_000) for _ in range(3))
            transactions = tuple(
                TransactionSpec(
                    amount_cents=cents,
                    end_to_end_id=f"HHB-{seed}-{index}-{part}",
                    creditor=PartySpec(name, iban, None),
                    unstructured=(f"{text} {day:%m-%Y} dossier {rng.randrange(10**5, 10**6)}",),
                )
                for part, (cents, (name, iban, text)) in enumerate(
                    zip(parts, (rng.choice(_CREDITORS) for _ in parts), strict=True)
                )
            )
            entries.append(
                EntrySpec(
                    amount_cents=sum(parts),
                    credit=False,
                    booking_date=day,
                    value_date=day,
                    reference=reference,
                    domain_code=("PMNT", "ICDT", "ESCT"),
                    batch_payment_information_id=f"HHB-{seed}-B{index}",
                    batch_transaction_count=len(parts),
                    transactions=transactions,
                )
            )
            continue
        credit = rng.random() < 0.5
        name, iban, text = rng.choice(_PAYERS if credit else _CREDITORS)
        cents = rng.randrange(1_000, 180_000)
        party = PartySpec(name, iban, None)
        entries.append(
            EntrySpec(
                amount_cents=cents,
                credit=credit,
                booking_date=day,
                value_date=day,
                reference=reference,
                domain_code=("PMNT", "RCDT" if credit else "ICDT", "ESCT"),
                transactions=(
                    TransactionSpec(
                        amount_cents=cents,
                        end_to_end_id=f"E2E-{seed}-{index}",
                        debtor=party if credit else None,
                        creditor=None if credit else party,
                        unstructured=(f"{text} {day:%m-%Y} klantnr {rng.randrange(10**6, 10**7)}",),
                    ),
                ),
            )
        )
    statement = StatementSpec(
        statement_id=f"GEN-{seed}-{n_entries}",
        account_iban=account_iban,
        opening_cents=opening_cents,
        opening_date=booking_date - timedelta(days=3),
        closing_date=booking_date,
        created_at=f"{booking_date.isoformat()}T18:00:00+01:00",
        entries=tuple(entries),
        electronic_sequence_number=seed % 1000 + 1,
    )
    document = DocumentSpec(
        message_id=f"GEN-{seed}-{n_entries}",
        created_at=f"{booking_date.isoformat()}T18:00:00+01:00",
        statements=(statement,),
    )
    return write_camt053(document, version, indent=indent)
