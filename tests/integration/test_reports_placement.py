"""The reports under the placement protocol (docs/adr/0011-placement-protocol.md): whatever the
runs of one placement write -- a reservation adopted after its answer was lost, an order stored
whose answer was lost, a failure released, a 202 resumed by its keyed retry, a dead placement
the sweeper abandons, an execution's input replayed, one after the other and at once -- each
stored order counts exactly once, and the placement records (``PLACEMENT#<id>`` in the Orders
table) and the holds on products publish no event and make no report row.

The whole event path runs (API -> tables -> streams -> publisher -> bus -> rule -> queue ->
projector, tests/support/reports.py); faults are injected into moto's DynamoDB."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tests.support import faults as fault_support
from tests.support import reports as support
from tests.support import schedules
from tests.support.reports import EventPath

DAY = "2026-06-01"
INITIAL = 20
QUERIES = [
    f"/api/reports/sales?from={DAY}&to={DAY}&groupBy=day",
    f"/api/reports/sales?from={DAY}&to={DAY}&groupBy=product",
    f"/api/reports/sales?from={DAY}&to={DAY}&groupBy=customer",
    "/api/reports/low-stock?threshold=100",
]


@pytest.fixture
def faults(monkeypatch):
    yield from fault_support.install(monkeypatch)


@pytest.fixture
def shop(api, cloud, monkeypatch):
    import orders.placement

    monkeypatch.setattr(orders.placement, "now_iso", lambda: f"{DAY}T10:00:00.000Z")
    path = EventPath(cloud)
    assert api.post("/api/customers", {"name": "Ann", "email": "ann@example.com"}).status == 201
    for pid, price in ((1, Decimal("2.50")), (2, 7)):
        reply = api.post("/api/products", {"name": f"P{pid}", "price": price, "stock": INITIAL})
        assert reply.status == 201 and reply.json["id"] == pid, reply.raw
    path.sync()
    return path


def place(api, *lines, key=None):
    headers = {"Idempotency-Key": key} if key else None
    return api.post(
        "/api/orders", {"customerId": 1, "items": [{"productId": p, "quantity": q} for p, q in lines]}, headers=headers
    )


def stored_orders(cloud):
    return {int(i["id"]): i for i in cloud.scan("OrdersTable") if i["pk"].startswith("ORDER#")}


def placement_records(cloud):
    return {i["pk"]: i for i in cloud.scan("OrdersTable") if i["pk"].startswith("PLACEMENT#")}


def replay_every_execution(cloud):
    """Each execution's input started again: once, then three times at once."""
    arn = cloud.state_machines["PlaceOrderStateMachine"]
    inputs = {
        cloud.stepfunctions.describe_execution(executionArn=e["executionArn"])["input"]
        for e in cloud.stepfunctions.list_executions(stateMachineArn=arn)["executions"]
    }

    def start(document):
        return cloud.stepfunctions.start_sync_execution(stateMachineArn=arn, input=document)

    for document in inputs:
        start(document)
        with ThreadPoolExecutor(3) as pool:
            list(pool.map(start, [document] * 3))
    return inputs


# A race and a long scenario (every kind of placement run, each execution then replayed once and three
# times at once; ~35 s of wall time on the shared machine): the slow tier.
@pytest.mark.slow
def test_each_stored_order_counts_once_whatever_its_placements_runs_wrote(api, cloud, shop, faults):
    # 1: the reservation landed, its answer was lost: the retry adopts it.
    faults.inject("TransactWriteItems", "InternalServerError", when=faults.reserving, times=1, applied=True)
    assert place(api, (1, 3)).status == 201
    # 2: the order was stored, its answer was lost: Decide finds it PLACED.
    faults.inject("TransactWriteItems", "InternalServerError", when=faults.writing_order, times=1, applied=True)
    assert place(api, (1, 1), (2, 2)).status == 201
    # 3: the order could not be stored: reserved, then released.
    faults.inject("TransactWriteItems", "InternalServerError", when=faults.writing_order, times=2)
    assert place(api, (2, 5)).status == 503
    # 4: stored, answer lost and no outcome could be recorded: 202; the keyed retry answers it.
    faults.inject("TransactWriteItems", "InternalServerError", when=faults.writing_order, times=1, applied=True)
    decide = faults.inject("UpdateItem", "InternalServerError", when=faults.deciding)
    assert place(api, (2, 1), key="k-unknown").status == 202
    assert decide.hits >= 1
    faults.clear()
    assert place(api, (2, 1), key="k-unknown").status == 201
    # 5: stock taken, then neither the order nor an outcome written: 202, and the sweeper abandons it.
    faults.inject("TransactWriteItems", "InternalServerError", when=faults.writing_order)
    faults.inject("UpdateItem", "InternalServerError", when=faults.deciding)
    assert place(api, (1, 4)).status == 202
    faults.clear()
    assert schedules.sweep(datetime.now(UTC) + timedelta(minutes=2))["placements"] >= 1
    # 6: more than there is: refused.
    assert place(api, (1, INITIAL)).status == 409
    # Every execution's input replayed, one after the other and at once.
    assert len(replay_every_execution(cloud)) >= 5

    stored = stored_orders(cloud)
    assert sorted(stored) == [1, 2, 4]
    assert len(placement_records(cloud)) >= 5  # they were written (and rewritten): the test is not vacuous
    delivered = shop.sync()

    # Events: one OrderPlaced per stored order; nothing of the placement records, the holds or the
    # releases (no product event after the products' creation).
    assert sorted((e["detail-type"], e["detail"]["id"]) for e in delivered) == [
        ("OrderPlaced", 1),
        ("OrderPlaced", 2),
        ("OrderPlaced", 4),
    ]
    # Report rows: one per stored order, none for a placement.
    keys = {i["pk"]["S"] for i in cloud.dynamodb.scan(TableName=support.TABLE)["Items"]}
    assert {k for k in keys if k.startswith("ORDER#")} == {"ORDER#1", "ORDER#2", "ORDER#4"}
    assert not [k for k in keys if "PLACEMENT" in k]

    reports = support.reports(support.TABLE, QUERIES)
    # order 1: 3 x P1 (7.50); order 2: 1 x P1, 2 x P2 (16.50); order 4: 1 x P2 (7)
    assert sum(Decimal(str(o["total"])) for o in stored.values()) == 31
    figures = {"orders": 3, "cancelled": 0, "units": 7, "revenue": 31}
    assert reports[QUERIES[0]]["rows"] == [{"key": DAY, "name": None, **figures}]
    assert reports[QUERIES[0]]["totals"] == figures
    by_product = {r["key"]: (r["orders"], r["units"], r["revenue"]) for r in reports[QUERIES[1]]["rows"]}
    assert by_product == {"1": (2, 4, 10), "2": (2, 3, 21)}
    assert [r["orders"] for r in reports[QUERIES[2]]["rows"]] == [3]
    # The reports' stock is the Products table's: every unit taken once, every release unseen.
    stock = {i["productId"]: i["stock"] for i in reports[QUERIES[3]]}
    assert stock == {pid: cloud.item("ProductsTable", f"PRODUCT#{pid}")["stock"] for pid in (1, 2)}
    assert stock == {1: INITIAL - 4, 2: INITIAL - 3}
