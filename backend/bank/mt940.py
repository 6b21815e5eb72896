"""MT940 / MT940S reader: the same `Statement` model as CAMT.053, via the ``mt-940`` package.

We split the file into messages and fields ourselves (so every error names a line and a
field, and a ``:86:`` after the closing balance is not glued to the last entry), and let
the ``mt940`` package parse the field values it knows: balances (``:60F:``, ``:62F:``),
statement lines (``:61:``) and the creation time (``:13D:``). Amounts arrive as `Decimal`
and become cents through `Money.parse`; no float anywhere.

``:86:`` comes in two Dutch flavours:

- codewords (ABN AMRO, ING, Rabobank, "MT940S"): ``/TRTP/.../IBAN/.../NAME/.../REMI/...``,
  ``/EREF/``, ``/CNTP/account/BIC/name/city/``, ``/PREF/`` (batch), ``/RTRN/`` (return);
- free text (BNG): the counterparty account first, then name and description in columns.

A file that does not follow this is refused with the line and field, never guessed.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import mt940
import mt940.models
import mt940.tags

from backend.bank.errors import StatementError, UnsupportedFormatError
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
from backend.bank.xml_safety import StatementSource
from ledger import Money, MoneyError

AMSTERDAM = ZoneInfo("Europe/Amsterdam")

_FIELD = re.compile(r"^:(\d{2}[A-Z]?|NS):(.*)$")
_TERMINATOR = re.compile(r"^[-\u00ad\u2010-\u2015]?\}?$")
_KNOWN_TAGS = frozenset(
    {
        "13",
        "13D",
        "20",
        "21",
        "25",
        "25P",
        "28",
        "28C",
        "34F",
        "60",
        "60F",
        "60M",
        "61",
        "62",
        "62F",
        "62M",
        "64",
        "65",
        "86",
        "90C",
        "90D",
        "NS",
    }
)
_OPENING_TAGS = frozenset({"60", "60F", "60M"})
_CLOSING_TAGS = frozenset({"62", "62F", "62M"})
_CONTINUED_TAGS = frozenset({"61", "86", "NS"})
_BALANCE_VALUE = re.compile(r"^[CD]\d{6}[A-Z]{3}\d[\d,]{0,15}$")
_MISSING_LINE_BREAK = re.compile(r":(?:61:\d{6}(?:\d{4})?R?[CD]|6[0-5][FM]?:[CD]\d{6}[A-Z]{3}\d)")
_HEADER_LINES_MAX = 20

_CODEWORDS = (
    "TRTP",
    "IBAN",
    "BIC",
    "NAME",
    "REMI",
    "EREF",
    "MARF",
    "CSID",
    "CNTP",
    "PREF",
    "RTRN",
    "ORDP",
    "BENM",
    "ULTD",
    "ULTC",
    "ULTB",
    "PURP",
    "SVCL",
    "ISDT",
    "SUM",
    "KREF",
    "ADDR",
    "RTYP",
    "EXCH",
    "CHGS",
    "OCMT",
    "IREF",
    "TRCD",
    "CREF",
    "BUSP",
)
_CODEWORD = re.compile(r"/(" + "|".join(_CODEWORDS) + r")/")
_STRUCTURED = re.compile(r"^\s*/(" + "|".join(_CODEWORDS) + r")/")
_BIC = re.compile(r"^[A-Z]{6}[A-Z0-9]{2}(?:[A-Z0-9]{3})?$")
_OLD_ACCOUNT = re.compile(r"^P?\d{6,10}$")
_SWIFT_LINE_LENGTH = 65


@dataclass(slots=True)
class _Field:
    tag: str
    lines: list[str]
    line: int

    @property
    def element(self) -> str:
        return f":{self.tag}:"

    @property
    def value(self) -> str:
        return "\n".join(self.lines).strip()


@dataclass(slots=True)
class _Message:
    line: int
    fields: list[_Field] = field(default_factory=list)


def looks_like_mt940(head: bytes) -> bool:
    """True when the start of a file looks like MT940: a ``:20:`` field or a SWIFT header."""
    text = _decode(head)
    return bool(re.search(r"(?m)^:20:", text)) or text.lstrip().startswith("{1:")


def read_mt940(source: StatementSource) -> list[Statement]:
    """Every statement in an MT940 file, or a StatementError naming line and field."""
    text = _decode(source.read_all())
    messages = _split(text, source.filename)
    return [_Reader(source.filename, message).statement() for message in messages]


def _decode(data: bytes) -> str:
    data = data.removeprefix(b"\xef\xbb\xbf")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _split(text: str, filename: str) -> list[_Message]:
    """The messages of the file, each a list of fields with their line numbers."""
    messages: list[_Message] = []
    current: _Message | None = None
    header_lines = 0
    for number, raw in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), 1):
        line = raw.rstrip()
        if not line.strip():
            continue
        match = _FIELD.match(line)
        if match:
            tag, value = match.group(1), match.group(2)
            if tag not in _KNOWN_TAGS:
                raise StatementError(
                    f"unknown MT940 field :{tag}:",
                    filename=filename,
                    line=number,
                    element=f":{tag}:",
                )
            if tag == "20":
                current = _Message(line=number)
                messages.append(current)
                header_lines = 0
            elif current is None:
                raise StatementError(
                    f"field :{tag}: comes before the start of a statement (:20:)",
                    filename=filename,
                    line=number,
                    element=f":{tag}:",
                )
            current.fields.append(_Field(tag, [value], number))
            _check_line_breaks(value, tag, number, filename)
            continue
        if _TERMINATOR.match(line.strip()):
            current = None
            continue
        if current is not None and current.fields:
            last = current.fields[-1]
            if last.tag not in _CONTINUED_TAGS:
                raise StatementError(
                    f"unexpected text {line.strip()[:40]!r} after field :{last.tag}: "
                    "(only :61: and :86: continue on a next line)",
                    filename=filename,
                    line=number,
                    element=f":{last.tag}:",
                )
            last.lines.append(line)
            _check_line_breaks(line, last.tag, number, filename)
            continue
        # Text outside a statement: a file or SWIFT block header ("{1:...}", BNG "940 02").
        header_lines += 1
        if header_lines > _HEADER_LINES_MAX:
            raise UnsupportedFormatError(
                f"more than {_HEADER_LINES_MAX} lines of text outside a statement; "
                "not an MT940 file",
                filename=filename,
                line=number,
            )
    if not messages:
        raise UnsupportedFormatError(
            "no MT940 statement found (no :20: field)", filename=filename, line=1
        )
    return messages


def _check_line_breaks(text: str, tag: str, number: int, filename: str) -> None:
    found = _MISSING_LINE_BREAK.search(text)
    if found:
        raise StatementError(
            f"the text contains {found.group(0)[:10]!r}: a field tag in the middle of "
            "a line (a line break is missing?); every field must start on a new line",
            filename=filename,
            line=number,
            element=f":{tag}:",
        )


def _new_context() -> mt940.models.Transactions:
    """The mt940 parsing context; `Options` switch on its fixes (signed RC, time offsets)."""
    return mt940.models.Transactions(
        options=mt940.Options(
            reversal_sign=True,
            case_insensitive_marks=True,
            timezone_offset=True,
            merge_keeps_values=True,
            strip_bom=True,
        )
    )


_MT940_ERRORS = (RuntimeError, ValueError, ArithmeticError, KeyError, TypeError, IndexError)


class _Reader:
    """One MT940 message (``:20:`` ... ``:62F:``) into one Statement."""

    def __init__(self, filename: str, message: _Message) -> None:
        self.filename = filename
        self.message = message
        self.context = _new_context()

    def error(self, message: str, at: _Field) -> StatementError:
        return StatementError(message, filename=self.filename, line=at.line, element=at.element)

    def _parse(self, at: _Field, value: str) -> dict[str, Any]:
        """Run the mt940 package's parser for this field's tag (raw groups under ``raw``)."""
        tag = self.context.tags.get(at.tag) or self.context.tags.get(int(at.tag[:2]))
        if tag is None:
            raise self.error("field not understood", at)
        if tag.re.match(value) is None:
            # Checked here first: the package logs the raw field (personal data) when it fails.
            raise self.error(f"cannot read {value[:60]!r}: not a valid :{at.tag}: field", at)
        try:
            parsed = tag.parse(self.context, value)
            result: dict[str, Any] = tag(self.context, dict(parsed))
        except _MT940_ERRORS as error:
            raise self.error(f"cannot read {value[:60]!r}: {_short(error)}", at) from None
        result["raw"] = parsed
        return result

    def statement(self) -> Statement:
        fields = self.message.fields
        statement_id = fields[0].value
        if not statement_id:
            raise self.error("the statement reference (:20:) is empty", fields[0])
        account_field: _Field | None = None
        sequence: str | None = None
        created_at: datetime | None = None
        opening: tuple[int, date, _Field] | None = None
        closing: tuple[int, date, _Field] | None = None
        pending: list[tuple[_Field, _Field | None]] = []
        previous: _Field | None = None
        for current in fields[1:]:
            tag = current.tag
            if tag == "25":
                if account_field is not None:
                    raise self.error("a second account (:25:) in one statement", current)
                account_field = current
            elif tag in ("28", "28C"):
                sequence = current.value or None
            elif tag in ("13", "13D"):
                created_at = self._created_at(current)
            elif tag in _OPENING_TAGS:
                if opening is not None:
                    raise self.error("a second opening balance in one statement", current)
                opening = self._balance(current)
            elif tag == "61":
                if opening is None:
                    raise self.error("a statement line (:61:) before the opening balance", current)
                if closing is not None:
                    raise self.error("a statement line (:61:) after the closing balance", current)
                pending.append((current, None))
            elif tag == "86":
                if previous is not None and previous.tag == "61" and closing is None:
                    pending[-1] = (pending[-1][0], current)
                # otherwise: information for the account owner about the whole statement
            elif tag in _CLOSING_TAGS:
                if closing is not None:
                    raise self.error("a second closing balance in one statement", current)
                if opening is None:
                    raise self.error("a closing balance before the opening balance", current)
                closing = self._balance(current)
            # :21:, :25P:, :34F:, :64:, :65:, :90C:, :90D:, :NS: carry nothing we book.
            previous = current
        first = fields[0]
        if account_field is None:
            raise self.error("the statement has no account (:25:)", first)
        if opening is None:
            raise self.error("the statement has no opening balance (:60F:)", first)
        if closing is None:
            raise self.error("the statement has no closing balance (:62F:)", first)
        account, account_iban = self._account(account_field)
        entries: list[BankEntry] = []
        occurrences: dict[str, int] = {}
        for line_field, details_field in pending:
            entry = self._entry(account, line_field, details_field)
            key = entry.base_key
            seen = occurrences.get(key, 0)
            occurrences[key] = seen + 1
            if seen:
                entry = replace(entry, occurrence=seen + 1)
            entries.append(entry)
        opening_cents, opening_date, _ = opening
        closing_cents, closing_date, closing_field = closing
        check_balances(
            opening_cents=opening_cents,
            entries=entries,
            closing_cents=closing_cents,
            filename=self.filename,
            line=closing_field.line,
            element=closing_field.element,
            closing_label=closing_field.element,
        )
        return Statement(
            format=StatementFormat.MT940,
            statement_id=statement_id,
            account=account,
            account_iban=account_iban,
            currency="EUR",
            opening_balance_cents=opening_cents,
            opening_balance_date=opening_date,
            closing_balance_cents=closing_cents,
            closing_balance_date=closing_date,
            created_at=created_at,
            sequence_number=sequence,
            message_id=None,
            entries=tuple(entries),
            skipped_entries=(),
            source_filename=self.filename,
            line=self.message.line,
        )

    # --- fields ----------------------------------------------------------------------------

    def _account(self, at: _Field) -> tuple[str, str | None]:
        given = at.value
        if not given:
            raise self.error("the account (:25:) is empty", at)
        compact = re.sub(r"\s+", "", given)
        candidates = [compact, *compact.split("/")]
        if re.fullmatch(r".+[A-Z]{3}", compact):
            candidates.append(compact[:-3])  # ING: "NL69INGB0123456789EUR"
        for candidate in candidates:
            iban = valid_iban(candidate)
            if iban is not None:
                return iban, iban
        return given, None

    def _balance(self, at: _Field) -> tuple[int, date, _Field]:
        value = at.value
        if not _BALANCE_VALUE.match(value):
            raise self.error(
                f"balance {value[:40]!r} is not like C241115EUR1234,56 "
                "(mark, date, currency, amount)",
                at,
            )
        result = self._parse(at, value)
        balance = next((v for v in result.values() if isinstance(v, mt940.models.Balance)), None)
        if not isinstance(balance, mt940.models.Balance) or not isinstance(
            balance.amount, mt940.models.Amount
        ):
            raise self.error(f"cannot read balance {value!r}", at)
        currency = balance.amount.currency or ""
        amount_text = str(result["raw"].get("amount") or value)
        cents = self._cents(balance.amount.amount.copy_abs(), currency, amount_text, at)
        if balance.status == "D":
            cents = -cents
        if balance.date is None:
            raise self.error(f"balance {value!r} has no date", at)
        return cents, date(balance.date.year, balance.date.month, balance.date.day), at

    def _cents(self, amount: Decimal, currency: str, text: str, at: _Field) -> int:
        exponent = amount.as_tuple().exponent
        if isinstance(exponent, int) and exponent < -2:
            raise self.error(f"amount {text[:40]!r} has more than two decimals", at)
        try:
            return Money.parse(amount, currency).cents
        except MoneyError as error:
            raise self.error(str(error), at) from None

    def _created_at(self, at: _Field) -> datetime | None:
        result = self._parse(at, at.value)
        moment = result.get("date")
        if not isinstance(moment, datetime):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=AMSTERDAM)
        return moment.astimezone(UTC)

    def _entry(self, account: str, line_field: _Field, details_field: _Field | None) -> BankEntry:
        value = line_field.value
        result = self._parse(line_field, value)
        amount = result.get("amount")
        status = str(result.get("status") or "").upper()
        if not isinstance(amount, mt940.models.Amount) or status not in ("C", "D", "RC", "RD"):
            raise self.error(f"cannot read statement line {value[:60]!r}", line_field)
        amount_text = str(result["raw"].get("amount") or amount.amount.copy_abs())
        amount_cents = self._cents(amount.amount.copy_abs(), "EUR", amount_text, line_field)
        # RC reverses a credit (money goes out), RD reverses a debit (money comes back).
        credit_debit = CreditDebit.CREDIT if status in ("C", "RD") else CreditDebit.DEBIT
        value_date = _plain_date(result.get("date"))
        booking_date = _plain_date(result.get("entry_date")) or value_date
        if booking_date is None:
            raise self.error("the statement line has no date", line_field)
        bank_reference = str(result.get("bank_reference") or "").split("/")[0].strip()
        if bank_reference.upper() in ("", "NONREF"):
            bank_reference = ""
        details = _Details.parse(details_field.lines if details_field else [])
        transaction_code = str(result.get("id") or "").strip() or None
        single = TransactionDetails(
            amount_cents=amount_cents,
            end_to_end_id=details.end_to_end_id,
            instruction_id=None,
            payment_information_id=details.batch_id,
            mandate_id=details.mandate_id,
            counterparty_name=details.name,
            counterparty_iban=details.iban,
            counterparty_account=details.account,
            counterparty_bic=details.bic,
            remittance_unstructured=details.remittance,
            creditor_reference=details.creditor_reference,
            return_reason_code=details.return_reason,
            return_additional_info=None,
        )
        is_batch = details.batch_id is not None and details.end_to_end_id is None
        return BankEntry(
            account=account,
            amount_cents=amount_cents,
            credit_debit=credit_debit,
            status=BOOKED,
            booking_date=booking_date,
            value_date=value_date,
            bank_reference=bank_reference or None,
            counterparty_name=details.name,
            counterparty_iban=details.iban,
            counterparty_account=details.account,
            counterparty_bic=details.bic,
            remittance_unstructured=details.remittance,
            creditor_reference=details.creditor_reference,
            end_to_end_id=details.end_to_end_id,
            batch_payment_information_id=details.batch_id,
            batch_transaction_count=None,
            transactions=() if is_batch else (single,),
            reversal=status in ("RC", "RD"),
            return_reason_code=details.return_reason,
            bank_transaction_code=transaction_code,
            additional_info=details.text or None,
            occurrence=1,
            line=line_field.line,
        )


def _plain_date(value: object) -> date | None:
    if isinstance(value, date):
        return date(value.year, value.month, value.day)
    return None


def _short(error: BaseException) -> str:
    text = str(error.args[0] if error.args else error)
    return text[:120]


def _join_lines(lines: list[str], *, structured: bool) -> str:
    """Join a field's lines: SWIFT wraps at 65 characters, so a full line continues a word."""
    if not lines:
        return ""
    text = lines[0]
    for previous, line in itertools.pairwise(lines):
        hard_wrap = len(previous) >= _SWIFT_LINE_LENGTH
        if hard_wrap or (structured and (line.startswith("/") or previous.endswith("/"))):
            text += line
        else:
            text += " " + line
    return text


