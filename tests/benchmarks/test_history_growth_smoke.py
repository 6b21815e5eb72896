"""Smoke test of benchmarks/history_growth.py at a tiny size: it runs end to end, adds
the history without changing any balance, and reports both figures. No timings are
asserted (docs/performance.md has the real figures)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from backend.db import make_engine, make_session_factory
from backend.ledger_store import account_balances
from backend.models import PostingRecord
from benchmarks import history_growth
from ledger import AccountRef


def _held(balances: dict[AccountRef, int]) -> dict[AccountRef, int]:
    return {ref: cents for ref, cents in balances.items() if cents}


def test_history_growth_adds_postings_but_no_money(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'history.db'}"
    seen: dict[str, object] = {}
    add_history = history_growth._add_history

    def observed(url: str, ids: list[int], postings: int) -> None:
        factory = make_session_factory(make_engine(url))
        with factory() as session:
            seen["balances"] = _held(account_balances(session))
            seen["postings"] = session.scalar(select(func.count(PostingRecord.id)))
        add_history(url, ids, postings)
        with factory() as session:
            assert _held(account_balances(session)) == seen["balances"]  # no money created
            added = session.scalar(select(func.count(PostingRecord.id)))
        assert added == seen["postings"] + len(ids) * postings  # type: ignore[operator]

    monkeypatch.setattr(history_growth, "_add_history", observed)
    monkeypatch.setattr(
        sys,
        "argv",
        ["history_growth", "--participants", "5", "--postings", "10", "--database-url", url],
    )
    history_growth.main()
    output = capsys.readouterr().out
    assert "with 10 more postings each" in output and "ratio" in output
