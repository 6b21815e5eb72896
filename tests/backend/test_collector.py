"""The collector pauses only for work large enough to gain from it, and always comes
back as it was (backend.collector)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from backend.collector import WORTH_PAUSING, collector_paused


@pytest.fixture(autouse=True)
def heap_not_frozen() -> Iterator[None]:
    """An app started earlier in this test process may have frozen the heap (its
    lifespan does, once per process): then the pause does nothing by design."""
    frozen = gc.get_freeze_count()
    gc.unfreeze()
    yield
    if frozen:
        gc.freeze()


def test_small_work_runs_with_the_collector_on() -> None:
    with collector_paused(WORTH_PAUSING - 1):
        assert gc.isenabled()
        assert gc.get_freeze_count() == 0
    assert gc.isenabled()


def test_large_work_pauses_it_and_it_comes_back_also_after_an_error() -> None:
    with pytest.raises(RuntimeError), collector_paused(WORTH_PAUSING):
        assert not gc.isenabled()
        assert gc.get_freeze_count() > 0
        with collector_paused(10 * WORTH_PAUSING):  # nested: nothing more happens
            assert not gc.isenabled()
        assert not gc.isenabled()
        raise RuntimeError("the import failed half-way")
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0
