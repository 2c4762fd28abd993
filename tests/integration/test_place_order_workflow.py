"""The PlaceOrder state machine itself, executed by moto from the ASL file template.yaml
references (with its DefinitionSubstitutions applied), driven with StartSyncExecution."""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def catalog(api):
    api.post("/api/customers", {"name": "C", "email": "c@example.com"})
    api.post("/api/products", {"name": "A", "price": 10, "stock": 5})
    api.post("/api/products", {"name": "B", "price": 2.5, "stock": 1})
    return api


def run(cloud, items, customer=1, order_id=100):
    payload = {
        "orderId": order_id,
        "customerId": customer,
        "createdBy": "workflow-test",
        "createdAt": "2026-01-01T00:00:00Z",
        "total": "0",
        "items": items,
    }
    return cloud.stepfunctions.start_sync_execution(
        stateMachineArn=cloud.state_machines["PlaceOrderStateMachine"], name=f"t-{order_id}", input=json.dumps(payload)
    )


def line(pid, qty, price):
    return {"productId": pid, "quantity": qty, "unitPrice": price, "lineTotal": "0"}


def test_workflow_definition_comes_from_the_referenced_asl_file(cloud):
    arn = cloud.state_machines["PlaceOrderStateMachine"]
    definition = json.loads(cloud.stepfunctions.describe_state_machine(stateMachineArn=arn)["definition"])
    assert definition["States"]["ReserveItems"]["Type"] == "Map"
    text = json.dumps(definition)
    assert "${" not in text and '"ProductsTable"' in text


def test_success_reserves_and_writes(cloud, catalog):
    result = run(cloud, [line(1, 2, "10"), line(2, 1, "2.5")])
    assert result["status"] == "SUCCEEDED", result
    output = json.loads(result["output"])
    assert (output["orderId"], output["status"]) == (100, "CONFIRMED")
    assert [line["M"]["name"]["S"] for line in output["items"]] == ["A", "B"]
    assert cloud.item("ProductsTable", "PRODUCT#1")["stock"] == 3
    assert cloud.item("ProductsTable", "PRODUCT#2")["stock"] == 0
    assert [i["name"] for i in cloud.item("OrdersTable", "ORDER#100")["items"]] == ["A", "B"]


def test_shortage_releases_earlier_reservations_and_names_the_short_products(cloud, catalog):
    result = run(cloud, [line(1, 2, "10"), line(2, 2, "2.5")])
    assert result["status"] == "FAILED"
    assert result["error"] == "OutOfStock"
    assert json.loads(result["cause"]) == [2]
    assert cloud.item("ProductsTable", "PRODUCT#1")["stock"] == 5
    assert cloud.item("ProductsTable", "PRODUCT#2")["stock"] == 1
    assert cloud.item("OrdersTable", "ORDER#100") is None


def test_concurrent_executions_never_oversell(cloud, catalog):
    """The guarantee itself, without the handler's early check on the quote: 10 executions at
    once each reserve 2 of product A's 5 units. Exactly 2 succeed; the rest fail and release."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(10) as pool:
        results = list(pool.map(lambda n: run(cloud, [line(1, 2, "10")], order_id=200 + n), range(10)))

    assert sorted(r["status"] for r in results) == ["FAILED"] * 8 + ["SUCCEEDED"] * 2
    assert {r.get("error") for r in results if r["status"] == "FAILED"} == {"OutOfStock"}
    assert cloud.item("ProductsTable", "PRODUCT#1")["stock"] == 1
    placed = [i for i in cloud.scan("OrdersTable") if i["pk"].startswith("ORDER#")]
    assert sorted(i["id"] for i in placed) == sorted(
        json.loads(r["output"])["orderId"] for r in results if r["status"] == "SUCCEEDED"
    )


def test_price_changed_since_quote_fails_the_reservation(cloud, catalog):
    result = run(cloud, [line(1, 1, "9.99")])
    assert result["error"] == "OutOfStock"
    assert cloud.item("ProductsTable", "PRODUCT#1")["stock"] == 5


def test_unknown_customer_fails_before_touching_stock(cloud, catalog):
    result = run(cloud, [line(1, 1, "10")], customer=42)
    assert result["error"] == "CustomerNotFound"
    assert cloud.item("ProductsTable", "PRODUCT#1")["stock"] == 5


def test_success_costs_n_plus_2_dynamodb_requests(cloud, catalog):
    """1 GetItem (customer) + n UpdateItems (reservations) + 1 PutItem (order)."""
    run(cloud, [line(1, 1, "10"), line(2, 1, "2.5")])
    arn = cloud.state_machines["PlaceOrderStateMachine"].replace(":stateMachine:", ":execution:") + ":t-100"
    events = cloud.stepfunctions.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    tasks = [e for e in events if e["type"] == "TaskScheduled"]
    assert len(tasks) == 4
