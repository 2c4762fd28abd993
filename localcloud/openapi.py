"""The API's OpenAPI document, generated from the code rather than written by hand.

Every function template.yaml routes is imported; its powertools resolver (`app`) already knows
the route, the pydantic request/response models and the documented error responses (see
`sales_common.api.responses`). Their per-function documents are merged path by path into one.
A copy is committed as ``docs/openapi.json`` so reviewers see API changes in diffs:

    python -m localcloud.openapi            # print the document
    python -m localcloud.openapi --write    # regenerate the committed copy
    python -m localcloud.openapi --check    # exit 1 when the committed copy is stale

`make openapi` also writes the copy that `functions/docs` serves at `/api/openapi.json`, with its
docs page at `/api/docs` (locally and deployed); `--check` compares both.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import json
import sys
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
COMMITTED = Path(__file__).resolve().parents[1] / "docs" / "openapi.json"
# The copy the front door serves (functions/ is every function's CodeUri): the same text.
PACKAGED = Path(__file__).resolve().parents[1] / "functions" / "docs" / "openapi.json"

TITLE = "Sales management API"
DESCRIPTION = (
    "Products, Customers and Orders behind one HTTP API, and reports built from their domain events. "
    "Every error is an "
    "`application/problem+json` body (RFC 9457) with the `Problem` schema; every entity carries a "
    "`version`, sent as a strong `ETag` and honoured in `If-Match`."
)
TAGS = [
    {"name": "products", "description": "The catalog: name, exact price, stock, status (archive), stock history."},
    {
        "name": "customers",
        "description": "Customers; an email is unique by its ASCII letters lowercased; erasure keeps the orders.",
    },
    {"name": "orders", "description": "Orders: placement reserves stock; cancelling restocks."},
    {"name": "reports", "description": "Sales and low stock, from the domain events; JSON or CSV."},
]
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# template.yaml's HTTP API has a JWT authorizer (`CognitoJwt`, the Cognito user pool) as the
# default for every route: the document requires its bearer token everywhere.
SECURITY_SCHEME = "cognitoJwt"
SECURITY_SCHEMES = {
    SECURITY_SCHEME: {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": (
            "An access (or ID) token of the stack's Cognito user pool, for its app client, from "
            "`InitiateAuth`. Each route also needs a role: the token's `cognito:groups` must include "
            "one the route allows (`admin`, `sales`), else 403."
        ),
    }
}


class SpecError(RuntimeError):
    """The code and template.yaml disagree (a route is missing, or two define one schema apart)."""


def _api_version() -> str:
    with (ROOT / "pyproject.toml").open("rb") as f:
        return str(tomllib.load(f)["project"]["version"])


def _resolver_of(module: Any, handler: str) -> Any:
    from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver

    app = getattr(module, "app", None)
    if not isinstance(app, ApiGatewayResolver):
        raise SpecError(f"{handler}: the handler module has no powertools resolver named `app`")
    return app


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield ref.rsplit("/", 1)[-1]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _reachable(paths: Mapping[str, Any], schemas: Mapping[str, Any]) -> list[str]:
    """Component schemas that the operations reference, directly or through other schemas."""
    seen: set[str] = set()
    todo = list(_refs(paths))
    while todo:
        name = todo.pop()
        if name in seen or name not in schemas:
            continue
        seen.add(name)
        todo.extend(_refs(schemas[name]))
    return sorted(seen)


def operation_id(module_name: str) -> str:
    """A short camelCase operationId from the handler module's name (one module per route):
    `products.handlers.create_product` -> `createProduct`, which generated clients turn into
    `create_product` (powertools' own ids join the function, path and method:
    `create_product_api_products_post`)."""
    first, *rest = module_name.rsplit(".", 1)[-1].split("_")
    return first + "".join(word.capitalize() for word in rest)


def _unique(name: str, taken: set[str], handler: str) -> str:
    if name in taken:
        raise SpecError(f"{handler}: operationId {name} is taken by another route")
    taken.add(name)
    return name


def _tidy(operation: dict[str, Any]) -> None:
    """Responses in status order, without what powertools adds that this API never sends: its
    default 422 `HTTPValidationError` body (`sales_common.api` answers every validation error
    with a Problem, 400 or 422 as each route documents) and an empty 204 body."""
    responses = operation.get("responses", {})
    for status, response in list(responses.items()):
        if "HTTPValidationError" in set(_refs(response)):
            del responses[status]
        elif response.get("content") == {}:
            del response["content"]
    operation["responses"] = {status: responses[status] for status in sorted(responses)}


def _absent_not_null(operation: dict[str, Any]) -> None:
    """An optional parameter is either sent or absent; it is never null. powertools documents
    `str | None = None` as `anyOf: [{...}, {"type": "null"}]`, which tells a client (and
    schemathesis) that the text `null` is a valid header or query value: it is not."""
    for parameter in operation.get("parameters", []):
        schema = parameter.get("schema", {})
        options = [o for o in schema.get("anyOf", []) if o != {"type": "null"}]
        if "anyOf" in schema and len(options) == 1:
            del schema["anyOf"]
            schema.update(options[0])


def _add_links(paths: dict[str, dict[str, Any]]) -> None:
    """OpenAPI links from each create (201) to the operations on what it created: the new id, and
    its ETag as If-Match where the operation honours one. Clients and schemathesis' stateful
    phase follow them."""
    for path, operations in paths.items():
        created = operations.get("post", {}).get("responses", {}).get("201")
        if created is None:
            continue
        links: dict[str, Any] = {}
        for other_path, other_ops in paths.items():
            if not other_path.startswith(f"{path}/{{id}}"):
                continue
            for method, operation in other_ops.items():
                parameters: dict[str, str] = {"path.id": "$response.body#/id"}
                if any(p.get("name") == "if-match" for p in operation.get("parameters", [])):
                    parameters["header.if-match"] = "$response.header.ETag"
                links[operation["operationId"]] = {
                    "operationId": operation["operationId"],
                    "parameters": parameters,
                    "description": f"{method.upper()} {other_path} on the created entity.",
                }
        if links:
            created["links"] = links


def build_spec(template_path: str | Path = TEMPLATE) -> dict[str, Any]:
    """One OpenAPI 3.1 document for every route template.yaml declares, from the handlers' code."""
    from localcloud.sam_template import SamTemplate

    template = SamTemplate.load(template_path)
    for root in reversed(template.code_roots()):
        if str(root) not in sys.path:
            sys.path.insert(0, str(root))

    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {}
    owners: dict[str, str] = {}
    operation_ids: set[str] = set()
    version = _api_version()
    # Not powertools' `OpenAPIMerge` (event_handler/openapi/merge.py): it finds resolvers by
    # globbing files rather than from template.yaml, merges each module's whole document (so it
    # cannot check that a module registers the route the template gives it), and merges component
    # schemas with dict.update, so two services' differing models of one name would silently
    # become one. The template is the source of truth here, and a clash is an error.
    for route in template.routes():
        if not route.operation:  # the docs page and the unknown-route answer are not operations
            continue
        method = route.method.lower()
        module_name = route.handler.rpartition(".")[0]
        app = _resolver_of(importlib.import_module(module_name), route.handler)
        document = json.loads(app.get_openapi_json_schema(title=TITLE, version=version))
        operation = document.get("paths", {}).get(route.path, {}).get(method)
        if operation is None:
            raise SpecError(
                f"{route.function}: template.yaml routes {route.method} {route.path} to "
                f"{route.handler}, but that module's resolver does not register it"
            )
        if method in paths.get(route.path, {}):
            raise SpecError(f"{route.method} {route.path} is routed to two functions")
        _tidy(operation)
        _absent_not_null(operation)
        operation["operationId"] = _unique(operation_id(module_name), operation_ids, route.handler)
        paths.setdefault(route.path, {})[method] = operation
        for name, schema in document.get("components", {}).get("schemas", {}).items():
            if name in schemas and schemas[name] != schema:
                raise SpecError(
                    f"schema {name!r} differs between {owners[name]} and {route.function}; rename one model"
                )
            schemas.setdefault(name, schema)
            owners.setdefault(name, route.function)

    ordered_paths = {path: {m: paths[path][m] for m in HTTP_METHODS if m in paths[path]} for path in sorted(paths)}
    _add_links(ordered_paths)
    spec: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": TITLE, "version": version, "description": DESCRIPTION},
        "servers": [{"url": "/"}],
        "tags": TAGS,
        "paths": ordered_paths,
        "security": [{SECURITY_SCHEME: []}],
        "components": {
            "schemas": {name: schemas[name] for name in _reachable(ordered_paths, schemas)},
            "securitySchemes": SECURITY_SCHEMES,
        },
    }
    dangling = sorted(set(_refs(spec)) - set(spec["components"]["schemas"]))
    if dangling:
        raise SpecError(f"unresolved $ref(s): {', '.join(dangling)}")
    return spec


