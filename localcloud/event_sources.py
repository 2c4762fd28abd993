"""SQS and DynamoDB stream event sources for the local cloud, as Lambda's event source mappings
run them.

For every function in template.yaml with an ``Events`` entry of ``Type: SQS``, a poller thread
long-polls the queue (created in moto from the template, :func:`localcloud.provision.create_queues`)
and invokes the function through SAM's ``LocalLambdaRunner.invoke`` -- the same entry point the
API gateway uses -- with Lambda's SQS event shape (up to ``BatchSize`` records). Like Lambda:

* messages the function handled are deleted; with ``FunctionResponseTypes:
  [ReportBatchItemFailures]`` those named in ``batchItemFailures`` are kept;
* when the invocation fails (an error document), every message is kept;
* kept messages reappear after the queue's visibility timeout, and moto moves a message to the
  dead-letter queue once the ``RedrivePolicy``'s ``maxReceiveCount`` is exceeded.

For every ``Type: DynamoDB`` event, a :class:`StreamPoller` reads the table's stream (moto's
``GetRecords``; one shard per stream) and invokes the function with Lambda's DynamoDB event, one
batch at a time, in stream order (see :class:`StreamPoller` for what it does on failure).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from localcloud.sam_template import (
    ACCOUNT_ID,
    REGION,
    SamTemplate,
    SqsEventSource,
    StreamEventSource,
    queue_arn,
)

__all__ = [
    "SqsEventSource",
    "SqsPoller",
    "StreamEventSource",
    "StreamPoller",
    "start_pollers",
    "stream_arns",
    "stream_position",
    "stream_positions",
]

LOG = logging.getLogger(__name__)


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str = REGION) -> dict[str, Any]:
    """Lambda's SQS event for received messages."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": m.get("MessageAttributes", {}),
                "md5OfBody": m.get("MD5OfBody") or hashlib.md5(m["Body"].encode()).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for m in messages
        ]
    }


class SqsPoller(threading.Thread):
    """Polls one queue and invokes one function with what it receives, until stop()."""

    def __init__(self, source: SqsEventSource, runner: Any, sqs: Any, queue_url: str, stderr: Any = None) -> None:
        super().__init__(name=f"localcloud-sqs-{source.function}", daemon=True)
        self.source = source
        self.runner = runner
        self.sqs = sqs
        self.queue_url = queue_url
        self.queue_arn = queue_arn(source.queue)
        self.stderr = stderr
        self._stop_event = threading.Event()
        self.invocations = 0

    def stop(self) -> None:
        self._stop_event.set()

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                self.poll_once(wait_seconds=1)
            except Exception:  # keep polling, as the event source mapping does
                if self._stop_event.is_set():
                    return
                LOG.exception("polling %s for %s failed", self.source.queue, self.source.function)
                time.sleep(1)

    def poll_once(self, wait_seconds: int = 0) -> int:
        """Receive one batch and deliver it; returns how many messages were received."""
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=min(self.source.batch_size, 10),
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if messages:
            self.deliver(messages)
        return len(messages)

    def deliver(self, messages: list[dict[str, Any]]) -> None:
        self.invocations += 1
        output = invoke(self.runner, self.source.function, sqs_event(messages, self.queue_arn), self.stderr)
        keep = self._kept(messages, output)
        for message in messages:
            if message["MessageId"] not in keep:
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def _kept(self, messages: list[dict[str, Any]], output: str) -> set[str]:
        everything = {m["MessageId"] for m in messages}
        try:
            result = json.loads(output) if output.strip() else None
        except ValueError:
            return everything
        if isinstance(result, dict) and "errorType" in result:
            return everything  # the invocation failed: Lambda retries the whole batch
        if not self.source.report_batch_item_failures or not isinstance(result, dict):
            return set()
        failures = result.get("batchItemFailures") or []
        return {str(f.get("itemIdentifier")) for f in failures if isinstance(f, dict)} & everything


