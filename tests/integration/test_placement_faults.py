"""Faults injected at every step of the PlaceOrder workflow (the real ASL, executed by moto),
through POST /api/orders. After each: the client got a clear answer, no partial order exists,
no hold is left, and for every product `stock + units held by live orders == initial stock +
restocks` -- at once, or after the compensation queue's consumer has run. (Cancels racing
placements run in tests/e2e, where functions have their own processes.)"""

from __future__ import annotations

import json

import pytest

from tests.support import faults as fault_support
from tests.support import queues

INITIAL = 10
PRODUCTS = (1, 2, 3)
QUEUE = "CompensationQueue"


@pytest.fixture
def faults(monkeypatch):
    yield from fault_support.install(monkeypatch)


@pytest.fixture
def waits(monkeypatch):
    """The workflow's retry intervals, recorded instead of slept (the ASL's backoff is real)."""
    from types import SimpleNamespace

    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

    recorded: list[float] = []
    monkeypatch.setattr(retrier_decl, "time", SimpleNamespace(sleep=recorded.append))
    return recorded


@pytest.fixture
def shop(api, waits):
    assert api.post("/api/customers", {"name": "C", "email": "c@example.com"}).status == 201
    for pid in PRODUCTS:
        assert api.post("/api/products", {"name": f"p{pid}", "price": pid, "stock": INITIAL}).status == 201
    return api


def place(api, *lines):
    return api.post("/api/orders", {"customerId": 1, "items": [{"productId": p, "quantity": q} for p, q in lines]})


def converge(cloud):
    """Run the compensation queue's consumer until the queue is empty."""
    url = cloud.queues[QUEUE]
    for _ in range(20):
        messages = queues.receive(cloud.sqs, url)
        if not messages:
            return
        queues.deliver(cloud.sqs, url, messages, QUEUE)
    raise AssertionError("the compensation queue did not drain")


def assert_conserved(cloud, restocked=None):
    """stock + units held by live orders == initial + restocks, no hold left, no partial order."""
    restocked = restocked or {}
    held = dict.fromkeys(PRODUCTS, 0)
    for order in cloud.scan("OrdersTable"):
        if not order["pk"].startswith("ORDER#"):
            continue
        assert order["status"] and order["items"], f"partial order {order}"
        if order["status"] != "CANCELLED":
            for line in order["items"]:
                held[int(line["productId"])] += int(line["quantity"])
    for pid in PRODUCTS:
        product = cloud.item("ProductsTable", f"PRODUCT#{pid}")
        holds = {k: v for k, v in product.items() if k.startswith("hold_")}
        assert not holds, f"product {pid} still carries {holds}"
        assert product["stock"] >= 0
        assert product["stock"] + held[pid] == INITIAL + restocked.get(pid, 0), (pid, product["stock"], held[pid])


def assert_no_orders(cloud):
    assert [i for i in cloud.scan("OrdersTable") if i["pk"].startswith("ORDER#")] == []


def assert_unavailable(reply, *words):
    assert reply.status == 503, reply.raw
    assert reply.header("Content-Type") == "application/problem+json"
    body = reply.json
    assert body["status"] == 503 and "retry" in body["detail"].lower()
    for word in words:
        assert word in body["detail"]
    assert "Traceback" not in reply.raw


# ---------------------------------------------------------------- faults, step by step
def test_customer_read_error_retries_with_backoff_then_answers_503_without_touching_stock(shop, cloud, faults, waits):
    fault = faults.inject("GetItem", "InternalServerError", keys={"CUSTOMER#1"})

    reply = place(shop, (1, 2), (2, 1))

    assert_unavailable(reply, "customer could not be checked")
    assert fault.hits == 4  # the first attempt and 3 retries
    assert len(waits) == 3
    assert_no_orders(cloud)
    assert_conserved(cloud)


@pytest.mark.parametrize("failing", [1, 2, 3], ids=["first-line", "middle-line", "last-line"])
def test_non_conditional_error_on_a_line_releases_every_other_line(shop, cloud, faults, failing):
    faults.inject("UpdateItem", "ValidationException", keys={f"PRODUCT#{failing}"}, when=faults.reserving)

    reply = place(shop, (1, 3), (2, 2), (3, 1))

    assert_unavailable(reply, "Stock could not be reserved")
    assert_no_orders(cloud)
    assert_conserved(cloud)
    assert queues.receive(cloud.sqs, cloud.queues[QUEUE]) == []  # released inline, nothing pending


