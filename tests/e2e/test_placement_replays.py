"""Order placement exactly once, black-box on the local cloud (`python -m localcloud` in a
subprocess): replaying an execution's input, losing answers after the work was done, and a price
changed between the quote and the reservation. Afterwards stock, holds and orders are checked
through the API and the emulator. (docs/placement.md, docs/adr/0011-placement-protocol.md)"""

from __future__ import annotations

import json
import socket
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.e2e.conftest import TASK_TIMEOUTS, Http
from tests.support.apigw import TEMPLATE
from tests.support.proxy import FaultyEndpoint

# A local cloud of its own, behind a faulty network: the slow tier (docs/testing.md, "Tiers").
pytestmark = [pytest.mark.e2e, pytest.mark.slow]

START_SYNC = "AWSStepFunctions.StartSyncExecution"
UPDATE_ITEM = "DynamoDB_20120810.UpdateItem"


def product_item(cloud, product_id):
    found = cloud.client("dynamodb").get_item(
        TableName="ProductsTable", Key={"pk": {"S": f"PRODUCT#{product_id}"}}, ConsistentRead=True
    )
    return found["Item"]


def holds(cloud, product_id):
    return {k: v for k, v in product_item(cloud, product_id).items() if k.startswith("hold_")}


def orders_of(http, customer_id):
    r = http.get("/api/orders", params={"customerId": customer_id, "limit": 100})
    assert r.status_code == 200, r.text
    return r.json()


def execution_of(cloud, order_id):
    """The execution that placed `order_id`, read back as a replay needs it (DescribeExecution)."""
    sfn = cloud.client("stepfunctions")
    arn = cloud.state_machine_arns["PlaceOrderStateMachine"]
    for execution in sfn.list_executions(stateMachineArn=arn, maxResults=1000)["executions"]:
        described = sfn.describe_execution(executionArn=execution["executionArn"])
        if json.loads(described["input"])["orderId"] == order_id:
            return described
    raise AssertionError(f"no execution placed order {order_id}")


def replay(cloud, described):
    return cloud.client("stepfunctions").start_sync_execution(
        stateMachineArn=described["stateMachineArn"], name=described["name"], input=described["input"]
    )


# ---------------------------------------------------------------- replays, on the shared local cloud
def test_replaying_an_executions_input_takes_nothing_more(local_cloud, http, product, customer):
    """The issue's reproduction: a product at 100, one order of 10, then the same execution input
    again, once and three times at once. Before: 80 and a hold for ever. Now: 90, no hold, one
    order, and every replay answers the placement's success."""
    item, buyer = product(stock=100), customer()
    placed = http.post(
        "/api/orders", json={"customerId": buyer["id"], "items": [{"productId": item["id"], "quantity": 10}]}
    )
    assert placed.status_code == 201, placed.text
    described = execution_of(local_cloud, placed.json()["id"])

    again = replay(local_cloud, described)
    with ThreadPoolExecutor(3) as pool:
        racing = list(pool.map(lambda _: replay(local_cloud, described), range(3)))

    assert [r["status"] for r in (again, *racing)] == ["SUCCEEDED"] * 4
    assert {json.loads(r["output"])["orderId"] for r in (again, *racing)} == {placed.json()["id"]}
    assert http.get(f"/api/products/{item['id']}").json()["stock"] == 90
    assert holds(local_cloud, item["id"]) == {}
    assert [o["id"] for o in orders_of(http, buyer["id"])] == [placed.json()["id"]]


def test_replaying_a_failed_placement_cannot_store_it(local_cloud, http, product):
    """A placement the caller was told failed (here: its customer does not exist) stays failed
    however often its input is replayed."""
    item = product(stock=5)
    refused = http.post(
        "/api/orders", json={"customerId": 987654321, "items": [{"productId": item["id"], "quantity": 1}]}
    )
    assert refused.status_code == 422, refused.text
    sfn = local_cloud.client("stepfunctions")
    arn = local_cloud.state_machine_arns["PlaceOrderStateMachine"]
    inputs = [
        sfn.describe_execution(executionArn=e["executionArn"])
        for e in sfn.list_executions(stateMachineArn=arn, maxResults=1000)["executions"]
    ]
    (described,) = [d for d in inputs if json.loads(d["input"])["customerId"] == 987654321]

    again = replay(local_cloud, described)

    assert (again["status"], again["error"]) == ("FAILED", "CustomerNotFound")
    assert http.get(f"/api/products/{item['id']}").json()["stock"] == 5
    assert holds(local_cloud, item["id"]) == {}
    assert http.get(f"/api/orders/{json.loads(described['input'])['orderId']}").status_code == 404


