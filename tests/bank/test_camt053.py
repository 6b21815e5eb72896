"""CAMT.053: refusals with file, line and element — the VNG files and hand-made bad input."""

from __future__ import annotations

import time
from datetime import date

import pytest

from backend.bank import (
    BalanceMismatchError,
    SchemaViolationError,
    StatementError,
    StatementFormat,
    UnsupportedFormatError,
    read_statement_file,
)
from backend.bank.generate import (
    DocumentSpec,
    EntrySpec,
    PartySpec,
    StatementSpec,
    TransactionSpec,
    generate_camt053,
    write_camt053,
)
from tests.bank.fixture_paths import CAMT_02, CAMT_08, FRIDAY, VNG

FRIDAY_02 = (CAMT_02 / f"{FRIDAY}.xml").read_bytes()
FRIDAY_08 = (CAMT_08 / f"{FRIDAY}.xml").read_bytes()


def line_of(data: bytes, needle: bytes, occurrence: int = 1) -> int:
    position = -1
    for _ in range(occurrence):
        position = data.index(needle, position + 1)
    return data.count(b"\n", 0, position) + 1


def refuse(data: bytes, filename: str = "camt-nov.xml") -> StatementError:
    with pytest.raises(StatementError) as caught:
        read_statement_file(data, filename=filename)
    return caught.value


# --- the VNG Huishoudboekje files: all invalid against the schema ----------------------------

VNG_CAMT = {
    "Basic_bank_transaction_CAMT.053_v1.xml": [
        "line 5, element GrpHdr/MsgId: the value has a length of '36'",
        "line 27, element Stmt/Bal: missing child element(s). Expected is ( Dt )",
        "line 39, element Bal/Tp/CdOrPrtry/Cd: the value 'CRDT' is not an element of the set",
    ],
    "Duplicate_bank_transaction_1_CAMT.053_v1.xml": [
        "line 72, element Ntry/BkTxCd: character content other than whitespace is not allowed",
        "line 100, element Ntry/NtryDtls/TxDtls/RltdPties/CdtrAcct: character content",
    ],
    "Duplicate_bank_transaction_2_CAMT.053_v1.xml": [
        "line 72, element Ntry/BkTxCd: character content other than whitespace is not allowed",
    ],
    "Empty_customer_statement_message_CAMT.053_v2.xml": [
        "line 36, element Stmt/Bal: missing child element(s). Expected is ( Dt )",
    ],
    "Interbank_transaction_CAMT.053_v1.xml": [
        "line 39, element Bal/Tp/CdOrPrtry/Cd: the value 'CRDT' is not an element of the set",
    ],
    "Negative_amount_CAMT.053_v1.xml": [
        "line 62, element Ntry/Amt: the value '-1251.26' is less than the minimum value allowed",
        "line 86, element Ntry/NtryDtls/TxDtls/AmtDtls/TxAmt/Amt: the value '-1251.26'",
    ],
    "Payment_mandate_CAMT.053_v1.xml": [
        "line 100, element Ntry/NtryDtls/TxDtls/RltdPties/CdtrAcct: character content",
    ],
    "Persona 1 Periode 202408 CAMT.053.xml": [
        "line 14, element Stmt/Id: the value has a length of '36'",
    ],
}


@pytest.mark.parametrize("name", sorted(VNG_CAMT))
def test_vng_camt_files_are_refused_naming_line_and_element(name: str) -> None:
    with pytest.raises(SchemaViolationError) as caught:
        read_statement_file(VNG / "CAMT.053" / name)
    error = caught.value
    assert error.filename == name
    assert (error.line, error.element) == (2, "Document")
    assert str(error).startswith(
        f"{name} line 2, element Document: does not follow the camt.053.001.02 schema: "
        "the attribute 'xmlns_xsi' is not allowed (and "
    )
    for expected in VNG_CAMT[name]:
        assert any(detail.startswith(expected) for detail in error.details), (
            expected,
            error.details,
        )


# --- amounts ----------------------------------------------------------------------------------


def test_three_decimals_are_refused() -> None:
    data = FRIDAY_02.replace(b'<Amt Ccy="EUR">123.00</Amt>', b'<Amt Ccy="EUR">12.345</Amt>', 1)
    error = refuse(data)
    expected_line = line_of(data, b"12.345")
    assert str(error) == (
        f"camt-nov.xml line {expected_line}, element Ntry/Amt: "
        "amount '12.345' has more than two decimals"
    )