def render(spec: Mapping[str, Any]) -> str:
    """The committed text form: stable key order (as built), two-space indent, final newline."""
    return json.dumps(spec, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localcloud.openapi", description=__doc__.split("\n")[0])
    parser.add_argument("--template", default=str(TEMPLATE), help="SAM template (default: %(default)s)")
    parser.add_argument("--output", default=str(COMMITTED), help="committed copy (default: %(default)s)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="exit 1 if the committed copy is stale")
    mode.add_argument("--write", action="store_true", help="regenerate the committed copy")
    args = parser.parse_args(argv)

    text = render(build_spec(args.template))
    output = Path(args.output)
    copies = [output, PACKAGED] if output == COMMITTED else [output]
    if args.write:
        for copy in copies:
            copy.write_text(text, encoding="utf-8")
            print(f"wrote {copy} ({len(text)} bytes)")
        return 0
    if args.check:
        stale = [copy for copy in copies if (copy.read_text(encoding="utf-8") if copy.exists() else "") != text]
        if not stale:
            print(f"{', '.join(map(str, copies))}: up to date")
            return 0
        output = stale[0]
        committed = output.read_text(encoding="utf-8") if output.exists() else ""
        diff = difflib.unified_diff(
            committed.splitlines(), text.splitlines(), "committed", "generated", lineterm="", n=2
        )
        shown = list(diff)
        print("\n".join(shown[:60]) + ("\n..." if len(shown) > 60 else ""))
        print(f"\n{output} is stale: run `python -m localcloud.openapi --write` and commit it.", file=sys.stderr)
        return 1
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
