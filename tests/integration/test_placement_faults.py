"""Faults injected at every step of order placement (the real ASL, executed by moto), through
POST /api/orders. After each: the client got an answer that is true -- 201 names a stored order,
a rejection means the order is not and never will be stored, 202 says the outcome is unknown --
no partial order exists, no hold is left (at once, after the compensation queue's consumer, or
after the sweeper), and for every product `stock + units held by live orders == initial stock +
restocks`. See docs/adr/0011-placement-protocol.md and docs/placement.md."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from localcloud import sync_execution
from orders.placement_record import hold_key
from tests.support import faults as fault_support
from tests.support import iam, queues, schedules

pytestmark = pytest.mark.protocol  # the protocol tier: `make test-protocol` (docs/testing.md, "Tiers")

INITIAL = 10
PRODUCTS = (1, 2, 3)
QUEUE = "CompensationQueue"
# An invocation's time left for tests about answers, not time budgets: more than any run takes on
# a loaded machine (the function's own Timeout counts down in real time).
AMPLE_SECONDS = 600.0


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


def place(api, *lines, key=None, **kwargs):
    headers = {"Idempotency-Key": key} if key else None
    body = {"customerId": 1, "items": [{"productId": p, "quantity": q} for p, q in lines]}
    return api.post("/api/orders", body, headers=headers, **kwargs)


def converge(cloud):
    """Run the compensation queue's consumer until the queue is empty."""
    url = cloud.queues[QUEUE]
    for _ in range(20):
        messages = queues.receive(cloud.sqs, url)
        if not messages:
            return
        queues.deliver(cloud.sqs, url, messages, QUEUE)
    raise AssertionError("the compensation queue did not drain")


def stored_orders(cloud):
    return [i for i in cloud.scan("OrdersTable") if i["pk"].startswith("ORDER#")]


def record(cloud, order_id=1):
    return cloud.item("OrdersTable", f"PLACEMENT#{order_id}")


def assert_conserved(cloud, restocked=None):
    """stock + units held by live orders == initial + restocks, no hold left, no partial order."""
    restocked = restocked or {}
    held = dict.fromkeys(PRODUCTS, 0)
    for order in stored_orders(cloud):
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
    assert stored_orders(cloud) == []


def assert_unavailable(reply, *words):
    assert reply.status == 503, reply.raw
    assert reply.header("Content-Type") == "application/problem+json"
    body = reply.json
    assert body["status"] == 503 and "retry" in body["detail"].lower()
    for word in words:
        assert word in body["detail"]
    assert "Traceback" not in reply.raw


def assert_decided_failed(cloud, order_id=1):
    """A rejected placement can never be stored: its record has a failure outcome."""
    outcome = record(cloud, order_id)["outcome"]
    assert outcome and outcome != "PLACED", outcome


# ---------------------------------------------------------------- faults, step by step
def test_customer_read_error_retries_with_backoff_then_answers_503_without_touching_stock(shop, cloud, faults, waits):
    fault = faults.inject("UpdateItem", "InternalServerError", when=faults.marking_customer)

    reply = place(shop, (1, 2), (2, 1))

    assert_unavailable(reply, "customer could not be checked")
    assert fault.hits == 2  # the first attempt and 1 retry
    assert len(waits) == 1
    assert_no_orders(cloud)
    assert_conserved(cloud)
    assert_decided_failed(cloud)


@pytest.mark.parametrize("failing", [1, 2, 3], ids=["first-line", "middle-line", "last-line"])
def test_a_reservation_error_takes_nothing_on_any_line(shop, cloud, faults, failing):
    """One transaction reserves every line: an error on any line's item leaves all stock as is."""
    faults.inject("TransactWriteItems", "ValidationException", keys={f"PRODUCT#{failing}"}, when=faults.reserving)

    reply = place(shop, (1, 3), (2, 2), (3, 1))

    assert_unavailable(reply, "Stock could not be reserved")
    assert_no_orders(cloud)
    assert_conserved(cloud)
    assert_decided_failed(cloud)
    assert queues.receive(cloud.sqs, cloud.queues[QUEUE]) == []  # nothing was reserved, nothing to release


