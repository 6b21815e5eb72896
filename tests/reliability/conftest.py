"""Reliability tests: crash consistency, concurrency, hostile input, simulation.

Short form by default (part of `make test`); HUISHOUDBOEKJE_RELIABILITY_LONG=1 (what
`make reliability` sets) runs many more trials, cold processes and PostgreSQL when
HUISHOUDBOEKJE_TEST_POSTGRES_URL is set. See docs/reliability.md.
"""

from __future__ import annotations

import os

import pytest

from tests.reliability import report

LONG = os.environ.get("HUISHOUDBOEKJE_RELIABILITY_LONG") == "1"
SEED = int(os.environ.get("HUISHOUDBOEKJE_RELIABILITY_SEED", "20261130"))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    found = report.lines()
    if not found:
        return
    terminalreporter.section("reliability (trials and faults injected)")
    for line in found:
        terminalreporter.write_line(line)
    report.write_artifact()
