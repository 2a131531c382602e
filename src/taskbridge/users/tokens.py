"""Signed access tokens (short-lived, stateless) and opaque session tokens (stored hashed)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import uuid
from datetime import datetime, timedelta

from taskbridge.kit.time import utcnow

ACCESS_TOKEN_TTL = timedelta(minutes=15)
ACCESS_TOKEN_PREFIX = "tb_at_"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(secret: str, payload: str) -> str:
    return _b64(hmac.new(secret.encode(), f"access.{payload}".encode(), hashlib.sha256).digest())


def password_stamp(password_hash: str) -> str:
    """A short fingerprint of the password hash: a new password ends the older access tokens."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def issue_access_token(
    secret: str, user_id: uuid.UUID, stamp: str, now: datetime | None = None
) -> str:
    expires = (now or utcnow()) + ACCESS_TOKEN_TTL
    claims = {"sub": str(user_id), "exp": int(expires.timestamp()), "pwd": stamp}
    payload = _b64(json.dumps(claims).encode())
    return f"{ACCESS_TOKEN_PREFIX}{payload}.{_signature(secret, payload)}"


def read_access_token(
    secret: str, token: str, now: datetime | None = None
) -> tuple[uuid.UUID, str] | None:
    """The user id and password stamp of a valid, unexpired token; None for anything else."""
    if not token.startswith(ACCESS_TOKEN_PREFIX) or token.count(".") != 1:
        return None
    payload, signature = token[len(ACCESS_TOKEN_PREFIX) :].split(".")
    if not hmac.compare_digest(signature, _signature(secret, payload)):
        return None
    try:
        claims = json.loads(_unb64(payload))
        user_id = uuid.UUID(claims["sub"])
        expires = int(claims["exp"])
        stamp = str(claims["pwd"])
    except (ValueError, KeyError, TypeError):
        return None
    if expires <= (now or utcnow()).timestamp():
        return None
    return user_id, stamp


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


def hash_session_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token_for(secret: str, session_token: str) -> str:
    """The CSRF token of a browser: bound to its (pre-)session cookie, never stored."""
    digest = hmac.new(secret.encode(), f"csrf.{session_token}".encode(), hashlib.sha256).digest()
    return _b64(digest)