def test_throttling_beyond_the_retry_fails_the_placement_with_nothing_taken(shop, cloud, faults, waits):
    fault = faults.inject(
        "TransactWriteItems", "ProvisionedThroughputExceededException", keys={"PRODUCT#2"}, when=faults.reserving
    )

    reply = place(shop, (1, 3), (2, 2))

    assert_unavailable(reply)
    assert fault.hits == 2
    assert waits
    assert_no_orders(cloud)
    assert_conserved(cloud)


def test_a_cancelled_reservation_is_retried_and_the_order_goes_through(shop, cloud, faults):
    """A transaction conflict (TransactionCanceledException) once: the retry succeeds."""
    faults.inject("TransactWriteItems", "TransactionCanceledException", when=faults.reserving, times=1)

    reply = place(shop, (1, 3), (2, 2))

    assert reply.status == 201, reply.raw
    assert cloud.item("ProductsTable", "PRODUCT#1")["stock"] == INITIAL - 3
    assert_conserved(cloud)


def test_conflicts_beyond_the_retry_are_a_503_worth_retrying(shop, cloud, faults):
    """Cancelled every time although nothing is short or repriced: a conflict, not a refusal."""
    faults.inject("TransactWriteItems", "TransactionCanceledException", when=faults.reserving)

    reply = place(shop, (1, 3), (2, 2))

    assert_unavailable(reply, "concurrent changes")
    assert_no_orders(cloud)
    assert_conserved(cloud)


def test_reservation_applied_but_answered_with_an_error_is_taken_once_and_placed(shop, cloud, faults):
    """The reservation landed but its answer was lost: the retry is cancelled (the placement record
    exists), and Adopt stores the order with the units that reservation holds. Before the
    placement record, this answered 409/503 (and released)."""
    faults.inject("TransactWriteItems", "InternalServerError", when=faults.reserving, times=1, applied=True)

    reply = place(shop, (1, 3), (2, 2))

    assert reply.status == 201, reply.raw
    assert cloud.item("ProductsTable", "PRODUCT#1")["stock"] == INITIAL - 3
    assert_conserved(cloud)


def test_order_write_failure_releases_every_reservation(shop, cloud, faults):
    fault = faults.inject("TransactWriteItems", "InternalServerError", keys={"ORDER#1"})

    reply = place(shop, (1, 3), (2, 2))

    assert_unavailable(reply, "could not be stored")
    assert fault.hits == 2  # the first attempt and 1 retry
    assert_no_orders(cloud)
    assert_conserved(cloud)
    assert record(cloud)["outcome"] == "OrderWriteFailed"


def test_order_write_applied_but_answered_with_an_error_is_the_placed_order(shop, cloud, faults):
    """WriteOrder stored the order (and took over the holds) but the answer was lost: the retry
    is cancelled, Decide finds the record PLACED: 201, nothing is released."""
    faults.inject("TransactWriteItems", "InternalServerError", keys={"ORDER#1"}, times=1, applied=True)

    reply = place(shop, (1, 3), (2, 2))

    assert reply.status == 201, reply.raw
    assert cloud.item("OrdersTable", "ORDER#1")["status"] == "CONFIRMED"
    assert cloud.item("ProductsTable", "PRODUCT#1")["stock"] == INITIAL - 3
    assert_conserved(cloud)


def test_release_that_fails_is_queued_and_completed_later_exactly_once(shop, cloud, faults, waits):
    faults.inject("TransactWriteItems", "ValidationException", when=faults.writing_order)
    release = faults.inject("UpdateItem", "InternalServerError", keys={"PRODUCT#1"}, when=faults.releasing)

    reply = place(shop, (1, 3), (2, 2))

    assert_unavailable(reply)
    assert release.hits == 2  # released with a retry and backoff before giving up
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


