"""When DynamoDB is busy or fails after the SDK's own retries, the client gets a 503 with
Retry-After that says whether the change may have been applied -- not a 500 that reads as a bug
and says nothing about the write. Faults are injected where DynamoDB answers (moto's handler),
so the handlers' real clients, with their real retries, see them."""

from __future__ import annotations

import pytest

from tests.support import faults as fault_support

pytestmark = pytest.mark.protocol  # the protocol tier: `make test-protocol` (docs/testing.md, "Tiers")


@pytest.fixture
def faults(monkeypatch):
    yield from fault_support.install(monkeypatch)


def products(api):
    return [p["name"] for p in api.get("/api/products").json]


def assert_problem_503(reply):
    assert reply.status == 503, reply.raw
    assert reply.header("Content-Type") == "application/problem+json"
    assert reply.header("Retry-After") == "1"
    assert reply.json["title"] == "Service unavailable"
    assert "Traceback" not in reply.raw and "botocore" not in reply.raw


def test_a_read_of_a_throttled_table_is_503_nothing_changed(api, faults):
    api.post("/api/products", {"name": "A", "price": 1, "stock": 1})
    throttle = faults.inject("GetItem", "ProvisionedThroughputExceededException", keys={"PRODUCT#1"})

    reply = api.get("/api/products/1")

    assert_problem_503(reply)
    assert "busy; nothing was changed" in reply.json["detail"]
    assert throttle.hits == 2  # the SDK's retry was used before answering


def test_a_throttled_write_is_503_and_nothing_was_changed(api, faults):
    api.post("/api/products", {"name": "A", "price": 1, "stock": 1})
    faults.inject("UpdateItem", "ThrottlingException", keys={"PRODUCT#1"})

    reply = api.post("/api/products/1/stock-adjustments", {"delta": 5, "reason": "recount"})

    assert_problem_503(reply)
    assert "nothing was changed" in reply.json["detail"]
    faults.clear()
    assert api.get("/api/products/1").json["stock"] == 1


def test_a_write_whose_answer_is_lost_is_503_saying_it_may_have_been_applied(api, faults):
    """DynamoDB applied the adjustment, then its answer was a 5xx (twice: the retry's too). The
    503 must not say "nothing was changed": the stock did change, and the client is told to read
    before repeating."""
    api.post("/api/products", {"name": "A", "price": 1, "stock": 1})
    faults.inject("UpdateItem", "InternalServerError", keys={"PRODUCT#1"}, times=1, applied=True)
    faults.inject("UpdateItem", "InternalServerError", keys={"PRODUCT#1"}, times=1)

    reply = api.post("/api/products/1/stock-adjustments", {"delta": 5, "reason": "recount"})

    assert_problem_503(reply)
    assert "may or may not have been applied" in reply.json["detail"]
    assert "nothing was changed" not in reply.json["detail"]
    faults.clear()
    assert api.get("/api/products/1").json["stock"] == 6  # it was applied: the detail was right to warn


@pytest.mark.parametrize(
    ("path", "body", "key"),
    [
        ("/api/products/1", {"price": 2}, "PRODUCT#1"),
        ("/api/customers/1", {"phone": "555-0100"}, "CUSTOMER#1"),
        ("/api/orders/1", {"status": "CANCELLED"}, "ORDER#1"),
    ],
    ids=["product", "customer", "order-restocking"],
)
def test_an_update_whose_answer_times_out_is_503_not_a_500(api, faults, path, body, key):
    """DynamoDB's answer to a conditional write never arrives (the read times out, twice: the
    SDK's retry too). Such a failure carries no error code; it must still be a 503 that says the
    change may have been applied -- CI's loaded runs saw it crash the error translation (500)."""
    api.post("/api/products", {"name": "A", "price": 1, "stock": 5})
    api.post("/api/customers", {"name": "Kim", "email": "kim@example.com"})
    assert api.post("/api/orders", {"customerId": 1, "items": [{"productId": 1, "quantity": 2}]}).status == 201
    for operation in ("UpdateItem", "TransactWriteItems"):
        faults.inject(operation, fault_support.TIMEOUT, keys={key})

    reply = api.put(path, body)

    assert_problem_503(reply)
    assert "may or may not have been applied" in reply.json["detail"]
    faults.clear()
    assert api.get("/api/products/1").json["stock"] == 3  # nothing was applied: nothing moved


