"""Hostile and wrong input is refused with a clear error, and nothing is written."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from backend.bank import (
    BalanceMismatchError,
    FileTooLargeError,
    StatementError,
    StatementFormat,
    UnsafeXmlError,
    UnsupportedFormatError,
)
from backend.bank.generate import (
    DocumentSpec,
    EntrySpec,
    StatementSpec,
    write_camt053,
)
from backend.bank_import import (
    AccountNotOursError,
    EntryConflictError,
    StatementConflictError,
    StatementTooOldError,
)
from backend.config import Settings
from tests.bank.fixture_paths import CAMT_02, CAMT_08, FRIDAY, MT940_DIR
from tests.bank.test_xml_safety import BILLION_LAUGHS, XXE
from tests.bank_import.conftest import (
    build_persona,
    camt,
    credit,
    do_import,
    holdings,
    row_counts,
)

FRIDAY_02 = (CAMT_02 / f"{FRIDAY}.xml").read_bytes()
FRIDAY_MT940 = (MT940_DIR / f"{FRIDAY}.sta").read_bytes()


def _big_file(tmp_path: Path) -> Path:
    path = tmp_path / "huge.xml"
    with path.open("wb") as stream:
        stream.write(b'<?xml version="1.0"?>\n<Document>')
        stream.truncate(200 * 1024 * 1024)  # sparse: nothing is really written
    return path


HOSTILE: dict[str, tuple[Callable[[Path], Path | bytes], type[StatementError], str]] = {
    "xxe": (lambda _: XXE, UnsafeXmlError, "<!DOCTYPE> declaration is not accepted"),
    "billion laughs": (lambda _: BILLION_LAUGHS, UnsafeXmlError, "DOCTYPE"),
    "200 MB": (_big_file, FileTooLargeError, "the file is 200.0 MB; the maximum is 100.0 MB"),
    "wrong namespace": (
        lambda _: FRIDAY_02.replace(b"camt.053.001.02", b"camt.053.001.04"),
        UnsupportedFormatError,
        "expected a CAMT.053 Document in namespace",
    ),
    "non-EUR": (
        lambda _: FRIDAY_02.replace(b'<Amt Ccy="EUR">412.00</Amt>', b'<Amt Ccy="USD">412.00</Amt>'),
        StatementError,
        "currency 'USD' is not accepted; only EUR",
    ),
    "three decimals": (
        lambda _: FRIDAY_02.replace(b'<Amt Ccy="EUR">123.00</Amt>', b'<Amt Ccy="EUR">12.345</Amt>'),
        StatementError,
        "amount '12.345' has more than two decimals",
    ),
    "balances do not add up": (
        lambda _: FRIDAY_02.replace(
            b'<Amt Ccy="EUR">14710.53</Amt>', b'<Amt Ccy="EUR">14700.53</Amt>'
        ),
        BalanceMismatchError,
        "balances do not add up",
    ),
    "MT940 balances do not add up": (
        lambda _: FRIDAY_MT940.replace(b":62F:C241115EUR14710,53", b":62F:C241115EUR14710,54"),
        BalanceMismatchError,
        "balances do not add up",
    ),
    "not the municipality's account": (
        lambda _: FRIDAY_02.replace(b"NL84BNGH0285050123", b"NL91ABNA0417164300"),
        AccountNotOursError,
        "account NL91ABNA0417164300 is not one of the municipality's accounts",
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_input_is_refused_and_writes_nothing(
    session: Session, settings: Settings, tmp_path: Path, case: str
) -> None:
    build_persona(session, settings)
    do_import(session, CAMT_02 / f"{FRIDAY}.xml")  # something to compare with
    before = (row_counts(session), holdings(session))
    make, error_type, message = HOSTILE[case]
    data = make(tmp_path)
    with pytest.raises(error_type) as caught:
        do_import(session, data, filename="hostile.xml")
    error = caught.value
    assert message in str(error)
    assert str(error).startswith(error.filename)  # "file line N, element X: why"
    assert (row_counts(session), holdings(session)) == before


def test_a_file_with_one_foreign_statement_is_refused_whole(
    session: Session, settings: Settings
) -> None:
    """The .08 Friday file also holds the buffer account's statement; without that account
    registered, the municipality's own statement in the same file is not imported either."""
    build_persona(session, settings, buffer_account=False)
    before = row_counts(session)
    with pytest.raises(AccountNotOursError) as caught:
        do_import(session, CAMT_08 / f"{FRIDAY}.xml")
    error = caught.value
    assert error.filename == f"{FRIDAY}.xml"
    assert error.element == "Acct/Id/IBAN"
    assert error.line is not None
    assert "NL62BNGH0285050131" in str(error)
    assert row_counts(session) == before


