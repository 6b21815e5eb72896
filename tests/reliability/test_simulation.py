"""The deterministic simulation (tests.reliability.simulation): the real services run
day by day with injected faults; every invariant holds after every simulated day.

Short form: 3 seeds x 6 months. Long form (HUISHOUDBOEKJE_RELIABILITY_LONG=1):
5 seeds x 24 months (about 100 s a seed).
"""

from __future__ import annotations

import shutil
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.reliability import report
from tests.reliability.conftest import LONG, SEED
from tests.reliability.simulation import simulate

SEEDS = 5 if LONG else 3
MONTHS = 24 if LONG else 6


@pytest.mark.parametrize("offset", range(SEEDS))
def test_a_simulated_municipality_keeps_every_invariant_every_day(
    offset: int, sqlite_template: Path, tmp_path: Path
) -> None:
    database = tmp_path / "simulation.db"
    shutil.copyfile(sqlite_template, database)
    started = time.perf_counter()
    result = simulate(f"sqlite:///{database}", seed=SEED + offset, months=MONTHS)
    faults: Counter[str] = result.faults
    report.record(
        "simulation",
        trials=1,
        days=result.days,
        faults_injected=sum(faults.values()),
        payments_exported=result.payments,
        statements_imported=result.statements,
        violations=len(result.violations),
        seconds=round(time.perf_counter() - started, 1),
    )
    for name, count in faults.items():
        report.record("simulation faults", **{name: count})
    assert sum(faults.values()) > 0
    assert result.violations == [], "\n".join(result.violations[:20])
