"""`huishoudboekje cycle run`: what the scheduler calls once a day, after the import."""

from __future__ import annotations

import datetime as dt
import sys

import click

from backend.cli import FriendlyGroup, _echo_json, _parse_date
from backend.clock import today_amsterdam
from backend.config import get_settings
from backend.cycle.service import CHUNK_SIZE_DEFAULT, CycleSummary, run_daily_cycle
from backend.db import make_engine, make_session_factory
from ledger import Money


@click.group(cls=FriendlyGroup)
def cycle() -> None:
    """The daily cycle: reserve, pay, buffer and living money by the rules."""


@cycle.command("run")
@click.option("--date", "run_date", callback=_parse_date, help="The day to run (YYYY-MM-DD).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option(
    "--participant",
    "participant_ids",
    type=int,
    multiple=True,
    help="Only this participant (repeat for more).",
)
@click.option("--chunk-size", default=CHUNK_SIZE_DEFAULT, show_default=True, type=int)
@click.option("--debtor-iban", help="Pay from this municipal account (default: the first one).")
@click.option(
    "--rebuild-state", is_flag=True, help="Rebuild every cached open item from the ledger."
)
@click.option(
    "--workers",
    default="auto",
    show_default=True,
    help="Processes that share the chunks (1 to 8); auto: two on a machine with two "
    "cores or more and a database file or server.",
)
def cycle_run(
    run_date: dt.date | None,
    as_json: bool,
    participant_ids: tuple[int, ...],
    chunk_size: int,
    debtor_iban: str | None,
    rebuild_state: bool,
    workers: str,
) -> None:
    """Run the rules for every participant for one day; running it again changes nothing.

    Exits 1 when a participant could not be processed (the others are), 2 on an error.
    """
    from backend.plans import register_plan_appliers

    register_plan_appliers()
    engine = make_engine(get_settings().database_url)
    try:
        summary = run_daily_cycle(
            make_session_factory(engine),
            today=run_date or today_amsterdam(),
            participant_ids=list(participant_ids) or None,
            chunk_size=chunk_size,
            debtor_iban=debtor_iban,
            rebuild_state=rebuild_state,
            workers=_workers(workers),
        )
    finally:
        engine.dispose()
    if as_json:
        _echo_json(summary.as_dict())
    else:
        _print(summary)
    sys.exit(0 if summary.ok else 1)


def _workers(text: str) -> int | None:
    if text.strip().lower() == "auto":
        return None
    if not text.strip().isdigit():
        raise click.BadParameter(
            f"{text!r} is not a number of processes or 'auto'", param_hint="--workers"
        )
    return int(text)


def _print(summary: CycleSummary) -> None:
    click.echo(
        f"cycle {summary.run_date.isoformat()} (run {summary.run_id}): "
        f"{summary.participants_evaluated} participants evaluated, "
        f"{summary.journal_entries_created} journal entries, "
        f"{summary.payment_instructions_created} payments "
        f"({Money(summary.payment_amount_cents).format_nl()}), "
        f"{summary.alerts_raised} alerts"
    )
    if summary.proposals_applied:
        click.echo(f"{summary.proposals_applied} decided proposals became plan versions")
    if summary.participants_without_plan:
        click.echo(f"{summary.participants_without_plan} participants have no plan in force")
    if summary.workers > 1:
        click.echo(
            f"{summary.workers} processes shared {summary.chunks} chunks; "
            f"{summary.stale_reevaluated} participants changed meanwhile and were evaluated again"
        )
    timings = ", ".join(
        f"{name} {seconds:.2f} s" for name, seconds in summary.timings_seconds.items()
    )
    click.echo(f"timings: {timings}")
    for failure in summary.failed_participants:
        click.echo(f"FAILED participant {failure.participant_id}: {failure.error}")
