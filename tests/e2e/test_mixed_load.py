"""A bounded mixed load over all three services from 16 threads (loopback): creates, reads,
updates, lists and orders (placed and cancelled). No request may get a 5xx, and afterwards no
unit of stock is lost or oversold."""

from __future__ import annotations

import random
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests

THREADS = 16
ROUNDS = 6  # per thread; each round makes 6-8 requests
INITIAL_STOCK = 25


def test_sixteen_threads_of_mixed_traffic_get_no_server_error(http, product, customer):
    products = [product(stock=INITIAL_STOCK, name=f"mixed-{i}")["id"] for i in range(3)]
    customers = [customer()["id"] for _ in range(2)]
    lock = threading.Lock()
    answers: list[tuple[str, int]] = []

    def record(label: str, response: requests.Response) -> requests.Response:
        with lock:
            answers.append((label, response.status_code))
        return response

    def user(seed: int) -> None:
        rnd = random.Random(seed)
        s = requests.Session()
        base = http.base
        for _ in range(ROUNDS):
            pid = rnd.choice(products)
            record("GET product", s.get(f"{base}/api/products/{pid}", timeout=60))
            record("GET products", s.get(f"{base}/api/products", params={"limit": 5}, timeout=60))
            body = {"name": "Mixed", "email": f"mixed-{uuid.uuid4().hex}@example.com"}
            created = record("POST customer", s.post(f"{base}/api/customers", json=body, timeout=60))
            if created.status_code == 201:
                cid = created.json()["id"]
                record("PUT customer", s.put(f"{base}/api/customers/{cid}", json={"phone": "555-0100"}, timeout=60))
                record("GET customer", s.get(f"{base}/api/customers/{cid}", timeout=60))
            made = record("POST product", s.post(f"{base}/api/products", json={"name": "M", "price": 2}, timeout=60))
            if made.status_code == 201:
                record("PUT product", s.put(f"{base}/api/products/{made.json()['id']}", json={"price": 3}, timeout=60))
            order = {"customerId": rnd.choice(customers), "items": [{"productId": pid, "quantity": rnd.randint(1, 2)}]}
            placed = record("POST order", s.post(f"{base}/api/orders", json=order, timeout=60))
            if placed.status_code == 201 and rnd.random() < 0.3:
                url = f"{base}/api/orders/{placed.json()['id']}"
                record("PUT order", s.put(url, json={"status": "CANCELLED"}, timeout=60))
            record("GET orders", s.get(f"{base}/api/orders", params={"limit": 5}, timeout=60))

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(user, range(THREADS)))

    server_errors = [(label, status) for label, status in answers if status >= 500]
    assert server_errors == []
    assert len(answers) >= THREADS * ROUNDS * 6
    unexpected = {(label, status) for label, status in answers if status not in (200, 201, 409)}
    assert unexpected == set()
    # stock conservation: stock + units held by orders not cancelled == initial, for each product
    held = dict.fromkeys(products, 0)
    for cid in customers:
        for o in http.get("/api/orders", params={"customerId": cid, "limit": 100}).json():
            if o["status"] != "CANCELLED":
                for line in o["items"]:
                    held[line["productId"]] += line["quantity"]
    for pid in products:
        stock = http.get(f"/api/products/{pid}").json()["stock"]
        assert stock >= 0
        assert stock + held[pid] == INITIAL_STOCK, (pid, stock, held[pid])
