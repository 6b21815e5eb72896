"""Reference budgets (issue 12, Insight): loaded from a JSON file, validated at startup.

The package ships example figures (`data/reference_budgets.nl.json`, marked
`example_figures: true`); a municipality points HUISHOUDBOEKJE_REFERENCE_BUDGETS_PATH
at its own file with the current Nibud figures it licenses. A file that is missing,
not JSON or not complete stops the service at startup with a message naming the
problem (rules.insight.ReferenceBudgets says what complete means).
"""

from __future__ import annotations

import functools
from pathlib import Path

from backend.config import ConfigurationError
from rules.insight import ReferenceBudgets, ReferenceBudgetsError, parse_reference_budgets

DEFAULT_PATH = Path(__file__).resolve().parent / "data" / "reference_budgets.nl.json"
VARIABLE = "HUISHOUDBOEKJE_REFERENCE_BUDGETS_PATH"


@functools.lru_cache(maxsize=4)
def _load(path: Path) -> ReferenceBudgets:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigurationError(
            f"{VARIABLE}: cannot read the reference budgets file {path}: {error.strerror}"
        ) from None
    try:
        return parse_reference_budgets(text, origin=f"in {path}")
    except ReferenceBudgetsError as error:
        raise ConfigurationError(f"{VARIABLE}: {error}") from None


def load_reference_budgets(path: str | Path | None) -> ReferenceBudgets:
    """The reference budgets from `path`, or the shipped example file when None."""
    return _load(Path(path).resolve() if path else DEFAULT_PATH)
