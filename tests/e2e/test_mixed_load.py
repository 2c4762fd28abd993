"""A bounded mixed load over all three services from 16 threads (loopback): creates, reads,
updates, lists and orders (placed and cancelled). No request may get a 5xx, and afterwards no
unit of stock is lost or oversold."""

from __future__ import annotations

import random
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

# The slow tier (make test-slow): sixteen threads of traffic for a while.
pytestmark = pytest.mark.slow

THREADS = 16
ROUNDS = 4  # per thread; each round makes 6-10 requests
INITIAL_STOCK = 25


class Traffic:
    """One simulated client: browses, creates and updates customers and products, orders, cancels."""

    def __init__(self, base: str, products: list[int], customers: list[int], auth: dict[str, str]) -> None:
        self.base, self.products, self.customers, self.auth = base, products, customers, auth
        self.lock = threading.Lock()
        self.answers: list[tuple[str, int]] = []

    def record(self, label: str, response: requests.Response) -> requests.Response:
        with self.lock:
            self.answers.append((label, response.status_code))
        return response

    def user(self, seed: int) -> None:
        rnd, s, base = random.Random(seed), requests.Session(), self.base
        s.headers.update(self.auth)  # an admin's token
        for _ in range(ROUNDS):
            pid = rnd.choice(self.products)
            self.record("GET product", s.get(f"{base}/api/products/{pid}", timeout=60))
            self.record("GET products", s.get(f"{base}/api/products", params={"limit": 5}, timeout=60))
            self.customer_round(s)
            made = self.record(
                "POST product", s.post(f"{base}/api/products", json={"name": "M", "price": 2}, timeout=60)
            )
            if made.status_code == 201:
                url = f"{base}/api/products/{made.json()['id']}"
                self.record("PUT product", s.put(url, json={"price": 3}, timeout=60))
            order = {
                "customerId": rnd.choice(self.customers),
                "items": [{"productId": pid, "quantity": rnd.randint(1, 2)}],
            }
            placed = self.record("POST order", s.post(f"{base}/api/orders", json=order, timeout=60))
            if placed.status_code == 201 and rnd.random() < 0.3:
                url = f"{base}/api/orders/{placed.json()['id']}"
                self.record("PUT order", s.put(url, json={"status": "CANCELLED"}, timeout=60))
            self.record("GET orders", s.get(f"{base}/api/orders", params={"limit": 5}, timeout=60))

    def customer_round(self, s: requests.Session) -> None:
        body = {"name": "Mixed", "email": f"mixed-{uuid.uuid4().hex}@example.com"}
        created = self.record("POST customer", s.post(f"{self.base}/api/customers", json=body, timeout=60))
        if created.status_code == 201:
            url = f"{self.base}/api/customers/{created.json()['id']}"
            self.record("PUT customer", s.put(url, json={"phone": "555-0100"}, timeout=60))
            self.record("GET customer", s.get(url, timeout=60))


def held_by_live_orders(http, products: list[int], customers: list[int]) -> dict[int, int]:
    held = dict.fromkeys(products, 0)
    for cid in customers:
        for o in http.get("/api/orders", params={"customerId": cid, "limit": 100}).json():
            if o["status"] != "CANCELLED":
                for line in o["items"]:
                    held[line["productId"]] += line["quantity"]
    return held


def test_sixteen_threads_of_mixed_traffic_get_no_server_error(http, product, customer):
    products = [product(stock=INITIAL_STOCK, name=f"mixed-{i}")["id"] for i in range(3)]
    customers = [customer()["id"] for _ in range(2)]
    traffic = Traffic(http.base, products, customers, http.auth)

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(traffic.user, range(THREADS)))

    answers = traffic.answers
    assert [(label, status) for label, status in answers if status >= 500] == []
    assert len(answers) >= THREADS * ROUNDS * 6
    assert {(label, status) for label, status in answers if status not in (200, 201, 409)} == set()
    # stock conservation: stock + units held by orders not cancelled == initial, for each product
    held = held_by_live_orders(http, products, customers)
    for pid in products:
        stock = http.get(f"/api/products/{pid}").json()["stock"]
        assert stock >= 0
        assert stock + held[pid] == INITIAL_STOCK, (pid, stock, held[pid])
