"""SQS event sources for the local cloud, as Lambda's event source mappings run them.

For every function in template.yaml with an ``Events`` entry of ``Type: SQS``, a poller thread
long-polls the queue (created in moto from the template, :func:`localcloud.provision.create_queues`)
and invokes the function through SAM's ``LocalLambdaRunner.invoke`` -- the same entry point the
API gateway uses -- with Lambda's SQS event shape (up to ``BatchSize`` records). Like Lambda:

* messages the function handled are deleted; with ``FunctionResponseTypes:
  [ReportBatchItemFailures]`` those named in ``batchItemFailures`` are kept;
* when the invocation fails (an error document), every message is kept;
* kept messages reappear after the queue's visibility timeout, and moto moves a message to the
  dead-letter queue once the ``RedrivePolicy``'s ``maxReceiveCount`` is exceeded.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

from localcloud.sam_template import REGION, SamTemplate, SqsEventSource, queue_arn

__all__ = ["SqsEventSource", "SqsPoller", "start_pollers"]

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
        from samcli.lib.utils.stream_writer import StreamWriter

        text, raw = io.StringIO(), io.BytesIO()
        stdout = StreamWriter(text, raw, auto_flush=True)
        event = json.dumps(sqs_event(messages, self.queue_arn))
        self.invocations += 1
        self.runner.invoke(self.source.function, event, stdout=stdout, stderr=self.stderr)
        output = text.getvalue() or raw.getvalue().decode("utf-8", "replace")
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


def start_pollers(
    template: SamTemplate, runner: Any, sqs: Any, queue_urls: Mapping[str, str], stderr: Any = None
) -> list[SqsPoller]:
    pollers = [SqsPoller(s, runner, sqs, queue_urls[s.queue], stderr) for s in template.sqs_event_sources()]
    for poller in pollers:
        poller.start()
    return pollers


def stop_pollers(pollers: list[SqsPoller], timeout: float = 5.0) -> None:
    for poller in pollers:
        poller.stop()
    for poller in pollers:
        with contextlib.suppress(RuntimeError):
            poller.join(timeout)
