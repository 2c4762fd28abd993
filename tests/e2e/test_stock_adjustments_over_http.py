"""Stock adjustments racing each other and orders, over HTTP against the local cloud: the stock
never goes below 0 and every unit is accounted for."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

pytestmark = pytest.mark.e2e


@pytest.mark.slow  # a race: CI runs it with 4 execution environments per function (the slow tier)
def test_concurrent_write_offs_never_take_stock_below_zero(http, product):
    p = product(stock=10)
    url = f"/api/products/{p['id']}/stock-adjustments"
    with ThreadPoolExecutor(12) as pool:
        replies = list(pool.map(lambda _: http.post(url, json={"delta": -1, "reason": "damaged"}), range(20)))
    statuses = sorted(r.status_code for r in replies)
    unexpected = [(r.status_code, r.text[:300]) for r in replies if r.status_code not in (200, 409)]
    assert statuses == [200] * 10 + [409] * 10, unexpected
    assert sorted(r.json()["stock"] for r in replies if r.status_code == 200)[0] == 0
    assert http.get(f"/api/products/{p['id']}").json()["stock"] == 0


def test_adjustments_and_orders_compose_without_losing_units(http, product, customer):
    p, c = product(stock=30), customer()
    adjust = f"/api/products/{p['id']}/stock-adjustments"
    order = {"customerId": c["id"], "items": [{"productId": p["id"], "quantity": 2}]}

    def act(i: int):
        if i % 2:
            return "order", http.post("/api/orders", json=order)
        return "adjust", http.post(adjust, json={"delta": 3, "reason": "received"})

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(act, range(16)))
    placed = sum(1 for kind, r in results if kind == "order" and r.status_code == 201)
    received = sum(1 for kind, r in results if kind == "adjust" and r.status_code == 200)
    # an order the workflow could not start in time on a loaded machine is refused with 503 and
    # "nothing was reserved" (docs/placement.md); the stock below proves nothing was taken for it
    refused = [r for kind, r in results if kind == "order" and r.status_code == 503]
    assert all("nothing was reserved" in r.json()["detail"] for r in refused), [r.text for r in refused]
    assert all(r.status_code in (200, 201, 409) for _, r in results if r not in refused), [r.text for _, r in results]
    assert received == 8
    assert http.get(f"/api/products/{p['id']}").json()["stock"] == 30 + 3 * received - 2 * placed
