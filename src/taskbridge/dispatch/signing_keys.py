"""The signing secrets of whatever taskbridge signs requests for (dispatch configs, event
endpoints): sealed at rest under a context naming their owner, rotated with an overlap, and the
ones that sign a request now.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from taskbridge.config import Settings
from taskbridge.dispatch import sealing
from taskbridge.dispatch.signing import generate_signing_secret

SIGNING_SECRET = "signing_secret"
PREVIOUS_SECRET = "previous_signing_secret"


class SecretHolder(Protocol):
    id: uuid.UUID
    signing_secret_sealed: str
    previous_signing_secret_sealed: str | None
    previous_secret_expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class Sealer:
    """Seals one kind of owner's secrets: the context (``kind:id:field``) binds each sealed
    value to its owner and field, so one cannot be copied into another's place."""

    kind: str
    settings: Settings

    def _context(self, owner_id: uuid.UUID, field: str) -> str:
        return f"{self.kind}:{owner_id}:{field}"

    def seal(self, owner_id: uuid.UUID, field: str, value: str) -> str:
        key = self.settings.resolved_secret_key()
        return sealing.seal(key, value, context=self._context(owner_id, field))

    def unseal(self, owner_id: uuid.UUID, field: str, token: str) -> str:
        key = self.settings.resolved_secret_key()
        return sealing.unseal(key, token, context=self._context(owner_id, field))

    def new_secret(self, holder: SecretHolder) -> str:
        """A first secret for ``holder``, sealed in place; returned to be shown once."""
        secret = generate_signing_secret()
        holder.signing_secret_sealed = self.seal(holder.id, SIGNING_SECRET, secret)
        return secret

    def rotate(self, holder: SecretHolder, *, overlap_seconds: int, now: datetime) -> str:
        """A new secret; the old one keeps signing beside it for ``overlap_seconds``."""
        old = self.unseal(holder.id, SIGNING_SECRET, holder.signing_secret_sealed)
        secret = self.new_secret(holder)
        if overlap_seconds > 0:
            holder.previous_signing_secret_sealed = self.seal(holder.id, PREVIOUS_SECRET, old)
            holder.previous_secret_expires_at = now + timedelta(seconds=overlap_seconds)
        else:
            holder.previous_signing_secret_sealed = None
            holder.previous_secret_expires_at = None
        return secret

    def signing_secrets(self, holder: SecretHolder, now: datetime) -> tuple[str, ...]:
        """The current secret, and the previous one while its overlap lasts."""
        secrets = [self.unseal(holder.id, SIGNING_SECRET, holder.signing_secret_sealed)]
        previous = holder.previous_signing_secret_sealed
        expires = holder.previous_secret_expires_at
        if previous is not None and expires is not None and expires > now:
            secrets.append(self.unseal(holder.id, PREVIOUS_SECRET, previous))
        return tuple(secrets)