@pytest.mark.slow
def test_consumer_failure_is_reported_and_redelivered(shop, cloud, faults):
    faults.inject("TransactWriteItems", "ValidationException", when=faults.writing_order)
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
    faults.inject("TransactWriteItems", "ValidationException", when=faults.writing_order)
    faults.inject("UpdateItem", "InternalServerError", keys={"PRODUCT#1"}, when=faults.releasing, times=1, applied=True)

    reply = place(shop, (1, 3), (2, 2))

    assert_unavailable(reply)
    assert queues.receive(cloud.sqs, cloud.queues[QUEUE]) == []
    assert_conserved(cloud)


def test_release_and_queue_both_failing_are_resolved_by_the_sweeper(shop, cloud, faults):
    """The gap the compensation queue left (DynamoDB and SQS failing together): the placement
    record stays pending, and the sweeper releases its holds once it is stale."""
    from moto.sqs.responses import SQSResponse

    faults.inject("TransactWriteItems", "ValidationException", when=faults.writing_order)
    faults.inject("UpdateItem", "InternalServerError", when=faults.releasing)

    def unavailable(self):
        from moto.core.exceptions import JsonRESTError

        raise JsonRESTError("ServiceUnavailable", "injected")

    with pytest.MonkeyPatch.context() as sqs_down:
        sqs_down.setattr(SQSResponse, "send_message", unavailable)
        reply = place(shop, (1, 3), (2, 2))

    assert_unavailable(reply)
    assert record(cloud)["pending"] == hold_key(1)
    assert cloud.item("ProductsTable", "PRODUCT#1")["hold_1"] == 3
    faults.clear()

    early = schedules.sweep()  # not stale yet: a running execution could still hold it
    assert early["holdsFound"] == 0 and cloud.item("ProductsTable", "PRODUCT#1")["hold_1"] == 3
    swept = schedules.sweep(datetime.now(UTC) + timedelta(minutes=2))

    assert (swept["holdsFound"], swept["placements"]) == (2, 1)
    assert_conserved(cloud)
    assert "pending" not in record(cloud)
    assert record(cloud)["outcome"] == "OrderWriteFailed"


# ---------------------------------------------------------------- lost answers and unknown outcomes
def _lose_the_answer(monkeypatch, *, after_running=True):
    """StartSyncExecution runs the execution to its end, then its answer is lost (a 500)."""
    from moto.core.exceptions import JsonRESTError
    from moto.stepfunctions.responses import StepFunctionResponse

    original = StepFunctionResponse.start_sync_execution
    calls = []

    def lost(self):
        calls.append(1)
        if after_running:
            original(self)
        raise JsonRESTError("InternalFailure", "injected: the answer was lost")

    monkeypatch.setattr(StepFunctionResponse, "start_sync_execution", lost, raising=False)
    return calls


def test_start_sync_execution_refused_before_running_is_decided_failed(shop, cloud, monkeypatch):
    """The call failed and the execution never ran: the function records the placement as
    failed (so no later run can store it) and answers 503."""
    from moto.core.exceptions import JsonRESTError
    from moto.stepfunctions.responses import StepFunctionResponse

    def refuse(self):
        raise JsonRESTError("ExecutionLimitExceeded", "too many executions")

    monkeypatch.setattr(StepFunctionResponse, "start_sync_execution", refuse, raising=False)

    reply = place(shop, (1, 3))

    assert_unavailable(reply, "did not complete")
    assert_no_orders(cloud)
    assert_conserved(cloud)
    assert record(cloud)["outcome"] == "WorkflowFailed"


def test_a_stored_order_whose_answer_was_lost_is_answered_201(shop, cloud, monkeypatch):
    """The issue's second reproduction: the order was stored but the answer lost. The function
    finds the placement decided PLACED and answers 201 with it; never 503."""
    calls = _lose_the_answer(monkeypatch)

    reply = place(shop, (1, 3), (2, 2))

    assert calls == [1]  # StartSyncExecution is not retried by the SDK
    assert reply.status == 201, reply.raw
    assert reply.json["id"] == 1 and reply.header("Location") == "/api/orders/1"
    assert [o["id"] for o in stored_orders(cloud)] == [1]
    assert_conserved(cloud)


