"""Erasure (GDPR Art. 17, issue 24): POST /api/customers/{id}/erasure removes the customer's
personal data wherever it is stored, keeps the id and the orders (and so every total), records
when and by whom, frees the email, is idempotent, and is for admins only. An erased customer
cannot be ordered for (422) nor changed (409)."""

from __future__ import annotations

import json

import pytest

PERSONAL = {
    "name": "Ann Example",
    "email": "Ann.Example@Example.com",
    "phone": "+44 20 7946 0958",
    "address": "1 Privacy Rd",
}


@pytest.fixture
def shop(api):
    """Product 1, customer 1 (Ann, with every personal field), and her order 1 (placed with an
    Idempotency-Key, so the idempotency table holds a copy of the answer too)."""
    assert api.post("/api/products", {"name": "Laptop", "price": 12.5, "stock": 10}).status == 201
    assert api.post("/api/customers", PERSONAL).status == 201
    r = api.post(
        "/api/orders",
        {"customerId": 1, "items": [{"productId": 1, "quantity": 2}]},
        headers={"Idempotency-Key": "erasure-test-1"},
    )
    assert r.status == 201, r.raw
    return api


def everything_stored(cloud) -> str:
    """Every item of every table but the id counters, as text."""
    items = {t: [i for i in cloud.scan(t) if not str(i.get("pk", "")).startswith("COUNTER#")] for t in cloud.tables}
    return json.dumps(items, default=str, ensure_ascii=False)


def test_erasure_removes_personal_data_everywhere_and_keeps_the_orders(shop, cloud):
    order_before = shop.get("/api/orders/1").json
    assert any(value in everything_stored(cloud) for value in PERSONAL.values())

    r = shop.post("/api/customers/1/erasure", user="dpo")

    assert r.status == 200, r.raw
    body = r.json
    assert body["id"] == 1 and body["erasedAt"] and body["erasedBy"] == "dpo"
    assert all(body.get(field) is None for field in PERSONAL)
    assert r.header("ETag") == f'"{body["version"]}"'
    stored = everything_stored(cloud)
    for value in PERSONAL.values():
        assert value not in stored and value.lower() not in stored.lower(), value
    customer = cloud.item("CustomersTable", "CUSTOMER#1")
    assert not set(PERSONAL) & set(customer)
    # orders, their customer and totals intact
    assert shop.get("/api/orders/1").json == order_before
    assert [o["id"] for o in shop.get("/api/orders", query={"customerId": 1}).json] == [1]
    assert order_before["total"] == 25


def test_an_erased_customer_reads_as_such(shop):
    erased = shop.post("/api/customers/1/erasure").json
    got = shop.get("/api/customers/1")
    assert got.status == 200 and got.json == erased
    assert {k for k, v in got.json.items() if v is not None} == {
        "id", "version", "createdAt", "updatedAt", "createdBy", "updatedBy", "erasedAt", "erasedBy"
    }  # fmt: skip
    assert [c for c in shop.get("/api/customers").json if c["id"] == 1] == [erased]


def test_the_email_is_free_again(shop):
    assert shop.post("/api/customers", {**PERSONAL, "email": PERSONAL["email"].upper()}).status == 409
    assert shop.post("/api/customers/1/erasure").status == 200
    r = shop.post("/api/customers", {"name": "New Ann", "email": PERSONAL["email"]})
    assert r.status == 201 and r.json["id"] != 1


def test_erasing_twice_is_200_both_times_and_changes_nothing_the_second_time(shop, cloud):
    first = shop.post("/api/customers/1/erasure")
    stored = cloud.item("CustomersTable", "CUSTOMER#1")
    second = shop.post("/api/customers/1/erasure", user="someone-else")
    assert (first.status, second.status) == (200, 200)
    assert second.json == first.json
    assert cloud.item("CustomersTable", "CUSTOMER#1") == stored


def test_the_sales_role_gets_403_and_nothing_changes(shop, cloud):
    before = everything_stored(cloud)
    r = shop.post("/api/customers/1/erasure", role="sales")
    assert r.status == 403
    assert everything_stored(cloud) == before


def test_an_unknown_customer_is_404(shop):
    assert shop.post("/api/customers/9/erasure").status == 404


def the_record(cloud) -> str:
    """Products, customers and orders as stored (not the placement records, counters, keys, quotas)."""
    tables = ("ProductsTable", "CustomersTable", "OrdersTable")
    items = {
        t: [i for i in cloud.scan(t) if not str(i.get("pk", "")).startswith(("COUNTER#", "PLACEMENT#"))] for t in tables
    }
    return json.dumps(items, default=str, ensure_ascii=False)


def test_no_order_can_be_placed_for_an_erased_customer(shop, cloud):
    shop.post("/api/customers/1/erasure")
    before = the_record(cloud)
    placements = {i["pk"] for i in cloud.scan("OrdersTable") if i["pk"].startswith("PLACEMENT#")}
    r = shop.post("/api/orders", {"customerId": 1, "items": [{"productId": 1, "quantity": 1}]})
    assert r.status == 422, r.raw
    assert "was erased" in r.json["detail"]
    assert the_record(cloud) == before  # no stock taken, no order, no mark changed
    (placement,) = [
        i for i in cloud.scan("OrdersTable") if i["pk"].startswith("PLACEMENT#") and i["pk"] not in placements
    ]
    assert placement["outcome"] == "CustomerErased" and "pending" not in placement  # decided, nothing held


def test_an_erased_customer_cannot_be_changed(shop, cloud):
    shop.post("/api/customers/1/erasure")
    before = cloud.item("CustomersTable", "CUSTOMER#1")
    for body in ({"name": "Back"}, {"email": "back@example.com"}, {"phone": None}):
        r = shop.put("/api/customers/1", body)
        assert r.status == 409, (body, r.raw)
        assert "erased" in r.json["detail"]
    assert cloud.item("CustomersTable", "CUSTOMER#1") == before
    assert [i for i in cloud.scan("CustomersTable") if i["pk"].startswith("EMAIL#")] == []


def test_an_erased_customer_with_orders_still_cannot_be_deleted(shop):
    shop.post("/api/customers/1/erasure")
    assert shop.delete("/api/customers/1").status == 409


def test_an_erased_customer_without_orders_can_be_deleted(shop):
    assert shop.post("/api/customers", {"name": "Bob", "email": "bob@example.com"}).status == 201
    assert shop.post("/api/customers/2/erasure").status == 200
    assert shop.delete("/api/customers/2").status == 204
    assert shop.get("/api/customers/2").status == 404


def test_a_change_between_read_and_erasure_is_retried(shop, cloud, monkeypatch):
    """The customer changes after erasure read it (its email even): the erasure re-reads and
    erases what is there now, freeing the new email."""
    from customers.repository import CustomerStore

    erase = CustomerStore.erase

    def changed_first(self, customer, actor):
        monkeypatch.setattr(CustomerStore, "erase", erase)
        assert shop.put("/api/customers/1", {"email": "moved@example.com"}).status == 200
        return erase(self, customer, actor)

    monkeypatch.setattr(CustomerStore, "erase", changed_first)
    assert shop.post("/api/customers/1/erasure").status == 200
    assert "moved@example.com" not in everything_stored(cloud)
    assert shop.post("/api/customers", {"name": "M", "email": "moved@example.com"}).status == 201
