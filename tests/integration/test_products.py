"""Products API: every route, through the functions template.yaml routes each request to."""

from __future__ import annotations

from decimal import Decimal

import pytest

LAPTOP = {"name": "Laptop", "price": 999.99, "description": "High-performance laptop", "stock": 10}


def create(api, **overrides):
    r = api.post("/api/products", {**LAPTOP, **overrides})
    assert r.status == 201, r.raw
    return r.json


def test_seed_example_creates_product_1_with_server_fields(api, cloud):
    r = api.post("/api/products", LAPTOP)

    assert r.status == 201
    assert r.json["id"] == 1
    assert r.json | LAPTOP == r.json  # every field given comes back unchanged
    assert r.json["version"] == 1
    assert r.json["createdAt"] == r.json["updatedAt"]
    assert r.header("Location") == "/api/products/1"
    assert r.header("ETag") == '"1"'
    stored = cloud.item("ProductsTable", "PRODUCT#1")
    assert stored["price"] == Decimal("999.99")  # exact, not a float
    assert isinstance(stored["price"], Decimal)


def test_ids_are_sequential_integers(api):
    assert [create(api, name=f"p{i}")["id"] for i in range(3)] == [1, 2, 3]


def test_client_cannot_choose_id_or_timestamps(api):
    r = api.post("/api/products", {**LAPTOP, "id": 99})
    assert r.status == 422
    assert [e["field"] for e in r.json["errors"]] == ["id"]


def test_money_round_trips_exactly(api):
    product = create(api, price=Decimal("0.1"))
    assert api.get(f"/api/products/{product['id']}").raw.count('"price":0.1,') == 1
    big = create(api, price=Decimal("999999.99"))
    assert api.get(f"/api/products/{big['id']}").json["price"] == 999999.99


def test_get_unknown_product_is_404_problem(api):
    r = api.get("/api/products/42")
    assert r.status == 404
    assert r.header("Content-Type") == "application/problem+json"
    assert r.json == {
        "type": "about:blank",
        "title": "Not found",
        "status": 404,
        "detail": "Product 42 does not exist; GET /api/products lists those that do.",
        "errors": [],
    }


@pytest.mark.parametrize("bad_id", ["abc", "-1", "1.5", "0", "1e-3"])
def test_malformed_ids_are_client_errors(api, bad_id):
    for method in ("GET", "PUT", "DELETE"):
        r = api.request(method, f"/api/products/{bad_id}", {"stock": 1} if method == "PUT" else None)
        assert r.status in (400, 404), (method, r.raw)
        assert r.json["status"] == r.status


def test_list_returns_plain_array_in_id_order(api):
    for i in range(3):
        create(api, name=f"p{i}")
    r = api.get("/api/products")
    assert r.status == 200
    assert [p["name"] for p in r.json] == ["p0", "p1", "p2"]
    assert r.header("Link") is None


def test_list_paginates_with_link_cursor(api):
    for i in range(5):
        create(api, name=f"p{i}")
    names, query = [], {"limit": 2}
    while True:
        r = api.get("/api/products", query=query)
        assert r.status == 200
        assert len(r.json) <= 2
        names += [p["name"] for p in r.json]
        link = r.header("Link")
        if not link:
            break
        cursor = link.split("cursor=")[1].split(">")[0]
        query = {"limit": 2, "cursor": cursor}
    assert names == [f"p{i}" for i in range(5)]


@pytest.mark.parametrize("query", [{"limit": 0}, {"limit": 101}, {"limit": "x"}, {"cursor": "bm9wZQ"}])
def test_bad_list_parameters_are_400(api, query):
    assert api.get("/api/products", query=query).status == 400


def test_tampered_cursor_is_400(api):
    for i in range(3):
        create(api, name=f"p{i}")
    link = api.get("/api/products", query={"limit": 1}).header("Link")
    cursor = link.split("cursor=")[1].split(">")[0]
    tampered = cursor[:-2] + ("A" if cursor[-2] != "A" else "B") + cursor[-1]
    r = api.get("/api/products", query={"limit": 1, "cursor": tampered})
    assert r.status == 400
    assert "cursor" in r.json["detail"]


