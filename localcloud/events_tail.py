"""Print the domain events of the running local cloud as they are published (`make events`).

    python -m localcloud.events_tail [--aws-url http://127.0.0.1:4566] [--bus NAME] [--json]

It subscribes as any consumer of the bus would: a rule on the bus (every `sales.*` event) with
a queue of its own as target, created when it starts and removed when it stops (Ctrl-C). One
line per event:

    10:42:07.120  ProductCreated      product 7 v1    by 4f1c…  Laptop, 999.99, stock 10
    10:42:09.311  OrderPlaced         order 12 v1     by 4f1c…  customer 3, 2 line(s), total 1999.98
    10:42:09.318  StockLow            product 7 v2    by system  stock 3 <= threshold 5

`--json` prints each event whole (EventBridge's envelope with the detail), one per line.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Mapping
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from localcloud.sam_template import EVENT_BUS, REGION, SamTemplate

PATTERN = {"source": [{"prefix": "sales."}]}


def _client(service: str, aws_url: str) -> Any:
    return boto3.client(  # type: ignore[call-overload]
        service,
        endpoint_url=aws_url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 2}, connect_timeout=3, read_timeout=30),
    )


def template_bus(template_path: str) -> str | None:
    """The name of template.yaml's (first) event bus, as the local cloud creates it."""
    template = SamTemplate.load(template_path)
    resolver = template.resolver()
    for logical_id in template.of_type(EVENT_BUS):
        return resolver.event_bus_name(logical_id, f"Resources.{logical_id}")
    return None


def _summary(detail_type: str, detail: Mapping[str, Any]) -> str:
    data = detail.get("data") or {}
    if detail_type == "StockAdjusted":
        return f"{detail.get('delta'):+} ({detail.get('reason')}), stock {data.get('stock')}"
    if detail_type == "StockLow":
        return f"stock {detail.get('stock')} <= threshold {detail.get('threshold')}"
    if detail_type == "OrderStatusChanged":
        return f"{detail.get('from')} -> {detail.get('to')}"
    if detail_type.startswith("Order"):
        lines = len(data.get("items") or [])
        return f"customer {data.get('customerId')}, {lines} line(s), total {data.get('total')}, {data.get('status')}"
    if detail_type.startswith("Customer"):
        return f"{data.get('name')} <{data.get('email')}>"
    return f"{data.get('name')}, {data.get('price')}, stock {data.get('stock')}"


def line(event: Mapping[str, Any]) -> str:
    """One readable line for an event as a queue target receives it."""
    detail = event.get("detail") or {}
    detail_type = str(event.get("detail-type", "?"))
    entity = str(event.get("source", "")).removeprefix("sales.").removesuffix("s")
    when = str(detail.get("occurredAt") or event.get("time") or "")
    clock = when[11:23] if len(when) >= 23 else when
    subject = f"{entity} {detail.get('id')} v{detail.get('version')}"
    return f"{clock:<12}  {detail_type:<19} {subject:<15} by {detail.get('actor')}  {_summary(detail_type, detail)}"


class Subscription:
    """A rule on `bus` that sends every `sales.*` event to a queue of its own."""

    def __init__(self, events: Any, sqs: Any, bus: str, name: str) -> None:
        self.events, self.sqs, self.bus, self.name = events, sqs, bus, name
        self.url: str | None = None

    def __enter__(self) -> Subscription:
        self.url = self.sqs.create_queue(QueueName=self.name)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.events.put_rule(Name=self.name, EventBusName=self.bus, EventPattern=json.dumps(PATTERN))
        self.events.put_targets(Rule=self.name, EventBusName=self.bus, Targets=[{"Id": "tail", "Arn": arn}])
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(ClientError, BotoCoreError):
            self.events.remove_targets(Rule=self.name, EventBusName=self.bus, Ids=["tail"])
            self.events.delete_rule(Name=self.name, EventBusName=self.bus)
        with contextlib.suppress(ClientError, BotoCoreError):
            if self.url:
                self.sqs.delete_queue(QueueUrl=self.url)

    def receive(self, wait_seconds: int = 1) -> list[dict[str, Any]]:
        messages = self.sqs.receive_message(
            QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds
        ).get("Messages", [])
        for message in messages:
            self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
        return [json.loads(m["Body"]) for m in messages]


def follow(
    subscription: Subscription, stop: threading.Event, write: Callable[[str], None], as_json: bool = False
) -> int:
    """Print events until `stop` is set; returns how many were printed."""
    printed = 0
    while not stop.is_set():
        for event in subscription.receive():
            write(json.dumps(event) if as_json else line(event))
            printed += 1
    return printed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localcloud.events_tail", description=__doc__.split("\n")[0])
    parser.add_argument("--aws-url", default="http://127.0.0.1:4566", help="the local cloud's AWS endpoint")
    parser.add_argument("--bus", help="the event bus (default: template.yaml's, as the local cloud names it)")
    parser.add_argument("--template", default="template.yaml")
    parser.add_argument("--json", action="store_true", help="print each event whole, as JSON")
    args = parser.parse_args(argv)
    bus = args.bus or template_bus(args.template)
    if not bus:
        print(f"error: {args.template} declares no event bus; pass --bus", file=sys.stderr)
        return 2
    events, sqs = _client("events", args.aws_url), _client("sqs", args.aws_url)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda *_: stop.set())
    try:
        with Subscription(events, sqs, bus, f"localcloud-events-{os.getpid()}") as subscription:
            print(f"Following {bus} at {args.aws_url} (Ctrl-C stops)", file=sys.stderr, flush=True)
            follow(subscription, stop, lambda text: print(text, flush=True), args.json)
    except (ClientError, BotoCoreError) as exc:
        print(f"error: cannot follow {bus} at {args.aws_url} (is `make dev` running?): {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
