"""`make events` (localcloud.events_tail): a subscription of its own on the bus, one line per event,
and nothing left behind."""

from __future__ import annotations

import json
import threading

import boto3
import pytest
from moto import mock_aws

from localcloud import events_tail

BUS = "sales-events-dev"


def detail(**extra):
    return {"eventId": "e", "occurredAt": "2026-12-01T10:42:07.120Z", "actor": "ann", "id": 7, "version": 2, **extra}


@pytest.mark.parametrize(
    ("source", "detail_type", "extra", "summary"),
    [
        (
            "sales.products",
            "ProductCreated",
            {"data": {"name": "Laptop", "price": 999.99, "stock": 10}},
            "Laptop, 999.99, stock 10",
        ),
        (
            "sales.products",
            "StockAdjusted",
            {"delta": -2, "reason": "damaged", "data": {"stock": 8}},
            "-2 (damaged), stock 8",
        ),
        ("sales.products", "StockLow", {"stock": 3, "threshold": 5, "data": {}}, "stock 3 <= threshold 5"),
        (
            "sales.customers",
            "CustomerUpdated",
            {"data": {"name": "Ann", "email": "a@example.com"}},
            "Ann <a@example.com>",
        ),
        (
            "sales.orders",
            "OrderStatusChanged",
            {"from": "CONFIRMED", "to": "SHIPPED", "data": {}},
            "CONFIRMED -> SHIPPED",
        ),
        (
            "sales.orders",
            "OrderPlaced",
            {"data": {"customerId": 3, "items": [{}, {}], "total": 12.5, "status": "CONFIRMED"}},
            "customer 3, 2 line(s), total 12.5, CONFIRMED",
        ),
    ],
)
def test_one_readable_line_per_event(source, detail_type, extra, summary):
    text = events_tail.line({"source": source, "detail-type": detail_type, "detail": detail(**extra)})
    entity = source.removeprefix("sales.").removesuffix("s")
    assert text.startswith(f"10:42:07.120  {detail_type}")
    assert f"{entity} 7 v2" in text and "by ann" in text and text.endswith(summary)


def test_the_bus_is_the_templates():
    assert events_tail.template_bus("template.yaml") == BUS


def test_it_follows_the_bus_and_removes_its_subscription_when_stopped():
    with mock_aws():
        events, sqs = boto3.client("events", region_name="us-east-1"), boto3.client("sqs", region_name="us-east-1")
        events.create_event_bus(Name=BUS)
        printed: list[str] = []
        stop = threading.Event()
        with events_tail.Subscription(events, sqs, BUS, "tail-test") as subscription:
            events.put_events(
                Entries=[
                    {
                        "Source": "sales.products",
                        "DetailType": "StockLow",
                        "EventBusName": BUS,
                        "Detail": json.dumps(detail(stock=1, threshold=2)),
                    },
                    {"Source": "elsewhere", "DetailType": "Other", "EventBusName": BUS, "Detail": "{}"},
                ]
            )

            def write(text: str) -> None:
                printed.append(text)
                stop.set()

            assert events_tail.follow(subscription, stop, write) == 1
        assert printed[0].endswith("stock 1 <= threshold 2")
        assert [r["Name"] for r in events.list_rules(EventBusName=BUS)["Rules"]] == []
        assert sqs.list_queues().get("QueueUrls", []) == []


def test_without_a_running_local_cloud_it_says_so(capsys):
    assert events_tail.main(["--aws-url", "http://127.0.0.1:9", "--bus", BUS]) == 1
    assert "is `make dev` running?" in capsys.readouterr().err
