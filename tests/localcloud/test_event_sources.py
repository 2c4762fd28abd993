"""localcloud.event_sources: which functions poll which queues, and what is deleted or kept."""

from __future__ import annotations

import json

import pytest

from localcloud import event_sources
from localcloud.sam_template import SamTemplate, TemplateError
from tests.support.apigw import template as project_template


def test_the_templates_sqs_event_sources():
    assert project_template().sqs_event_sources() == [
        event_sources.SqsEventSource("ReleaseStockFunction", "CompensationQueue", 10, True),
        event_sources.SqsEventSource("ProjectReportsFunction", "ReportsQueue", 10, True),
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


# ---------------------------------------------------------------- DynamoDB streams
STREAM = "arn:aws:dynamodb:us-east-1:123456789012:table/T/stream/2026-12-01T00:00:00.000"


def stream_source(**overrides):
    settings = {
        "function": "Fn",
        "event": "Changes",
        "table": "T",
        "starting_position": "TRIM_HORIZON",
        "batch_size": 4,
        "report_batch_item_failures": True,
        "bisect_on_error": True,
        "maximum_retry_attempts": 2,
        "maximum_record_age_seconds": 3600,
        "on_failure_queue": "DLQ",
        **overrides,
    }
    return event_sources.StreamEventSource(**settings)


class FakeStreams:
    def __init__(self, records):
        self.records = records

    def get_records(self, ShardIterator, Limit):
        batch, self.records = self.records[:Limit], self.records[Limit:]
        return {"Records": batch, "NextShardIterator": "next"}


class ScriptedRunner:
    """Answers each invocation with the next of `answers` (a function of the batch's sequence numbers)."""

    def __init__(self, answer):
        self.answer = answer
        self.batches = []

    def invoke(self, function, event, stdout=None, stderr=None):
        records = json.loads(event)["Records"]
        sequences = [r["dynamodb"]["SequenceNumber"] for r in records]
        self.batches.append(sequences)
        stdout.write_str(json.dumps(self.answer(sequences)))


class FakeQueue:
    def __init__(self):
        self.sent = []

    def send_message(self, QueueUrl, MessageBody):
        self.sent.append((QueueUrl, json.loads(MessageBody)))


def stream_records(n, created=1_000.0):
    from datetime import UTC, datetime

    return [
        {
            "eventID": f"e{i}",
            "eventName": "INSERT",
            "dynamodb": {
                "ApproximateCreationDateTime": datetime.fromtimestamp(created + i, UTC),
                "Keys": {"pk": {"S": f"K#{i}"}},
                "SequenceNumber": str(100 + i),
            },
        }
        for i in range(n)
    ]


def stream_poller(answer, n=6, now=1_010.0, **overrides):
    runner, queue = ScriptedRunner(answer), FakeQueue()
    poller = event_sources.StreamPoller(
        stream_source(**overrides),
        runner,
        FakeStreams(stream_records(n)),
        (STREAM, "shard-1", "iterator"),
        queue,
        "dlq-url",
        clock=lambda: now,
        sleep=lambda _seconds: None,
    )
    return poller, runner, queue


def succeed(_sequences):
    return {"batchItemFailures": []}


def test_a_stream_is_delivered_in_batches_in_order_with_lambdas_record_shape():
    captured = []
    poller, runner, queue = stream_poller(lambda seqs: captured.append(seqs) or succeed(seqs))
    poller.drain()
    assert runner.batches == [["100", "101", "102", "103"], ["104", "105"]]
    assert queue.sent == [] and poller.pending == []


def test_the_record_shape():
    runner = FakeRunner({"batchItemFailures": []})
    poller = event_sources.StreamPoller(stream_source(), runner, FakeStreams(stream_records(1)), (STREAM, "s", "i"))
    poller.poll_once()
    ((function, event),) = runner.events
    (record,) = event["Records"]
    assert function == "Fn" and record["eventSourceARN"] == STREAM
    assert record["dynamodb"]["ApproximateCreationDateTime"] == 1000.0  # epoch seconds, as Lambda sends


def test_a_reported_failure_is_retried_from_that_record_on():
    answers = iter([{"batchItemFailures": [{"itemIdentifier": "102"}]}])
    poller, runner, _ = stream_poller(lambda seqs: next(answers, succeed(seqs)))
    poller.drain()
    assert runner.batches == [["100", "101", "102", "103"], ["102", "103", "104", "105"]]


def test_when_several_are_reported_the_lowest_is_the_checkpoint():
    answers = iter([{"batchItemFailures": [{"itemIdentifier": "103"}, {"itemIdentifier": "101"}]}])
    poller, runner, _ = stream_poller(lambda seqs: next(answers, succeed(seqs)))
    poller.drain()
    assert runner.batches[1][0] == "101"


@pytest.mark.parametrize(
    "answer",
    [
        {"errorType": "RuntimeError", "errorMessage": "boom"},
        {"batchItemFailures": [{"itemIdentifier": ""}]},
        {"batchItemFailures": [{"itemIdentifier": "999"}]},
        {"batchItemFailures": [{"itemId": "100"}]},
    ],
    ids=["error", "empty-identifier", "unknown-identifier", "wrong-key"],
)
def test_a_batch_that_fails_as_a_whole_is_split_in_two(answer):
    answers = iter([answer])
    poller, runner, _ = stream_poller(lambda seqs: next(answers, succeed(seqs)))
    poller.drain()
    assert runner.batches[:3] == [["100", "101", "102", "103"], ["100", "101"], ["102", "103"]]


def test_a_record_that_always_fails_is_isolated_then_discarded_to_the_on_failure_queue_and_the_rest_goes_on():
    def answer(seqs):
        return {"batchItemFailures": [{"itemIdentifier": "101"}]} if "101" in seqs else succeed(seqs)

    poller, runner, queue = stream_poller(answer)
    poller.drain()
    assert runner.batches[:3] == [["100", "101", "102", "103"], ["101", "102", "103", "104"], ["101", "102"]]
    assert runner.batches[3:6] == [["101"], ["101"], ["101"]]  # then 2 retries: discarded
    assert runner.batches[6:] == [["102", "103", "104"], ["105"]]  # the rest of the failing batch, then on
    ((url, record),) = queue.sent
    assert url == "dlq-url"
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["functionArn"].endswith(":function:Fn")
    info = record["DDBStreamBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == ("101", "101", 1)
    assert (info["shardId"], info["streamArn"]) == ("shard-1", STREAM)
    assert info["approximateArrivalOfFirstRecord"] == "1970-01-01T00:16:41.000Z"


def test_without_bisection_the_whole_batch_is_retried_then_discarded():
    poller, runner, queue = stream_poller(lambda seqs: {"errorType": "E", "errorMessage": "x"}, bisect_on_error=False)
    poller.poll_once()
    poller.poll_once()
    poller.poll_once()
    assert runner.batches == [["100", "101", "102", "103"]] * 3
    assert queue.sent[0][1]["DDBStreamBatchInfo"]["batchSize"] == 4


def test_a_record_too_old_is_discarded_without_waiting_for_the_retries():
    poller, _, queue = stream_poller(
        lambda seqs: {"errorType": "E", "errorMessage": "x"},
        bisect_on_error=False,
        maximum_retry_attempts=-1,
        now=9_999.0,
    )
    poller.poll_once()
    assert queue.sent[0][1]["requestContext"]["condition"] == "RecordAgeExceeded"


def test_without_report_batch_item_failures_a_returned_list_means_success():
    answers = iter([{"batchItemFailures": [{"itemIdentifier": "100"}]}])
    poller, runner, _ = stream_poller(lambda seqs: next(answers, succeed(seqs)), report_batch_item_failures=False)
    poller.drain()
    assert runner.batches == [["100", "101", "102", "103"], ["104", "105"]]


def test_the_templates_stream_event_sources():
    sources = project_template().stream_event_sources()
    assert {(s.function, s.table) for s in sources} == {
        ("PublishEventsFunction", "ProductsTable"),
        ("PublishEventsFunction", "CustomersTable"),
        ("PublishEventsFunction", "OrdersTable"),
    }
    for source in sources:
        assert source.report_batch_item_failures and source.bisect_on_error
        assert source.maximum_retry_attempts >= 0 and source.maximum_record_age_seconds > 0
        assert source.on_failure_queue == "EventsDeadLetterQueue" and source.starting_position == "TRIM_HORIZON"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"Stream": "arn:aws:dynamodb:us-east-1:1:table/T/stream/x"}, "only !GetAtt <Table>.StreamArn"),
        ({"Stream": {"Fn::GetAtt": ["Plain", "StreamArn"]}}, "Plain has no StreamSpecification"),
        (
            {"DestinationConfig": {"OnFailure": {"Destination": "arn:aws:sqs:us-east-1:1:q"}}},
            "only !GetAtt <Queue>.Arn",
        ),
    ],
    ids=["not-getatt", "no-stream", "destination"],
)
def test_a_stream_the_local_cloud_cannot_read_is_a_clear_error(change, message):
    table = {"Type": "AWS::DynamoDB::Table", "Properties": {"StreamSpecification": {"StreamViewType": "NEW_IMAGE"}}}
    props = {"Stream": {"Fn::GetAtt": ["Streamed", "StreamArn"]}, "StartingPosition": "LATEST", **change}
    template = SamTemplate(
        {
            "Resources": {
                "Streamed": table,
                "Plain": {"Type": "AWS::DynamoDB::Table", "Properties": {}},
                "Fn": {
                    "Type": "AWS::Serverless::Function",
                    "Properties": {"Events": {"E": {"Type": "DynamoDB", "Properties": props}}},
                },
            }
        }
    )
    with pytest.raises(TemplateError, match=message):
        template.stream_event_sources()


