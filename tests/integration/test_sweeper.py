"""The stale-hold sweeper (SweepStaleHoldsFunction), invoked as its schedule would: it finds
placements whose holds outlived them through the sparse pendingHolds index, decides them first,
then releases (or, for a stored order, removes) each hold once, and settles them."""

from __future__ import annotations

import json
import os
import threading
from datetime import UTC, datetime, timedelta

import pytest

from orders.placement_record import hold_key
from sales_common.shards import HOLD_SHARDS
from tests.support import faults as fault_support
from tests.support import schedules

pytestmark = pytest.mark.protocol  # the protocol tier: `make test-protocol` (docs/testing.md, "Tiers")

INITIAL = 10
LATER = timedelta(minutes=2)  # past STALE_AFTER_SECONDS (60 s)


@pytest.fixture
def faults(monkeypatch):
    yield from fault_support.install(monkeypatch)


@pytest.fixture
def shop(api):
    assert api.post("/api/customers", {"name": "C", "email": "c@example.com"}).status == 201
    for pid in (1, 2):
        assert api.post("/api/products", {"name": f"p{pid}", "price": 1, "stock": INITIAL}).status == 201
    return api


def place(api, *lines):
    return api.post("/api/orders", {"customerId": 1, "items": [{"productId": p, "quantity": q} for p, q in lines]})


def product(cloud, pid):
    return cloud.item("ProductsTable", f"PRODUCT#{pid}")


def holds(cloud, pid):
    return {k: v for k, v in product(cloud, pid).items() if k.startswith("hold_")}


def record(cloud, order_id=1):
    return cloud.item("OrdersTable", f"PLACEMENT#{order_id}")


def later():
    return datetime.now(UTC) + LATER


@pytest.fixture
def dead_placement(shop, cloud, faults):
    """A placement whose run took the stock and then could neither store the order nor record an
    outcome (it ended Undecided), nor was the caller able to decide it: holds left behind."""
    faults.inject("TransactWriteItems", "InternalServerError", when=faults.writing_order)
    faults.inject("UpdateItem", "InternalServerError", when=faults.deciding)
    reply = place(shop, (1, 3), (2, 2))
    assert reply.status == 202, reply.raw
    faults.clear()
    assert (product(cloud, 1)["stock"], holds(cloud, 1)) == (INITIAL - 3, {"hold_1": 3})
    assert "outcome" not in record(cloud) and record(cloud)["pending"] == hold_key(1)
    return reply


def test_a_fresh_placement_is_left_alone(dead_placement, cloud):
    result = schedules.sweep()

    assert (result["placements"], result["holdsFound"]) == (0, 0)
    assert holds(cloud, 1) == {"hold_1": 3}


def test_a_stale_placement_is_decided_then_released_and_settled(dead_placement, cloud, capsys):
    result = schedules.sweep(later())

    assert (result["placements"], result["released"], result["holdsFound"]) == (1, 2, 2)
    assert (product(cloud, 1)["stock"], product(cloud, 2)["stock"]) == (INITIAL, INITIAL)
    assert holds(cloud, 1) == holds(cloud, 2) == {}
    swept = record(cloud)
    assert swept["outcome"] == "Abandoned" and "pending" not in swept
    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    found = [m for m in metrics if "StaleHoldsFound" in m]
    assert found and found[-1]["StaleHoldsFound"] == [2.0] and found[-1]["service"] == "orders"


def test_a_keyed_or_replayed_run_cannot_store_an_abandoned_placement(dead_placement, cloud, api):
    schedules.sweep(later())
    arn = cloud.state_machines["PlaceOrderStateMachine"]
    (execution,) = cloud.stepfunctions.list_executions(stateMachineArn=arn)["executions"]
    described = cloud.stepfunctions.describe_execution(executionArn=execution["executionArn"])

    replay = cloud.stepfunctions.start_sync_execution(stateMachineArn=arn, input=described["input"])

    assert (replay["status"], replay["error"]) == ("FAILED", "Abandoned")
    assert cloud.item("OrdersTable", "ORDER#1") is None
    assert product(cloud, 1)["stock"] == INITIAL


def test_sweeping_again_finds_nothing(dead_placement, cloud):
    schedules.sweep(later())
    again = schedules.sweep(later())
    assert (again["placements"], again["holdsFound"]) == (0, 0)
    assert product(cloud, 1)["stock"] == INITIAL


