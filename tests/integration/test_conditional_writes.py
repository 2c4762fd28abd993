"""Writes that depend on what was read: an order's status change or deletion races another one
(or a ship), and every route that takes `If-Match` refuses a stale one.

A race is made deterministic: the writer reads the order, then -- before it writes -- another
request (the same domain call another function instance would make, with that function's
variables and rights) changes it. Whatever the interleaving, stock comes back exactly once for
units that did not leave, never for units that shipped, and the late writer gets a clear answer
(409, or 404 when the order is gone), never a 500."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import pytest

from orders import lifecycle
from orders.models import OrderStatus
from orders.repository import OrderStore
from sales_common.auth import Caller
from tests.support import iam
from tests.support.apigw import function, function_env

ADMIN = Caller(sub="other-admin", username="other-admin", groups=frozenset({"admin"}))
S, X = OrderStatus.SHIPPED, OrderStatus.CANCELLED


@pytest.fixture
def shop(api, prepared):
    """Product 1 (stock 10), product 2 (stock 5), customer 1, and order 1: 3 x product 1 and
    2 x product 2 (so stock 7 and 3 while it holds them). Placed once per test process and put
    back for each test (`prepared`)."""

    def build():
        for name, stock in (("Laptop", 10), ("Mouse", 5)):
            assert api.post("/api/products", {"name": name, "price": 10, "stock": stock}).status == 201
        assert api.post("/api/customers", {"name": "Jo", "email": "jo@example.com"}).status == 201
        body = {"customerId": 1, "items": [{"productId": 1, "quantity": 3}, {"productId": 2, "quantity": 2}]}
        assert api.post("/api/orders", body).status == 201

    prepared("test_conditional_writes.shop", build)
    assert stocks(api) == [7, 3]
    return api


def stocks(api) -> list[int]:
    return [api.get(f"/api/products/{pid}").json["stock"] for pid in (1, 2)]


@contextlib.contextmanager
def as_function(logical_id: str, refs: dict[str, str]) -> Iterator[None]:
    """Run as another instance of `logical_id` would: its variables, its rights (tests/iam)."""
    fn = function(logical_id)
    with function_env(fn.resolved_environment(refs)), iam.acting_as(logical_id):
        yield


def competitor(cloud, action: str) -> Callable[[], None]:
    """Another request that commits first: ship, cancel or delete order 1."""

    def run() -> None:
        if action == "delete":
            with as_function("DeleteOrderFunction", cloud.state_machines):
                lifecycle.delete_order(1, None, ADMIN)
        else:
            with as_function("UpdateOrderFunction", cloud.state_machines):
                lifecycle.change_status(1, S if action == "ship" else X, None, ADMIN)

    return run


@pytest.fixture
def after_the_read(monkeypatch):
    """`after_the_read(fn)`: the next request's read of an order is followed by `fn()`, as if
    another request committed between that read and the write that depends on it."""

    def arm(then: Callable[[], None]) -> None:
        original = OrderStore.require
        pending = [then]

        def require(self, order_id):
            found = original(self, order_id)
            if pending:
                with iam.acting_as(None):  # another request's doing (its own API calls name their function)
                    pending.pop()()
            return found

        monkeypatch.setattr(OrderStore, "require", require)

    return arm


# (the late writer's request, what commits first) -> the late writer's status, the order's
# status afterwards (None: deleted), stocks afterwards
RACES = [
    # two cancels: one restock
    (("PUT", "CANCELLED"), "cancel", 409, "CANCELLED", [10, 5]),
    # a cancel or a delete after the ship: the units left, nothing comes back
    (("PUT", "CANCELLED"), "ship", 409, "SHIPPED", [7, 3]),
    (("DELETE", None), "ship", 409, "SHIPPED", [7, 3]),
    # a ship after the cancel: the order stays cancelled (its units are back on the shelf)
    (("PUT", "SHIPPED"), "cancel", 409, "CANCELLED", [10, 5]),
    # a delete after the cancel: the cancelled order stays, the units came back once
    (("DELETE", None), "cancel", 409, "CANCELLED", [10, 5]),
    # a cancel after the delete: gone, restocked once
    (("PUT", "CANCELLED"), "delete", 404, None, [10, 5]),
    # two deletes: one restock
    (("DELETE", None), "delete", 404, None, [10, 5]),
    # two ships: the second is late
    (("PUT", "SHIPPED"), "ship", 409, "SHIPPED", [7, 3]),
]


@pytest.mark.parametrize(("late", "first", "status", "after", "final_stocks"), RACES)
def test_a_write_based_on_a_stale_read_loses_and_stock_moves_once(
    shop, cloud, after_the_read, late, first, status, after, final_stocks
):
    after_the_read(competitor(cloud, first))
    method, target = late
    reply = shop.put("/api/orders/1", {"status": target}) if method == "PUT" else shop.delete("/api/orders/1")
    assert reply.status == status, reply.raw
    if status == 409:
        assert f"it is now {after}" in reply.json["detail"]
    current = shop.get("/api/orders/1")
    assert (current.json["status"] if current.status == 200 else None) == after
    assert stocks(shop) == final_stocks


def test_a_restocking_change_racing_a_product_deletion_restocks_the_rest(shop, cloud, after_the_read):
    """Not a conflict: the deleted product has no shelf to return to, the other line comes back.
    The API refuses to delete a product an order refers to (409: docs/record-integrity.md), so
    the product disappears behind its back here, as an operator's delete would."""

    def delete_product() -> None:
        assert shop.delete("/api/products/2").status == 409
        cloud.dynamodb.delete_item(TableName=cloud.tables["ProductsTable"], Key={"pk": {"S": "PRODUCT#2"}})

    after_the_read(delete_product)
    assert shop.put("/api/orders/1", {"status": "CANCELLED"}).status == 200
    assert shop.get("/api/products/1").json["stock"] == 10
    assert shop.get("/api/orders/1").json["status"] == "CANCELLED"


