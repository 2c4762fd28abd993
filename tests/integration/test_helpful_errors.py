"""Every problem says what was wrong and what to do about it (docs/api.md, "Errors"): one case per
kind of error, each checked for the part that tells the client how to go on."""

from __future__ import annotations

import pytest

from tests.support.apigw import build_event, invoke, route

PRODUCT = {"name": "Lamp", "price": 10, "stock": 2}


@pytest.fixture
def shop(api):
    assert api.post("/api/products", PRODUCT).status == 201
    assert api.post("/api/customers", {"name": "Ann", "email": "ann@example.com"}).status == 201
    return api


def _detail(reply, status: int) -> str:
    assert reply.status == status, reply.raw
    assert reply.header("Content-Type") == "application/problem+json"
    return reply.json["detail"]


def test_unknown_ids_say_where_to_find_the_existing_ones(shop):
    assert "GET /api/products lists" in _detail(shop.get("/api/products/77"), 404)
    assert "GET /api/customers lists" in _detail(shop.get("/api/customers/77"), 404)
    assert "GET /api/orders lists" in _detail(shop.get("/api/orders/77"), 404)


def test_bad_bodies_and_parameters_point_at_the_errors_and_the_docs(shop):
    detail = _detail(shop.post("/api/products", {"name": "", "price": -1}), 422)
    assert "`errors`" in detail and "/api/docs" in detail
    detail = _detail(shop.get("/api/products", query={"limit": "0"}), 400)
    assert "`errors`" in detail and "/api/docs" in detail


def test_a_bad_if_match_says_in_words_what_it_must_be(shop):
    reply = shop.put("/api/products/1", {"name": "x"}, headers={"If-Match": "1"})
    assert _detail(reply, 400)
    (error,) = reply.json["errors"]
    assert error["field"] == "if-match" and error["message"].startswith("must be the ETag you read")
    assert "^" not in error["message"]  # no regular expression


def test_a_stale_if_match_says_to_read_again(shop):
    shop.put("/api/products/1", {"name": "x"})
    assert "GET it again" in _detail(shop.put("/api/products/1", {"name": "y"}, headers={"If-Match": '"1"'}), 412)


def test_malformed_json_says_where(shop):
    detail = _detail(shop.post("/api/products", raw_body='{"name": "x",'), 400)
    assert detail.startswith("The request body is not valid JSON (") and "send it again" in detail


def test_a_missing_content_type_says_which(shop):
    fn, params = route("POST", "/api/products")
    event = build_event(fn, "/api/products", params, body=PRODUCT)
    del event["headers"]["content-type"]
    reply = invoke(fn, event)
    assert reply["statusCode"] == 415 and "Content-Type: application/json" in reply["body"]


def test_orders_say_what_to_change(shop):
    order = {"customerId": 1, "items": [{"productId": 1, "quantity": 5}]}
    assert "order at most what is in stock" in _detail(shop.post("/api/orders", order), 409)
    order = {"customerId": 1, "items": [{"productId": 1, "quantity": 1, "price": 9}]}
    assert "Send the current prices, or leave `price` out" in _detail(shop.post("/api/orders", order), 409)
    order = {"customerId": 1, "items": [{"productId": 9, "quantity": 1}]}
    assert "GET /api/products lists the catalog" in _detail(shop.post("/api/orders", order), 422)
    order = {"customerId": 9, "items": [{"productId": 1, "quantity": 1}]}
    assert "POST creates one" in _detail(shop.post("/api/orders", order), 422)


def test_an_illegal_status_change_names_the_legal_ones(shop):
    assert shop.post("/api/orders", {"customerId": 1, "items": [{"productId": 1, "quantity": 1}]}).status == 201
    assert shop.put("/api/orders/1", {"status": "SHIPPED"}).status == 200
    detail = _detail(shop.put("/api/orders/1", {"status": "CANCELLED"}), 409)
    assert "it can become DELIVERED" in detail
    assert "Only CONFIRMED (restocked) and CANCELLED orders can be" in _detail(shop.delete("/api/orders/1"), 409)


def test_a_duplicate_email_says_what_to_do(shop):
    detail = _detail(shop.post("/api/customers", {"name": "B", "email": "ANN@example.com"}), 409)
    assert "use another email" in detail


def test_a_missing_role_says_which_one(shop):
    detail = _detail(shop.delete("/api/products/1", role="sales"), 403)
    assert "needs the admin role; your groups: sales" in detail and "Sign in as a user with that role" in detail


def test_a_missing_sign_in_says_how(shop):
    assert "Authorization: Bearer <token>" in _detail(shop.get("/api/products", role=None), 401)
