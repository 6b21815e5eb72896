"""Our persona statements, read in all three formats, with every value checked exactly.

The story is in fixtures/build_fixtures.py: Zoë Ĳzerman's benefit and allowances, Jan de
Vries's wages, a batch of fixed costs, a returned payment, living money, two identical
credits without a bank reference, a pending contribution, and a missing statement (gap).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from lxml import etree

from backend.bank import (
    BankEntry,
    CreditDebit,
    Statement,
    StatementFormat,
    read_statement_file,
)
from backend.bank.camt053 import camt053_schema
from tests.bank.fixture_paths import (
    CAMT_02,
    CAMT_08,
    FIXTURES,
    FRIDAY,
    MONDAY,
    MT940_DIR,
    MUNICIPALITY_IBAN,
)
from tests.bank.fixtures.build_fixtures import all_documents

FRIDAY_FILES = {
    StatementFormat.CAMT053_001_02: CAMT_02 / f"{FRIDAY}.xml",
    StatementFormat.CAMT053_001_08: CAMT_08 / f"{FRIDAY}.xml",
    StatementFormat.MT940: MT940_DIR / f"{FRIDAY}.sta",
}
MONDAY_FILES = {
    StatementFormat.CAMT053_001_02: CAMT_02 / f"{MONDAY}.xml",
    StatementFormat.CAMT053_001_08: CAMT_08 / f"{MONDAY}.xml",
    StatementFormat.MT940: MT940_DIR / f"{MONDAY}.sta",
}
FORMATS = list(FRIDAY_FILES)
CAMT_FORMATS = [StatementFormat.CAMT053_001_02, StatementFormat.CAMT053_001_08]


def friday(statement_format: StatementFormat) -> Statement:
    statements = read_statement_file(FRIDAY_FILES[statement_format])
    assert statements[0].format is statement_format
    return statements[0]


def test_fixture_files_match_their_source() -> None:
    for relative, content in all_documents().items():
        assert (FIXTURES / relative).read_bytes() == content, relative


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("camt053.*/*.xml")), ids=lambda p: p.name)
def test_every_camt_fixture_is_valid_against_its_schema(path: Path) -> None:
    version = StatementFormat(path.parent.name.replace("camt053", "camt.053"))
    schema = camt053_schema(version)
    assert schema.validate(etree.parse(str(path))), schema.error_log


@pytest.mark.parametrize("statement_format", FORMATS)
def test_friday_statement_header(statement_format: StatementFormat) -> None:
    statement = friday(statement_format)
    assert statement.account == MUNICIPALITY_IBAN
    assert statement.account_iban == MUNICIPALITY_IBAN
    assert statement.currency == "EUR"
    assert statement.opening_balance_cents == 12_345_67
    assert statement.opening_balance_date == date(2024, 11, 15)
    assert statement.closing_balance_cents == 14_710_53
    assert statement.closing_balance_date == date(2024, 11, 15)
    assert statement.source_filename == f"{FRIDAY}{FRIDAY_FILES[statement_format].suffix}"
    assert len(statement.entries) == 9
    assert statement.booked_credit_cents == 3_643_13
    assert statement.booked_debit_cents == 1_278_27
    if statement_format is StatementFormat.MT940:
        assert statement.statement_id == "MT940-20241115"
        assert statement.sequence_number == "00220/1"
        assert statement.created_at is None
        assert statement.message_id is None
        assert statement.pending_entries_skipped == 0
    else:
        assert statement.statement_id == "0285050123-20241115-01"
        assert statement.sequence_number == "220"
        assert statement.created_at == datetime(2024, 11, 15, 17, 5, 12, tzinfo=UTC)
        assert statement.message_id == "BNG-20241115-180512-0220"
        assert statement.pending_entries_skipped == 1


@pytest.mark.parametrize("statement_format", FORMATS)
def test_income_benefit_and_allowances_and_wages(statement_format: StatementFormat) -> None:
    entries = friday(statement_format).entries
    expected = [
        (138745, "Gemeente Utrecht Werk en Inkomen", "NL02BNGH0285128714", "2024111500001",
         "WI-UIT-202411-880142",
         "Participatiewet uitkering november 2024 Z. IJzerman klantnr 880142"),
        (12300, "Belastingdienst Toeslagen", "NL81INGB0002445581", "2024111500002",
         "BT-ZT-2024-12-0000451",
         "VOORSCHOT ZORGTOESLAG 2024 DECEMBER TOESLAGNR 123456782T43 Z IJZERMAN"),
        (41200, "Belastingdienst Toeslagen", "NL81INGB0002445581", "2024111500003",
         "BT-HT-2024-12-0000452",
         "VOORSCHOT HUURTOESLAG 2024 DECEMBER TOESLAGNR 123456782T44 Z IJZERMAN"),
        (164218, "Bakkerij Müller B.V.", "NL42RABO0301862911", "2024111500004",
         "SAL-2024-11-0412", "Salaris november 2024 personeelsnr 0412 J. de Vries"),
    ]  # fmt: skip
    for entry, (cents, name, iban, reference, end_to_end, remittance) in zip(
        entries[:4], expected, strict=True
    ):
        assert entry.credit_debit is CreditDebit.CREDIT
        assert entry.amount_cents == cents
        assert entry.signed_cents == cents
        assert entry.status == "BOOK"
        assert entry.booking_date == date(2024, 11, 15)
        assert entry.value_date == date(2024, 11, 15)
        assert entry.counterparty_name == name
        assert entry.counterparty_iban == iban
        assert entry.counterparty_account is None
        assert entry.bank_reference == reference
        assert entry.end_to_end_id == end_to_end
        assert entry.remittance_unstructured == remittance
        assert entry.creditor_reference is None
        assert entry.reversal is False
        assert entry.return_reason_code is None
        assert entry.occurrence == 1
        assert entry.dedup_key == f"{MUNICIPALITY_IBAN}|ref|{reference}"
        assert len(entry.transactions) == 1
        assert entry.transactions[0].end_to_end_id == end_to_end
    expected_code = "NTRF" if statement_format is StatementFormat.MT940 else "PMNT/RCDT/ESCT"
    assert entries[0].bank_transaction_code == expected_code
    assert entries[0].counterparty_bic == "BNGHNL2G"


@pytest.mark.parametrize("statement_format", CAMT_FORMATS)
def test_batch_debit_with_three_transactions(statement_format: StatementFormat) -> None:
    batch = friday(statement_format).entries[4]
    assert batch.credit_debit is CreditDebit.DEBIT
    assert batch.amount_cents == 120327
    assert batch.signed_cents == -120327
    assert batch.bank_reference == "2024111500005"
    assert batch.batch_payment_information_id == "HHB-20241115-VL-01"
    assert batch.batch_transaction_count == 3
    assert batch.bank_transaction_code == "PMNT/ICDT/ESCT"
    assert batch.additional_info == "Betaalbatch HHB-20241115-VL-01, 3 posten"
    # a batch has no single counterparty or end-to-end id: they are per transaction
    assert batch.end_to_end_id is None
    assert batch.counterparty_name is None
    details = [
        (t.amount_cents, t.end_to_end_id, t.counterparty_name, t.counterparty_iban,
         t.remittance_unstructured, t.creditor_reference)
        for t in batch.transactions
    ]  # fmt: skip
    assert details == [
        (74285, "HHB-20241115-0001", "Stichting Mitros", "NL91ABNA0417164300",
         "Huur december 2024 contract 5531207 Z. IJzerman", None),
        (31200, "HHB-20241115-0002", "Eneco Consumenten B.V.", "NL51ABNA0242490233",
         None, "5021445099812210"),
        (14842, "HHB-20241115-0003", "Zilveren Kruis Zorgverzekeringen N.V.",
         "NL39INGB0000004750", "Premie december 2024 relatienr 88120455 J. de Vries", None),
    ]  # fmt: skip
    assert sum(t.amount_cents or 0 for t in batch.transactions) == batch.amount_cents


def test_batch_debit_in_mt940_carries_the_batch_id_only() -> None:
    batch = friday(StatementFormat.MT940).entries[4]
    assert (batch.credit_debit, batch.amount_cents) == (CreditDebit.DEBIT, 120327)
    assert batch.bank_reference == "2024111500005"
    assert batch.batch_payment_information_id == "HHB-20241115-VL-01"
    assert batch.transactions == ()  # MT940 does not list the payments of a batch
    assert batch.remittance_unstructured == "TOTAAL 3 POSTEN"


@pytest.mark.parametrize("statement_format", FORMATS)
def test_returned_payment(statement_format: StatementFormat) -> None:
    returned = friday(statement_format).entries[5]
    assert returned.credit_debit is CreditDebit.CREDIT
    assert returned.amount_cents == 3850
    assert returned.bank_reference == "2024111500006"
    assert returned.return_reason_code == "AC04"
    assert returned.end_to_end_id == "HHB-20241108-0007"  # the original payment's id
    # the municipality is the debtor of the original payment: the counterparty is Vitens
    assert returned.counterparty_name == "Vitens N.V."
    assert returned.counterparty_iban == "NL75RABO0397050066"
    assert returned.remittance_unstructured == "Water november 2024 klantnr 4410233 Z. IJzerman"
    if statement_format is StatementFormat.MT940:
        assert returned.bank_transaction_code == "NRTI"
    else:
        assert returned.bank_transaction_code == "PMNT/ICDT/RRTN"
        assert returned.transactions[0].return_additional_info == "Rekening opgeheven"


@pytest.mark.parametrize("statement_format", FORMATS)
def test_living_money_to_a_non_ascii_name(statement_format: StatementFormat) -> None:
    living_money = friday(statement_format).entries[6]
    assert living_money.credit_debit is CreditDebit.DEBIT
    assert living_money.amount_cents == 7500
    assert living_money.counterparty_name == "Zoë Ĳzerman"
    assert living_money.counterparty_iban == "NL46ASNB0708473105"
    assert living_money.end_to_end_id == "HHB-20241115-0010"
    assert living_money.remittance_unstructured == "Leefgeld week 47 2024"


@pytest.mark.parametrize("statement_format", FORMATS)
def test_two_identical_credits_without_reference_get_occurrences(
    statement_format: StatementFormat,
) -> None:
    first, second = friday(statement_format).entries[7:9]
    for entry in (first, second):
        assert entry.bank_reference is None
        assert entry.end_to_end_id is None  # NOTPROVIDED
        assert (entry.credit_debit, entry.amount_cents) == (CreditDebit.CREDIT, 2000)
        assert entry.counterparty_name == "H. Müller"
        assert entry.counterparty_iban == "NL74TRIO0390412745"
    assert (first.occurrence, second.occurrence) == (1, 2)
    assert first.base_key == second.base_key
    assert first.base_key.startswith(
        f"{MUNICIPALITY_IBAN}|fallback|2024-11-15|C2000|NL74TRIO0390412745|"
    )
    assert first.dedup_key == first.base_key + "#1"
    assert second.dedup_key == first.base_key + "#2"
    assert first.fingerprint == second.fingerprint


@pytest.mark.parametrize("statement_format", CAMT_FORMATS)
def test_pending_entry_is_skipped_and_reported(statement_format: StatementFormat) -> None:
    statement = friday(statement_format)
    assert statement.pending_entries_skipped == 1
    pending = statement.skipped_entries[0]
    assert pending.status == "PDNG"
    assert pending.amount_cents == 25000
    assert pending.counterparty_name == "Stichting Leergeld Utrecht"
    assert all(entry.status == "BOOK" for entry in statement.entries)


def test_camt_001_08_file_holds_two_statements() -> None:
    main, buffer = read_statement_file(FRIDAY_FILES[StatementFormat.CAMT053_001_08])
    assert main.account == MUNICIPALITY_IBAN
    assert buffer.account == "NL62BNGH0285050131"
    assert buffer.statement_id == "0285050131-20241115-01"
    assert (buffer.opening_balance_cents, buffer.closing_balance_cents) == (500000, 500000)
    assert buffer.entries == ()
    assert buffer.sequence_number == "87"


@pytest.mark.parametrize("statement_format", FORMATS)
def test_monday_statement_shows_a_gap_after_friday(statement_format: StatementFormat) -> None:
    first = friday(statement_format)
    second = read_statement_file(MONDAY_FILES[statement_format])[0]
    assert second.account == first.account
    assert second.opening_balance_cents == 14_960_53
    assert second.opening_balance_cents - first.closing_balance_cents == 250_00  # the gap
    assert second.closing_balance_cents == 14_981_83
    assert [(e.credit_debit, e.amount_cents, e.counterparty_name) for e in second.entries] == [
        (CreditDebit.CREDIT, 9630, "Gemeente Utrecht Werk en Inkomen"),
        (CreditDebit.DEBIT, 7500, "Zoë Ĳzerman"),
    ]
    assert second.entries[0].booking_date == date(2024, 11, 18)


def test_the_same_entries_get_the_same_keys_in_every_format() -> None:
    keys = {fmt: [e.dedup_key for e in friday(fmt).entries] for fmt in FORMATS}
    assert keys[StatementFormat.CAMT053_001_02] == keys[StatementFormat.CAMT053_001_08]
    assert keys[StatementFormat.CAMT053_001_02] == keys[StatementFormat.MT940]
    assert len(set(keys[StatementFormat.MT940])) == 9


@pytest.mark.parametrize("statement_format", FORMATS)
def test_reading_twice_gives_identical_statements(statement_format: StatementFormat) -> None:
    path = FRIDAY_FILES[statement_format]
    first = read_statement_file(path)
    again = read_statement_file(path.read_bytes(), filename=path.name)
    assert first == again
    assert [e.dedup_key for e in first[0].entries] == [e.dedup_key for e in again[0].entries]


def test_entries_are_immutable() -> None:
    entry: BankEntry = friday(StatementFormat.CAMT053_001_02).entries[0]
    with pytest.raises(AttributeError):
        entry.amount_cents = 1  # type: ignore[misc]
