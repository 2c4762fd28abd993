"""The reports, from the API's writes through the domain events to the report routes, in-process
over moto (tests/support/reports.py): every row and total exact, in JSON and in CSV; low stock
entering and leaving; bad input; and the projector's delivery guarantees (duplicates, any order,
a poison message)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from tests.support import reports as support
from tests.support.reports import EventPath

ADMIN = "admin-user"


@pytest.fixture
def path(cloud):
    return EventPath(cloud)


@pytest.fixture
def on_day(monkeypatch):
    """Orders placed from now on are placed on `day` (the server's clock, moved)."""
    import orders.placement

    def move(day: str) -> None:
        monkeypatch.setattr(orders.placement, "now_iso", lambda: f"{day}T10:00:00.000Z")

    return move


def product(api, name, price, stock, threshold=None):
    body = {"name": name, "price": price, "stock": stock}
    if threshold is not None:
        body["lowStockThreshold"] = threshold
    reply = api.post("/api/products", body)
    assert reply.status == 201, reply.raw
    return reply.json["id"]


def customer(api, name):
    reply = api.post("/api/customers", {"name": name, "email": f"{name.lower()}@example.com"})
    assert reply.status == 201, reply.raw
    return reply.json["id"]


def order(api, customer_id, *lines):
    reply = api.post(
        "/api/orders", {"customerId": customer_id, "items": [{"productId": p, "quantity": q} for p, q in lines]}
    )
    assert reply.status == 201, reply.raw
    return reply.json["id"]


def status(api, order_id, value):
    assert api.put(f"/api/orders/{order_id}", {"status": value}).status == 200


def report(api, **query):
    reply = api.get("/api/reports/sales", query=query)
    assert reply.status == 200, reply.raw
    return reply.json


@pytest.fixture
def shop(api, path, on_day):
    """Three days of a shop: orders placed, one cancelled, some shipped and delivered, one deleted."""
    laptop = product(api, "Laptop", Decimal("999.99"), 10)
    mouse = product(api, "Mouse", Decimal("19.50"), 50)
    cable = product(api, "Cable", Decimal("4.99"), 20)
    ann, bob = customer(api, "Ann"), customer(api, "Bob")
    on_day("2026-03-01")
    order(api, ann, (laptop, 2), (mouse, 1))  # 2019.48
    first_bob = order(api, bob, (mouse, 3))  # 58.50
    on_day("2026-03-02")
    cancelled = order(api, ann, (laptop, 1))  # 999.99, cancelled
    status(api, cancelled, "CANCELLED")
    shipped = order(api, bob, (cable, 5))  # 24.95, shipped
    status(api, shipped, "SHIPPED")
    on_day("2026-03-03")
    delivered = order(api, bob, (laptop, 1))  # 999.99, delivered
    status(api, delivered, "SHIPPED")
    status(api, delivered, "DELIVERED")
    deleted = order(api, ann, (cable, 2))  # deleted: it no longer counts anywhere
    assert api.delete(f"/api/orders/{deleted}").status == 204
    status(api, first_bob, "SHIPPED")
    path.sync()
    return {"laptop": laptop, "mouse": mouse, "cable": cable, "ann": ann, "bob": bob}


RANGE = {"from": "2026-03-01", "to": "2026-03-03"}


def test_sales_every_row_and_total_exact_by_day_product_and_customer_in_json_and_csv(api, shop):
    _by_day(api)
    _by_product_and_customer(api, shop)
    _ranges(api)
    _csv(api, shop)


def _by_day(api):
    body = report(api, **RANGE, groupBy="day")
    assert {k: body[k] for k in ("from", "to", "groupBy")} == {**RANGE, "groupBy": "day"}
    assert body["rows"] == [
        {"key": "2026-03-01", "name": None, "orders": 2, "cancelled": 0, "units": 6, "revenue": 2077.98},
        {"key": "2026-03-02", "name": None, "orders": 2, "cancelled": 1, "units": 5, "revenue": 24.95},
        {"key": "2026-03-03", "name": None, "orders": 1, "cancelled": 0, "units": 1, "revenue": 999.99},
    ]
    assert body["totals"] == {"orders": 5, "cancelled": 1, "units": 12, "revenue": 3102.92}
    assert body["asOf"] is not None and body["asOf"].endswith("Z")


def _by_product_and_customer(api, shop):
    """Net of the cancellation: the cancelled laptop counts as an order, cancelled, without units
    or revenue; the deleted order counts nowhere."""
    by_product = report(api, **RANGE, groupBy="product")
    assert by_product["rows"] == [
        {"key": str(shop["laptop"]), "name": "Laptop", "orders": 3, "cancelled": 1, "units": 3, "revenue": 2999.97},
        {"key": str(shop["mouse"]), "name": "Mouse", "orders": 2, "cancelled": 0, "units": 4, "revenue": 78},
        {"key": str(shop["cable"]), "name": "Cable", "orders": 1, "cancelled": 0, "units": 5, "revenue": 24.95},
    ]
    by_customer = report(api, **RANGE, groupBy="customer")
    assert by_customer["rows"] == [
        {"key": str(shop["ann"]), "name": "Ann", "orders": 2, "cancelled": 1, "units": 3, "revenue": 2019.48},
        {"key": str(shop["bob"]), "name": "Bob", "orders": 3, "cancelled": 0, "units": 9, "revenue": 1083.44},
    ]
    # the totals are the range's orders, whatever the grouping
    totals = {"orders": 5, "cancelled": 1, "units": 12, "revenue": 3102.92}
    assert by_product["totals"] == by_customer["totals"] == totals


def _ranges(api):
    day_two = report(api, **{"from": "2026-03-02", "to": "2026-03-02"}, groupBy="customer")
    assert [(r["name"], r["orders"], r["cancelled"], r["units"], r["revenue"]) for r in day_two["rows"]] == [
        ("Bob", 1, 0, 5, 24.95),
        ("Ann", 1, 1, 0, 0),
    ]
    assert day_two["totals"] == {"orders": 2, "cancelled": 1, "units": 5, "revenue": 24.95}
    empty = report(api, **{"from": "2026-02-01", "to": "2026-02-28"})
    assert (empty["rows"], empty["totals"]) == ([], {"orders": 0, "cancelled": 0, "units": 0, "revenue": 0})


def _csv(api, shop):
    reply = api.get("/api/reports/sales", query={**RANGE, "groupBy": "product"}, headers={"Accept": "text/csv"})
    assert reply.status == 200
    assert reply.header("Content-Type").startswith("text/csv")
    assert reply.header("Content-Disposition") == (
        'attachment; filename="sales-by-product-2026-03-01-to-2026-03-03.csv"'
    )
    assert reply.raw == (
        "key,name,orders,cancelled,units,revenue\r\n"
        f"{shop['laptop']},Laptop,3,1,3,2999.97\r\n"
        f"{shop['mouse']},Mouse,2,0,4,78.00\r\n"
        f"{shop['cable']},Cable,1,0,5,24.95\r\n"
        "total,,5,1,12,3102.92\r\n"
    )
    by_day = api.get("/api/reports/sales", query=RANGE, headers={"Accept": "text/csv;q=0.9, application/json;q=0.5"})
    assert by_day.raw.splitlines() == [
        "key,name,orders,cancelled,units,revenue",
        "2026-03-01,,2,0,6,2077.98",
        "2026-03-02,,2,1,5,24.95",
        "2026-03-03,,1,0,1,999.99",
        "total,,5,1,12,3102.92",
    ]
    # JSON unless CSV is preferred
    for accept in ("application/json", "*/*", "application/json, text/csv", "text/html"):
        reply = api.get("/api/reports/sales", query=RANGE, headers={"Accept": accept})
        assert reply.header("Content-Type") == "application/json", accept


def test_names_as_last_seen_and_an_erased_or_deleted_customer_keeps_no_name(api, path, on_day):
    mouse, cable = product(api, "Mouse", 20, 9), product(api, "Cable", 5, 9)
    ann = customer(api, "Ann")
    on_day("2026-03-01")
    order(api, ann, (mouse, 1), (cable, 2))
    assert api.put(f"/api/products/{mouse}", {"name": "Mouse Pro"}).status == 200
    assert api.put(f"/api/customers/{ann}", {"name": "Ann Smith"}).status == 200
    path.sync()
    day = {"from": "2026-03-01", "to": "2026-03-01"}
    assert [r["name"] for r in report(api, **day, groupBy="product")["rows"]] == ["Mouse Pro", "Cable"]
    assert [r["name"] for r in report(api, **day, groupBy="customer")["rows"]] == ["Ann Smith"]

    # erasure (a customer with orders): the name goes, the sales stay under the id
    assert api.post(f"/api/customers/{ann}/erasure", {}).status == 200
    # deletion (a customer no order refers to)
    lone = customer(api, "Carol")
    assert api.delete(f"/api/customers/{lone}").status == 204
    path.sync()
    erased = support.row_of(path.cloud, "CUSTOMER", ann)
    assert erased.get("name") is None  # personal data: gone with the erasure
    [row] = report(api, **day, groupBy="customer")["rows"]
    assert (row["key"], row["name"]) == (str(ann), None)
    deleted = support.row_of(path.cloud, "CUSTOMER", lone)
    assert "name" not in deleted and deleted["deleted"] is True  # personal data: gone with the customer


# ---------------------------------------------------------------- low stock
def low(api, **query):
    reply = api.get("/api/reports/low-stock", query=query or None)
    assert reply.status == 200, reply.raw
    return [(i["productId"], i["stock"]) for i in reply.json]


def test_low_stock_entering_and_leaving(api, path):
    laptop = product(api, "Laptop", 999, 10, threshold=5)
    mouse = product(api, "Mouse", 20, 3, threshold=5)  # created low
    ann = customer(api, "Ann")
    path.sync()
    assert low(api) == [(mouse, 3)]

    api.post(f"/api/products/{laptop}/stock-adjustments", {"delta": -4, "reason": "damaged"})  # 6
    path.sync()
    assert low(api) == [(mouse, 3)]
    placed = order(api, ann, (laptop, 2))  # 4: an order takes it down
    path.sync()
    assert low(api) == [(mouse, 3), (laptop, 4)]
    status(api, placed, "CANCELLED")  # 6: the cancellation gives it back
    path.sync()
    assert low(api) == [(mouse, 3)]
    api.post(f"/api/products/{laptop}/stock-adjustments", {"delta": -5, "reason": "lost"})  # 1
    path.sync()
    assert low(api) == [(laptop, 1), (mouse, 3)]
    current = api.get(f"/api/products/{laptop}").json
    reply = api.put(f"/api/products/{laptop}", {"stock": 40}, headers={"If-Match": f'"{current["version"]}"'})
    assert reply.status == 200  # restocked by a PUT: leaves
    api.put(f"/api/products/{mouse}", {"lowStockThreshold": 2})  # 3 > 2: leaves
    path.sync()
    assert low(api) == []
    assert low(api, threshold=40) == [(mouse, 3), (laptop, 40)]
    assert low(api, threshold=3) == [(mouse, 3)]
    assert api.delete(f"/api/products/{mouse}").status == 204  # deleted: leaves every list
    path.sync()
    assert low(api, threshold=1000) == [(laptop, 40)]
    assert api.get(f"/api/products/{laptop}").json["stock"] == 40


def test_an_archived_product_leaves_the_low_stock_report_and_comes_back_restored(api, path):
    """Issue 24's archive, through the events: an archived product is not listed, a restored one is."""
    mouse = product(api, "Mouse", 20, 3, threshold=5)
    cable = product(api, "Cable", 5, 1, threshold=5)
    path.sync()
    assert low(api) == [(cable, 1), (mouse, 3)]
    assert api.put(f"/api/products/{mouse}", {"status": "ARCHIVED"}).status == 200
    path.sync()
    assert low(api) == [(cable, 1)]
    assert api.put(f"/api/products/{mouse}", {"status": "ACTIVE"}).status == 200
    path.sync()
    assert low(api) == [(cable, 1), (mouse, 3)]


def test_low_stock_pages_and_csv(api, path):
    ids = [product(api, f"P{i}", 5, stock, threshold=10) for i, stock in enumerate([4, 1, 7, 1, 0])]
    path.sync()
    first = api.get("/api/reports/low-stock", query={"limit": 2})
    assert [(i["productId"], i["stock"]) for i in first.json] == [(ids[4], 0), (ids[1], 1)]
    link = first.header("Link")
    assert link and link.endswith('rel="next"')
    cursor = link.split("cursor=")[1].split(">")[0]
    second = api.get("/api/reports/low-stock", query={"limit": 2, "cursor": cursor})
    assert [(i["productId"], i["stock"]) for i in second.json] == [(ids[3], 1), (ids[0], 4)]
    assert second.json[0] == {"productId": ids[3], "name": "P3", "stock": 1, "lowStockThreshold": 10}
    # a cursor is bound to its threshold
    other = api.get("/api/reports/low-stock", query={"threshold": 5, "limit": 2, "cursor": cursor})
    assert other.status == 400

    reply = api.get("/api/reports/low-stock", query={"threshold": 4}, headers={"Accept": "text/csv"})
    assert reply.header("Content-Disposition") == 'attachment; filename="low-stock-4.csv"'
    assert reply.raw == (
        "productId,name,stock,lowStockThreshold\r\n"
        f"{ids[4]},P4,0,10\r\n{ids[1]},P1,1,10\r\n{ids[3]},P3,1,10\r\n{ids[0]},P0,4,10\r\n"
    )


def test_a_name_a_spreadsheet_would_run_is_quoted_as_text(api, path):
    formula = product(api, '=HYPERLINK("http://x","a, b")', 5, 1)
    path.sync()
    reply = api.get("/api/reports/low-stock", headers={"Accept": "text/csv"})
    assert reply.raw.splitlines()[1] == f'{formula},"\'=HYPERLINK(""http://x"",""a, b"")",1,5'


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"groupBy": "week"}, "groupBy"),
        ({"from": "2026-13-01"}, "from"),
        ({"from": "2026-02-30"}, "from"),
        ({"to": "yesterday"}, "to"),
        ({"from": "20260101"}, "from"),
        ({"from": "2026-03-02", "to": "2026-03-01"}, "from"),
        ({"from": "2025-01-01", "to": "2026-01-02"}, "to"),  # 367 days
    ],
)
def test_bad_sales_parameters_are_a_400_naming_the_parameter(api, query, field):
    reply = api.get("/api/reports/sales", query=query)
    assert reply.status == 400, reply.raw
    assert reply.header("Content-Type") == "application/problem+json"
    assert reply.json["title"] == "Invalid request parameters"
    assert [e["field"] for e in reply.json["errors"]] == [field]


