"""The documented "not blank" pattern refuses exactly what the services strip to nothing.

Python's ``str.strip`` and ECMA's ``\\s`` disagree (``\\x1c``-``\\x1f``, ``\\x85``, ``\\ufeff``):
the fuzzer found a label of ``"\\x85"`` valid by the schema and refused as blank.
"""

from __future__ import annotations

import jsonschema_rs
import pytest

from taskbridge.kit.case import NOT_BLANK

PYTHON_WHITESPACE = [chr(c) for c in range(0x110000) if chr(c).isspace()]


@pytest.mark.parametrize("space", PYTHON_WHITESPACE, ids=lambda c: f"U+{ord(c):04X}")
def test_a_text_of_python_whitespace_only_is_refused_by_the_schema(space: str) -> None:
    schema = jsonschema_rs.validator_for({"type": "string", "pattern": NOT_BLANK})
    assert not schema.is_valid(space * 3)
    assert schema.is_valid(f"{space}a{space}")


def test_what_python_keeps_the_schema_accepts() -> None:
    schema = jsonschema_rs.validator_for({"type": "string", "pattern": NOT_BLANK})
    for text in ("\ufeff", "a", "Reprogramar visita", "\u200b"):
        assert text.strip(), text
        assert schema.is_valid(text), text
