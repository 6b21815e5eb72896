"""No garbage collection while a large batch of short-lived objects is made.

The daily cycle's chunk (~100 objects per participant) and a statement being read or
booked (dozens per entry, every entry read alive until the file is booked) set off a
collection every few hundred allocations, and every so often a full one over
everything alive: measured, ~25 % of a heavy cycle day, 10 % of the CAMT.053 reader's
CPU and 20 % of the booking's (docs/performance.md). What they leave behind is freed by
reference counting (a whole year's file read with the collector on collected 10
objects in all), so pausing the collector does not let memory grow; cycles made inside
wait for the next collection after the block. The heap that exists before is frozen
(kept out of the next full passes) and goes back to the collector afterwards, also when
an error ends the block. In a process that froze its heap itself (the web app at
startup) or switched the collector off, this does nothing. The switch is process-wide:
use it only where one thread does the work (the cycle and import commands).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

# Below this much work (entries, participants) the pause costs more than it saves. Each
# pause moves the frozen heap into the oldest generation when it ends; a process that
# paused for many small batches got slower (a test session seeding a demo per test,
# eight small statements each: tests/onboarding 25.5 s, against 11.6 s without pauses).
WORTH_PAUSING = 500


@contextmanager
def collector_paused(objects: int = WORTH_PAUSING) -> Iterator[None]:
    """Collector off (and the heap before frozen) inside the block when it handles at
    least `WORTH_PAUSING` entries, participants or the like; see the module."""
    if objects < WORTH_PAUSING or gc.get_freeze_count() or not gc.isenabled():
        yield
        return
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()
