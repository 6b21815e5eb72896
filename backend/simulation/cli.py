"""`huishoudboekje simulate`: a synthetic caseload through a year (no database)."""

from __future__ import annotations

import json

import click

from backend.simulation import MONTHS_MAX, PARTICIPANTS_MAX, describe, simulate_caseload


@click.command("simulate")
@click.option(
    "--participants",
    default=200,
    show_default=True,
    type=click.IntRange(1, PARTICIPANTS_MAX),
)
@click.option("--months", default=12, show_default=True, type=click.IntRange(1, MONTHS_MAX))
@click.option("--seed", default=1, show_default=True, type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def simulate(participants: int, months: int, seed: int, as_json: bool) -> None:
    """Run a synthetic caseload through the rules engine with late and short income,
    rent increases, returned payments and life events; print how many items needed a
    person per participant per month, and how many arrears occurred."""
    result = simulate_caseload(participants=participants, months=months, seed=seed)
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))
    else:
        click.echo(describe(result))
