"""Tenants: the companies that use taskbridge, each behind its own wall."""
