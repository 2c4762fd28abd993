"""Domain events, from the API's writes through the tables' streams, the publisher and the bus to
a subscriber: a rule on the bus to a queue, as any consumer would subscribe.

The stream event source mappings are the local cloud's own (localcloud.event_sources), run here
in-process over moto (tests/support/streams.py); the publisher is template.yaml's function. Every
event published here is also checked against docs/events/ (tests/conftest.py)."""

from __future__ import annotations

import json
from collections import defaultdict

import boto3
import pytest

from events.models import CATALOGUE
from localcloud.events_tail import Subscription
from tests.support import faults as fault_support
from tests.support.streams import StreamMappings

pytestmark = pytest.mark.protocol  # the protocol tier: `make test-protocol` (docs/testing.md, "Tiers")

ACTOR = "admin-user"  # the username tests/support/apigw's admin claims carry


@pytest.fixture
def bus(cloud):
    events = boto3.client("events", region_name="us-east-1")
    with Subscription(events, cloud.sqs, cloud.event_buses["SalesEventBus"], "test-subscriber") as subscription:
        yield subscription


@pytest.fixture
def mappings(cloud):
    return StreamMappings(cloud, cloud.refs)


@pytest.fixture
def published(mappings, bus):
    """Deliver what the streams hold, then everything the subscriber received so far (in order)."""
    seen: list[dict] = []

    def collect() -> list[dict]:
        mappings.drain()
        while batch := bus.receive(wait_seconds=0):
            seen.extend(batch)
        return list(seen)

    return collect


@pytest.fixture
def waits(monkeypatch):
    """The workflow's retry intervals, recorded instead of slept."""
    from types import SimpleNamespace

    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

    recorded: list[float] = []
    monkeypatch.setattr(retrier_decl, "time", SimpleNamespace(sleep=recorded.append))
    return recorded


def of_type(events, detail_type):
    return [e for e in events if e["detail-type"] == detail_type]


def details(events, detail_type=None, entity_id=None):
    return [
        e["detail"]
        for e in events
        if (detail_type is None or e["detail-type"] == detail_type)
        and (entity_id is None or e["detail"]["id"] == entity_id)
    ]


def product(api, stock=10, threshold=None, name="Widget", price=5):
    body = {"name": name, "price": price, "stock": stock}
    if threshold is not None:
        body["lowStockThreshold"] = threshold
    reply = api.post("/api/products", body)
    assert reply.status == 201, reply.raw
    return reply.json


def customer(api, email="c@example.com"):
    reply = api.post("/api/customers", {"name": "C", "email": email})
    assert reply.status == 201, reply.raw
    return reply.json


def order(api, customer_id, *lines):
    return api.post(
        "/api/orders", {"customerId": customer_id, "items": [{"productId": p, "quantity": q} for p, q in lines]}
    )


