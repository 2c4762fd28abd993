"""The OpenAPI document says exactly what the API does (schemathesis checks it against the running
API in tests/contract; these pin the rules a generated client relies on)."""

from __future__ import annotations

import json
import re

import pytest

from localcloud import openapi

DOC = json.loads(openapi.COMMITTED.read_text(encoding="utf-8"))
SCHEMAS = DOC["components"]["schemas"]
OPERATIONS = [(m, p, op) for p, ops in DOC["paths"].items() for m, op in ops.items()]


def body_schema(op):
    ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    return SCHEMAS[ref.rsplit("/", 1)[-1]]


@pytest.mark.parametrize(("method", "path", "op"), [o for o in OPERATIONS if "requestBody" in o[2]], ids=str)
def test_request_bodies_forbid_unknown_fields(method, path, op):
    assert body_schema(op)["additionalProperties"] is False


@pytest.mark.parametrize("name", ["ProductUpdate", "CustomerUpdate"])
def test_partial_updates_need_a_field_and_refuse_null_where_the_api_does(name):
    schema = SCHEMAS[name]
    assert schema["minProperties"] == 1
    not_null = {"ProductUpdate": ["name", "price", "stock"], "CustomerUpdate": ["name", "email"]}[name]
    for field in not_null:
        assert "null" not in json.dumps(schema["properties"][field]), field


def test_no_parameter_offers_null():
    for method, path, op in OPERATIONS:
        for parameter in op.get("parameters", []):
            assert '"null"' not in json.dumps(parameter["schema"]), (method, path, parameter["name"])


def test_if_match_is_documented_with_the_pattern_the_api_enforces():
    from sales_common.api import IF_MATCH_PATTERN

    seen = 0
    for _, _, op in OPERATIONS:
        for parameter in op.get("parameters", []):
            if parameter["name"] == "if-match":
                assert parameter["schema"]["pattern"] == IF_MATCH_PATTERN
                seen += 1
    assert seen == 6  # PUT and DELETE of each service
    assert re.fullmatch(IF_MATCH_PATTERN[1:-1], '"3"') and not re.fullmatch(IF_MATCH_PATTERN[1:-1], "null")


def test_ids_and_integers_are_bounded_json_schema_integers():
    for _, _, op in OPERATIONS:
        for parameter in op.get("parameters", []):
            if parameter["name"] in ("id", "customerId", "limit"):
                schema = parameter["schema"]
                assert schema["type"] == "integer" and "minimum" in schema and "maximum" in schema
                assert "ge" not in schema and "le" not in schema
    for name in ("ProductCreate", "ProductUpdate"):
        assert SCHEMAS[name]["properties"]["stock"]["maximum"] == 1_000_000_000


def test_every_create_links_to_the_operations_on_what_it_created():
    for path in ("/api/products", "/api/customers", "/api/orders"):
        links = DOC["paths"][path]["post"]["responses"]["201"]["links"]
        targets = {(m, p) for m, p, op in OPERATIONS if op["operationId"] in links}
        assert targets == {(m, p) for m, p, _ in OPERATIONS if p.startswith(path + "/{id}")}


def test_documented_statuses_include_the_new_ones():
    put_product = DOC["paths"]["/api/products/{id}"]["put"]["responses"]
    assert "428" in put_product
    adjust = DOC["paths"]["/api/products/{id}/stock-adjustments"]["post"]["responses"]
    assert {"200", "404", "409", "422"} <= set(adjust)


def test_operation_ids_are_short_camel_case_and_unique():
    """Generated clients name their methods after these: `createOrder` -> `create_order`."""
    ids = [op["operationId"] for _, _, op in OPERATIONS]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[a-z]+(?:[A-Z][a-z]+)*", i) for i in ids), ids
    expected = {"listProducts", "getProduct", "createProduct", "updateProduct", "deleteProduct", "adjustStock",
                "listCustomers", "getCustomer", "createCustomer", "updateCustomer", "deleteCustomer",
                "listOrders", "getOrder", "createOrder", "updateOrder", "deleteOrder"}  # fmt: skip
    assert expected <= set(ids)
    for _, _, op in OPERATIONS:  # links name operations by the same ids
        for link in op.get("responses", {}).get("201", {}).get("links", {}).values():
            assert link["operationId"] in ids


def test_an_operation_id_comes_from_the_handler_module():
    assert openapi.operation_id("orders.handlers.create_order") == "createOrder"
    assert openapi.operation_id("products.handlers.adjust_stock") == "adjustStock"
    assert openapi.operation_id("x.handlers.list") == "list"
