"""The domain events' catalogue, generated from the code rather than written by hand.

Every detail type of `events.models.CATALOGUE` gets a JSON Schema (draft 2020-12) of its
`detail`, from the pydantic model the publisher builds it with; `asyncapi.yaml` (AsyncAPI 3.0)
describes the bus, the sources (one channel each) and every message, with EventBridge's envelope
around the detail. Copies are committed under ``docs/events/`` so reviewers see contract changes:

    python -m localcloud.event_catalog            # list what would be written
    python -m localcloud.event_catalog --write    # regenerate docs/events/
    python -m localcloud.event_catalog --check    # exit 1 when docs/events/ differs from the code

The schemas are exact: every object lists all its properties as required (the publisher always
sends every field, `null` when empty) and allows no other (`additionalProperties: false`). A
consumer should still ignore fields it does not know: see docs/events.md, "Versioning".
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic.json_schema import GenerateJsonSchema

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
COMMITTED = ROOT / "docs" / "events"
ASYNCAPI = "asyncapi.yaml"
SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


class _Untitled(GenerateJsonSchema):
    """pydantic's schema without a generated title on every field (`"title": "Eventid"`)."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


def _models() -> tuple[Any, ...]:
    from localcloud.sam_template import SamTemplate

    for root in reversed(SamTemplate.load(TEMPLATE).code_roots()):
        if str(root) not in sys.path:
            sys.path.insert(0, str(root))
    from events.models import CATALOGUE

    return CATALOGUE


