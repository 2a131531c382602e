"""Standard Webhooks signing: ``whsec_`` secrets and the ``webhook-*`` headers."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from datetime import datetime

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32


def generate_signing_secret() -> str:
    """``whsec_`` + 32 random bytes in base64, the form every Standard Webhooks library reads."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def signature_header(
    signing_secrets: Sequence[str], msg_id: str, timestamp: datetime, body: str
) -> str:
    """One ``v1,<sig>`` per secret, space separated: a receiver accepts any one that matches."""
    return " ".join(Webhook(s).sign(msg_id, timestamp, body) for s in signing_secrets)


def webhook_headers(
    signing_secrets: Sequence[str], msg_id: str, timestamp: datetime, body: str
) -> dict[str, str]:
    """``webhook-id``, ``webhook-timestamp`` (unix seconds) and ``webhook-signature``."""
    whole_seconds = timestamp.replace(microsecond=0)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(whole_seconds.timestamp())),
        "webhook-signature": signature_header(signing_secrets, msg_id, whole_seconds, body),
    }