@dataclass(slots=True)
class _Details:
    """What an ``:86:`` field says about the counterparty and the payment."""

    text: str = ""
    name: str | None = None
    iban: str | None = None
    account: str | None = None
    bic: str | None = None
    remittance: str | None = None
    creditor_reference: str | None = None
    end_to_end_id: str | None = None
    batch_id: str | None = None
    mandate_id: str | None = None
    return_reason: str | None = None

    @classmethod
    def parse(cls, lines: list[str]) -> _Details:
        stripped = [line.rstrip() for line in lines]
        structured = bool(stripped) and bool(_STRUCTURED.match(stripped[0]))
        text = _join_lines(stripped, structured=structured).strip()
        if structured:
            return cls._codewords(text)
        return cls._free_text(text)

    @classmethod
    def _codewords(cls, text: str) -> _Details:
        values: dict[str, str] = {}
        matches = list(_CODEWORD.finditer(text))
        for index, match in enumerate(matches):
            end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
            values.setdefault(match.group(1), text[match.end() : end])
        details = cls(text=" ".join(text.split()))
        counterparty = values.get("CNTP")
        if counterparty is not None:  # ING: /CNTP/account/BIC/name/city/
            parts = [part.strip() for part in counterparty.split("/")]
            parts += [""] * (3 - len(parts))
            details._set_account(parts[0])
            details.bic = parts[1] or None
            details.name = _clean(parts[2])
        if "IBAN" in values:
            details._set_account(values["IBAN"].strip("/ "))
        if "BIC" in values:
            details.bic = _clean(values["BIC"].strip("/")) or details.bic
        if "NAME" in values:
            details.name = _clean(values["NAME"].strip("/")) or details.name
        remittance = values.get("REMI")
        if remittance is not None:
            if remittance.startswith("USTD/"):
                details.remittance = _clean(remittance[5:].strip("/"))
            elif remittance.startswith("STRD/"):
                parts = remittance.split("/")
                details.creditor_reference = _clean(parts[2] if len(parts) > 2 else "")
            else:
                details.remittance = _clean(remittance.rstrip("/"))
        details.end_to_end_id = _provided(values.get("EREF"))
        details.batch_id = _provided(values.get("PREF"))
        details.mandate_id = _provided(values.get("MARF"))
        if "RTRN" in values:
            reason = re.split(r"[/\s]", values["RTRN"].strip("/ "), maxsplit=1)[0]
            details.return_reason = reason or None
        return details

    @classmethod
    def _free_text(cls, text: str) -> _Details:
        """BNG layout: the counterparty account first, maybe a BIC, then name and description."""
        details = cls(text=" ".join(text.split()))
        tokens = text.split()
        if tokens and (valid_iban(tokens[0]) or _OLD_ACCOUNT.match(tokens[0])):
            details._set_account(tokens.pop(0))
            if tokens and _BIC.match(tokens[0]):
                details.bic = tokens.pop(0)
        details.remittance = " ".join(tokens) or None
        return details

    def _set_account(self, given: str) -> None:
        given = given.strip()
        if not given:
            return
        iban = valid_iban(given)
        if iban is not None:
            self.iban, self.account = iban, None
        else:
            self.iban, self.account = None, given


def _clean(text: str | None) -> str | None:
    if text is None:
        return None
    return " ".join(text.split()) or None


def _provided(text: str | None) -> str | None:
    value = _clean((text or "").strip("/"))
    if value is None or value.replace(" ", "").upper() == "NOTPROVIDED":
        return None
    return value
