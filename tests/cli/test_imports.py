"""``taskbridge import``: whole-file validation, line numbers, re-runs, and what gets stored."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.models import Activity, Commerce, Operator
from tests.cli.conftest import Cli, write_csv

TASKS = "/api/integration/activities/tasks"

COMMERCES_CSV = """external_id,name,tax_id
COM-001,Almacén Don Pedro,76.123.456-7
COM-002,Minimarket La Esquina,
"""

OPERATORS_CSV = """external_id,type,name,email,phone
OP-17,SALESMAN,Ana Rojas,ana@example.com,
OP-22,CALLCENTER,Luis Soto,,+56 9 1234 5678
"""

TASK_HEADER = (
    "idempotency_key,commerce_external_id,channel,scheduled_at,reason,"
    "operator_external_id,provider_activity_id\n"
)


async def _count(factory: async_sessionmaker[AsyncSession], model: type) -> int:
    async with factory() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_commerces_created_then_updated(
    cli: Cli, acme: str, tmp_path: Path, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    path = write_csv(tmp_path, "commerces.csv", COMMERCES_CSV)
    first = await cli.json("import", "commerces", "--tenant", acme, path)
    assert first == {
        "kind": "commerces",
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "total": 2,
        "skipped": [],
    }
    renamed = COMMERCES_CSV.replace("La Esquina", "La Nueva Esquina") + "COM-003,Botillería,\n"
    path = write_csv(tmp_path, "commerces.csv", renamed)
    second = await cli.ok("import", "commerces", "--tenant", acme, path)
    assert second.stdout == "Imported commerces: 1 created, 2 updated, 0 unchanged (3 rows)\n"
    async with session_factory() as session:
        rows = await session.execute(select(Commerce.external_id, Commerce.name, Commerce.tax_id))
        stored = sorted(tuple(row) for row in rows)
    assert stored == [
        ("COM-001", "Almacén Don Pedro", "76.123.456-7"),
        ("COM-002", "Minimarket La Nueva Esquina", None),
        ("COM-003", "Botillería", None),
    ]


async def test_one_bad_line_writes_nothing(
    cli: Cli, acme: str, tmp_path: Path, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    text = COMMERCES_CSV + ",Sin id,\nCOM-004,Otro,\n"
    path = write_csv(tmp_path, "commerces.csv", text)
    result = await cli.refused("import", "commerces", "--tenant", acme, path)
    assert result.stderr.splitlines() == [
        f"{path}: 1 error; nothing was imported",
        "  line 4: external_id: must be at least 1 characters",
    ]
    assert await _count(session_factory, Commerce) == 0


async def test_every_bad_line_is_listed(
    cli: Cli, acme: str, tmp_path: Path, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    text = (
        OPERATORS_CSV
        + "OP-30,DRIVER,Pedro,,\n\nOP-17,SALESMAN,Ana otra vez,,\nOP-31,ACTIVATOR,,,\n"
    )
    path = write_csv(tmp_path, "operators.csv", text)
    result = await cli.refused("import", "operators", "--tenant", acme, path, "--json")
    assert result.stderr.splitlines() == [
        f"{path}: 3 errors; nothing was imported",
        "  line 4: type: must be one of SALESMAN, ACTIVATOR or CALLCENTER",
        "  line 6: operator SALESMAN 'OP-17' repeats line 2",
        "  line 7: name: must be at least 1 characters",
    ]
    assert await _count(session_factory, Operator) == 0


async def test_operators_import(
    cli: Cli, acme: str, tmp_path: Path, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    path = write_csv(tmp_path, "operators.csv", OPERATORS_CSV)
    summary = await cli.json("import", "operators", "--tenant", acme, path)
    assert (summary["created"], summary["updated"], summary["total"]) == (2, 0, 2)
    again = await cli.json("import", "operators", "--tenant", acme, path)
    assert (again["created"], again["updated"], again["total"]) == (0, 2, 2)
    async with session_factory() as session:
        rows = await session.execute(
            select(Operator.type, Operator.external_id, Operator.email, Operator.phone)
        )
        stored = sorted(tuple(row) for row in rows)
    assert stored == [
        ("CALLCENTER", "OP-22", None, "+56 9 1234 5678"),
        ("SALESMAN", "OP-17", "ana@example.com", None),
    ]


async def test_header_problems_are_line_1(cli: Cli, acme: str, tmp_path: Path) -> None:
    path = write_csv(tmp_path, "commerces.csv", "id,name\nCOM-001,Uno\n")
    result = await cli.refused("import", "commerces", "--tenant", acme, path)
    assert result.stderr.splitlines()[1:] == [
        "  line 1: unknown column 'id'; the header must be external_id,name[,tax_id]",
        "  line 1: missing column 'external_id'; the header must be external_id,name[,tax_id]",
    ]
    empty = await cli.refused(
        "import", "commerces", "--tenant", acme, write_csv(tmp_path, "e.csv", "")
    )
    assert "line 1: the header row is missing" in empty.stderr
    missing = await cli.refused("import", "commerces", "--tenant", acme, str(tmp_path / "no.csv"))
    assert missing.stderr == f"{tmp_path / 'no.csv'}: No such file or directory\n"


async def test_spreadsheet_export_with_bom_and_semicolons(
    cli: Cli, acme: str, tmp_path: Path
) -> None:
    path = tmp_path / "commerces.csv"
    path.write_bytes('\ufeffExternal_ID;Name\r\nCOM-001;"Almacén; Don Pedro"\r\n'.encode())
    summary = await cli.json("import", "commerces", "--tenant", acme, str(path))
    assert summary["created"] == 1


async def test_tasks_import_and_safe_rerun(
    cli: Cli,
    acme: str,
    tmp_path: Path,
    client: httpx.AsyncClient,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await cli.ok(
        "import", "commerces", "--tenant", acme, write_csv(tmp_path, "c.csv", COMMERCES_CSV)
    )
    await cli.ok(
        "import", "operators", "--tenant", acme, write_csv(tmp_path, "o.csv", OPERATORS_CSV)
    )
    rows = (
        "t-1,COM-001,SALESMAN,2030-04-15T09:00:00Z,Visita mensual,OP-17,PRV-1\n"
        "t-2,COM-002,CALLCENTER,2030-04-15T09:00:00-04:00,Llamar,,\n"
    )
    path = write_csv(tmp_path, "tasks.csv", TASK_HEADER + rows)
    first = await cli.json("import", "tasks", "--tenant", acme, path)
    assert (first["created"], first["unchanged"], first["total"], first["skipped"]) == (2, 0, 2, [])

    path = write_csv(
        tmp_path,
        "tasks.csv",
        TASK_HEADER + rows + "t-3,COM-002,SMS,2030-05-01T10:00:00Z,Recordatorio,,\n",
    )
    second = await cli.json("import", "tasks", "--tenant", acme, path)
    assert (second["created"], second["updated"], second["unchanged"]) == (1, 0, 2)
    assert [(s["line"], s["idempotencyKey"]) for s in second["skipped"]] == [(2, "t-1"), (3, "t-2")]
    text = await cli.ok("import", "tasks", "--tenant", acme, path)
    assert text.stdout.splitlines()[0] == (
        "Imported tasks: 0 created, 0 updated, 3 unchanged (3 rows)"
    )
    assert "line 2: idempotency_key 't-1' already exists" in text.stdout

    key = await cli.json(
        "apikey", "create", "--tenant", acme, "--name", "k", "--permission", "VIEW_ACTIVITIES"
    )
    listed = await client.get(TASKS, headers={"x-api-key": key["plaintextKey"]})
    items = {t["providerActivityId"] or t["reason"]: t for t in listed.json()["data"]}
    assert listed.json()["meta"]["total"] == 3
    assert items["PRV-1"]["status"] == "PENDING"
    assert items["PRV-1"]["operatorExternalId"] == "OP-17"
    assert items["PRV-1"]["scheduledAt"] == "2030-04-15T09:00:00.000Z"
    assert items["Llamar"]["scheduledAt"] == "2030-04-15T13:00:00.000Z"
    assert items["Llamar"]["operatorExternalId"] is None
    assert await _count(session_factory, Activity) == 3


async def test_tasks_with_unknown_references_write_nothing(
    cli: Cli, acme: str, tmp_path: Path, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await cli.ok(
        "import", "commerces", "--tenant", acme, write_csv(tmp_path, "c.csv", COMMERCES_CSV)
    )
    rows = (
        "t-1,COM-001,SALESMAN,2030-04-15T09:00:00Z,Visita,,\n"
        "t-2,COM-999,SALESMAN,2030-04-15T09:00:00Z,Visita,OP-404,\n"
        "t-3,COM-001,SALESMAN,2030-04-15 09:00,Visita,,\n"
        "t-1,COM-001,SALESMAN,2030-04-15T09:00:00Z,Visita,,\n"
    )
    path = write_csv(tmp_path, "tasks.csv", TASK_HEADER + rows)
    result = await cli.refused("import", "tasks", "--tenant", acme, path)
    assert result.stderr.splitlines() == [
        f"{path}: 4 errors; nothing was imported",
        "  line 3: commerce_external_id: Commerce 'COM-999' not found",
        "  line 3: operator_external_id: Operator 'OP-404' not found",
        "  line 4: scheduled_at: must be an ISO 8601 timestamp with a time zone (Z or +hh:mm)",
        "  line 5: idempotency_key 't-1' repeats line 2",
    ]
    assert await _count(session_factory, Activity) == 0


async def test_a_service_refusal_while_writing_rolls_everything_back(
    cli: Cli, acme: str, tmp_path: Path, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await cli.ok(
        "import", "commerces", "--tenant", acme, write_csv(tmp_path, "c.csv", COMMERCES_CSV)
    )
    taken = TASK_HEADER + "t-1,COM-001,SALESMAN,2030-04-15T09:00:00Z,Visita,,PRV-1\n"
    await cli.ok("import", "tasks", "--tenant", acme, write_csv(tmp_path, "t1.csv", taken))
    rows = (
        "t-2,COM-001,SALESMAN,2030-04-15T09:00:00Z,Visita,,\n"
        "t-3,COM-002,SALESMAN,2030-04-15T09:00:00Z,Visita,,PRV-1\n"
    )
    path = write_csv(tmp_path, "t2.csv", TASK_HEADER + rows)
    result = await cli.refused("import", "tasks", "--tenant", acme, path)
    assert result.stderr.splitlines()[1].startswith(
        "  line 3: provider_activity_id 'PRV-1' is already used by activity "
    )
    assert await _count(session_factory, Activity) == 1


async def test_import_into_unknown_tenant(cli: Cli, tmp_path: Path) -> None:
    path = write_csv(tmp_path, "c.csv", COMMERCES_CSV)
    result = await cli.refused("import", "commerces", "--tenant", "nobody", path)
    assert result.stderr == "Tenant 'nobody' not found\n"


async def test_malformed_rows_name_their_line(cli: Cli, acme: str, tmp_path: Path) -> None:
    extra = write_csv(tmp_path, "extra.csv", "external_id,name\nCOM-001,Uno\nCOM-002,Dos,oops\n")
    result = await cli.refused("import", "commerces", "--tenant", acme, extra)
    assert result.stderr.splitlines()[1] == "  line 3: has 3 values but the header has 2 columns"
    huge = write_csv(
        tmp_path, "huge.csv", f"external_id,name\nCOM-001,Uno\nCOM-002,{'x' * 200_000}\n"
    )
    result = await cli.refused("import", "commerces", "--tenant", acme, huge)
    assert result.stderr.splitlines()[1].startswith("  line 3: unreadable CSV (field larger than")
