"""A cancel (a transaction restocking the product) racing placements that reserve the same
product, each function in its own execution environments: stock is conserved.

The clients behave as the API asks (docs/placement.md): an order carries an Idempotency-Key and
is repeated with it after a 503's Retry-After (or on a 202) until its answer is final. A 503 is a
true answer in this race: a reservation refused for stock that a cancel gives back before the
refusal is explained, or a step that timed out on a loaded machine, is "not placed, nothing
kept, retry". What may never happen is a final answer other than 201 or 409, or a unit lost."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

# Races: CI runs them with 4 execution environments per function (the slow tier).
pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ATTEMPTS = 8  # of one request answered 503 (or, for an order, 202)


def as_a_client_would(send):
    """`send()` repeated after a 503's Retry-After (an order's 202 too), a few times: the final
    answer, and the busy answers on the way (each must be the documented problem)."""
    busy = []
    for _ in range(ATTEMPTS):
        response = send()
        if response.status_code not in (503, 202):
            return response, busy
        busy.append(response)
        time.sleep(min(float(response.headers.get("Retry-After", "1")), 2.0))
    return response, busy


def held_by_live_orders(http, customer_id, product_id):
    held, cursor = 0, None
    while True:
        params = {"customerId": customer_id, "limit": 100, **({"cursor": cursor} if cursor else {})}
        r = http.get("/api/orders", params=params)
        assert r.status_code == 200, r.text
        for order in r.json():
            if order["status"] != "CANCELLED":
                held += sum(line["quantity"] for line in order["items"] if line["productId"] == product_id)
        if 'rel="next"' not in r.headers.get("Link", ""):
            return held
        cursor = r.headers["Link"].split("cursor=", 1)[1].split(">", 1)[0]


def test_cancels_racing_placements_on_the_same_product_conserve_stock(http, product, customer):
    contested, other = product(stock=12), product(stock=50)
    buyer = customer()

    def place(quantity):
        items = [{"productId": contested["id"], "quantity": quantity}, {"productId": other["id"], "quantity": 1}]
        key = {"Idempotency-Key": str(uuid.uuid4())}
        return as_a_client_would(
            lambda: http.post("/api/orders", json={"customerId": buyer["id"], "items": items}, headers=key)
        )

    placed = [place(2)[0].json()["id"] for _ in range(4)]

    def work(n):
        if n < len(placed):
            return as_a_client_would(lambda: http.put(f"/api/orders/{placed[n]}", json={"status": "CANCELLED"}))
        return place(3)

    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(work, range(10)))

    statuses = [final.status_code for final, _ in answers]
    assert statuses[:4] == [200] * 4, [final.text for final, _ in answers[:4]]
    assert set(statuses[4:]) <= {201, 409}, [(final.status_code, final.text) for final, _ in answers]
    for refused in (r for _, busy in answers for r in busy if r.status_code == 503):
        assert refused.headers["Content-Type"] == "application/problem+json" and "Retry-After" in refused.headers
    for item, initial in ((contested, 12), (other, 50)):
        stock = http.get(f"/api/products/{item['id']}").json()["stock"]
        assert stock >= 0
        assert stock + held_by_live_orders(http, buyer["id"], item["id"]) == initial
