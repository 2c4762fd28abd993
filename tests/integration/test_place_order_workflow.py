"""The PlaceOrder state machine itself, executed by moto from the ASL file template.yaml
references (with its DefinitionSubstitutions applied), driven with StartSyncExecution: every
run of one input converges (docs/adr/0011-placement-protocol.md)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from orders.placement_record import hold_key
from orders.repository import list_keys
from tests.support import faults as fault_support

pytestmark = pytest.mark.protocol  # the protocol tier: `make test-protocol` (docs/testing.md, "Tiers")

PAYLOAD_TIME = "2026-01-01T00:00:00.000Z"


@pytest.fixture
def catalog(api):
    api.post("/api/customers", {"name": "C", "email": "c@example.com"})
    api.post("/api/products", {"name": "A", "price": 10, "stock": 5})
    api.post("/api/products", {"name": "B", "price": 2.5, "stock": 1})
    return api


@pytest.fixture
def faults(monkeypatch):
    yield from fault_support.install(monkeypatch)


def payload(items, customer=1, order_id=100):
    return {
        "orderId": order_id,
        "listKeys": list_keys(order_id, customer, "workflow-test", "CONFIRMED"),
        "holdKey": hold_key(order_id),
        "customerId": customer,
        "createdBy": "workflow-test",
        "createdAt": PAYLOAD_TIME,
        "total": "0",
        "items": items,
    }


def run(cloud, items, customer=1, order_id=100, name=None):
    return start(cloud, payload(items, customer, order_id), name or f"order-{order_id}")


def start(cloud, document, name):
    return cloud.stepfunctions.start_sync_execution(
        stateMachineArn=cloud.state_machines["PlaceOrderStateMachine"], name=name, input=json.dumps(document)
    )


def line(pid, qty, price, name="x"):
    return {"productId": pid, "quantity": qty, "unitPrice": price, "lineTotal": "0", "name": name}


def stock(cloud, pid):
    return cloud.item("ProductsTable", f"PRODUCT#{pid}")["stock"]


def holds(cloud, pid):
    return {k: v for k, v in cloud.item("ProductsTable", f"PRODUCT#{pid}").items() if k.startswith("hold_")}


def orders(cloud):
    return [i for i in cloud.scan("OrdersTable") if i["pk"].startswith("ORDER#")]


def record(cloud, order_id=100):
    return cloud.item("OrdersTable", f"PLACEMENT#{order_id}")


def test_workflow_definition_comes_from_the_referenced_asl_file(cloud):
    arn = cloud.state_machines["PlaceOrderStateMachine"]
    definition = json.loads(cloud.stepfunctions.describe_state_machine(stateMachineArn=arn)["definition"])
    assert definition["States"]["Reserve"]["Resource"].endswith(":dynamodb:transactWriteItems")
    text = json.dumps(definition)
    assert "${" not in text and '"ProductsTable"' in text


def test_success_reserves_writes_and_decides(cloud, catalog):
    result = run(cloud, [line(1, 2, "10", "A"), line(2, 1, "2.5", "B")])

    assert result["status"] == "SUCCEEDED", result
    assert json.loads(result["output"]) == {"orderId": 100, "status": "CONFIRMED"}
    assert (stock(cloud, 1), stock(cloud, 2)) == (3, 0)
    assert holds(cloud, 1) == holds(cloud, 2) == {}
    assert [i["name"] for i in cloud.item("OrdersTable", "ORDER#100")["items"]] == ["A", "B"]
    placed = record(cloud)
    assert placed["outcome"] == "PLACED"
    assert "pending" not in placed and "pendingSince" not in placed
    assert placed["lines"] == [{"productId": 1, "quantity": 2}, {"productId": 2, "quantity": 1}]


def test_a_replayed_execution_takes_nothing_more_and_answers_the_same(cloud, catalog):
    """The issue's first reproduction: the same input again (same name too), after success. The
    replay finds the placement decided: stock taken once, no hold left, one order, 201 again."""
    items = [line(1, 2, "10", "A")]
    first = run(cloud, items)
    replays = [run(cloud, items) for _ in range(3)]

    assert [r["status"] for r in (first, *replays)] == ["SUCCEEDED"] * 4
    assert {r["output"] for r in (first, *replays)} == {first["output"]}
    assert stock(cloud, 1) == 3
    assert holds(cloud, 1) == {}
    assert [o["id"] for o in orders(cloud)] == [100]


def test_concurrent_runs_of_one_input_store_one_order_and_all_answer_it(cloud, catalog):
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda _: run(cloud, [line(1, 2, "10"), line(2, 1, "2.5")]), range(6)))

    assert [r["status"] for r in results] == ["SUCCEEDED"] * 6, [r.get("error") for r in results]
    assert (stock(cloud, 1), stock(cloud, 2)) == (3, 0)
    assert holds(cloud, 1) == holds(cloud, 2) == {}
    assert len(orders(cloud)) == 1


def test_a_replay_after_a_failure_fails_the_same_way_even_when_it_could_now_succeed(cloud, catalog, api):
    """The caller was told it failed: no later run may store it."""
    refused = run(cloud, [line(1, 6, "10")])
    assert (refused["status"], refused["error"]) == ("FAILED", "Refused")
    api.post("/api/products/1/stock-adjustments", {"delta": 10, "reason": "received"})

    replay = run(cloud, [line(1, 6, "10")])

    assert (replay["status"], replay["error"]) == ("FAILED", "Refused")
    assert stock(cloud, 1) == 15
    assert orders(cloud) == []
    assert record(cloud)["outcome"] == "Refused"


def test_a_replay_after_the_order_was_deleted_does_not_bring_it_back(cloud, catalog, api):
    run(cloud, [line(1, 2, "10")])
    assert api.delete("/api/orders/100").status == 204  # restocks: 5 again

    replay = run(cloud, [line(1, 2, "10")])

    assert replay["status"] == "SUCCEEDED"  # the placement did succeed, once
    assert stock(cloud, 1) == 5
    assert orders(cloud) == []


def test_shortage_fails_with_nothing_reserved_and_no_pending_mark(cloud, catalog):
    result = run(cloud, [line(1, 2, "10"), line(2, 2, "2.5")])

    assert (result["status"], result["error"]) == ("FAILED", "Refused")
    assert (stock(cloud, 1), stock(cloud, 2)) == (5, 1)
    assert holds(cloud, 1) == holds(cloud, 2) == {}
    assert cloud.item("OrdersTable", "ORDER#100") is None
    failed = record(cloud)
    assert failed["outcome"] == "Refused" and "pending" not in failed


def test_price_changed_since_quote_refuses_the_reservation(cloud, catalog):
    result = run(cloud, [line(1, 1, "9.99")])
    assert result["error"] == "Refused"
    assert stock(cloud, 1) == 5


def test_unknown_customer_fails_before_touching_stock(cloud, catalog):
    result = run(cloud, [line(1, 1, "10")], customer=42)
    assert result["error"] == "CustomerNotFound"
    assert stock(cloud, 1) == 5
    assert record(cloud)["outcome"] == "CustomerNotFound"


def test_concurrent_executions_never_oversell(cloud, catalog):
    """Without the handler's early check on the quote: 10 placements at once each reserve 2 of
    product A's 5 units. Exactly 2 succeed; the rest are refused, having taken nothing."""
    with ThreadPoolExecutor(10) as pool:
        results = list(pool.map(lambda n: run(cloud, [line(1, 2, "10")], order_id=200 + n), range(10)))

    assert sorted(r["status"] for r in results) == ["FAILED"] * 8 + ["SUCCEEDED"] * 2
    assert {r.get("error") for r in results if r["status"] == "FAILED"} == {"Refused"}
    assert stock(cloud, 1) == 1
    assert holds(cloud, 1) == {}
    assert sorted(i["id"] for i in orders(cloud)) == sorted(
        json.loads(r["output"])["orderId"] for r in results if r["status"] == "SUCCEEDED"
    )


