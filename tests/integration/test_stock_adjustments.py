"""Stock never silently erases held units: an absolute stock needs If-Match (428 without), and
relative adjustments are atomic, never go below 0, and leave an audit record each."""

from __future__ import annotations

import pytest


@pytest.fixture
def product(api):
    assert api.post("/api/products", {"name": "Laptop", "price": 10, "stock": 50}).status == 201
    assert api.post("/api/customers", {"name": "J", "email": "j@example.com"}).status == 201
    return api


def audit(cloud):
    return sorted(
        (i for i in cloud.scan("ProductsTable") if i["pk"].startswith("STOCKADJ#")), key=lambda i: i["createdAt"]
    )


def test_blind_stock_write_is_428_and_keeps_the_units_orders_took(product, cloud):
    """The issue's scenario: read 50, orders take 10, a blind PUT 55 would create 65 units."""
    etag = product.get("/api/products/1").header("ETag")
    for _ in range(5):
        assert product.post("/api/orders", {"customerId": 1, "items": [{"productId": 1, "quantity": 2}]}).status == 201

    for headers in ({}, {"If-Match": "*"}):
        r = product.put("/api/products/1", {"stock": 55}, headers=headers)
        assert r.status == 428, r.raw
        assert r.header("Content-Type") == "application/problem+json"
        assert "stock-adjustments" in r.json["detail"]
    assert product.put("/api/products/1", {"stock": 55}, headers={"If-Match": etag}).status == 412
    assert cloud.item("ProductsTable", "PRODUCT#1")["stock"] == 40


def test_stock_write_with_the_current_version_applies(product):
    etag = product.get("/api/products/1").header("ETag")
    r = product.put("/api/products/1", {"stock": 7}, headers={"If-Match": etag})
    assert r.status == 200
    assert r.json["stock"] == 7


def test_other_fields_still_change_without_if_match(product):
    assert product.put("/api/products/1", {"name": "Laptop 2"}).status == 200


def test_adjustment_adds_atomically_and_is_audited(product, cloud):
    r = product.post("/api/products/1/stock-adjustments", {"delta": 20, "reason": "received"})
    assert r.status == 200, r.raw
    assert r.json["stock"] == 70
    assert r.json["version"] == 2
    assert r.header("ETag") == '"2"'
    r = product.post("/api/products/1/stock-adjustments", {"delta": -5, "reason": "damaged"})
    assert r.json["stock"] == 65
    records = audit(cloud)
    assert [(a["productId"], a["delta"], a["reason"]) for a in records] == [(1, 20, "received"), (1, -5, "damaged")]
    assert all("entity" not in a for a in records)  # audit records never show up in the product list
    assert [p["id"] for p in product.get("/api/products").json] == [1]


def test_adjustment_below_zero_is_409_and_changes_nothing(product, cloud):
    r = product.post("/api/products/1/stock-adjustments", {"delta": -51, "reason": "written off"})
    assert r.status == 409
    assert "50 in stock" in r.json["detail"]
    assert cloud.item("ProductsTable", "PRODUCT#1")["stock"] == 50
    assert cloud.item("ProductsTable", "PRODUCT#1")["version"] == 1
    assert audit(cloud) == []
    assert product.post("/api/products/1/stock-adjustments", {"delta": -50, "reason": "sold out"}).json["stock"] == 0


def test_adjustment_beyond_the_stock_cap_is_409(product, cloud):
    r = product.post("/api/products/1/stock-adjustments", {"delta": 1_000_000_000, "reason": "typo"})
    assert r.status == 409
    assert audit(cloud) == []


def test_adjustment_of_unknown_product_is_404_and_records_nothing(api, cloud):
    r = api.post("/api/products/9/stock-adjustments", {"delta": 1, "reason": "received"})
    assert r.status == 404
    assert cloud.scan("ProductsTable") == []


@pytest.mark.parametrize(
    "body",
    [
        {"delta": 0, "reason": "nothing"},
        {"delta": 1},
        {"delta": 1, "reason": ""},
        {"delta": 1.5, "reason": "x"},
        {"delta": "1", "reason": "x"},
        {"delta": 1, "reason": "x", "by": "me"},
        {"delta": 10**10, "reason": "x"},
    ],
)
def test_invalid_adjustments_are_422(product, cloud, body):
    assert product.post("/api/products/1/stock-adjustments", body).status == 422
    assert audit(cloud) == []
