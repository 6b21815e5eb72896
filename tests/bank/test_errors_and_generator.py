"""The error's shape, and the deterministic statement generator used by the benchmark."""

from __future__ import annotations

import pickle

import pytest
from lxml import etree

from backend.bank import (
    SchemaViolationError,
    StatementError,
    StatementFormat,
    generate_camt053,
    read_statement_file,
)
from backend.bank.camt053 import camt053_schema


def test_error_reads_like_file_line_element_message() -> None:
    error = StatementError(
        "amount '12.345' has more than two decimals",
        filename="camt-nov.xml",
        line=42,
        element="Ntry/Amt",
    )
    assert isinstance(error, ValueError)
    assert str(error) == (
        "camt-nov.xml line 42, element Ntry/Amt: amount '12.345' has more than two decimals"
    )
    assert (error.filename, error.line, error.element) == ("camt-nov.xml", 42, "Ntry/Amt")
    assert error.message == "amount '12.345' has more than two decimals"


def test_error_leaves_out_what_is_unknown() -> None:
    assert str(StatementError("the file is empty", filename="x.xml")) == "x.xml: the file is empty"
    assert str(StatementError("bad", filename="x.xml", line=3)) == "x.xml line 3: bad"
    assert str(StatementError("bad", filename="x.sta", line=3, element=":61:")) == (
        "x.sta line 3, field :61: — bad"
    )


def test_error_survives_pickling() -> None:
    error = SchemaViolationError(
        "no", filename="a.xml", line=2, element="Document", details=("line 2: no",)
    )
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is SchemaViolationError
    assert (str(copy), copy.details) == (str(error), error.details)


@pytest.mark.parametrize(
    "version", [StatementFormat.CAMT053_001_02, StatementFormat.CAMT053_001_08]
)
def test_generated_statements_are_valid_deterministic_and_add_up(version: StatementFormat) -> None:
    data = generate_camt053(300, seed=7, version=version)
    assert data == generate_camt053(300, seed=7, version=version)
    assert data != generate_camt053(300, seed=8, version=version)
    schema = camt053_schema(version)
    assert schema.validate(etree.fromstring(data).getroottree()), schema.error_log
    (statement,) = read_statement_file(data, filename="generated.xml")
    assert statement.format is version
    assert len(statement.entries) == 300
    assert len({entry.dedup_key for entry in statement.entries}) == 300
    batches = [entry for entry in statement.entries if entry.batch_payment_information_id]
    assert len(batches) == 6
    assert all(len(batch.transactions) == 3 for batch in batches)
    assert all(
        sum(t.amount_cents or 0 for t in batch.transactions) == batch.amount_cents
        for batch in batches
    )


def test_generator_refuses_absurd_sizes() -> None:
    with pytest.raises(ValueError, match="n_entries"):
        generate_camt053(-1, seed=1)