def test_a_rerun_adopts_the_reservation_of_a_run_that_died_undecided(cloud, catalog, faults):
    """Run 1 reserves, then can neither store the order nor record an outcome (it ends
    Undecided, holding the stock). Run 2 of the same input finds the record undecided and the
    holds in place: it stores the order with those units (Adopt)."""
    write = faults.inject("TransactWriteItems", "InternalServerError", when=faults.writing_order)
    decide = faults.inject("UpdateItem", "InternalServerError", when=faults.deciding)

    first = run(cloud, [line(1, 2, "10")])

    assert (first["status"], first["error"]) == ("FAILED", "Undecided")
    assert (stock(cloud, 1), holds(cloud, 1)) == (3, {"hold_100": 2})
    assert record(cloud)["pending"] == hold_key(100) and "outcome" not in record(cloud)
    assert write.hits == 2 and decide.hits == 2
    faults.clear()

    second = run(cloud, [line(1, 2, "10")])

    assert second["status"] == "SUCCEEDED", second
    assert (stock(cloud, 1), holds(cloud, 1)) == (3, {})
    assert record(cloud)["outcome"] == "PLACED"
    assert len(orders(cloud)) == 1


def test_a_step_that_outlives_its_timeout_is_retried_and_the_late_write_recognised(cloud, catalog, faults):
    """Reserve takes longer than its TimeoutSeconds (1 s) but lands: the retry finds the record
    (cancelled), Adopt stores the order with the late reservation's holds. Stock taken once."""
    faults.inject("TransactWriteItems", fault_support.SLOW, when=faults.reserving, times=1, applied=True, delay=1.5)

    with fault_support.real_task_timeouts():
        result = run(cloud, [line(1, 2, "10")])

    assert result["status"] == "SUCCEEDED", result
    assert (stock(cloud, 1), holds(cloud, 1)) == (3, {})
    assert len(orders(cloud)) == 1


