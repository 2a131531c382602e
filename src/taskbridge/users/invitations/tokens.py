"""Invitation tokens, signed like the access tokens (HMAC-SHA256 with the secret key) and naming
the invitation and its expiry; the database keeps only their SHA-256 hash."""

from __future__ import annotations

import hmac
import json
import uuid
from datetime import datetime

from taskbridge.kit.time import utcnow
from taskbridge.users.tokens import _b64, _signature, _unb64, hash_session_token

INVITATION_TOKEN_PREFIX = "tb_inv_"
_PURPOSE = "invitation."
"""Signed as ``access.invitation.<payload>``: an access token's payload has no dot, so neither
kind of token can ever pass for the other."""


def issue_invitation_token(secret: str, invitation_id: uuid.UUID, expires_at: datetime) -> str:
    claims = {"inv": str(invitation_id), "exp": int(expires_at.timestamp())}
    payload = _b64(json.dumps(claims).encode())
    return f"{INVITATION_TOKEN_PREFIX}{payload}.{_signature(secret, _PURPOSE + payload)}"


def read_invitation_token(secret: str, token: str, now: datetime | None = None) -> uuid.UUID | None:
    """The invitation id of a genuine, unexpired token; None for anything else."""
    if (
        not token.isascii()
        or not token.startswith(INVITATION_TOKEN_PREFIX)
        or token.count(".") != 1
    ):
        return None
    payload, signature = token[len(INVITATION_TOKEN_PREFIX) :].split(".")
    if not hmac.compare_digest(signature, _signature(secret, _PURPOSE + payload)):
        return None
    try:
        claims = json.loads(_unb64(payload))
        invitation_id = uuid.UUID(claims["inv"])
        expires = int(claims["exp"])
    except (ValueError, KeyError, TypeError):
        return None
    if expires <= (now or utcnow()).timestamp():
        return None
    return invitation_id


def hash_invitation_token(token: str) -> str:
    """What is stored: the SHA-256 of the token (a stolen database holds no usable link)."""
    return hash_session_token(token)
