"""Archive instead of delete (issue 24): a product's `status` is ACTIVE or ARCHIVED, changed with
PUT. Archived products are hidden from the default list (each status is its own index partition,
so pages stay full), cannot be ordered (422 naming them, at the quote or at the reservation), keep
their page, and are restocked when an order holding them is cancelled or deleted."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from orders.catalog import Catalog
from tests.support import iam


@pytest.fixture
def shop(api):
    """Products 1 (Laptop) and 2 (Mouse), customer 1."""
    assert api.post("/api/products", {"name": "Laptop", "price": 100, "stock": 10}).status == 201
    assert api.post("/api/products", {"name": "Mouse", "price": 5, "stock": 10}).status == 201
    assert api.post("/api/customers", {"name": "C", "email": "c@example.com"}).status == 201
    return api


def archive(api, pid, status="ARCHIVED"):
    r = api.put(f"/api/products/{pid}", {"status": status})
    assert r.status == 200, r.raw
    return r.json


def ids(reply):
    assert reply.status == 200, reply.raw
    return [p["id"] for p in reply.json]


def listed(api, **query):
    """Every page of GET /api/products, following the Link header."""
    found, query = [], dict(query)
    while True:
        r = api.get("/api/products", query=query)
        found += ids(r)
        link = r.header("Link")
        if not link:
            return found
        query = {k: v[0] for k, v in parse_qs(urlparse(link[1 : link.index(">")]).query).items()}


def test_a_new_product_is_active(shop):
    assert shop.get("/api/products/1").json["status"] == "ACTIVE"


def test_archived_is_hidden_from_the_list_unless_asked_for_and_keeps_its_page(shop, cloud):
    product = archive(shop, 1)
    assert product["status"] == "ARCHIVED" and product["version"] == 2

    assert ids(shop.get("/api/products")) == [2]
    assert ids(shop.get("/api/products", query={"status": "ACTIVE"})) == [2]
    assert ids(shop.get("/api/products", query={"status": "ARCHIVED"})) == [1]
    assert ids(shop.get("/api/products", query={"status": "ALL"})) == [1, 2]
    page = shop.get("/api/products/1")
    assert page.status == 200 and page.json["status"] == "ARCHIVED" and page.json["name"] == "Laptop"


def test_unarchive_brings_it_back(shop):
    archive(shop, 1)
    assert archive(shop, 1, "ACTIVE")["status"] == "ACTIVE"
    assert ids(shop.get("/api/products")) == [1, 2]
    assert ids(shop.get("/api/products", query={"status": "ARCHIVED"})) == []
    assert shop.post("/api/orders", {"customerId": 1, "items": [{"productId": 1, "quantity": 1}]}).status == 201


def test_pages_of_a_status_are_full_however_many_are_hidden(api):
    """Served by an index partition per status, not by filtering: with 6 archived products before
    the 2 active ones, the first page of 2 holds both active ones (a filtered query would return an
    empty first page)."""
    for n in range(8):
        assert api.post("/api/products", {"name": f"P{n}", "price": 1}).status == 201
    for pid in range(1, 7):
        archive(api, pid)
    first = api.get("/api/products", query={"limit": 2})
    assert ids(first) == [7, 8]
    assert listed(api, limit=2, status="ARCHIVED") == [1, 2, 3, 4, 5, 6]
    assert listed(api, limit=3, status="ALL") == list(range(1, 9))


def test_the_status_filter_is_kept_in_the_link_and_binds_the_cursor(api):
    for n in range(3):
        assert api.post("/api/products", {"name": f"P{n}", "price": 1}).status == 201
        archive(api, n + 1)
    r = api.get("/api/products", query={"status": "ARCHIVED", "limit": 1})
    link = r.header("Link")
    assert "status=ARCHIVED" in link
    cursor = parse_qs(urlparse(link[1 : link.index(">")]).query)["cursor"][0]
    assert api.get("/api/products", query={"status": "ALL", "cursor": cursor}).status == 400
    assert api.get("/api/products", query={"cursor": cursor}).status == 400


@pytest.mark.parametrize("status", ["archived", "DELETED", "", None, 1])
def test_a_bad_status_is_422_and_changes_nothing(shop, cloud, status):
    before = cloud.item("ProductsTable", "PRODUCT#1")
    assert shop.put("/api/products/1", {"status": status}).status == 422
    assert cloud.item("ProductsTable", "PRODUCT#1") == before


@pytest.mark.parametrize("status", ["archived", "BOTH"])
def test_a_bad_list_status_is_400(shop, status):
    assert shop.get("/api/products", query={"status": status}).status == 400


def test_an_archived_product_cannot_be_ordered_422_naming_it(shop, cloud):
    archive(shop, 1)
    before = cloud.item("ProductsTable", "PRODUCT#1")
    r = shop.post(
        "/api/orders", {"customerId": 1, "items": [{"productId": 2, "quantity": 1}, {"productId": 1, "quantity": 1}]}
    )
    assert r.status == 422, r.raw
    assert r.header("Content-Type") == "application/problem+json"
    assert "1 (Laptop)" in r.json["detail"] and "rchived" in r.json["detail"]
    assert cloud.item("ProductsTable", "PRODUCT#1") == before
    assert shop.get("/api/products/2").json["stock"] == 10
    assert cloud.scan("OrdersTable") == []  # refused at the quote: no workflow ran, no order id was spent


def test_archived_between_quote_and_reservation_is_refused_by_the_workflow(shop, cloud, monkeypatch):
    """The race the quote cannot see: the product is archived after the quote read it as ACTIVE.
    The reservation's condition (status ACTIVE) refuses it; the answer names it; nothing is kept."""
    quote = Catalog.quote

    def stale_quote(self, product_ids):
        found = quote(self, product_ids)
        with iam.acting_as(None):  # archived by someone else (not CreateOrder), right after the quote
            cloud.dynamodb.update_item(
                TableName=cloud.tables["ProductsTable"],
                Key={"pk": {"S": "PRODUCT#1"}},
                UpdateExpression="SET #s = :a, listKey = :l",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":a": {"S": "ARCHIVED"}, ":l": {"S": "product#ARCHIVED"}},
            )
        monkeypatch.setattr(Catalog, "quote", quote)
        return found

    monkeypatch.setattr(Catalog, "quote", stale_quote)
    r = shop.post(
        "/api/orders", {"customerId": 1, "items": [{"productId": 2, "quantity": 3}, {"productId": 1, "quantity": 1}]}
    )
    assert r.status == 422, r.raw
    assert "1 (Laptop)" in r.json["detail"]
    for pid in (1, 2):
        item = cloud.item("ProductsTable", f"PRODUCT#{pid}")
        assert item["stock"] == 10
        assert not [k for k in item if k.startswith("hold_")]
    assert [o for o in cloud.scan("OrdersTable") if o["pk"].startswith("ORDER#")] == []


@pytest.mark.parametrize("how", ["cancel", "delete"])
def test_an_archived_product_is_restocked_when_its_order_gives_stock_back(shop, how):
    r = shop.post("/api/orders", {"customerId": 1, "items": [{"productId": 1, "quantity": 4}]})
    assert r.status == 201, r.raw
    archive(shop, 1)
    if how == "cancel":
        assert shop.put("/api/orders/1", {"status": "CANCELLED"}).status == 200
    else:
        assert shop.delete("/api/orders/1").status == 204
    product = shop.get("/api/products/1").json
    assert (product["stock"], product["status"]) == (10, "ARCHIVED")
