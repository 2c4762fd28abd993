"""Who did it: createdBy/updatedBy (the token's username) on products, customers and orders, and
GET /api/orders?createdBy=."""

from __future__ import annotations

import pytest

ORDER = {"customerId": 1, "items": [{"productId": 1, "quantity": 1}]}


@pytest.fixture
def shop(api):
    assert api.post("/api/products", {"name": "P", "price": 2, "stock": 100}, user="ann").status == 201
    assert api.post("/api/customers", {"name": "C", "email": "c@example.com"}, user="ann").status == 201
    return api


@pytest.mark.parametrize(
    ("create", "update", "table", "pk"),
    [
        (("/api/products", {"name": "Q", "price": 3}), ("/api/products/2", {"price": 4}), "ProductsTable", "PRODUCT#2"),
        (
            ("/api/customers", {"name": "D", "email": "d@example.com"}),
            ("/api/customers/2", {"phone": "123"}),
            "CustomersTable",
            "CUSTOMER#2",
        ),
    ],
)
def test_entities_record_who_created_and_who_last_changed_them(shop, cloud, create, update, table, pk):
    created = shop.post(*create, user="bob")
    assert created.status == 201
    assert (created.json["createdBy"], created.json["updatedBy"]) == ("bob", "bob")

    updated = shop.put(*update, user="carol")

    assert updated.status == 200
    assert (updated.json["createdBy"], updated.json["updatedBy"]) == ("bob", "carol")
    stored = cloud.item(table, pk)
    assert (stored["createdBy"], stored["updatedBy"]) == ("bob", "carol")


def test_an_order_records_who_placed_it_and_who_changed_its_status(shop, cloud):
    placed = shop.post("/api/orders", ORDER, role="sales", user="sam")
    assert placed.status == 201, placed.raw
    assert (placed.json["createdBy"], placed.json["updatedBy"]) == ("sam", "sam")
    assert shop.get("/api/orders/1").json == placed.json  # what the workflow stored

    shipped = shop.put("/api/orders/1", {"status": "SHIPPED"}, role="admin", user="sue")  # sales: own only

    assert (shipped.json["createdBy"], shipped.json["updatedBy"]) == ("sam", "sue")
    assert cloud.item("OrdersTable", "ORDER#1")["updatedBy"] == "sue"


def test_a_stock_adjustment_records_who_made_it(shop, cloud):
    r = shop.post("/api/products/1/stock-adjustments", {"delta": -3, "reason": "broken"}, user="dan")
    assert r.status == 200, r.raw
    assert (r.json["createdBy"], r.json["updatedBy"], r.json["stock"]) == ("ann", "dan", 97)
    (audit,) = [i for i in cloud.scan("ProductsTable") if i["pk"].startswith("STOCKADJ#")]
    assert (audit["createdBy"], audit["delta"], audit["reason"]) == ("dan", -3, "broken")


def test_a_client_cannot_choose_the_recorded_user(shop):
    r = shop.post("/api/products", {"name": "X", "price": 1, "createdBy": "mallory"}, user="bob")
    assert r.status == 422
    assert [e["field"] for e in r.json["errors"]] == ["createdBy"]


def test_orders_can_be_listed_by_who_placed_them(shop):
    for user in ("sam", "sue", "sam", "ann", "sam"):
        assert shop.post("/api/orders", ORDER, role="sales", user=user).status == 201
    shop.put("/api/orders/3", {"status": "CANCELLED"}, user="ann")

    def ids(**query):
        r = shop.get("/api/orders", query=query)
        assert r.status == 200, r.raw
        return [o["id"] for o in r.json]

    assert ids(createdBy="sam") == [1, 3, 5]
    assert ids(createdBy="sue") == [2]
    assert ids(createdBy="nobody") == []
    assert shop.get("/api/orders", query={"createdBy": "sam", "status": "CONFIRMED"}).status == 400
    assert ids(createdBy="sam", customerId=1) == [1, 3, 5]
    assert ids(createdBy="sam", customerId=2) == []
    assert ids(createdBy="sam", customerId=1, status="CANCELLED") == [3]


def test_the_created_by_listing_paginates_and_keeps_the_filter_in_the_link(shop):
    for user in ("sam", "sue", "sam", "sam"):
        shop.post("/api/orders", ORDER, user=user)
    first = shop.get("/api/orders", query={"createdBy": "sam", "limit": 2})
    assert [o["id"] for o in first.json] == [1, 3]
    link = first.header("Link")
    assert "createdBy=sam" in link
    cursor = link.split("cursor=")[1].split(">")[0].split("&")[0]
    rest = shop.get("/api/orders", query={"createdBy": "sam", "limit": 2, "cursor": cursor})
    assert [o["id"] for o in rest.json] == [4]


@pytest.mark.parametrize("bad", ["", "x" * 129])
def test_a_bad_created_by_filter_is_400(shop, bad):
    assert shop.get("/api/orders", query={"createdBy": bad}).status == 400


def test_idempotency_keys_are_per_user(shop, cloud):
    headers = {"Idempotency-Key": "k-1"}
    first = shop.post("/api/orders", ORDER, headers=headers, role="sales", user="sam")
    again = shop.post("/api/orders", ORDER, headers=headers, role="sales", user="sam")
    other = shop.post("/api/orders", ORDER, headers=headers, role="sales", user="sue")

    assert first.json == again.json
    assert other.status == 201
    assert (other.json["id"], other.json["createdBy"]) == (2, "sue")
    assert cloud.item("ProductsTable", "PRODUCT#1")["stock"] == 98