def test_an_mt940_account_that_is_not_ours_names_field_25(
    session: Session, settings: Settings
) -> None:
    build_persona(session, settings)
    data = FRIDAY_MT940.replace(b":25:NL84BNGH0285050123EUR", b":25:NL91ABNA0417164300EUR")
    with pytest.raises(AccountNotOursError) as caught:
        do_import(session, data, filename="mt940.sta")
    assert str(caught.value).startswith("mt940.sta line ")
    assert caught.value.element == ":25:"


def test_a_reused_bank_reference_with_other_content_is_a_conflict(
    session: Session, settings: Settings
) -> None:
    build_persona(session, settings)
    do_import(session, CAMT_02 / f"{FRIDAY}.xml")
    before = (row_counts(session), holdings(session))
    monday = dt.date(2024, 11, 18)
    data = camt("REUSED", (credit(100, "2024111500001", monday),), opening=1_471_053, day=monday)
    with pytest.raises(EntryConflictError) as caught:
        do_import(session, data, filename="reused.xml")
    error = caught.value
    assert error.element == "Ntry/AcctSvcrRef"
    assert "'2024111500001' was imported before with other content" in str(error)
    assert (row_counts(session), holdings(session)) == before


def test_a_second_copy_of_a_statement_with_more_entries_is_refused(
    session: Session, settings: Settings
) -> None:
    build_persona(session, settings, payments=False)
    day = dt.date(2024, 11, 20)
    first = camt("S-1", (credit(500, "R1", day),), opening=0, day=day)
    do_import(session, first, filename="s1.xml")
    before = row_counts(session)
    # Same account, id and closing balance: the same statement, but with an extra pair.
    extra = (
        credit(500, "R1", day),
        credit(700, "R2", day),
        EntrySpec(amount_cents=700, credit=False, booking_date=day, reference="R3"),
    )
    with pytest.raises(StatementConflictError, match="2 entries it did not have"):
        do_import(session, camt("S-1", extra, opening=0, day=day), filename="s1b.xml")
    assert row_counts(session) == before


def test_a_statement_from_before_the_first_one_is_refused(
    session: Session, settings: Settings
) -> None:
    build_persona(session, settings)
    do_import(session, CAMT_02 / f"{FRIDAY}.xml")
    before = row_counts(session)
    day = dt.date(2024, 11, 14)
    older = camt("OLD", (credit(100, "OLD-1", day),), opening=1_234_467, day=day)
    with pytest.raises(StatementTooOldError, match="before the first statement imported"):
        do_import(session, older, filename="old.xml")
    assert row_counts(session) == before


def test_an_overlapping_statement_adds_only_what_is_new(
    session: Session, settings: Settings
) -> None:
    build_persona(session, settings, payments=False)
    day1, day2 = dt.date(2024, 11, 20), dt.date(2024, 11, 21)
    do_import(session, camt("D1", (credit(500, "A", day1),), opening=0, day=day1))
    counts = row_counts(session)
    # A statement over both days repeats entry A and adds B.
    both = write_camt053(
        DocumentSpec(
            "MSG-D12",
            "2024-11-21T18:00:00+01:00",
            (
                StatementSpec(
                    statement_id="D1-D2",
                    account_iban="NL84BNGH0285050123",
                    opening_cents=0,
                    opening_date=day1,
                    closing_date=day2,
                    created_at="2024-11-21T18:00:00+01:00",
                    entries=(credit(500, "A", day1), credit(300, "B", day2)),
                ),
            ),
        ),
        StatementFormat.CAMT053_001_02,
    )
    report = do_import(session, both, filename="d12.xml")
    (statement,) = report.statements
    assert (statement.new_entries, statement.duplicate_entries) == (1, 1)
    assert row_counts(session)["bank_entry"] == counts["bank_entry"] + 1
    assert holdings(session)["bank:NL84BNGH0285050123"] == 800
