"""The crash-consistency harness: run a step in a real process, SIGKILL it at a seeded
random moment, run it again to completion, then check every invariant.

    world = build_world(directory, migrated_template)   # three prepared databases
    with ForkServer(directory) as server:
        outcome = crash_trial(server, world, "cycle", trial=7, rng=random.Random(seed))

The kill moment is drawn from a seeded RNG over the step's measured duration (up to
120 % of it, so some trials finish first and show the completed path is also
checked); with probability 1/4 the rerun is killed again before a final clean run.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from backend.bank import StatementFormat
from backend.bank.generate import (
    DocumentSpec,
    EntrySpec,
    PartySpec,
    StatementSpec,
    TransactionSpec,
    write_camt053,
)
from backend.config import Settings
from backend.db import make_engine, make_session_factory, transaction
from backend.demo.seed import MUNICIPAL_IBAN, seed_demo
from backend.models import (
    BankEntryRecord,
    BankStatementRecord,
    JournalEntryRecord,
    PaymentBatch,
    PaymentInstruction,
)
from tests.reliability.invariants import export_file_violations, violations

ROOT = Path(__file__).resolve().parents[2]
SEED_TODAY = dt.date(2026, 11, 28)
CYCLE_DATES = (dt.date(2026, 11, 30), dt.date(2026, 12, 1))
EXPORT_TODAY = dt.date(2026, 11, 30)
STATEMENT_DAY = dt.date(2026, 12, 1)
STEP_TEMPLATES = {"cycle": "seeded.db", "export": "cycled.db", "import": "exported.db"}


@dataclass(frozen=True)
class World:
    directory: Path
    statement: Path
    statement_entries: int

    def template(self, step: str) -> Path:
        return self.directory / STEP_TEMPLATES[step]


@dataclass
class Outcome:
    killed: int = 0
    runs: int = 0
    violations: list[str] = field(default_factory=list)


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def step_env(world: World, step: str, database: Path, export_dir: Path) -> dict[str, str]:
    return {
        "HUISHOUDBOEKJE_DATABASE_URL": sqlite_url(database),
        "HUISHOUDBOEKJE_DEMO": "1",
        "HUISHOUDBOEKJE_LOG_LEVEL": "ERROR",
        "RELIABILITY_CYCLE_DATES": ",".join(day.isoformat() for day in CYCLE_DATES),
        "RELIABILITY_STATEMENT": str(world.statement),
        "RELIABILITY_EXPORT_DIR": str(export_dir),
        "RELIABILITY_TODAY": EXPORT_TODAY.isoformat(),
    }


class ForkServer:
    """tests.reliability.forkserver as a context manager."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def __enter__(self) -> ForkServer:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.reliability.forkserver"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=ROOT,
            env=env,
            text=True,
        )
        assert self.process.stdout is not None
        ready = json.loads(self.process.stdout.readline())
        assert ready == {"ready": True}
        return self

    def run(
        self, step: str, env: dict[str, str], *, kill_after: float | None, log: Path
    ) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        request = {"step": step, "env": env, "kill_after_seconds": kill_after, "log": str(log)}
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        return dict(json.loads(self.process.stdout.readline()))

    def __exit__(self, *exc: object) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=30)
        if self.process.stdout is not None:
            self.process.stdout.close()


def run_cold(
    step: str, env: dict[str, str], *, kill_after: float | None, log: Path
) -> dict[str, Any]:
    """The same step in a fresh `python -m tests.reliability.steps`-like process (long form)."""
    import signal
    import time

    code = f"from tests.reliability import steps; steps.run({step!r})"
    started = time.perf_counter()
    with log.open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
            stdout=output,
            stderr=output,
        )
        try:
            process.wait(timeout=kill_after)
            killed = False
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait()
            killed = True
    return {
        "killed": killed,
        "exit_code": process.returncode if process.returncode >= 0 else None,
        "signal": -process.returncode if process.returncode < 0 else None,
        "seconds": time.perf_counter() - started,
    }


# ------------------------------------------------------------------ the prepared world