def test_the_longest_range_is_366_days_and_the_default_the_last_30(api):
    assert api.get("/api/reports/sales", query={"from": "2024-01-01", "to": "2024-12-31"}).status == 200  # leap
    assert api.get("/api/reports/sales", query={"from": "2025-01-01", "to": "2026-01-01"}).status == 200
    body = api.get("/api/reports/sales").json
    from datetime import date

    assert (date.fromisoformat(body["to"]) - date.fromisoformat(body["from"])).days == 29
    assert body["groupBy"] == "day" and body["rows"] == [] and body["asOf"] is None


@pytest.mark.parametrize("threshold", ["-1", "1.5", "+2", "x", "1000000001"])
def test_a_bad_threshold_is_a_400_naming_it(api, threshold):
    reply = api.get("/api/reports/low-stock", query={"threshold": threshold})
    assert reply.status == 400, reply.raw
    assert [e["field"] for e in reply.json["errors"]] == ["threshold"]


# ---------------------------------------------------------------- delivery
def test_a_message_that_is_no_event_is_reported_failed_and_the_rest_applied(api, cloud, path):
    product(api, "Laptop", 5, 1)
    path.mappings.drain()
    url = cloud.queues["ReportsQueue"]
    cloud.sqs.send_message(QueueUrl=url, MessageBody='{"detail-type": "OrderPlaced", "detail": {"id": "x"}}')
    from tests.support import queues

    messages = queues.receive(cloud.sqs, url)
    assert len(messages) == 2
    result = queues.deliver(cloud.sqs, url, messages, "ReportsQueue")
    poison = next(m["MessageId"] for m in messages if "detail-type" in m["Body"] and '"x"' in m["Body"])
    assert result["batchItemFailures"] == [{"itemIdentifier": poison}]
    assert low(api) == [(1, 1)]