def test_concurrent_sweeps_release_each_unit_once(dead_placement, cloud):
    """Four sweeps at once (the sweeper's own code on threads, in the function's environment:
    the harness invokes functions one at a time)."""
    from orders.settings import SweeperSettings
    from orders.sweeper import sweep
    from sales_common.settings import load_settings
    from tests.support.apigw import function, function_env

    with function_env(function("SweepStaleHoldsFunction").resolved_environment({})):
        settings = load_settings(SweeperSettings)
        reports = []
        threads = [threading.Thread(target=lambda: reports.append(sweep(settings, later()))) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    assert sum(r.holds_found for r in reports) == 2
    assert (product(cloud, 1)["stock"], product(cloud, 2)["stock"]) == (INITIAL, INITIAL)
    assert "STALE_AFTER_SECONDS" not in os.environ  # the function's environment did not leak


def test_a_failed_placement_whose_releases_were_lost_is_released(shop, cloud, faults):
    """The run decided FAILED but could release neither inline nor through the queue."""
    faults.inject("TransactWriteItems", "ValidationException", when=faults.writing_order)
    faults.inject("UpdateItem", "InternalServerError", when=faults.releasing)
    from moto.sqs.responses import SQSResponse

    with pytest.MonkeyPatch.context() as sqs_down:
        sqs_down.setattr(SQSResponse, "send_message", _unavailable)
        assert place(shop, (1, 3)).status == 503
    faults.clear()
    assert record(cloud)["outcome"] == "OrderWriteFailed" and holds(cloud, 1) == {"hold_1": 3}

    result = schedules.sweep(later())

    assert result["released"] == 1 and product(cloud, 1)["stock"] == INITIAL
    assert record(cloud)["outcome"] == "OrderWriteFailed"  # the first decision stands


def test_a_hold_of_a_stored_order_is_removed_without_giving_stock_back(shop, cloud):
    """Cannot happen through the workflow (the order's transaction removes its holds); should a
    hold of a stored order ever be found, the order owns the units: the hold goes, the stock stays."""
    assert place(shop, (1, 3)).status == 201
    cloud.dynamodb.update_item(
        TableName=cloud.tables["ProductsTable"],
        Key={"pk": {"S": "PRODUCT#1"}},
        UpdateExpression="SET hold_1 = :q",
        ExpressionAttributeValues={":q": {"N": "3"}},
    )
    cloud.dynamodb.update_item(
        TableName=cloud.tables["OrdersTable"],
        Key={"pk": {"S": "PLACEMENT#1"}},
        UpdateExpression="SET pending = :p, pendingSince = :t",
        ExpressionAttributeValues={":p": {"S": hold_key(1)}, ":t": {"S": "2026-01-01T00:00:00Z"}},
    )

    result = schedules.sweep(later())

    assert (result["takenOver"], result["holdsFound"]) == (1, 1)
    assert holds(cloud, 1) == {}
    assert product(cloud, 1)["stock"] == INITIAL - 3
    assert record(cloud)["outcome"] == "PLACED"


def test_the_sweeper_queries_the_index_and_never_scans(dead_placement, cloud, faults):
    schedules.sweep(later())
    operations = {operation for operation, _ in faults.seen}
    assert "Query" in operations and "Scan" not in operations
    queries = [body for operation, body in faults.seen if operation == "Query"]
    assert {query["IndexName"] for query in queries} == {"pendingHolds"}
    # every shard of the pending holds is read (docs/adr/0040)
    marks = {query["ExpressionAttributeValues"][":pending"]["S"] for query in queries}
    assert marks == {f"HOLDS#{shard:02d}" for shard in range(HOLD_SHARDS)}


def test_the_sweeper_finds_stale_holds_in_every_shard(shop, cloud):
    """Records pending in several shards of pendingHolds are all found, oldest first."""
    from orders.placement_record import PlacementRecords
    from sales_common.settings import ServiceSettings

    ids = [3, 17, 40, 31, 64]  # shards 3, 17, 8, 31, 0
    for n, order_id in enumerate(ids):
        cloud.dynamodb.put_item(
            TableName=cloud.tables["OrdersTable"],
            Item={
                "pk": {"S": f"PLACEMENT#{order_id}"},
                "orderId": {"N": str(order_id)},
                "createdAt": {"S": "2026-01-01T00:00:00.000Z"},
                "lines": {"L": []},
                "pending": {"S": hold_key(order_id)},
                "pendingSince": {"S": f"2026-01-01T00:00:0{9 - n}+00:00"},
            },
        )
    records = PlacementRecords(ServiceSettings(TABLE_NAME=cloud.tables["OrdersTable"]))
    found = [r.order_id for r in records.pending_before(later(), page_size=1)]
    assert found == list(reversed(ids))  # oldest first across the shards


def test_a_sweep_stops_taking_records_when_time_runs_short(dead_placement, cloud):
    from orders.settings import SweeperSettings
    from orders.sweeper import sweep
    from sales_common.settings import load_settings
    from tests.support.apigw import function, function_env

    with function_env(function("SweepStaleHoldsFunction").resolved_environment({})):
        report = sweep(load_settings(SweeperSettings), later(), out_of_time=lambda: True)

    assert (report.placements, report.complete) == (0, False)
    assert holds(cloud, 1) == {"hold_1": 3}


def _unavailable(self):
    from moto.core.exceptions import JsonRESTError

    raise JsonRESTError("ServiceUnavailable", "injected")