def checkpoint(path: Path) -> None:
    """Fold the WAL into the file, so copying the file copies the database."""
    engine = make_engine(sqlite_url(path))
    with engine.connect() as connection:
        connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    engine.dispose()


def build_world(
    directory: Path, migrated: Path, server: ForkServer
) -> tuple[World, dict[str, float]]:
    """seeded.db (demo seeded), cycled.db (+ the cycle), exported.db (+ the export) and
    the statement of the next day; returns the world and each step's duration."""
    seeded = directory / "seeded.db"
    shutil.copyfile(migrated, seeded)
    settings = Settings(database_url=sqlite_url(seeded), demo=True)
    engine = make_engine(settings.database_url)
    with transaction(make_session_factory(engine), write=True) as session:
        seed_demo(session, settings.field_cipher(), today=SEED_TODAY)
    engine.dispose()
    checkpoint(seeded)
    world = World(directory, directory / "statement.xml", 0)
    durations: dict[str, float] = {}
    for step, source, target in (
        ("cycle", "seeded.db", "cycled.db"),
        ("export", "cycled.db", "exported.db"),
    ):
        shutil.copyfile(directory / source, directory / target)
        exports = directory / f"{target}-exports"
        exports.mkdir()
        result = server.run(
            step,
            step_env(world, step, directory / target, exports),
            kill_after=None,
            log=directory / "build.log",
        )
        assert result["exit_code"] == 0, (directory / "build.log").read_text()[-3000:]
        durations[step] = result["seconds"]
        checkpoint(directory / target)
    world = World(
        directory, world.statement, write_statement(directory / "exported.db", world.statement)
    )
    probe = directory / "probe.db"
    shutil.copyfile(directory / "exported.db", probe)
    result = server.run(
        "import",
        step_env(world, "import", probe, directory),
        kill_after=None,
        log=directory / "build.log",
    )
    assert result["exit_code"] == 0, (directory / "build.log").read_text()[-3000:]
    durations["import"] = result["seconds"]
    return world, durations


def write_statement(database: Path, path: Path) -> int:
    """The next day's statement: every exported batch debited (batch booking), income
    nobody expects (to suspense) and a small interest credit. Returns its entry count."""
    engine = make_engine(sqlite_url(database))
    with transaction(make_session_factory(engine)) as session:
        opening = session.scalar(
            select(BankStatementRecord.closing_balance_cents)
            .order_by(
                BankStatementRecord.closing_balance_date.desc(), BankStatementRecord.id.desc()
            )
            .limit(1)
        )
        batches = list(
            session.scalars(select(PaymentBatch).where(PaymentBatch.status == "exported"))
        )
        debits = [
            EntrySpec(
                amount_cents=batch.control_sum_cents,
                credit=False,
                booking_date=STATEMENT_DAY,
                value_date=STATEMENT_DAY,
                reference=f"BATCH{batch.id:05d}",
                domain_code=("PMNT", "ICDT", "ESCT"),
                batch_payment_information_id=batch.pmt_inf_id,
                batch_transaction_count=batch.instruction_count,
            )
            for batch in batches
        ]
    engine.dispose()
    credits = [
        EntrySpec(
            amount_cents=amount,
            credit=True,
            booking_date=STATEMENT_DAY,
            value_date=STATEMENT_DAY,
            reference=f"CREDIT{index:04d}",
            transactions=(
                TransactionSpec(
                    amount_cents=amount,
                    debtor=PartySpec(name, "NL91ABNA0417164300"),
                    unstructured=(remittance,),
                ),
            ),
        )
        for index, (amount, name, remittance) in enumerate(
            [(4_250, "J. Onbekend", "gift"), (12_345, "Stichting X", "terugbetaling 2026-77")]
        )
    ]
    entries = (*debits, *credits)
    created = f"{STATEMENT_DAY.isoformat()}T18:00:00+01:00"
    data = write_camt053(
        DocumentSpec(
            message_id="RELIABILITY-20261201",
            created_at=created,
            statements=(
                StatementSpec(
                    statement_id="RELIABILITY-20261201",
                    account_iban=MUNICIPAL_IBAN,
                    opening_cents=int(opening or 0),
                    opening_date=STATEMENT_DAY,
                    closing_date=STATEMENT_DAY,
                    created_at=created,
                    entries=entries,
                ),
            ),
        ),
        StatementFormat.CAMT053_001_02,
    )
    path.write_bytes(data)
    return len(entries)


