"""Kill the import, the daily cycle and the batch export with SIGKILL at seeded random
moments; the rerun completes the step and nothing is lost, doubled or paid twice.

Short form: 50 trials per step (about a minute). Long form
(HUISHOUDBOEKJE_RELIABILITY_LONG=1): 300 per step, half of them in cold
`python` processes. Reproduce a run with HUISHOUDBOEKJE_RELIABILITY_SEED.
"""

from __future__ import annotations

import random
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reliability import report
from tests.reliability.conftest import LONG, SEED
from tests.reliability.crash import (
    ForkServer,
    World,
    build_world,
    crash_trial,
    inspect,
    run_cold,
    step_env,
)

TRIALS_PER_STEP = 300 if LONG else 50


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ForkServer]:
    with ForkServer(tmp_path_factory.mktemp("forkserver")) as server:
        yield server


@pytest.fixture(scope="module")
def world(
    server: ForkServer, sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[World, dict[str, float]]:
    return build_world(tmp_path_factory.mktemp("world"), sqlite_template, server)


@pytest.mark.parametrize("step", ["import", "cycle", "export"])
def test_a_killed_step_completes_on_rerun_and_nothing_is_lost_or_doubled(
    step: str, server: ForkServer, world: tuple[World, dict[str, float]], tmp_path: Path
) -> None:
    prepared, _ = world
    # The run without a crash: what every crashed-and-completed trial must end in.
    clean = tmp_path / "clean"
    clean.mkdir()
    shutil.copyfile(prepared.template(step), clean / "trial.db")
    exports = clean / "exports"
    exports.mkdir()
    if step == "import":
        for path in (prepared.directory / "exported.db-exports").glob("batch-*.xml"):
            shutil.copyfile(path, exports / path.name)
    result = server.run(
        step,
        step_env(prepared, step, clean / "trial.db", exports),
        kill_after=None,
        log=clean / "log",
    )
    assert result["exit_code"] == 0, (clean / "log").read_text()[-2000:]
    # The kill moments are drawn over this run's duration (warm, like the trials).
    duration = float(result["seconds"])
    reference, found = inspect(clean / "trial.db", exports if step != "cycle" else None)
    assert found == []

    rng = random.Random(f"{SEED}:{step}")
    started = time.perf_counter()
    trials = kills = runs = 0
    failures: list[str] = []
    for trial in range(TRIALS_PER_STEP):
        cold = LONG and trial % 2 == 1
        outcome = crash_trial(
            run_cold if cold else server.run,
            prepared,
            step,
            trial_dir=tmp_path / f"trial-{trial}",
            # A cold process spends about a second importing before it works.
            duration=duration + (1.5 if cold else 0.0),
            rng=rng,
            reference=reference,
        )
        trials += 1
        kills += outcome.killed
        runs += outcome.runs
        failures += [f"trial {trial}: {violation}" for violation in outcome.violations]
    report.record(
        f"crash {step}",
        trials=trials,
        sigkills_landed=kills,
        process_runs=runs,
        violations=len(failures),
        seconds=round(time.perf_counter() - started, 1),
        seed=SEED,
    )
    assert kills >= trials // 3, f"only {kills} of {trials} kills landed before the step ended"
    assert failures == [], "\n".join(failures[:20])
