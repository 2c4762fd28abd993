"""Writes whose first answer is lost and which the SDK sends again: botocore retries a timeout or
a 5xx with the same parameters, and DynamoDB applies every attempt it receives, so a write that is
not idempotent by its own condition would count twice. Faults are injected where DynamoDB answers
(moto's handler): the write is applied, then its answer is lost."""

from __future__ import annotations

import pytest

from tests.support import faults as fault_support

pytestmark = pytest.mark.protocol  # the protocol tier: `make test-protocol` (docs/testing.md, "Tiers")


@pytest.fixture
def faults(monkeypatch):
    yield from fault_support.install(monkeypatch)


def history(api, pid=1):
    return [(e["delta"], e["stockAfter"]) for e in api.get(f"/api/products/{pid}/stock-adjustments").json]


@pytest.mark.parametrize("lost", [fault_support.TIMEOUT, "InternalServerError"])
def test_a_stock_adjustment_whose_answer_was_lost_counts_once(api, faults, lost):
    api.post("/api/products", {"name": "A", "price": 1, "stock": 1})
    fault = faults.inject("UpdateItem", lost, keys={"PRODUCT#1"}, times=1, applied=True)

    reply = api.post("/api/products/1/stock-adjustments", {"delta": 5, "reason": "received"})

    assert fault.hits == 1
    assert reply.status == 200, reply.raw
    assert (reply.json["stock"], reply.json["version"]) == (6, 2)
    product = api.get("/api/products/1")
    assert (product.json["stock"], product.header("ETag")) == (6, '"2"')
    assert history(api) == [(5, 6)]


def test_a_late_retry_still_counts_once_after_another_adjustment(api, faults):
    """Another adjustment of the product lands between the lost answer and the SDK's retry: it
    must leave the first one's pending entry in place (it is younger than any retry can be), so
    the retry is still recognised."""
    api.post("/api/products", {"name": "A", "price": 1, "stock": 1})
    other: list[int] = []
    faults.inject("UpdateItem", fault_support.TIMEOUT, keys={"PRODUCT#1"}, times=1, applied=True)
    attempts: list[str] = []

    def the_retry(body: dict) -> bool:
        """The second attempt of the "received" adjustment's write (the first was applied)."""
        if "received" in str(body.get("ExpressionAttributeValues")):
            attempts.append("received")
        return len(attempts) == 2

    def adjust_in_between() -> None:
        other.append(api.post("/api/products/1/stock-adjustments", {"delta": -1, "reason": "damaged"}).status)

    faults.before("UpdateItem", adjust_in_between, keys={"PRODUCT#1"}, when=the_retry)
    reply = api.post("/api/products/1/stock-adjustments", {"delta": 5, "reason": "received"})

    assert attempts == ["received", "received"] and other == [200]
    assert reply.status == 200, reply.raw
    assert (reply.json["stock"], reply.json["version"]) == (6, 2)  # as the adjustment left it
    assert api.get("/api/products/1").json["stock"] == 5  # 1 + 5 - 1, each once
    assert history(api) == [(-1, 5), (5, 6)]


@pytest.mark.parametrize(
    ("path", "body", "key", "field"),
    [
        ("/api/products/1", {"price": 2}, "PRODUCT#1", "price"),
        ("/api/customers/1", {"phone": "555-0100"}, "CUSTOMER#1", "phone"),
        ("/api/orders/1", {"status": "SHIPPED"}, "ORDER#1", "status"),
    ],
    ids=["product", "customer", "order"],
)
@pytest.mark.parametrize("if_match", [True, False], ids=["if-match", "no-if-match"])
def test_an_update_whose_answer_was_lost_is_answered_as_applied(api, faults, path, body, key, field, if_match):
    """The write was applied; the SDK's retry then fails its condition (the version moved, the
    status is no longer the one read) on the very change this request made. That is success, with
    the entity as the write left it -- not a 412 or 409 telling the client to redo what is done."""
    api.post("/api/products", {"name": "A", "price": 1, "stock": 5})
    api.post("/api/customers", {"name": "Kim", "email": "kim@example.com"})
    assert api.post("/api/orders", {"customerId": 1, "items": [{"productId": 1, "quantity": 2}]}).status == 201
    version = api.get(path).json["version"]
    fault = faults.inject("UpdateItem", fault_support.TIMEOUT, keys={key}, times=1, applied=True)

    headers = {"If-Match": f'"{version}"'} if if_match else {}
    reply = api.put(path, body, headers=headers)

    assert fault.hits == 1
    assert reply.status == 200, reply.raw
    stored = api.get(path)
    assert str(stored.json[field]) == str(body[field])
    assert reply.json == stored.json
    assert api.get("/api/products/1").json["stock"] == 3


