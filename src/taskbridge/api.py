"""Every domain router, nothing else."""

from __future__ import annotations

from fastapi import APIRouter

from taskbridge.integration.endpoints import router as integration_router

api_router = APIRouter()
api_router.include_router(integration_router)
