"""Every tenant route, called with tenant A's all-permissions key and tenant B's ids, codes and
external ids: a 404 or an empty list, never B's data, never a 500, and B's rows untouched.

The routes come from ``app.routes``: a new ``/api/`` route without an entry in ``PROBES`` fails
``test_every_api_route_is_probed`` until someone says how to point it at another tenant.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.activities import service as activities
from taskbridge.activities.schemas import TaskCreate
from taskbridge.activities.status import Channel
from taskbridge.auth import service as auth
from taskbridge.auth.permissions import TENANT_KEY_PERMISSIONS
from taskbridge.commerces import service as commerces
from taskbridge.commerces.schemas import CommerceItem
from taskbridge.config import Settings
from taskbridge.db import session_scope
from taskbridge.dispatch import service as dispatch
from taskbridge.dispatch.schemas import DispatchConfigCreate, Provider
from taskbridge.event_endpoints import service as event_endpoints
from taskbridge.event_endpoints.repository import insert_deliveries
from taskbridge.event_endpoints.schemas import EventEndpointCreate
from taskbridge.kit.time import utcnow
from taskbridge.models import (
    AuditEntry,
    Base,
    Delivery,
    Event,
    EventDelivery,
    LoginFailure,
    Membership,
    Tenant,
    User,
)
from taskbridge.operators import service as operators
from taskbridge.operators.schemas import OperatorItem, OperatorType
from taskbridge.result_types import service as result_types
from taskbridge.result_types.schemas import ResultTypeCreate
from taskbridge.results import service as results
from taskbridge.results.schemas import ResultStatus, ResultSubmission, TaskResultIn
from taskbridge.tenants import service as tenants
from taskbridge.tenants.schemas import TenantCreate
from taskbridge.users import service as users
from taskbridge.users.invitations import service as invitations
from tests.factories import SEED_RESULT_TYPES, build_world, create_key

NOT_FOUND = "404"
EMPTY = "empty list"
REJECTED = "400, as for a value that exists nowhere"
OWN = "2xx about the caller's own tenant"
UNAUTHORIZED = "401: the route is not for API keys, whatever it names"


@dataclass(frozen=True)
class Target:
    """What a request can name of another tenant: ids, codes, external ids, names."""

    activity_id: str
    result_type_id: str
    commerce_id: str
    operator_id: str
    api_key_id: str
    result_id: str
    dispatch_config_id: str
    delivery_id: str
    event_endpoint_id: str
    event_delivery_id: str
    code: str
    commerce_external_id: str
    operator_external_id: str
    provider_activity_id: str
    idempotency_key: str
    commerce_name: str
    operator_name: str
    user_id: str
    user_email: str
    invitation_id: str
    invitation_token: str

    @classmethod
    def ghost(cls) -> Target:
        """Values that exist in no tenant: B's must get exactly the same answers."""
        tag = uuid.uuid4().hex[:10]
        names = {f.name for f in fields(cls)}
        ids = {n: str(uuid.uuid4()) for n in names if n.endswith("_id") and "external" not in n}
        ids.pop("provider_activity_id")
        texts = {n: f"GHOST-{n}-{tag}" for n in names - set(ids)}
        return cls(**ids, **texts)


@dataclass(frozen=True)
class Caller:
    """What the caller (tenant A) owns and may legitimately name."""

    task_id: str
    codes: list[str]


@dataclass(frozen=True)
class Probe:
    expect: str
    path: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] | None = None
    json: Any = None
    body: Any = None
    """For ``OWN`` probes whose whole answer is known (a sync that must create, not update)."""


Builder = Callable[[Target, Caller], list[Probe]]


def _submission(activity_id: str | None, commerce: str, code: str = "SALE_COMPLETED") -> Any:
    body = {
        "commerce_external_id": commerce,
        "occurred_at": "2026-04-11T10:30:00.000Z",
        "status": "EFFECTIVE",
        "task_result": {"result": code},
    }
    return body if activity_id is None else {**body, "activity_id": activity_id}


def _task(**fields: str) -> dict[str, Any]:
    body = {
        "reason": "probe",
        "channel": "SALESMAN",
        "commerce_external_id": "COM-001",
        "scheduled_at": "2026-05-04T10:00:00Z",
        "idempotency_key": uuid.uuid4().hex,
    }
    return {**body, **fields}


