"""MT940: the VNG bank layouts (ABN AMRO, ING, BNG), refusals and hand-made bad input."""

from __future__ import annotations

from datetime import date

import pytest

from backend.bank import (
    BalanceMismatchError,
    CreditDebit,
    StatementError,
    StatementFormat,
    UnsupportedFormatError,
    read_statement_file,
)
from tests.bank.fixture_paths import FRIDAY, MT940_DIR, VNG

VNG_MT940 = VNG / "MT940"
FRIDAY_STA = (MT940_DIR / f"{FRIDAY}.sta").read_bytes()


def refuse(data: bytes, filename: str = "mt940-nov.sta") -> StatementError:
    with pytest.raises(StatementError) as caught:
        read_statement_file(data, filename=filename)
    return caught.value


# --- the VNG Huishoudboekje files ---------------------------------------------------------------


def test_abn_amro_layout_is_read() -> None:
    (statement,) = read_statement_file(VNG_MT940 / "MT940-ABN.txt")
    assert statement.format is StatementFormat.MT940
    assert statement.statement_id == "ABN AMRO BANK NV"
    assert statement.account == "123456789"  # an old account number, not an IBAN
    assert statement.account_iban is None
    assert statement.sequence_number == "13501/1"
    assert (statement.opening_balance_cents, statement.opening_balance_date) == (
        513861,
        date(2012, 5, 11),
    )
    assert (statement.closing_balance_cents, statement.closing_balance_date) == (
        563862,
        date(2012, 5, 14),
    )
    (entry,) = statement.entries
    assert (entry.credit_debit, entry.amount_cents) == (CreditDebit.CREDIT, 50001)
    assert (entry.value_date, entry.booking_date) == (date(2012, 5, 12), date(2012, 5, 14))
    assert entry.bank_reference is None  # NONREF
    assert entry.counterparty_name == "QASD JGRED"
    assert entry.counterparty_iban is None
    assert entry.counterparty_account == "FR12345678901234"  # too short for a French IBAN
    assert entry.counterparty_bic == "GEFRADAM"
    assert entry.remittance_unstructured == "Dit zijn de omschrijvingsregels"
    assert entry.end_to_end_id is None  # "NOTPRO" + "VIDED" across a line break
    assert entry.bank_transaction_code == "N654"
    assert entry.dedup_key.startswith("123456789|fallback|2012-05-14|C50001|FR12345678901234|")


def test_ing_layout_is_read() -> None:
    (statement,) = read_statement_file(VNG_MT940 / "MT940-ING.txt")
    assert statement.statement_id == "P140220000000001"
    assert statement.account == statement.account_iban == "NL69INGB0123456789"
    assert (statement.opening_balance_cents, statement.closing_balance_cents) == (66223, 56435)
    rows = [
        (e.credit_debit.value, e.amount_cents, e.bank_reference, e.end_to_end_id,
         e.batch_payment_information_id, e.return_reason_code, e.counterparty_name,
         e.counterparty_iban, e.remittance_unstructured, e.creditor_reference,
         e.bank_transaction_code)
        for e in statement.entries
    ]  # fmt: skip
    assert rows == [
        ("CRDT", 156, "00000000001005", "EV12341REP1231456T1234", None, None,
         "ING BANK NV INZAKE WEB", "NL32INGB0000012345", "EV10001REP1000000T1000", None, "NTRF"),
        ("DBIT", 157, "00000000001006", None, "M000000003333333", None, None, None,
         "TOTAAL 1 VZ", None, "NTRF"),
        ("CRDT", 157, "00000000001007", "20120123456789", None, "MS03", "J.Janssen",
         "NL32INGB0000012345", "Factuurnr 123456 Klantnr 00123", None, "NRTI"),
        ("DBIT", 114, "00000000001009", "EV123REP123412T1234", None, None,
         "ING Bank N.V. inzake WeB", "NL32INGB0000012345", "EV123REP123412T1234", None, "NDDT"),
        ("CRDT", 145, "00000000001008", None, "M000000001111111", None, None, None,
         "TOTAAL 1 POSTEN", None, "NDDT"),
        ("DBIT", 1275, "00000000001010", "20120501P0123478", None, "MS03", "J.Janssen",
         "NL32INGB0000012345", "CONTRIBUTIE FEB 2014", None, "NRTI"),
        ("CRDT", 3200, "00000000001011", "15814016000676480", None, None, "J.Janssen",
         "NL32INGB0000012345", None, "9001123412341234", "NTRF"),
        ("DBIT", 11900, "00000000001012", "15614016000384600", None, None, "INGBANK NV",
         "NL32INGB0000012345", None, "1070123412341234", "NTRF"),
    ]  # fmt: skip
    # the file has a soft hyphen (U+00AD) where the mandate id had a dash, and one before "}"
    assert statement.entries[3].transactions[0].mandate_id == "MND\u00adEV01"
    # the ":86:/SUM/..." after the closing balance is about the statement, not the last entry
    assert "SUM" not in (statement.entries[-1].additional_info or "")