def test_lost_answer_and_lost_confirmation_answer_202_and_the_keyed_retry_returns_the_one_order(
    shop, cloud, faults, monkeypatch
):
    """The order was stored, the answer lost, and recording the outcome fails too: the function
    cannot know, so it says so (202, Location) and keeps the key's placement. The retry with the
    same key finds the same placement PLACED: 201, the same order; one order, stock taken once.
    (Before: 503, the key forgotten, and the retry placed a second order.)"""
    _lose_the_answer(monkeypatch)
    decide = faults.inject("UpdateItem", "InternalServerError", keys={"PLACEMENT#1"})

    first = place(shop, (1, 3), (2, 2), key="k-lost")

    assert first.status == 202, first.raw
    assert first.json == {"orderId": 1, "outcome": "UNKNOWN", "detail": first.json["detail"]}
    assert first.header("Location") == "/api/orders/1" and first.header("Retry-After") == "30"
    assert decide.hits >= 1
    faults.clear()
    monkeypatch.undo()

    retry = place(shop, (1, 3), (2, 2), key="k-lost")

    assert retry.status == 201, retry.raw
    assert retry.json["id"] == 1
    assert [o["id"] for o in stored_orders(cloud)] == [1]
    assert_conserved(cloud)


def test_an_unknown_outcome_that_never_ran_is_placed_once_by_the_keyed_retry(shop, cloud, faults, monkeypatch):
    """202 when nothing ran at all: the retry with the same key runs the same placement (the same
    order id) and places it once."""
    _lose_the_answer(monkeypatch, after_running=False)
    faults.inject("UpdateItem", "InternalServerError", keys={"PLACEMENT#1"})

    assert place(shop, (1, 3), key="k-never").status == 202
    assert_no_orders(cloud)
    faults.clear()
    monkeypatch.undo()

    retry = place(shop, (1, 3), key="k-never")

    assert (retry.status, retry.json["id"]) == (201, 1)
    assert [o["id"] for o in stored_orders(cloud)] == [1]
    assert_conserved(cloud)


def test_a_keyed_retry_after_a_decided_failure_places_a_new_order(shop, cloud, faults, monkeypatch):
    """202 first; meanwhile the placement was decided failed (here: the sweeper abandoned it).
    The retry with the key does not resurrect it: it places anew, under a new order id."""
    _lose_the_answer(monkeypatch, after_running=False)
    faults.inject("UpdateItem", "InternalServerError", keys={"PLACEMENT#1"})
    assert place(shop, (1, 3), key="k-abandoned").status == 202
    faults.clear()
    monkeypatch.undo()
    cloud.dynamodb.put_item(
        TableName=cloud.tables["OrdersTable"],
        Item={"pk": {"S": "PLACEMENT#1"}, "orderId": {"N": "1"}, "outcome": {"S": "Abandoned"}},
    )

    retry = place(shop, (1, 3), key="k-abandoned")

    assert (retry.status, retry.json["id"]) == (201, 2)
    assert [o["id"] for o in stored_orders(cloud)] == [2]
    assert_conserved(cloud)


def test_a_keyed_retry_that_cannot_read_what_happened_is_202_naming_the_same_order(shop, cloud, faults):
    """A retry with the key finds the key's placement, but DynamoDB does not answer when the
    placement's record is read, or (the placement being PLACED) the order itself: the function
    cannot say what happened, so it answers 202 naming that order -- never a new placement."""
    first = place(shop, (1, 3), key="k-unread")
    assert first.status == 201, first.raw

    for key in ("PLACEMENT#1", "ORDER#1"):
        fault = faults.inject("GetItem", "InternalServerError", keys={key})
        retry = place(shop, (1, 3), key="k-unread")
        faults.clear()
        assert fault.hits >= 1, key
        assert retry.status == 202, (key, retry.raw)
        assert retry.json["orderId"] == 1 and retry.header("Location") == "/api/orders/1"

    again = place(shop, (1, 3), key="k-unread")
    assert (again.status, again.json) == (201, first.json)
    assert [o["id"] for o in stored_orders(cloud)] == [1]
    assert_conserved(cloud)