def _own() -> Builder:
    return lambda _t, _a: [Probe(OWN)]


def _filtered(*filters: tuple[str, str]) -> Builder:
    """Empty when filtered by B's values (``(query parameter, Target attribute)``)."""
    return lambda t, _a: [
        *(Probe(EMPTY, params={name: getattr(t, attribute)}) for name, attribute in filters),
        Probe(OWN),
    ]


def _missing(path_name: str, attribute: str, json: Any = None) -> Builder:
    return lambda t, _a: [Probe(NOT_FOUND, path={path_name: getattr(t, attribute)}, json=json)]


def _synced_as_new(item: Callable[[Target], dict[str, str]]) -> Builder:
    created = {"created": 1, "updated": 0, "total": 1}
    return lambda t, _a: [Probe(OWN, json={"items": [item(t)]}, body=created)]


PROBES: dict[tuple[str, str], Builder] = {
    ("GET", "/api/integration/task-result-type-configs"): _own(),
    ("GET", "/api/integration/activities/tasks"): _filtered(
        ("external_commerce_id", "commerce_external_id"),
        ("external_operator_id", "operator_external_id"),
    ),
    ("GET", "/api/integration/activities/tasks/{activity_id}"): _missing(
        "activity_id", "activity_id"
    ),
    ("POST", "/api/integration/activity-results/tasks"): lambda t, a: [
        Probe(NOT_FOUND, json=_submission(t.activity_id, "COM-001")),
        Probe(
            NOT_FOUND,
            json={**_submission(None, "COM-001"), "provider_activity_id": t.provider_activity_id},
        ),
        Probe(NOT_FOUND, json=_submission(a.task_id, t.commerce_external_id)),
        Probe(REJECTED, json=_submission(a.task_id, "COM-001", t.code)),
    ],
    ("GET", "/api/integration/me"): _own(),
    ("GET", "/api/integration/events"): _own(),
    ("POST", "/api/api-keys"): lambda _t, _a: [
        Probe(OWN, json={"name": "probe", "permissions": ["VIEW_ACTIVITIES"]})
    ],
    ("GET", "/api/api-keys"): _own(),
    ("POST", "/api/api-keys/{key_id}/revoke"): _missing("key_id", "api_key_id"),
    ("GET", "/api/task-result-type-configs"): _own(),
    ("POST", "/api/task-result-type-configs"): lambda t, _a: [
        # Codes are unique per tenant: B's code must neither conflict nor leak here.
        Probe(OWN, json={"code": t.code, "label": "Own"})
    ],
    ("PATCH", "/api/task-result-type-configs/{result_type_id}"): _missing(
        "result_type_id", "result_type_id", {"label": "hijacked"}
    ),
    ("DELETE", "/api/task-result-type-configs/{result_type_id}"): _missing(
        "result_type_id", "result_type_id"
    ),
    ("POST", "/api/task-result-type-configs/{result_type_id}/archive"): _missing(
        "result_type_id", "result_type_id"
    ),
    ("POST", "/api/task-result-type-configs/{result_type_id}/restore"): _missing(
        "result_type_id", "result_type_id"
    ),
    ("POST", "/api/task-result-type-configs/reorder"): lambda t, a: [
        Probe(REJECTED, json={"codes": [*a.codes, t.code]}),
        Probe(REJECTED, json={"codes": [t.code]}),
    ],
    ("POST", "/api/commerces/sync"): _synced_as_new(
        lambda t: {"external_id": t.commerce_external_id, "name": "Own"}
    ),
    ("GET", "/api/commerces"): _filtered(("q", "commerce_external_id"), ("q", "commerce_name")),
    ("GET", "/api/commerces/{commerce_id}"): _missing("commerce_id", "commerce_id"),
    ("PATCH", "/api/commerces/{commerce_id}"): _missing(
        "commerce_id", "commerce_id", {"name": "hijacked", "is_active": False}
    ),
    ("POST", "/api/operators/sync"): _synced_as_new(
        lambda t: {"external_id": t.operator_external_id, "type": "CALLCENTER", "name": "Own"}
    ),
    ("GET", "/api/operators"): _filtered(("q", "operator_external_id"), ("q", "operator_name")),
    ("GET", "/api/operators/{operator_id}"): _missing("operator_id", "operator_id"),
    ("PATCH", "/api/operators/{operator_id}"): _missing(
        "operator_id", "operator_id", {"name": "hijacked", "is_active": False}
    ),
    ("POST", "/api/activities/tasks"): lambda t, _a: [
        Probe(NOT_FOUND, json=_task(commerce_external_id=t.commerce_external_id)),
        Probe(NOT_FOUND, json=_task(operator_external_id=t.operator_external_id)),
        # Both are unique per tenant: B's values must neither conflict nor leak here.
        Probe(OWN, json=_task(idempotency_key=t.idempotency_key)),
        Probe(OWN, json=_task(provider_activity_id=t.provider_activity_id)),
    ],
    ("GET", "/api/activities"): _filtered(
        ("external_commerce_id", "commerce_external_id"),
        ("external_operator_id", "operator_external_id"),
    ),
    ("GET", "/api/activities/{activity_id}"): _missing("activity_id", "activity_id"),
    ("POST", "/api/activities/{activity_id}/cancel"): _missing(
        "activity_id", "activity_id", {"reason": "hijacked"}
    ),
    ("GET", "/api/activity-results"): lambda t, _a: [
        Probe(EMPTY, params={"code": t.code}),
        Probe(EMPTY, params={"include_superseded": "true"}),
    ],
    # B pushes CALLCENTER: A's own config for that channel must neither conflict nor leak.
    ("POST", "/api/dispatch-configs"): lambda _t, _a: [
        Probe(OWN, json={"channel": "CALLCENTER", "provider": "MOCK"})
    ],
    ("GET", "/api/dispatch-configs"): _own(),
    ("GET", "/api/dispatch-configs/{config_id}"): _missing("config_id", "dispatch_config_id"),
    ("PATCH", "/api/dispatch-configs/{config_id}"): _missing(
        "config_id", "dispatch_config_id", {"is_active": False}
    ),
    ("DELETE", "/api/dispatch-configs/{config_id}"): _missing("config_id", "dispatch_config_id"),
    ("POST", "/api/dispatch-configs/{config_id}/rotate-secret"): _missing(
        "config_id", "dispatch_config_id", {"overlap_seconds": 0}
    ),
    ("POST", "/api/dispatch-configs/{config_id}/test"): _missing("config_id", "dispatch_config_id"),
    ("GET", "/api/deliveries"): _filtered(("activity_id", "activity_id")),
    ("POST", "/api/deliveries/{delivery_id}/redeliver"): _missing("delivery_id", "delivery_id"),
    ("POST", "/api/auth/login"): lambda t, _a: [
        Probe(UNAUTHORIZED, json={"email": t.user_email, "password": "not-the-password"})
    ],
    ("POST", "/api/auth/refresh"): lambda _t, _a: [Probe(UNAUTHORIZED)],
    ("GET", "/api/auth/me"): lambda _t, _a: [Probe(UNAUTHORIZED)],
    ("POST", "/api/auth/logout"): _own(),
    ("POST", "/api/auth/change-password"): lambda _t, _a: [
        Probe(UNAUTHORIZED, json={"current_password": "beta-password", "new_password": "p" * 8})
    ],
    ("GET", "/api/users"): _own(),
    ("GET", "/api/users/{user_id}"): _missing("user_id", "user_id"),
    ("POST", "/api/users"): lambda t, _a: [
        Probe(
            OWN,
            json={"email": f"{uuid.uuid4().hex}@a.example", "password": "p" * 8, "role": "VIEWER"},
        ),
        # B's person has an account: A gets an invitation, and nothing of the account.
        Probe(OWN, json={"email": t.user_email, "password": "p" * 8, "role": "VIEWER"}),
    ],
    ("GET", "/api/users/invitations"): lambda _t, _a: [Probe(EMPTY)],
    ("POST", "/api/users/invitations/{invitation_id}/revoke"): _missing(
        "invitation_id", "invitation_id"
    ),
    ("GET", "/api/auth/invitations"): lambda _t, _a: [Probe(UNAUTHORIZED)],
    ("POST", "/api/auth/invitations/accept"): lambda t, _a: [
        Probe(UNAUTHORIZED, json={"token": t.invitation_token})
    ],
    ("PUT", "/api/users/{user_id}/role"): _missing("user_id", "user_id", json={"role": "VIEWER"}),
    ("POST", "/api/users/{user_id}/reset-password"): _missing(
        "user_id", "user_id", json={"password": "probe-password"}
    ),
    ("POST", "/api/users/{user_id}/deactivate"): _missing("user_id", "user_id"),
    ("POST", "/api/users/{user_id}/reactivate"): _missing("user_id", "user_id"),
    ("POST", "/api/activities/tasks/{activity_id}/dispatch"): _missing(
        "activity_id", "activity_id"
    ),
    ("GET", "/api/audit-log"): _filtered(("actor", "user_email"), ("target_id", "user_id")),
    ("POST", "/api/event-endpoints"): lambda _t, _a: [
        Probe(OWN, json={"url": "https://93.184.216.34/own-hooks"})
    ],
    ("GET", "/api/event-endpoints"): _own(),
    ("GET", "/api/event-endpoints/{endpoint_id}"): _missing("endpoint_id", "event_endpoint_id"),
    ("PATCH", "/api/event-endpoints/{endpoint_id}"): _missing(
        "endpoint_id", "event_endpoint_id", {"enabled": False}
    ),
    ("DELETE", "/api/event-endpoints/{endpoint_id}"): _missing("endpoint_id", "event_endpoint_id"),
    ("POST", "/api/event-endpoints/{endpoint_id}/rotate-secret"): _missing(
        "endpoint_id", "event_endpoint_id"
    ),
    ("GET", "/api/event-endpoints/{endpoint_id}/deliveries"): _missing(
        "endpoint_id", "event_endpoint_id"
    ),
    ("POST", "/api/event-endpoints/{endpoint_id}/redeliver"): _missing(
        "endpoint_id", "event_endpoint_id", {"since": "2026-01-01T00:00:00Z"}
    ),
    ("GET", "/api/event-endpoints/{endpoint_id}/deliveries/{delivery_id}"): lambda t, _a: [
        Probe(
            NOT_FOUND,
            path={"endpoint_id": t.event_endpoint_id, "delivery_id": t.event_delivery_id},
        )
    ],
    (
        "POST",
        "/api/event-endpoints/{endpoint_id}/deliveries/{delivery_id}/redeliver",
    ): lambda t, _a: [
        Probe(
            NOT_FOUND,
            path={"endpoint_id": t.event_endpoint_id, "delivery_id": t.event_delivery_id},
        )
    ],
}