def test_bng_layout_is_refused_because_a_line_break_is_missing() -> None:
    # MT940-BNG.txt is genuinely malformed: line 19 ends with ":61:140912D100,00NMSC092", a
    # statement line glued to the :86: before it. Reading on would silently lose € 100,00.
    with pytest.raises(StatementError) as caught:
        read_statement_file(VNG_MT940 / "MT940-BNG.txt")
    error = caught.value
    assert (error.filename, error.line, error.element) == ("MT940-BNG.txt", 19, ":86:")
    assert str(error) == (
        "MT940-BNG.txt line 19, field :86: — the text contains ':61:140912': a field tag in "
        "the middle of a line (a line break is missing?); every field must start on a new line"
    )


def test_bng_layout_with_the_line_break_restored_is_read() -> None:
    data = (VNG_MT940 / "MT940-BNG.txt").read_bytes()
    repaired = data.replace(b"Zahlungsnummer 1234568 :61:", b"Zahlungsnummer 1234568\n:61:")
    (statement,) = read_statement_file(repaired, filename="MT940-BNG-repaired.txt")
    assert statement.statement_id == "34948929"
    assert statement.account == "0285053876"
    assert statement.sequence_number == "9/1"
    assert statement.opening_balance_cents == -2_000_000  # D: overdrawn
    assert statement.closing_balance_cents == 17_060_000
    assert len(statement.entries) == 14
    first = statement.entries[0]
    assert (first.credit_debit, first.amount_cents) == (CreditDebit.DEBIT, 100000)
    assert first.counterparty_account == "0266474500"
    assert first.remittance_unstructured == (
        "Bakkerij van Bohemen Lange Houtstraat 11 Den Haag Bestelling van gebak"
    )
    tax = statement.entries[9]
    assert (tax.counterparty_iban, tax.counterparty_bic) == ("NL09INGB0000156610", "INGBNL2A")
    assert tax.remittance_unstructured == (
        "Belastingdienst Amsterdam NL REFO: BEL1234678 correctiebedrag maand augustus"
    )
    assert statement.entries[12].remittance_unstructured == "BGC. 99 ACCEPTGIRO’S RUNNR: 4956"
    # BNG gives no bank reference: every entry has a fallback key, all different
    assert all(entry.bank_reference is None for entry in statement.entries)
    assert len({entry.dedup_key for entry in statement.entries}) == 14


@pytest.mark.parametrize(
    ("name", "line", "computed", "closing"),
    [
        ("Banktransacties persona 1 zorgtoeslag.txt", 440, "7704.00", "0.00"),
        ("Banktransacties persona 2 vaste lasten pakket.txt", 80, "1080.00", "0.00"),
        ("MT940-Banktransacties2020.txt", 58, "3520.00", "0.00"),
    ],
)
def test_vng_persona_files_are_refused_because_balances_do_not_add_up(
    name: str, line: int, computed: str, closing: str
) -> None:
    # Genuinely malformed: these files close at 0,00 whatever their entries add up to.
    with pytest.raises(BalanceMismatchError) as caught:
        read_statement_file(VNG_MT940 / name)
    error = caught.value
    assert (error.line, error.element) == (line, ":62F:")
    assert f"= {computed}, but the closing balance (:62F:) is {closing}" in error.message


def test_mt940_incorrect_is_refused() -> None:
    with pytest.raises(UnsupportedFormatError) as caught:
        read_statement_file(VNG_MT940 / "MT940-incorrect.txt")
    assert str(caught.value) == (
        "MT940-incorrect.txt line 1: not a bank statement: neither CAMT.053 XML nor MT940 "
        "(the file starts with 'test')"
    )


# --- hand-made bad input ---------------------------------------------------------------------