def invoke(runner: Any, function: str, event: Any, stderr: Any = None) -> str:
    """Invoke `function` through SAM's runner (RequestResponse); its output (a result or Lambda's
    error document) as text."""
    from samcli.lib.utils.stream_writer import StreamWriter

    text, raw = io.StringIO(), io.BytesIO()
    runner.invoke(function, json.dumps(event), stdout=StreamWriter(text, raw, auto_flush=True), stderr=stderr)
    return text.getvalue() or raw.getvalue().decode("utf-8", "replace")


# ------------------------------------------------------------------ DynamoDB streams
def dynamodb_record(record: Mapping[str, Any], stream_arn: str) -> dict[str, Any]:
    """A GetRecords record as Lambda's DynamoDB event carries it (epoch seconds, the stream's ARN)."""
    stream = dict(record["dynamodb"])
    stamp = stream.get("ApproximateCreationDateTime")
    if isinstance(stamp, datetime):
        stream["ApproximateCreationDateTime"] = round(stamp.timestamp(), 3)
    return {**{k: v for k, v in record.items() if k != "dynamodb"}, "dynamodb": stream, "eventSourceARN": stream_arn}


def stream_arns(dynamodb: Any, template: SamTemplate) -> dict[str, str]:
    """{table logical id: stream ARN} of every table a function reads the stream of: what
    ``!GetAtt Table.StreamArn`` resolves to once the table exists."""
    tables = {source.table for source in template.stream_event_sources()}
    return {table: dynamodb.describe_table(TableName=table)["Table"]["LatestStreamArn"] for table in sorted(tables)}


def stream_positions(
    streams: Any, template: SamTemplate, arns: Mapping[str, str], at: str | None = None
) -> dict[str, tuple[str, str, str]]:
    """{table logical id: (stream ARN, shard id, shard iterator)} for every stream event source,
    positioned at `at` (``LATEST``: what is written from now on) or, by default, at the mapping's
    ``StartingPosition``. The local cloud takes them when its tables are ready, before it serves
    the API, so that no change is missed."""
    return {
        source.table: stream_position(streams, source, arns[source.table], at)
        for source in template.stream_event_sources()
    }


def stream_position(streams: Any, source: StreamEventSource, arn: str, at: str | None = None) -> tuple[str, str, str]:
    """(stream ARN, shard id, shard iterator) where `source`'s mapping starts reading."""
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    position = at or source.starting_position
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType=position)
    return arn, shard, iterator["ShardIterator"]


# How often an idle stream mapping looks for a change, and reads the stream even without one.
STREAM_POLL_SECONDS = 0.25
STREAM_BACKSTOP_SECONDS = 2.0


