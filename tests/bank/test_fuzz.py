"""Mutated statements: whatever the bytes, the reader answers with statements or a StatementError.

Never another exception type (no KeyError, AttributeError, lxml error, decimal error, ...).
"""

from __future__ import annotations

import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.bank import Statement, StatementError, read_statement_file
from tests.bank.fixture_paths import CAMT_02, CAMT_08, MONDAY, MT940_DIR, VNG

SEEDS = [
    (CAMT_02 / f"{MONDAY}.xml").read_bytes(),
    (CAMT_08 / f"{MONDAY}.xml").read_bytes(),
    (MT940_DIR / f"{MONDAY}.sta").read_bytes(),
    (VNG / "MT940" / "MT940-ING.txt").read_bytes(),
    (VNG / "MT940" / "MT940-ABN.txt").read_bytes(),
]
INTERESTING = [
    b"<", b">", b"&", b"&amp;", b"<!DOCTYPE x>", b"]]>", b"\x00", b"\xff", b"\xc3", b":61:",
    b":86:", b":62F:", b"\r\n", b"-}", b",", b".", b"EUR", b"USD", b"999999999999", b"BOOK",
    b"PDNG", b"DBIT", b"CRDT", b"/EREF/", b"/CNTP/", b"//", b"2024-02-30", b"241131", b"e5",
    b"\xef\xbb\xbf", b"<Ntry>", b"</Ntry>", b"<Amt Ccy=\"EUR\">1.005</Amt>", b"\xc2\xad",
]  # fmt: skip


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["replace", "insert", "delete", "truncate", "splice"]))
        if action == "replace" and position < len(data):
            data[position] = draw(st.integers(0, 255))
        elif action == "insert":
            data[position:position] = draw(st.sampled_from(INTERESTING))
        elif action == "delete":
            data[position : position + draw(st.integers(1, 40))] = b""
        elif action == "truncate":
            del data[position:]
        else:
            length = draw(st.integers(1, 60))
            start = draw(st.integers(0, max(0, len(data) - length)))
            data[position:position] = data[start : start + length]
    return bytes(data)


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)
@given(mutated())
def test_mutated_statements_give_statements_or_a_statement_error(data: bytes) -> None:
    try:
        statements = read_statement_file(data, filename="fuzz")
    except StatementError as error:
        assert str(error).startswith("fuzz")
        return
    assert all(isinstance(statement, Statement) for statement in statements)
    for statement in statements:
        total = statement.opening_balance_cents + sum(e.signed_cents for e in statement.entries)
        assert total == statement.closing_balance_cents
        assert all(entry.amount_cents >= 0 for entry in statement.entries)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.binary(max_size=600))
def test_random_bytes_give_a_statement_error(data: bytes) -> None:
    with contextlib.suppress(StatementError):
        read_statement_file(data, filename="fuzz")
