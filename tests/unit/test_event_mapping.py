"""From a stored change to its domain events (events.mapping): pure, no AWS."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from events.mapping import Change, UnpublishableChange, change_of, event_id, events_of

STORED = datetime(2026, 12, 1, 10, 0, 0, 500000, tzinfo=UTC)


def product(version=1, stock=10, **extra):
    return {
        "pk": "PRODUCT#1",
        "entity": "product",
        "id": Decimal(1),
        "version": Decimal(version),
        "name": "Laptop",
        "price": Decimal("999.99"),
        "stock": Decimal(stock),
        "createdAt": "2026-12-01T09:00:00.000Z",
        "updatedAt": f"2026-12-01T09:00:0{version % 10}.000Z",
        "createdBy": "ann",
        "updatedBy": "ann",
        **extra,
    }


def change(kind, old=None, new=None, table="ProductsTable"):
    image = new or old
    return Change(table, kind, image["pk"], old, new, STORED)


def kinds(events):
    return [e.detail_type for e in events]


def test_a_created_product_with_its_envelope():
    (event,) = events_of(change("INSERT", new=product()))
    assert (event.source, event.detail_type, event.entity) == ("sales.products", "ProductCreated", "PRODUCT#1")
    detail = event.detail.model_dump(mode="json", by_alias=True)
    assert detail["actor"] == "ann" and (detail["id"], detail["version"]) == (1, 1)
    assert detail["occurredAt"] == "2026-12-01T09:00:01.000Z"
    assert detail["data"] == {
        "id": 1,
        "version": 1,
        "createdAt": "2026-12-01T09:00:00.000Z",
        "updatedAt": "2026-12-01T09:00:01.000Z",
        "createdBy": "ann",
        "updatedBy": "ann",
        "name": "Laptop",
        "price": 999.99,
        "description": None,
        "stock": 10,
        "lowStockThreshold": 5,  # the documented default, for items stored without one
        "status": "ACTIVE",  # likewise (issue 24: products stored before statuses are active)
    }


def test_the_event_id_is_the_changes_own():
    insert = change("INSERT", new=product())
    (first,), (again,) = events_of(insert), events_of(insert)
    assert first.detail.event_id == again.detail.event_id
    other_table = Change("OtherTable", "INSERT", "PRODUCT#1", None, product(), STORED)
    assert events_of(other_table)[0].detail.event_id != first.detail.event_id
    assert event_id(insert, 1, "ProductCreated") != event_id(insert, 2, "ProductCreated")
    assert event_id(insert, 1, "ProductCreated") != event_id(insert, 1, "StockLow")


PLACEMENT = {  # the placement record as the workflow's Reserve writes it (orders.placement_record)
    "pk": "PLACEMENT#7",
    "orderId": Decimal(7),
    "createdAt": "2026-12-01T09:00:00.000Z",
    "lines": [{"productId": Decimal(1), "quantity": Decimal(2)}],
    "pending": "HOLDS",
    "pendingSince": "2026-12-01T09:00:00.100Z",
}


@pytest.mark.parametrize(
    "image",
    [
        {"pk": "COUNTER#PRODUCT", "lastId": Decimal(3)},
        {"pk": "EMAIL#ann@example.com", "customerId": Decimal(1)},
        {"pk": "STOCKADJ#1#abc", "productId": Decimal(1), "delta": Decimal(2), "reason": "x"},
        {"pk": "THING#1", "entity": "thing", "id": Decimal(1)},
        PLACEMENT,
    ],
    ids=["counter", "email-lock", "stock-adjustment-audit", "unknown-entity", "placement-record"],
)
def test_internal_items_publish_nothing(image):
    assert events_of(change("INSERT", new=image)) == []
    assert events_of(change("REMOVE", old=image)) == []


def test_deciding_and_settling_a_placement_record_publish_nothing():
    """Only the order the placement stores is an order (docs/adr/0011): its record is not."""
    decided = {k: v for k, v in PLACEMENT.items() if not k.startswith("pending")}
    decided |= {"outcome": "PLACED", "decidedAt": "2026-12-01T09:00:01.000Z"}
    assert events_of(change("MODIFY", PLACEMENT, decided, table="OrdersTable")) == []
    abandoned = PLACEMENT | {"outcome": "Abandoned", "decidedAt": "2026-12-01T09:02:00.000Z"}
    assert events_of(change("MODIFY", PLACEMENT, abandoned, table="OrdersTable")) == []


def test_a_put_is_a_product_update_and_a_no_op_is_nothing():
    (event,) = events_of(change("MODIFY", product(1), product(2, name="Laptop Pro")))
    assert event.detail_type == "ProductUpdated" and event.detail.data.name == "Laptop Pro"
    assert events_of(change("MODIFY", product(1), product(2))) == []  # only version and updatedAt moved
    assert events_of(change("MODIFY", product(1), product(1, deletedBy="bob"))) == []  # the mark before a delete


def test_a_product_update_says_how_much_it_moved_the_stock():
    """stockDelta: what a consumer adds to keep the stock as a sum of the events (issue 22)."""
    (renamed,) = events_of(change("MODIFY", product(1), product(2, name="Laptop Pro")))
    (restocked,) = events_of(change("MODIFY", product(1, stock=10), product(2, stock=25)))
    (lowered,) = events_of(change("MODIFY", product(1, stock=10), product(2, stock=7, name="x")))
    assert (renamed.detail.stock_delta, restocked.detail.stock_delta, lowered.detail.stock_delta) == (0, 15, -3)
    assert '"stockDelta":15' in restocked.detail_json()


def test_a_stock_adjustment_carries_delta_and_reason():
    adjustment = {"id": "a-1", "delta": Decimal(-2), "reason": "damaged"}
    (event,) = events_of(change("MODIFY", product(1), product(2, stock=8, lastAdjustment=adjustment, updatedBy="bob")))
    assert event.detail_type == "StockAdjusted"
    assert (event.detail.delta, event.detail.reason, event.detail.adjustment_id) == (-2, "damaged", "a-1")
    assert (event.detail.actor, event.detail.data.stock) == ("bob", 8)


def test_a_deletion_names_the_deleter_and_the_entity_as_it_was():
    (event,) = events_of(change("REMOVE", old=product(3, deletedBy="bob")))
    assert (event.detail_type, event.detail.actor, event.detail.version) == ("ProductDeleted", "bob", 3)
    assert event.detail.occurred_at == "2026-12-01T10:00:00.500Z"  # when DynamoDB stored the deletion
    (unknown,) = events_of(change("REMOVE", old=product(3)))
    assert unknown.detail.actor == "system"


# ---------------------------------------------------------------- orders move stock: not product events
def reserve(old, order_id, quantity):
    return {
        **old,
        "stock": old["stock"] - quantity,
        f"hold_{order_id}": Decimal(quantity),
        "version": old["version"] + 1,
    }


def commit(old, order_id):
    return {k: v for k, v in old.items() if k != f"hold_{order_id}"}


def release(old, order_id):
    new = commit(old, order_id)
    return {**new, "stock": old["stock"] + old[f"hold_{order_id}"], "version": old["version"] + 1}


def test_a_placement_reserving_releasing_or_storing_its_order_is_no_product_event():
    start = product(1, stock=10)
    reserved = reserve(start, 7, 3)
    assert events_of(change("MODIFY", start, reserved)) == []
    assert events_of(change("MODIFY", reserved, release(reserved, 7))) == []
    assert events_of(change("MODIFY", reserved, commit(reserved, 7))) == []


def test_an_order_giving_stock_back_is_no_product_event():
    restocked = {**product(2, stock=13), "lastRestock": Decimal(7)}
    assert events_of(change("MODIFY", product(1, stock=10), restocked)) == []
    # ... but a PUT of the same stock afterwards is (lastRestock unchanged)
    assert kinds(events_of(change("MODIFY", restocked, {**restocked, "stock": 20, "version": 3}))) == ["ProductUpdated"]


# ---------------------------------------------------------------- StockLow
def test_stock_low_when_an_order_is_stored_not_when_it_reserves():
    start = product(1, stock=7)  # threshold 5
    reserved = reserve(start, 7, 3)  # stock 4, but the placement may still fail
    assert events_of(change("MODIFY", start, reserved)) == []
    (low,) = events_of(change("MODIFY", reserved, commit(reserved, 7)))
    assert (low.detail_type, low.detail.stock, low.detail.threshold, low.detail.actor) == ("StockLow", 4, 5, "system")
    assert low.detail.version == reserved["version"]  # storing the order does not bump the product
    assert low.detail.occurred_at == "2026-12-01T10:00:00.500Z"


def test_a_released_reservation_never_makes_stock_low():
    start = product(1, stock=7)
    reserved = reserve(start, 7, 3)
    assert events_of(change("MODIFY", reserved, release(reserved, 7))) == []


def test_stock_low_once_per_crossing():
    above, at, below = product(1, stock=6), product(2, stock=5), product(3, stock=1)
    assert kinds(events_of(change("MODIFY", above, {**at, "name": "x"}))) == ["ProductUpdated", "StockLow"]
    assert kinds(events_of(change("MODIFY", at, {**below, "name": "x"}))) == ["ProductUpdated"]  # already low
    assert kinds(events_of(change("MODIFY", below, {**above, "version": 4}))) == ["ProductUpdated"]  # restocked
    assert kinds(events_of(change("MODIFY", {**above, "version": 4}, {**at, "version": 5}))) == [
        "ProductUpdated",
        "StockLow",
    ]


def test_raising_the_threshold_over_the_stock_makes_it_low():
    old = product(1, stock=6)
    new = product(2, stock=6, lowStockThreshold=Decimal(8))
    (update, low) = events_of(change("MODIFY", old, new))
    assert (update.detail_type, low.detail_type, low.detail.threshold) == ("ProductUpdated", "StockLow", 8)


def test_a_new_product_at_its_threshold_is_no_crossing():
    assert kinds(events_of(change("INSERT", new=product(stock=0)))) == ["ProductCreated"]


# ---------------------------------------------------------------- customers and orders
def customer(version=1, **extra):
    return {
        "pk": "CUSTOMER#3",
        "entity": "customer",
        "id": Decimal(3),
        "version": Decimal(version),
        "name": "Ann",
        "email": "ann@example.com",
        "createdAt": "2026-12-01T09:00:00.000Z",
        "updatedAt": f"2026-12-01T09:00:0{version}.000Z",
        "createdBy": "ann",
        "updatedBy": "ann",
        **extra,
    }


def order(version=1, status="CONFIRMED", **extra):
    line = {"productId": Decimal(1), "name": "Laptop", "unitPrice": Decimal("2.5"), "quantity": Decimal(2)}
    return {
        "pk": "ORDER#9",
        "entity": "order",
        "id": Decimal(9),
        "version": Decimal(version),
        "customerId": Decimal(3),
        "status": status,
        "items": [{**line, "lineTotal": Decimal("5.0")}],
        "total": Decimal("5.0"),
        "createdAt": "2026-12-01T09:00:00.000Z",
        "updatedAt": f"2026-12-01T09:00:0{version}.000Z",
        "createdBy": "ann",
        "updatedBy": "ann",
        **extra,
    }


def test_customer_lifecycle():
    assert kinds(events_of(change("INSERT", new=customer()))) == ["CustomerCreated"]
    assert kinds(events_of(change("MODIFY", customer(1), customer(2, phone="123")))) == ["CustomerUpdated"]
    assert events_of(change("MODIFY", customer(1), customer(2))) == []
    (deleted,) = events_of(change("REMOVE", old=customer(2, deletedBy="bob")))
    assert (deleted.detail_type, deleted.source, deleted.detail.actor) == ("CustomerDeleted", "sales.customers", "bob")


def test_order_lifecycle():
    (placed,) = events_of(change("INSERT", new=order()))
    assert (placed.detail_type, placed.detail.data.total) == ("OrderPlaced", Decimal("5.0"))
    (shipped,) = events_of(change("MODIFY", order(1), order(2, "SHIPPED", updatedBy="bob")))
    dumped = shipped.detail.model_dump(mode="json", by_alias=True)
    assert (dumped["from"], dumped["to"], dumped["actor"]) == ("CONFIRMED", "SHIPPED", "bob")
    assert events_of(change("MODIFY", order(1), order(1, deletedBy="bob"))) == []
    assert kinds(events_of(change("REMOVE", old=order(2, "CANCELLED")))) == ["OrderDeleted"]


def test_an_image_the_model_refuses_cannot_be_published():
    with pytest.raises(UnpublishableChange, match="PRODUCT#1: not a valid Product"):
        events_of(change("INSERT", new=product(price="not a number")))


# ---------------------------------------------------------------- stream records
def test_a_lambda_stream_record_as_a_change():
    record = {
        "eventName": "MODIFY",
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/sales-Products-X/stream/2026-12-01T00:00:00.000",
        "dynamodb": {
            "ApproximateCreationDateTime": 1796126400.5,
            "Keys": {"pk": {"S": "PRODUCT#1"}},
            "OldImage": {"pk": {"S": "PRODUCT#1"}, "stock": {"N": "2"}},
            "NewImage": {"pk": {"S": "PRODUCT#1"}, "stock": {"N": "3"}},
            "SequenceNumber": "100",
        },
    }
    parsed = change_of(record)
    assert (parsed.table, parsed.kind, parsed.key) == ("sales-Products-X", "MODIFY", "PRODUCT#1")
    assert (parsed.old["stock"], parsed.new["stock"]) == (Decimal(2), Decimal(3))
    assert parsed.stored_at == datetime(2026, 12, 1, 12, 0, 0, 500000, tzinfo=UTC)
    with pytest.raises(ValueError, match="not a DynamoDB stream record"):
        change_of({"eventName": "MODIFY"})
    with pytest.raises(ValueError, match="no item key"):
        change_of({**record, "dynamodb": {**record["dynamodb"], "Keys": {}}})
