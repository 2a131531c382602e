"""What the integration fast paths share: reading the request's headers and key from the caches,
counting it against the rate limits, and sending an answer.

A fast path answers a hot integration request before FastAPI's routing, dependency resolution and
validation, which cost several times the answer itself. It answers only what it can answer exactly
as the route would; anything else (a repeated header, a key that is not fresh in the cache or
lacks the permission, a query the route would refuse) goes on to the FastAPI route, which
answers every error and is the one documented in OpenAPI.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.types import Send

from taskbridge.auth.permissions import Permission
from taskbridge.auth.principal import ApiKeyPrincipal
from taskbridge.auth.rate_limits import key_checks, refusal
from taskbridge.errors import app_error_response
from taskbridge.kit.cache import TtlCache
from taskbridge.kit.crypto import hash_api_key, looks_like_api_key
from taskbridge.kit.rate_limit import RateLimits
from taskbridge.kit.time import utcnow

Reply = tuple[int, list[tuple[bytes, bytes]], bytes]
"""An answer as a fast path sends it: status, ASGI headers, body."""

JSON_HEADER = (b"content-type", b"application/json")


def single_headers(raw_headers: list[tuple[bytes, bytes]]) -> dict[bytes, bytes] | None:
    """The request's headers by name; None when one is repeated (the route decides what that
    means)."""
    headers: dict[bytes, bytes] = {}
    for name, value in raw_headers:
        if name in headers:
            return None
        headers[name] = value
    return headers


def cached_caller(
    raw_headers: list[tuple[bytes, bytes]],
    keys: TtlCache[str, ApiKeyPrincipal | None],
    permission: Permission,
) -> tuple[dict[bytes, bytes], ApiKeyPrincipal] | None:
    """The request's headers (none repeated) and its key, fresh in the cache with
    ``permission`` (:func:`cached_key`); None when the route must decide."""
    headers = single_headers(raw_headers)
    if headers is None:
        return None
    key = cached_key(headers, keys, permission)
    return None if key is None else (headers, key)


def cached_key(
    headers: dict[bytes, bytes],
    keys: TtlCache[str, ApiKeyPrincipal | None],
    permission: Permission,
) -> ApiKeyPrincipal | None:
    """The ``x-api-key`` of ``headers`` when it is fresh in the cache, unexpired and holds
    ``permission``; None otherwise (the route answers 401, 403, or loads the key)."""
    plaintext = headers.get(b"x-api-key", b"").decode("latin-1")
    if not looks_like_api_key(plaintext):
        return None
    key = keys.peek_or_refresh(hash_api_key(plaintext))
    if (
        key is None
        or permission not in key.permissions
        or (key.expires_at is not None and key.expired_at(utcnow()))
    ):
        return None
    return key


async def rate_limited(limits: RateLimits | None, key: ApiKeyPrincipal) -> Response | None:
    """Counts the request against the key's and its tenant's quotas, as the route does
    (:func:`taskbridge.auth.rate_limits.key_checks`); the route's 429 when one is spent."""
    if limits is None:
        return None
    exceeded = await limits.hit(*key_checks(key))
    return None if exceeded is None else app_error_response(refusal(exceeded))


def enforced(limits: RateLimits | None) -> RateLimits | None:
    return limits if limits is not None and limits.enforced else None


def encoded_headers(body: bytes, headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    encoded = [(b"content-length", str(len(body)).encode())] if body else []
    return encoded + [(name.encode(), value.encode()) for name, value in headers.items()]


def json_reply(status: int, body: bytes) -> Reply:
    return status, [JSON_HEADER, (b"content-length", str(len(body)).encode())], body


async def send_reply(send: Send, reply: Reply) -> None:
    status, headers, body = reply
    # A headers list may be shared by every answer of its kind: the layers outside copy it.
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