def _api_routes(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path) under ``/api/``, included routers flattened."""
    return {
        (method, route.path)
        for route in iter_route_contexts(app.routes)
        if route.path is not None and route.path.startswith("/api/")
        for method in route.methods or ()
        if method != "HEAD"
    }


def test_every_api_route_is_probed(app: FastAPI) -> None:
    routes = _api_routes(app)
    assert sorted(routes - set(PROBES)) == [], "routes with no isolation probe"
    assert sorted(set(PROBES) - routes) == [], "probes of routes that no longer exist"


@dataclass
class OtherTenant:
    tenant_id: uuid.UUID
    target: Target
    labels: list[str]
    """B's own words (names, labels, codes, slug) that no response to A may contain."""


async def _build_other_tenant(
    factory: async_sessionmaker[AsyncSession], settings: Settings
) -> OtherTenant:
    """Tenant B: ``build_world`` plus rows whose codes, external ids and names only B has."""
    world = await build_world(factory, slug="tenant-b")
    tid = world.tenant.id
    async with session_scope(factory) as session:
        pushed = await dispatch.create_config(
            session,
            tid,
            DispatchConfigCreate(channel=Channel.CALLCENTER, provider=Provider.MOCK),
            settings,
        )
        result_type = await result_types.create(
            session, tid, ResultTypeCreate(code="B_ONLY", label="Solo Beta")
        )
        await commerces.sync(
            session, tid, [CommerceItem(external_id="B-COM-ONLY", name="Comercio Beta")]
        )
        commerce = await commerces.get_by_external_id(session, tid, "B-COM-ONLY")
        item = OperatorItem(
            external_id="B-OP-ONLY", type=OperatorType.CALLCENTER, name="Operador Beta"
        )
        await operators.sync(session, tid, [item])
        operator = await operators.get_by_external_id(session, tid, "B-OP-ONLY", field="-")
        task = await activities.create_task(
            session,
            tid,
            TaskCreate(
                reason="Solo Beta",
                channel=Channel.CALLCENTER,
                commerce_external_id="B-COM-ONLY",
                operator_external_id="B-OP-ONLY",
                scheduled_at=utcnow() + timedelta(days=2),
                idempotency_key="b-idem-1",
                provider_activity_id="b-provider-1",
            ),
            actor="test",
        )
        result = await results.submit_result(
            session,
            results.Submitter(tenant_id=tid, actor="test"),
            ResultSubmission(
                activity_id=task.id,
                commerce_external_id="B-COM-ONLY",
                occurred_at=utcnow(),
                status=ResultStatus.PENDING,
                task_result=TaskResultIn(result="B_ONLY", comment="Beta comment"),
            ),
        )
        key = await auth.create_api_key(
            session, tid, name="Beta admin", permissions=[*TENANT_KEY_PERMISSIONS]
        )
        person = await users.create_member(
            session, tid, email="person@beta.example", password="beta-password", role="FDE"
        )
        [delivery] = (
            await session.scalars(select(Delivery).where(Delivery.tenant_id == tid))
        ).all()
        hooked = await event_endpoints.create_endpoint(
            session,
            tid,
            EventEndpointCreate(url="https://93.184.216.34/b-hooks", description="Solo Beta"),
            settings,
        )
        last_event = await session.scalar(select(func.max(Event.id)).where(Event.tenant_id == tid))
        assert last_event is not None
        await insert_deliveries(session, hooked.endpoint, [(last_event, "task.created")], utcnow())
        event_delivery = await session.scalar(
            select(EventDelivery.id).where(EventDelivery.tenant_id == tid)
        )
        elsewhere = await tenants.create(session, TenantCreate(name="Tenant C", slug="tenant-c"))
        await users.create_member(
            session, elsewhere.id, email="guest@c.example", password="c-password", role="FDE"
        )
        invited = await invitations.invite(
            session,
            settings.resolved_secret_key(),
            tid,
            email="guest@c.example",
            role="VIEWER",
            rank=None,
            invited_by="test",
        )
    target = Target(
        activity_id=str(task.id),
        result_type_id=str(result_type.id),
        commerce_id=str(commerce.id),
        operator_id=str(operator.id),
        api_key_id=str(key.key.id),
        result_id=str(result.id),
        dispatch_config_id=str(pushed.config.id),
        delivery_id=str(delivery.id),
        event_endpoint_id=str(hooked.endpoint.id),
        event_delivery_id=str(event_delivery),
        code="B_ONLY",
        commerce_external_id="B-COM-ONLY",
        operator_external_id="B-OP-ONLY",
        provider_activity_id="b-provider-1",
        idempotency_key="b-idem-1",
        commerce_name="Comercio Beta",
        operator_name="Operador Beta",
        user_id=str(person.user.id),
        user_email="person@beta.example",
        invitation_id=str(invited.invitation.id),
        invitation_token=invited.token,
    )
    labels = ["tenant-b", "Tenant-B", "Solo Beta", "Beta comment", "Beta admin"]
    return OtherTenant(tenant_id=tid, target=target, labels=labels)


