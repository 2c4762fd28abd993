"""Deletes racing order placements, for real (issue 24): each function in its own execution
environments, requests released together, repeated. Whatever the interleaving, no order ever
refers to a customer or product that was deleted: either the delete lands first (and the order is
refused, 422) or the placement marked the record first (and the delete is refused, 409)."""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

# A race, 16 rounds: CI runs it with 4 execution environments per function (the slow tier); the
# fast loop's 1 environment per function would serialise the requests it races.
pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROUNDS = 16


def race(http, item: dict, buyer: dict, delays: list[float]):
    """Place an order for `buyer` of `item` while deleting both, each after its delay from a
    common start; the three answers."""
    start = threading.Barrier(3)
    body = {"customerId": buyer["id"], "items": [{"productId": item["id"], "quantity": 1}]}
    calls = [
        lambda: http.post("/api/orders", json=body),
        lambda: http.delete(f"/api/products/{item['id']}"),
        lambda: http.delete(f"/api/customers/{buyer['id']}"),
    ]

    def run(i: int):
        start.wait()
        threading.Event().wait(delays[i])
        return calls[i]()

    with ThreadPoolExecutor(3) as pool:
        return list(pool.map(run, range(3)))


def test_deletes_racing_placements_never_orphan_an_order(http, product, customer):
    rng = random.Random(24)
    outcomes = set()
    for round_ in range(ROUNDS):
        item, buyer = product(stock=5), customer()
        # the deletes: with the placement, well after it, or anywhere in between (most rounds)
        spread = {0: (0.0, 0.0), 1: (1.5, 1.5)}.get(round_ % 4, (0.0, 0.5))
        order, dp, dc = race(http, item, buyer, [0.0, rng.uniform(*spread), rng.uniform(*spread)])

        assert order.status_code in (201, 422), order.text
        assert dp.status_code in (204, 409) and dc.status_code in (204, 409), (dp.text, dc.text)
        if order.status_code == 201:
            # the order stands: neither of what it refers to may have been deleted
            assert (dp.status_code, dc.status_code) == (409, 409), (dp.text, dc.text)
            assert http.get(f"/api/products/{item['id']}").status_code == 200
            assert http.get(f"/api/customers/{buyer['id']}").status_code == 200
        else:
            assert 204 in (dp.status_code, dc.status_code), order.text
        orders = http.get("/api/orders", params={"customerId": buyer["id"]}).json()
        assert len(orders) == (1 if order.status_code == 201 else 0)
        outcomes.add((order.status_code, dp.status_code, dc.status_code))
    # both sides of the race were seen, not only one
    assert any(o[0] == 201 for o in outcomes) and any(o[0] == 422 for o in outcomes), outcomes