def test_the_projector_records_how_far_behind_it_is(api, path, capsys):
    """ReportsLag (what ReportsLagAlarm watches): seconds from when an event occurred to when it
    was applied, the largest of each batch, in the namespace and with the dimension the alarm names."""
    from datetime import UTC, datetime

    product(api, "Laptop", 5, 1)
    path.mappings.drain()
    capsys.readouterr()
    path.sync()
    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"ReportsLag"' in line]
    (emf,) = metrics
    (declared,) = emf["_aws"]["CloudWatchMetrics"]
    assert declared["Dimensions"] == [["service"]] and emf["service"] == "reports"
    assert {"Name": "ReportsLag", "Unit": "Seconds"} in declared["Metrics"]
    created = datetime.fromisoformat(api.get("/api/products/1").json["createdAt"])
    (lag,) = emf["ReportsLag"]
    assert 0 <= lag <= (datetime.now(UTC) - created).total_seconds()
    assert emf["ReportEventsApplied"] == [1.0]


def test_the_sample_sqs_event_is_applied(cloud):
    """events/reports/project_reports.json (for `sam local invoke ProjectReportsFunction -e ...`)."""
    from tests.support import apigw

    event = json.loads((apigw.ROOT / "events" / "reports" / "project_reports.json").read_text())
    assert apigw.invoke(apigw.function("ProjectReportsFunction"), event) == {"batchItemFailures": []}
    rows = report(apigw.Api(), **{"from": "2026-12-01", "to": "2026-12-01"})
    assert rows["totals"] == {"orders": 1, "cancelled": 0, "units": 2, "revenue": 1999.98}
