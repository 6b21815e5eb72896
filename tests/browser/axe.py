"""axe-core (axe-playwright-python) on a page: no serious or critical WCAG 2.1 AA violation.

`assert_accessible(page, name)` runs the WCAG 2.0/2.1 A and AA rules, writes the
full result to test-artifacts/axe/<name>-<width>.json and fails the test with a
readable list when a violation has impact "serious" or "critical".
"""

from __future__ import annotations

import json
from typing import Any

from tests.browser.artifacts import AXE_REPORTS, safe_name

AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
}
FAILING_IMPACTS = frozenset({"serious", "critical"})


def axe_violations(page: Any, name: str) -> list[dict[str, Any]]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options=AXE_OPTIONS)
    violations: list[dict[str, Any]] = results.response["violations"]
    AXE_REPORTS.mkdir(parents=True, exist_ok=True)
    width = page.viewport_size["width"] if page.viewport_size else 0
    (AXE_REPORTS / f"{safe_name(name)}-{width}.json").write_text(
        json.dumps(violations, indent=2), encoding="utf-8"
    )
    return violations


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        targets = ", ".join(
            " ".join(node.get("target", [])) for node in violation.get("nodes", [])[:5]
        )
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']} — {targets}")
    return "\n".join(lines)


def assert_accessible(page: Any, name: str) -> list[dict[str, Any]]:
    """Fail on serious or critical violations; return the lesser ones (for a report)."""
    violations = axe_violations(page, name)
    failing = [v for v in violations if v.get("impact") in FAILING_IMPACTS]
    assert not failing, f"axe found serious or critical violations on {name}:\n" + describe(failing)
    return violations
