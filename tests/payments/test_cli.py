"""The finance routine on the command line: real subprocesses, real exit codes."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from backend.config import Settings
from backend.payments.sepa_file import check_file
from tests.backend.test_cli import run_cli
from tests.payments.conftest import (
    ENECO,
    MUNICIPAL_IBAN,
    add_finance_user,
    bank_balance,
    build_world,
    make_payment,
)
from tests.payments.statements import record_statement

TODAY = "2026-11-30"


def test_payments_routine_with_four_eyes(
    session: Session, settings: Settings, database_url: str, tmp_path: Path
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("the services run on PostgreSQL in the other tests; subprocesses are slow")
    world = build_world(session, settings)
    make_payment(session, world.anna, 64_500, "cycle:anna:rent", reference="5000056789012345")
    make_payment(session, world.zoe, 13_918, "cycle:zoe:energy", creditor=ENECO)
    session.commit()
    for name in ("fenna", "frank"):
        add_finance_user(session, name)
    add_finance_user(session, "carla", roles=("caseworker",))

    def cli(*args: str) -> tuple[int, str, str]:
        result = run_cli(database_url, *args)
        return result.returncode, result.stdout, result.stderr

    code, _, err = cli("payments", "list", "--user", "carla", "--today", TODAY)
    assert code == 2 and "not a finance user" in err
    code, out, err = cli("payments", "list", "--user", "fenna", "--json", "--today", TODAY)
    assert code == 0, err
    (batch,) = json.loads(out)
    assert (batch["status"], batch["payments"], batch["control_sum"]) == ("proposed", 2, "784.18")
    batch_id = str(batch["id"])

    out_file = tmp_path / "batch.xml"
    code, _, err = cli(
        "payments",
        "export",
        "--batch",
        batch_id,
        "-o",
        str(out_file),
        "--user",
        "frank",
        "--today",
        TODAY,
    )
    assert code == 2 and "only an approved batch" in err
    assert not out_file.exists()

    code, out, err = cli(
        "payments", "prepare", "--batch", batch_id, "--user", "fenna", "--today", TODAY
    )
    assert code == 0, err
    code, _, err = cli("payments", "approve", "--batch", batch_id, "--user", "fenna")
    assert code == 2 and "another finance user must approve" in err
    code, out, err = cli("payments", "approve", "--batch", batch_id, "--user", "frank", "--json")
    assert code == 0, err
    assert json.loads(out)["approved_by"] == "frank"

    code, out, err = cli(
        "payments",
        "export",
        "--batch",
        batch_id,
        "--format",
        "pain.001.001.09",
        "-o",
        str(out_file),
        "--user",
        "frank",
        "--today",
        TODAY,
    )
    assert code == 0, err
    content = out_file.read_bytes()
    check_file(content, file_format="pain.001.001.09")
    assert f"SHA-256 {hashlib.sha256(content).hexdigest()}" in out
    assert f"SHA-1   {hashlib.sha1(content, usedforsecurity=False).hexdigest()}" in out

    again_file = tmp_path / "again.xml"
    code, out, err = cli(
        "payments",
        "export",
        "--batch",
        batch_id,
        "-o",
        str(again_file),
        "--user",
        "fenna",
        "--json",
        "--today",
        TODAY,
    )
    assert code == 0, err
    assert again_file.read_bytes() == content
    assert json.loads(out)["first_export"] is False
    code, _, err = cli(
        "payments",
        "export",
        "--batch",
        batch_id,
        "--format",
        "pain.001.001.03",
        "-o",
        str(tmp_path / "other.xml"),
        "--user",
        "fenna",
    )
    assert code == 2 and "never exported as a different file" in err

    code, out, err = cli("reconcile", "--json")
    assert code == 0, out + err
    report = json.loads(out)
    assert report["ok"] is True
    assert report["totals"]["in_transit_cents"] == 78_418

    record_statement(
        session,
        iban=MUNICIPAL_IBAN,
        statement_id="WRONG",
        closing_cents=bank_balance(session) + 1,
        closing_date=dt.date(2026, 11, 30),
    )
    session.commit()
    code, out, _ = cli("reconcile")
    assert code == 1
    assert "DIFFERENCE bank_vs_statement" in out
    assert "test:income" in out
