"""Domain events on the local cloud, as a developer gets them from `make dev`: a rule they add on
the bus to a queue of theirs receives every change within seconds, published by the template's
function from the tables' streams. Every event received is checked against docs/events/."""

from __future__ import annotations

import time
import uuid

import pytest

from events.models import CATALOGUE
from localcloud.events_tail import Subscription, line
from tests.support import catalog

pytestmark = pytest.mark.e2e


@pytest.fixture
def subscriber(local_cloud):
    bus = local_cloud.event_buses["SalesEventBus"]
    name = f"e2e-{uuid.uuid4().hex[:8]}"
    with Subscription(local_cloud.client("events"), local_cloud.client("sqs"), bus, name) as subscription:
        yield Received(subscription)


class Received:
    """What the subscriber's queue got, kept across polls."""

    def __init__(self, subscription: Subscription) -> None:
        self.subscription = subscription
        self.events: list[dict] = []

    def poll(self) -> None:
        self.events.extend(self.subscription.receive(wait_seconds=1))

    def until(self, predicate, timeout: float = 30.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while not predicate(self.events):
            if time.monotonic() > deadline:
                raise AssertionError(f"not received in {timeout}s; got:\n" + "\n".join(map(line, self.events)))
            self.poll()
        return self.events

    def about(self, source: str, entity_id: int) -> list[dict]:
        return [e for e in self.events if e["source"] == source and e["detail"]["id"] == entity_id]


def has(source, entity_id, *detail_types):
    def check(events):
        got = [e["detail-type"] for e in events if e["source"] == source and e["detail"]["id"] == entity_id]
        return all(t in got for t in detail_types)

    return check


def test_every_event_type_reaches_a_rule_on_the_bus_with_its_envelope(http, product, customer, subscriber):
    laptop = product(stock=10)
    spare = product(stock=1)
    pid = laptop["id"]
    renamed = http.put(f"/api/products/{pid}", json={"name": "Laptop Pro"}).json()
    http.post(f"/api/products/{pid}/stock-adjustments", json={"delta": -1, "reason": "damaged"})
    assert http.delete(f"/api/products/{spare['id']}").status_code == 204
    ann, bob = customer(), customer()
    http.put(f"/api/customers/{ann['id']}", json={"phone": "123"})
    assert http.delete(f"/api/customers/{bob['id']}").status_code == 204
    placed = http.post("/api/orders", json={"customerId": ann["id"], "items": [{"productId": pid, "quantity": 5}]})
    assert placed.status_code == 201, placed.text  # 9 -> 4: at or below the default threshold (5)
    oid = placed.json()["id"]
    http.put(f"/api/orders/{oid}", json={"status": "CANCELLED"})
    assert http.delete(f"/api/orders/{oid}").status_code == 204

    events = subscriber.until(
        lambda got: (
            has("sales.products", pid, "ProductCreated", "ProductUpdated", "StockAdjusted", "StockLow")(got)
            and has("sales.products", spare["id"], "ProductDeleted")(got)
            and has("sales.customers", bob["id"], "CustomerCreated", "CustomerDeleted")(got)
            and has("sales.customers", ann["id"], "CustomerUpdated")(got)
            and has("sales.orders", oid, "OrderPlaced", "OrderStatusChanged", "OrderDeleted")(got)
        )
    )

    mine = [
        e
        for e in events
        if (e["source"], e["detail"]["id"])
        in {
            ("sales.products", pid),
            ("sales.products", spare["id"]),
            ("sales.customers", ann["id"]),
            ("sales.customers", bob["id"]),
            ("sales.orders", oid),
        }
    ]
    assert sorted({e["detail-type"] for e in mine}) == sorted(m.detail_type() for m in CATALOGUE)
    for event in mine:
        assert catalog.problems(event["source"], event["detail-type"], event["detail"]) == []
        assert set(event["detail"]) >= {"eventId", "occurredAt", "actor", "id", "version", "data"}
    created = next(e for e in mine if e["detail-type"] == "ProductCreated" and e["detail"]["id"] == pid)
    assert created["detail"]["data"] == laptop and created["detail"]["actor"] == laptop["createdBy"]
    updated = next(e for e in mine if e["detail-type"] == "ProductUpdated")
    assert updated["detail"]["data"] == renamed
    low = next(e for e in mine if e["detail-type"] == "StockLow")
    assert (low["detail"]["stock"], low["detail"]["threshold"], low["detail"]["actor"]) == (4, 5, "system")


def test_a_rejected_order_publishes_nothing(http, product, customer, subscriber):
    laptop = product(stock=2)
    ann = customer()
    assert (
        http.post(
            "/api/orders", json={"customerId": ann["id"], "items": [{"productId": laptop["id"], "quantity": 3}]}
        ).status_code
        == 409
    )
    assert (
        http.post(
            "/api/orders", json={"customerId": 10**9, "items": [{"productId": laptop["id"], "quantity": 1}]}
        ).status_code
        == 422
    )
    http.put(f"/api/products/{laptop['id']}", json={"name": "marker"})  # a change published after them
    subscriber.until(has("sales.products", laptop["id"], "ProductUpdated"))
    about = subscriber.about("sales.products", laptop["id"])
    assert [e["detail-type"] for e in about] == ["ProductCreated", "ProductUpdated"]  # no StockLow, no order
    assert not [
        e for e in subscriber.events if e["source"] == "sales.orders" and e["detail"]["data"]["customerId"] == ann["id"]
    ]


def test_events_of_one_entity_arrive_in_version_order_and_once_per_change(http, product, subscriber):
    laptop = product(stock=50)
    pid = laptop["id"]
    for i in range(8):
        http.put(f"/api/products/{pid}", json={"price": 10 + i})
        http.post(f"/api/products/{pid}/stock-adjustments", json={"delta": 1, "reason": f"r{i}"})
    subscriber.until(
        lambda got: (
            len({e["detail"]["eventId"] for e in got if e["detail"]["id"] == pid and e["source"] == "sales.products"})
            == 17
        )
    )
    versions = [e["detail"]["version"] for e in subscriber.about("sales.products", pid)]
    assert versions == sorted(versions) == list(range(1, 18))


def test_make_events_prints_a_line_per_event(http, product, subscriber):
    laptop = product(stock=9)
    subscriber.until(has("sales.products", laptop["id"], "ProductCreated"))
    (event,) = subscriber.about("sales.products", laptop["id"])
    text = line(event)
    assert f"ProductCreated      product {laptop['id']} v1" in text and text.endswith("Widget, 5.5, stock 9")


def test_the_archive_keeps_the_events_for_replays(local_cloud, product, subscriber):
    events = local_cloud.client("events")
    archive = "sales-events-dev"
    before = events.describe_archive(ArchiveName=archive)["EventCount"]
    laptop = product()
    subscriber.until(has("sales.products", laptop["id"], "ProductCreated"))
    assert events.describe_archive(ArchiveName=archive)["EventCount"] > before
