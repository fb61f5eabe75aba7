"""Authorization: the permission table, the caller, and the `require` route dependency."""

from typing import Annotated

from fastapi import Depends

from ingress.auth.require import Principal, authenticate, permission_of, require
from switchboard.permissions import ROLE_PERMISSIONS, Permission, Role, allows

# The caller of a route that needs the permission named, as a parameter type.
Reader = Annotated[Principal, Depends(require(Permission.READ))]
Agent = Annotated[Principal, Depends(require(Permission.CONVERSATIONS_ACT))]

__all__ = [
    "ROLE_PERMISSIONS",
    "Agent",
    "Permission",
    "Principal",
    "Reader",
    "Role",
    "allows",
    "authenticate",
    "permission_of",
    "require",
]
