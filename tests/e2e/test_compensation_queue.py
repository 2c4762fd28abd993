"""The local cloud runs the compensation retry path: the queue from template.yaml exists in
moto, and ReleaseStockFunction is invoked for its messages, as the SQS event source would."""

from __future__ import annotations

import json
import time

import pytest

pytestmark = pytest.mark.e2e


def wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def test_a_pending_release_sent_to_the_queue_is_completed_exactly_once(local_cloud, http, product):
    created = product(stock=7)
    ddb, sqs = local_cloud.client("dynamodb"), local_cloud.client("sqs")
    key = {"pk": {"S": f"PRODUCT#{created['id']}"}}
    # As a failed placement leaves it: 2 units taken for order 9001, recorded as its hold.
    ddb.update_item(
        TableName="ProductsTable",
        Key=key,
        UpdateExpression="SET stock = stock - :q, hold_9001 = :q",
        ExpressionAttributeValues={":q": {"N": "2"}},
    )
    url = sqs.get_queue_url(QueueName="CompensationQueue")["QueueUrl"]
    body = json.dumps({"orderId": 9001, "lines": [{"productId": created["id"], "quantity": 2}]})

    sqs.send_message(QueueUrl=url, MessageBody=body)
    wait_for(lambda: http.get(f"/api/products/{created['id']}").json()["stock"] == 7)
    assert "hold_9001" not in ddb.get_item(TableName="ProductsTable", Key=key, ConsistentRead=True)["Item"]

    sqs.send_message(QueueUrl=url, MessageBody=body)  # redelivered: nothing more comes back
    wait_for(
        lambda: all(
            sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"][k] == "0"
            for k in ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible")
        )
    )
    assert http.get(f"/api/products/{created['id']}").json()["stock"] == 7
