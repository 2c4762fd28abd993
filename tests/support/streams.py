"""The template's DynamoDB stream event sources, run in the test process over the `cloud`
fixture's tables: the local cloud's own event source mapping (:class:`StreamPoller`), invoking the
function in-process (:mod:`tests.support.apigw`) instead of in a worker process.

The mapping's reads of the stream and its sends to the on-failure queue are recorded as the
function's calls (its role makes them on AWS), so the least-privilege check covers them."""

from __future__ import annotations

import json
from typing import Any

from localcloud.event_sources import StreamPoller, stream_arns, stream_position
from tests.support import apigw, iam


class InProcessRunner:
    """SAM's ``LocalLambdaRunner.invoke`` as the poller calls it, with the handler run here; a
    raised exception becomes Lambda's error document, as an unhandled error does on Lambda."""

    def __init__(self, refs: dict[str, str]) -> None:
        self.refs = refs
        self.invocations: list[dict[str, Any]] = []

    def invoke(self, function: str, event: str, stdout: Any = None, stderr: Any = None) -> None:
        payload = json.loads(event)
        self.invocations.append(payload)
        try:
            result = apigw.invoke(apigw.function(function), payload, self.refs)
        except Exception as exc:  # the runtime reports any unhandled error this way
            result = {"errorType": type(exc).__name__, "errorMessage": str(exc)}
        stdout.write_str(json.dumps(result))


class StreamMappings:
    """One poller per stream event source of template.yaml, reading from the stream's start."""

    def __init__(self, cloud: Any, refs: dict[str, str], clock: Any = None) -> None:
        import boto3

        template = apigw.template()
        self.streams = boto3.client("dynamodbstreams", region_name="us-east-1")
        self.runner = InProcessRunner(refs)
        arns = stream_arns(cloud.dynamodb, template)  # what CloudFormation resolves !GetAtt .StreamArn to
        self.pollers: dict[str, StreamPoller] = {}
        for source in template.stream_event_sources():
            with iam.acting_as(source.function):
                position = stream_position(self.streams, source, arns[source.table])
            extra = {"clock": clock} if clock is not None else {}
            self.pollers[source.table] = StreamPoller(
                source,
                self.runner,
                self.streams,
                position,
                cloud.sqs,
                (cloud.queues or {}).get(source.on_failure_queue or ""),
                sleep=lambda _seconds: None,
                **extra,
            )

    def drain(self) -> None:
        """Deliver everything the streams have, as the mappings would."""
        for poller in self.pollers.values():
            with iam.acting_as(poller.source.function):
                poller.drain()

    @property
    def discarded(self) -> list[dict[str, Any]]:
        return [record for poller in self.pollers.values() for record in poller.discarded]
