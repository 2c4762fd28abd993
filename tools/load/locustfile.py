"""The load scenario, run by `python -m tools.load.run` (which starts the local cloud, seeds it and
hands this file its ids through LOAD_* environment variables).

Each simulated user browses the catalog (list + get), creates customers, places orders over a few
shared products with small stock, and cancels or deletes some of its own orders. Every request's
latency and outcome is recorded exactly (not locust's rounded histogram) and written, with the ids
of the orders placed, cancelled and deleted, to LOAD_SAMPLES at the end; the run stops at
LOAD_MAX_REQUESTS requests or at --run-time, whichever comes first.

A 409 on POST /api/orders (insufficient stock) and on a status change another request already made
are expected business answers, recorded as `expected` and not as failures.
"""

from __future__ import annotations

import json
import os
import random
import threading
import uuid
from typing import Any

from locust import HttpUser, between, events, task

PRODUCTS: list[int] = json.loads(os.environ.get("LOAD_PRODUCTS", "[]"))
CUSTOMERS: list[int] = json.loads(os.environ.get("LOAD_CUSTOMERS", "[]"))
MAX_REQUESTS = int(os.environ.get("LOAD_MAX_REQUESTS", "2000"))
SAMPLES_PATH = os.environ.get("LOAD_SAMPLES", "")
SEED = int(os.environ.get("LOAD_SEED", "1"))
TOKEN = os.environ.get("LOAD_TOKEN", "")  # an admin's access token (shoppers delete orders)

_lock = threading.Lock()
_samples: list[tuple[str, int, float, str]] = []  # (endpoint, status, ms, outcome)
_placed: list[int] = []
_cancelled: list[int] = []
_deleted: list[int] = []
_user_counter = iter(range(1, 1_000_000))


@events.request.add_listener
def _on_request(request_type: str, name: str, response_time: float, response: Any, exception: Any, context: dict,
                **_: Any) -> None:  # fmt: skip
    status = getattr(response, "status_code", 0) or 0
    if exception is not None and status == 0:
        outcome = "error"
    elif status >= 500:
        outcome = "server_error"
    elif status in context.get("expected", ()):
        outcome = "expected"
    elif status >= 400:
        outcome = "unexpected"
    else:
        outcome = "ok"
    with _lock:
        _samples.append((f"{request_type} {name}", status, float(response_time), outcome))
        done = len(_samples) >= MAX_REQUESTS
    if done:
        runner = _environment.runner if _environment else None
        if runner is not None and runner.state not in ("stopping", "stopped", "cleanup"):
            # quit() from inside a request would kill this greenlet mid-listener; let it return first
            import gevent

            gevent.spawn_later(0, runner.quit)


_environment: Any = None


@events.init.add_listener
def _on_init(environment: Any, **_: Any) -> None:
    global _environment
    _environment = environment


@events.quitting.add_listener
def _on_quitting(environment: Any, **_: Any) -> None:
    if not SAMPLES_PATH:
        return
    with _lock:
        data = {
            "samples": _samples,
            "placed": _placed,
            "cancelled": _cancelled,
            "deleted": _deleted,
        }
    with open(SAMPLES_PATH, "w", encoding="utf-8") as f:
        json.dump(data, f)


class Shopper(HttpUser):
    wait_time = between(0.0, 0.02)

    def on_start(self) -> None:
        self.number = next(_user_counter)
        self.rng = random.Random(SEED * 1000 + self.number)
        self.my_orders: list[tuple[int, str]] = []  # (id, ETag)
        if TOKEN:
            self.client.headers["Authorization"] = f"Bearer {TOKEN}"

    # ------------------------------------------------------------ browsing
    @task(4)
    def list_products(self) -> None:
        limit = self.rng.choice((5, 20, 50))
        self.client.get(f"/api/products?limit={limit}", name="/api/products")

    @task(4)
    def get_product(self) -> None:
        self.client.get(f"/api/products/{self.rng.choice(PRODUCTS)}", name="/api/products/{id}")

    # ------------------------------------------------------------ customers
    @task(1)
    def create_customer(self) -> None:
        body = {"name": f"Load {self.number}", "email": f"load-{uuid.uuid4().hex[:16]}@example.com"}
        self.client.post("/api/customers", json=body, name="/api/customers")

    # ------------------------------------------------------------ orders
    @task(4)
    def place_order(self) -> None:
        chosen = self.rng.sample(PRODUCTS, k=self.rng.choice((1, 1, 2, 3)))
        items = [{"productId": p, "quantity": self.rng.randint(1, 3)} for p in chosen]
        body = {"customerId": self.rng.choice(CUSTOMERS), "items": items}
        with self.client.post(
            "/api/orders", json=body, name="/api/orders", catch_response=True, context={"expected": (409,)}
        ) as response:
            if response.status_code == 201:
                order = response.json()
                self.my_orders.append((order["id"], response.headers.get("ETag", "")))
                with _lock:
                    _placed.append(order["id"])
            elif response.status_code == 409:
                response.success()  # insufficient stock: the business answer, not a failure

    @task(2)
    def cancel_order(self) -> None:
        if not self.my_orders:
            return
        order_id, _ = self.my_orders.pop(self.rng.randrange(len(self.my_orders)))
        with self.client.put(
            f"/api/orders/{order_id}",
            json={"status": "CANCELLED"},
            name="/api/orders/{id} (cancel)",
            catch_response=True,
        ) as response:
            if response.status_code == 200:
                with _lock:
                    _cancelled.append(order_id)

    @task(1)
    def delete_order(self) -> None:
        if not self.my_orders:
            return
        order_id, etag = self.my_orders.pop(self.rng.randrange(len(self.my_orders)))
        headers = {"If-Match": etag} if etag else {}
        with self.client.delete(
            f"/api/orders/{order_id}", headers=headers, name="/api/orders/{id}", catch_response=True
        ) as response:
            if response.status_code == 204:
                with _lock:
                    _deleted.append(order_id)
