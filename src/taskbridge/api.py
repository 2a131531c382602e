"""Every domain router, nothing else."""

from __future__ import annotations

from fastapi import APIRouter

from taskbridge.activities.endpoints import router as activities_router
from taskbridge.audit.endpoints import router as audit_router
from taskbridge.auth.endpoints import router as api_keys_router
from taskbridge.commerces.endpoints import router as commerces_router
from taskbridge.dispatch.endpoints import router as dispatch_router
from taskbridge.event_endpoints.endpoints import router as event_endpoints_router
from taskbridge.events.endpoints import router as events_router
from taskbridge.integration.endpoints import router as integration_router
from taskbridge.operators.endpoints import router as operators_router
from taskbridge.result_types.endpoints import router as result_types_router
from taskbridge.results.endpoints import router as results_router
from taskbridge.users.endpoints import auth_router, users_router
from taskbridge.users.invitations.endpoints import invitee_router, tenant_router

API_ROUTERS: tuple[APIRouter, ...] = (
    integration_router,
    api_keys_router,
    result_types_router,
    commerces_router,
    operators_router,
    activities_router,
    results_router,
    dispatch_router,
    events_router,
    event_endpoints_router,
    auth_router,
    invitee_router,
    tenant_router,  # before users_router: /api/users/invitations is not a /api/users/{user_id}
    users_router,
    audit_router,
)
"""Included one by one into the app (not through an enclosing router: every level of nesting is
walked on every request), the integration hot path first."""
