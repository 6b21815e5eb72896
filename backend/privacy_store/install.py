"""Wires privacy into the app: structured logging without personal data, a trace id per
request (also in the access log), the names the log redactor must know, and the
privacy routes."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from backend.logging import KNOWN_NAMES, TraceMiddleware, configure_logging
from backend.models import Household, Participant, UserAccount
from backend.privacy_store import endpoints

_HOUSEHOLD_WORDS = ("huishouden", "familie", "gezin")


def _household_surname(name: str) -> str:
    first, _, rest = name.partition(" ")
    return rest if first.casefold() in _HOUSEHOLD_WORDS else name


def load_names(session: Session) -> list[str]:
    """Names of participants (and their accounts and households) to keep out of logs."""
    names = list(session.scalars(select(Participant.display_name)))
    for username, display_name in session.execute(
        select(UserAccount.username, UserAccount.display_name).where(
            UserAccount.participant_id.is_not(None)
        )
    ):
        names += [username, display_name]
    names += [_household_surname(name) for name in session.scalars(select(Household.name))]
    return names


def _loader(factory: sessionmaker[Session]) -> Any:
    def load() -> list[str]:
        with factory() as session:
            return load_names(session)

    return load


@event.listens_for(Participant, "after_insert")
def _remember_participant(_mapper: Any, _connection: Any, target: Participant) -> None:
    KNOWN_NAMES.add([target.display_name])


@event.listens_for(UserAccount, "after_insert")
def _remember_account(_mapper: Any, _connection: Any, target: UserAccount) -> None:
    if target.participant_id is not None:
        KNOWN_NAMES.add([target.username, target.display_name])


def install_privacy(app: FastAPI) -> None:
    configure_logging()
    KNOWN_NAMES.set_loader(_loader(app.state.session_factory))
    app.include_router(endpoints.router)
    app.add_middleware(TraceMiddleware)