# ---------------------------------------------------------------- a faulty network in front of CreateOrder
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def lossy():
    """A local cloud whose functions reach AWS through a FaultyEndpoint (--function-aws-url)."""
    from localcloud.server import LocalCloudProcess

    aws_port = _free_port()
    network = FaultyEndpoint(aws_port)
    args = ["--function-aws-url", network.url, *TASK_TIMEOUTS]
    with network, LocalCloudProcess(TEMPLATE, aws_port=aws_port, extra_args=args) as cloud:
        yield cloud, network, Http(cloud.api_url, lambda: cloud.token("admin"))


@pytest.fixture
def network(lossy):
    _, endpoint, _ = lossy
    endpoint.clear()
    yield endpoint
    endpoint.clear()


def _shop(http, stock=10, price=4.0):
    item = http.post("/api/products", json={"name": "Lossy", "price": price, "stock": stock}).json()
    buyer = http.post("/api/customers", json={"name": "L", "email": f"l{item['id']}@example.com"}).json()
    return item, buyer


def test_the_answer_killed_after_the_order_was_written_is_still_201(lossy, network):
    """StartSyncExecution runs to the end (the order is stored), then the connection dies before
    its answer arrives. The function finds the placement decided and answers 201 -- never 503."""
    cloud, _, http = lossy
    item, buyer = _shop(http)
    killed = network.add(START_SYNC, "drop_answer", times=1)

    reply = http.post(
        "/api/orders", json={"customerId": buyer["id"], "items": [{"productId": item["id"], "quantity": 3}]}
    )

    assert killed.hits == 1
    assert reply.status_code == 201, reply.text
    assert [o["id"] for o in orders_of(http, buyer["id"])] == [reply.json()["id"]]
    assert http.get(f"/api/products/{item['id']}").json()["stock"] == 7
    assert holds(cloud, item["id"]) == {}


def test_answer_and_confirmation_lost_is_202_and_the_keyed_retry_returns_the_one_order(lossy, network):
    cloud, _, http = lossy
    item, buyer = _shop(http)
    network.add(START_SYNC, "drop_answer", times=1)
    network.add(UPDATE_ITEM, "fail", when=lambda body: b"PLACEMENT#" in body)
    body = {"customerId": buyer["id"], "items": [{"productId": item["id"], "quantity": 2}]}
    key = {"Idempotency-Key": f"lossy-{item['id']}"}

    first = http.post("/api/orders", json=body, headers=key)

    assert first.status_code == 202, first.text
    order_id = first.json()["orderId"]
    assert first.headers["Location"] == f"/api/orders/{order_id}" and first.headers["Retry-After"] == "30"
    network.clear()
    assert http.get(first.headers["Location"]).status_code == 200  # it was stored after all

    retry = http.post("/api/orders", json=body, headers=key)

    assert (retry.status_code, retry.json()["id"]) == (201, order_id)
    assert [o["id"] for o in orders_of(http, buyer["id"])] == [order_id]
    assert http.get(f"/api/products/{item['id']}").json()["stock"] == 8
    assert holds(cloud, item["id"]) == {}


def test_a_price_changed_between_quote_and_reservation_is_a_409_naming_the_new_price(lossy, network):
    """The workflow call is held on the wire while an admin changes the price: the reservation is
    refused on its price condition and the answer says so (not "out of stock")."""
    cloud, _, http = lossy
    item, buyer = _shop(http, price=4.0)
    held = network.add(START_SYNC, "hold", times=1)
    body = {"customerId": buyer["id"], "items": [{"productId": item["id"], "quantity": 1}]}
    answer = {}
    placing = threading.Thread(target=lambda: answer.update(reply=http.post("/api/orders", json=body)))
    placing.start()
    assert held.arrived.wait(30), "the workflow was never started"

    current = http.get(f"/api/products/{item['id']}")
    changed = http.put(
        f"/api/products/{item['id']}", json={"price": 4.5}, headers={"If-Match": current.headers["ETag"]}
    )
    assert changed.status_code == 200, changed.text
    held.release.set()
    placing.join(60)

    reply = answer["reply"]
    assert reply.status_code == 409, reply.text
    problem = reply.json()
    assert f"product {item['id']} now costs 4.50 (quoted 4.00)" in problem["detail"]
    assert "stock" not in problem["detail"].lower()
    assert http.get(f"/api/products/{item['id']}").json()["stock"] == 10
    assert holds(cloud, item["id"]) == {}
    assert orders_of(http, buyer["id"]) == []
