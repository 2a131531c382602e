"""Backups: SQLite copied online and restored with checks; PostgreSQL left to its own tools."""

from __future__ import annotations

from taskbridge.errors import AppError


class BackupRefused(AppError):
    """A backup or restore that would lose or damage data, with what to do instead (CLI only)."""