async def _rows_of(
    factory: async_sessionmaker[AsyncSession], tenant_id: uuid.UUID
) -> dict[str, list[dict[str, Any]]]:
    """Every row of the tenant, table by table (the tenant row itself included)."""
    snapshot: dict[str, list[dict[str, Any]]] = {}
    async with session_scope(factory) as session:
        for table in Base.metadata.sorted_tables:
            if table.name == LoginFailure.__tablename__:
                continue  # sign-in failures count per email and address, in no tenant
            stmt = select(table)
            if table.name == AuditEntry.__tablename__:
                # A failed sign-in at B's person is B's to see: the one row a probe may add.
                stmt = stmt.where(table.c.action != "auth.sign_in_failed")
            if "tenant_id" in table.c:
                stmt = stmt.where(table.c.tenant_id == tenant_id)
            elif table.name == Tenant.__tablename__:
                stmt = stmt.where(table.c.id == tenant_id)
            elif "user_id" in table.c or table.name == User.__tablename__:
                members = select(Membership.user_id).where(Membership.tenant_id == tenant_id)
                person = table.c.user_id if "user_id" in table.c else table.c.id
                stmt = stmt.where(person.in_(members))
            rows = (await session.execute(stmt.order_by(*table.primary_key))).mappings().all()
            snapshot[table.name] = [dict(row) for row in rows]
    return snapshot


