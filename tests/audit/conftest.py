"""Audit fixtures: loopback endpoints allowed (configs point at 127.0.0.1), an admin key."""

from __future__ import annotations

import pytest

from taskbridge.config import Settings
from tests.admin.conftest import admin
from tests.cli.conftest import cli

__all__ = ["admin", "cli"]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"dispatch_allow_private_networks": True})
