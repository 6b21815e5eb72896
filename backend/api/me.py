"""Who am I: the caller's account, roles and (for a participant) participant id."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from backend.access.dependencies import CurrentUser
from backend.access.roles import Permission, Role
from backend.api.problem_docs import problem_responses

router = APIRouter(prefix="/api", tags=["me"])


class Me(BaseModel):
    user_id: int
    username: str
    display_name: str
    roles: list[Role]
    permissions: list[Permission]
    participant_id: int | None


@router.get(
    "/me", response_model=Me, summary="The logged-in account", responses=problem_responses(401)
)
def me(user: CurrentUser) -> Me:
    return Me(
        user_id=user.user_id,
        username=user.username,
        display_name=user.display_name,
        roles=sorted(user.roles),
        permissions=sorted(user.permissions),
        participant_id=user.participant_id,
    )
