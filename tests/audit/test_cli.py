"""``taskbridge audit list``, and the command line named as the actor of what it changes."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

from tests.cli.conftest import Cli, write_csv

COMMERCES_CSV = "external_id,name,tax_id\nCOM-A,Almacén A,\nCOM-B,Almacén B,\n"


def _lines(stdout: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stdout.splitlines()]


async def test_audit_list_prints_one_json_line_per_entry_newest_first(
    cli: Cli, tmp_path: Path
) -> None:
    await cli.ok("tenant", "create", "--name", "Acme", "--slug", "acme")
    await cli.ok("tenant", "create", "--name", "Beta", "--slug", "beta")
    await cli.ok(
        "apikey", "create", "--tenant", "acme", "--name", "k", "--permission", "VIEW_ACTIVITIES"
    )
    await cli.ok(
        "import", "commerces", "--tenant", "acme", write_csv(tmp_path, "c.csv", COMMERCES_CSV)
    )
    await cli.ok(
        "apikey", "create", "--tenant", "beta", "--name", "b", "--permission", "VIEW_ACTIVITIES"
    )

    listed = _lines((await cli.ok("audit", "list", "--tenant", "acme")).stdout)
    assert [e["action"] for e in listed] == ["import.run", "api_key.created"]
    who = getpass.getuser()
    assert listed[0]["actor"] == {
        "type": "cli",
        "id": who,
        "label": f"command line ({who})",
        "address": None,
    }
    assert listed[0]["changes"]["after"]["created"] == 2  # type: ignore[index]

    only = await cli.ok("audit", "list", "--tenant", "acme", "--action", "api_key.created")
    assert [e["action"] for e in _lines(only.stdout)] == ["api_key.created"]
    one = await cli.ok("audit", "list", "--tenant", "acme", "--limit", "1")
    assert [e["action"] for e in _lines(one.stdout)] == ["import.run"]
    later = await cli.ok("audit", "list", "--tenant", "acme", "--since", "2999-01-01T00:00:00Z")
    assert later.stdout == ""

    bad = await cli.refused("audit", "list", "--tenant", "acme", "--since", "yesterday")
    assert "--since" in bad.stderr
    await cli.refused("audit", "list", "--tenant", "nowhere")
