"""Orders: placement through the real PlaceOrder state machine executed by moto, the status
lifecycle, deletion rules, and idempotent creation."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.support import iam


@pytest.fixture
def shop(api):
    """Three products and one customer."""
    for name, price, stock in [("Laptop", 999.99, 10), ("Mouse", Decimal("19.90"), 5), ("Desk", 250, 2)]:
        assert api.post("/api/products", {"name": name, "price": price, "stock": stock}).status == 201
    assert api.post("/api/customers", {"name": "John Doe", "email": "john@example.com"}).status == 201
    return api


def stock(api, pid):
    return api.get(f"/api/products/{pid}").json["stock"]


def stocks(api):
    return [stock(api, pid) for pid in (1, 2, 3)]


def order(api, *items, customer=1, **kwargs):
    body = {"customerId": customer, "items": [{"productId": p, "quantity": q} for p, q in items]}
    return api.post("/api/orders", body, **kwargs)


def test_seed_order_places_through_the_workflow(shop, cloud):
    r = shop.post("/api/orders", {"customerId": 1, "items": [{"productId": 1, "quantity": 2, "price": 999.99}]})

    assert r.status == 201, r.raw
    assert r.json["id"] == 1
    assert r.json["status"] == "CONFIRMED"
    assert r.json["items"] == [
        {"productId": 1, "name": "Laptop", "unitPrice": 999.99, "quantity": 2, "lineTotal": 1999.98}
    ]
    assert r.json["total"] == 1999.98
    assert r.header("Location") == "/api/orders/1"
    assert stock(shop, 1) == 8
    assert shop.get("/api/orders/1").json == r.json
    stored = cloud.item("OrdersTable", "ORDER#1")
    assert stored["total"] == Decimal("1999.98")
    assert stored["items"][0]["unitPrice"] == Decimal("999.99")


def test_total_is_exact_over_several_lines(shop):
    r = order(shop, (1, 1), (2, 3), (3, 1))
    assert r.status == 201
    assert r.json["total"] == 1309.69  # 999.99 + 3 * 19.90 + 250
    assert [line["lineTotal"] for line in r.json["items"]] == [999.99, 59.7, 250]
    assert stocks(shop) == [9, 2, 1]


def test_price_is_optional_and_taken_from_the_catalog(shop):
    shop.put("/api/products/2", {"price": 21.5})
    r = order(shop, (2, 2))
    assert r.status == 201
    assert r.json["items"][0]["unitPrice"] == 21.5
    assert r.json["total"] == 43


def test_repeated_products_are_merged(shop):
    r = order(shop, (2, 1), (2, 2))
    assert r.status == 201
    assert r.json["items"] == [{"productId": 2, "name": "Mouse", "unitPrice": 19.9, "quantity": 3, "lineTotal": 59.7}]
    assert stock(shop, 2) == 2


@pytest.mark.parametrize(
    ("body", "expected_status", "reason"),
    [
        ({"customerId": 9, "items": [{"productId": 1, "quantity": 1}]}, 422, "Customer 9 does not exist"),
        ({"customerId": 1, "items": [{"productId": 1, "quantity": 1}, {"productId": 99, "quantity": 1}]}, 422, "99"),
        (
            {"customerId": 1, "items": [{"productId": 1, "quantity": 1}, {"productId": 3, "quantity": 3}]},
            409,
            "product 3: 3 requested, 2 in stock",
        ),
        ({"customerId": 1, "items": [{"productId": 1, "quantity": 1, "price": 899.99}]}, 409, "costs 999.99"),
    ],
    ids=["unknown-customer", "unknown-product", "short-on-last-item", "stale-price"],
)
def test_rejections_change_nothing(shop, cloud, body, expected_status, reason):
    before = stocks(shop)
    r = shop.post("/api/orders", body)
    assert r.status == expected_status, r.raw
    assert reason in r.json["detail"]
    assert stocks(shop) == before
    assert shop.get("/api/orders").json == []
    assert [i for i in cloud.scan("OrdersTable") if i["pk"].startswith("ORDER#")] == []


def test_an_order_the_quote_shows_short_spends_no_order_id(shop):
    assert order(shop, (3, 3)).status == 409
    assert order(shop, (3, 2)).json["id"] == 1
    assert stocks(shop) == [10, 5, 0]


def test_shortage_the_quote_missed_is_caught_and_released_by_the_workflow(shop, cloud, monkeypatch):
    """The quote is a snapshot. Stock sold between it and the reservation (simulated: right after
    the quote, product 3 drops to 1) must still be refused by the workflow's conditional write,
    and the units it had already reserved for product 1 given back."""
    from orders.catalog import Catalog

    quote = Catalog.quote

    def quote_then_sell(self, product_ids):
        quotes = quote(self, product_ids)
        monkeypatch.setattr(Catalog, "quote", quote)
        with iam.acting_as(None):  # the test's write, not the function's
            cloud.dynamodb.update_item(
                TableName="ProductsTable",
                Key={"pk": {"S": "PRODUCT#3"}},
                UpdateExpression="SET stock = :one",
                ExpressionAttributeValues={":one": {"N": "1"}},
            )
        return quotes

    monkeypatch.setattr(Catalog, "quote", quote_then_sell)
    r = order(shop, (1, 1), (3, 2))

    assert r.status == 409, r.raw
    assert "product 3: 2 requested, 1 in stock" in r.json["detail"]
    assert stocks(shop) == [10, 5, 1]
    assert [i for i in cloud.scan("OrdersTable") if i["pk"].startswith("ORDER#")] == []


def test_failed_order_write_is_compensated(shop, cloud):
    # Fault injection: occupy the key the next order will be written under.
    cloud.dynamodb.put_item(TableName="OrdersTable", Item={"pk": {"S": "ORDER#1"}, "marker": {"S": "x"}})
    before = stocks(shop)

    r = order(shop, (1, 2), (2, 1))

    assert r.status == 503
    assert "no stock is kept" in r.json["detail"] and "retry" in r.json["detail"]
    assert stocks(shop) == before
    assert cloud.item("OrdersTable", "ORDER#1") == {"pk": "ORDER#1", "marker": "x"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"customerId": 1, "items": []}, "items"),
        ({"customerId": 1, "items": [{"productId": 1, "quantity": 0}]}, "items.0.quantity"),
        ({"customerId": 1, "items": [{"productId": 1, "quantity": 1.5}]}, "items.0.quantity"),
        ({"customerId": 1, "items": [{"productId": 1, "quantity": 1001}]}, "items.0.quantity"),
        ({"customerId": "1", "items": [{"productId": 1, "quantity": 1}]}, "customerId"),
        ({"items": [{"productId": 1, "quantity": 1}]}, "customerId"),
        ({"customerId": 1, "items": [{"productId": 1, "quantity": 1, "price": -1}]}, "items.0.price"),
        ({"customerId": 1, "items": [{"productId": p, "quantity": 1} for p in range(1, 27)]}, "items"),
        ({"customerId": 1, "items": [{"productId": 1, "quantity": 1}], "total": 5}, "total"),
    ],
)
def test_invalid_order_bodies_are_422(shop, body, field):
    r = shop.post("/api/orders", body)
    assert r.status == 422, r.raw
    assert field in [e["field"] for e in r.json["errors"]]
    assert stocks(shop) == [10, 5, 2]


def test_conflicting_prices_for_a_repeated_product_are_422(shop):
    body = {
        "customerId": 1,
        "items": [{"productId": 1, "quantity": 1, "price": 999.99}, {"productId": 1, "quantity": 1, "price": 1}],
    }
    assert shop.post("/api/orders", body).status == 422


# ---------------------------------------------------------------- lifecycle
def test_ship_then_deliver(shop):
    order(shop, (1, 1))
    r = shop.put("/api/orders/1", {"status": "SHIPPED"})
    assert r.status == 200 and r.json["status"] == "SHIPPED" and r.json["version"] == 2
    assert shop.put("/api/orders/1", {"status": "DELIVERED"}).json["status"] == "DELIVERED"
    assert stock(shop, 1) == 9


@pytest.mark.parametrize(
    ("path", "target"),
    [
        ([], "DELIVERED"),
        ([], "CONFIRMED"),
        (["SHIPPED"], "CANCELLED"),
        (["SHIPPED"], "CONFIRMED"),
        (["SHIPPED", "DELIVERED"], "CANCELLED"),
        (["CANCELLED"], "SHIPPED"),
        (["CANCELLED"], "CANCELLED"),
    ],
)
def test_illegal_transitions_are_409(shop, path, target):
    order(shop, (1, 1))
    for status in path:
        assert shop.put("/api/orders/1", {"status": status}).status == 200
    held = stock(shop, 1)
    r = shop.put("/api/orders/1", {"status": target})
    assert r.status == 409
    assert stock(shop, 1) == held


def test_unknown_status_is_422(shop):
    order(shop, (1, 1))
    assert shop.put("/api/orders/1", {"status": "LOST"}).status == 422


def test_cancel_restocks_exactly_once(shop):
    order(shop, (1, 2), (2, 1))
    assert stocks(shop) == [8, 4, 2]
    assert shop.put("/api/orders/1", {"status": "CANCELLED"}).status == 200
    assert stocks(shop) == [10, 5, 2]
    assert shop.put("/api/orders/1", {"status": "CANCELLED"}).status == 409
    assert stocks(shop) == [10, 5, 2]


def test_a_sales_user_changes_its_own_orders_and_not_anothers(shop):
    """`sales` may act only on orders its user placed: another user's order is 403 and keeps its
    status and stock; its own is cancelled (and restocked) as any order is."""
    assert order(shop, (1, 2), role="sales", user="sam").status == 201
    assert order(shop, (2, 1), role="sales", user="sue").status == 201

    refused = shop.put("/api/orders/2", {"status": "CANCELLED"}, role="sales", user="sam")
    assert refused.status == 403 and "order 2 was created by someone else" in refused.json["detail"]
    assert (shop.get("/api/orders/2").json["status"], stock(shop, 2)) == ("CONFIRMED", 4)

    assert shop.put("/api/orders/1", {"status": "CANCELLED"}, role="sales", user="sam").status == 200
    assert stock(shop, 1) == 10


def test_cancel_with_stale_if_match_is_412(shop):
    order(shop, (1, 1))
    assert shop.put("/api/orders/1", {"status": "CANCELLED"}, headers={"If-Match": '"7"'}).status == 412
    assert stock(shop, 1) == 9


def test_cancel_after_a_legacy_product_deletion_restocks_the_rest(shop, cloud):
    """A product deleted before deletes were refused (records from before reference marks): its
    line has nothing to restock; the other lines are restocked."""
    order(shop, (1, 1), (2, 1))
    cloud.dynamodb.delete_item(TableName=cloud.tables["ProductsTable"], Key={"pk": {"S": "PRODUCT#2"}})
    assert shop.put("/api/orders/1", {"status": "CANCELLED"}).status == 200
    assert stock(shop, 1) == 10
    assert shop.get("/api/products/2").status == 404


def test_delete_confirmed_order_restocks(shop, cloud):
    order(shop, (1, 4))
    assert shop.delete("/api/orders/1").status == 204
    assert stock(shop, 1) == 10
    assert shop.get("/api/orders/1").status == 404
    assert shop.delete("/api/orders/1").status == 404


@pytest.mark.parametrize("path", [["SHIPPED"], ["SHIPPED", "DELIVERED"]])
def test_delete_fulfilled_order_is_409(shop, path):
    order(shop, (1, 1))
    for status in path:
        shop.put("/api/orders/1", {"status": status})
    assert shop.delete("/api/orders/1").status == 409
    assert shop.get("/api/orders/1").json["status"] == path[-1]
    assert stock(shop, 1) == 9


def test_delete_cancelled_order_does_not_touch_stock(shop):
    order(shop, (1, 2))
    shop.put("/api/orders/1", {"status": "CANCELLED"})
    assert stock(shop, 1) == 10
    assert shop.delete("/api/orders/1").status == 204
    assert stock(shop, 1) == 10
    assert shop.get("/api/orders/1").status == 404


def test_list_filters_by_customer_and_status(shop):
    shop.post("/api/customers", {"name": "Jane", "email": "jane@example.com"})
    order(shop, (2, 1))
    order(shop, (2, 1), customer=2)
    order(shop, (2, 1), customer=2)
    shop.put("/api/orders/3", {"status": "CANCELLED"})
    assert [o["id"] for o in shop.get("/api/orders", query={"customerId": 2}).json] == [2, 3]
    assert [o["id"] for o in shop.get("/api/orders", query={"status": "CANCELLED"}).json] == [3]
    assert [o["id"] for o in shop.get("/api/orders", query={"status": "CONFIRMED"}).json] == [1, 2]
    assert [o["id"] for o in shop.get("/api/orders", query={"customerId": 2, "status": "CONFIRMED"}).json] == [2]
    assert shop.get("/api/orders", query={"status": "nope"}).status == 400


def test_an_order_is_listed_under_the_user_who_placed_it(shop):
    """`createdBy` lists the orders a user placed, and no one else's."""
    for user in ("sam", "sue", "sam"):
        assert order(shop, (2, 1), role="sales", user=user).status == 201
    assert [o["id"] for o in shop.get("/api/orders", query={"createdBy": "sam"}).json] == [1, 3]
    assert [o["id"] for o in shop.get("/api/orders", query={"createdBy": "sue"}).json] == [2]


# ---------------------------------------------------------------- idempotency
def test_retry_with_same_key_returns_same_order_once(shop, cloud):
    key = {"Idempotency-Key": "k-1"}
    first = order(shop, (1, 2), headers=key)
    second = order(shop, (1, 2), headers=key)
    assert first.status == second.status == 201
    assert second.json == first.json
    assert stock(shop, 1) == 8
    assert len(shop.get("/api/orders").json) == 1


def test_same_key_different_body_is_422(shop):
    key = {"Idempotency-Key": "k-2"}
    assert order(shop, (1, 1), headers=key).status == 201
    r = order(shop, (1, 2), headers=key)
    assert r.status == 422
    assert "Idempotency-Key" in r.json["detail"]
    assert stock(shop, 1) == 9


def test_rejected_order_is_not_cached_under_its_key(shop):
    key = {"Idempotency-Key": "k-3"}
    assert order(shop, (3, 5), headers=key).status == 409
    etag = shop.get("/api/products/3").header("ETag")
    assert shop.put("/api/products/3", {"stock": 5}, headers={"If-Match": etag}).status == 200
    assert order(shop, (3, 5), headers=key).status == 201
