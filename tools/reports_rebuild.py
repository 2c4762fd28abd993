"""Rebuild the reports' projection from scratch into a fresh table, and report how it differs from
the live one (`make reports-rebuild`; docs/reports.md, "Rebuilding").

    python -m tools.reports_rebuild                      # the running `make dev`, from the services' data
    python -m tools.reports_rebuild --from archive       # ... from the event bus's archive
    python -m tools.reports_rebuild --stack sales-prod   # a deployed stack (AWS credentials), from its archive

The fresh table has the live table's key schema and indexes; the events are applied to it by the
projector's own code (`reports.projector`), each exactly once, in whatever order they come:

* **from the archive**: a rule of its own on the bus, with a queue of its own, receives the
  archive's events replayed (`StartReplay` to that rule only) and every event published
  meanwhile (so the rebuild catches up with the live projection, which keeps going); it ends when
  the replay is complete and the queue has stayed empty for `--quiet` seconds.
* **from the services' data**: each product, customer and order as it is now becomes one event
  of its current version; a product's stock is its stock with the units of placements still in
  flight counted (as the events count them), plus the units its orders hold, which their events
  then take again.

Then both tables are read whole and compared: every sales row (day, product, customer), and per
product and customer that exists, its name, stock, threshold and whether the low-stock report
lists it. Differences are printed; the exit status is 1 if there are any (after waiting up to
`--settle` seconds for events still in flight to reach both), 0 if none. The fresh table is
deleted unless `--keep` (or differences were found: it is kept for inspection).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT / "functions", ROOT / "layers" / "shared"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from reports.events import SOURCES, DomainEvent, parse  # noqa: E402
from reports.projector import Outcome, Projector  # noqa: E402
from reports.store import ReportStore  # noqa: E402
from sales_common.dynamo import from_item  # noqa: E402
from sales_common.settings import ServiceSettings  # noqa: E402

REBUILD_NAMESPACE = uuid.UUID("b1c2d3e4-0f1e-5d2c-8b4a-39281706f5e4")
LOCAL_URL = "http://127.0.0.1:4566"
Write = Callable[[str], None]


# ---------------------------------------------------------------- where things are
@dataclass(frozen=True)
class Names:
    reports: str
    products: str
    customers: str
    orders: str
    bus: str
    archive: str


def local_names(template_path: Path = ROOT / "template.yaml") -> Names:
    """As the local cloud names them: tables by logical id, the bus and archive by their names."""
    from localcloud.sam_template import SamTemplate

    template = SamTemplate.load(template_path)
    resolver = template.resolver()
    archive = template.properties("SalesEventArchive").get("ArchiveName", "SalesEventArchive")
    return Names(
        reports="ReportsTable",
        products="ProductsTable",
        customers="CustomersTable",
        orders="OrdersTable",
        bus=resolver.event_bus_name("SalesEventBus", "Resources.SalesEventBus"),
        archive=str(resolver.resolve(archive, "Resources.SalesEventArchive.ArchiveName")),
    )


def stack_names(cloudformation: Any, stack: str) -> Names:
    """From a deployed stack's outputs."""
    (found,) = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in found.get("Outputs", [])}
    return Names(
        reports=outputs["ReportsTableName"],
        products=outputs["ProductsTableName"],
        customers=outputs["CustomersTableName"],
        orders=outputs["OrdersTableName"],
        bus=outputs["EventBusName"],
        archive=outputs["EventArchiveName"],
    )


# ---------------------------------------------------------------- the services' data as events
def _event(source: str, detail_type: str, item: Mapping[str, Any], data: Mapping[str, Any]) -> DomainEvent:
    version = int(item["version"])
    key = f"{source}|{item['id']}|{version}"
    return parse(
        {
            "source": source,
            "detail-type": detail_type,
            "detail": {
                "eventId": str(uuid.uuid5(REBUILD_NAMESPACE, key)),
                "occurredAt": str(item.get("updatedAt") or item.get("createdAt") or ""),
                "id": int(item["id"]),
                "version": version,
                "data": dict(data),
            },
        }
    )


