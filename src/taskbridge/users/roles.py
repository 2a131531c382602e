"""Roles ranked, so a person manages only those below them."""

from __future__ import annotations

from collections.abc import Iterable

from taskbridge.auth.permissions import ROLE_PERMISSIONS, Permission, Role

ROLE_RANK: dict[Role, int] = {Role.VIEWER: 0, Role.FDE: 1, Role.ADMIN: 2, Role.SUPER_ADMIN: 3}


def permissions_of(role: Role) -> frozenset[Permission]:
    return ROLE_PERMISSIONS[role]


def role_ceiling(permissions: Iterable[Permission]) -> int:
    """The rank of the highest role whose permissions the caller holds (-1: none).

    How an API key is ranked when it manages users: by the role it could stand in for.
    """
    held = set(permissions)
    ranks = [ROLE_RANK[role] for role in Role if ROLE_PERMISSIONS[role] <= held]
    return max(ranks, default=-1)
