"""``taskbridge demo``: a ready-to-try tenant, and a fresh integrator key to try it with.

Running it again adds only what is missing. A key's plaintext exists only when it is created, so
every run revokes the earlier demo keys and prints a new one. Likewise the panel administrator
``admin@demo.local`` gets a new random password on every run, printed once.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from taskbridge.activities import service as activities
from taskbridge.activities.schemas import TaskCreate
from taskbridge.activities.status import Channel
from taskbridge.auth import service as auth
from taskbridge.auth.permissions import Permission
from taskbridge.auth.schemas import ApiKeyRead
from taskbridge.cli.runtime import CLI_ACTOR, JsonOption, dump, print_json, run, say
from taskbridge.commerces import service as commerces
from taskbridge.commerces.schemas import CommerceItem
from taskbridge.errors import NotFound
from taskbridge.kit.time import utcnow
from taskbridge.operators import service as operators
from taskbridge.operators.schemas import OperatorItem, OperatorType
from taskbridge.result_types import service as result_types
from taskbridge.result_types.schemas import ResultTypeCreate
from taskbridge.tenants import service as tenants
from taskbridge.tenants.schemas import TenantCreate, TenantRead
from taskbridge.users import service as users

DEMO_SLUG = "demo"
DEMO_KEY_NAME = "demo integrator"
DEMO_KEY_PERMISSIONS = [Permission.VIEW_ACTIVITIES, Permission.SUBMIT_ACTIVITY_RESULT]
DEFAULT_BASE_URL = "http://127.0.0.1:8000"
DEMO_ADMIN_EMAIL = "admin@demo.local"

RESULT_TYPES = [
    ResultTypeCreate(
        code="SALE_COMPLETED", label="Venta completada", translations={"en": "Sale completed"}
    ),
    ResultTypeCreate(
        code="NOT_INTERESTED", label="No interesado", translations={"en": "Not interested"}
    ),
    ResultTypeCreate(
        code="RESCHEDULE",
        label="Reprogramar visita",
        requires_future_scheduled_at=True,
        translations={"en": "Reschedule visit"},
    ),
    ResultTypeCreate(code="NO_CONTACT", label="Sin contacto", translations={"en": "No contact"}),
]
"""The seed page's result types, in its order."""

COMMERCES = [
    CommerceItem(external_id="COM-001", name="Almacén Don Pedro", tax_id="76.123.456-7"),
    CommerceItem(external_id="COM-002", name="Minimarket La Esquina"),
    CommerceItem(external_id="COM-003", name="Botillería El Sol"),
]

OPERATORS = [
    OperatorItem(
        external_id="OP-17",
        type=OperatorType.SALESMAN,
        name="Ana Rojas",
        email="ana.rojas@example.com",
    ),
    OperatorItem(external_id="OP-22", type=OperatorType.CALLCENTER, name="Luis Soto"),
]

TASKS = [
    # (idempotency key, commerce, channel, operator, days ahead, reason)
    ("demo-task-1", "COM-001", Channel.SALESMAN, "OP-17", 1, "Visita mensual"),
    ("demo-task-2", "COM-002", Channel.SALESMAN, "OP-17", 2, "Presentar nueva línea de productos"),
    ("demo-task-3", "COM-003", Channel.CALLCENTER, "OP-22", 1, "Confirmar pedido semanal"),
]


@dataclass(frozen=True, slots=True)
class DemoSetup:
    tenant: TenantRead
    key: ApiKeyRead
    plaintext: str
    revoked_keys: int
    admin_password: str


def _morning(days_ahead: int) -> datetime:
    """A round hour ``days_ahead`` days from now, so the tasks read like a real schedule."""
    day = utcnow() + timedelta(days=days_ahead)
    return day.replace(hour=13, minute=0, second=0, microsecond=0)