def events_from_data(
    products: Iterable[Mapping[str, Any]],
    customers: Iterable[Mapping[str, Any]],
    orders: Iterable[Mapping[str, Any]],
) -> list[DomainEvent]:
    """Each entity as it is now, as one event of its current version (items as stored: only
    those with an `entity` are entities)."""
    orders = [o for o in orders if o.get("entity") == "order"]
    held: dict[int, int] = defaultdict(int)  # units orders hold out of each product's stock
    for order in orders:
        if order.get("status") != "CANCELLED":
            for line in order.get("items", []):
                held[int(line["productId"])] += int(line["quantity"])
    out = []
    for product in (p for p in products if p.get("entity") == "product"):
        in_flight = sum(int(v) for k, v in product.items() if k.startswith("hold_"))
        stock = int(product["stock"]) + in_flight + held[int(product["id"])]
        out.append(_event("sales.products", "ProductCreated", product, {**product, "stock": stock}))
    for customer in (c for c in customers if c.get("entity") == "customer"):
        out.append(_event("sales.customers", "CustomerCreated", customer, customer))
    out += [_event("sales.orders", "OrderPlaced", order, order) for order in orders]
    return out


# ---------------------------------------------------------------- what is compared
def view(items: Iterable[Mapping[str, Any]]) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    """A projection table's content as the reports show it: the non-zero sales rows, and the
    products and customers the reports know and that exist (not deleted)."""
    out: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    for item in items:
        kind = item.get("kind")
        if kind == "sales":
            figures = tuple(Decimal(item.get(k, 0)) for k in ("orders", "cancelled", "units", "revenue"))
            if any(figures):
                out[("sales", item["dim"], item["day"], item["key"])] = figures
        elif kind == "product" and int(item["rank"]) > 0 and not item.get("deleted"):
            listed = "listed" in item
            out[("product", int(item["productId"]))] = (
                item.get("name"),
                int(item["stock"]),
                int(item["threshold"]),
                item.get("status"),
                listed,
            )
        elif kind == "customer" and int(item["rank"]) > 0 and not item.get("deleted"):
            out[("customer", int(item["customerId"]))] = (item.get("name"),)
    return out


def differences(live: Mapping[Any, Any], rebuilt: Mapping[Any, Any]) -> list[str]:
    lines = []
    for key in sorted(set(live) | set(rebuilt), key=str):
        if live.get(key) != rebuilt.get(key):
            where = " ".join(str(k) for k in key)
            lines.append(f"{where}: live {_show(live.get(key))}, rebuilt {_show(rebuilt.get(key))}")
    return lines


def _show(value: tuple[Any, ...] | None) -> str:
    return "-" if value is None else "(" + ", ".join(str(v) for v in value) + ")"


