"""Paths to the statement fixtures (see fixtures/README.md)."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures"
VNG = FIXTURES / "vng"
CAMT_02 = FIXTURES / "camt053.001.02"
CAMT_08 = FIXTURES / "camt053.001.08"
MT940_DIR = FIXTURES / "mt940"
FRIDAY = "gemeente-utrecht-2024-11-15"
MONDAY = "gemeente-utrecht-2024-11-18"
MUNICIPALITY_IBAN = "NL84BNGH0285050123"
