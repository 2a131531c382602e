"""Permissions and the platform's roles that bundle them."""

from __future__ import annotations

from enum import StrEnum


class Permission(StrEnum):
    CREATE_USER = "CREATE_USER"
    VIEW_USERS = "VIEW_USERS"
    UPDATE_USER = "UPDATE_USER"
    DELETE_USER = "DELETE_USER"
    RESET_USER_PASSWORD = "RESET_USER_PASSWORD"
    CREATE_TENANT = "CREATE_TENANT"
    VIEW_TENANTS = "VIEW_TENANTS"
    UPDATE_TENANT = "UPDATE_TENANT"
    DELETE_TENANT = "DELETE_TENANT"
    MANAGE_COMMERCES = "MANAGE_COMMERCES"
    SYNC_COMMERCES = "SYNC_COMMERCES"
    MANAGE_OPERATORS = "MANAGE_OPERATORS"
    SYNC_OPERATORS = "SYNC_OPERATORS"
    VIEW_ACTIVITIES = "VIEW_ACTIVITIES"
    CREATE_ACTIVITY = "CREATE_ACTIVITY"
    CANCEL_ACTIVITY = "CANCEL_ACTIVITY"
    DISPATCH_ACTIVITY = "DISPATCH_ACTIVITY"
    MANAGE_ACTIVITY_CONFIG = "MANAGE_ACTIVITY_CONFIG"
    MANAGE_API_KEYS = "MANAGE_API_KEYS"
    SUBMIT_ACTIVITY_RESULT = "SUBMIT_ACTIVITY_RESULT"


class Role(StrEnum):
    SUPER_ADMIN = "SUPER_ADMIN"
    ADMIN = "ADMIN"
    FDE = "FDE"
    VIEWER = "VIEWER"


_ADMIN_EXCLUDED = {
    Permission.CREATE_TENANT,
    Permission.UPDATE_TENANT,
    Permission.DELETE_TENANT,
    Permission.DELETE_USER,
}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.SUPER_ADMIN: frozenset(Permission),
    Role.ADMIN: frozenset(set(Permission) - _ADMIN_EXCLUDED),
    Role.FDE: frozenset(
        {
            Permission.VIEW_USERS,
            Permission.MANAGE_COMMERCES,
            Permission.MANAGE_OPERATORS,
            Permission.VIEW_ACTIVITIES,
            Permission.CREATE_ACTIVITY,
            Permission.SUBMIT_ACTIVITY_RESULT,
        }
    ),
    Role.VIEWER: frozenset({Permission.VIEW_ACTIVITIES}),
}

TENANT_KEY_PERMISSIONS: frozenset[Permission] = ROLE_PERMISSIONS[Role.ADMIN]
"""What a tenant's API key may hold: never more than the tenant's ADMIN (no platform permission)."""
