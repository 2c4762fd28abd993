"""One correlation id per request: API Gateway's request id, on every log line the request's
function writes, and in the input of the placement workflow it starts."""

from __future__ import annotations

import json

from tests.support.logs import json_lines
from tests.support.waiting import until


def test_a_request_and_its_workflow_share_the_request_id(local_cloud, http, product, customer):
    item, buyer = product(stock=5), customer()
    r = http.post("/api/orders", json={"customerId": buyer["id"], "items": [{"productId": item["id"], "quantity": 1}]})
    assert r.status_code == 201, r.text
    request_id = r.headers["apigw-requestid"]

    lines = until(
        lambda: [entry for entry in json_lines(local_cloud.output) if entry.get("correlation_id") == request_id]
    )
    assert [entry["message"] for entry in lines] == ["request handled"]
    assert lines[0]["function_name"] == "CreateOrderFunction" and lines[0]["status"] == 201

    sfn = local_cloud.client("stepfunctions")
    (arn,) = local_cloud.state_machine_arns.values()
    executions = sfn.list_executions(stateMachineArn=arn, maxResults=1000)["executions"]
    inputs = [json.loads(sfn.describe_execution(executionArn=e["executionArn"])["input"]) for e in executions]
    mine = [i for i in inputs if i.get("orderId") == r.json()["id"]]
    assert mine and mine[0]["correlationId"] == request_id


def test_requests_do_not_share_a_correlation_id(local_cloud, http):
    ids = [http.get("/api/products").headers["apigw-requestid"] for _ in range(2)]
    seen = until(lambda: {e.get("correlation_id") for e in json_lines(local_cloud.output)} >= set(ids))
    assert seen and ids[0] != ids[1]
