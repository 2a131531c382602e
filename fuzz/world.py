"""The data the fuzzer walks: a tenant per kind of caller, filled through the public API.

With only random UUIDs every ``/{id}`` route ends in 404 and every submission in "unknown code":
the fuzzer would never reach a route's deep path. So each tenant gets the seed page's catalogue,
commerces, operators, dispatch configs, tasks in several states (pending, with a final result,
rescheduled with a follow-up, cancelled), deliveries, a member, an invitation and a spare key; their
ids and codes become schemathesis dictionaries (see :mod:`fuzz.config`).

Only what the API cannot do is made through the services: the tenants, their first key, and the
accounts (the fuzzing user, and one in another tenant to invite).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx

from taskbridge.auth import service as auth
from taskbridge.auth.permissions import TENANT_KEY_PERMISSIONS
from taskbridge.config import Settings
from taskbridge.db import create_engine, create_session_factory, session_scope
from taskbridge.kit.time import format_timestamp, utcnow
from taskbridge.tenants import service as tenants
from taskbridge.tenants.schemas import TenantCreate
from taskbridge.users import service as users

USER_EMAIL = "fuzzer@example.com"
USER_PASSWORD = "fuzzer-password-2026"
INVITEE_EMAIL = "invitee@example.com"
WEBHOOK_URL = "http://127.0.0.1:9/taskbridge"
"""The discard port: nothing listens there."""
RESULT_TYPES: list[dict[str, Any]] = [
    {"code": "SALE_COMPLETED", "label": "Venta completada", "translations": {"en": "Sale"}},
    {"code": "NOT_INTERESTED", "label": "No interesado"},
    {"code": "RESCHEDULE", "label": "Reprogramar visita", "requires_future_scheduled_at": True},
    {"code": "NO_CONTACT", "label": "Sin contacto"},
]
COMMERCES: list[dict[str, Any]] = [
    {"external_id": "COM-001", "name": "Almacén Don Pedro", "tax_id": "76.123.456-7"},
    {"external_id": "COM-002", "name": "Minimarket La Esquina", "metadata": {"zone": "norte"}},
    {"external_id": "COM-003", "name": "Botillería El Sol"},
]
OPERATORS: list[dict[str, Any]] = [
    {"external_id": "OP-17", "type": "SALESMAN", "name": "Ana Rojas", "email": "ana@example.com"},
    {"external_id": "OP-22", "type": "CALLCENTER", "name": "Luis Soto", "phone": "+56 9 1234"},
]
TASKS = [
    # (commerce, channel, operator): the open ones are COM-001's, so that a fuzzed submission
    # naming COM-001 (see fuzz.config) and one of these tasks can pass every rule.
    ("COM-001", "SALESMAN", "OP-17"),  # gets a final result
    ("COM-002", "SALESMAN", "OP-17"),  # rescheduled: a follow-up task
    ("COM-003", "CALLCENTER", "OP-22"),  # canceled
    ("COM-001", "CALLCENTER", "OP-22"),
    ("COM-001", "WHATSAPP", None),
    ("COM-001", "SALESMAN", None),
    ("COM-001", "EMAIL", "OP-17"),
]
OPEN_TASK_COMMERCE = "COM-001"


@dataclass
class Tenant:
    """A tenant of the fuzzer, its all-permissions key, and what the seeding made in it."""

    id: str
    key_id: str
    key: str
    values: dict[str, list[str]] = field(default_factory=dict)
    """Dictionary name → real values (ids, codes, external ids), for schemathesis."""

    @property
    def headers(self) -> dict[str, str]:
        return {"x-api-key": self.key}


@dataclass
class Bootstrap:
    key_tenant: Tenant
    bearer_tenant: Tenant
    user_id: str


async def bootstrap(settings: Settings) -> Bootstrap:
    """Two tenants with a key holding every tenant permission; an ADMIN account in the second
    (the bearer caller); an account in a third tenant, to be invited."""
    engine = create_engine(settings)
    try:
        async with session_scope(create_session_factory(engine)) as session:
            made: list[Tenant] = []
            for slug in ("fuzz-key", "fuzz-bearer"):
                tenant = await tenants.create(session, TenantCreate(name=slug, slug=slug))
                key = await auth.create_api_key(
                    session, tenant.id, name="fuzzer", permissions=sorted(TENANT_KEY_PERMISSIONS)
                )
                made.append(Tenant(str(tenant.id), str(key.key.id), key.plaintext))
            member = await users.create_member(
                session,
                uuid.UUID(made[1].id),
                email=USER_EMAIL,
                password=USER_PASSWORD,
                role="ADMIN",
            )
            other = await tenants.create(session, TenantCreate(name="other", slug="fuzz-other"))
            await users.create_member(
                session, other.id, email=INVITEE_EMAIL, password=USER_PASSWORD, role="VIEWER"
            )
    finally:
        await engine.dispose()
    return Bootstrap(made[0], made[1], str(member.user.id))


def _ok(response: httpx.Response) -> httpx.Response:
    """Seeding is not under test: anything but success stops the run, saying what failed."""
    if response.status_code >= 300:
        raise RuntimeError(
            f"seeding {response.request.method} {response.request.url.path}: "
            f"{response.status_code} {response.text[:300]}"
        )
    return response


def _ids(http: httpx.Client, path: str) -> list[str]:
    return [item["id"] for item in _ok(http.get(path, params={"per_page": 100})).json()["data"]]


def _submit(http: httpx.Client, task_id: str, commerce: str, code: str) -> dict[str, object]:
    task_result: dict[str, object] = {"result": code, "operator_external_id": "OP-17"}
    if code == "RESCHEDULE":
        task_result["future_scheduled_at"] = format_timestamp(utcnow() + timedelta(days=30))
    body = {
        "activity_id": task_id,
        "commerce_external_id": commerce,
        "occurred_at": format_timestamp(utcnow()),
        "status": "EFFECTIVE",
        "task_result": task_result,
    }
    result: dict[str, object] = _ok(
        http.post("/api/integration/activity-results/tasks", json=body)
    ).json()
    return result


def _catalogue(http: httpx.Client, values: dict[str, list[str]]) -> None:
    for body in RESULT_TYPES:
        created = _ok(http.post("/api/task-result-type-configs", json=body)).json()
        values.setdefault("result_type_ids", []).append(created["id"])
    values["result_codes"] = [str(body["code"]) for body in RESULT_TYPES]
    _ok(http.post("/api/commerces/sync", json={"items": COMMERCES}))
    _ok(http.post("/api/operators/sync", json={"items": OPERATORS}))
    values["commerce_ids"] = _ids(http, "/api/commerces")
    values["operator_ids"] = _ids(http, "/api/operators")
    values["commerce_external_ids"] = [str(c["external_id"]) for c in COMMERCES]
    values["open_task_commerce"] = [OPEN_TASK_COMMERCE]
    values["operator_external_ids"] = [str(o["external_id"]) for o in OPERATORS]


def _dispatch_configs(http: httpx.Client, values: dict[str, list[str]]) -> None:
    """A MOCK config and a WEBHOOK one, made before the tasks so their tasks get deliveries.

    The webhook points at a closed loopback port (the server runs with private networks
    allowed): nothing leaves the machine, and a fuzzed ``/test`` or delivery fails fast.
    """
    configs = [
        {"channel": "SALESMAN", "provider": "MOCK"},
        {
            "channel": "CALLCENTER",
            "provider": "WEBHOOK",
            "endpoint_url": WEBHOOK_URL,
            "auth_header_name": "x-partner-token",
            "auth_header_value": "partner-secret",
        },
    ]
    values["config_ids"] = [
        _ok(http.post("/api/dispatch-configs", json=body)).json()["id"] for body in configs
    ]


def _tasks(http: httpx.Client, values: dict[str, list[str]]) -> None:
    """Tasks in every state a route cares about: pending, final result, rescheduled (with its
    follow-up), cancelled."""
    ids: list[str] = []
    for number, (commerce, channel, operator) in enumerate(TASKS, start=1):
        body = {
            "reason": f"Visita {number}",
            "channel": channel,
            "commerce_external_id": commerce,
            "operator_external_id": operator,
            "scheduled_at": format_timestamp(utcnow() + timedelta(days=number)),
            "idempotency_key": f"fuzz-task-{number}",
            "provider_activity_id": f"PROV-{number}",
        }
        ids.append(_ok(http.post("/api/activities/tasks", json=body)).json()["id"])
    _submit(http, ids[0], "COM-001", "SALE_COMPLETED")
    follow_up = _submit(http, ids[1], "COM-002", "RESCHEDULE").get("followUpActivityId")
    _ok(http.post(f"/api/activities/{ids[2]}/cancel", json={"reason": "Cerrado"}))
    values["activity_ids"] = [*ids, *([str(follow_up)] if follow_up else [])]
    values["provider_activity_ids"] = [f"PROV-{n}" for n in range(1, len(TASKS) + 1)]
    values["delivery_ids"] = _ids(http, "/api/deliveries")


def _people(http: httpx.Client, values: dict[str, list[str]]) -> None:
    """A member the fuzzer may change (never its own account), an invitation, a spare key."""
    member = {"email": "member@example.com", "password": USER_PASSWORD, "role": "FDE"}
    values["user_ids"] = [_ok(http.post("/api/users", json=member)).json()["id"]]
    invited = _ok(http.post("/api/users", json={"email": INVITEE_EMAIL, "role": "VIEWER"}))
    values["invitation_ids"] = [invited.json()["id"]]
    spare = {"name": "spare", "permissions": ["VIEW_ACTIVITIES"]}
    values["key_ids"] = [_ok(http.post("/api/api-keys", json=spare)).json()["id"]]


def seed(base_url: str, tenant: Tenant) -> None:
    """Fill ``tenant`` through the API with its own key; record the values in ``tenant``."""
    with httpx.Client(base_url=base_url, headers=tenant.headers, timeout=30) as http:
        _catalogue(http, tenant.values)
        _dispatch_configs(http, tenant.values)
        _tasks(http, tenant.values)
        _people(http, tenant.values)


def log_in(base_url: str) -> str:
    """The fuzzing user's access token (15 minutes: longer than a run)."""
    with httpx.Client(base_url=base_url, timeout=30) as http:
        response = http.post(
            "/api/auth/login", json={"email": USER_EMAIL, "password": USER_PASSWORD}
        )
        token: str = _ok(response).json()["accessToken"]
        return token
