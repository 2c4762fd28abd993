"""Deletes that would orphan are refused (issue 24): a product or customer an order refers to
cannot be deleted (409 problem+json saying what to do instead: archive, or erase), and the
record is unchanged. Race-free: the placement marks the customer and each product as referenced
in the conditional writes it makes anyway, and the delete is conditional on the mark's absence.
The interleavings are forced here, each side of the race; tests/e2e races them for real."""

from __future__ import annotations

import pytest

from tests.support import faults as fault_support


@pytest.fixture
def faults(monkeypatch):
    yield from fault_support.install(monkeypatch)


@pytest.fixture
def shop(api):
    """Products 1 and 2 (10 in stock each), customer 1."""
    for name in ("Laptop", "Mouse"):
        assert api.post("/api/products", {"name": name, "price": 3, "stock": 10}).status == 201
    assert api.post("/api/customers", {"name": "Ann", "email": "ann@example.com"}).status == 201
    return api


def place(api, *pids, quantity=1):
    return api.post("/api/orders", {"customerId": 1, "items": [{"productId": p, "quantity": quantity} for p in pids]})


def customer_records(cloud):
    """The customer and its email lock, as stored."""
    return [i for i in cloud.scan("CustomersTable") if not i["pk"].startswith("COUNTER#")]


def assert_no_orphans(cloud):
    """Every stored order's customer and products exist."""
    for order in cloud.scan("OrdersTable"):
        if order["pk"].startswith("ORDER#"):
            assert cloud.item("CustomersTable", f"CUSTOMER#{order['customerId']}"), order
            for line in order["items"]:
                assert cloud.item("ProductsTable", f"PRODUCT#{line['productId']}"), order


def assert_problem(reply, status, *words):
    assert reply.status == status, reply.raw
    assert reply.header("Content-Type") == "application/problem+json"
    for word in words:
        assert word in reply.json["detail"], reply.json["detail"]


# ---------------------------------------------------------------- refusals
def test_a_product_an_order_refers_to_is_409_archive_instead_and_unchanged(shop, cloud):
    assert place(shop, 1).status == 201
    before = cloud.item("ProductsTable", "PRODUCT#1")
    assert_problem(shop.delete("/api/products/1"), 409, "Archive it instead", '"status": "ARCHIVED"')
    assert_problem(shop.delete("/api/products/1", headers={"If-Match": f'"{before["version"]}"'}), 409)
    assert cloud.item("ProductsTable", "PRODUCT#1") == before
    assert shop.delete("/api/products/2").status == 204  # never ordered: deleted as before


def test_a_cancelled_or_deleted_order_still_refers_to_its_product(shop, cloud):
    """Conservative: the mark stays once set (an order, even cancelled, is part of the record)."""
    assert place(shop, 1).status == 201
    assert shop.put("/api/orders/1", {"status": "CANCELLED"}).status == 200
    assert shop.delete("/api/orders/1").status == 204
    assert shop.delete("/api/products/1").status == 409


def test_a_rejected_placement_leaves_the_customers_mark_and_no_products(shop, cloud, faults):
    """A placement the workflow refuses (here: product 2 sold out between the quote and the
    reservation) keeps the mark ValidateCustomer set on the customer, whose delete is then
    refused, conservatively (docs/adr/0020). The products' marks are part of the reservation's
    transaction, which was cancelled: product 1 was never marked and can be deleted."""

    def sell_out():
        cloud.dynamodb.update_item(
            TableName=cloud.tables["ProductsTable"],
            Key={"pk": {"S": "PRODUCT#2"}},
            UpdateExpression="SET stock = :zero",
            ExpressionAttributeValues={":zero": {"N": "0"}},
        )

    faults.before("UpdateItem", sell_out, keys={"CUSTOMER#1"})
    assert place(shop, 1, 2).status == 409
    assert cloud.item("ProductsTable", "PRODUCT#1")["stock"] == 10
    assert shop.delete("/api/customers/1").status == 409
    assert "referenced" not in cloud.item("ProductsTable", "PRODUCT#1")
    assert shop.delete("/api/products/1").status == 204  # its line was never reserved: never marked
    assert shop.delete("/api/products/2").status == 204


def test_a_customer_with_orders_is_409_pointing_at_erasure_and_unchanged(shop, cloud):
    assert place(shop, 1).status == 201
    before = customer_records(cloud)
    assert_problem(shop.delete("/api/customers/1"), 409, "POST /api/customers/1/erasure")
    assert customer_records(cloud) == before
    assert shop.post("/api/customers", {"name": "Dup", "email": "ann@example.com"}).status == 409  # lock kept


def test_a_customer_without_orders_is_deleted_and_frees_its_email(shop, cloud):
    assert shop.post("/api/customers", {"name": "Bob", "email": "bob@example.com"}).status == 201
    assert shop.delete("/api/customers/2").status == 204
    assert shop.post("/api/customers", {"name": "Bob 2", "email": "bob@example.com"}).status == 201


def test_the_stale_version_check_comes_first(shop):
    assert place(shop, 1).status == 201
    assert shop.delete("/api/products/1", headers={"If-Match": '"1"'}).status == 412


# ---------------------------------------------------------------- the race, each way
def test_product_deleted_before_its_reservation_the_order_is_refused(shop, cloud, faults):
    """Delete lands between the quote and the reservation: the reservation finds no product."""
    hook = faults.before("UpdateItem", lambda: shop.delete("/api/products/1"), keys={"CUSTOMER#1"})
    r = place(shop, 2, 1)
    assert hook.results[0].status == 204
    assert_problem(r, 422, "Unknown product(s): 1")
    assert cloud.item("ProductsTable", "PRODUCT#2")["stock"] == 10  # the other line was given back
    assert_no_orphans(cloud)


def test_product_delete_after_its_reservation_is_refused_and_the_order_stands(shop, cloud, faults):
    """Delete arrives once the reservation marked the product (before the order is even stored)."""
    hook = faults.before("TransactWriteItems", lambda: shop.delete("/api/products/1"), keys={"ORDER#1"})
    r = place(shop, 1)
    assert r.status == 201, r.raw
    assert_problem(hook.results[0], 409, "Archive it instead")
    assert_no_orphans(cloud)


def test_customer_deleted_before_the_workflow_checks_it_the_order_is_refused(shop, cloud, faults):
    hook = faults.before("BatchGetItem", lambda: shop.delete("/api/customers/1"))
    r = place(shop, 1)
    assert hook.results[0].status == 204
    assert_problem(r, 422, "Customer 1 does not exist")
    assert cloud.item("ProductsTable", "PRODUCT#1")["stock"] == 10
    assert_no_orphans(cloud)


def test_customer_delete_after_the_workflow_marked_it_is_refused_and_the_order_stands(shop, cloud, faults):
    hook = faults.before(
        "TransactWriteItems", lambda: shop.delete("/api/customers/1"), keys={"PRODUCT#1"}, when=faults.reserving
    )
    r = place(shop, 1)
    assert r.status == 201, r.raw
    assert_problem(hook.results[0], 409, "erasure")
    assert_no_orphans(cloud)
