"""Who made a change, and from where: bound to the unit of work by each surface."""

from __future__ import annotations

import getpass
from dataclasses import dataclass

from taskbridge.auth.principal import ApiKeyPrincipal, Principal, UserPrincipal

USER = "user"
API_KEY = "api_key"
CLI = "cli"
SYSTEM = "system"
ANONYMOUS = "anonymous"
"""A failed sign-in: nobody proved who they are."""


@dataclass(frozen=True, slots=True)
class Actor:
    type: str
    id: str | None
    label: str
    """A person's email; a key's name and prefix; the command line's operating-system user."""
    address: str | None
    """The client address (the login throttle's rule); None for the command line."""


def actor_of(principal: Principal, address: str | None) -> Actor:
    """A signed-in person or an API key calling the API or the panel."""
    if isinstance(principal, UserPrincipal):
        return Actor(USER, str(principal.user_id), principal.email, address)
    if isinstance(principal, ApiKeyPrincipal):
        label = f"{principal.name} ({principal.key_prefix}…)"
        return Actor(API_KEY, str(principal.key_id), label, address)
    return Actor(SYSTEM, None, principal.actor, address)


def command_line() -> Actor:
    """Whoever runs ``taskbridge`` on the server: named by their operating-system account."""
    try:
        who = getpass.getuser()
    except (OSError, KeyError):
        who = "unknown"
    return Actor(CLI, who[:64], f"command line ({who})"[:400], None)


UNATTRIBUTED = Actor(SYSTEM, None, "taskbridge", None)
"""A change made with no surface bound to the unit of work (the process itself)."""
