"""`make migrate` (tools/migrations/record_integrity.py) on records stored before issue 24:
products get a status and their place in the status lists, old audit records join the stock
history (after every new one), what existing orders refer to can no longer be deleted, and a
second run changes nothing. (Its email-lock step: tests/integration/test_email_identity.py.)"""

from __future__ import annotations

import pytest

from tools.migrations.record_integrity import Report, Tables, main, migrate, migrate_product_lists


def put(cloud, table, item):
    typed = {
        k: {"N": str(v)} if isinstance(v, int) else {"L": v} if isinstance(v, list) else {"S": v}
        for k, v in item.items()
    }
    cloud.dynamodb.put_item(TableName=cloud.tables[table], Item=typed)


def line(product_id, quantity=1):
    return {
        "M": {
            "productId": {"N": str(product_id)},
            "name": {"S": f"P{product_id}"},
            "unitPrice": {"N": "2"},
            "quantity": {"N": str(quantity)},
            "lineTotal": {"N": str(2 * quantity)},
        }
    }


@pytest.fixture
def legacy(cloud):
    """Products 1-3, customer 1, orders 1 (customer 1: products 1 and 2) and 2 (product 9, since
    deleted), and three audit records of product 1: all as the code before issue 24 wrote them."""
    stamp = "2026-01-01T00:00:00.000Z"
    for pid in (1, 2, 3):
        put(cloud, "ProductsTable", {"pk": f"PRODUCT#{pid}", "entity": "product", "id": pid, "version": 1,
                                     "name": f"P{pid}", "price": 2, "stock": 10, "createdAt": stamp, "updatedAt": stamp})  # fmt: skip
    put(cloud, "ProductsTable", {"pk": "COUNTER#PRODUCT", "lastId": 3})
    for n, (delta, reason) in enumerate([(5, "first"), (-1, "second"), (2, "third")]):
        put(cloud, "ProductsTable", {"pk": f"STOCKADJ#1#uuid-{n}", "adjustmentId": f"uuid-{n}", "productId": 1,
                                     "delta": delta, "reason": reason, "createdAt": f"2026-01-0{n + 2}T00:00:00.000Z",
                                     "createdBy": "old-admin"})  # fmt: skip
    put(cloud, "CustomersTable", {"pk": "CUSTOMER#1", "entity": "customer", "id": 1, "version": 1, "name": "Ann",
                                  "email": "ann@example.com", "createdAt": stamp, "updatedAt": stamp})  # fmt: skip
    put(cloud, "CustomersTable", {"pk": "EMAIL#ann@example.com", "customerId": 1})
    put(cloud, "CustomersTable", {"pk": "COUNTER#CUSTOMER", "lastId": 1})
    for oid, items in ((1, [line(1), line(2)]), (2, [line(9)])):
        put(cloud, "OrdersTable", {"pk": f"ORDER#{oid}", "entity": "order", "id": oid, "version": 1, "customerId": 1,
                                   "status": "CONFIRMED", "items": items, "total": 4, "createdAt": stamp,
                                   "updatedAt": stamp})  # fmt: skip
    put(cloud, "OrdersTable", {"pk": "COUNTER#ORDER", "lastId": 2})
    put(cloud, "OrdersTable", {"pk": "PLACEMENT#7", "orderId": 7, "createdAt": stamp, "lines": [],
                               "pending": "HOLDS", "pendingSince": stamp})  # fmt: skip
    return Tables(*(cloud.tables[t] for t in ("ProductsTable", "CustomersTable", "OrdersTable")))


def run(cloud, tables):
    printed: list[str] = []
    return migrate(cloud.dynamodb, tables, out=printed.append), printed


def test_before_the_migration_older_products_are_missing_from_the_status_lists(api, legacy):
    assert api.get("/api/products").json == []
    assert [p["id"] for p in api.get("/api/products", query={"status": "ALL"}).json] == [1, 2, 3]
    assert api.get("/api/products/1").json["status"] == "ACTIVE"


def test_the_migration_lists_products_by_status(api, cloud, legacy):
    report, printed = run(cloud, legacy)
    assert report.counts["products listed by status"] == 3
    assert [p["id"] for p in api.get("/api/products").json] == [1, 2, 3]
    assert api.put("/api/products/2", {"status": "ARCHIVED"}).status == 200
    assert [p["id"] for p in api.get("/api/products").json] == [1, 3]
    assert "==> product lists" in printed