def test_a_non_euro_entry_is_refused() -> None:
    data = FRIDAY_08.replace(b'<Amt Ccy="EUR">412.00</Amt>', b'<Amt Ccy="USD">412.00</Amt>', 1)
    error = refuse(data)
    assert error.line == line_of(data, b'Ccy="USD"')
    assert error.element == "Ntry/Amt"
    assert error.message == "currency 'USD' is not accepted; only EUR"


def test_a_non_euro_account_is_refused() -> None:
    data = FRIDAY_02.replace(b"<Ccy>EUR</Ccy>", b"<Ccy>GBP</Ccy>", 1)
    error = refuse(data)
    assert error.element == "Acct/Ccy"
    assert "'GBP' is not accepted; only EUR" in error.message


def test_a_non_euro_balance_is_refused() -> None:
    data = FRIDAY_02.replace(b'<Amt Ccy="EUR">12345.67</Amt>', b'<Amt Ccy="CHF">12345.67</Amt>')
    error = refuse(data)
    assert (error.element, error.message) == ("Bal/Amt", "currency 'CHF' is not accepted; only EUR")


def test_an_absurd_amount_is_refused() -> None:
    data = FRIDAY_02.replace(b'<Amt Ccy="EUR">75.00</Amt>', b'<Amt Ccy="EUR">99999999.00</Amt>', 1)
    error = refuse(data)
    assert error.element == "Ntry/Amt"
    assert "larger than the maximum" in error.message


# --- balances ---------------------------------------------------------------------------------


def test_balances_that_do_not_add_up_are_refused_naming_both_numbers() -> None:
    data = FRIDAY_02.replace(b'<Amt Ccy="EUR">14710.53</Amt>', b'<Amt Ccy="EUR">14700.53</Amt>')
    with pytest.raises(BalanceMismatchError) as caught:
        read_statement_file(data, filename="camt-nov.xml")
    error = caught.value
    assert error.element == "Stmt/Bal"
    assert error.line == line_of(data, b"<Cd>CLBD</Cd>") - 3
    assert error.message == (
        "balances do not add up: opening balance 12345.67 + booked credits 3643.13 "
        "− booked debits 1278.27 = 14710.53, but the closing balance (CLBD) is 14700.53 "
        "(difference -10.00)"
    )


def test_a_pending_entry_booked_by_mistake_breaks_the_balance() -> None:
    data = FRIDAY_02.replace(b"<Sts>PDNG</Sts>", b"<Sts>BOOK</Sts>")
    assert isinstance(refuse(data), BalanceMismatchError)


def test_a_debit_opening_balance_is_negative() -> None:
    statement = StatementSpec(
        statement_id="S1",
        account_iban="NL84BNGH0285050123",
        opening_cents=-5000,
        opening_date=date(2024, 11, 15),
        closing_date=date(2024, 11, 15),
        created_at="2024-11-15T18:00:00",
        entries=(EntrySpec(amount_cents=7500, credit=True, booking_date=date(2024, 11, 15)),),
    )
    data = write_camt053(
        DocumentSpec("M1", "2024-11-15T18:00:00", (statement,)), StatementFormat.CAMT053_001_02
    )
    (read,) = read_statement_file(data, filename="overdrawn.xml")
    assert (read.opening_balance_cents, read.closing_balance_cents) == (-5000, 2500)
    assert (
        read.created_at is not None and read.created_at.isoformat() == "2024-11-15T17:00:00+00:00"
    )


def test_a_missing_closing_balance_is_refused() -> None:
    data = FRIDAY_02.replace(b"<Cd>CLBD</Cd>", b"<Cd>ITBD</Cd>")
    error = refuse(data)
    assert error.element == "Stmt"
    assert "expected exactly one" in error.message


# --- schema and namespace ---------------------------------------------------------------------


def test_wrong_namespace_is_refused() -> None:
    data = FRIDAY_02.replace(b"camt.053.001.02", b"camt.052.001.02")
    error = refuse(data)
    assert isinstance(error, UnsupportedFormatError)
    assert (error.line, error.element) == (2, "Document")
    assert "urn:iso:std:iso:20022:tech:xsd:camt.052.001.02" in error.message
    assert "expected a CAMT.053 Document" in error.message


