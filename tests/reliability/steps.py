"""The steps a crash trial runs, through the real `huishoudboekje` command line.

Each step is what an operator or the scheduler runs, and running it again after a
crash completes it: that is the property under test. Parameters come from the
environment (set per trial by the harness):

- HUISHOUDBOEKJE_DATABASE_URL, HUISHOUDBOEKJE_DEMO=1: the trial's database;
- RELIABILITY_CYCLE_DATES: the days `cycle run` runs, comma-separated;
- RELIABILITY_STATEMENT: the statement file `bank import` reads;
- RELIABILITY_EXPORT_DIR, RELIABILITY_TODAY: where `payments export` writes, and the
  day the finance users work on.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import select

FINANCE_PREPARER = "fenna"
FINANCE_APPROVER = "frank"
STEPS = ("cycle", "import", "export")


class StepFailed(RuntimeError):
    pass


def cli(*args: str) -> int:
    """Run one `huishoudboekje` command in this process; its exit code."""
    from backend.cli import main

    try:
        result = main.main(args=list(args), prog_name="huishoudboekje", standalone_mode=False)
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else 1
    return result if isinstance(result, int) else 0


def _must(*args: str) -> None:
    code = cli(*args)
    if code != 0:
        raise StepFailed(f"huishoudboekje {' '.join(args)} exited with {code}")


def run_cycle() -> None:
    for day in os.environ["RELIABILITY_CYCLE_DATES"].split(","):
        _must("cycle", "run", "--date", day)


def run_import() -> None:
    _must("bank", "import", os.environ["RELIABILITY_STATEMENT"])


def batch_statuses() -> dict[int, str]:
    from backend.cli import unit_of_work
    from backend.config import get_settings
    from backend.models import PaymentBatch

    with unit_of_work(get_settings()) as session:
        rows = session.execute(
            select(PaymentBatch.id, PaymentBatch.status).order_by(PaymentBatch.id)
        ).all()
        return {int(batch_id): str(status) for batch_id, status in rows}


def run_export() -> None:
    """Propose, prepare (fenna), approve (frank), export: each only when not done yet."""
    today = os.environ["RELIABILITY_TODAY"]
    directory = Path(os.environ["RELIABILITY_EXPORT_DIR"])
    _must("payments", "propose", "--user", FINANCE_PREPARER, "--today", today)
    for batch_id, status in batch_statuses().items():
        batch = str(batch_id)
        if status == "proposed":
            _must(
                "payments",
                "prepare",
                "--batch",
                batch,
                "--user",
                FINANCE_PREPARER,
                "--today",
                today,
            )
            status = "prepared"
        if status == "prepared":
            _must("payments", "approve", "--batch", batch, "--user", FINANCE_APPROVER)
            status = "approved"
        if status in ("approved", "exported"):
            output = directory / f"batch-{batch_id}.xml"
            _must(
                "payments",
                "export",
                "--batch",
                batch,
                "--user",
                FINANCE_PREPARER,
                "--today",
                today,
                "-o",
                str(output),
            )


def run(step: str) -> None:
    {"cycle": run_cycle, "import": run_import, "export": run_export}[step]()
