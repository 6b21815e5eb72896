"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import text

from backend.api.deps import DbSession

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    database: str


@router.get(
    "/health", response_model=Health, summary="Is the service up and the database reachable?"
)
def health(session: DbSession) -> Health:
    session.execute(text("SELECT 1"))
    return Health(status="ok", database="ok")
