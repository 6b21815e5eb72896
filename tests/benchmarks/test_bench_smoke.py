"""Smoke test of `huishoudboekje bench`: it runs end to end at a tiny size and reports
every figure. No timings are asserted (docs/performance.md has the real figures)."""

from __future__ import annotations

import json

from click.testing import CliRunner

from backend.cli import main

KEYS = (
    "import_entries_per_second",
    "import_ratio_to_lxml",
    "cycle_participants_per_second",
    "cycle_postings_per_second",
    "cycle_seconds",
    "cycle_ratio_to_bulk_insert",
    "overview_p99_ms",
)


def test_bench_runs_and_reports_every_key() -> None:
    result = CliRunner().invoke(
        main,
        [
            "bench",
            "--participants", "20",
            "--import-participants", "10",
            "--clients", "4",
            "--requests", "24",
            "--seconds", "10",
            "--json",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout[result.stdout.index("{") :])
    for key in KEYS:
        assert report[key] > 0, key
    sqlite = report["sqlite"]
    for key in (
        "import_peak_rss_mb",
        "cycle_peak_rss_mb",
        "pages_server_peak_rss_mb",
        "transactions_p99_ms",
        "queue_p99_ms",
        "cycle_postings",
        "import_matched_entries",
    ):
        assert sqlite[key] > 0, key
    assert sqlite["pages_errors"] == 0
    assert sqlite["cycle_failed_participants"] == 0