# ---------------------------------------------------------------- every event type
def test_every_change_publishes_its_event_once_with_the_envelope(api, published):
    laptop = product(api, stock=10, threshold=5, name="Laptop")
    spare = product(api, name="Spare")
    renamed = api.put(f"/api/products/{laptop['id']}", {"name": "Laptop Pro"}).json
    adjusted = api.post(f"/api/products/{laptop['id']}/stock-adjustments", {"delta": -1, "reason": "damaged"}).json
    assert api.delete(f"/api/products/{spare['id']}").status == 204
    ann = customer(api, "ann@example.com")
    bob = customer(api, "bob@example.com")
    moved = api.put(f"/api/customers/{ann['id']}", {"address": "1 Main St"}).json
    assert api.delete(f"/api/customers/{bob['id']}").status == 204
    placed = order(api, ann["id"], (laptop["id"], 5)).json  # 9 -> 4: at or below 5
    shipped = api.put(f"/api/orders/{placed['id']}", {"status": "SHIPPED"}).json
    second = order(api, ann["id"], (laptop["id"], 1)).json
    cancelled = api.put(f"/api/orders/{second['id']}", {"status": "CANCELLED"}).json
    assert api.delete(f"/api/orders/{second['id']}").status == 204

    events = published()

    assert sorted({e["detail-type"] for e in events}) == sorted(m.detail_type() for m in CATALOGUE)
    expected = [
        ("sales.products", "ProductCreated", laptop),
        ("sales.products", "ProductCreated", spare),
        ("sales.products", "ProductUpdated", renamed),
        ("sales.products", "StockAdjusted", adjusted),
        ("sales.products", "ProductDeleted", spare),
        ("sales.customers", "CustomerCreated", ann),
        ("sales.customers", "CustomerCreated", bob),
        ("sales.customers", "CustomerUpdated", moved),
        ("sales.customers", "CustomerDeleted", bob),
        ("sales.orders", "OrderPlaced", placed),
        ("sales.orders", "OrderStatusChanged", shipped),
        ("sales.orders", "OrderPlaced", second),
        ("sales.orders", "OrderStatusChanged", cancelled),
        ("sales.orders", "OrderDeleted", cancelled),
    ]
    for source, detail_type, entity in expected:
        (event,) = [
            e
            for e in events
            if e["detail-type"] == detail_type
            and e["detail"]["id"] == entity["id"]
            and e["source"] == source
            and e["detail"]["version"] == entity["version"]
        ]
        detail = event["detail"]
        assert detail["data"] == entity, detail_type  # the entity exactly as the API answered it
        assert detail["actor"] == ACTOR
        assert set(detail) >= {"eventId", "occurredAt", "actor", "id", "version", "data"}
    assert len(events) == len(expected) + 1  # and one StockLow

    (low,) = details(events, "StockLow")
    assert (low["id"], low["stock"], low["threshold"], low["actor"]) == (laptop["id"], 4, 5, "system")
    (change,) = details(events, "OrderStatusChanged", placed["id"])
    assert (change["from"], change["to"]) == ("CONFIRMED", "SHIPPED")
    (adjustment,) = details(events, "StockAdjusted")
    assert (adjustment["delta"], adjustment["reason"], adjustment["data"]["stock"]) == (-1, "damaged", 9)
    assert len({e["detail"]["eventId"] for e in events}) == len(events)


def test_the_envelope_names_when_and_who(api, published):
    created = product(api)
    (event,) = published()
    assert event["detail"]["occurredAt"] == created["createdAt"]  # the change's own time
    assert event["time"] == created["createdAt"][:19] + "Z"  # EventBridge's, to the second
    assert event["detail"]["actor"] == created["createdBy"] == ACTOR


def test_a_product_deleted_by_another_user_names_the_deleter(api, published):
    created = product(api)
    assert api.delete(f"/api/products/{created['id']}", user="someone-else").status == 204
    (deleted,) = details(published(), "ProductDeleted")
    assert (deleted["actor"], deleted["data"]["updatedBy"]) == ("someone-else", ACTOR)


@pytest.mark.parametrize("cancelled_first", [False, True], ids=["confirmed", "cancelled"])
def test_an_order_deleted_by_another_user_names_the_deleter(api, published, cancelled_first):
    """Both deletes of an order (a CONFIRMED one restocks in the same transaction) record who
    deleted it, not who last changed it."""
    product(api)
    order(api, customer(api)["id"], (1, 2))
    if cancelled_first:
        assert api.put("/api/orders/1", {"status": "CANCELLED"}).status == 200
    assert api.delete("/api/orders/1", user="someone-else").status == 204
    (deleted,) = details(published(), "OrderDeleted")
    assert (deleted["actor"], deleted["data"]["updatedBy"]) == ("someone-else", ACTOR)


def test_internal_records_publish_nothing(api, cloud, published):
    """Id counters, email locks, the stock adjustment's audit record, idempotency records: none is an entity."""
    laptop = product(api)
    ann = customer(api)
    assert api.post(f"/api/products/{laptop['id']}/stock-adjustments", {"delta": 3, "reason": "found"}).status == 200
    assert order(api, ann["id"], (laptop["id"], 1)).status == 201
    reply = api.post(
        "/api/orders",
        {"customerId": ann["id"], "items": [{"productId": laptop["id"], "quantity": 1}]},
        headers={"Idempotency-Key": "k-1"},
    )
    assert reply.status == 201
    kinds = sorted(e["detail-type"] for e in published())
    assert kinds == ["CustomerCreated", "OrderPlaced", "OrderPlaced", "ProductCreated", "StockAdjusted"]
    internal = [i["pk"] for t in ("ProductsTable", "CustomersTable", "OrdersTable") for i in cloud.scan(t)]
    assert any(pk.startswith("STOCKADJ#") for pk in internal) and any(pk.startswith("EMAIL#") for pk in internal)