class StreamPoller(threading.Thread):
    """Reads one table's stream for one function, as Lambda's event source mapping does.

    Batches of up to ``BatchSize`` records go to the function one at a time, in stream order.
    A batch succeeds, or fails as a whole (an error document, or with ``ReportBatchItemFailures``
    an item identifier that names no record of the batch), or partly: with
    ``ReportBatchItemFailures`` the records before the lowest reported sequence number are done
    and the next batch starts at it. A batch that made no progress is split in two with
    ``BisectBatchOnFunctionError`` (splitting costs no retry), else retried; after
    ``MaximumRetryAttempts`` retries, or once its first record is older than
    ``MaximumRecordAgeInSeconds``, it is discarded and the on-failure destination queue gets
    Lambda's invocation record (``DDBStreamBatchInfo``: shard and sequence numbers), then the
    stream goes on. Retries wait a little longer each time (at most 2 s).

    Idle, it asks the stream again only after a DynamoDB request that may have changed data
    (``changes``: :func:`localcloud.dynamodb_atomic.writes`, the emulator's count, in the same
    process) or every :data:`STREAM_BACKSTOP_SECONDS`: a stream record only comes from a write, and
    a GetRecords over HTTP every quarter second per mapping kept an idle local cloud at about 10%
    of a core (docs/adr/0033-a-fast-loop-that-stays-fast.md).
    """

    def __init__(
        self,
        source: StreamEventSource,
        runner: Any,
        streams: Any,
        position: tuple[str, str, str],
        sqs: Any = None,
        dead_letter_url: str | None = None,
        stderr: Any = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        changes: Callable[[], int] | None = None,
    ) -> None:
        super().__init__(name=f"localcloud-stream-{source.table}-{source.function}", daemon=True)
        if changes is None:
            from localcloud.dynamodb_atomic import writes

            changes = writes
        self.changes: Callable[[], int] = changes
        self.reads = 0  # GetRecords requests made
        self.source = source
        self.runner = runner
        self.streams = streams
        self.stream_arn, self.shard_id, self.iterator = position
        self.sqs = sqs
        self.dead_letter_url = dead_letter_url
        self.stderr = stderr
        self.clock = clock
        self.sleep = sleep
        self.pending: list[dict[str, Any]] = []
        self.limit = source.batch_size
        self.window: int | None = None  # records left of a batch being retried in halves
        self.attempts = 0
        self.invocations = 0
        self.discarded: list[dict[str, Any]] = []  # what went to the on-failure destination
        self._stop_event = threading.Event()

    def stop(self) -> None:
        self._stop_event.set()

    def run(self) -> None:
        seen: int | None = None  # the count of changes when the stream was last read
        read_at = 0.0
        while not self._stop_event.is_set():
            try:
                changes = self.changes()
                if self.pending or changes != seen or time.monotonic() - read_at >= STREAM_BACKSTOP_SECONDS:
                    # counted before reading: a write landing meanwhile changes the count again
                    seen, read_at = changes, time.monotonic()
                    if self.poll_once():
                        continue
                self._stop_event.wait(STREAM_POLL_SECONDS)
            except Exception:  # keep polling, as the event source mapping does
                if self._stop_event.is_set():
                    return
                LOG.exception("reading the stream of %s for %s failed", self.source.table, self.source.function)
                self._stop_event.wait(1)

    def fetch(self) -> int:
        """Read what the stream has after the records already read; returns how many."""
        if self.iterator is None:
            return 0
        self.reads += 1
        answer = self.streams.get_records(ShardIterator=self.iterator, Limit=1000)
        self.iterator = answer.get("NextShardIterator")
        records = [dynamodb_record(r, self.stream_arn) for r in answer.get("Records", [])]
        self.pending.extend(records)
        return len(records)

    def poll_once(self) -> int:
        """Read the stream, then deliver one batch if there is one; returns how many records the
        batch had (0: nothing to do)."""
        if len(self.pending) < self.source.batch_size:
            self.fetch()
        if not self.pending:
            return 0
        batch = self.pending[: max(1, min(self.limit, self.source.batch_size))]
        self.invocations += 1
        output = invoke(self.runner, self.source.function, {"Records": batch}, self.stderr)
        self._settle(batch, self._first_failed(batch, output))
        return len(batch)

    def drain(self, rounds: int = 1000) -> None:
        """Deliver until the stream has nothing more (tests and tools run the mapping this way)."""
        for _ in range(rounds):
            if not self.poll_once():
                return
        raise RuntimeError(f"the stream of {self.source.table} did not drain in {rounds} batches")

    def _first_failed(self, batch: list[dict[str, Any]], output: str) -> int | None:
        """The index of the first record to retry; None when the batch succeeded."""
        try:
            result = json.loads(output) if output.strip() else None
        except ValueError:
            return 0
        if isinstance(result, dict) and "errorType" in result:
            return 0
        if not self.source.report_batch_item_failures or not isinstance(result, dict):
            return None
        failures = result.get("batchItemFailures") or []
        if not failures:
            return None
        index = {r["dynamodb"]["SequenceNumber"]: i for i, r in enumerate(batch)}
        named = [f.get("itemIdentifier") if isinstance(f, dict) else None for f in failures]
        if any(n not in index for n in named):
            return 0  # an empty, null or unknown identifier fails the whole batch
        return min(index[str(n)] for n in named)

    def _settle(self, batch: list[dict[str, Any]], failed_at: int | None) -> None:
        if failed_at is None:
            self._done(len(batch))
            return
        if failed_at > 0:  # progress: the records before the failure are done
            self._done(failed_at)
            return
        if self.source.bisect_on_error and len(batch) > 1:
            # retry each half on its own: the first now, the rest of the batch after it
            self.window = self.window or len(batch)
            self.limit = (len(batch) + 1) // 2
            return
        self.attempts += 1
        condition = self._exhausted(batch)
        if condition is None:
            self.sleep(min(2.0, 0.05 * 2**self.attempts))
            return
        self._discard(batch, condition)
        self._done(len(batch))

    def _done(self, count: int) -> None:
        """The first `count` pending records are handled (delivered, or discarded)."""
        del self.pending[:count]
        self.attempts = 0
        if self.window is not None and self.window > count:
            self.window -= count
            self.limit = self.window
        else:
            self.window, self.limit = None, self.source.batch_size

    def _exhausted(self, batch: list[dict[str, Any]]) -> str | None:
        retries = self.source.maximum_retry_attempts
        if retries >= 0 and self.attempts > retries:
            return "RetryAttemptsExhausted"
        max_age = self.source.maximum_record_age_seconds
        first = batch[0]["dynamodb"].get("ApproximateCreationDateTime")
        if max_age >= 0 and isinstance(first, int | float) and self.clock() - first > max_age:
            return "RecordAgeExceeded"
        return None

    def _discard(self, batch: list[dict[str, Any]], condition: str) -> None:
        """Lambda's invocation record for a discarded stream batch, to the on-failure destination."""
        first, last = batch[0]["dynamodb"], batch[-1]["dynamodb"]
        function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.source.function}"
        record = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": function_arn,
                "condition": condition,
                "approximateInvokeCount": self.attempts,
            },
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "version": "1.0",
            "timestamp": _iso(self.clock()),
            "DDBStreamBatchInfo": {
                "shardId": self.shard_id,
                "startSequenceNumber": first["SequenceNumber"],
                "endSequenceNumber": last["SequenceNumber"],
                "approximateArrivalOfFirstRecord": _iso(first.get("ApproximateCreationDateTime")),
                "approximateArrivalOfLastRecord": _iso(last.get("ApproximateCreationDateTime")),
                "batchSize": len(batch),
                "streamArn": self.stream_arn,
            },
        }
        self.discarded.append(record)
        source = self.source
        LOG.warning("%s: discarded %d record(s) of %s (%s)", source.function, len(batch), source.table, condition)
        if self.sqs is not None and self.dead_letter_url:
            self.sqs.send_message(QueueUrl=self.dead_letter_url, MessageBody=json.dumps(record))


