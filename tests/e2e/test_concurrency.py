"""Racing writers through the local cloud, whose functions run in separate execution
environments (processes), as on Lambda: ids, email uniqueness, version conflicts, cancels and
idempotent retries. (They used to run on threads in-process; see tests/integration for the sequential
behaviour.)"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

# Races: CI runs them with 4 execution environments per function (the slow tier).
pytestmark = pytest.mark.slow


def _pool(n, fn, items):
    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(fn, items))


def test_concurrent_creates_get_distinct_consecutive_ids(http):
    def create(i):
        r = requests.post(
            f"{http.base}/api/products",
            json={"name": f"race-{i}", "price": 1, "stock": 1},
            headers=http.auth,
            timeout=60,
        )
        assert r.status_code == 201, r.text
        return r.json()["id"]

    ids = _pool(8, create, range(40))
    assert len(set(ids)) == 40
    assert sorted(ids) == list(range(min(ids), min(ids) + 40))


def test_concurrent_conditional_puts_have_one_winner(http, product):
    p = product(stock=1)
    url = f"{http.base}/api/products/{p['id']}"

    def put(i):
        return requests.put(url, json={"stock": i}, headers={**http.auth, "If-Match": '"1"'}, timeout=60).status_code

    statuses = _pool(8, put, range(12))
    assert sorted(statuses) == [200] + [412] * 11
    assert http.get(f"/api/products/{p['id']}").json()["version"] == 2


def test_concurrent_creates_with_one_email_have_exactly_one_winner(http, local_cloud):
    local = f"race-{uuid.uuid4().hex[:10]}"
    spellings = [f"{local}@x.io", f"{local.upper()}@X.IO"]

    def attempt(i):
        body = {"name": f"n{i}", "email": spellings[i % 2]}
        return requests.post(f"{http.base}/api/customers", json=body, headers=http.auth, timeout=60).status_code

    statuses = _pool(8, attempt, range(16))
    assert sorted(statuses) == [201] + [409] * 15
    scan = local_cloud.client("dynamodb").scan(TableName=local_cloud.tables["CustomersTable"])["Items"]
    holders = [i for i in scan if i.get("email", {}).get("S", "").casefold() == spellings[0].casefold()]
    assert len(holders) == 1
    locks = [i["pk"]["S"] for i in scan if i["pk"]["S"].casefold() == f"EMAIL#{spellings[0]}".casefold()]
    assert locks == [f"EMAIL#{spellings[0]}"]


def test_concurrent_cancels_restock_once(http, product, customer):
    p, c = product(stock=10), customer()
    r = http.post("/api/orders", json={"customerId": c["id"], "items": [{"productId": p["id"], "quantity": 3}]})
    assert r.status_code == 201, r.text
    url = f"{http.base}/api/orders/{r.json()['id']}"

    statuses = _pool(
        6,
        lambda _: requests.put(url, json={"status": "CANCELLED"}, headers=http.auth, timeout=60).status_code,
        range(6),
    )
    assert statuses.count(200) == 1
    assert statuses.count(409) == 5
    assert http.get(f"/api/products/{p['id']}").json()["stock"] == 10


def test_racing_retries_place_one_order(http, product, customer):
    p, c = product(stock=10), customer()
    body = {"customerId": c["id"], "items": [{"productId": p["id"], "quantity": 1}]}
    key = {"Idempotency-Key": f"race-{uuid.uuid4().hex}"}

    def place(_):
        r = requests.post(f"{http.base}/api/orders", json=body, headers={**http.auth, **key}, timeout=60)
        return r.status_code, r.json()

    replies = _pool(6, place, range(6))
    assert {status for status, _ in replies} == {201}
    assert len({body["id"] for _, body in replies}) == 1
    assert http.get(f"/api/products/{p['id']}").json()["stock"] == 9
    assert len(http.get("/api/orders", params={"customerId": c["id"]}).json()) == 1
