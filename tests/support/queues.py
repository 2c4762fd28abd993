"""Deliver SQS messages to the function template.yaml subscribes to a queue, as Lambda's event
source mapping does: a batch of received messages becomes one SQS event; the messages the
function does not report as failed (partial batch response) are deleted. The event is the one the
local cloud's event source mapping builds (:func:`localcloud.event_sources.sqs_event`)."""

from __future__ import annotations

import json
from typing import Any

from localcloud.event_sources import sqs_event
from tests.support import apigw


def consumer_of(queue: str) -> apigw.Function:
    """The function whose SQS event source reads `queue` (a logical id), from template.yaml."""
    for source in apigw.template().sqs_event_sources():
        if source.queue == queue:
            return apigw.function(source.function)
    raise LookupError(f"no function in template.yaml consumes {queue}")


def receive(sqs: Any, url: str) -> list[dict[str, Any]]:
    return sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0, AttributeNames=["All"], MessageAttributeNames=["All"]
    ).get("Messages", [])


def deliver(sqs: Any, url: str, messages: list[dict[str, Any]], queue: str) -> dict[str, Any]:
    """One invocation of the queue's consumer with `messages`; deletes those that succeeded."""
    fn = consumer_of(queue)
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    result = apigw.invoke(fn, sqs_event(messages, arn))
    failed = {f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])}
    for m in messages:
        if m["MessageId"] not in failed:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return result  # type: ignore[no-any-return]


def bodies(messages: list[dict[str, Any]]) -> list[Any]:
    return [json.loads(m["Body"]) for m in messages]
