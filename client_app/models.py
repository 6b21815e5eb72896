"""In-app messages (berichten) and the transactional outbox.

`app_message` is what the resident reads under Berichten. Every message is
written together with an `outbox_message` row in the same transaction; a
municipality connects the outbox to its own e-mail or SMS gateway (it polls
rows with `dispatched_at IS NULL`, sends, and sets `dispatched_at`). Outbox
texts are deliberately general ("there is a new message for you in the app"):
no names, amounts or account numbers leave the service by e-mail or SMS.
The gateway looks up the contact address by `participant_id` itself.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, BigIntId, UtcDateTime, utcnow

MESSAGE_KINDS = (
    "proposal_waiting",  # a proposal waits for the resident's decision
    "proposal_decided",  # the caseworker decided on the resident's proposal
    "plan_changed",  # a decided change became part of the plan
    "emergency_change",  # the caseworker changed the plan alone, in an emergency
    "emergency_received",  # the caseworker has seen the emergency request
    "payment_returned",  # a payment came back
    "income_late",  # expected income has not arrived
    "alert",  # another signal about the resident's money
    "caseworker_wrote",  # a message written by the caseworker
)


class AppMessage(Base):
    __tablename__ = "app_message"
    __table_args__ = (Index("ix_app_message_participant_created", "participant_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"))
    kind: Mapped[str] = mapped_column(String(30))
    # What the message is about; one message per key (a replayed event adds nothing).
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    title_nl: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    body_nl: Mapped[str] = mapped_column(Text)
    body_en: Mapped[str] = mapped_column(Text)
    # A page of the app the message points to, e.g. "/deelnemer/3/afspraken".
    link: Mapped[str | None] = mapped_column(String(200))
    # Who wrote it (a caseworker's account id and name); empty for the service itself.
    author_user_id: Mapped[int | None] = mapped_column(Integer)
    author_name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    read_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class OutboxMessage(Base):
    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_message_pending", "dispatched_at", "id"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("app_message.id"), unique=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)
    topic: Mapped[str] = mapped_column(String(30))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    dispatched_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