def test_a_keyed_retry_after_its_order_was_deleted_is_409_and_places_nothing(shop, cloud):
    assert place(shop, (1, 3), key="k-deleted").status == 201
    assert shop.delete("/api/orders/1").status == 204

    retry = place(shop, (1, 3), key="k-deleted")

    assert retry.status == 409, retry.raw
    assert retry.json["detail"] == "Order 1 was placed with this Idempotency-Key and has since been deleted."
    assert_no_orders(cloud)
    assert_conserved(cloud)


def _reprice(cloud, product_id, price):
    """An admin's change of a product's price (not the function's call)."""
    with iam.acting_as(None):
        cloud.dynamodb.update_item(
            TableName=cloud.tables["ProductsTable"],
            Key={"pk": {"S": f"PRODUCT#{product_id}"}},
            UpdateExpression="SET price = :p",
            ExpressionAttributeValues={":p": {"N": price}},
        )


def _reprice_then_lose_the_answer(monkeypatch, cloud, then=lambda: None):
    """Product 2's price changes after the quote (the workflow refuses the reservation and
    records it), then `then()`, and the answer of StartSyncExecution is lost."""
    from moto.core.exceptions import JsonRESTError
    from moto.stepfunctions.responses import StepFunctionResponse

    original = StepFunctionResponse.start_sync_execution

    def reprice_then_lose(self):
        _reprice(cloud, 2, "2.75")
        original(self)
        then()
        raise JsonRESTError("InternalFailure", "injected: the answer was lost")

    monkeypatch.setattr(StepFunctionResponse, "start_sync_execution", reprice_then_lose, raising=False)


def test_a_refusal_whose_answer_was_lost_is_answered_as_the_refusal(shop, cloud, monkeypatch):
    """The workflow refused the reservation and recorded it, and its answer was lost: the
    function finds that decided outcome and explains it, as if it had been answered."""
    _reprice_then_lose_the_answer(monkeypatch, cloud)

    reply = place(shop, (1, 1), (2, 1), time_left=AMPLE_SECONDS)

    assert reply.status == 409, reply.raw
    assert reply.json["errors"] == [{"field": "items", "message": "product 2 now costs 2.75", "type": "price_changed"}]
    assert record(cloud)["outcome"] == "Refused"
    assert_no_orders(cloud)
    assert_conserved(cloud)


def test_a_keyed_retry_of_a_placement_refused_unseen_places_anew_at_the_current_price(shop, cloud, faults, monkeypatch):
    """The refusal's answer was lost and could not be confirmed either (202). The retry with the
    key finds the placement refused: it is forgotten and the retry places a new order, priced now."""

    def fail_to_confirm():  # the function's own decide then fails (the workflow recorded Refused)
        faults.inject("UpdateItem", "InternalServerError", keys={"PLACEMENT#1"})

    _reprice_then_lose_the_answer(monkeypatch, cloud, fail_to_confirm)
    assert place(shop, (1, 1), (2, 1), key="k-refused", time_left=AMPLE_SECONDS).status == 202
    faults.clear()
    monkeypatch.undo()

    retry = place(shop, (1, 1), (2, 1), key="k-refused", time_left=AMPLE_SECONDS)

    assert retry.status == 201, retry.raw
    assert retry.json["id"] == 2
    assert {line["productId"]: line["unitPrice"] for line in retry.json["items"]} == {1: 1, 2: 2.75}
    assert record(cloud)["outcome"] == "Refused"
    assert [o["id"] for o in stored_orders(cloud)] == [2]
    assert_conserved(cloud)