def test_put_updates_only_given_fields_and_bumps_version(api):
    create(api)
    r = api.put("/api/products/1", {"price": 899.5})
    assert r.status == 200
    assert r.json["price"] == 899.5
    assert r.json["name"] == "Laptop" and r.json["stock"] == 10
    assert r.json["version"] == 2
    assert r.header("ETag") == '"2"'


def test_put_with_current_if_match_succeeds(api):
    create(api)
    r = api.put("/api/products/1", {"stock": 3}, headers={"If-Match": '"1"'})
    assert r.status == 200
    assert r.json["stock"] == 3


def test_put_with_stale_if_match_is_412_and_changes_nothing(api, cloud):
    create(api)
    api.put("/api/products/1", {"name": "Laptop 2"})
    r = api.put("/api/products/1", {"stock": 0}, headers={"If-Match": '"1"'})
    assert r.status == 412
    assert cloud.item("ProductsTable", "PRODUCT#1")["stock"] == 10


@pytest.mark.parametrize("value", ["banana", "null", '"1', "1" * 39, "1"])
def test_if_match_that_is_no_etag_is_400_and_changes_nothing(api, cloud, value):
    create(api)
    r = api.put("/api/products/1", {"stock": 1}, headers={"If-Match": value})
    assert r.status == 400
    assert r.json["errors"][0]["field"] == "if-match"
    assert cloud.item("ProductsTable", "PRODUCT#1")["stock"] == 10


def test_put_unknown_product_is_404_and_creates_nothing(api, cloud):
    assert api.put("/api/products/7", {"stock": 1}, headers={"If-Match": '"1"'}).status == 404
    assert api.put("/api/products/7", {"name": "x"}).status == 404
    assert cloud.item("ProductsTable", "PRODUCT#7") is None


@pytest.mark.parametrize("body", [{}, {"name": None}, {"price": None}, {"bogus": 1}])
def test_put_rejects_empty_or_invalid_bodies(api, body):
    create(api)
    assert api.put("/api/products/1", body).status == 422


def test_delete_then_gone(api, cloud):
    create(api)
    assert api.delete("/api/products/1").status == 204
    assert api.get("/api/products/1").status == 404
    assert api.delete("/api/products/1").status == 404
    assert cloud.item("ProductsTable", "PRODUCT#1") is None


def test_delete_with_stale_if_match_is_412(api):
    create(api)
    api.put("/api/products/1", {"name": "Laptop 2"})
    assert api.delete("/api/products/1", headers={"If-Match": '"1"'}).status == 412
    assert api.get("/api/products/1").status == 200


def test_the_low_stock_threshold_defaults_to_5_and_can_be_set(api, cloud):
    assert create(api)["lowStockThreshold"] == 5
    assert create(api, lowStockThreshold=0)["lowStockThreshold"] == 0
    assert api.put("/api/products/1", {"lowStockThreshold": 12}).json["lowStockThreshold"] == 12
    assert cloud.item("ProductsTable", "PRODUCT#2")["lowStockThreshold"] == 0  # stored by its JSON name
    # a product stored before the field existed shows the default
    cloud.dynamodb.update_item(
        TableName="ProductsTable", Key={"pk": {"S": "PRODUCT#2"}}, UpdateExpression="REMOVE lowStockThreshold"
    )
    assert cloud.item("ProductsTable", "PRODUCT#2").get("lowStockThreshold") is None
    assert api.get("/api/products/2").json["lowStockThreshold"] == 5


@pytest.mark.parametrize("value", [None, -1, 1.5, "3", 10**9 + 1])
def test_a_low_stock_threshold_that_is_no_count_is_422(api, value):
    create(api)
    r = api.put("/api/products/1", {"lowStockThreshold": value})
    assert r.status == 422 and "lowStockThreshold" in r.json["errors"][0]["field"] + r.json["errors"][0]["message"]
    assert api.post("/api/products", {**LAPTOP, "lowStockThreshold": value}).status == 422
