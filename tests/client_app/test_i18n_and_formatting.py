"""The message catalogue, and money and dates the Dutch way."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from client_app import formatting
from client_app.i18n import catalogue, translate

CLIENT_APP = Path(__file__).resolve().parents[2] / "client_app"
# t("key") in templates, translate(lang, "key") in Python (also over several lines).
STATIC_KEY = re.compile(r"""\bt\(\s*["']([a-z_][a-z0-9_.]*[a-z0-9_])["']""")
PYTHON_KEY = re.compile(r"""translate\(\s*[^,()]+,\s*f?["']([a-z_][a-z0-9_.{}]*)["']""", re.S)
# Keys made from a prefix and a value ("status." ~ status): every value must exist.
DYNAMIC_PREFIXES = {
    "direction.": ("in", "out", "moved", "transit"),
    "status.": ("planned", "paid", "returned", "booked", "cancelled"),
    "kind.": ("income", "fixed_costs", "living_money", "buffer", "other"),
}


def test_dutch_and_english_have_the_same_keys() -> None:
    assert set(catalogue("nl")) == set(catalogue("en"))


def test_every_key_used_exists() -> None:
    used: set[str] = set()
    for path in (CLIENT_APP / "templates").rglob("*.html"):
        used |= set(STATIC_KEY.findall(path.read_text()))
    for path in CLIENT_APP.rglob("*.py"):
        used |= {key for key in PYTHON_KEY.findall(path.read_text()) if "{" not in key}
    missing = sorted(key for key in used if key not in catalogue("nl"))
    assert not missing, f"keys used but not in client_app/i18n/nl.json: {missing}"


def test_dynamic_keys_exist() -> None:
    from backend.codecision.signals import EmergencyKind, LifeEventKind
    from backend.models.codecision import PROPOSAL_STATUSES
    from client_app.services.messages import RESIDENT_ALERTS

    keys = [prefix + value for prefix, values in DYNAMIC_PREFIXES.items() for value in values]
    keys += [f"life_event.{kind}" for kind in LifeEventKind]
    keys += [f"emergency_kind.{kind}" for kind in EmergencyKind]
    keys += [f"proposal.status.{status}" for status in PROPOSAL_STATUSES]
    keys += [f"msg.alert.{kind.replace('.', '_')}.title" for kind in RESIDENT_ALERTS]
    assert [key for key in keys if key not in catalogue("nl")] == []


def test_translate_fills_in_and_falls_back() -> None:
    assert translate("nl", "overview.heading", name="Anna") == "Hallo Anna"
    assert translate("en", "overview.heading", name="Anna") == "Hello Anna"
    assert translate("fr", "overview.heading", name="Anna") == "Hallo Anna"
    assert translate("nl", "no.such.key") == "no.such.key"


@pytest.mark.parametrize(
    ("cents", "dutch", "english"),
    [
        (0, "€ 0,00", "€ 0.00"),
        (5, "€ 0,05", "€ 0.05"),
        (123456, "€ 1.234,56", "€ 1,234.56"),
        (-1200, "− € 12,00", "− € 12.00"),
        (100_000_000_00, "€ 100.000.000,00", "€ 100,000,000.00"),
    ],
)
def test_money_is_never_rounded(cents: int, dutch: str, english: str) -> None:
    assert formatting.money(cents, "nl") == dutch
    assert formatting.money(cents, "en") == english


def test_signed_money() -> None:
    assert formatting.signed_money(15400) == "+ € 154,00"
    assert formatting.signed_money(-64500) == "− € 645,00"


def test_dates_the_dutch_way() -> None:
    day = dt.date(2026, 11, 30)
    assert formatting.date_long(day) == "maandag 30 november 2026"
    assert formatting.date_long(day, "en") == "Monday 30 November 2026"
    assert formatting.month_label(dt.date(2026, 3, 1)) == "maart 2026"
    moment = dt.datetime(2026, 11, 30, 13, 5, tzinfo=dt.UTC)
    assert formatting.local_datetime(moment) == "maandag 30 november 2026, 14:05"


@pytest.mark.parametrize(
    ("text", "cents"),
    [
        ("450", 45000),
        ("450,00", 45000),
        ("450,5", 45050),
        ("1.234,56", 123456),
        ("€ 97,41", 9741),
        ("1.234", 123400),
        ("12.5", 1250),
        ("veel", None),
        ("1,234", None),
        ("", None),
    ],
)
def test_amounts_typed_by_residents(text: str, cents: int | None) -> None:
    assert formatting.parse_amount(text) == cents


def test_buffer_in_months_is_rounded_down() -> None:
    assert formatting.months_of_costs(157500, 101938) == "1,5"
    assert formatting.months_of_costs(203876, 101938) == "2"
    assert formatting.months_of_costs(203875, 101938, "en") == "1.9"
    assert formatting.months_of_costs(100, 0) == "0"