def test_success_costs_three_dynamodb_requests_whatever_the_number_of_lines(cloud, catalog, faults):
    """1 UpdateItem (the customer's mark) + 1 transaction (reserve) + 1 transaction (store the order)."""
    run(cloud, [line(1, 1, "10"), line(2, 1, "2.5")])
    requests = [operation for operation, _ in faults.seen]
    assert requests == ["UpdateItem", "TransactWriteItems", "TransactWriteItems"]


# ---------------------------------------------------------------- conditions singled out by `make mutate`
def product(cloud, pid):
    return cloud.item("ProductsTable", f"PRODUCT#{pid}")


def test_an_order_is_never_stored_once_a_held_product_is_gone(cloud, catalog, faults):
    """The take-over of each hold is conditional on the hold: run 1 reserved and died undecided;
    product B is deleted; run 2 must not store an order for it (nor recreate B as an empty item)
    -- it decides the placement failed and gives A's units back."""
    faults.inject("TransactWriteItems", "InternalServerError", when=faults.writing_order)
    faults.inject("UpdateItem", "InternalServerError", when=faults.deciding)
    items = [line(1, 2, "10", "A"), line(2, 1, "2.5", "B")]
    assert run(cloud, items)["error"] == "Undecided"
    assert (holds(cloud, 1), holds(cloud, 2)) == ({"hold_100": 2}, {"hold_100": 1})
    faults.clear()
    cloud.dynamodb.delete_item(TableName=cloud.tables["ProductsTable"], Key={"pk": {"S": "PRODUCT#2"}})

    rerun = run(cloud, items)

    assert rerun["status"] == "FAILED", rerun
    assert orders(cloud) == []
    assert product(cloud, 2) is None
    assert (product(cloud, 1)["stock"], holds(cloud, 1)) == (5, {})
    assert record(cloud)["outcome"] == rerun["error"]


def test_every_workflow_write_to_a_product_moves_its_version(cloud, catalog, api, faults):
    """A client that read a product before an order took (or gave back) its units holds a stale
    ETag: an absolute stock written with it must be refused (412), not erase those units."""
    before = api.get("/api/products/1")
    assert run(cloud, [line(1, 2, "10")], order_id=100)["status"] == "SUCCEEDED"
    reserved = product(cloud, 1)
    assert (reserved["stock"], reserved["version"], reserved["updatedAt"]) == (3, 2, PAYLOAD_TIME)
    assert api.put("/api/products/1", {"stock": 9}, headers={"If-Match": before.header("ETag")}).status == 412

    faults.inject("TransactWriteItems", "InternalServerError", when=faults.writing_order)
    failed = run(cloud, [line(1, 1, "10")], order_id=101)
    assert failed["error"] == "OrderWriteFailed"
    released = product(cloud, 1)
    # two writes: the reservation and its release
    assert (released["stock"], released["version"]) == (3, 4)
    assert released["updatedAt"] > PAYLOAD_TIME  # the release's own time, not the order's
    assert holds(cloud, 1) == {}


def test_a_placement_decided_by_the_workflow_names_its_order_and_when(cloud, catalog):
    """Decide may create the record (nothing was reserved): it still says which order it is
    and when it was decided, as a record the reservation opened does."""
    refused = run(cloud, [line(1, 1, "10")], customer=42, order_id=300)
    assert refused["error"] == "CustomerNotFound"
    decided = record(cloud, 300)
    assert decided["orderId"] == 300
    assert decided["decidedAt"] >= PAYLOAD_TIME
    assert "pending" not in decided


