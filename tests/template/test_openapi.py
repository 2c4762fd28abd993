"""The OpenAPI document is generated from the handlers; the committed copy must match the code."""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import pytest

from localcloud import openapi
from tests.support.apigw import TEMPLATE, functions


@cache
def spec() -> dict[str, Any]:
    return openapi.build_spec(TEMPLATE)


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, op) for path, ops in spec()["paths"].items() for method, op in ops.items()]


def test_committed_copy_matches_the_code() -> None:
    committed = openapi.COMMITTED.read_text(encoding="utf-8")
    assert committed == openapi.render(spec()), "stale: run `python -m localcloud.openapi --write`"


def test_check_mode_reports_a_stale_copy(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    stale = tmp_path / "openapi.json"
    stale.write_text(openapi.render({**spec(), "paths": {}}), encoding="utf-8")
    assert openapi.main(["--check", "--output", str(stale)]) == 1
    assert "is stale" in capsys.readouterr().err
    assert openapi.main(["--write", "--output", str(stale)]) == 0
    assert openapi.main(["--check", "--output", str(stale)]) == 0


def test_every_template_route_is_documented_and_nothing_else() -> None:
    routed = {(fn.method.lower(), fn.route) for fn in functions()}
    documented = {(method, path) for method, path, _ in operations()}
    assert routed == documented
    assert spec()["info"]["title"] == "Sales management API"
    assert spec()["servers"] == [{"url": "/"}]


def _check_successes(method: str, path: str, responses: dict) -> None:
    """One success; placing an order may also answer 202: its outcome is unknown (docs/placement.md)."""
    successes = [int(s) for s in responses if s.startswith("2")]
    if (method, path) == ("post", "/api/orders"):
        assert successes == [201, 202], successes
        assert responses["202"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/PlacementPending"
        }
    else:
        assert len(successes) == 1, f"{method.upper()} {path}"


def test_errors_are_problem_json_and_match_each_route_shape() -> None:
    for method, path, op in operations():
        responses = op["responses"]
        where = f"{method.upper()} {path}"
        _check_successes(method, path, responses)
        for status, response in responses.items():
            if status.startswith("2"):
                continue
            if status == "429":  # test_429_is_the_stage_throttle_everywhere_...
                continue
            problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
            if status == "401":  # the gateway's own {"message": ...} or a function's Problem
                assert response["content"]["application/json"]["schema"]["required"] == ["message"], where
                problem["application/json"] = response["content"]["application/json"]
            assert response["content"] == problem, f"{where} {status}"
        codes = {int(s) for s in responses}
        assert {400, 401, 403, 429, 500} <= codes, where
        if "requestBody" in op:
            assert {413, 415, 422} <= codes, where
        else:
            assert not codes & {413, 415, 422}, f"{where}: no body, so no body errors"
        if re.search(r"\{id\}", path):
            assert 404 in codes, where
        if method in {"put", "delete"}:
            assert 412 in codes, f"{where} honours If-Match"
        # a list (the report and who-am-I are one body)
        if method == "get" and "{id}" not in path and path not in ("/api/reports/sales", "/api/me"):
            assert "Link" in responses["200"]["headers"], where


def test_429_is_the_stage_throttle_everywhere_and_the_per_user_limit_on_placing_orders() -> None:
    for method, path, op in operations():
        throttled = op["responses"]["429"]
        assert throttled["content"]["application/json"]["schema"]["required"] == ["message"]
        own_limit = (method, path) == ("post", "/api/orders")
        assert ("headers" in throttled) == own_limit, f"{method} {path}"
        assert ("application/problem+json" in throttled["content"]) == own_limit, f"{method} {path}"
        if own_limit:
            assert set(throttled["headers"]) == {"Retry-After"}


def test_every_operation_needs_the_bearer_token() -> None:
    scheme = spec()["components"]["securitySchemes"][openapi.SECURITY_SCHEME]
    assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == ("http", "bearer", "JWT")
    assert spec()["security"] == [{openapi.SECURITY_SCHEME: []}]
    assert all("security" not in op for _, _, op in operations())  # nothing opts out


def test_schemas_come_from_the_pydantic_models() -> None:
    schemas = spec()["components"]["schemas"]
    from sales_common.models import Problem

    assert set(schemas["Problem"]["required"]) == {n for n, f in Problem.model_fields.items() if f.is_required()}
    product_create = schemas["ProductCreate"]
    assert product_create["additionalProperties"] is False
    assert product_create["properties"]["price"]["exclusiveMinimum"] == 0
    assert set(schemas["OrderStatus"]["enum"]) == {"CONFIRMED", "SHIPPED", "DELIVERED", "CANCELLED"}
    # every $ref resolves, and no schema is left unreferenced
    refs = set(re.findall(r'"#/components/schemas/(\w+)"', json.dumps(spec())))
    assert refs == set(schemas)


def test_document_is_valid_openapi() -> None:
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(spec())


def test_docs_page_embeds_the_document_offline() -> None:
    from docs.handlers import front_door

    page = front_door.docs_page()
    assert "<title>Sales management API</title>" in page
    assert "SwaggerUIBundle" in page and "https://" not in page.split("<script>", 1)[0]
    assert '"/api/openapi.json"' in page
    assert front_door.document_text() in page


def test_the_front_door_serves_the_committed_document() -> None:
    assert openapi.PACKAGED.read_text(encoding="utf-8") == openapi.COMMITTED.read_text(encoding="utf-8")