@pytest.mark.parametrize(
    ("path", "key", "operation"),
    [
        ("/api/products/2", "PRODUCT#2", "DeleteItem"),
        ("/api/customers/2", "CUSTOMER#2", "TransactWriteItems"),
        ("/api/orders/1", "ORDER#1", "TransactWriteItems"),
    ],
    ids=["product", "customer", "order-restocking"],
)
def test_a_delete_whose_answer_was_lost_is_204_and_the_entity_is_gone(api, faults, path, key, operation):
    """The delete was applied, its answer lost; the SDK's retry finds nothing to delete. The
    request did what it asked: 204, not a 404 saying the entity never existed."""
    api.post("/api/products", {"name": "A", "price": 1, "stock": 5})
    api.post("/api/products", {"name": "B", "price": 1, "stock": 5})
    api.post("/api/customers", {"name": "Kim", "email": "kim@example.com"})
    api.post("/api/customers", {"name": "Lee", "email": "lee@example.com"})
    assert api.post("/api/orders", {"customerId": 1, "items": [{"productId": 1, "quantity": 2}]}).status == 201
    fault = faults.inject(operation, fault_support.TIMEOUT, keys={key}, times=1, applied=True)

    reply = api.delete(path, headers={"If-Match": '"1"'} if "orders" in path else {})

    assert fault.hits == 1
    assert reply.status == 204, reply.raw
    assert api.get(path).status == 404
    assert api.get("/api/products/1").json["stock"] == (5 if "orders" in path else 3)


def test_a_keyed_order_whose_key_record_answer_was_lost_is_placed_once(api, faults):
    """The Idempotency-Key's record was written, its answer lost; the SDK's retry of the put finds
    the record this very request wrote (in progress). That is this request's record, not another
    request's in progress: the order is placed, once (not a 409 "still in progress" until the
    record's in-progress time runs out)."""
    api.post("/api/products", {"name": "A", "price": 1, "stock": 10})
    api.post("/api/customers", {"name": "Kim", "email": "kim@example.com"})
    order = {"customerId": 1, "items": [{"productId": 1, "quantity": 2}]}
    fault = faults.inject(
        "PutItem", fault_support.TIMEOUT, when=lambda body: "Idempotency" in body["TableName"], times=1, applied=True
    )

    reply = api.post("/api/orders", order, headers={"Idempotency-Key": "k"})
    again = api.post("/api/orders", order, headers={"Idempotency-Key": "k"})

    assert fault.hits == 1
    assert reply.status == 201, reply.raw
    assert again.status == 201 and again.json == reply.json, again.raw
    assert [o["id"] for o in api.get("/api/orders").json] == [reply.json["id"]]
    assert api.get("/api/products/1").json["stock"] == 8


def test_a_racing_request_s_key_record_alike_in_every_field_is_not_taken_for_this_one(cloud):
    """Two requests racing with one Idempotency-Key send records powertools fills alike (the same
    payload, and the same expiry instants when their invocations end in the same millisecond).
    Only the put that wrote the record may take it for its own: the other request must see a
    request in progress, or both would place the order."""
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig
    from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyItemAlreadyExistsError
    from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

    from orders.placement import KEY_PREFIX, _key_store

    def store():
        made = _key_store()(table_name=cloud.tables["IdempotencyTable"], boto3_client=cloud.dynamodb)
        made.configure(IdempotencyConfig(payload_validation_jmespath="body"))  # as the placement does
        return made

    record = DataRecord(
        idempotency_key=f"{KEY_PREFIX.format(function='test-func')}#racing",
        status="INPROGRESS",
        expiry_timestamp=4_102_444_800,
        in_progress_expiry_timestamp=4_102_444_800_000,
        payload_hash="same-body",
    )
    store()._put_record(record)

    with pytest.raises(IdempotencyItemAlreadyExistsError):
        store()._put_record(record)


def test_a_stale_if_match_is_still_412_when_another_writer_made_the_same_change(api, faults):
    """What tells this request's own (retried) write from another's is the instant it chose: the
    same fields set by someone else between this request's read and its write are not its write."""
    api.post("/api/products", {"name": "A", "price": 1, "stock": 5})
    other = faults.before("UpdateItem", lambda: api.put("/api/products/1", {"price": 2}), keys={"PRODUCT#1"})

    reply = api.put("/api/products/1", {"price": 2}, headers={"If-Match": '"1"'})

    assert other.results[0].status == 200
    assert reply.status == 412, reply.raw
    assert api.get("/api/products/1").json["version"] == 2


def test_a_stale_if_match_is_still_412_when_another_writer_made_the_same_change_in_the_same_millisecond(
    api, faults, monkeypatch
):
    """Both writes choose the same instant (the clock frozen to the millisecond) and set the same
    fields: only the token each write carries tells the other's write from this request's own."""
    import sales_common.dynamo

    api.post("/api/products", {"name": "A", "price": 1, "stock": 5})
    monkeypatch.setattr(sales_common.dynamo, "now_iso", lambda ago=None: "2026-12-08T10:00:00.000Z")
    other = faults.before("UpdateItem", lambda: api.put("/api/products/1", {"price": 2}), keys={"PRODUCT#1"})

    reply = api.put("/api/products/1", {"price": 2}, headers={"If-Match": '"1"'})

    assert other.results[0].status == 200
    assert reply.status == 412, reply.raw
    assert api.get("/api/products/1").json["version"] == 2
