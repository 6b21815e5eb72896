"""People's dates are Europe/Amsterdam calendar dates; timestamps are UTC."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def today_amsterdam() -> dt.date:
    return dt.datetime.now(AMSTERDAM).date()