def _objects(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if node.get("type") == "object" or "properties" in node:
            yield node
        for value in node.values():
            yield from _objects(value)
    elif isinstance(node, list):
        for value in node:
            yield from _objects(value)


def _exact(schema: dict[str, Any]) -> dict[str, Any]:
    """Every property required, nothing else allowed, no defaults (the publisher sends every field)."""
    for obj in _objects(schema):
        properties = obj.get("properties") or {}
        obj["required"] = list(properties)
        obj["additionalProperties"] = False
        for prop in properties.values():
            prop.pop("default", None)
    return schema


def detail_schema(model: Any) -> dict[str, Any]:
    """The JSON Schema of one detail type's `detail`."""
    generated = model.model_json_schema(by_alias=True, mode="serialization", schema_generator=_Untitled)
    schema = {
        "$schema": SCHEMA_DIALECT,
        "title": model.detail_type(),
        "x-source": model.source,
        "x-detail-type": model.detail_type(),
        **{k: v for k, v in generated.items() if k != "title"},
    }
    return _exact(schema)


def _message(model: Any) -> dict[str, Any]:
    name = model.detail_type()
    return {
        "name": name,
        "title": name,
        "summary": " ".join((model.__doc__ or name).split()),
        "contentType": "application/json",
        "payload": {
            "type": "object",
            "description": "The event as a rule's target receives it: EventBridge's envelope around the detail.",
            "required": ["version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"],
            "properties": {
                "version": {"type": "string", "description": "EventBridge's envelope version (0)."},
                "id": {
                    "type": "string",
                    "description": "EventBridge's id of this publication; deduplicate on `detail.eventId` instead.",
                },
                "detail-type": {"type": "string", "const": name},
                "source": {"type": "string", "const": model.source},
                "account": {"type": "string"},
                "time": {"type": "string", "format": "date-time", "description": "`detail.occurredAt`, to the second."},
                "region": {"type": "string"},
                "resources": {"type": "array", "items": {"type": "string"}},
                "detail": {"$ref": f"./{name}.schema.json"},
            },
        },
    }


_CHANNELS = {
    "sales.products": ("products", "Product events"),
    "sales.customers": ("customers", "Customer events"),
    "sales.orders": ("orders", "Order events"),
}


def asyncapi(models: tuple[Any, ...], version: str) -> dict[str, Any]:
    """The AsyncAPI 3.0 document: the bus, a channel per source, an operation and messages."""
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for source, (key, title) in _CHANNELS.items():
        names = [m.detail_type() for m in models if m.source == source]
        channels[key] = {
            "address": source,
            "title": title,
            "description": f"Events whose `source` is `{source}` on the stack's bus (output `EventBusName`).",
            "servers": [{"$ref": "#/servers/salesEventBus"}],
            "messages": {name: {"$ref": f"#/components/messages/{name}"} for name in names},
        }
        operations[f"publish{title.split()[0]}Events"] = {
            "action": "send",
            "title": f"{title} are published",
            "summary": "PublishEventsFunction publishes them from the table's stream, in order, at least once.",
            "channel": {"$ref": f"#/channels/{key}"},
            "messages": [{"$ref": f"#/channels/{key}/messages/{name}"} for name in names],
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Sales management domain events",
            "version": version,
            "description": (
                "Every change of a product, customer or order, published once per change (at least once: "
                "deduplicate on `detail.eventId`), in version order per entity, on the stack's Amazon "
                "EventBridge bus `SalesEventBus`. Each `detail` carries eventId, occurredAt, actor, id, version "
                "and data (the entity as the API shows it). See docs/events.md."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "salesEventBus": {
                "host": "events.{region}.amazonaws.com",
                "protocol": "https",
                "title": "SalesEventBus",
                "description": (
                    "The stack's EventBridge bus (`sales-events-<Stage>`). Subscribe with a rule on it, e.g. to an "
                    "SQS queue; locally `make dev` runs the same bus in its emulator."
                ),
                "variables": {"region": {"default": "us-east-1"}},
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": {m.detail_type(): _message(m) for m in models}},
    }


def render_json(document: Any) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def render_yaml(document: Any) -> str:
    import yaml  # type: ignore[import-untyped]

    header = "# Generated by `make events-catalog` from functions/events/models.py: do not edit by hand.\n"
    return header + str(yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=110))


def catalogue_version() -> str:
    from events.models import CATALOGUE_VERSION

    return CATALOGUE_VERSION


def files() -> dict[str, str]:
    """{file name under docs/events/: content}."""
    models = _models()
    out = {f"{m.detail_type()}.schema.json": render_json(detail_schema(m)) for m in models}
    out[ASYNCAPI] = render_yaml(asyncapi(models, catalogue_version()))
    return out


def stale(directory: Path = COMMITTED) -> list[str]:
    """What differs between `directory` and the code: unified diffs, and files that should not be there."""
    expected = files()
    problems = []
    for name, text in expected.items():
        path = directory / name
        committed = path.read_text(encoding="utf-8") if path.exists() else ""
        if committed != text:
            diff = difflib.unified_diff(committed.splitlines(), text.splitlines(), f"committed {name}", "code", n=1)
            problems.append("\n".join(list(diff)[:40]))
    extra = sorted(p.name for p in directory.glob("*") if p.name not in expected) if directory.is_dir() else []
    problems += [f"{name}: in {directory} but not in the catalogue (remove it)" for name in extra]
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localcloud.event_catalog", description=__doc__.split("\n")[0])
    parser.add_argument("--output", default=str(COMMITTED), help="the committed catalogue (default: %(default)s)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="exit 1 if the committed catalogue differs from the code")
    mode.add_argument("--write", action="store_true", help="regenerate the committed catalogue")
    args = parser.parse_args(argv)
    directory = Path(args.output)
    if args.write:
        directory.mkdir(parents=True, exist_ok=True)
        for path in directory.glob("*"):
            path.unlink()
        for name, text in files().items():
            (directory / name).write_text(text, encoding="utf-8")
        print(f"wrote {len(files())} files to {directory}")
        return 0
    if args.check:
        problems = stale(directory)
        if not problems:
            print(f"{directory} is up to date")
            return 0
        print("\n".join(problems))
        print(f"\n{directory} is stale: run `make events-catalog` and commit it.", file=sys.stderr)
        return 1
    for name in files():
        print(directory / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