# ------------------------------------------------------------------ one trial


def state_digest(session: Session) -> dict[str, Any]:
    """What a completed step leaves behind, independent of how often it was started."""
    return {
        "entries": sorted(session.scalars(select(JournalEntryRecord.idempotency_key))),
        "payments": sorted(
            (row.idempotency_key, row.end_to_end_id, row.status)
            for row in session.execute(
                select(
                    PaymentInstruction.idempotency_key,
                    PaymentInstruction.end_to_end_id,
                    PaymentInstruction.status,
                )
            )
        ),
        "batches": sorted(
            (row.status, row.instruction_count, row.control_sum_cents)
            for row in session.execute(
                select(
                    PaymentBatch.status,
                    PaymentBatch.instruction_count,
                    PaymentBatch.control_sum_cents,
                )
            )
        ),
        "bank_entries": sorted(
            (row.dedup_key, row.status)
            for row in session.execute(select(BankEntryRecord.dedup_key, BankEntryRecord.status))
        ),
    }


def inspect(database: Path, export_dir: Path | None) -> tuple[dict[str, Any], list[str]]:
    engine = make_engine(sqlite_url(database))
    try:
        with transaction(make_session_factory(engine)) as session:
            found = violations(session)
            if export_dir is not None:
                found += export_file_violations(session, export_dir)
            return state_digest(session), found
    finally:
        engine.dispose()


Runner = Any


def crash_trial(
    run: Runner,
    world: World,
    step: str,
    *,
    trial_dir: Path,
    duration: float,
    rng: random.Random,
    reference: dict[str, Any],
) -> Outcome:
    """Copy the step's template, kill the step once (sometimes twice), complete it, check."""
    trial_dir.mkdir(parents=True)
    database = trial_dir / "trial.db"
    shutil.copyfile(world.template(step), database)
    exports = trial_dir / "exports"
    exports.mkdir()
    if step == "import":  # the batches exported when the template was made
        for path in (world.directory / "exported.db-exports").glob("batch-*.xml"):
            shutil.copyfile(path, exports / path.name)
    env = step_env(world, step, database, exports)
    log = trial_dir / "step.log"
    outcome = Outcome()
    kills = 2 if rng.random() < 0.25 else 1
    for _ in range(kills):
        result = run(step, env, kill_after=rng.uniform(0.0, duration * 1.2), log=log)
        outcome.runs += 1
        outcome.killed += int(bool(result["killed"]))
        if not result["killed"] and result["exit_code"] != 0:
            outcome.violations.append(f"{step} exited with {result['exit_code']} before the kill")
    result = run(step, env, kill_after=None, log=log)
    outcome.runs += 1
    if result["exit_code"] != 0:
        outcome.violations.append(
            f"{step} did not complete after the crash (exit {result['exit_code']}): "
            + log.read_text()[-1500:]
        )
    digest, found = inspect(database, exports if step != "cycle" else None)
    outcome.violations += found
    for part, expected in reference.items():
        if digest[part] != expected:
            outcome.violations.append(f"{step}: {part} differ from the run without a crash")
    if step == "import":
        outcome.violations += _statement_imported_once(database, world.statement_entries)
    if not outcome.violations:
        shutil.rmtree(trial_dir)
    return outcome


def _statement_imported_once(database: Path, expected: int) -> list[str]:
    engine = make_engine(sqlite_url(database))
    try:
        with transaction(make_session_factory(engine)) as session:
            statement = session.scalar(
                select(BankStatementRecord).where(
                    BankStatementRecord.statement_id == "RELIABILITY-20261201"
                )
            )
            if statement is None:
                return ["the statement is not imported"]
            stored = session.scalar(
                select(func.count()).where(BankEntryRecord.statement_id == statement.id)
            )
            if stored != expected:
                return [f"{stored} of the statement's {expected} entries are stored"]
            return []
    finally:
        engine.dispose()