def test_a_keyed_retry_raced_by_another_failing_placement_of_its_key_answers_that_failure(shop, cloud, monkeypatch):
    """A keyed retry finds its placement decided failed, forgets it and places anew; but a racing
    retry with the same key has meanwhile prepared the key's next placement, which is decided
    failed too. The answer is that failure (503, retry), never a 500."""
    from orders.placement import Intent

    for order_id in (7, 8):
        cloud.dynamodb.put_item(
            TableName=cloud.tables["OrdersTable"],
            Item={"pk": {"S": f"PLACEMENT#{order_id}"}, "orderId": {"N": str(order_id)}, "outcome": {"S": "Abandoned"}},
        )
    # what the key stands for at each look: the earlier placement, then the racing request's
    payloads = iter([{"orderId": 7}, {"orderId": 8}])
    monkeypatch.setattr(Intent, "payload", lambda self: (next(payloads), True))
    # (the key's record is not in the store: this test stands in for what it held)
    forgotten: list[object] = []
    monkeypatch.setattr(Intent, "forget", lambda self, rejected: forgotten.append(rejected))

    reply = place(shop, (1, 3), key="k-raced")

    assert_unavailable(reply)
    assert reply.json["detail"] == "Order placement did not complete (Abandoned); no stock is kept. Please retry."
    assert len(forgotten) == 2  # each failed placement let the key go
    assert_no_orders(cloud)
    assert_conserved(cloud)


def test_the_workflow_outliving_its_caller_cannot_store_an_order_the_caller_was_told_failed(shop, cloud, faults):
    """StartSyncExecution gives up (here: the emulator's bound, as a read timeout would) while the
    execution still runs. The function decides the placement failed; the late execution then
    finds it decided and releases what it took. Whatever the interleaving, the answer is true."""
    faults.inject("TransactWriteItems", fault_support.SLOW, when=faults.reserving, delay=0.8)
    sync_execution.set_timeout(0.3)
    try:
        reply = place(shop, (1, 3), (2, 2))
    finally:
        sync_execution.set_timeout(sync_execution.DEFAULT_TIMEOUT_SECONDS)

    assert_unavailable(reply, "did not complete")
    _wait_for_executions(cloud)
    assert_no_orders(cloud)
    assert_conserved(cloud)
    assert record(cloud)["outcome"] == "WorkflowFailed"


@pytest.mark.parametrize(
    ("error", "status"),
    [
        ("CustomerNotFound", 422),
        ("CustomerErased", 422),
        ("CustomerCheckFailed", 503),
        ("Refused", 503),  # nothing explains it on a fresh look: a conflict, worth a retry
        ("ReservationFailed", 503),
        ("OrderWriteFailed", 503),
        ("WorkflowFailed", 503),
        ("Abandoned", 503),
    ],
)
def test_a_failure_the_workflow_decided_is_answered_as_it_said(shop, cloud, faults, monkeypatch, error, status):
    """Each of the workflow's own failure reasons is decided (recorded by the run): the function
    answers the rejection it names at once, without deciding it again -- so neither a DynamoDB
    failure nor the time left after the run can turn it into a 202."""
    from orders.workflow import Outcome, PlacementWorkflow

    def failed(self, name, payload):
        return Outcome(status="FAILED", output=None, error=error, cause="the run's own failure")

    monkeypatch.setattr(PlacementWorkflow, "run", failed)
    decide = faults.inject("UpdateItem", "InternalServerError", keys={"PLACEMENT#1"})

    reply = place(shop, (1, 3))

    assert reply.status == status, reply.raw
    assert decide.hits == 0
    assert_no_orders(cloud)
    assert_conserved(cloud)


def _wait_for_executions(cloud, timeout=30.0):
    import time

    arn = cloud.state_machines["PlaceOrderStateMachine"]
    deadline = time.monotonic() + timeout
    while cloud.stepfunctions.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"]:
        assert time.monotonic() < deadline, "executions still running"
        time.sleep(0.1)


