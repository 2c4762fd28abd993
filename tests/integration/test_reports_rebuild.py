"""Rebuilding the reports from scratch (tools/reports_rebuild.py, `make reports-rebuild`), on moto:
from the services' data and from the bus's archive (moto replays it), the rebuilt projection
equals the live one; and a live projection that went wrong is caught, row by row."""

from __future__ import annotations

from decimal import Decimal

import boto3
import pytest

from sales_common.settings import ServiceSettings
from tests.support.reports import EventPath
from tools import reports_rebuild
from tools.reports_rebuild import Rebuild, local_names, run

pytestmark = pytest.mark.protocol  # the protocol tier: `make test-protocol` (docs/testing.md, "Tiers")


@pytest.fixture
def shop(api, cloud, monkeypatch):
    """Products, customers and orders in every state, projected live."""
    import orders.placement

    path = EventPath(cloud)
    laptop = api.post("/api/products", {"name": "Laptop", "price": Decimal("999.99"), "stock": 10}).json["id"]
    cable = api.post("/api/products", {"name": "Cable", "price": Decimal("4.99"), "stock": 3}).json["id"]
    spare = api.post("/api/products", {"name": "Spare", "price": 1, "stock": 1}).json["id"]
    ann = api.post("/api/customers", {"name": "Ann", "email": "ann@example.com"}).json["id"]
    bob = api.post("/api/customers", {"name": "Bob", "email": "bob@example.com"}).json["id"]
    gone = api.post("/api/customers", {"name": "Gone", "email": "gone@example.com"}).json["id"]
    for day, customer, lines, then in [
        ("2026-05-01", ann, [(laptop, 2), (cable, 1)], "SHIPPED"),
        ("2026-05-01", bob, [(cable, 1)], "CANCELLED"),
        ("2026-05-02", bob, [(laptop, 1)], None),
        ("2026-05-02", ann, [(cable, 1)], "DELETE"),
    ]:
        monkeypatch.setattr(orders.placement, "now_iso", lambda day=day: f"{day}T08:00:00.000Z")
        body = {"customerId": customer, "items": [{"productId": p, "quantity": q} for p, q in lines]}
        placed = api.post("/api/orders", body).json["id"]
        if then == "DELETE":
            assert api.delete(f"/api/orders/{placed}").status == 204
        elif then:
            assert api.put(f"/api/orders/{placed}", {"status": then}).status == 200
    api.post(f"/api/products/{laptop}/stock-adjustments", {"delta": 5, "reason": "received"})
    api.put(f"/api/customers/{bob}", {"name": "Robert"})
    assert api.delete(f"/api/products/{spare}").status == 204
    assert api.delete(f"/api/customers/{gone}").status == 204
    path.sync()
    return path


def rebuild(lines):
    client = {name: boto3.client(name, region_name="us-east-1") for name in ("dynamodb", "events", "sqs")}
    names = local_names()
    return Rebuild(client.__getitem__, names, ServiceSettings(TABLE_NAME=names.reports), write=lines.append)


@pytest.mark.parametrize("source", ["data", "archive"])
def test_the_rebuild_equals_the_live_projection(shop, source):
    lines: list[str] = []
    status = run(rebuild(lines), source, keep=True, settle=0, quiet=0, timeout=60)
    assert status == 0, "\n".join(lines)
    assert lines[-1] == f"no differences: ReportsTable is what the {source} says"
    rebuilt = next(line.split()[2] for line in lines if line.startswith("==> created"))
    live, fresh = reports_rebuild.view(_scan("ReportsTable")), reports_rebuild.view(_scan(rebuilt))
    assert live == fresh
    # day 1: the day, Ann, Bob, laptop, cable; day 2: the day, Bob, laptop (Ann's order was deleted)
    assert len([k for k in live if k[0] == "sales"]) == 8
    assert live[("product", 1)] == ("Laptop", 10 - 2 + 5 - 1, 5, "ACTIVE", True)  # status: from its events
    assert ("product", 3) not in live and ("customer", 3) not in live  # deleted


def test_a_live_projection_that_went_wrong_is_caught(shop, cloud):
    dynamodb = cloud.dynamodb
    dynamodb.update_item(  # a counter some bug double-counted
        TableName="ReportsTable",
        Key={"pk": {"S": "SALES#PRODUCT#2026-05"}, "sk": {"S": "2026-05-01#1"}},
        UpdateExpression="ADD units :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
    )
    dynamodb.delete_item(TableName="ReportsTable", Key={"pk": {"S": "CUSTOMER#2"}, "sk": {"S": "STATE"}})
    lines: list[str] = []
    status = run(rebuild(lines), "data", keep=False, settle=0, quiet=0, timeout=60)
    assert status == 1
    assert "  sales product 2026-05-01 1: live (1, 0, 3, 1999.98), rebuilt (1, 0, 2, 1999.98)" in lines
    assert "  customer 2: live -, rebuilt (Robert)" in lines
    assert lines[-1].startswith("2 difference(s) between ReportsTable and ReportsTable-rebuild-")


def test_the_services_data_as_events_count_stock_held_in_flight_and_no_placement_record():
    products = [{"entity": "product", "id": 1, "version": 4, "name": "A", "price": 1, "stock": 3, "hold_9": 2}]
    orders = [
        {"entity": "order", "id": 5, "version": 1, "customerId": 1, "status": "CONFIRMED", "total": 2,
         "createdAt": "2026-05-01T00:00:00.000Z", "items": [{"productId": 1, "quantity": 2, "lineTotal": 2}]},
        {"entity": "order", "id": 6, "version": 2, "customerId": 1, "status": "CANCELLED", "total": 1,
         "createdAt": "2026-05-01T00:00:00.000Z", "items": [{"productId": 1, "quantity": 1, "lineTotal": 1}]},
        {"pk": "COUNTER#ORDER", "lastId": 6},
        {"pk": "PLACEMENT#5", "orderId": 5, "createdAt": "2026-05-01T00:00:00.000Z", "outcome": "PLACED",
         "lines": [{"productId": 1, "quantity": 2}]},
        {"pk": "PLACEMENT#7", "orderId": 7, "createdAt": "2026-05-01T00:00:00.000Z", "pending": "HOLDS",
         "pendingSince": "2026-05-01T00:00:00.000Z", "lines": [{"productId": 1, "quantity": 2}]},
    ]  # fmt: skip
    events = reports_rebuild.events_from_data(products, [], orders)
    assert [(e.detail_type, e.detail.id, e.detail.version) for e in events] == [
        ("ProductCreated", 1, 4),
        ("OrderPlaced", 5, 1),
        ("OrderPlaced", 6, 2),
    ]
    # 3 in stock + 2 held by a placement in flight + 2 the confirmed order holds (its event takes them again)
    assert events[0].product().stock == 7


def _scan(table):
    client = boto3.client("dynamodb", region_name="us-east-1")
    return [reports_rebuild.from_item(i) for i in client.scan(TableName=table)["Items"]]