def test_a_create_whose_answer_timed_out_but_was_applied_is_201_once(api, faults):
    """The new product's put was applied, its answer lost (a timeout); the SDK's retry then finds
    the item already there. That item is the one this request wrote: 201, one product -- not the
    500 of a "conflict" with itself (seen under load on CI)."""
    put = faults.inject("PutItem", fault_support.TIMEOUT, keys={"PRODUCT#1"}, times=1, applied=True)

    reply = api.post("/api/products", {"name": "Lamp", "price": 5.5, "stock": 3})

    assert reply.status == 201, reply.raw
    assert put.hits == 1
    assert (reply.json["id"], reply.json["name"], str(reply.json["price"])) == (1, "Lamp", "5.5")
    assert products(api) == ["Lamp"]


def test_a_customer_whose_create_timed_out_but_was_applied_is_201_once(api, faults):
    """A customer is created in one transaction with its email's lock; the transaction was
    applied, its answer lost. The SDK's retry sends the same ClientRequestToken, which DynamoDB
    (and the local cloud) answers with success: 201, one customer -- not a 409 saying the email is
    taken by the very request that took it."""
    sent = faults.inject("TransactWriteItems", fault_support.TIMEOUT, keys={"CUSTOMER#1"}, times=1, applied=True)

    reply = api.post("/api/customers", {"name": "Kim", "email": "kim@example.com"})

    assert reply.status == 201, reply.raw
    assert sent.hits == 1
    assert [c["email"] for c in api.get("/api/customers").json] == ["kim@example.com"]


def test_a_create_that_meets_another_item_under_its_key_is_still_refused(api, cloud):
    """Only the request's own item counts as its write: a different item under the new key (an
    id given out twice) is not taken for it."""
    from sales_common.dynamo import to_item

    cloud.dynamodb.put_item(
        TableName=cloud.tables["ProductsTable"], Item=to_item({"pk": "PRODUCT#1", "id": 1, "name": "Other"})
    )

    reply = api.post("/api/products", {"name": "Lamp", "price": 5.5, "stock": 3})

    assert reply.status == 500, reply.raw


def test_a_request_dynamodb_refuses_as_invalid_is_still_a_500(api, faults):
    """A ValidationException is our bug, not the service being busy: it stays a 500 (and pages)."""
    api.post("/api/products", {"name": "A", "price": 1, "stock": 1})
    faults.inject("GetItem", "ValidationException", keys={"PRODUCT#1"})

    reply = api.get("/api/products/1")

    assert reply.status == 500 and reply.json["title"] == "Internal server error"


