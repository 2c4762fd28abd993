"""Exactly once per eventId and in any order, on DynamoDB (moto): the events a shop really
published (through the API, the streams, the publisher and the bus), delivered to the projector
reversed, shuffled, each more than once, in batches, concurrently: the reports are the same as
from one delivery in order. And the store's own guards: a duplicate refused by its marker, a row
changed since it was read refused by its `rev`."""

from __future__ import annotations

import random
import threading
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reports.events import parse
from reports.projection import needs, plan
from reports.projector import Outcome, Projector
from reports.store import Duplicate, ReportStore, Stale
from sales_common.settings import ServiceSettings
from tests.support import reports as support
from tests.support.reports import EventPath

pytestmark = pytest.mark.protocol  # the protocol tier: `make test-protocol` (docs/testing.md, "Tiers")

QUERIES = [
    "/api/reports/sales?from=2026-04-01&to=2026-04-03&groupBy=day",
    "/api/reports/sales?from=2026-04-01&to=2026-04-03&groupBy=product",
    "/api/reports/sales?from=2026-04-01&to=2026-04-03&groupBy=customer",
    "/api/reports/low-stock",
    "/api/reports/low-stock?threshold=100",
]


@pytest.fixture
def published(api, cloud, monkeypatch):
    """A shop's events as the projector's queue received them (in order), once projected live."""
    import orders.placement

    path = EventPath(cloud)

    def day(d):
        monkeypatch.setattr(orders.placement, "now_iso", lambda: f"2026-04-0{d}T09:30:00.000Z")

    def post(route, body):
        reply = api.post(route, body)
        assert reply.status == 201, reply.raw
        return reply.json["id"]

    a = post("/api/products", {"name": "A", "price": Decimal("12.50"), "stock": 9, "lowStockThreshold": 5})
    b = post("/api/products", {"name": "B", "price": 3, "stock": 30})
    ann = post("/api/customers", {"name": "Ann", "email": "ann@example.com"})
    bob = post("/api/customers", {"name": "Bob", "email": "bob@example.com"})
    day(1)
    first = post("/api/orders", {"customerId": ann, "items": [{"productId": a, "quantity": 3}]})
    post(
        "/api/orders", {"customerId": bob, "items": [{"productId": a, "quantity": 1}, {"productId": b, "quantity": 4}]}
    )
    api.post(f"/api/products/{a}/stock-adjustments", {"delta": -2, "reason": "damaged"})
    day(2)
    api.put(f"/api/orders/{first}", {"status": "CANCELLED"})
    third = post("/api/orders", {"customerId": ann, "items": [{"productId": b, "quantity": 2}]})
    api.put(f"/api/orders/{third}", {"status": "SHIPPED"})
    api.put(f"/api/products/{b}", {"name": "B2"})
    day(3)
    fourth = post("/api/orders", {"customerId": bob, "items": [{"productId": a, "quantity": 2}]})
    assert api.delete(f"/api/orders/{fourth}").status == 204
    api.put(f"/api/customers/{bob}", {"name": "Robert"})
    post("/api/orders", {"customerId": bob, "items": [{"productId": a, "quantity": 1}]})
    path.sync()
    live = support.reports("ReportsTable", QUERIES)
    assert live[QUERIES[0]]["totals"] == {"orders": 4, "cancelled": 1, "units": 8, "revenue": 43}
    assert [(i["name"], i["stock"]) for i in live[QUERIES[3]]] == [("A", 5)]  # 9-3-1-2+3-2+2-1
    return path.delivered, live


def test_every_event_twice_in_reverse_order_gives_the_same_reports(cloud, published):
    events, live = published
    table = support.fresh_table(cloud)
    doubled = [e for e in reversed(events) for _ in range(2)]
    answers = support.deliver(table, doubled, batch_size=7)
    assert all(a == {"batchItemFailures": []} for a in answers)
    assert support.reports(table, QUERIES) == live


@pytest.mark.slow  # a sweep (hypothesis, each example a whole delivery): the slow tier
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_order_with_duplicates_gives_the_same_reports(cloud, published, data):
    events, live = published
    copies = data.draw(st.lists(st.integers(1, 3), min_size=len(events), max_size=len(events)))
    delivered = [e for e, n in zip(events, copies, strict=True) for _ in range(n)]
    data.draw(st.randoms(use_true_random=False)).shuffle(delivered)
    table = support.fresh_table(cloud)
    support.deliver(table, delivered, batch_size=data.draw(st.integers(1, 10)))
    assert support.reports(table, QUERIES) == live


@pytest.mark.slow  # a race (four consumers at once): the slow tier
def test_concurrent_consumers_apply_each_event_once(cloud, published):
    """Four consumers at once (as Lambda runs batches in parallel): events that meet on a row
    refuse each other's stale writes and plan again; nothing counts twice or goes missing."""
    events, live = published
    table = support.fresh_table(cloud)
    store = ReportStore(ServiceSettings(TABLE_NAME=table))
    projector = Projector(store, attempts=50, backoff_seconds=0.001)
    work = [parse(e) for e in events for _ in range(2)]
    random.Random(7).shuffle(work)
    outcomes: list[Outcome] = []
    lock = threading.Lock()

    def consume(share):
        for event in share:
            outcome = projector.apply(event)
            with lock:
                outcomes.append(outcome)

    threads = [threading.Thread(target=consume, args=(work[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    store.advance_as_of(max(e.occurred_at for e in work))
    assert outcomes.count(Outcome.APPLIED) == len(events)
    assert outcomes.count(Outcome.DUPLICATE) == len(events)
    assert support.reports(table, QUERIES) == live


def test_the_store_refuses_a_duplicate_and_a_stale_plan(cloud, published):
    events, _ = published
    table = support.fresh_table(cloud)
    store = ReportStore(ServiceSettings(TABLE_NAME=table))
    placed = next(parse(e) for e in events if e["detail-type"] == "OrderPlaced")
    adjusted = next(parse(e) for e in events if e["detail-type"] == "StockAdjusted")
    assert placed.order().items[0].product_id == adjusted.detail.id  # both move product A's stock

    stale_rows = store.read(placed, *needs(placed))
    Projector(store).apply(adjusted)  # lands between the read and the write
    with pytest.raises(Stale):
        store.apply(placed, plan(placed, stale_rows))
    assert Projector(store).apply(placed) is Outcome.APPLIED  # read again, planned again
    with pytest.raises(Duplicate):
        store.read(placed, *needs(placed))
    with pytest.raises(Duplicate):
        store.apply(placed, plan(placed, stale_rows))  # the marker refuses the whole transaction
    product = support.row_of(cloud, "PRODUCT", adjusted.detail.id, table)
    assert product["stock"] == -2 - 3  # adjusted -2, the order -3, once each (its creation not delivered here)
