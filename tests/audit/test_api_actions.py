"""Every administrator action of the REST API leaves exactly one audit entry, in its own
transaction, naming who did it and from where, with the changed fields and never a secret;
a refused action (400/404/409) leaves none."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.auth.permissions import Permission
from taskbridge.db import session_scope
from taskbridge.dispatch import service as dispatch
from taskbridge.dispatch.schemas import DispatchConfigCreate
from taskbridge.models import AuditEntry
from tests.admin.conftest import Admin, key_headers
from tests.audit.support import as_text, count, no_entry, one_entry, target_of
from tests.factories import build_world
from tests.users.support import PASSWORD, add_person, bearer, log_in

KEYS = "/api/api-keys"
TYPES = "/api/task-result-type-configs"
CONFIGS = "/api/dispatch-configs"
HOOK = "http://127.0.0.1:9/hook"


def _by_key(entry: AuditEntry, admin: Admin) -> None:
    assert entry.tenant_id == admin.tenant_id
    assert entry.actor_type == "api_key"
    assert entry.actor_label.startswith("admin (tb_sk_")
    assert entry.address == "127.0.0.1"
    assert entry.occurred_at is not None


async def test_api_keys_leave_one_entry_each_and_never_the_key(
    admin: Admin, client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    made: dict[str, Any] = {}

    async def create() -> None:
        response = await client.post(
            KEYS, headers=admin.headers, json={"name": "CRM", "permissions": ["VIEW_ACTIVITIES"]}
        )
        assert response.status_code == 201, response.text
        made.update(response.json())

    created = await one_entry(session_factory, "api_key.created", create)
    plaintext = made["plaintextKey"]
    assert plaintext[14:] not in as_text(created)
    _by_key(created, admin)
    assert target_of(created) == ("api_key", made["id"])
    assert created.changes["before"] == {}
    assert created.changes["after"]["name"] == "CRM"
    assert created.changes["after"]["key_prefix"] == made["keyPrefix"]

    async def revoke() -> None:
        response = await client.post(f"{KEYS}/{made['id']}/revoke", headers=admin.headers)
        assert response.status_code == 200, response.text

    revoked = await one_entry(session_factory, "api_key.revoked", revoke)
    assert revoked.changes["before"] == {"revoked_at": None}
    assert revoked.changes["after"]["revoked_at"] == (await _key(client, admin))["revokedAt"]
    await no_entry(session_factory, revoke)  # revoking again changes nothing

    viewer = await key_headers(session_factory, admin.tenant_id, Permission.VIEW_ACTIVITIES)

    async def refused() -> None:
        blank = await client.post(
            KEYS, headers=admin.headers, json={"name": " ", "permissions": ["VIEW_ACTIVITIES"]}
        )
        assert blank.status_code == 400
        beyond = await client.post(
            KEYS, headers=viewer, json={"name": "x", "permissions": ["VIEW_ACTIVITIES"]}
        )
        assert beyond.status_code == 403

    await no_entry(session_factory, refused)


async def _key(client: httpx.AsyncClient, admin: Admin) -> dict[str, Any]:
    listed = (await client.get(KEYS, headers=admin.headers)).json()["data"]
    return next(k for k in listed if k["name"] == "CRM")


async def test_result_types_leave_one_entry_per_change(
    admin: Admin, client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    made: dict[str, Any] = {}

    async def call(method: str, path: str, json: Any = None, status: int = 200) -> None:
        response = await client.request(method, path, headers=admin.headers, json=json)
        assert response.status_code == status, response.text
        if method == "POST" and path == TYPES:
            made.update(response.json())

    await one_entry(
        session_factory,
        "result_type.created",
        lambda: call("POST", TYPES, {"code": "AUDITED", "label": "Audited"}, 201),
    )
    item = f"{TYPES}/{made['id']}"
    updated = await one_entry(
        session_factory, "result_type.updated", lambda: call("PATCH", item, {"label": "Renamed"})
    )
    assert updated.changes == {"before": {"label": "Audited"}, "after": {"label": "Renamed"}}
    assert target_of(updated) == ("result_type", made["id"])
    codes = [t["code"] for t in (await client.get(TYPES, headers=admin.headers)).json()["data"]]
    reordered = await one_entry(
        session_factory,
        "result_type.reordered",
        lambda: call("POST", f"{TYPES}/reorder", {"codes": codes[::-1]}),
    )
    assert reordered.changes["after"] == {"codes": codes[::-1]}
    archived = await one_entry(
        session_factory, "result_type.archived", lambda: call("POST", f"{item}/archive")
    )
    assert archived.changes["before"]["is_active"] is True
    assert archived.changes["after"]["is_active"] is False
    await no_entry(session_factory, lambda: call("POST", f"{item}/archive"))  # no change
    await one_entry(
        session_factory, "result_type.restored", lambda: call("POST", f"{item}/restore")
    )
    deleted = await one_entry(
        session_factory, "result_type.deleted", lambda: call("DELETE", item, status=204)
    )
    assert deleted.changes["before"]["code"] == "AUDITED"
    assert deleted.changes["after"] == {}

    async def refused() -> None:
        await call("POST", TYPES, {"code": codes[0], "label": "Twice"}, 409)
        await call("POST", TYPES, {"code": "BLANK", "label": "  "}, 400)
        await call("PATCH", item, {"label": "Gone"}, 404)
        await call("POST", f"{TYPES}/reorder", {"codes": codes[:1]}, 400)

    await no_entry(session_factory, refused)


async def test_dispatch_configs_leave_one_entry_each_and_no_secret(
    admin: Admin, client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    made: dict[str, Any] = {}
    header_value = "header-value-that-is-a-secret"
    body = {
        "channel": "CALLCENTER",
        "provider": "WEBHOOK",
        "endpoint_url": f"{HOOK}?token=query-token-secret",
        "auth_header_name": "x-api-key",
        "auth_header_value": header_value,
    }

    async def call(method: str, path: str, json: Any = None, status: int = 200) -> None:
        response = await client.request(method, path, headers=admin.headers, json=json)
        assert response.status_code == status, response.text
        if response.content:
            made.update(response.json())

    secrets = (header_value, "query-token-secret")
    created = await one_entry(
        session_factory,
        "dispatch_config.created",
        lambda: call("POST", CONFIGS, body, 201),
        secrets=secrets,
    )
    item = f"{CONFIGS}/{made['id']}"
    first_secret = made["signingSecret"]
    assert first_secret not in str(created.changes)
    assert created.changes["after"]["endpoint_url"] == HOOK
    assert created.changes["after"]["auth_header_name"] == "x-api-key"
    assert target_of(created) == ("dispatch_config", made["id"])

    new_value = "another-header-secret"
    updated = await one_entry(
        session_factory,
        "dispatch_config.updated",
        lambda: call("PATCH", item, {"auth_header_value": new_value}),
        secrets=(*secrets, new_value),
    )
    assert updated.changes == {"before": {}, "after": {"auth_header_replaced": True}}
    rotated = await one_entry(
        session_factory,
        "dispatch_config.secret_rotated",
        lambda: call("POST", f"{item}/rotate-secret", {"overlap_seconds": 60}),
        secrets=(first_secret,),
    )
    assert made["signingSecret"] not in str(rotated.changes)
    assert rotated.changes["after"]["overlap_seconds"] == 60
    deactivated = await one_entry(
        session_factory,
        "dispatch_config.deactivated",
        lambda: call("PATCH", item, {"is_active": False}),
    )
    assert deactivated.changes["before"]["is_active"] is True
    await one_entry(
        session_factory, "dispatch_config.deleted", lambda: call("DELETE", item, status=204)
    )

    async def refused() -> None:
        await call("POST", CONFIGS, {"channel": "CALLCENTER", "provider": "WEBHOOK"}, 400)
        await call("PATCH", item, {"is_active": True}, 404)
        await call("POST", CONFIGS, {"channel": "SALESMAN", "provider": "MOCK"}, 201)
        await call("POST", CONFIGS, {"channel": "SALESMAN", "provider": "MOCK"}, 409)

    # The refused ones add nothing; the one accepted create in between adds its own entry.
    counted = await count(session_factory)
    await refused()
    assert await count(session_factory) == counted + 1


async def test_force_dispatch_and_redelivery_leave_one_entry_each(
    admin: Admin,
    client: httpx.AsyncClient,
    session_factory: async_sessionmaker[AsyncSession],
    settings: Any,
) -> None:
    async with session_scope(session_factory) as session:
        await dispatch.create_config(
            session,
            admin.tenant_id,
            DispatchConfigCreate.model_validate({"channel": "SALESMAN", "provider": "MOCK"}),
            settings,
        )
    task = admin.world.task.id
    found: dict[str, Any] = {}

    async def force() -> None:
        response = await client.post(
            f"/api/activities/tasks/{task}/dispatch", headers=admin.headers
        )
        assert response.status_code == 202, response.text
        found.update(response.json())

    forced = await one_entry(session_factory, "activity.dispatch_forced", force)
    assert target_of(forced) == ("activity", str(task))

    async def redeliver() -> None:
        response = await client.post(
            f"/api/deliveries/{found['id']}/redeliver", headers=admin.headers
        )
        assert response.status_code == 202, response.text

    redelivered = await one_entry(session_factory, "delivery.redelivered", redeliver)
    assert target_of(redelivered) == ("delivery", found["id"])

    async def refused() -> None:
        response = await client.post(
            f"/api/activities/tasks/{uuid.uuid4()}/dispatch", headers=admin.headers
        )
        assert response.status_code == 404
        gone = await client.post(f"/api/deliveries/{uuid.uuid4()}/redeliver", headers=admin.headers)
        assert gone.status_code == 404

    await no_entry(session_factory, refused)


async def test_people_leave_one_entry_per_change_named_by_the_person(
    admin: Admin, client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    boss = await add_person(session_factory, admin.tenant_id, "ADMIN")
    headers = await bearer(client, boss)
    made: dict[str, Any] = {}
    new_password = "a brand new password"

    async def call(method: str, path: str, json: Any = None, status: int = 200) -> None:
        response = await client.request(method, path, headers=headers, json=json)
        assert response.status_code == status, response.text
        if response.content:
            made.update(response.json())

    person = {"email": "new.person@acme.test", "password": PASSWORD, "role": "VIEWER"}
    created = await one_entry(
        session_factory,
        "user.created",
        lambda: call("POST", "/api/users", person, 201),
        secrets=(PASSWORD,),
    )
    assert (created.actor_type, created.actor_id, created.actor_label) == (
        "user",
        str(boss.id),
        boss.email,
    )
    assert created.changes["after"]["role"] == "VIEWER"
    user_path = f"/api/users/{made['id']}"
    role = await one_entry(
        session_factory,
        "user.role_changed",
        lambda: call("PUT", f"{user_path}/role", {"role": "FDE"}),
    )
    assert role.changes == {"before": {"role": "VIEWER"}, "after": {"role": "FDE"}}
    await one_entry(
        session_factory,
        "user.password_reset",
        lambda: call("POST", f"{user_path}/reset-password", {"password": new_password}),
        secrets=(new_password,),
    )
    elsewhere = await build_world(session_factory, slug="elsewhere")
    outsider = await add_person(session_factory, elsewhere.tenant.id, "VIEWER")
    invite = {"email": outsider.email, "password": PASSWORD, "role": "VIEWER"}
    invited = await one_entry(
        session_factory, "user.invited", lambda: call("POST", "/api/users", invite, 202)
    )
    assert invited.tenant_id == admin.tenant_id
    assert made["token"] not in str(invited.changes)
    pending = (await client.get("/api/users/invitations", headers=headers)).json()["data"]
    await one_entry(
        session_factory,
        "invitation.revoked",
        lambda: call("POST", f"/api/users/invitations/{pending[0]['id']}/revoke"),
    )

    async def refused() -> None:
        await call("PUT", f"{user_path}/role", {"role": "KING"}, 400)
        await call("POST", f"{user_path}/reset-password", {"password": "short"}, 400)
        await call("POST", "/api/users", person, 409)

    await no_entry(session_factory, refused)


async def test_sign_ins_and_failed_sign_ins_leave_one_entry_without_the_password(
    admin: Admin, client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    person = await add_person(session_factory, admin.tenant_id, "VIEWER")

    async def log_in(password: str, status: int) -> None:
        response = await client.post(
            "/api/auth/login", json={"email": person.email, "password": password}
        )
        assert response.status_code == status, response.text

    signed_in = await one_entry(session_factory, "auth.signed_in", lambda: log_in(PASSWORD, 200))
    assert (signed_in.actor_type, signed_in.actor_label) == ("user", person.email)
    assert (signed_in.tenant_id, signed_in.address) == (admin.tenant_id, "127.0.0.1")
    wrong = "wrong-password-typed"
    failed = await one_entry(
        session_factory,
        "auth.sign_in_failed",
        lambda: log_in(wrong, 401),
        secrets=(wrong, PASSWORD),
    )
    assert (failed.actor_type, failed.actor_id, failed.actor_label) == (
        "anonymous",
        None,
        person.email,
    )
    assert target_of(failed) == ("user", str(person.id))

    async def nobody() -> None:
        response = await client.post(
            "/api/auth/login", json={"email": "nobody@nowhere.test", "password": wrong}
        )
        assert response.status_code == 401

    unknown = await one_entry(session_factory, "auth.sign_in_failed", nobody, secrets=(wrong,))
    assert (unknown.tenant_id, unknown.target_id) == (None, None)


async def test_accepting_an_invitation_is_recorded_in_the_tenant_joined(
    admin: Admin, client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    elsewhere = await build_world(session_factory, slug="elsewhere")
    outsider = await add_person(session_factory, elsewhere.tenant.id, "VIEWER")
    invite = {"email": outsider.email, "password": PASSWORD, "role": "FDE"}
    issued = await client.post("/api/users", headers=admin.headers, json=invite)
    assert issued.status_code == 202, issued.text
    token = issued.json()["token"]
    invitee = {"authorization": f"Bearer {await log_in(client, outsider.email)}"}

    async def accept() -> None:
        response = await client.post(
            "/api/auth/invitations/accept", headers=invitee, json={"token": token}
        )
        assert response.status_code == 200, response.text

    accepted = await one_entry(
        session_factory, "invitation.accepted", accept, secrets=(token, PASSWORD)
    )
    assert accepted.tenant_id == admin.tenant_id
    assert (accepted.actor_type, accepted.actor_label) == ("user", outsider.email)
    assert accepted.address == "127.0.0.1"
    assert accepted.changes["after"]["role"] == "FDE"

    async def again() -> None:
        response = await client.post(
            "/api/auth/invitations/accept", headers=invitee, json={"token": token}
        )
        assert response.status_code == 400

    await no_entry(session_factory, again)