def test_the_local_mappings_start_after_what_the_tables_held_at_start():
    """The local cloud positions its stream mappings once its tables are ready (a state file's
    items put back are history): only later changes are delivered."""
    import boto3
    from moto import mock_aws

    from localcloud.provision import create_tables

    template = project_template()
    with mock_aws():
        ddb, streams = (
            boto3.client("dynamodb", region_name="us-east-1"),
            boto3.client("dynamodbstreams", region_name="us-east-1"),
        )
        create_tables(ddb, template)
        ddb.put_item(TableName="ProductsTable", Item={"pk": {"S": "PRODUCT#1"}, "restored": {"BOOL": True}})
        arns = event_sources.stream_arns(ddb, template)
        positions = event_sources.stream_positions(streams, template, arns, at="LATEST")
        ddb.put_item(TableName="ProductsTable", Item={"pk": {"S": "PRODUCT#2"}})
        runner = FakeRunner({"batchItemFailures": []})
        (source,) = [s for s in template.stream_event_sources() if s.table == "ProductsTable"]
        event_sources.StreamPoller(source, runner, streams, positions["ProductsTable"]).drain()
        ((_, event),) = runner.events
        assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in event["Records"]] == ["PRODUCT#2"]


def running_poller(changes):
    runner, streams = ScriptedRunner(succeed), FakeStreams([])
    poller = event_sources.StreamPoller(
        stream_source(), runner, streams, (STREAM, "shard-1", "iterator"), FakeQueue(), "dlq-url", changes=changes
    )
    poller.start()
    return poller, runner, streams