def _secrets(snapshot: dict[str, list[dict[str, Any]]], other: OtherTenant) -> set[str]:
    """B's identifiers and words; any of them in an answer to A is a leak."""
    found = set(other.labels)
    for target_field in fields(Target):
        found.add(getattr(other.target, target_field.name))
    for rows in snapshot.values():
        for row in rows:
            found.update(str(v) for v in row.values() if isinstance(v, uuid.UUID))
            if "key_prefix" in row:
                found.add(row["key_prefix"])
    return found


async def _send(
    client: httpx.AsyncClient, headers: dict[str, str], method: str, path: str, probe: Probe
) -> tuple[httpx.Response, str]:
    url = path.format(**probe.path)
    response = await client.request(
        method, url, headers=headers, params=probe.params, json=probe.json
    )
    sent = f"{url} {probe.params} {probe.json}"
    return response, sent


def _check(response: httpx.Response, probe: Probe, where: str) -> None:
    status = response.status_code
    if probe.expect == NOT_FOUND:
        assert status == 404, where
    elif probe.expect == REJECTED:
        assert status == 400, where
    elif probe.expect == UNAUTHORIZED:
        assert status == 401, where
    elif probe.expect == EMPTY:
        assert status == 200, where
        body = response.json()
        assert body == [] or (body["data"] == [] and body["meta"]["total"] == 0), where
    else:
        assert 200 <= status < 300, where
        if probe.body is not None:
            assert response.json() == probe.body, where


