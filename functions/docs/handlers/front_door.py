"""The API's front door, for people and generated clients finding their way:

* `GET /` redirects to the docs page;
* `GET /api/docs` is the docs page (Swagger UI, its assets inline: no CDN);
* `GET /api/openapi.json` is the API's OpenAPI document (docs/openapi.json, packaged beside this
  module by `make openapi`);
* any route the API does not have (`ANY /{proxy+}`, signed in like every API route) answers a
  problem that says where the docs are: 405 with `Allow` for a path the API has, else 404.

The first three are public: the contract is no secret, and a browser cannot send a token.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.logging import correlation_paths

from sales_common.api import PROBLEM_JSON, SECURITY_HEADERS, problem
from sales_common.auth import caller
from sales_common.errors import DomainError
from sales_common.observability import observability, publish

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

DOCS_PAGE = "/api/docs"
DOCUMENT = "/api/openapi.json"
WHERE = f"The API's routes are described at {DOCS_PAGE} (the OpenAPI document: {DOCUMENT})."
DOCUMENT_FILE = Path(__file__).resolve().parent.parent / "openapi.json"
TITLE = "Sales management API"

logger, metrics = observability("docs")


@cache
def document_text() -> str:
    return DOCUMENT_FILE.read_text(encoding="utf-8")


@cache
def _routes() -> list[tuple[re.Pattern[str], frozenset[str]]]:
    """(path pattern, methods) of every path of the document."""
    paths = json.loads(document_text())["paths"]
    return [
        (re.compile("^" + re.sub(r"\{\w+\}", "[^/]+", path) + "$"), frozenset(m.upper() for m in ops))
        for path, ops in paths.items()
    ]


@cache
def docs_page() -> str:
    """A self-contained Swagger UI page (powertools' bundled assets) for the document."""
    from aws_lambda_powertools.event_handler.openapi import swagger_ui
    from aws_lambda_powertools.event_handler.openapi.swagger_ui.html import generate_swagger_html

    assets = Path(swagger_ui.__file__).parent
    page = generate_swagger_html(
        spec=document_text(),
        swagger_js=(assets / "swagger-ui-bundle.min.js").read_text(encoding="utf-8"),
        swagger_css=(assets / "swagger-ui.min.css").read_text(encoding="utf-8"),
        swagger_base_url="",
        oauth2_config=None,
    )
    # powertools' page points its "download" link at `?format=json`; ours lives at DOCUMENT.
    return page.replace('currentUrl.pathname + "?format=json"', json.dumps(DOCUMENT)).replace(
        "<title>Swagger UI</title>", f"<title>{TITLE}</title>"
    )


def _answer(status: int, body: str, content_type: str, **headers: str) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": content_type, **SECURITY_HEADERS, **headers},
        "body": body,
        "isBase64Encoded": False,
    }


def _problem(status: int, title: str, detail: str, **headers: str) -> dict[str, Any]:
    return _answer(status, problem(status, title, detail).body or "", PROBLEM_JSON, **headers)


def unknown_route(event: dict[str, Any]) -> dict[str, Any]:
    """405 with Allow for a path the API has (another method), else 404; both say where the docs are."""
    try:
        caller(event)  # signed in, like every route of the API (the JWT authorizer ran before)
    except DomainError as exc:
        return _problem(exc.status, exc.title, exc.detail, **{"WWW-Authenticate": "Bearer"})
    http = (event.get("requestContext") or {}).get("http") or {}
    method, path = str(http.get("method", "")).upper(), str(http.get("path") or event.get("rawPath", ""))
    allowed = next((methods for pattern, methods in _routes() if pattern.match(path)), None)
    shown = path if len(path) <= 200 else path[:200] + "…"
    if allowed is not None:
        return _problem(
            405,
            "Method not allowed",
            f"{shown} does not take {method}; it takes {', '.join(sorted(allowed))}. {WHERE}",
            Allow=", ".join(sorted(allowed)),
        )
    return _problem(404, "Not found", f"The API has no route {method} {shown}. {WHERE}")


def _route(event: dict[str, Any]) -> dict[str, Any]:
    route = (event.get("requestContext") or {}).get("routeKey") or event.get("routeKey")
    if route == "GET /":
        return _answer(302, "", "text/plain", Location=DOCS_PAGE)
    if route == f"GET {DOCS_PAGE}":
        return _answer(200, docs_page(), "text/html; charset=utf-8")
    if route == f"GET {DOCUMENT}":
        return _answer(200, document_text(), "application/json")
    return unknown_route(event)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        response = _route(event)
        http = (event.get("requestContext") or {}).get("http") or {}
        logger.info(
            "request handled",
            extra={"method": http.get("method"), "path": http.get("path"), "status": response["statusCode"]},
        )
        return response
    finally:
        publish(metrics)
