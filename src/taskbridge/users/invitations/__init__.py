"""Invitations: an existing account asked to join a tenant, which it joins only by accepting."""
