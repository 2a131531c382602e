"""Invitation tokens, signed like the access tokens (HMAC-SHA256 with the secret key, for their
own purpose, so neither kind passes for the other) and naming the invitation and its expiry; the
database keeps only their SHA-256 hash."""

from __future__ import annotations

import uuid
from datetime import datetime

from taskbridge.users.tokens import hash_session_token, read_claims, sign_claims

INVITATION_TOKEN_PREFIX = "tb_inv_"
_PURPOSE = "invitation"


def issue_invitation_token(secret: str, invitation_id: uuid.UUID, expires_at: datetime) -> str:
    claims: dict[str, object] = {"inv": str(invitation_id), "exp": int(expires_at.timestamp())}
    return sign_claims(secret, INVITATION_TOKEN_PREFIX, _PURPOSE, claims)


def read_invitation_token(secret: str, token: str, now: datetime | None = None) -> uuid.UUID | None:
    """The invitation id of a genuine, unexpired token; None for anything else."""
    claims = read_claims(secret, INVITATION_TOKEN_PREFIX, _PURPOSE, token, now)
    if claims is None:
        return None
    try:
        return uuid.UUID(claims["inv"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def hash_invitation_token(token: str) -> str:
    """What is stored: the SHA-256 of the token (a stolen database holds no usable link)."""
    return hash_session_token(token)
