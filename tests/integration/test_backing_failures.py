"""When DynamoDB is busy or fails after the SDK's own retries, the client gets a 503 with
Retry-After that says whether the change may have been applied -- not a 500 that reads as a bug
and says nothing about the write. Faults are injected where DynamoDB answers (moto's handler),
so the handlers' real clients, with their real retries, see them."""

from __future__ import annotations

import pytest

from tests.support import faults as fault_support


@pytest.fixture
def faults(monkeypatch):
    yield from fault_support.install(monkeypatch)


def products(api):
    return [p["name"] for p in api.get("/api/products").json["items"]]


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

    assert backing_failure(ReadTimeoutError(endpoint_url="http://x")) == "failed"
    assert backing_failure(ConnectTimeoutError(endpoint_url="http://x")) == "failed"
    assert backing_failure(EndpointConnectionError(endpoint_url="http://x")) == "failed"
    assert backing_failure(client_error("ThrottlingException", 400)) == "throttled"
    assert backing_failure(client_error("ServiceUnavailable", 503)) == "failed"
    assert backing_failure(client_error("AccessDeniedException", 400)) is None
    assert backing_failure(client_error("ResourceNotFoundException", 400)) is None
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
    assert "No order was placed" in reply.json["detail"]
    faults.clear()
    assert stock_and_orders(shop) == (10, [])
    retried = shop.post("/api/orders", ORDER, headers={"Idempotency-Key": "k"})  # the retry the 503 asks for
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
