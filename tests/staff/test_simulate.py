"""`huishoudboekje simulate`: the synthetic caseload, through the real rules engine."""

from __future__ import annotations

import json

from click.testing import CliRunner

from backend.cli import main
from backend.simulation import Disruptions, simulate_caseload


def test_same_seed_same_figures_and_disruptions_make_work() -> None:
    first = simulate_caseload(participants=6, months=3, seed=3)
    again = simulate_caseload(participants=6, months=3, seed=3)
    assert first.as_dict() == again.as_dict()
    assert first.participant_months == 18
    assert len(first.items_by_participant_month) == 18
    calm = simulate_caseload(
        participants=6,
        months=3,
        seed=3,
        disruptions=Disruptions(
            income_late=0,
            income_short=0,
            income_missing=0,
            payment_returned=0,
            rent_increase_per_year=0,
            life_event_per_month=0,
            emergency_per_month=0,
        ),
    )
    assert calm.arrears == 0
    assert calm.total_items <= first.total_items


def test_cli_prints_the_figures_as_json() -> None:
    result = CliRunner().invoke(
        main, ["simulate", "--participants", "3", "--months", "2", "--seed", "5", "--json"]
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert figures["participant_months"] == 6
    assert "items_per_participant_month" in figures and "arrears" in figures
