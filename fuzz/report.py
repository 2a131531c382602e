"""What a schemathesis run found, read from its ndjson events: operations, cases, and each
distinct failure with how many cases hit it and one example (status and the server's message)."""

from __future__ import annotations

import base64
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STATEFUL_LABEL = "Stateful tests"
"""The stateful phase's scenarios carry this label; their steps carry the operations."""


@dataclass(frozen=True, order=True)
class Failure:
    """One kind of failure: a check, an operation, and what went wrong."""

    check: str
    operation: str
    title: str
    status: int | None
    detail: str


@dataclass
class Outcome:
    seconds: float
    operations: set[str] = field(default_factory=set)
    cases: int = 0
    failures: Counter[Failure] = field(default_factory=Counter)
    """Each kind of failure → how many cases hit it."""
    examples: dict[Failure, str] = field(default_factory=dict)
    """Each kind of failure → the server's message in one case that hit it."""
    errors: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures and not self.errors

    def by_check(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        for failure, n in self.failures.items():
            counts[failure.check] += n
        return counts

    def summary(self, label: str) -> str:
        classes = ", ".join(f"{check} {n}" for check, n in sorted(self.by_check().items()))
        return (
            f"{label} {len(self.operations)} operations, {self.cases} cases, "
            f"{sum(self.failures.values())} failures"
            + (f" ({classes})" if classes else "")
            + (f", {len(self.errors)} errors" if self.errors else "")
            + f", {self.seconds:.0f} s"
        )


def _server_message(interaction: dict[str, Any] | None) -> str:
    response = (interaction or {}).get("response") or {}
    content = response.get("content")
    if not isinstance(content, dict) or "$base64" not in content:
        return ""
    raw = base64.b64decode(content["$base64"]).decode(errors="replace")
    try:
        body = json.loads(raw)
    except ValueError:
        return raw[:120]
    if isinstance(body, dict) and "message" in body:
        return str(body["message"])[:160]
    return raw[:120]


def _record(outcome: Outcome, recorder: dict[str, Any]) -> None:
    cases = recorder.get("cases", {})
    if cases and recorder["label"] != STATEFUL_LABEL:
        outcome.operations.add(recorder["label"])
    outcome.cases += len(cases)
    interactions = recorder.get("interactions", {})
    for case_id, checks in recorder.get("checks", {}).items():
        for check in checks:
            info = check.get("failure_info")
            if check.get("status") != "failure" or not info:
                continue
            interaction = interactions.get(case_id) or {}
            response = interaction.get("response") or {}
            message = (info["failure"].get("message") or "").strip().splitlines()
            failure = Failure(
                check=check["name"],
                operation=info["failure"].get("operation") or recorder["label"],
                title=info["failure"].get("title") or "",
                status=response.get("status_code"),
                detail=(message[0] if message else "")[:120],
            )
            outcome.failures[failure] += 1
            outcome.examples.setdefault(failure, _server_message(interaction))


def read(events: Path, seconds: float) -> Outcome:
    outcome = Outcome(seconds)
    if not events.exists():
        outcome.errors.append("schemathesis wrote no report")
        return outcome
    finished = False
    for line in events.read_text().splitlines():
        try:
            event = json.loads(line)
        except ValueError:  # the last line of a run stopped by the hang guard
            continue
        (kind, payload), *_ = event.items()
        if kind == "ScenarioFinished":
            _record(outcome, payload["recorder"])
        elif kind in ("NonFatalError", "FatalError"):
            outcome.errors.append(str(payload.get("value", payload))[:300])
        elif kind == "EngineFinished":
            finished = True
    if not finished:
        outcome.errors.append("schemathesis did not finish")
    return outcome


def _general(detail: str) -> str:
    """The failure's wording without what varies between its cases (the undeclared method)."""
    return re.sub(r"^[A-Z]+ returned ", "returned ", detail)


def print_grouped(outcomes: list[tuple[str, Outcome]]) -> None:
    """Every kind of failure once, by check and operation: how many cases, in which runs, and
    what the server said in one of them."""
    cases: Counter[tuple[str, str, int | None, str]] = Counter()
    runs: dict[tuple[str, str, int | None, str], list[str]] = {}
    said: dict[tuple[str, str, int | None, str], str] = {}
    for label, outcome in outcomes:
        for failure, n in outcome.failures.items():
            key = (failure.check, failure.operation, failure.status, _general(failure.detail))
            cases[key] += n
            found_in = runs.setdefault(key, [])
            if " ".join(label.split()) not in found_in:
                found_in.append(" ".join(label.split()))
            said.setdefault(key, outcome.examples.get(failure, ""))
        for error in outcome.errors:
            print(f"  {' '.join(label.split())}: error: {error}")
    check = None
    for key in sorted(cases, key=lambda k: (k[0], k[1], k[2] or 0, k[3])):
        if key[0] != check:
            check = key[0]
            print(check)
        where = "all runs" if len(runs[key]) == len(outcomes) else ", ".join(runs[key])
        server = f" | server: {said[key]}" if said[key] else ""
        print(f"  {key[1]} -> {key[2]}: {key[3]} (x{cases[key]}; {where}){server}")
