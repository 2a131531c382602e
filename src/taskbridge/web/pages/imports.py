"""CSV import from a browser: the summary of what changed, or every rejected line."""

from __future__ import annotations

from fastapi import Request, UploadFile
from starlette.responses import Response

from taskbridge.imports import service as imports
from taskbridge.imports.schemas import ImportKind, InvalidImport, RowError
from taskbridge.imports.table import read_table
from taskbridge.kit.uow import SessionDep
from taskbridge.web.context import PanelUser
from taskbridge.web.forms import discard
from taskbridge.web.rendering import render

MAX_CSV_BYTES = 5 * 1024 * 1024


async def import_upload(
    request: Request,
    session: SessionDep,
    me: PanelUser,
    kind: ImportKind,
    upload: UploadFile | None,
    back: str,
) -> Response:
    """Run the same import as ``taskbridge import``; nothing is written when a line is bad."""
    try:
        raw = await upload.read(MAX_CSV_BYTES + 1) if upload is not None else b""
        if not raw:
            raise InvalidImport([RowError(1, "choose a CSV file to import")])
        if len(raw) > MAX_CSV_BYTES:
            raise InvalidImport([RowError(1, "the file is larger than 5 MB")])
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidImport([RowError(1, "the file is not UTF-8 text")]) from None
        table = read_table(kind, text)
        # The sign-in check only read: end its transaction so that checking a large file row by
        # row does not hold SQLite's write lock; the import's writes begin a new one.
        await session.commit()
        prepared = imports.prepare(table)
        summary = await imports.apply(session, me.tenant_id, prepared, actor=me.principal.actor)
    except InvalidImport as exc:
        await discard(session)
        return render(
            request,
            "import_result.html",
            400,
            kind=kind,
            summary=None,
            rejected=exc.errors,
            back=back,
        )
    return render(request, "import_result.html", kind=kind, summary=summary, rejected=[], back=back)