def _iso(epoch: Any) -> str | None:
    if not isinstance(epoch, int | float):
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# ------------------------------------------------------------------ all of them
def start_pollers(
    template: SamTemplate,
    runner: Any,
    sqs: Any,
    queue_urls: Mapping[str, str],
    stderr: Any = None,
    streams: Any = None,
    positions: Mapping[str, tuple[str, str, str]] | None = None,
) -> list[threading.Thread]:
    """A poller per SQS event source and, given the `streams` client and the tables' stream
    `positions` (:func:`stream_positions`), per DynamoDB stream event source; started."""
    pollers: list[threading.Thread] = [
        SqsPoller(s, runner, sqs, queue_urls[s.queue], stderr) for s in template.sqs_event_sources()
    ]
    if streams is not None and positions is not None:
        for source in template.stream_event_sources():
            dead_letter = queue_urls.get(source.on_failure_queue) if source.on_failure_queue else None
            pollers.append(StreamPoller(source, runner, streams, positions[source.table], sqs, dead_letter, stderr))
    for poller in pollers:
        poller.start()
    return pollers


def stop_pollers(pollers: list[Any], timeout: float = 5.0) -> None:
    for poller in pollers:
        poller.stop()
    for poller in pollers:
        with contextlib.suppress(RuntimeError):
            poller.join(timeout)
