"""Counts every reliability test reports (trials, kills, faults, violations), printed in
pytest's terminal summary whether or not `-s` is given, and written to
test-artifacts/reliability.json."""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from pathlib import Path
from typing import Any

ARTIFACT = Path(__file__).resolve().parents[2] / "test-artifacts" / "reliability.json"
_lock = threading.Lock()
_counts: dict[str, dict[str, Any]] = defaultdict(dict)


def record(section: str, **counts: Any) -> None:
    """Add counts (numbers are summed, anything else replaced) under a section."""
    with _lock:
        current = _counts[section]
        for name, value in counts.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                current[name] = round(current.get(name, 0) + value, 3)
            else:
                current[name] = value


def snapshot() -> dict[str, dict[str, Any]]:
    with _lock:
        return {section: dict(counts) for section, counts in sorted(_counts.items())}


def lines() -> list[str]:
    found = snapshot()
    out = []
    for section, counts in found.items():
        described = ", ".join(f"{name} {value}" for name, value in counts.items())
        out.append(f"{section}: {described}")
    total = sum(int(counts.get("violations", 0)) for counts in found.values())
    if found:
        out.append(f"{total} violations")
    return out


def write_artifact() -> None:
    found = snapshot()
    if not found:
        return
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    ARTIFACT.write_text(json.dumps(found, indent=2, sort_keys=True) + "\n")
