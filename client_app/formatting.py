"""Money and dates the way residents read them.

Dutch by default: "€ 1.234,56", "− € 12,00", "maandag 30 november 2026".
English: "€ 1,234.56", "Monday 30 November 2026". Amounts are whole cents and
are never rounded: every cent the ledger holds is shown.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from ledger import Money, MoneyError
from rules.texts import MONTHS_EN, MONTHS_NL

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
MINUS = "\u2212"  # a real minus sign: screen readers say "min", not "streepje"

_MONTHS = {"nl": MONTHS_NL, "en": MONTHS_EN}
_WEEKDAYS = {
    "nl": ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}


def _language(lang: str) -> str:
    return lang if lang in _MONTHS else "nl"


def money(cents: int, lang: str = "nl") -> str:
    """€ 1.234,56 (nl) or € 1,234.56 (en); negatives start with a minus sign."""
    units, rest = divmod(abs(cents), 100)
    if _language(lang) == "nl":
        # As ledger.Money.format_nl, also for totals above a single amount's maximum.
        text = f"€ {f'{units:,}'.replace(',', '.')},{rest:02d}"
    else:
        text = f"€ {units:,}.{rest:02d}"
    return f"{MINUS} {text}" if cents < 0 else text


def signed_money(cents: int, lang: str = "nl") -> str:
    """+ € 154,00 / − € 645,00 / € 0,00: for money in and out."""
    if cents > 0:
        return f"+ {money(cents, lang)}"
    return money(cents, lang)


def month_name(month: int, lang: str = "nl") -> str:
    return _MONTHS[_language(lang)][month - 1]


def weekday_name(weekday: int, lang: str = "nl") -> str:
    """0 = Monday."""
    return _WEEKDAYS[_language(lang)][weekday]


def date_long(day: dt.date, lang: str = "nl") -> str:
    """maandag 30 november 2026 / Monday 30 November 2026."""
    return f"{weekday_name(day.weekday(), lang)} {date_medium(day, lang)}"


def date_medium(day: dt.date, lang: str = "nl") -> str:
    """30 november 2026 / 30 November 2026."""
    return f"{day.day} {month_name(day.month, lang)} {day.year}"


def month_label(first_day: dt.date, lang: str = "nl") -> str:
    """november 2026 / November 2026."""
    return f"{month_name(first_day.month, lang)} {first_day.year}"


def local_datetime(moment: dt.datetime, lang: str = "nl") -> str:
    """A timestamp in Amsterdam time: "maandag 30 november 2026, 14:05"."""
    local = moment.astimezone(AMSTERDAM)
    return f"{date_long(local.date(), lang)}, {local:%H:%M}"


def months_of_costs(buffer_cents: int, monthly_costs_cents: int, lang: str = "nl") -> str:
    """The buffer as months of fixed costs, one decimal, rounded down (never more
    than there is): "1,4" / "1.4"."""
    if monthly_costs_cents <= 0:
        return "0"
    tenths = max(0, buffer_cents) * 10 // monthly_costs_cents
    whole, tenth = divmod(tenths, 10)
    separator = "," if _language(lang) == "nl" else "."
    return f"{whole}" if tenth == 0 else f"{whole}{separator}{tenth}"


_THOUSANDS_DOT = re.compile(r"^\d{1,3}(\.\d{3})+$")


def parse_amount(text: str) -> int | None:
    """Cents from what a resident types: "450", "450,00", "1.234,56", "€ 97,41", "450.5".
    None when it is not an amount of euros and cents (never guessed, never rounded)."""
    cleaned = text.strip().replace("€", "").replace(" ", "").replace("\u00a0", "")
    if not cleaned or len(cleaned) > 20:
        return None
    if "," in cleaned:
        cleaned = cleaned.replace(".", "").replace(",", ".")
    elif _THOUSANDS_DOT.match(cleaned):
        cleaned = cleaned.replace(".", "")
    try:
        return Money.parse(cleaned).cents
    except MoneyError:
        return None
