"""The result-type configs response, and the fast path that serves it from the caches.

Integrators poll ``GET /api/integration/task-result-type-configs`` all day. Its answer depends only
on the key (cached per process) and the tenant's catalogue (cached per process), so once both are
in memory the response is bytes already rendered. :class:`ConfigsFastPath` answers such requests
before FastAPI's routing and dependency resolution, which cost ten times the answer itself; any
request it cannot answer from fresh cache entries alone (unknown, revoked, expired or unauthorised
key, catalogue not cached, anything but a plain ``GET``) goes on to the FastAPI route, which loads
what is missing, answers every error, and is the one documented in OpenAPI.

With rate limits on, an answer from the caches counts against the same quotas as the route
(:func:`taskbridge.auth.rate_limits.key_checks`) and a spent one is answered here, 429 and all:
falling through to the route instead would cost the FastAPI dispatch this path exists to skip.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from taskbridge.auth.permissions import Permission
from taskbridge.auth.principal import ApiKeyPrincipal
from taskbridge.integration.fast_path import (
    Reply,
    cached_caller,
    encoded_headers,
    enforced,
    rate_limited,
    send_reply,
)
from taskbridge.kit.cache import TtlCache
from taskbridge.kit.language import preferred_languages
from taskbridge.kit.metrics import ROUTE_TEMPLATE
from taskbridge.kit.rate_limit import RateLimits
from taskbridge.result_types.service import Catalogue, localized_label

CONFIGS_PATH = "/api/integration/task-result-type-configs"
MAX_RENDERINGS = 32
"""Language preferences rendered per catalogue snapshot; others are rendered on each request."""


@dataclass(frozen=True, slots=True)
class ConfigsAnswer:
    status_code: int
    body: bytes
    headers: dict[str, str]


def configs_answer(
    catalogue: Catalogue, accept_language: str | None, if_none_match: str | None
) -> ConfigsAnswer:
    """The 200 (or 304 for a matching ``If-None-Match``) for this catalogue and language."""
    languages = tuple(preferred_languages(accept_language))
    rendered = catalogue.renderings.get(languages)
    if rendered is None:
        rendered = _render(catalogue, languages)
        if len(catalogue.renderings) < MAX_RENDERINGS:
            catalogue.renderings[languages] = rendered
    body, etag = rendered
    headers = {"etag": etag, "vary": "Accept-Language", "cache-control": "no-cache"}
    if _etag_matches(if_none_match, etag):
        return ConfigsAnswer(304, b"", headers)
    return ConfigsAnswer(200, body, {"content-type": "application/json", **headers})


def _render(catalogue: Catalogue, languages: tuple[str, ...]) -> tuple[bytes, str]:
    configs = [
        {
            "code": entry.code,
            "label": localized_label(entry, languages),
            "requiresFutureScheduledAt": entry.requires_future_scheduled_at,
        }
        for entry in catalogue.entries
    ]
    body = json.dumps(configs, ensure_ascii=False, separators=(",", ":")).encode()
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _etag_matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    candidates = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in candidates or etag in candidates


@dataclass(frozen=True, slots=True)
class PreparedAnswer:
    """The 200 and the 304 for one catalogue snapshot and one ``Accept-Language``, with their
    headers already encoded: per request, only the ``If-None-Match`` comparison is left."""

    catalogue: Catalogue
    """The snapshot it was made from (compared by identity: a reload is a new snapshot)."""
    etag: str
    ok: Reply
    not_modified: Reply

    @classmethod
    def of(cls, catalogue: Catalogue, accept_language: str | None) -> PreparedAnswer:
        ok = configs_answer(catalogue, accept_language, None)
        etag = ok.headers["etag"]
        not_modified = configs_answer(catalogue, accept_language, etag)
        return cls(catalogue, etag, _reply(ok), _reply(not_modified))

    def reply(self, if_none_match: str | None) -> Reply:
        return self.not_modified if _etag_matches(if_none_match, self.etag) else self.ok


MAX_PREPARED = 256
"""Prepared answers kept per process (snapshots × languages); all dropped when it is reached."""


class ConfigsFastPath:
    """Answers a configs ``GET`` whose key and catalogue are both fresh in the process caches.

    Freshness is the caches' own (``cache_ttl_seconds``), so a revoked key or an edited catalogue
    is seen here exactly as soon as on the full route.
    """

    def __init__(
        self,
        app: ASGIApp,
        keys: TtlCache[str, ApiKeyPrincipal | None],
        catalogues: TtlCache[uuid.UUID, Catalogue],
        limits: RateLimits | None = None,
    ) -> None:
        self.app = app
        self.keys = keys
        self.catalogues = catalogues
        self.limits = enforced(limits)
        self._prepared: dict[tuple[int, bytes | None], PreparedAnswer] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["path"] == CONFIGS_PATH
            and scope["method"] == "GET"
            and not scope["query_string"]
        ):
            found = self._from_cache(scope["headers"])
            if found is not None:
                key, reply = found
                scope[ROUTE_TEMPLATE] = CONFIGS_PATH  # counted as the route's answers are
                refused = await rate_limited(self.limits, key)
                if refused is not None:
                    await refused(scope, receive, send)
                else:
                    await send_reply(send, reply)
                return
        await self.app(scope, receive, send)

    def _from_cache(
        self, raw_headers: list[tuple[bytes, bytes]]
    ) -> tuple[ApiKeyPrincipal, Reply] | None:
        caller = cached_caller(raw_headers, self.keys, Permission.VIEW_ACTIVITIES)
        if caller is None:
            return None
        headers, key = caller
        catalogue = self.catalogues.peek_or_refresh(key.tenant_id)
        if catalogue is None:
            return None
        prepared = self._prepared_for(catalogue, headers.get(b"accept-language"))
        return key, prepared.reply(_text(headers.get(b"if-none-match")))

    def _prepared_for(self, catalogue: Catalogue, accept_language: bytes | None) -> PreparedAnswer:
        slot = (id(catalogue), accept_language)
        prepared = self._prepared.get(slot)
        if prepared is None or prepared.catalogue is not catalogue:
            prepared = PreparedAnswer.of(catalogue, _text(accept_language))
            if len(self._prepared) >= MAX_PREPARED:
                self._prepared.clear()
            self._prepared[slot] = prepared
        return prepared


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("latin-1")


def _reply(answer: ConfigsAnswer) -> Reply:
    return answer.status_code, encoded_headers(answer.body, answer.headers), answer.body