# ---------------------------------------------------------------- what publishes nothing
def test_a_rejected_order_publishes_nothing(api, published):
    laptop = product(api, stock=3, threshold=2)
    ann = customer(api)
    before = published()
    assert order(api, ann["id"], (laptop["id"], 5)).status == 409  # short at the quote
    assert order(api, 999, (laptop["id"], 2)).status == 422  # unknown customer: the workflow refuses
    assert published() == before


def test_a_compensated_placement_publishes_nothing_not_even_stock_low(api, published, cloud, monkeypatch, waits):
    """The workflow reserves (stock 3 -> 1, below the threshold), then the order cannot be stored
    and every reservation is released: the stream has both writes, the bus gets nothing."""
    laptop = product(api, stock=3, threshold=2)
    ann = customer(api)
    before = published()
    faults = fault_support.install(monkeypatch)
    injected = next(faults)
    injected.inject("TransactWriteItems", "InternalServerError", keys={"ORDER#1"})
    assert order(api, ann["id"], (laptop["id"], 2)).status == 503
    injected.clear()
    stored = cloud.item("ProductsTable", f"PRODUCT#{laptop['id']}")
    assert (stored["stock"], stored["version"]) == (3, 3)  # reserved, then released: two writes
    assert published() == before


def test_a_write_that_changes_no_public_field_publishes_nothing(api, published):
    laptop = product(api)
    before = published()
    same = api.put(f"/api/products/{laptop['id']}", {"name": laptop["name"]})
    assert same.status == 200 and same.json["version"] == laptop["version"] + 1
    assert published() == before


# ---------------------------------------------------------------- at least once, deduplicable
def test_the_same_stream_record_delivered_twice_has_the_same_event_id(api, mappings, published):
    laptop = product(api)
    api.put(f"/api/products/{laptop['id']}", {"price": 7})
    first = published()
    batch = mappings.runner.invocations[0]  # the products stream's batch, as the mapping sent it
    mappings.runner.invoke("PublishEventsFunction", json.dumps(batch), stdout=_Discard())
    again = published()[len(first) :]
    assert [e["detail"]["eventId"] for e in again] == [e["detail"]["eventId"] for e in first]
    assert [e["id"] for e in again] != [e["id"] for e in first]  # EventBridge's own ids differ


class _Discard:
    def write_str(self, text: str) -> None:
        pass


def test_a_record_that_always_fails_goes_to_the_dead_letter_queue_and_the_rest_is_published(
    api, cloud, mappings, published
):
    first = product(api, name="First")
    # A product item the publisher cannot read (its price is not a number): every attempt fails.
    cloud.dynamodb.put_item(
        TableName="ProductsTable",
        Item={
            "pk": {"S": "PRODUCT#900"},
            "entity": {"S": "product"},
            "id": {"N": "900"},
            "version": {"N": "1"},
            "name": {"S": "Broken"},
            "price": {"S": "not a number"},
            "stock": {"N": "1"},
            "createdAt": {"S": "2026-01-01T00:00:00.000Z"},
            "updatedAt": {"S": "2026-01-01T00:00:00.000Z"},
        },
    )
    product(api, name="Second")
    api.put(f"/api/products/{first['id']}", {"name": "First, renamed"})

    events = published()

    # At least once: the changes after the failing one are sent again with every retry (the
    # mapping retries from the failing record on), always with the same eventId.
    unique = {e["detail"]["eventId"]: (e["detail-type"], e["detail"]["data"]["name"]) for e in events}
    assert list(unique.values()) == [
        ("ProductCreated", "First"),
        ("ProductCreated", "Second"),
        ("ProductUpdated", "First, renamed"),
    ]
    (discarded,) = mappings.discarded
    info = discarded["DDBStreamBatchInfo"]
    assert (info["batchSize"], info["startSequenceNumber"]) == (1, info["endSequenceNumber"])
    assert discarded["requestContext"]["condition"] == "RetryAttemptsExhausted"
    dead = cloud.sqs.receive_message(QueueUrl=cloud.queues["EventsDeadLetterQueue"], MaxNumberOfMessages=10)
    assert [json.loads(m["Body"])["DDBStreamBatchInfo"] for m in dead["Messages"]] == [info]
    # the discarded record is the broken item's, and the stream still has it for a republish
    record = next(
        r
        for batch in mappings.runner.invocations
        for r in batch["Records"]
        if r["dynamodb"]["SequenceNumber"] == info["startSequenceNumber"]
    )
    assert record["dynamodb"]["Keys"] == {"pk": {"S": "PRODUCT#900"}}


