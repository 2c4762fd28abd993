"""localcloud.event_sources: which functions poll which queues, and what is deleted or kept."""

from __future__ import annotations

import json

import pytest

from localcloud import event_sources
from localcloud.sam_template import SamTemplate, TemplateError
from tests.support.apigw import template as project_template


def test_the_templates_sqs_event_sources():
    assert project_template().sqs_event_sources() == [
        event_sources.SqsEventSource("ReleaseStockFunction", "CompensationQueue", 10, True)
    ]


@pytest.mark.parametrize("queue", ["arn:aws:sqs:us-east-1:1:q", {"Fn::GetAtt": ["Fn", "Arn"]}])
def test_a_queue_the_local_cloud_cannot_poll_is_a_clear_error(queue):
    template = SamTemplate(
        {
            "Resources": {
                "Fn": {
                    "Type": "AWS::Serverless::Function",
                    "Properties": {"Events": {"E": {"Type": "SQS", "Properties": {"Queue": queue}}}},
                }
            }
        }
    )
    with pytest.raises(TemplateError, match=r"Resources.Fn.Events.E.Properties.Queue"):
        template.sqs_event_sources()


class FakeSqs:
    def __init__(self, messages):
        self.messages = messages
        self.deleted = []

    def receive_message(self, **kwargs):
        batch, self.messages = (
            self.messages[: kwargs["MaxNumberOfMessages"]],
            self.messages[kwargs["MaxNumberOfMessages"] :],
        )
        return {"Messages": batch}

    def delete_message(self, QueueUrl, ReceiptHandle):
        self.deleted.append(ReceiptHandle)


class FakeRunner:
    def __init__(self, answer):
        self.answer = answer
        self.events = []

    def invoke(self, function, event, stdout=None, stderr=None):
        self.events.append((function, json.loads(event)))
        stdout.write_str(json.dumps(self.answer))


def poller(answer, messages, report=True):
    source = event_sources.SqsEventSource("Fn", "Q", 10, report)
    return event_sources.SqsPoller(source, FakeRunner(answer), FakeSqs(messages), "url")


def messages(n):
    return [{"MessageId": f"m{i}", "ReceiptHandle": f"r{i}", "Body": "{}"} for i in range(n)]


def test_handled_messages_are_deleted_and_the_event_has_lambdas_shape():
    p = poller({"batchItemFailures": []}, messages(2))
    assert p.poll_once() == 2
    assert p.sqs.deleted == ["r0", "r1"]
    ((function, event),) = p.runner.events
    assert function == "Fn"
    assert [r["messageId"] for r in event["Records"]] == ["m0", "m1"]
    assert event["Records"][0]["eventSource"] == "aws:sqs"
    assert event["Records"][0]["eventSourceARN"].endswith(":Q")


def test_reported_failures_are_kept():
    p = poller({"batchItemFailures": [{"itemIdentifier": "m1"}]}, messages(3))
    p.poll_once()
    assert p.sqs.deleted == ["r0", "r2"]


def test_a_failed_invocation_keeps_the_whole_batch():
    p = poller({"errorType": "RuntimeError", "errorMessage": "boom"}, messages(2))
    p.poll_once()
    assert p.sqs.deleted == []


def test_without_report_batch_item_failures_a_returned_list_is_ignored():
    p = poller({"batchItemFailures": [{"itemIdentifier": "m0"}]}, messages(1), report=False)
    p.poll_once()
    assert p.sqs.deleted == ["r0"]
