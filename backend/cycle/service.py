"""The daily cycle: for every participant with a plan, ask the rules engine what to do
today and book it — journal entries, payment instructions and alerts.

    run_daily_cycle(session_factory, today=...)  ->  CycleSummary

Flow (a "flow" in the Netflix/dispatch sense: it coordinates plans, ledger,
payments and alerts):

1. Decided co-decision proposals that are not a plan version yet are applied
   (backend.codecision.apply_pending), so a change effective today counts today.
2. Participants are processed in chunks (default 1,000), each chunk in its own
   transaction that first takes the cycle lock. Per chunk, a few grouped queries
   load the plans in force, balances, the cached open items (`cycle_state`) and
   the journal entries since; the engine evaluates each participant in Python;
   then all entries are written with one `post_entries` call, all payment
   instructions with one `create_payment_instructions` call and all alerts with
   one insert.

Guarantees:
- Idempotent per (participant, rule, plan version, due date): the engine's keys
  are the journal entries' idempotency keys and the instructions' keys, so running
  the same day twice, or again after a crash, pays nothing twice. A chunk commits
  whole or not at all.
- One participant's failure does not stop the others: evaluation errors are
  caught per participant; when the bulk write of a chunk fails, the chunk is
  written again participant by participant, each in a savepoint, and the one that
  fails is skipped. Failures are reported in the summary, stored on the
  `cycle_run` row and raised as an alert for the caseworker.
- Safe to start twice at once: each chunk transaction locks the cycle (SQLite:
  BEGIN IMMEDIATE; PostgreSQL: LOCK TABLE cycle_state IN EXCLUSIVE MODE as the first
  statement of a REPEATABLE READ transaction, so the snapshot is taken after the
  lock is granted and sees what the other cycle committed). The second cycle waits
  and then finds nothing left to do.
- In more than one process (`workers`, backend.cycle.parallel) a chunk is loaded and
  evaluated outside the lock and written under it; participants whose inputs changed
  in between are loaded and evaluated again under the lock (backend.cycle.snapshot),
  so what is written is decided on what the lock holder sees.

Open items come from a cache (`cycle_state`): the engine's open items after the
previous run and the entry they were folded up to; each run folds only the entries
since. The cache is rebuilt from all the participant's journal entries (and the
alerts raised) when it is missing, when the run is for an earlier day, when a
reversal or returned payment touches older entries, or when the ledger holds
postings the cache does not account for (an entry committed late by a concurrent
writer). `rebuild_state=True` forces a rebuild for everyone.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from backend.codecision.applying import apply_pending
from backend.collector import collector_paused
from backend.cycle import loading, parallel, snapshot
from backend.db import transaction
from backend.errors import InvalidInput
from backend.iban import validate_iban
from backend.ledger_store import PostedEntry, balances, post_entries
from backend.models import Alert, CycleRun, CycleState, MunicipalBankAccount
from backend.models.base import utcnow
from backend.payments import InstructionRequest, insert_payment_instructions
from backend.plans.service import plan_bodies_in_force
from backend.zelfregie import self_payment
from ledger import JournalEntry
from rules import (
    Action,
    Balances,
    HandOverFixedCost,
    OpenItems,
    OpenItemsBuilder,
    PayFixedCost,
    PayLivingMoney,
    PayOneOffPayout,
    Plan,
    RaiseAlert,
    Severity,
    evaluate,
)

log = logging.getLogger(__name__)

CREATED_BY = "daily-cycle"
CHUNK_SIZE_DEFAULT = 1000
CHUNK_SIZE_MAX = 10_000
WORKERS_MAX = 8
# Failures kept on the cycle_run row and printed in full; the count is always exact.
FAILURES_STORED_MAX = 1000
ERROR_LENGTH_MAX = 300
# The actions that pay someone (a tuple: `A | B` in the loop built a union per action).
_PAYMENTS = (PayFixedCost, PayLivingMoney, HandOverFixedCost, PayOneOffPayout)
_SEVERITY = {Severity.INFO: "info", Severity.WARNING: "warning", Severity.URGENT: "critical"}


@dataclass(frozen=True, slots=True)
class ParticipantFailure:
    participant_id: int
    error: str

    def as_dict(self) -> dict[str, Any]:
        return {"participant_id": self.participant_id, "error": self.error}


@dataclass
class CycleSummary:
    run_id: int
    run_date: dt.date
    participants_evaluated: int = 0
    participants_without_plan: int = 0
    journal_entries_created: int = 0
    payment_instructions_created: int = 0
    payment_amount_cents: int = 0
    alerts_raised: int = 0
    proposals_applied: int = 0
    state_rebuilds: int = 0
    chunks: int = 0
    # Participants whose inputs changed between an unlocked load and the write
    # (workers > 1): evaluated again under the lock.
    stale_reevaluated: int = 0
    workers: int = 1
    failed_participants: list[ParticipantFailure] = field(default_factory=list)
    timings_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failed_participants

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "run_date": self.run_date.isoformat(),
            "participants_evaluated": self.participants_evaluated,
            "participants_without_plan": self.participants_without_plan,
            "journal_entries_created": self.journal_entries_created,
            "payment_instructions_created": self.payment_instructions_created,
            "payment_amount_cents": self.payment_amount_cents,
            "alerts_raised": self.alerts_raised,
            "proposals_applied": self.proposals_applied,
            "state_rebuilds": self.state_rebuilds,
            "chunks": self.chunks,
            "stale_reevaluated": self.stale_reevaluated,
            "workers": self.workers,
            "failed_participants": [failure.as_dict() for failure in self.failed_participants],
            "timings_seconds": {
                name: round(value, 3) for name, value in self.timings_seconds.items()
            },
        }

    def merge(self, other: CycleSummary) -> None:
        """Add what another process of the same run did (backend.cycle.parallel);
        timings add up to the processes' time together."""
        for name in (
            "participants_evaluated",
            "participants_without_plan",
            "journal_entries_created",
            "payment_instructions_created",
            "payment_amount_cents",
            "alerts_raised",
            "state_rebuilds",
            "chunks",
            "stale_reevaluated",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.failed_participants.extend(other.failed_participants)
        self.failed_participants.sort(key=lambda failure: failure.participant_id)
        for name, seconds in other.timings_seconds.items():
            self._time(name, seconds)

    def _time(self, name: str, seconds: float) -> None:
        self.timings_seconds[name] = self.timings_seconds.get(name, 0.0) + seconds


@contextmanager
def _stopwatch(summary: CycleSummary, name: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        summary._time(name, time.perf_counter() - started)


# ---------------------------------------------------------------------- the run


def run_daily_cycle(
    session_factory: sessionmaker[Session],
    *,
    today: dt.date,
    participant_ids: Sequence[int] | None = None,
    chunk_size: int = CHUNK_SIZE_DEFAULT,
    debtor_iban: str | None = None,
    rebuild_state: bool = False,
    workers: int | None = 1,
) -> CycleSummary:
    """Run the cycle for `today` for every active participant with a plan in force
    (or only `participant_ids`). Commits per chunk; see the module docstring.
    `workers`: processes that take chunks in turn (backend.cycle.parallel); None: two
    where that can help, else one."""
    _check_chunk_size(chunk_size)
    _check_workers(session_factory, workers)
    started = time.perf_counter()
    with transaction(session_factory) as session:
        run = CycleRun(run_date=today, status="running")
        session.add(run)
        session.flush()
        summary = CycleSummary(run_id=run.id, run_date=today)
    try:
        with _stopwatch(summary, "apply_proposals"), _locked(session_factory) as session:
            summary.proposals_applied = apply_pending(session, now=utcnow())
        with transaction(session_factory) as session:
            debtor = _debtor_iban(session, debtor_iban)
            candidates = _candidates(session, today, participant_ids)
        chunks = [
            candidates[start : start + chunk_size]
            for start in range(0, len(candidates), chunk_size)
        ]
        summary.workers = _workers(session_factory, workers, len(chunks))
        _run_chunks(
            session_factory,
            chunks,
            today=today,
            debtor_iban=debtor,
            summary=summary,
            rebuild_state=rebuild_state,
        )
        if participant_ids is None:
            # Ending participation (backend.ending): agreed ends whose date has come are
            # settled after the engine ran for them today.
            from backend.ending.service import settle_due_endings

            with _locked(session_factory) as session:
                settle_due_endings(session, today=today, debtor_iban=debtor)
    except BaseException:
        summary._time("total", time.perf_counter() - started)
        try:
            _finish(session_factory, summary, status="failed")
        except Exception:  # the original error matters more than the bookkeeping
            log.exception("cycle %s: could not record the failed run %s", today, summary.run_id)
        raise
    summary._time("total", time.perf_counter() - started)
    _finish(session_factory, summary, status="ok" if summary.ok else "partial")
    return summary


def run_cycle_in_session(
    session: Session,
    *,
    today: dt.date,
    participant_ids: Sequence[int] | None = None,
    chunk_size: int = CHUNK_SIZE_DEFAULT,
    debtor_iban: str | None = None,
    accounts: loading.AccountCache | None = None,
) -> CycleSummary:
    """The same cycle inside the caller's transaction (the demo seed replays its history
    with it): no commits, no lock of its own, no cycle_run row (run_id 0), proposals
    not applied. The caller holds a write transaction and commits."""
    _check_chunk_size(chunk_size)
    started = time.perf_counter()
    summary = CycleSummary(run_id=0, run_date=today)
    debtor = _debtor_iban(session, debtor_iban)
    candidates = _candidates(session, today, participant_ids)
    accounts = accounts or loading.AccountCache()
    for start in range(0, len(candidates), chunk_size):
        _process_chunk(
            session,
            candidates[start : start + chunk_size],
            today=today,
            debtor_iban=debtor,
            accounts=accounts,
            summary=summary,
            rebuild_state=False,
        )
    summary._time("total", time.perf_counter() - started)
    return summary


def _check_workers(session_factory: sessionmaker[Session], wanted: int | None) -> None:
    if wanted is None:
        return
    if not 1 <= wanted <= WORKERS_MAX:
        raise InvalidInput(f"workers must be 1 to {WORKERS_MAX}, not {wanted}")
    if wanted > 1 and not parallel.workers_possible(session_factory):
        raise InvalidInput(
            "more than one worker needs a database another process can open "
            "(not an in-memory SQLite database) and an operating system with fork"
        )


def _workers(session_factory: sessionmaker[Session], wanted: int | None, chunks: int) -> int:
    if wanted is None:
        return parallel.auto_workers(session_factory, chunks)
    return max(1, min(wanted, chunks))


def _run_chunks(
    session_factory: sessionmaker[Session],
    chunks: list[list[int]],
    *,
    today: dt.date,
    debtor_iban: str,
    summary: CycleSummary,
    rebuild_state: bool,
) -> None:
    """Every chunk once: here under the lock, or in `summary.workers` processes."""
    # Account ids never change: a forked child keeps what was looked up before.
    accounts = loading.AccountCache()

    def locked(factory: sessionmaker[Session], ids: Sequence[int], adding_to: Any) -> None:
        with collector_paused(len(ids)), _locked(factory) as session:
            _process_chunk(
                session,
                ids,
                today=today,
                debtor_iban=debtor_iban,
                accounts=accounts,
                summary=adding_to,
                rebuild_state=rebuild_state,
            )

    if summary.workers == 1:
        for ids in chunks:
            locked(session_factory, ids, summary)
        return

    def prepared(factory: sessionmaker[Session], ids: Sequence[int], adding_to: Any) -> None:
        with collector_paused(len(ids)):
            process_chunk_prepared(
                factory,
                ids,
                today=today,
                debtor_iban=debtor_iban,
                accounts=accounts,
                summary=adding_to,
                rebuild_state=rebuild_state,
            )

    parallel.run_chunks(
        session_factory,
        chunks,
        workers=summary.workers,
        summary=summary,
        run_chunk=prepared,
        run_chunk_locked=locked,
        new_summary=lambda: CycleSummary(run_id=summary.run_id, run_date=today),
        merge=summary.merge,
    )


def _check_chunk_size(chunk_size: int) -> None:
    if not 1 <= chunk_size <= CHUNK_SIZE_MAX:
        raise InvalidInput(f"chunk size must be 1 to {CHUNK_SIZE_MAX}")


def _candidates(
    session: Session, today: dt.date, participant_ids: Sequence[int] | None
) -> list[int]:
    if participant_ids is None:
        return loading.participants_with_plan(session, today)
    return sorted(set(participant_ids))


@contextmanager
def _locked(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    """A write transaction holding the cycle lock (see the module docstring)."""
    session = session_factory()
    try:
        if session.get_bind().dialect.name == "postgresql":
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            session.execute(text("LOCK TABLE cycle_state IN EXCLUSIVE MODE"))
            # Kept balances: this transaction adds to the cycle's own rows (see there).
            balances.cycle_lock_writer(session.connection())
        else:
            session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def _snapshot(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    """A read-only transaction that sees one moment of the database (SQLite: a deferred
    transaction in WAL mode; PostgreSQL: REPEATABLE READ). Nothing is locked."""
    session = session_factory()
    try:
        if session.get_bind().dialect.name == "postgresql":
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        yield session
    finally:
        session.rollback()
        session.close()


def _debtor_iban(session: Session, wanted: str | None) -> str:
    """The municipality's account the payments are made from: the one given, or the
    first one registered."""
    accounts = list(
        session.scalars(select(MunicipalBankAccount.iban).order_by(MunicipalBankAccount.id))
    )
    if wanted is not None:
        compact = validate_iban(wanted, field="debtor IBAN")
        if compact not in accounts:
            raise InvalidInput(f"{compact} is not one of the municipality's accounts")
        return compact
    if not accounts:
        raise InvalidInput("the municipality has no bank account to pay from; register one first")
    return accounts[0]


def _finish(session_factory: sessionmaker[Session], summary: CycleSummary, *, status: str) -> None:
    with transaction(session_factory) as session:
        session.execute(
            update(CycleRun)
            .where(CycleRun.id == summary.run_id)
            .values(
                status=status,
                finished_at=utcnow(),
                participants_evaluated=summary.participants_evaluated,
                journal_entries_created=summary.journal_entries_created,
                payment_instructions_created=summary.payment_instructions_created,
                alerts_raised=summary.alerts_raised,
                failed_count=len(summary.failed_participants),
                failures=[
                    failure.as_dict()
                    for failure in summary.failed_participants[:FAILURES_STORED_MAX]
                ],
                timings={name: round(value, 3) for name, value in summary.timings_seconds.items()},
            )
        )


# ---------------------------------------------------------------------- one chunk


@dataclass
class _Decision:
    """What the engine decided for one participant, ready to write."""

    participant_id: int
    actions: list[Action]
    entries: list[JournalEntry]
    state: dict[str, Any] | None  # the new cycle_state row, None when unchanged
    state_exists: bool


@dataclass
class _Loaded:
    """Everything the engine needs for a chunk, read in one transaction."""

    ids: list[int]  # the chunk's participants with a plan in force, sorted
    bodies: dict[int, dict[str, Any]]
    ledgers: dict[int, loading.ParticipantLedger]
    states: dict[int, loading.StateRow]
    rebuild: set[int]
    found: dict[int, loading.EntriesAfter]
    alert_keys: dict[int, set[str]]
    confirmed: dict[int, list[tuple[str, dt.date]]]


def _load(
    session: Session,
    participant_ids: Sequence[int],
    *,
    today: dt.date,
    accounts: loading.AccountCache,
    rebuild_state: bool,
) -> _Loaded:
    bodies = plan_bodies_in_force(session, participant_ids, today)
    ids = sorted(bodies)
    ledgers = loading.holdings_and_counts(session, ids)
    states = loading.states(session, ids)
    rebuild = {
        participant_id
        for participant_id in ids
        if rebuild_state
        or _needs_rebuild(states.get(participant_id), ledgers, participant_id, today)
    }
    accounts.load_participants(session, ids)
    found = loading.entries_after(
        session,
        incremental_ids=[pid for pid in ids if pid not in rebuild],
        rebuild_ids=sorted(rebuild),
        accounts=accounts,
    )
    late = _needing_rebuild_after_all(session, found, rebuild)
    if late:
        rebuild |= late
        found.update(
            loading.entries_after(
                session, incremental_ids=[], rebuild_ids=sorted(late), accounts=accounts
            )
        )
    return _Loaded(
        ids=ids,
        bodies=bodies,
        ledgers=ledgers,
        states=states,
        rebuild=rebuild,
        found=found,
        alert_keys=loading.rules_alert_keys(session, sorted(rebuild)),
        # Zelfregie step 3: bills the participant confirmed paying themselves.
        confirmed=self_payment.confirmations_for(session, ids, today),
    )


def _evaluate(loaded: _Loaded, today: dt.date) -> tuple[list[_Decision], list[ParticipantFailure]]:
    decisions: list[_Decision] = []
    failures: list[ParticipantFailure] = []
    for participant_id in loaded.ids:
        try:
            decisions.append(
                _decide(
                    participant_id,
                    loaded.bodies[participant_id],
                    loaded.ledgers.get(participant_id, loading.ParticipantLedger()),
                    loaded.states.get(participant_id),
                    loaded.found[participant_id],
                    loaded.alert_keys.get(participant_id, set()),
                    rebuilt=participant_id in loaded.rebuild,
                    today=today,
                    confirmed=loaded.confirmed.get(participant_id, ()),
                )
            )
        except Exception as error:  # one participant never stops the others
            log.exception("cycle %s: participant %s could not be evaluated", today, participant_id)
            failures.append(ParticipantFailure(participant_id, _describe(error)))
    return decisions, failures


def _load_and_evaluate(
    session: Session,
    participant_ids: Sequence[int],
    *,
    today: dt.date,
    accounts: loading.AccountCache,
    summary: CycleSummary,
    rebuild_state: bool,
) -> tuple[_Loaded, list[_Decision], list[ParticipantFailure]]:
    with _stopwatch(summary, "load"):
        loaded = _load(
            session, participant_ids, today=today, accounts=accounts, rebuild_state=rebuild_state
        )
    with _stopwatch(summary, "evaluate"):
        decisions, failures = _evaluate(loaded, today)
    return loaded, decisions, failures


def _process_chunk(
    session: Session,
    participant_ids: Sequence[int],
    *,
    today: dt.date,
    debtor_iban: str,
    accounts: loading.AccountCache,
    summary: CycleSummary,
    rebuild_state: bool,
) -> None:
    """Load, evaluate and write a chunk in the caller's (locked) transaction."""
    loaded, decisions, failures = _load_and_evaluate(
        session,
        participant_ids,
        today=today,
        accounts=accounts,
        summary=summary,
        rebuild_state=rebuild_state,
    )
    _write_chunk(
        session,
        participant_ids,
        loaded,
        decisions,
        failures,
        today=today,
        debtor_iban=debtor_iban,
        summary=summary,
    )


def process_chunk_prepared(
    session_factory: sessionmaker[Session],
    participant_ids: Sequence[int],
    *,
    today: dt.date,
    debtor_iban: str,
    accounts: loading.AccountCache,
    summary: CycleSummary,
    rebuild_state: bool,
) -> None:
    """A chunk loaded and evaluated outside the cycle lock, written under it, so that
    another process can write its chunk meanwhile (backend.cycle.parallel).

    The load is one snapshot; before writing, under the lock, `snapshot.changed_since`
    names the chunk's participants whose inputs changed since that snapshot (a posting,
    plan version or self-payment confirmation more, a cycle_state another cycle
    wrote). Those are loaded and evaluated again under the lock, so what is written is
    decided on what the lock holder sees, as in `_process_chunk`."""
    with _stopwatch(summary, "load"), _snapshot(session_factory) as session:
        seen = snapshot.inputs_seen(session, participant_ids)
        loaded = _load(
            session, participant_ids, today=today, accounts=accounts, rebuild_state=rebuild_state
        )
    with _stopwatch(summary, "evaluate"):
        decisions, failures = _evaluate(loaded, today)
    waiting = time.perf_counter()
    with _locked(session_factory) as session:
        summary._time("lock_wait", time.perf_counter() - waiting)
        with _stopwatch(summary, "check"):
            stale = snapshot.changed_since(session, seen, participant_ids)
        if stale:
            log.info("cycle %s: %d participants changed while evaluated", today, len(stale))
            again, redone, refailed = _load_and_evaluate(
                session,
                sorted(stale),
                today=today,
                accounts=accounts,
                summary=summary,
                rebuild_state=rebuild_state,
            )
            decisions = [d for d in decisions if d.participant_id not in stale] + redone
            failures = [f for f in failures if f.participant_id not in stale] + refailed
            loaded.ids = sorted({*loaded.ids} - stale | {*again.ids})
            loaded.rebuild = (loaded.rebuild - stale) | again.rebuild
            summary.stale_reevaluated += len(stale)
        _write_chunk(
            session,
            participant_ids,
            loaded,
            sorted(decisions, key=lambda decision: decision.participant_id),
            failures,
            today=today,
            debtor_iban=debtor_iban,
            summary=summary,
        )


def _write_chunk(
    session: Session,
    participant_ids: Sequence[int],
    loaded: _Loaded,
    decisions: list[_Decision],
    failures: list[ParticipantFailure],
    *,
    today: dt.date,
    debtor_iban: str,
    summary: CycleSummary,
) -> None:
    """All decisions in one bulk write; when that fails, participant by participant.
    Then the chunk's counts: `participant_ids` it was given, `loaded` what it found."""
    with _stopwatch(summary, "write"):
        try:
            with session.begin_nested():
                _write(session, decisions, today=today, debtor_iban=debtor_iban, summary=summary)
        except Exception:
            log.warning("cycle %s: a chunk write failed; writing participant by participant", today)
            for decision in decisions:
                try:
                    with session.begin_nested():
                        _write(
                            session,
                            [decision],
                            today=today,
                            debtor_iban=debtor_iban,
                            summary=summary,
                        )
                except Exception as error:
                    log.exception(
                        "cycle %s: participant %s could not be written",
                        today,
                        decision.participant_id,
                    )
                    failures.append(ParticipantFailure(decision.participant_id, _describe(error)))
        _raise_failure_alerts(session, failures, today)
    failed = {failure.participant_id for failure in failures}
    summary.chunks += 1
    summary.participants_without_plan += len(participant_ids) - len(loaded.ids)
    summary.state_rebuilds += len(loaded.rebuild)
    summary.participants_evaluated += len(loaded.ids) - len(failed)
    summary.failed_participants.extend(sorted(failures, key=lambda failure: failure.participant_id))


def _describe(error: BaseException) -> str:
    detail = getattr(error, "detail", None) or str(error) or type(error).__name__
    return f"{type(error).__name__}: {detail}"[:ERROR_LENGTH_MAX]


def _needs_rebuild(
    state: loading.StateRow | None,
    ledgers: dict[int, loading.ParticipantLedger],
    participant_id: int,
    today: dt.date,
) -> bool:
    if state is None or today < state.as_of:
        return True
    ledger = ledgers.get(participant_id)
    seen = 0 if ledger is None else ledger.postings_through_state
    # Postings up to the cached entry that the cache did not fold: an entry committed
    # after a lower-numbered one was already folded. Only a rebuild sees it.
    return seen != state.postings_folded


def _needing_rebuild_after_all(
    session: Session, found: dict[int, loading.EntriesAfter], rebuild: set[int]
) -> set[int]:
    """Participants whose new entries undo or return something folded earlier."""
    late = {
        participant_id
        for participant_id, entries in found.items()
        if participant_id not in rebuild and entries.returned_payments
    }
    originals = {
        participant_id: entries.foreign_reversals
        for participant_id, entries in found.items()
        if participant_id not in rebuild and entries.foreign_reversals
    }
    if originals:
        reasons = loading.reason_codes(
            session, [entry_id for ids in originals.values() for entry_id in ids]
        )
        late |= {
            participant_id
            for participant_id, ids in originals.items()
            if any(reasons.get(entry_id) in loading.OPEN_ITEM_REASONS for entry_id in ids)
        }
    return late


def _decide(
    participant_id: int,
    body: dict[str, Any],
    ledger: loading.ParticipantLedger,
    state: loading.StateRow | None,
    found: loading.EntriesAfter,
    alert_keys: set[str],
    *,
    rebuilt: bool,
    today: dt.date,
    confirmed: Sequence[tuple[str, dt.date]] = (),
) -> _Decision:
    plan = Plan.model_validate(body)
    if plan.participant_id != participant_id:
        raise InvalidInput(f"the stored plan belongs to participant {plan.participant_id}")
    cached: OpenItems | None = None
    if rebuilt or state is None:
        builder = OpenItemsBuilder()
        for key in alert_keys:
            builder.add_alert(key)
        folded_before, through_before = 0, 0
    else:
        cached = OpenItems.model_validate(state.open_items)
        builder = OpenItemsBuilder.starting_from(cached)
        folded_before, through_before = state.postings_folded, state.through_entry_id
    for entry in found.entries:
        builder.add_entry(entry)
    for agreement_id, due_date in confirmed:
        builder.confirm_self_payment(agreement_id, due_date)
    open_items = builder.build(today)
    balances = Balances.from_ledger(participant_id, ledger.raw_balances)
    actions = evaluate(plan, balances, open_items, today)
    entries = [entry for entry in (action.to_journal_entry(today) for action in actions) if entry]
    new_alerts = {action.idempotency_key for action in actions if isinstance(action, RaiseAlert)}
    if new_alerts:
        open_items = open_items.model_copy(
            update={"alerts_raised": tuple(sorted(set(open_items.alerts_raised) | new_alerts))}
        )
    # The cache holds the open items before today's actions: their entries are
    # folded tomorrow like any other entry, which keeps "through" an entry id that
    # the ledger really had when the cache was made.
    through = max(through_before, found.last_entry_id)
    folded = folded_before + found.postings
    unchanged = (
        cached is not None
        and state is not None
        and state.through_entry_id == through
        and state.postings_folded == folded
        and cached == open_items
    )
    new_state = None
    if not unchanged:
        new_state = {
            "participant_id": participant_id,
            "as_of": today,
            "through_entry_id": through,
            "postings_folded": folded,
            "open_items": open_items.model_dump(mode="json"),
            "updated_at": utcnow(),
        }
    return _Decision(
        participant_id=participant_id,
        actions=actions,
        entries=entries,
        state=new_state,
        state_exists=state is not None,
    )


def _write(
    session: Session,
    decisions: Sequence[_Decision],
    *,
    today: dt.date,
    debtor_iban: str,
    summary: CycleSummary,
) -> None:
    """Entries, then instructions for the payments among them, alerts and the cache.
    Counts are added to the summary only when everything is written."""
    entries = [entry for decision in decisions for entry in decision.entries]
    posted = post_entries(session, entries, created_by=CREATED_BY) if entries else []
    created_keys = {item.entry.idempotency_key for item in posted if item.created}
    by_key = {item.entry.idempotency_key: item for item in posted}
    requests = [
        _instruction_request(action, by_key[action.idempotency_key], debtor_iban)
        for decision in decisions
        for action in decision.actions
        if isinstance(action, _PAYMENTS) and action.idempotency_key in created_keys
    ]
    if requests:
        insert_payment_instructions(session, requests)
    alerts_created = _insert_alerts(
        session,
        [
            action
            for decision in decisions
            for action in decision.actions
            if isinstance(action, RaiseAlert)
        ],
    )
    # Zelfregie step 3: a missed self-payment switches the cost back to direct payment.
    self_payment.switch_back_after_missed(
        session,
        self_payment.missed_alerts(a for decision in decisions for a in decision.actions),
        today=today,
        now=utcnow(),
    )
    _save_states(session, decisions, today)
    session.flush()
    summary.journal_entries_created += len(created_keys)
    summary.payment_instructions_created += len(requests)
    summary.payment_amount_cents += sum(request.amount_cents for request in requests)
    summary.alerts_raised += alerts_created


def _instruction_request(
    action: PayFixedCost | PayLivingMoney | HandOverFixedCost | PayOneOffPayout,
    posted: PostedEntry,
    debtor_iban: str,
) -> InstructionRequest:
    instruction = action.payment_instruction()
    structured = instruction.reference.kind == "structured"
    if isinstance(action, PayFixedCost):
        kind, source_kind, due_date = "fixed_cost", "reserved", action.due_date
    elif isinstance(action, HandOverFixedCost):
        # To the participant's own account (zelfregie step 3), from the reservation.
        kind, source_kind, due_date = "living_money", "reserved", action.due_date
    elif isinstance(action, PayOneOffPayout):
        # A one-off extra payout to the participant's own account (backend.plans.one_off).
        kind, source_kind, due_date = "living_money", "available", action.pay_on
    else:
        kind, source_kind, due_date = "living_money", "available", action.payout_date
    return InstructionRequest(
        entry=posted.entry,
        entry_id=posted.entry_id,
        participant_id=action.participant_id,
        kind=kind,
        creditor_name=instruction.creditor_name,
        creditor_iban=instruction.creditor_iban,
        amount_cents=instruction.amount_cents,
        due_date=due_date,
        execution_date=instruction.requested_execution_date,
        remittance=None if structured else instruction.reference.text,
        creditor_reference=instruction.reference.text if structured else None,
        source_kind=source_kind,
        debtor_iban=debtor_iban,
        end_to_end_id=instruction.end_to_end_id,
    )


def _insert_alerts(session: Session, alerts: Sequence[RaiseAlert]) -> int:
    """The engine's alerts, once per key (`alert.dedup_key` is the action's key)."""
    if not alerts:
        return 0
    keys = [alert.idempotency_key for alert in alerts]
    existing: set[str] = set()
    for start in range(0, len(keys), 500):
        existing.update(
            session.scalars(
                select(Alert.dedup_key).where(Alert.dedup_key.in_(keys[start : start + 500]))
            )
        )
    now = utcnow()
    rows = [
        {
            "dedup_key": alert.idempotency_key,
            "participant_id": alert.participant_id,
            "kind": str(alert.alert_kind),
            "severity": _SEVERITY[alert.severity],
            "message_nl": alert.explanation_nl[:500],
            "message_en": alert.explanation_en[:500],
            "created_at": now,
        }
        for alert in alerts
        if alert.idempotency_key not in existing
    ]
    if rows:
        session.execute(insert(_ALERT), rows)
    return len(rows)


_STATE: Table = cast(Table, CycleState.__table__)
_ALERT: Table = cast(Table, Alert.__table__)
_STATE_COLUMNS = ("as_of", "through_entry_id", "postings_folded", "open_items", "updated_at")
# Core statements (no ORM bookkeeping per row: see PERFORMANCE-NOTES.md).
_UPDATE_STATE = (
    update(_STATE)
    .where(_STATE.c.participant_id == bindparam("state_participant_id"))
    .values({column: bindparam(f"state_{column}") for column in _STATE_COLUMNS})
)


def _save_states(session: Session, decisions: Sequence[_Decision], today: dt.date) -> None:
    """Changed caches in bulk; for the others only the day they were used for."""
    updates = [
        {f"state_{column}": value for column, value in d.state.items()}
        for d in decisions
        if d.state is not None and d.state_exists
    ]
    inserts = [d.state for d in decisions if d.state is not None and not d.state_exists]
    unchanged = [d.participant_id for d in decisions if d.state is None]
    if updates:
        session.execute(_UPDATE_STATE, updates)
    if inserts:
        session.execute(insert(_STATE), inserts)
    for start in range(0, len(unchanged), 500):
        session.execute(
            update(_STATE)
            .where(
                _STATE.c.participant_id.in_(unchanged[start : start + 500]),
                _STATE.c.as_of < today,
            )
            .values(as_of=today)
        )


def _raise_failure_alerts(
    session: Session, failures: Sequence[ParticipantFailure], today: dt.date
) -> None:
    """The caseworker sees that today's cycle skipped the participant (once a day)."""
    if not failures:
        return
    keys = {f"cycle:failed:{failure.participant_id}:{today}": failure for failure in failures}
    existing = set(session.scalars(select(Alert.dedup_key).where(Alert.dedup_key.in_(list(keys)))))
    rows = [
        {
            "dedup_key": key,
            "participant_id": failure.participant_id,
            "kind": "cycle_failed",
            "severity": "critical",
            "message_nl": (
                f"De dagelijkse verwerking van {today:%d-%m-%Y} is voor deze deelnemer "
                "overgeslagen door een fout; betalingen en reserveringen wachten. "
                f"({failure.error})"
            )[:500],
            "message_en": (
                f"The daily cycle of {today.isoformat()} skipped this participant because of "
                f"an error; payments and reservations are waiting. ({failure.error})"
            )[:500],
            "created_at": utcnow(),
        }
        for key, failure in keys.items()
        if key not in existing
    ]
    if rows:
        session.execute(insert(_ALERT), rows)
