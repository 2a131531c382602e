"""The CLI fixtures of ``tests/cli`` for the ``taskbridge user`` tests."""

from tests.cli.conftest import acme, cli

__all__ = ["acme", "cli"]
