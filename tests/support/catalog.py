"""Every domain event the test suite publishes is checked against the committed catalogue
(docs/events/<DetailType>.schema.json), in both directions: a field or type the catalogue does not
list fails (`additionalProperties: false`, exact types), and so does a field it lists that the
event lacks (every property is required).

A botocore ``before-parameter-build`` hook (like the IAM recorder's) keeps every ``PutEvents``
entry a function of the template sends in this process (not a test's own); tests/conftest.py
checks those of each test after it.
Events received by a subscriber (e2e, over the local cloud) are checked with :func:`problems`."""

from __future__ import annotations

import json
import threading
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "docs" / "events"
_published: list[dict[str, Any]] = []
_lock = threading.Lock()


@cache
def validator(detail_type: str) -> Any:
    from jsonschema import Draft202012Validator, FormatChecker

    path = CATALOGUE / f"{detail_type}.schema.json"
    if not path.is_file():
        return None
    schema = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


def problems(source: str, detail_type: str, detail: Any) -> list[str]:
    """Why an event (its source, detail type and detail) is not what the catalogue describes."""
    checker = validator(detail_type)
    if checker is None:
        return [f"{detail_type}: no such detail type in {CATALOGUE}"]
    schema = checker.schema
    out = [] if schema.get("x-source") == source else [f"{detail_type}: source {source}, not {schema.get('x-source')}"]
    for error in sorted(checker.iter_errors(detail), key=lambda e: list(e.absolute_path)):
        where = "/".join(map(str, error.absolute_path)) or "(detail)"
        out.append(f"{detail_type} {where}: {error.message}")
    return out


def entry_problems(entry: dict[str, Any]) -> list[str]:
    """`problems` of one PutEvents entry."""
    try:
        detail = json.loads(entry.get("Detail") or "null")
    except ValueError:
        return [f"{entry.get('DetailType')}: Detail is not JSON"]
    return problems(str(entry.get("Source")), str(entry.get("DetailType")), detail)


def _hook(params: dict[str, Any], model: Any, **_: Any) -> None:
    from tests.support import iam

    if iam.current_principal() is None:
        return  # a test's own PutEvents (a fake event for a consumer), not the system's
    if model.service_model.service_name == "events" and model.name == "PutEvents":
        with _lock:
            _published.extend(dict(entry) for entry in params.get("Entries", []))


def install() -> None:
    """Before any boto3 session exists (every session registers botocore's BUILTIN_HANDLERS)."""
    from botocore import handlers

    entry = ("before-parameter-build", _hook)
    if entry not in handlers.BUILTIN_HANDLERS:
        handlers.BUILTIN_HANDLERS.append(entry)


def published_since(mark: int) -> list[dict[str, Any]]:
    with _lock:
        return list(_published[mark:])


def mark() -> int:
    with _lock:
        return len(_published)
