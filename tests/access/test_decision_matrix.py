"""docs/co-decision.md and backend/codecision/matrix.py say the same thing."""

from __future__ import annotations

from pathlib import Path

from backend.access.policy import Party
from backend.codecision.matrix import (
    EMERGENCY_EXTRA_PAYOUT_CENTS_MAX,
    EMERGENCY_REASON_LENGTH_MIN,
    MATRIX,
    ChangeKind,
    Decision,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "co-decision.md"

PROPOSERS = {
    "participant or caseworker": frozenset({Party.PARTICIPANT, Party.CASEWORKER}),
    "caseworker": frozenset({Party.CASEWORKER}),
    "participant": frozenset({Party.PARTICIPANT}),
}
DECISIONS = {
    "the other party approves": Decision.OTHER_PARTY,
    "a finance user checks it (four eyes)": Decision.FINANCE_CHECK,
}


def _rows() -> dict[str, list[str]]:
    rows = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("| `"):
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            rows[cells[0].strip("`")] = cells
    return rows


def test_the_documented_matrix_is_the_enforced_matrix() -> None:
    rows = _rows()
    assert set(rows) == {str(kind) for kind in ChangeKind}
    for kind, rule in MATRIX.items():
        _, what, proposers, decision, emergency = rows[str(kind)]
        assert what == rule.description, kind
        assert PROPOSERS[proposers] == rule.proposers, kind
        assert DECISIONS[decision] is rule.decision, kind
        assert emergency.startswith("yes") == rule.emergency, kind


def test_the_documented_limits() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert f"at least {EMERGENCY_REASON_LENGTH_MIN} characters" in text
    euros = f"€ {EMERGENCY_EXTRA_PAYOUT_CENTS_MAX // 100},00"
    assert euros in text


def test_nobody_approves_their_own_side() -> None:
    for rule in MATRIX.values():
        for proposer in rule.proposers:
            assert proposer not in rule.approvers(proposer)
            assert rule.approvers(proposer)
