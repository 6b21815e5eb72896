"""Remembered list filters of staff users (migration 0013_staff_filters).

`staff_list_filter`: one row per staff user and list (werkvoorraad, afschriften,
te-verdelen, betaalbatches) with the filters and page size last chosen, so coming
back to a list shows it the same way, on any device. Server side on purpose: a
cookie would be per browser, and a shared workstation would mix users' choices.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, BigIntId, UtcDateTime, utcnow

LIST_NAME_LENGTH_MAX = 40


class StaffListFilter(Base):
    __tablename__ = "staff_list_filter"
    __table_args__ = (
        UniqueConstraint("user_id", "list_name", name="uq_staff_list_filter_user_list"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    list_name: Mapped[str] = mapped_column(String(LIST_NAME_LENGTH_MAX))
    filters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
