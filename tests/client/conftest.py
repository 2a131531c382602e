"""A Python client generated from the app's OpenAPI document, once per session.

openapi-python-client runs as a pinned tool in an environment of its own (``uv tool run``): as a
project dependency it would pin typer below what the CLI needs. Generation failing is a failure,
never a skip: a document the generator cannot read is the bug this guards against.
"""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from taskbridge.app import create_app
from taskbridge.config import Settings
from tests.conftest import TEST_SECRET_KEY

GENERATOR = "openapi-python-client==0.29.1"
PACKAGE = "taskbridge_client"
"""The generator's name for the package of a document titled ``taskbridge``."""
GENERATION_TIMEOUT_SECONDS = 300
"""A hang guard: the first run downloads the tool; later ones take a few seconds."""
ROOT = Path(__file__).resolve().parents[2]
# No ruff pass over the generated code (the generator's default post-hooks): nobody reads it.
GENERATOR_CONFIG = "post_hooks: []\n"


def _uv() -> str:
    found = shutil.which("uv") or str(ROOT / ".tools" / "bin" / "uv")
    assert Path(found).exists(), "uv is needed to run the client generator (make install)"
    return found


def document(folder: Path) -> dict[str, object]:
    """The app's OpenAPI document, as ``GET /openapi.json`` serves it."""
    app = create_app(Settings(data_dir=folder, secret_key=TEST_SECRET_KEY))
    schema: dict[str, object] = app.openapi()
    return schema


def generate(folder: Path) -> Path:
    """Generate the client into ``folder/client``; the package's parent folder."""
    source = folder / "openapi.json"
    source.write_text(json.dumps(document(folder)))
    config = folder / "generator.yml"
    config.write_text(GENERATOR_CONFIG)
    output = folder / "client"
    command = [
        _uv(),
        "tool",
        "run",
        "--from",
        GENERATOR,
        "openapi-python-client",
        "generate",
        "--path",
        str(source),
        "--output-path",
        str(output),
        "--overwrite",
        "--config",
        str(config),
    ]
    started = time.monotonic()
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=GENERATION_TIMEOUT_SECONDS, check=False
    )
    assert done.returncode == 0, f"client generation failed:\n{done.stdout}\n{done.stderr}"
    assert (output / PACKAGE).is_dir(), f"no {PACKAGE} package:\n{done.stdout}\n{done.stderr}"
    print(f"client generated in {time.monotonic() - started:.1f} s", file=sys.stderr)
    return output


@pytest.fixture(scope="session")
def generated_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The generated ``taskbridge_client`` package, importable for the session."""
    parent = str(generate(tmp_path_factory.mktemp("generated-client")))
    sys.path.insert(0, parent)
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(parent)
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]