# ---------------------------------------------------------------- StockLow
def test_stock_low_once_per_crossing_also_from_an_order_and_again_after_a_restock(api, published):
    laptop = product(api, stock=10, threshold=5)
    ann = customer(api)
    pid = laptop["id"]
    assert order(api, ann["id"], (pid, 3)).status == 201  # 7: not low
    assert order(api, ann["id"], (pid, 2)).status == 201  # 5: low (an order crossed it)
    api.post(f"/api/products/{pid}/stock-adjustments", {"delta": -1, "reason": "damaged"})  # 4: still low
    assert order(api, ann["id"], (pid, 1)).status == 201  # 3: still low
    api.post(f"/api/products/{pid}/stock-adjustments", {"delta": 10, "reason": "received"})  # 13: not low
    api.post(f"/api/products/{pid}/stock-adjustments", {"delta": -8, "reason": "damaged"})  # 5: low again

    lows = details(published(), "StockLow")

    assert [(low["stock"], low["threshold"]) for low in lows] == [(5, 5), (5, 5)]
    assert lows[0]["version"] < lows[1]["version"]


def test_stock_low_when_a_cancelled_order_was_not_enough_and_a_threshold_raise(api, published):
    laptop = product(api, stock=6, threshold=2)
    pid = laptop["id"]
    ann = customer(api)
    placed = order(api, ann["id"], (pid, 4)).json  # 2: low
    api.put(f"/api/orders/{placed['id']}", {"status": "CANCELLED"})  # 6: not low (an order gave it back)
    current = api.get(f"/api/products/{pid}").json
    api.put(f"/api/products/{pid}", {"lowStockThreshold": 6}, headers={"If-Match": f'"{current["version"]}"'})  # low

    events = published()

    lows = details(events, "StockLow")
    assert [(low["stock"], low["threshold"]) for low in lows] == [(2, 2), (6, 6)]
    # the cancellation's restock is told by the order's event, not as a product update
    assert [e["detail"]["data"]["lowStockThreshold"] for e in of_type(events, "ProductUpdated")] == [6]


# ---------------------------------------------------------------- order
def test_events_of_one_entity_arrive_in_version_order(api, published):
    laptop, mouse = product(api, name="Laptop"), product(api, name="Mouse")
    ann = customer(api)
    for i in range(6):
        api.put(f"/api/products/{laptop['id']}", {"price": 10 + i})
        api.post(f"/api/products/{mouse['id']}/stock-adjustments", {"delta": 1, "reason": f"r{i}"})
        if i % 2:
            order(api, ann["id"], (laptop["id"], 1), (mouse["id"], 1))

    events = published()

    versions = defaultdict(list)
    for event in events:
        versions[(event["source"], event["detail"]["id"])].append(event["detail"]["version"])
    assert versions[("sales.products", laptop["id"])] == sorted(versions[("sales.products", laptop["id"])])
    assert versions[("sales.products", mouse["id"])] == sorted(versions[("sales.products", mouse["id"])])
    assert len(versions[("sales.products", laptop["id"])]) == 7  # created, 6 prices (orders publish as orders)


def test_the_sample_stream_event_is_published(cloud, bus):
    """events/events/publish_events.json (for `sam local invoke PublishEventsFunction -e ...`)."""
    from tests.support import apigw

    event = json.loads((apigw.ROOT / "events" / "events" / "publish_events.json").read_text())
    result = apigw.invoke(apigw.function("PublishEventsFunction"), event, cloud.refs)
    assert result == {"batchItemFailures": []}
    (received,) = bus.receive(wait_seconds=0)
    assert (received["detail-type"], received["detail"]["data"]["name"]) == ("ProductCreated", "Laptop")