# ---------------------------------------------------------------- the rebuild
@dataclass
class Rebuild:
    """Clients of one AWS account (or emulator), the stack's names, and where to report."""

    client: Callable[[str], Any]
    names: Names
    settings: ServiceSettings
    write: Write = print
    applied: int = 0
    duplicates: int = 0
    newest: str = ""
    table: str = ""
    refused: list[str] = field(default_factory=list)
    _projector: Projector | None = field(default=None, repr=False)

    # ------------------------------------------------------------ the fresh table
    def create_table(self) -> str:
        dynamodb = self.client("dynamodb")
        live = dynamodb.describe_table(TableName=self.names.reports)["Table"]
        self.table = f"{self.names.reports}-rebuild-{datetime.now(UTC):%Y%m%d%H%M%S}"
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeySchema": live["KeySchema"],
            "AttributeDefinitions": live["AttributeDefinitions"],
            "BillingMode": "PAY_PER_REQUEST",
        }
        indexes = [
            {k: i[k] for k in ("IndexName", "KeySchema", "Projection")} for i in live.get("GlobalSecondaryIndexes", [])
        ]
        if indexes:
            kwargs["GlobalSecondaryIndexes"] = indexes
        dynamodb.create_table(**kwargs)
        dynamodb.get_waiter("table_exists").wait(TableName=self.table)
        self.write(f"==> created {self.table} (the live projection is {self.names.reports})")
        settings = self.settings.model_copy(update={"TABLE_NAME": self.table})
        self._projector = Projector(ReportStore(settings), attempts=20)
        return self.table

    def apply_message(self, body: str) -> None:
        """An event as a queue delivers it; one that cannot be read is reported, not applied
        (the live projector dead-letters it too)."""
        try:
            event = parse(body)
        except ValueError as exc:
            self.refused.append(f"{body[:200]}: {exc}".replace("\n", " "))
            return
        self.apply(event)

    def apply(self, event: DomainEvent) -> None:
        assert self._projector is not None, "create_table() first"
        outcome = self._projector.apply(event)
        if outcome is Outcome.APPLIED:
            self.applied += 1
            self.newest = max(self.newest, event.occurred_at)
        elif outcome is Outcome.DUPLICATE:
            self.duplicates += 1
        if (self.applied + self.duplicates) % 200 == 0:
            self.write(f"    {self.applied} events applied, {self.duplicates} duplicates")

    def finish_applying(self) -> None:
        assert self._projector is not None
        if self.newest:
            self._projector.store.advance_as_of(self.newest)
        self.write(f"    {self.applied} events applied, {self.duplicates} duplicates")

    # ------------------------------------------------------------ sources
    def from_data(self) -> None:
        self.write(f"==> reading {self.names.products}, {self.names.customers}, {self.names.orders}")
        events = events_from_data(
            self.scan(self.names.products), self.scan(self.names.customers), self.scan(self.names.orders)
        )
        self.write(f"==> applying {len(events)} entities as events")
        for event in events:
            self.apply(event)
        self.finish_applying()

    def from_archive(self, quiet: float, timeout: float) -> Generator[None]:
        """Replay the archive into a subscription of our own; yields while it keeps draining
        (the caller compares in between), until the caller stops it."""
        events, sqs = self.client("events"), self.client("sqs")
        archive = events.describe_archive(ArchiveName=self.names.archive)
        name = f"reports-rebuild-{uuid.uuid4().hex[:8]}"
        with _subscription(events, sqs, self.names.bus, name) as (url, rule_arn):
            end = datetime.now(UTC)
            replay = events.start_replay(
                ReplayName=name,
                EventSourceArn=archive["ArchiveArn"],
                EventStartTime=archive["CreationTime"],
                EventEndTime=end,
                Destination={"Arn": archive["EventSourceArn"], "FilterArns": [rule_arn]},
            )
            self.write(f"==> replaying {self.names.archive} (events until {end:%Y-%m-%d %H:%M:%S}Z) into {name}")
            self._drain(events, sqs, url, replay["ReplayArn"].rsplit("/", 1)[-1], quiet, timeout)
            self.finish_applying()
            while True:
                yield
                self._drain(events, sqs, url, None, quiet, timeout)
                self.finish_applying()

    def _drain(self, events: Any, sqs: Any, url: str, replay: str | None, quiet: float, timeout: float) -> None:
        deadline, idle_since = time.monotonic() + timeout, time.monotonic()
        done = replay is None
        while time.monotonic() < deadline:
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
            for message in messages:
                self.apply_message(message["Body"])
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            now = time.monotonic()
            if messages:
                idle_since = now
            if not done:
                state = events.describe_replay(ReplayName=replay)["State"]
                if state in ("FAILED", "CANCELLED"):
                    raise RuntimeError(f"the replay {replay} ended {state}")
                done = state == "COMPLETED"
            if done and not messages and now - idle_since >= quiet:
                return
        raise TimeoutError(f"the rebuild queue did not go quiet within {timeout:.0f} s")

    # ------------------------------------------------------------ comparing
    def scan(self, table: str) -> Iterator[dict[str, Any]]:
        paginator = self.client("dynamodb").get_paginator("scan")
        for page in paginator.paginate(TableName=table, ConsistentRead=True):
            yield from (from_item(item) for item in page.get("Items", []))

    def compare(self) -> list[str]:
        return differences(view(self.scan(self.names.reports)), view(self.scan(self.table)))

    def drop_table(self) -> None:
        self.client("dynamodb").delete_table(TableName=self.table)
        self.write(f"==> deleted {self.table}")


