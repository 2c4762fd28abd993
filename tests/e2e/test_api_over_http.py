"""Every route of every service over HTTP, with error answers, lifecycles and concurrency."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest


def test_products_crud(http, product):
    p = product(stock=3)
    url = f"/api/products/{p['id']}"
    assert http.get(url).json() == p
    r = http.put(url, json={"stock": 4}, headers={"If-Match": f'"{p["version"]}"'})
    assert r.status_code == 200 and r.json()["stock"] == 4 and r.headers["ETag"] == '"2"'
    assert http.put(url, json={"stock": 5}, headers={"If-Match": '"1"'}).status_code == 412
    assert any(x["id"] == p["id"] for x in http.get("/api/products", params={"limit": 100}).json())
    assert http.delete(url).status_code == 204
    assert http.get(url).status_code == 404


def test_customers_crud(http, customer):
    c = customer()
    url = f"/api/customers/{c['id']}"
    assert http.get(url).json()["email"] == c["email"]
    assert http.put(url, json={"phone": "555"}).json()["phone"] == "555"
    dup = http.post("/api/customers", json={"name": "X", "email": c["email"].upper()})
    assert dup.status_code == 409
    assert isinstance(http.get("/api/customers").json(), list)
    assert http.delete(url).status_code == 204
    assert http.get(url).status_code == 404


def test_list_pagination_over_http(http, product):
    for _ in range(3):
        product()
    r = http.get("/api/products", params={"limit": 2})
    assert r.status_code == 200 and len(r.json()) == 2
    assert 'rel="next"' in r.headers["Link"]
    next_url = r.headers["Link"].split(">")[0].lstrip("<")
    assert http.get(next_url).status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("post", "/api/products", {"data": "{oops", "headers": {"Content-Type": "application/json"}}, 400),
        ("post", "/api/products", {"json": {"name": "", "price": -1}}, 422),
        ("post", "/api/products", {"json": {"name": "x", "price": 1, "description": "d" * 40000}}, 413),
        ("get", "/api/products/abc", {}, 400),
        ("get", "/api/products/999999", {}, 404),
        ("get", "/api/customers/999999", {}, 404),
        ("get", "/api/orders/999999", {}, 404),
        ("get", "/api/products", {"params": {"cursor": "forged"}}, 400),
        ("post", "/api/customers", {"json": {"name": "x", "email": "nope"}}, 422),
        ("post", "/api/orders", {"json": {"customerId": 1, "items": []}}, 422),
        ("put", "/api/orders/999999", {"json": {"status": "SHIPPED"}}, 404),
        ("delete", "/api/orders/999999", {}, 404),
    ],
)
def test_error_answers_share_one_shape(http, method, path, kwargs, status):
    r = getattr(http, method)(path, **kwargs)
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == status and body["title"] and body["detail"]
    assert "Traceback" not in r.text


def test_body_that_is_not_utf8_is_400_not_a_gateway_error(http):
    r = http.post(
        "/api/products", data=b'{"name": "\xff\xfe", "price": 1}', headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400
    assert r.headers["Content-Type"] == "application/problem+json"


def test_unrouted_method_reaches_the_front_door(http):
    # The API's `ANY /{proxy+}` route takes what no other route does, as on the deployed HTTP API
    # (tests/e2e/test_front_door.py has the rest).
    r = http.patch("/api/products/1")
    assert (r.status_code, r.headers["Allow"]) == (405, "DELETE, GET, PUT")
    assert r.headers["Content-Type"] == "application/problem+json" and "/api/docs" in r.json()["detail"]


def test_order_lifecycle_ship_deliver(http, product, customer):
    p, c = product(stock=5), customer()
    r = http.post("/api/orders", json={"customerId": c["id"], "items": [{"productId": p["id"], "quantity": 2}]})
    assert r.status_code == 201, r.text
    url = f"/api/orders/{r.json()['id']}"
    assert http.put(url, json={"status": "SHIPPED"}).json()["status"] == "SHIPPED"
    assert http.put(url, json={"status": "DELIVERED"}).json()["status"] == "DELIVERED"
    assert http.put(url, json={"status": "CANCELLED"}).status_code == 409
    assert http.get(f"/api/products/{p['id']}").json()["stock"] == 3
    assert [o["id"] for o in http.get("/api/orders", params={"customerId": c["id"]}).json()] == [r.json()["id"]]


def test_order_lifecycle_cancel_restocks(http, product, customer):
    p, c = product(stock=5), customer()
    r = http.post("/api/orders", json={"customerId": c["id"], "items": [{"productId": p["id"], "quantity": 5}]})
    assert r.status_code == 201
    assert http.get(f"/api/products/{p['id']}").json()["stock"] == 0
    url = f"/api/orders/{r.json()['id']}"
    assert http.put(url, json={"status": "CANCELLED"}).status_code == 200
    assert http.put(url, json={"status": "CANCELLED"}).status_code == 409
    assert http.get(f"/api/products/{p['id']}").json()["stock"] == 5
    assert http.delete(url).status_code == 204


def test_order_rejections(http, product, customer):
    p, c = product(stock=1), customer()
    short = http.post("/api/orders", json={"customerId": c["id"], "items": [{"productId": p["id"], "quantity": 2}]})
    assert short.status_code == 409
    unknown = http.post("/api/orders", json={"customerId": 999999, "items": [{"productId": p["id"], "quantity": 1}]})
    assert unknown.status_code == 422
    assert http.get(f"/api/products/{p['id']}").json()["stock"] == 1


def test_idempotent_retry_over_http(http, product, customer):
    p, c = product(stock=5), customer()
    body = {"customerId": c["id"], "items": [{"productId": p["id"], "quantity": 1}]}
    key = {"Idempotency-Key": f"e2e-{p['id']}"}
    first, second = (http.post("/api/orders", json=body, headers=key) for _ in range(2))
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert http.get(f"/api/products/{p['id']}").json()["stock"] == 4


@pytest.mark.slow  # a race: CI runs it with 4 execution environments per function (the slow tier)
def test_fifty_concurrent_orders_never_oversell(http, product, customer):
    p, c = product(stock=10), customer()
    body = {"customerId": c["id"], "items": [{"productId": p["id"], "quantity": 1}]}

    def place(_):
        import requests

        return requests.post(f"{http.base}/api/orders", headers=http.auth, json=body, timeout=60).status_code

    with ThreadPoolExecutor(50) as pool:
        statuses = list(pool.map(place, range(50)))

    assert statuses.count(201) == 10, statuses
    assert statuses.count(409) == 40, statuses
    assert http.get(f"/api/products/{p['id']}").json()["stock"] == 0
    assert len(http.get("/api/orders", params={"customerId": c["id"], "limit": 100}).json()) == 10


@pytest.mark.slow  # a race: CI runs it with 4 execution environments per function (the slow tier)
def test_concurrent_reads_see_their_own_answers(http, product):
    """No cross-talk between concurrent invocations of the same function."""
    ids = [product(name=f"n{i}")["id"] for i in range(12)]

    def fetch(pid):
        import requests

        return pid, requests.get(f"{http.base}/api/products/{pid}", headers=http.auth, timeout=30).json()["id"]

    with ThreadPoolExecutor(12) as pool:
        for asked, got in pool.map(fetch, ids * 3):
            assert asked == got


@pytest.mark.slow  # a race: CI runs it with 4 execution environments per function (the slow tier)
def test_concurrent_writes_to_one_function_keep_their_own_bodies(http):
    """Each concurrent invocation of the same function sees its own event, as in Lambda."""
    import requests

    def create(i):
        r = requests.post(
            f"{http.base}/api/products",
            headers=http.auth,
            json={"name": f"body-{i}", "price": 1, "stock": i},
            timeout=30,
        )
        return i, r.json()

    with ThreadPoolExecutor(16) as pool:
        for i, body in pool.map(create, range(48)):
            assert (body["name"], body["stock"]) == (f"body-{i}", i)
