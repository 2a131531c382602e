"""Signed access tokens (short-lived, stateless) and opaque session tokens (stored hashed)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from taskbridge.kit.crypto import same_secret
from taskbridge.kit.time import utcnow

ACCESS_TOKEN_TTL = timedelta(minutes=15)
ACCESS_TOKEN_PREFIX = "tb_at_"
ACCESS_PURPOSE = "access"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(secret: str, purpose: str, payload: str) -> str:
    """HMAC-SHA256 of ``<purpose>.<payload>``: a token signed for one purpose fails every other."""
    digest = hmac.new(secret.encode(), f"{purpose}.{payload}".encode(), hashlib.sha256).digest()
    return _b64(digest)


def sign_claims(secret: str, prefix: str, purpose: str, claims: dict[str, object]) -> str:
    """``<prefix><payload>.<signature>``: the claims (with an ``exp`` timestamp), signed."""
    payload = _b64(json.dumps(claims).encode())
    return f"{prefix}{payload}.{_signature(secret, purpose, payload)}"


def read_claims(
    secret: str, prefix: str, purpose: str, token: str, now: datetime | None = None
) -> dict[str, Any] | None:
    """The claims of a token :func:`sign_claims` made for ``purpose``, while its ``exp`` is in
    the future; None for anything else (wrong prefix or purpose, tampered, expired, malformed)."""
    if not token.startswith(prefix) or token.count(".") != 1:
        return None
    payload, signature = token[len(prefix) :].split(".")
    if not same_secret(signature, _signature(secret, purpose, payload)):
        return None
    try:
        claims = json.loads(_unb64(payload))
        expires = int(claims["exp"])
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(claims, dict) or expires <= (now or utcnow()).timestamp():
        return None
    return claims


def password_stamp(password_hash: str) -> str:
    """A short fingerprint of the password hash: a new password ends the older access tokens."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """What a valid access token says: whose, under which password, from which session family."""

    user_id: uuid.UUID
    password_stamp: str
    family_id: uuid.UUID


def issue_access_token(
    secret: str,
    user_id: uuid.UUID,
    stamp: str,
    family_id: uuid.UUID,
    now: datetime | None = None,
) -> str:
    """A token naming its session family (``sid``): it dies with the family, not only at ``exp``."""
    expires = (now or utcnow()) + ACCESS_TOKEN_TTL
    claims = {
        "sub": str(user_id),
        "exp": int(expires.timestamp()),
        "pwd": stamp,
        "sid": str(family_id),
    }
    return sign_claims(secret, ACCESS_TOKEN_PREFIX, ACCESS_PURPOSE, claims)


def read_access_token(secret: str, token: str, now: datetime | None = None) -> AccessClaims | None:
    """The claims of a valid, unexpired token; None for anything else.

    A token without ``sid`` (issued before session families) is refused: it lived 15 minutes,
    and its holder refreshes into one that names its family.
    """
    claims = read_claims(secret, ACCESS_TOKEN_PREFIX, ACCESS_PURPOSE, token, now)
    if claims is None:
        return None
    try:
        return AccessClaims(uuid.UUID(claims["sub"]), str(claims["pwd"]), uuid.UUID(claims["sid"]))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


def hash_session_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token_for(secret: str, session_token: str) -> str:
    """The CSRF token of a browser: bound to its (pre-)session cookie, never stored."""
    digest = hmac.new(secret.encode(), f"csrf.{session_token}".encode(), hashlib.sha256).digest()
    return _b64(digest)