def test_a_placed_record_says_when_it_was_decided(cloud, catalog):
    """The order's transaction decides the placement: the record says when, as Decide's does."""
    assert run(cloud, [line(1, 1, "10")])["status"] == "SUCCEEDED"
    assert record(cloud)["decidedAt"] >= PAYLOAD_TIME


def test_an_erased_customer_gets_no_order_and_is_told_so(cloud, catalog, api):
    """The customer's check is conditional on it not being erased; the answer says erased, not
    missing (the client is told to order for another customer, not to create this one)."""
    assert api.post("/api/customers/1/erasure").status == 200

    result = run(cloud, [line(1, 1, "10")])

    assert (result["status"], result["error"]) == ("FAILED", "CustomerErased")
    assert (stock(cloud, 1), holds(cloud, 1)) == (5, {})
    assert orders(cloud) == []
    assert record(cloud)["outcome"] == "CustomerErased"


def test_an_archived_product_is_refused_at_the_reservation(cloud, catalog, api):
    """The quote may have read the product as ACTIVE: the reservation itself refuses an archived
    one, and the other line takes nothing either."""
    assert api.put("/api/products/1", {"status": "ARCHIVED"}).status == 200

    result = run(cloud, [line(2, 1, "2.5"), line(1, 1, "10")])

    assert (result["status"], result["error"]) == ("FAILED", "Refused")
    assert (stock(cloud, 1), stock(cloud, 2)) == (5, 1)
    assert holds(cloud, 1) == holds(cloud, 2) == {}
    assert orders(cloud) == []


def test_a_product_an_order_took_stock_from_can_no_longer_be_deleted(cloud, catalog, api):
    """The reservation marks each product it takes from as referenced: deleting it would orphan
    the order's line (409, archive instead); a product no order took from is deleted as before."""
    assert run(cloud, [line(1, 1, "10")])["status"] == "SUCCEEDED"

    assert api.delete("/api/products/1").status == 409
    assert product(cloud, 1)["stock"] == 4
    assert api.delete("/api/products/2").status == 204


def test_a_rerun_cannot_store_an_order_once_its_placement_was_decided_failed(cloud, catalog, faults):
    """Run 1 reserved and died undecided (holds left); the caller, who could not learn the
    outcome, then decided the placement failed and told the client so. A rerun finds the holds
    still there but must not store the order: it answers the recorded failure and releases."""
    faults.inject("TransactWriteItems", "InternalServerError", when=faults.writing_order)
    faults.inject("UpdateItem", "InternalServerError", when=faults.deciding)
    assert run(cloud, [line(1, 2, "10")])["error"] == "Undecided"
    faults.clear()
    cloud.dynamodb.update_item(  # what the caller's decision writes (orders.placement_record.decide)
        TableName=cloud.tables["OrdersTable"],
        Key={"pk": {"S": "PLACEMENT#100"}},
        UpdateExpression="SET outcome = :why",
        ExpressionAttributeValues={":why": {"S": "WorkflowFailed"}},
    )
    assert holds(cloud, 1) == {"hold_100": 2}

    rerun = run(cloud, [line(1, 2, "10")])

    assert (rerun["status"], rerun["error"]) == ("FAILED", "WorkflowFailed")
    assert orders(cloud) == []
    assert (stock(cloud, 1), holds(cloud, 1)) == (5, {})
    assert record(cloud)["outcome"] == "WorkflowFailed"


def test_an_order_id_given_out_again_never_takes_over_a_hold_it_did_not_make(cloud, catalog):
    """The orders table was restored from a backup (PITR) while the products table was not: the
    id counter gives out 100 again, and product 1 still holds 3 units for the lost order 100 (no
    placement record names them any more). The new order 100 must neither overwrite that hold
    (Reserve) nor adopt it as its own (Adopt: only a placement record says which holds are a
    run's): it is refused, and every unit stays accounted for -- the stale hold is still there
    for an operator to give back."""
    cloud.dynamodb.update_item(
        TableName=cloud.tables["ProductsTable"],
        Key={"pk": {"S": "PRODUCT#1"}},
        UpdateExpression="SET stock = stock - :q, hold_100 = :q",
        ExpressionAttributeValues={":q": {"N": "3"}},
    )

    result = run(cloud, [line(1, 2, "10")])

    assert result["status"] == "FAILED", result
    assert orders(cloud) == []
    assert (stock(cloud, 1), holds(cloud, 1)) == (2, {"hold_100": 3})