@contextlib.contextmanager
def _subscription(events: Any, sqs: Any, bus: str, name: str) -> Iterator[tuple[str, str]]:
    """A queue and a rule on `bus` sending it the events the reports use (live and replayed)."""
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    rule_arn = ""
    try:
        queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        rule_arn = events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps({"source": list(SOURCES)}))[
            "RuleArn"
        ]
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": queue_arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
                }
            ],
        }
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
        events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "rebuild", "Arn": queue_arn}])
        yield url, rule_arn
    finally:
        if rule_arn:
            with contextlib.suppress(Exception):
                events.remove_targets(Rule=name, EventBusName=bus, Ids=["rebuild"])
                events.delete_rule(Name=name, EventBusName=bus)
        with contextlib.suppress(Exception):
            sqs.delete_queue(QueueUrl=url)


def run(rebuild: Rebuild, source: str, keep: bool, settle: float, quiet: float, timeout: float) -> int:
    rebuild.create_table()
    differ: list[str] = []
    try:
        if source == "data":
            rebuild.from_data()
            rebuild.write("==> comparing")
            differ = rebuild.compare()
        else:
            draining = rebuild.from_archive(quiet, timeout)
            next(draining)
            rebuild.write("==> comparing")
            differ = rebuild.compare()
            deadline = time.monotonic() + settle
            while differ and time.monotonic() < deadline:  # events in flight may still reach one of them
                rebuild.write(f"    {len(differ)} difference(s); draining again before comparing")
                next(draining)
                differ = rebuild.compare()
            draining.close()
    finally:
        if not keep and not differ:
            rebuild.drop_table()
    for line in rebuild.refused:
        rebuild.write(f"  not an event, not applied: {line}")
    for line in differ:
        rebuild.write(f"  {line}")
    if differ:
        rebuild.write(f"{len(differ)} difference(s) between {rebuild.names.reports} and {rebuild.table} (kept)")
        return 1
    rebuild.write(f"no differences: {rebuild.names.reports} is what the {source} says")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.reports_rebuild", description=__doc__.split("\n")[0])
    parser.add_argument("--stack", help="a deployed stack (its outputs name the tables, bus and archive)")
    parser.add_argument(
        "--aws-url", default=None, help=f"an emulator's endpoint (default without --stack: {LOCAL_URL})"
    )
    parser.add_argument("--region", default=None, help="the AWS region (default: your configuration's)")
    parser.add_argument(
        "--from",
        dest="source",
        choices=["data", "archive"],
        default=None,
        help="rebuild from the services' data or the bus's archive (default: archive with --stack, else data)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the rebuilt table")
    parser.add_argument("--settle", type=float, default=60.0, help="seconds to wait for differences to go away")
    parser.add_argument("--quiet", type=float, default=5.0, help="seconds of an empty queue that end a replay")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds a replay may take")
    args = parser.parse_args(argv)

    import boto3

    url = None if args.stack else (args.aws_url or LOCAL_URL)
    region = args.region or ("us-east-1" if url else None)
    if url:  # an emulator: any credentials do
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            os.environ.setdefault(key, "testing")
    session = boto3.session.Session(region_name=region)

    def client(service: str) -> Any:
        return session.client(service, endpoint_url=url)  # type: ignore[call-overload]

    names = stack_names(client("cloudformation"), args.stack) if args.stack else local_names()
    settings = ServiceSettings(TABLE_NAME=names.reports, AWS_ENDPOINT_URL=url, AWS_REGION=session.region_name)
    source = args.source or ("archive" if args.stack else "data")
    return run(Rebuild(client, names, settings), source, args.keep, args.settle, args.quiet, args.timeout)


if __name__ == "__main__":
    sys.exit(main())
