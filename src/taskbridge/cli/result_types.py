"""``taskbridge result-type``: the tenant's outcome vocabulary (codes integrators send back)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from taskbridge.cli.runtime import JsonOption, TenantOption, dump, print_json, run, say
from taskbridge.errors import BadRequest, NotFound
from taskbridge.result_types import service as result_types
from taskbridge.result_types.schemas import ResultTypeCreate, ResultTypeRead, ResultTypeUpdate
from taskbridge.tenants import service as tenants

app = typer.Typer(help="Result types of a tenant.", no_args_is_help=True)

CodeOption = Annotated[str, typer.Option(help="The result type's code.", show_default=False)]
TranslationOption = Annotated[
    list[str] | None,
    typer.Option(
        "--translation",
        help="A label in another language, LANG=Text (repeat for several; LANG= removes one).",
        show_default=False,
    ),
]


def parse_translations(pairs: Sequence[str]) -> dict[str, str]:
    """``["en=Sale completed"]`` as ``{"en": "Sale completed"}``; an empty text means remove."""
    parsed: dict[str, str] = {}
    for pair in pairs:
        language, separator, text = pair.partition("=")
        if not separator or not language.strip():
            raise BadRequest(f"'{pair}' must look like LANG=Text", field="translation")
        parsed[language.strip()] = text.strip()
    return parsed


async def _id_of(session: AsyncSession, tenant_id: uuid.UUID, code: str) -> uuid.UUID:
    for result_type in await result_types.list_all(session, tenant_id):
        if result_type.code == code:
            return result_type.id
    raise NotFound(f"Result type '{code}' not found")


def _describe(rt: ResultTypeRead) -> str:
    state = "active" if rt.is_active else "archived"
    future = "requires future date" if rt.requires_future_scheduled_at else "-"
    extra = " ".join(f"{lang}={text!r}" for lang, text in sorted(rt.translations.items()))
    return f"{rt.code}\t{rt.label}\t{state}\t{future}\t{extra}".rstrip()


def _show(rt: ResultTypeRead, as_json: bool, verb: str) -> None:
    if as_json:
        print_json(dump(rt))
    else:
        say(f"{verb} result type {_describe(rt)}")


@app.command("add")
def add(
    tenant: TenantOption,
    code: CodeOption,
    label: Annotated[str, typer.Option(help="What operators see.", show_default=False)],
    requires_future_scheduled_at: Annotated[
        bool,
        typer.Option(
            "--requires-future-scheduled-at",
            help="Results with this code must carry a future date (a follow-up is scheduled).",
        ),
    ] = False,
    translation: TranslationOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add a result type at the end of the display order."""

    async def work(session: AsyncSession) -> ResultTypeRead:
        found = await tenants.get_by_slug(session, tenant)
        data = ResultTypeCreate(
            code=code,
            label=label,
            requires_future_scheduled_at=requires_future_scheduled_at,
            translations=parse_translations(translation or []),
        )
        return ResultTypeRead.model_validate(await result_types.create(session, found.id, data))

    _show(run(work), as_json, "Added")


@app.command("list")
def list_(tenant: TenantOption, as_json: JsonOption = False) -> None:
    """Active result types in display order, then archived ones."""

    async def work(session: AsyncSession) -> list[ResultTypeRead]:
        found = await tenants.get_by_slug(session, tenant)
        return [
            ResultTypeRead.model_validate(rt)
            for rt in await result_types.list_all(session, found.id)
        ]

    listed = run(work)
    if as_json:
        print_json({"data": [dump(rt) for rt in listed]})
        return
    for rt in listed:
        say(_describe(rt))


@app.command("update")
def update(
    tenant: TenantOption,
    code: CodeOption,
    label: Annotated[str | None, typer.Option(help="New label.", show_default=False)] = None,
    requires_future_scheduled_at: Annotated[
        bool | None,
        typer.Option(
            "--requires-future-scheduled-at/--no-requires-future-scheduled-at",
            help="Whether results with this code must carry a future date.",
            show_default=False,
        ),
    ] = None,
    translation: TranslationOption = None,
    as_json: JsonOption = False,
) -> None:
    """Change the label, the future-date flag or translations (the code never changes)."""

    async def work(session: AsyncSession) -> ResultTypeRead:
        found = await tenants.get_by_slug(session, tenant)
        result_type_id = await _id_of(session, found.id, code)
        translations = None
        if translation:
            current = await result_types.get(session, found.id, result_type_id)
            translations = {**current.translations, **parse_translations(translation)}
            translations = {lang: text for lang, text in translations.items() if text}
        given = {
            "label": label,
            "requires_future_scheduled_at": requires_future_scheduled_at,
            "translations": translations,
        }
        # An option left out is a field left out: the schema refuses a null for any of them.
        data = ResultTypeUpdate(**{name: v for name, v in given.items() if v is not None})
        updated = await result_types.update(session, found.id, result_type_id, data)
        return ResultTypeRead.model_validate(updated)

    _show(run(work), as_json, "Updated")


def _set_active(tenant: str, code: str, *, is_active: bool) -> ResultTypeRead:
    async def work(session: AsyncSession) -> ResultTypeRead:
        found = await tenants.get_by_slug(session, tenant)
        result_type_id = await _id_of(session, found.id, code)
        changed = await result_types.set_active(
            session, found.id, result_type_id, is_active=is_active
        )
        return ResultTypeRead.model_validate(changed)

    return run(work)


@app.command("archive")
def archive(tenant: TenantOption, code: CodeOption, as_json: JsonOption = False) -> None:
    """Hide a result type from integrators and refuse it on new results (history is kept)."""
    _show(_set_active(tenant, code, is_active=False), as_json, "Archived")


@app.command("restore")
def restore(tenant: TenantOption, code: CodeOption, as_json: JsonOption = False) -> None:
    """Bring an archived result type back, at the end of the display order."""
    _show(_set_active(tenant, code, is_active=True), as_json, "Restored")