def test_throttling_beyond_the_retries_releases_everything(shop, cloud, faults, waits):
    fault = faults.inject(
        "UpdateItem", "ProvisionedThroughputExceededException", keys={"PRODUCT#2"}, when=faults.reserving
    )

    reply = place(shop, (1, 3), (2, 2))

    assert_unavailable(reply)
    assert fault.hits == 4
    assert len(waits) >= 3
    assert_no_orders(cloud)
    assert_conserved(cloud)


def test_transaction_conflict_is_retried_and_the_order_goes_through(shop, cloud, faults):
    faults.inject("UpdateItem", "TransactionConflictException", keys={"PRODUCT#1"}, when=faults.reserving, times=2)

    reply = place(shop, (1, 3), (2, 2))

    assert reply.status == 201, reply.raw
    assert cloud.item("ProductsTable", "PRODUCT#1")["stock"] == INITIAL - 3
    assert_conserved(cloud)


def test_transaction_conflict_beyond_the_retries_releases_everything(shop, cloud, faults):
    faults.inject("UpdateItem", "TransactionConflictException", keys={"PRODUCT#2"}, when=faults.reserving)

    reply = place(shop, (1, 3), (2, 2))

    assert_unavailable(reply)
    assert_no_orders(cloud)
    assert_conserved(cloud)


def test_reservation_applied_but_answered_with_an_error_is_not_taken_twice(shop, cloud, faults):
    """The first attempt took the stock but its answer was lost; the retry finds this order's
    hold (condition fails), so the line counts as not reserved and its release gives back the
    units exactly once."""
    faults.inject("UpdateItem", "InternalServerError", keys={"PRODUCT#1"}, when=faults.reserving, times=1, applied=True)

    reply = place(shop, (1, 3), (2, 2))

    assert reply.status in (409, 503), reply.raw
    assert_no_orders(cloud)
    assert_conserved(cloud)


def test_unreadable_reservation_answer_fails_the_map_and_is_compensated(shop, cloud, faults, monkeypatch):
    """A Map-level failure (the iteration cannot even evaluate its result): every line is
    still released."""
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.call_action

    def no_name(handler):
        request = handler.body
        status, headers, body = original(handler)
        if faults.reserving(json.loads(request)) and '"PRODUCT#2"' in request:
            doc = json.loads(body)
            doc["Attributes"].pop("name", None)
            body = json.dumps(doc)
        return status, headers, body

    monkeypatch.setattr(DynamoHandler, "call_action", no_name)

    reply = place(shop, (1, 3), (2, 2), (3, 1))

    assert_unavailable(reply)
    assert_no_orders(cloud)
    assert_conserved(cloud)


def test_order_write_failure_releases_every_reservation(shop, cloud, faults):
    fault = faults.inject("TransactWriteItems", "InternalServerError", keys={"ORDER#1"})

    reply = place(shop, (1, 3), (2, 2))

    assert_unavailable(reply, "could not be stored")
    assert fault.hits == 3  # the first attempt and 2 retries
    assert_no_orders(cloud)
    assert_conserved(cloud)


def test_order_write_applied_but_answered_with_an_error_is_the_placed_order(shop, cloud, faults):
    """WriteOrder stored the order (and took over the holds) but the answer was lost: the
    workflow finds its own order and answers 201; nothing is released."""
    faults.inject("TransactWriteItems", "InternalServerError", keys={"ORDER#1"}, times=1, applied=True)

    reply = place(shop, (1, 3), (2, 2))

    assert reply.status == 201, reply.raw
    assert cloud.item("OrdersTable", "ORDER#1")["status"] == "CONFIRMED"
    assert cloud.item("ProductsTable", "PRODUCT#1")["stock"] == INITIAL - 3
    assert_conserved(cloud)