# ---------------------------------------------------------------- stale If-Match, every route
def _customer(api) -> str:
    assert api.post("/api/customers", {"name": "Al", "email": "al@example.com"}).status == 201
    assert api.put("/api/customers/2", {"name": "Al B"}).status == 200  # now at version 2
    return "/api/customers/2"


def _product(api) -> str:
    assert api.post("/api/products", {"name": "Pen", "price": 1, "stock": 4}).status == 201
    assert api.put("/api/products/3", {"name": "Pen 2"}).status == 200
    return "/api/products/3"


CONDITIONAL = [
    ("PUT", _product, {"name": "Pen 3"}),
    ("PUT", _product, {"stock": 9}),
    ("DELETE", _product, None),
    ("PUT", _customer, {"name": "Al C"}),
    ("DELETE", _customer, None),
]


@pytest.mark.parametrize(("method", "make", "body"), CONDITIONAL)
@pytest.mark.parametrize("stale", ['"1"', 'W/"1"', 'W/"2"', '"3"'])
def test_every_conditional_route_refuses_a_stale_if_match(shop, method, make, body, stale):
    path = make(shop)
    before = shop.get(path).json
    reply = shop.request(method, path, body, headers={"If-Match": stale})
    assert reply.status == 412, reply.raw
    assert "version 2" in reply.json["detail"]
    assert shop.get(path).json == before
    current = shop.request(method, path, body, headers={"If-Match": '"2"'})
    assert current.status in (200, 204), current.raw


@pytest.mark.parametrize(
    ("method", "body"), [("PUT", {"status": "CANCELLED"}), ("PUT", {"status": "SHIPPED"}), ("DELETE", None)]
)
@pytest.mark.parametrize("stale", ['"2"', 'W/"0"', 'W/"1"', '"17"'])
def test_an_order_change_with_a_stale_if_match_changes_nothing(shop, method, body, stale):
    reply = shop.request(method, "/api/orders/1", body, headers={"If-Match": stale})
    assert reply.status == 412, reply.raw
    assert 'is at version 1 (ETag "1")' in reply.json["detail"]
    assert shop.get("/api/orders/1").json["status"] == "CONFIRMED"
    assert stocks(shop) == [7, 3]
    assert shop.request(method, "/api/orders/1", body, headers={"If-Match": '"1"'}).status in (200, 204)


def test_if_match_names_the_version_after_the_last_write(shop):
    assert shop.put("/api/orders/1", {"status": "SHIPPED"}, headers={"If-Match": "*"}).header("ETag") == '"2"'
    assert shop.put("/api/orders/1", {"status": "DELIVERED"}, headers={"If-Match": '"1"'}).status == 412
    assert shop.put("/api/orders/1", {"status": "DELIVERED"}, headers={"If-Match": '"2"'}).status == 200
