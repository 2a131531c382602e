"""Secret material: API key generation, hashing, prefixes; constant-time comparison."""

from __future__ import annotations

import hashlib
import hmac
import secrets

API_KEY_PREFIX = "tb_sk_"
KEY_PREFIX_LENGTH = 14


def generate_api_key() -> str:
    """``tb_sk_`` followed by 32 random bytes, URL-safe base64."""
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(plaintext: str) -> str:
    """SHA-256 hex digest: keys carry 256 random bits, so a fast hash is safe and indexable."""
    return hashlib.sha256(plaintext.encode()).hexdigest()


def key_prefix(plaintext: str) -> str:
    """The first characters of a key, shown in listings so a person can match a key to its row."""
    return plaintext[:KEY_PREFIX_LENGTH]


def looks_like_api_key(value: str) -> bool:
    return value.startswith(API_KEY_PREFIX) and 20 <= len(value) <= 200


def same_secret(sent: str, expected: str) -> bool:
    """Constant-time equality of two texts, any characters (a client may send non-ASCII)."""
    return hmac.compare_digest(sent.encode(), expected.encode())
