"""A cancel (a transaction restocking the product) racing placements that reserve the same
product, each function in its own execution environments: stock is conserved."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

# Races: CI runs them with 4 execution environments per function (the slow tier).
pytestmark = [pytest.mark.e2e, pytest.mark.slow]


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
        return http.post("/api/orders", json={"customerId": buyer["id"], "items": items})

    placed = [place(2).json()["id"] for _ in range(4)]

    def work(n):
        if n < len(placed):
            return http.put(f"/api/orders/{placed[n]}", json={"status": "CANCELLED"}).status_code
        return place(3).status_code

    with ThreadPoolExecutor(10) as pool:
        statuses = list(pool.map(work, range(10)))

    assert statuses[:4] == [200] * 4
    assert set(statuses[4:]) <= {201, 409}, statuses
    for item, initial in ((contested, 12), (other, 50)):
        stock = http.get(f"/api/products/{item['id']}").json()["stock"]
        assert stock >= 0
        assert stock + held_by_live_orders(http, buyer["id"], item["id"]) == initial