def _as_if(response: httpx.Response, ghost: Target, target: Target) -> str:
    """The ghost's answer with the ghost's values written as B's."""
    text = response.text
    for target_field in fields(Target):
        text = text.replace(getattr(ghost, target_field.name), getattr(target, target_field.name))
    return text


async def test_another_tenants_ids_are_indistinguishable_from_missing_ones(
    app: FastAPI,
    client: httpx.AsyncClient,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    caller_world = await build_world(session_factory, slug="tenant-a")
    async with session_scope(session_factory) as session:
        key = await create_key(
            session, caller_world.tenant.id, *TENANT_KEY_PERMISSIONS, name="everything"
        )
    # One request id for every probe and its twin: the one part of their answers that may differ.
    headers = {"x-api-key": key, "X-Request-ID": "isolation-probe"}
    caller = Caller(task_id=str(caller_world.task.id), codes=[c for c, _, _ in SEED_RESULT_TYPES])
    other = await _build_other_tenant(session_factory, app.state.settings)
    before = await _rows_of(session_factory, other.tenant_id)
    secrets = _secrets(before, other)

    planned = []
    # Routes without a probe fail test_every_api_route_is_probed; the others are checked here.
    for method, path in sorted(_api_routes(app) & set(PROBES)):
        ghost = Target.ghost()
        probes = PROBES[(method, path)](other.target, caller)
        twins = PROBES[(method, path)](ghost, caller)
        planned += [
            (method, path, probe, ghost, twin) for probe, twin in zip(probes, twins, strict=True)
        ]
    # Probes that legitimately create rows in A (e.g. A's own "B_ONLY" code) run last, so that
    # they cannot change what the others see.
    planned.sort(key=lambda item: item[2].expect == OWN)

    for method, path, probe, ghost, twin in planned:
        response, sent = await _send(client, headers, method, path, probe)
        where = f"{method} {sent} -> {response.status_code} {response.text[:300]}"
        _check(response, probe, where)
        leaked = sorted(s for s in secrets if s in response.text and s not in sent)
        assert leaked == [], f"{where} shows the other tenant's {leaked}"
        if probe.expect != OWN:
            twin_response, _ = await _send(client, headers, method, path, twin)
            assert twin_response.status_code == response.status_code, where
            assert _as_if(twin_response, ghost, other.target) == response.text, where

    assert await _rows_of(session_factory, other.tenant_id) == before