async def _ensure_result_types(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    existing = {rt.code for rt in await result_types.list_all(session, tenant_id)}
    for data in RESULT_TYPES:
        if data.code not in existing:
            await result_types.create(session, tenant_id, data)


async def _ensure_commerces_and_operators(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    missing_commerces: list[CommerceItem] = []
    for commerce in COMMERCES:
        try:
            await commerces.get_by_external_id(session, tenant_id, commerce.external_id)
        except NotFound:
            missing_commerces.append(commerce)
    if missing_commerces:
        await commerces.sync(session, tenant_id, missing_commerces)
    missing_operators: list[OperatorItem] = []
    for operator in OPERATORS:
        try:
            await operators.get_by_external_id(
                session, tenant_id, operator.external_id, field="external_id"
            )
        except NotFound:
            missing_operators.append(operator)
    if missing_operators:
        await operators.sync(session, tenant_id, missing_operators)


async def _ensure_tasks(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    for key, commerce, channel, operator, days_ahead, reason in TASKS:
        if await activities.find_by_idempotency_key(session, tenant_id, key) is not None:
            continue
        data = TaskCreate(
            idempotency_key=key,
            commerce_external_id=commerce,
            channel=channel,
            operator_external_id=operator,
            scheduled_at=_morning(days_ahead),
            reason=reason,
        )
        await activities.create_task(session, tenant_id, data, actor=f"{CLI_ACTOR}:demo")


async def _fresh_key(session: AsyncSession, tenant_id: uuid.UUID) -> tuple[ApiKeyRead, str, int]:
    """Revoke the earlier demo keys and create the one this run prints."""
    revoked = 0
    for key in await auth.list_api_keys(session, tenant_id):
        if key.name == DEMO_KEY_NAME and key.revoked_at is None:
            await auth.revoke_api_key(session, tenant_id, key.id)
            revoked += 1
    created = await auth.create_api_key(
        session, tenant_id, name=DEMO_KEY_NAME, permissions=[str(p) for p in DEMO_KEY_PERMISSIONS]
    )
    return ApiKeyRead.model_validate(created.key), created.plaintext, revoked


async def _fresh_admin_password(session: AsyncSession, tenant_id: uuid.UUID) -> str:
    """Create ``admin@demo.local`` (ADMIN) or give it a new password; either way print it."""
    password = secrets.token_urlsafe(12)
    try:
        member = await users.get_member_by_email(session, tenant_id, DEMO_ADMIN_EMAIL)
    except NotFound:
        await users.create_member(
            session,
            tenant_id,
            email=DEMO_ADMIN_EMAIL,
            password=password,
            role="ADMIN",
            first_name="Demo",
            last_name="Admin",
        )
        return password
    await users.reset_password(session, tenant_id, member.user.id, password)
    return password


async def set_up_demo(session: AsyncSession) -> DemoSetup:
    """The demo tenant with whatever it lacks, and a new integrator key."""
    tenant = await tenants.find_by_slug(session, DEMO_SLUG)
    if tenant is None:
        tenant = await tenants.create(session, TenantCreate(name="Demo", slug=DEMO_SLUG))
    await _ensure_result_types(session, tenant.id)
    await _ensure_commerces_and_operators(session, tenant.id)
    await _ensure_tasks(session, tenant.id)
    key, plaintext, revoked = await _fresh_key(session, tenant.id)
    admin_password = await _fresh_admin_password(session, tenant.id)
    return DemoSetup(
        tenant=TenantRead.model_validate(tenant),
        key=key,
        plaintext=plaintext,
        revoked_keys=revoked,
        admin_password=admin_password,
    )


def curl_command(base_url: str, plaintext: str) -> str:
    url = f"{base_url.rstrip('/')}/api/integration/task-result-type-configs"
    return f'curl -s {url} -H "x-api-key: {plaintext}"'


def demo(
    base_url: Annotated[
        str, typer.Option(help="Where the server listens, for the printed curl command.")
    ] = DEFAULT_BASE_URL,
    as_json: JsonOption = False,
) -> None:
    """Create (or complete) the demo tenant and print a new integrator key with a curl to try."""
    setup = run(set_up_demo)
    curl = curl_command(base_url, setup.plaintext)
    if as_json:
        print_json(
            {
                "tenant": dump(setup.tenant),
                "apiKey": dump(setup.key),
                "plaintextKey": setup.plaintext,
                "curl": curl,
                "admin": {"email": DEMO_ADMIN_EMAIL, "password": setup.admin_password},
            }
        )
        return
    say(
        f"Demo tenant '{setup.tenant.slug}' is ready: {len(RESULT_TYPES)} result types, "
        f"{len(COMMERCES)} commerces, {len(OPERATORS)} operators, {len(TASKS)} tasks."
    )
    if setup.revoked_keys:
        say(f"Revoked {setup.revoked_keys} earlier '{DEMO_KEY_NAME}' key(s).")
    say(f"API key (shown only this once): {setup.plaintext}")
    say("Try it:")
    say(f"  {curl}")
    say(f"Web panel: {base_url.rstrip('/')}/admin")
    say(
        f"  sign in as {DEMO_ADMIN_EMAIL} with the password (new on every run): "
        f"{setup.admin_password}"
    )
