"""The front door's function in-process (functions/docs): what each of its routes answers."""

from __future__ import annotations

import json

import pytest

from localcloud import openapi
from tests.support.apigw import LambdaContext, claims, front_door


@pytest.fixture(scope="module")
def handler():
    from docs.handlers import front_door as module

    return module.handler


def _event(route_key: str, path: str, method: str = "GET", role: str | None = "admin") -> dict:
    context = {"routeKey": route_key, "requestId": "req-1", "http": {"method": method, "path": path}}
    if role is not None:
        context["authorizer"] = {"jwt": {"claims": claims(role), "scopes": None}}
    return {"version": "2.0", "routeKey": route_key, "rawPath": path, "headers": {}, "requestContext": context}


def test_the_front_door_serves_four_routes():
    assert {(fn.method, fn.route) for fn in front_door()} == {
        ("GET", "/"), ("GET", "/api/docs"), ("GET", "/api/openapi.json"), ("ANY", "/{proxy+}"),
    }  # fmt: skip


def test_root_redirects(handler):
    r = handler(_event("GET /", "/", role=None), LambdaContext("ApiDocsFunction"))
    assert (r["statusCode"], r["headers"]["Location"], r["body"]) == (302, "/api/docs", "")


def test_page_and_document(handler):
    page = handler(_event("GET /api/docs", "/api/docs", role=None), LambdaContext("ApiDocsFunction"))
    assert page["statusCode"] == 200 and page["headers"]["Content-Type"].startswith("text/html")
    doc = handler(_event("GET /api/openapi.json", "/api/openapi.json", role=None), LambdaContext("ApiDocsFunction"))
    assert json.loads(doc["body"]) == json.loads(openapi.COMMITTED.read_text(encoding="utf-8"))
    assert doc["headers"]["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    ("method", "path", "status", "allow"),
    [
        ("GET", "/api/nothing", 404, None),
        ("DELETE", "/api/products", 405, "GET, POST"),
        ("PATCH", "/api/orders/7", 405, "DELETE, GET, PUT"),
        ("DELETE", "/api/products/7/stock-adjustments", 405, "GET, POST"),
        ("GET", "/" + "x" * 500, 404, None),
    ],
)
def test_a_route_the_api_does_not_have(handler, method, path, status, allow):
    r = handler(_event("ANY /{proxy+}", path, method), LambdaContext("ApiDocsFunction"))
    body = json.loads(r["body"])
    assert r["statusCode"] == status and body["status"] == status
    assert r["headers"]["Content-Type"] == "application/problem+json"
    assert r["headers"].get("Allow") == allow
    assert "/api/docs" in body["detail"] and len(body["detail"]) < 400


def test_a_route_the_api_does_not_have_still_needs_a_signed_in_caller(handler):
    r = handler(_event("ANY /{proxy+}", "/api/nothing", role=None), LambdaContext("ApiDocsFunction"))
    assert r["statusCode"] == 401 and r["headers"]["WWW-Authenticate"] == "Bearer"
