"""``taskbridge import``: commerces, operators and tasks from CSV files (see docs/csv-import.md)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from taskbridge.cli.runtime import (
    CLI_ACTOR,
    JsonOption,
    TenantOption,
    dump,
    fail,
    print_json,
    reported_failures,
    run_raising,
    say,
)
from taskbridge.imports import service as imports
from taskbridge.imports.schemas import ImportKind, ImportSummary, InvalidImport
from taskbridge.imports.table import CsvTable, read_table
from taskbridge.tenants import service as tenants

app = typer.Typer(
    help="Import commerces, operators or tasks from a CSV file.", no_args_is_help=True
)

MAX_ERRORS_SHOWN = 50

FileArgument = Annotated[
    Path, typer.Argument(help="CSV file with a header row.", show_default=False, metavar="FILE.csv")
]


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        fail(f"{path}: not UTF-8 text (save the CSV as UTF-8)")
    except OSError as exc:
        fail(f"{path}: {exc.strerror or exc}")


def _refuse(path: Path, refused: InvalidImport) -> None:
    shown = [f"  {error}" for error in refused.errors[:MAX_ERRORS_SHOWN]]
    if len(refused.errors) > MAX_ERRORS_SHOWN:
        shown.append(f"  … and {len(refused.errors) - MAX_ERRORS_SHOWN} more")
    count = len(refused.errors)
    fail(f"{path}: {count} error{'s' if count != 1 else ''}; nothing was imported", *shown)


@contextmanager
def _progress(steps: int, label: str) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr when a person watches it; silent otherwise."""
    if steps == 0 or not sys.stderr.isatty():
        yield lambda _steps: None
        return
    with typer.progressbar(length=steps, label=label, file=sys.stderr) as bar:
        yield bar.update


def _report(summary: ImportSummary, as_json: bool) -> None:
    if as_json:
        print_json(dump(summary))
        return
    say(
        f"Imported {summary.kind}: {summary.created} created, {summary.updated} updated, "
        f"{summary.unchanged} unchanged ({summary.total} row{'s' if summary.total != 1 else ''})"
    )
    for row in summary.skipped:
        say(
            f"  line {row.line}: idempotency_key '{row.idempotency_key}' already exists "
            f"(activity {row.activity_id}); left unchanged"
        )


def _import(kind: ImportKind, tenant: str, path: Path, as_json: bool) -> None:
    text = _read(path)
    try:
        table: CsvTable = read_table(kind, text)
    except InvalidImport as refused:
        _refuse(path, refused)

    with _progress(imports.progress_steps(table), f"Importing {kind}") as advance:
        try:
            prepared = imports.prepare(table, advance=advance)
        except InvalidImport as refused:
            _refuse(path, refused)

        async def work(session: AsyncSession) -> ImportSummary:
            """The write transaction: begun once every row is checked, kept to bulk statements."""
            found = await tenants.get_by_slug(session, tenant)
            return await imports.apply(
                session, found.id, prepared, actor=f"{CLI_ACTOR}:import", advance=advance
            )

        with reported_failures():
            try:
                summary = run_raising(work)
            except InvalidImport as refused:
                _refuse(path, refused)
    _report(summary, as_json)


@app.command("commerces")
def commerces(tenant: TenantOption, file: FileArgument, as_json: JsonOption = False) -> None:
    """Create or update commerces by external_id. Columns: external_id,name[,tax_id]."""
    _import(ImportKind.COMMERCES, tenant, file, as_json)


@app.command("operators")
def operators(tenant: TenantOption, file: FileArgument, as_json: JsonOption = False) -> None:
    """Create or update operators by (type, external_id).

    Columns: external_id,type,name[,email,phone].
    """
    _import(ImportKind.OPERATORS, tenant, file, as_json)


@app.command("tasks")
def tasks(tenant: TenantOption, file: FileArgument, as_json: JsonOption = False) -> None:
    """Create READY tasks; rows whose idempotency_key exists are left unchanged.

    Columns: idempotency_key,commerce_external_id,channel,scheduled_at,reason
    [,operator_external_id,provider_activity_id].
    """
    _import(ImportKind.TASKS, tenant, file, as_json)
