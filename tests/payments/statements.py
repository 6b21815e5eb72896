"""Test stand-in for the bank import's statements: the columns reconciliation reads."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import inspect, text
from sqlalchemy.orm import Session

from backend.payments.reconcile import STATEMENT_COLUMNS


def record_statement(
    session: Session, *, iban: str, statement_id: str, closing_cents: int, closing_date: dt.date
) -> None:
    """Insert a statement's closing balance, creating a minimal bank_statement table when
    the bank import's migration is not there yet."""
    connection = session.connection()
    if not inspect(connection).has_table("bank_statement"):
        connection.execute(
            text(
                "CREATE TABLE bank_statement (id INTEGER PRIMARY KEY, account_iban VARCHAR(34) "
                "NOT NULL, statement_id VARCHAR(35) NOT NULL, closing_balance_cents BIGINT NOT "
                "NULL, closing_balance_date DATE NOT NULL)"
            )
        )
    columns = {column["name"] for column in inspect(connection).get_columns("bank_statement")}
    assert set(STATEMENT_COLUMNS) <= columns
    next_id = connection.execute(text("SELECT COALESCE(MAX(id), 0) + 1 FROM bank_statement"))
    connection.execute(
        text(
            "INSERT INTO bank_statement (id, account_iban, statement_id, closing_balance_cents, "
            "closing_balance_date) VALUES (:id, :iban, :statement_id, :closing, :closing_date)"
        ),
        {
            "id": next_id.scalar_one(),
            "iban": iban,
            "statement_id": statement_id,
            "closing": closing_cents,
            "closing_date": closing_date,
        },
    )