def test_the_migration_puts_old_adjustments_in_the_history_after_new_ones(api, cloud, legacy):
    run(cloud, legacy)
    r = api.post("/api/products/1/stock-adjustments", {"delta": 1, "reason": "new"})
    assert r.status == 200
    entries = api.get("/api/products/1/stock-adjustments", query={"limit": 2}).json
    assert [(e["reason"], e["stockAfter"]) for e in entries] == [("new", 11), ("third", None)]
    reasons = []
    query: dict = {}
    while True:
        page = api.get("/api/products/1/stock-adjustments", query={**query, "limit": 2})
        reasons += [e["reason"] for e in page.json]
        if not page.header("Link"):
            break
        query = {"cursor": page.header("Link").split("cursor=")[1].split(">")[0]}
    assert reasons == ["new", "third", "second", "first"]
    assert entries[1]["by"] == "old-admin"


def test_the_migration_marks_what_existing_orders_refer_to_and_reports_what_is_gone(api, cloud, legacy):
    assert api.delete("/api/products/3").status == 204  # never ordered
    report, printed = run(cloud, legacy)
    assert report.counts["customers marked as referenced by orders"] == 1
    assert report.counts["products marked as referenced by orders"] == 2
    assert report.problems == ["product 9 is gone but orders refer to it: 2"]
    assert any("product 9 is gone" in line for line in printed)
    assert api.delete("/api/products/1").status == 409
    assert api.delete("/api/products/2").status == 409
    assert api.delete("/api/customers/1").status == 409


def test_a_second_run_changes_nothing(cloud, legacy):
    run(cloud, legacy)
    before = {t: cloud.scan(t) for t in cloud.tables}
    report, _ = run(cloud, legacy)
    assert {k: v for k, v in report.counts.items() if "marked" not in k} == {}
    assert {t: cloud.scan(t) for t in cloud.tables} == before


def test_the_command_line_migrates_named_tables(cloud, legacy, monkeypatch, capsys):
    import boto3

    monkeypatch.setattr(boto3, "client", lambda *args, **kwargs: cloud.dynamodb)
    names = [
        "--products-table",
        legacy.products,
        "--customers-table",
        legacy.customers,
        "--orders-table",
        legacy.orders,
    ]
    assert main(names) == 0
    assert "products listed by status: 3" in capsys.readouterr().out


def test_before_the_migration_older_records_are_missing_from_the_name_search(api, cloud, legacy):
    migrate_product_lists(cloud.dynamodb, legacy, Report())  # listed by status, not yet by name
    assert [p["id"] for p in api.get("/api/products").json] == [1, 2, 3]
    assert api.get("/api/products", query={"q": "p"}).json == []
    assert api.get("/api/customers", query={"q": "ann"}).json == []


def test_the_migration_puts_older_products_and_customers_in_the_name_search(api, cloud, legacy):
    report, printed = run(cloud, legacy)
    assert report.counts["products put in the name search"] == 3
    assert report.counts["customers put in the name search"] == 1
    assert "==> name search" in printed
    assert [p["id"] for p in api.get("/api/products", query={"q": "p", "order": "desc"}).json] == [3, 2, 1]
    assert [c["id"] for c in api.get("/api/customers", query={"q": "AN"}).json] == [1]
    assert api.put("/api/customers/1", {"name": "Bea"}).status == 200
    assert [c["id"] for c in api.get("/api/customers", query={"q": "bea"}).json] == [1]


def test_the_migration_puts_older_orders_and_pending_placements_in_their_shards(api, cloud, legacy):
    """Orders stored before the lists were sharded are in none of them until the migration gives
    them their shards (docs/adr/0040); a pending placement moves to its holds shard."""
    from orders.placement_record import hold_key

    assert api.get("/api/orders").json == []
    report, _ = run(cloud, legacy)
    assert report.counts["orders put in the sharded lists"] == 2
    assert report.counts["pending placements put in their holds shard"] == 1
    assert [o["id"] for o in api.get("/api/orders").json] == [1, 2]
    assert [o["id"] for o in api.get("/api/orders", query={"customerId": 1, "order": "desc"}).json] == [2, 1]
    assert [o["id"] for o in api.get("/api/orders", query={"status": "CONFIRMED"}).json] == [1, 2]
    assert cloud.item("OrdersTable", "PLACEMENT#7")["pending"] == hold_key(7)