def test_release_that_fails_is_queued_and_completed_later_exactly_once(shop, cloud, faults, waits):
    faults.inject("UpdateItem", "ValidationException", keys={"PRODUCT#2"}, when=faults.reserving)
    release = faults.inject("UpdateItem", "InternalServerError", keys={"PRODUCT#1"}, when=faults.releasing)

    reply = place(shop, (1, 3), (2, 2))

    assert_unavailable(reply)
    assert release.hits == 4  # released with retries and backoff before giving up
    # Not yet converged: product 1's units are still held by the failed order's hold...
    product = cloud.item("ProductsTable", "PRODUCT#1")
    assert (product["stock"], product["hold_1"]) == (INITIAL - 3, 3)
    # ... and the release waits in the compensation queue.
    messages = queues.receive(cloud.sqs, cloud.queues[QUEUE])
    assert queues.bodies(messages) == [{"orderId": 1, "lines": [{"productId": 1, "quantity": 3}]}]

    faults.clear()  # DynamoDB recovers; the consumer completes the release
    result = queues.deliver(cloud.sqs, cloud.queues[QUEUE], messages, QUEUE)
    assert result == {"batchItemFailures": []}
    assert_conserved(cloud)

    # At-least-once delivery: the same message again restores nothing more.
    queues.deliver(cloud.sqs, cloud.queues[QUEUE], messages, QUEUE)
    assert cloud.item("ProductsTable", "PRODUCT#1")["stock"] == INITIAL
    assert_conserved(cloud)


def test_consumer_failure_is_reported_and_redelivered(shop, cloud, faults):
    faults.inject("UpdateItem", "ValidationException", keys={"PRODUCT#2"}, when=faults.reserving)
    faults.inject("UpdateItem", "InternalServerError", keys={"PRODUCT#1"}, when=faults.releasing)
    assert place(shop, (1, 3), (2, 2)).status == 503
    url = cloud.queues[QUEUE]
    messages = queues.receive(cloud.sqs, url)

    result = queues.deliver(cloud.sqs, url, messages, QUEUE)  # DynamoDB still failing

    assert result == {"batchItemFailures": [{"itemIdentifier": messages[0]["MessageId"]}]}
    assert cloud.item("ProductsTable", "PRODUCT#1")["stock"] == INITIAL - 3
    faults.clear()
    converge(cloud)  # the message was kept, so the next delivery completes it
    assert_conserved(cloud)


def test_release_applied_but_answered_with_an_error_is_not_given_back_twice(shop, cloud, faults):
    """A release retry whose first attempt actually succeeded: the hold is gone, so the retry's
    condition fails and nothing more is added."""
    faults.inject("UpdateItem", "ValidationException", keys={"PRODUCT#2"}, when=faults.reserving)
    faults.inject("UpdateItem", "InternalServerError", keys={"PRODUCT#1"}, when=faults.releasing, times=1, applied=True)

    reply = place(shop, (1, 3), (2, 2))

    assert_unavailable(reply)
    assert queues.receive(cloud.sqs, cloud.queues[QUEUE]) == []
    assert_conserved(cloud)


def test_malformed_compensation_message_is_reported_as_failed(cloud):
    url = cloud.queues[QUEUE]
    cloud.sqs.send_message(QueueUrl=url, MessageBody='{"orderId": "x"}')
    messages = queues.receive(cloud.sqs, url)

    result = queues.deliver(cloud.sqs, url, messages, QUEUE)

    assert result == {"batchItemFailures": [{"itemIdentifier": messages[0]["MessageId"]}]}


def test_compensation_queue_dead_letters_after_max_receives(cloud):
    attributes = cloud.sqs.get_queue_attributes(QueueUrl=cloud.queues[QUEUE], AttributeNames=["RedrivePolicy"])
    policy = json.loads(attributes["Attributes"]["RedrivePolicy"])
    assert policy["deadLetterTargetArn"].endswith(":CompensationDeadLetterQueue")
    assert policy["maxReceiveCount"] == 10


def test_start_sync_execution_failing_is_a_503(shop, cloud, monkeypatch):
    """The call itself failed: the execution ran at most once and compensated itself if it
    failed; the client is told to retry. (Injected in moto's Step Functions.)"""
    from moto.core.exceptions import JsonRESTError
    from moto.stepfunctions.responses import StepFunctionResponse

    def refuse(self):
        raise JsonRESTError("ExecutionLimitExceeded", "too many executions")

    monkeypatch.setattr(StepFunctionResponse, "start_sync_execution", refuse, raising=False)

    reply = place(shop, (1, 3))

    assert_unavailable(reply, "StartSyncExecution.ExecutionLimitExceeded")
    assert_no_orders(cloud)
    assert_conserved(cloud)
