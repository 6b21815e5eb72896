"""Accounts, caseloads and refresh-token sessions.

A user account has one or more roles (see backend.access.roles); a participant's
account points at their participant row. Passwords are argon2id hashes; an
account that logs in through OpenID Connect only has no password hash and an
`external_subject` ("issuer#sub") instead.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, BigIntId, UtcDateTime, utcnow


class UserAccount(Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    # A JSON list of role names, e.g. ["caseworker"]; checked by backend.access.policy.
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("participant.id"), unique=True)
    external_subject: Mapped[str | None] = mapped_column(String(300), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_login_count: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class CaseloadAssignment(Base):
    """A participant on a caseworker's caseload."""

    __tablename__ = "caseload_assignment"
    __table_args__ = (UniqueConstraint("caseworker_id", "participant_id"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    caseworker_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)
    assigned_by: Mapped[str] = mapped_column(String(100))
    assigned_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class RefreshToken(Base):
    """One issued refresh token. Only the SHA-256 of its id (`jti`) is stored.

    Tokens rotate: a refresh revokes the token it used and issues a new one in
    the same family; presenting a revoked token again revokes the whole family.
    """

    __tablename__ = "refresh_token"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    family_id: Mapped[str] = mapped_column(String(36), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    issued_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