def test_no_namespace_is_refused() -> None:
    data = FRIDAY_02.replace(b' xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"', b"")
    error = refuse(data)
    assert isinstance(error, UnsupportedFormatError)
    assert "the root element is Document; expected a CAMT.053 Document" in error.message


def test_a_schema_error_names_line_and_element() -> None:
    data = FRIDAY_08.replace(b"<CdtDbtInd>DBIT</CdtDbtInd>", b"<CdtDbtInd>DEBIT</CdtDbtInd>", 1)
    error = refuse(data)
    assert isinstance(error, SchemaViolationError)
    assert error.line == line_of(data, b"DEBIT</CdtDbtInd>")
    assert error.element == "Ntry/CdtDbtInd"
    assert "the value 'DEBIT' is not an element of the set {'CRDT', 'DBIT'}" in error.message


def test_a_schema_error_wins_over_a_later_reading_error() -> None:
    # the amount error comes first in the file, the schema error later: the schema is checked first
    data = FRIDAY_02.replace(b'<Amt Ccy="EUR">123.00</Amt>', b'<Amt Ccy="EUR">12.345</Amt>', 1)
    data = data.replace(b"<Sts>PDNG</Sts>", b"<Sts>WAIT</Sts>")
    assert isinstance(refuse(data), SchemaViolationError)


def test_not_well_formed_xml_is_refused_with_its_line() -> None:
    data = FRIDAY_02.replace(b"</AcctSvcrRef>", b"</AcctSvcrReference>", 1)
    error = refuse(data)
    assert isinstance(error, UnsupportedFormatError)
    assert error.line == line_of(data, b"</AcctSvcrReference>")
    assert error.message.startswith("not well-formed XML: ")


