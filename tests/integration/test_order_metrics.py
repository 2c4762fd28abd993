"""The Orders metrics as CloudWatch receives them (EMF lines on stdout): OrdersPlaced, and
OrdersRejected with the rejection's typed reason as its `reason` dimension."""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def shop(api):
    assert api.post("/api/products", {"name": "Desk", "price": 250, "stock": 2}).status == 201
    assert api.post("/api/customers", {"name": "John Doe", "email": "john@example.com"}).status == 201
    return api


def emitted(capsys) -> list[dict]:
    """The EMF documents printed since the last call."""
    lines = capsys.readouterr().out.splitlines()
    return [doc for doc in map(_json, lines) if isinstance(doc, dict) and "_aws" in doc]


def _json(line: str):
    try:
        return json.loads(line)
    except ValueError:
        return None


def metric_names(doc: dict) -> set[str]:
    return {m["Name"] for d in doc["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        ({"customerId": 9, "items": [{"productId": 1, "quantity": 1}]}, 422, "CustomerNotFound"),
        ({"customerId": 1, "items": [{"productId": 7, "quantity": 1}]}, 422, "UnknownProduct"),
        ({"customerId": 1, "items": [{"productId": 1, "quantity": 3}]}, 409, "OutOfStock"),
        ({"customerId": 1, "items": [{"productId": 1, "quantity": 1, "price": 9}]}, 409, "PriceMismatch"),
    ],
)
def test_a_rejected_order_is_counted_under_its_reason(shop, capsys, body, status, reason):
    emitted(capsys)
    assert shop.post("/api/orders", body).status == status

    (doc,) = [d for d in emitted(capsys) if "OrdersRejected" in metric_names(d)]
    assert doc["reason"] == reason
    assert {"service", "reason"} in [set(d) for d in doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"]]
    assert doc["OrdersRejected"] == [1.0]
    assert "OrdersPlaced" not in doc


def test_a_placed_order_is_counted_and_an_invalid_one_is_not_a_rejection(shop, capsys):
    emitted(capsys)
    assert shop.post("/api/orders", {"customerId": 1, "items": [{"productId": 1, "quantity": 1}]}).status == 201
    placed = emitted(capsys)
    assert [metric_names(d) for d in placed] == [{"OrdersPlaced"}]

    body = {
        "customerId": 1,
        "items": [{"productId": 1, "quantity": 1, "price": 1}, {"productId": 1, "quantity": 1, "price": 2}],
    }
    assert shop.post("/api/orders", body).status == 422
    assert not [d for d in emitted(capsys) if "OrdersRejected" in metric_names(d)]
