"""Secrets at rest: AES-GCM under a key derived (HKDF-SHA256) from the platform's secret key."""

from __future__ import annotations

import base64
import binascii
import os
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SEAL_VERSION = "v1"
NONCE_BYTES = 12
HKDF_INFO = b"taskbridge/dispatch-secrets/v1"


class SealBroken(Exception):
    """A sealed value that does not open: wrong secret key, wrong row, or tampered."""


@lru_cache(maxsize=8)
def _key(secret_key: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO)
    return hkdf.derive(secret_key.encode())


def seal(secret_key: str, plaintext: str, *, context: str) -> str:
    """``v1.<base64url(nonce || ciphertext)>``; ``context`` binds the value to its row and field."""
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(_key(secret_key)).encrypt(nonce, plaintext.encode(), context.encode())
    return f"{SEAL_VERSION}." + base64.urlsafe_b64encode(nonce + sealed).decode()


def unseal(secret_key: str, token: str, *, context: str) -> str:
    version, _, encoded = token.partition(".")
    if version != SEAL_VERSION:
        raise SealBroken(f"unknown seal version '{version}'")
    try:
        raw = base64.urlsafe_b64decode(encoded.encode())
        opened = AESGCM(_key(secret_key)).decrypt(
            raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode()
        )
    except (InvalidTag, binascii.Error, ValueError):
        raise SealBroken("sealed value does not open with this secret key") from None
    return opened.decode()