def eventually(condition, seconds=30.0):
    import time

    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_an_idle_mapping_reads_the_stream_again_only_after_a_write(monkeypatch):
    """Idle, a mapping does not ask the emulator every quarter second: a stream record only
    comes from a write, so it reads again once the emulator counted one (and then delivers it)."""
    import time

    monkeypatch.setattr(event_sources, "STREAM_BACKSTOP_SECONDS", 3600.0)
    writes = [0]
    poller, runner, streams = running_poller(lambda: writes[0])
    try:
        eventually(lambda: poller.reads == 1)
        time.sleep(1.0)  # four idle rounds
        assert poller.reads == 1
        streams.records = stream_records(2)
        writes[0] += 1
        eventually(lambda: runner.batches == [["100", "101"]])
    finally:
        poller.stop()
        poller.join(5)


def test_an_idle_mapping_still_reads_the_stream_now_and_then():
    """A record that came without a counted write (none should) is delivered within the backstop."""
    poller, runner, streams = running_poller(lambda: 0)
    try:
        eventually(lambda: poller.reads == 1)
        streams.records = stream_records(1)
        eventually(lambda: runner.batches == [["100"]], seconds=event_sources.STREAM_BACKSTOP_SECONDS + 30)
    finally:
        poller.stop()
        poller.join(5)