# ---------------------------------------------------------------- the time budget
def test_without_time_for_the_workflow_it_is_not_started(shop, cloud):
    """Less time left than StartSyncExecution's worst case: nothing is started, 503."""
    from orders.placement import start_budget_seconds

    reply = place(shop, (1, 3), time_left=start_budget_seconds() - 1)

    assert_unavailable(reply)
    assert reply.json["detail"] == "Order placement could not start in time; nothing was reserved. Please retry."
    arn = cloud.state_machines["PlaceOrderStateMachine"]
    assert cloud.stepfunctions.list_executions(stateMachineArn=arn)["executions"] == []
    assert_conserved(cloud)


def test_the_call_s_worst_case_alone_is_not_time_enough_to_start(shop, cloud, monkeypatch):
    """Exactly StartSyncExecution's worst case left: the call could use all of it and leave no
    time to answer (or to decide an unknown outcome), so nothing is started."""
    from sales_common import aws
    from tests.support import apigw

    left = aws.worst_case_seconds("stepfunctions")
    monkeypatch.setattr(apigw.LambdaContext, "get_remaining_time_in_millis", lambda self: int(left * 1000))

    reply = place(shop, (1, 3))

    assert_unavailable(reply, "could not start in time")
    arn = cloud.state_machines["PlaceOrderStateMachine"]
    assert cloud.stepfunctions.list_executions(stateMachineArn=arn)["executions"] == []
    assert_conserved(cloud)


@pytest.mark.parametrize("then", ["just under the budget", "a DynamoDB call's worst case, no margin"])
def test_an_unknown_outcome_without_time_to_decide_is_202(shop, cloud, monkeypatch, then):
    """The answer was lost and too little time is left to record an outcome (a DynamoDB call's
    worst case and the margin to answer after it): 202, not a guess."""
    from orders.placement import decide_budget_seconds, start_budget_seconds
    from sales_common import aws
    from tests.support import apigw

    _lose_the_answer(monkeypatch)
    # The invocation's clock as the function reads it: enough to start, then (the run having
    # used it up) too little to decide.
    too_little = decide_budget_seconds() - 1 if then == "just under the budget" else aws.worst_case_seconds("dynamodb")
    left = iter([start_budget_seconds() + 1, too_little])
    monkeypatch.setattr(apigw.LambdaContext, "get_remaining_time_in_millis", lambda self: int(next(left) * 1000))

    reply = place(shop, (1, 3))

    assert reply.status == 202, reply.raw
    assert reply.json["orderId"] == 1 and reply.header("Location") == "/api/orders/1"
    assert reply.header("Cache-Control") == "no-store"
    assert record(cloud)["outcome"] == "PLACED"  # it was stored; the caller was not told it failed


# ---------------------------------------------------------------- the price changed since the quote
def test_a_price_changed_between_quote_and_reservation_is_a_409_naming_the_current_price(shop, cloud, monkeypatch):
    """Not "out of stock" (issue 18, item 4)."""
    from moto.stepfunctions.responses import StepFunctionResponse

    original = StepFunctionResponse.start_sync_execution

    def reprice_first(self):
        _reprice(cloud, 2, "2.75")
        return original(self)

    monkeypatch.setattr(StepFunctionResponse, "start_sync_execution", reprice_first, raising=False)

    # ample time: on a loaded machine the function's 28 s could run out before it re-reads the
    # products, and the answer would be the (true) 503 of test_a_refusal_that_cannot_be_explained...
    reply = place(shop, (1, 1), (2, 1), time_left=AMPLE_SECONDS)

    assert reply.status == 409, reply.raw
    body = reply.json
    assert "price changed" in body["detail"] and "product 2 now costs 2.75 (quoted 2.00)" in body["detail"]
    assert "stock" not in body["detail"].lower()
    assert body["errors"] == [{"field": "items", "message": "product 2 now costs 2.75", "type": "price_changed"}]
    assert_no_orders(cloud)
    assert_conserved(cloud)


