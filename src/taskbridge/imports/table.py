"""CSV text to rows of named values, with the header checked against the import's columns."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from taskbridge.imports.schemas import (
    COLUMNS,
    HEADER_LINE,
    Columns,
    ImportKind,
    InvalidImport,
    RowError,
)


@dataclass(frozen=True, slots=True)
class CsvRow:
    """One data row: its line in the file and its non-empty values by column name.

    Cells are trimmed. A blank optional cell is left out (as if the column were absent); a blank
    required cell is kept as ``""`` so that the request model judges it as the REST API would.
    """

    line: int
    values: dict[str, str]


@dataclass(frozen=True, slots=True)
class CsvTable:
    kind: ImportKind
    columns: tuple[str, ...]
    rows: list[CsvRow]


def _delimiter(header: str) -> str:
    """``,`` as the format says, or ``;`` when the header plainly uses it (spreadsheet exports)."""
    return ";" if header.count(";") > header.count(",") else ","


def _wanted(expected: Columns) -> str:
    """``external_id,name[,tax_id]``."""
    return ",".join(expected.required) + "".join(f"[,{name}]" for name in expected.optional)


def _header_errors(header: list[str], expected: Columns) -> list[RowError]:
    problems: list[str] = []
    seen: set[str] = set()
    for name in header:
        if name in seen:
            problems.append(f"column '{name}' appears twice")
        elif name not in expected.known:
            problems.append(f"unknown column '{name or '(blank)'}'")
        seen.add(name)
    problems += [f"missing column '{name}'" for name in expected.required if name not in seen]
    return [
        RowError(HEADER_LINE, f"{problem}; the header must be {_wanted(expected)}")
        for problem in problems
    ]


def _row(line: int, cells: list[str], header: list[str], expected: Columns) -> CsvRow | RowError:
    if len(cells) > len(header):
        return RowError(line, f"has {len(cells)} values but the header has {len(header)} columns")
    values: dict[str, str] = {}
    for name, cell in zip(header, cells, strict=False):
        value = cell.strip()
        if value or name in expected.required:
            values[name] = value
    for name in expected.required:
        values.setdefault(name, "")
    return CsvRow(line=line, values=values)


def read_table(kind: ImportKind, text: str) -> CsvTable:
    """The rows of ``text``; a bad header or an unreadable row is an :class:`InvalidImport`.

    Lines are counted as a spreadsheet numbers rows: the header is line 1, the first data row
    line 2. Blank lines are skipped but still counted.
    """
    expected = COLUMNS[kind]
    text = text.removeprefix("\ufeff")
    first_line = text.split("\n", 1)[0]
    if not first_line.strip():
        message = f"the header row is missing; it must be {_wanted(expected)}"
        raise InvalidImport([RowError(HEADER_LINE, message)])
    records = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(first_line))
    errors: list[RowError] = []
    rows: list[CsvRow] = []
    header: list[str] = []
    line = HEADER_LINE
    try:
        header = [name.strip().lower() for name in next(records)]
        errors += _header_errors(header, expected)
        for cells in records:
            line += 1
            if not any(cell.strip() for cell in cells):
                continue
            row = _row(line, cells, header, expected)
            if isinstance(row, RowError):
                errors.append(row)
            else:
                rows.append(row)
    except csv.Error as exc:
        errors.append(RowError(line + 1 if header else HEADER_LINE, f"unreadable CSV ({exc})"))
    if errors:
        raise InvalidImport(errors)
    return CsvTable(kind=kind, columns=tuple(header), rows=rows)
