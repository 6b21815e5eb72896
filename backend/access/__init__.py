"""Who may do what: roles, permissions, caseloads and participant scope.

Every access decision goes through backend.access.policy; the FastAPI
dependencies in backend.access.dependencies only wire it into routes.
"""

from backend.access.policy import (
    Party,
    Principal,
    ensure_can_act_for_participant,
    ensure_can_read_participant,
    has_permission,
    party_for,
    require_permission,
    require_role,
    visible_participant_ids,
)
from backend.access.roles import ROLE_PERMISSIONS, Permission, Role

__all__ = [
    "ROLE_PERMISSIONS",
    "Party",
    "Permission",
    "Principal",
    "Role",
    "ensure_can_act_for_participant",
    "ensure_can_read_participant",
    "has_permission",
    "party_for",
    "require_permission",
    "require_role",
    "visible_participant_ids",
]