def test_an_execution_input_replayed_after_its_order_failed_stays_failed(shop, cloud, faults):
    """Read an execution's input back (DescribeExecution) and start it again after the cause went
    away: the caller was told it failed, so it stays failed."""
    faults.inject("TransactWriteItems", "InternalServerError", when=faults.writing_order)
    assert_unavailable(place(shop, (1, 3)))
    faults.clear()
    arn = cloud.state_machines["PlaceOrderStateMachine"]
    (execution,) = cloud.stepfunctions.list_executions(stateMachineArn=arn)["executions"]
    described = cloud.stepfunctions.describe_execution(executionArn=execution["executionArn"])
    assert described["name"] == "order-1"  # each placement's execution is found by its order's id

    replay = cloud.stepfunctions.start_sync_execution(
        stateMachineArn=arn, name=described["name"], input=described["input"]
    )

    assert (replay["status"], replay["error"]) == ("FAILED", "OrderWriteFailed")
    assert_no_orders(cloud)
    assert_conserved(cloud)
    assert json.loads(described["input"])["orderId"] == 1


# ---------------------------------------------------------------- keys across a deploy
def test_a_key_answered_by_the_previous_version_still_returns_its_order(shop, cloud):
    """A client retrying across the deploy of this version: its key's record was written by the
    previous code (which kept the placed order itself). The retry answers that order and places
    nothing (the key prefix is pinned, so it is found)."""
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig

    from orders.models import OrderCreate
    from orders.placement import KEY_PREFIX

    earlier = place(shop, (1, 3))
    assert earlier.status == 201
    body = {"customerId": 1, "items": [{"productId": 1, "quantity": 3}]}
    request = {
        "user": "admin-user",
        "key": "k-before-the-deploy",
        "body": OrderCreate.model_validate(body).model_dump(mode="json", by_alias=True),
    }
    legacy = DynamoDBPersistenceLayer(table_name=cloud.tables["IdempotencyTable"], boto3_client=cloud.dynamodb)
    legacy.configure(
        IdempotencyConfig(event_key_jmespath="[user, key]", payload_validation_jmespath="body"),
        key_prefix=KEY_PREFIX.format(function="test-func"),
    )
    legacy.save_success(data=request, result=earlier.json)

    retry = place(shop, (1, 3), key="k-before-the-deploy")

    assert (retry.status, retry.json) == (201, earlier.json)
    assert [o["id"] for o in stored_orders(cloud)] == [1]
    assert_conserved(cloud)


def test_a_refusal_that_cannot_be_explained_is_still_a_true_rejection(shop, cloud, faults, monkeypatch):
    """The reservation was refused (here: the price changed) and re-reading the products to say
    why fails: the client is told it was refused (503, retry), never a 500."""
    from moto.stepfunctions.responses import StepFunctionResponse

    original = StepFunctionResponse.start_sync_execution

    def reprice_then_fail_reads(self):
        with iam.acting_as(None):
            cloud.dynamodb.update_item(
                TableName=cloud.tables["ProductsTable"],
                Key={"pk": {"S": "PRODUCT#1"}},
                UpdateExpression="SET price = :p",
                ExpressionAttributeValues={":p": {"N": "1.5"}},
            )
        answer = original(self)
        faults.inject("BatchGetItem", "InternalServerError")
        return answer

    monkeypatch.setattr(StepFunctionResponse, "start_sync_execution", reprice_then_fail_reads, raising=False)

    reply = place(shop, (1, 1), time_left=AMPLE_SECONDS)

    assert_unavailable(reply)
    assert reply.json["detail"] == (
        "The order was refused: the stock or the price of a product changed while it was being placed. "
        "Nothing was reserved. Please retry."
    )
    assert_no_orders(cloud)
    assert record(cloud)["outcome"] == "Refused"