@pytest.mark.parametrize(
    "data",
    [
        FRIDAY_02[: len(FRIDAY_02) // 2],
        FRIDAY_02[:-5],
        FRIDAY_02.replace(b"</Document>", b""),
        FRIDAY_08.replace(b"</Stmt>\n  </BkToCstmrStmt>\n</Document>\n", b"</Stmt>\n"),
        FRIDAY_02 + b"<Document/>",
    ],
    ids=["half", "end-tag-cut", "root-not-closed", "second-statement-cut", "trailing-element"],
)
def test_a_truncated_file_is_refused_not_read_short(data: bytes) -> None:
    # libxml2's streaming validation drops "premature end of data"; we must not.
    error = refuse(data)
    assert isinstance(error, UnsupportedFormatError)
    assert error.message.startswith("not well-formed XML: ")
    assert error.line is not None


def test_an_invalid_account_iban_is_refused() -> None:
    data = FRIDAY_02.replace(
        b"<IBAN>NL84BNGH0285050123</IBAN>", b"<IBAN>NL85BNGH0285050123</IBAN>", 1
    )
    error = refuse(data)
    assert error.element == "Acct/Id/IBAN"
    assert "'NL85BNGH0285050123' is not a valid IBAN" in error.message


def test_a_comment_inside_an_amount_cannot_change_what_is_read() -> None:
    # The schema validator ignores comments; so must we (lxml drops them while parsing).
    data = FRIDAY_02.replace(
        b'<Amt Ccy="EUR">75.00</Amt>', b'<Amt Ccy="EUR">7<!-- x -->5.00</Amt>', 1
    )
    (statement,) = read_statement_file(data, filename="comment.xml")
    assert statement.entries[6].amount_cents == 7500


def test_entry_elements_inside_supplementary_data_are_not_entries() -> None:
    extra = (
        b'<SplmtryData><Envlp><Ntry><Amt Ccy="EUR">1.00</Amt></Ntry></Envlp></SplmtryData>'
        b"</BkToCstmrStmt>"
    )
    data = FRIDAY_08.replace(b"</BkToCstmrStmt>", extra)
    statements = read_statement_file(data, filename="extra.xml")
    assert [len(s.entries) for s in statements] == [9, 0]


# --- other shapes of valid input ---------------------------------------------------------------


def test_a_repeated_bank_reference_is_never_merged() -> None:
    party = PartySpec("Belastingdienst Toeslagen", "NL81INGB0002445581", None)
    entries = tuple(
        EntrySpec(
            amount_cents=cents,
            credit=True,
            booking_date=date(2024, 8, 20),
            reference="232070C7H4CYV5",  # as in the VNG persona file: one reference for all
            transactions=(TransactionSpec(amount_cents=cents, debtor=party),),
        )
        for cents in (10700, 14784, 10700)
    )
    statement = StatementSpec(
        statement_id="S1",
        account_iban="NL84BNGH0285050123",
        opening_cents=0,
        opening_date=date(2024, 8, 20),
        closing_date=date(2024, 8, 20),
        created_at="2024-08-20T18:00:00Z",
        entries=entries,
    )
    data = write_camt053(
        DocumentSpec("M1", "2024-08-20T18:00:00Z", (statement,)), StatementFormat.CAMT053_001_08
    )
    (read,) = read_statement_file(data, filename="reused-reference.xml")
    keys = [entry.dedup_key for entry in read.entries]
    assert keys == [
        "NL84BNGH0285050123|ref|232070C7H4CYV5",
        "NL84BNGH0285050123|ref|232070C7H4CYV5#2",
        "NL84BNGH0285050123|ref|232070C7H4CYV5#3",
    ]
    assert read.entries[0].fingerprint != read.entries[1].fingerprint


def test_booking_date_as_date_time_is_read_in_amsterdam() -> None:
    data = FRIDAY_02.replace(
        b"<BookgDt>\n          <Dt>2024-11-15</Dt>",
        b"<BookgDt>\n          <DtTm>2024-11-15T23:30:00Z</DtTm>",
        1,
    )
    assert data != FRIDAY_02
    (statement,) = read_statement_file(data, filename="dttm.xml")
    assert statement.entries[0].booking_date == date(2024, 11, 16)


def test_many_schema_errors_are_located_in_linear_time() -> None:
    # Validating the whole tree would compute an XPath per error over 20,000 siblings
    # (quadratic, minutes for 100,000); entries are checked one by one instead.
    data = generate_camt053(20_000, seed=3).replace(b"<Sts>BOOK</Sts>", b"<Sts>BOOX</Sts>")
    started = time.perf_counter()
    with pytest.raises(SchemaViolationError) as caught:
        read_statement_file(data, filename="all-wrong.xml")
    assert time.perf_counter() - started < 10
    error = caught.value
    assert error.element == "Ntry/Sts"
    assert error.message.endswith("{'BOOK', 'PDNG', 'INFO'} (and more schema errors)")
    assert len(error.details) == 20


def test_an_entry_out_of_place_is_named_even_without_a_line() -> None:
    monday = (CAMT_02 / "gemeente-utrecht-2024-11-18.xml").read_bytes()
    start = monday.index(b"      <!-- Inkomen")
    end = monday.index(b"</Ntry>", start) + len(b"</Ntry>\n")
    without = monday[:start] + monday[end:]
    first_balance = without.index(b"      <Bal>")
    data = without[:first_balance] + monday[start:end] + without[first_balance:]
    error = refuse(data)
    assert isinstance(error, SchemaViolationError)
    assert (error.line, error.element) == (None, "Ntry")
    assert "this element is not expected. Expected is one of ( RltdAcct, Intrst, Bal )" in str(
        error
    )


def test_a_reference_that_looks_like_an_occurrence_does_not_collide() -> None:
    party = PartySpec("Belastingdienst Toeslagen", "NL81INGB0002445581", None)
    entries = tuple(
        EntrySpec(
            amount_cents=100,
            credit=True,
            booking_date=date(2024, 8, 20),
            reference=reference,
            transactions=(TransactionSpec(amount_cents=100, debtor=party),),
        )
        for reference in ("R1", "R1", "R1#2", "A|B")
    )
    statement = StatementSpec(
        statement_id="S1",
        account_iban="NL84BNGH0285050123",
        opening_cents=0,
        opening_date=date(2024, 8, 20),
        closing_date=date(2024, 8, 20),
        created_at="2024-08-20T18:00:00Z",
        entries=entries,
    )
    data = write_camt053(
        DocumentSpec("M1", "2024-08-20T18:00:00Z", (statement,)), StatementFormat.CAMT053_001_02
    )
    (read,) = read_statement_file(data, filename="odd-references.xml")
    assert [entry.dedup_key for entry in read.entries] == [
        "NL84BNGH0285050123|ref|R1",
        "NL84BNGH0285050123|ref|R1#2",
        "NL84BNGH0285050123|ref|R1%232",
        "NL84BNGH0285050123|ref|A%7CB",
    ]