def test_three_decimals_are_refused() -> None:
    data = FRIDAY_STA.replace(b"C123,00NTRF", b"C123,005NTRF")
    error = refuse(data)
    assert (error.line, error.element) == (12, ":61:")
    assert error.message == "amount '123,005' has more than two decimals"


def test_three_decimals_in_a_balance_are_refused() -> None:
    error = refuse(FRIDAY_STA.replace(b":60F:C241115EUR12345,67", b":60F:C241115EUR12345,670"))
    assert (error.line, error.element) == (7, ":60F:")
    assert error.message == "amount '12345,670' has more than two decimals"


def test_a_non_euro_statement_is_refused() -> None:
    data = FRIDAY_STA.replace(b":60F:C241115EUR", b":60F:C241115USD")
    error = refuse(data)
    assert (error.line, error.element) == (7, ":60F:")
    assert error.message == "currency 'USD' is not accepted; only EUR"


def test_balances_that_do_not_add_up_are_refused() -> None:
    data = FRIDAY_STA.replace(b":62F:C241115EUR14710,53", b":62F:C241115EUR14710,35")
    error = refuse(data)
    assert isinstance(error, BalanceMismatchError)
    assert str(error) == (
        "mt940-nov.sta line 39, field :62F: — balances do not add up: opening balance 12345.67 "
        "+ booked credits 3643.13 − booked debits 1278.27 = 14710.53, but the closing balance "
        "(:62F:) is 14710.35 (difference -0.18)"
    )


@pytest.mark.parametrize(
    ("old", "new", "line", "element", "message"),
    [
        (b":62F:C241115EUR14710,53\r\n", b"", 4, ":20:", "no closing balance"),
        (b":60F:C241115EUR12345,67\r\n", b"", 7, ":61:", "before the opening balance"),
        (b":25:NL84BNGH0285050123EUR\r\n", b"", 4, ":20:", "no account (:25:)"),
        (b":64:", b":61:2411151115C1,00NTRFNONREF\r\n:64:", 40, ":61:", "after the closing"),
        (b":28C:00220/1", b":28C:00220/1\r\n:99:X", 7, ":99:", "unknown MT940 field :99:"),
        (b":25:NL84BNGH0285050123EUR", b":25:NL84BNGH0285050123EUR\r\nextra", 6, ":25:",
         "unexpected text 'extra' after field :25:"),
        (b":60F:C241115EUR12345,67", b":60F:C241115EUR12345,67X", 7, ":60F:",
         "is not like C241115EUR1234,56"),
        (b"C1387,45NTRF", b"C1387,45NTRF:61:241115C1,00", 8, ":61:", "a field tag in the middle"),
        (b":61:2411151115C123,00", b":61:2413151115C123,00", 12, ":61:", "cannot read"),
    ],
)  # fmt: skip
def test_broken_structure_is_refused_with_line_and_field(
    old: bytes, new: bytes, line: int, element: str, message: str
) -> None:
    data = FRIDAY_STA.replace(old, new, 1)
    assert data != FRIDAY_STA
    error = refuse(data)
    assert (error.line, error.element) == (line, element), str(error)
    assert message in error.message


def test_two_statements_in_one_file_are_both_read() -> None:
    monday = (MT940_DIR / "gemeente-utrecht-2024-11-18.sta").read_bytes()
    statements = read_statement_file(FRIDAY_STA + monday, filename="two.sta")
    assert [s.statement_id for s in statements] == ["MT940-20241115", "MT940-20241118"]
    assert statements[1].line == 45


def test_reversal_marks_are_read_with_their_booking_direction() -> None:
    data = FRIDAY_STA.replace(b"C1387,45NTRF", b"RD1387,45NTRF").replace(
        b":62F:C241115EUR14710,53", b":62F:C241115EUR14710,53"
    )
    (statement,) = read_statement_file(data, filename="rd.sta")
    assert statement.entries[0].reversal is True
    assert statement.entries[0].credit_debit is CreditDebit.CREDIT  # RD: a debit undone


def test_creation_time_is_read_as_utc() -> None:
    data = FRIDAY_STA.replace(b":25:", b":13D:2411151805+0100\r\n:25:", 1)
    (statement,) = read_statement_file(data, filename="13d.sta")
    assert statement.created_at is not None
    assert statement.created_at.isoformat() == "2024-11-15T17:05:00+00:00"