def test_lost_connections_are_backing_failures_and_other_errors_are_not():
    from botocore.exceptions import (
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        ReadTimeoutError,
    )

    from sales_common.api import backing_failure

    def client_error(code, status):
        return ClientError({"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "GetItem")

    def store_error(cause):
        """powertools' idempotency store reports its table's failure in an error of its own."""
        from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyPersistenceLayerError

        try:
            raise IdempotencyPersistenceLayerError("Failed to save in progress record") from cause
        except IdempotencyPersistenceLayerError as exc:
            return exc

    assert backing_failure(ReadTimeoutError(endpoint_url="http://x")) == "failed"
    assert backing_failure(ConnectTimeoutError(endpoint_url="http://x")) == "failed"
    assert backing_failure(EndpointConnectionError(endpoint_url="http://x")) == "failed"
    assert backing_failure(client_error("ThrottlingException", 400)) == "throttled"
    assert backing_failure(client_error("ServiceUnavailable", 503)) == "failed"
    assert backing_failure(client_error("AccessDeniedException", 400)) is None
    assert backing_failure(client_error("ResourceNotFoundException", 400)) is None
    assert backing_failure(store_error(ReadTimeoutError(endpoint_url="http://x"))) == "failed"
    assert backing_failure(store_error(client_error("ThrottlingException", 400))) == "throttled"
    assert backing_failure(store_error(client_error("ValidationException", 400))) is None
    assert backing_failure(store_error(None)) is None
    assert backing_failure(NoCredentialsError()) is None
    assert backing_failure(RuntimeError("boom")) is None


# ---------------------------------------------------------------- placing an order: every answer stays true
ORDER = {"customerId": 1, "items": [{"productId": 1, "quantity": 2}]}


@pytest.fixture
def shop(api):
    assert api.post("/api/products", {"name": "Lamp", "price": 5, "stock": 10}).status == 201
    assert api.post("/api/customers", {"name": "Kim", "email": "kim@example.com"}).status == 201
    return api


def stock_and_orders(api):
    return api.get("/api/products/1").json["stock"], api.get("/api/orders").json


@pytest.mark.parametrize(
    ("operation", "code", "keys"),
    [
        ("UpdateItem", "ThrottlingException", None),  # the caller's order quota (the first write)
        ("BatchGetItem", "InternalServerError", None),  # the quote
    ],
    ids=["quota", "quote"],
)
def test_a_backing_failure_before_the_workflow_is_503_no_order_placed(shop, faults, operation, code, keys):
    faults.inject(operation, code, keys=keys)

    reply = shop.post("/api/orders", ORDER, headers={"Idempotency-Key": "k"})

    assert_problem_503(reply)
    assert "This request placed no order and nothing was reserved" in reply.json["detail"]
    faults.clear()
    assert stock_and_orders(shop) == (10, [])
    retried = shop.post("/api/orders", ORDER, headers={"Idempotency-Key": "k"})  # the retry the 503 asks for
    assert retried.status == 201, retried.raw
    assert stock_and_orders(shop)[0] == 8


def test_an_idempotency_store_that_times_out_is_503_this_request_placed_nothing(shop, faults):
    """The Idempotency-Key's record cannot be written (the store's answers time out): the order is
    not prepared, nothing is reserved, and the 503 says so -- powertools reports the store's
    failure in an error of its own, which must not become a 500."""
    store = faults.inject("PutItem", fault_support.TIMEOUT, when=lambda body: "Idempotency" in body["TableName"])

    reply = shop.post("/api/orders", ORDER, headers={"Idempotency-Key": "k"})

    assert_problem_503(reply)
    assert "This request placed no order and nothing was reserved" in reply.json["detail"]
    assert store.hits == 2  # the SDK's retry was used
    faults.clear()
    assert stock_and_orders(shop) == (10, [])
    retried = shop.post("/api/orders", ORDER, headers={"Idempotency-Key": "k"})
    assert retried.status == 201, retried.raw
    assert stock_and_orders(shop)[0] == 8


@pytest.mark.parametrize("key", ["PLACEMENT#1", "ORDER#1"], ids=["record", "order"])
def test_a_retry_that_cannot_read_what_was_placed_is_202_then_the_order(shop, faults, key):
    """The first request placed order 1 (its answer was lost to the client). The retry with the
    key cannot read the placement's record, or the stored order: the outcome is unknown to it,
    so it answers 202 with the order's id -- not a 503, which would say it was never placed."""
    placed = shop.post("/api/orders", ORDER, headers={"Idempotency-Key": "k"})
    assert placed.status == 201
    faults.inject("GetItem", "InternalServerError", keys={key})

    unknown = shop.post("/api/orders", ORDER, headers={"Idempotency-Key": "k"})

    assert unknown.status == 202, unknown.raw
    assert (unknown.json["orderId"], unknown.header("Location")) == (1, "/api/orders/1")
    faults.clear()
    again = shop.post("/api/orders", ORDER, headers={"Idempotency-Key": "k"})
    assert (again.status, again.json["id"]) == (201, 1)
    assert stock_and_orders(shop)[0] == 8
