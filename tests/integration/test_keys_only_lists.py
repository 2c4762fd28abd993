"""List indexes that project keys only (issue 23, docs/adr/0039): a stock change or a reference
mark writes no list index, and the lists still answer whole items, in the index's order, reading
them with BatchGetItem (whose unprocessed keys are asked again)."""

from __future__ import annotations

from typing import Any

import pytest

from customers.repository import CustomerStore
from orders.repository import OrderStore
from products.repository import ProductStore
from sales_common import dynamo
from sales_common.dynamo import TableAccess
from sales_common.errors import ServiceUnavailable
from sales_common.settings import ServiceSettings
from tests.support.apigw import template

STORES = {"ProductsTable": ProductStore, "CustomersTable": CustomerStore, "OrdersTable": OrderStore}


def test_the_stores_know_which_indexes_project_keys_only():
    for logical, store in STORES.items():
        table = template().resources("AWS::DynamoDB::Table")[logical]
        keys_only = {
            i["IndexName"]
            for i in table["Properties"]["GlobalSecondaryIndexes"]
            if i["Projection"]["ProjectionType"] == "KEYS_ONLY"
        }
        assert keys_only == store.keys_only, logical


def test_the_product_lists_do_not_project_what_a_stock_change_writes():
    table = template().resources("AWS::DynamoDB::Table")["ProductsTable"]
    for index in table["Properties"]["GlobalSecondaryIndexes"]:
        assert index["Projection"]["ProjectionType"] == "KEYS_ONLY", index["IndexName"]


def test_a_stock_change_leaves_the_product_lists_as_they_were(api, cloud):
    ids = [api.post("/api/products", {"name": f"P{i}", "price": 2, "stock": 10}).json["id"] for i in range(3)]
    client = cloud.dynamodb
    table = cloud.tables["ProductsTable"]

    def indexed() -> list[dict[str, Any]]:
        out = []
        for index in ("byEntity", "byList", "byName"):
            found = client.query(
                TableName=table,
                IndexName=index,
                KeyConditionExpression="#k = :v",
                ExpressionAttributeNames={"#k": "entity" if index == "byEntity" else "listKey"},
                ExpressionAttributeValues={":v": {"S": "product" if index == "byEntity" else "product#ACTIVE"}},
            )["Items"]
            out.append(found)
        return out

    before = indexed()
    assert all("stock" not in item for items in before for item in items)  # keys only
    reply = api.post(f"/api/products/{ids[1]}/stock-adjustments", {"delta": -4, "reason": "count"})
    assert reply.status == 200, reply.raw
    assert indexed() == before
    listed = api.get("/api/products").json
    assert [p["id"] for p in listed] == ids
    assert [p["stock"] for p in listed] == [10, 6, 10]  # whole items, read from the table


class _Flaky:
    """A DynamoDB client whose BatchGetItem answers `serve` keys and leaves the others unprocessed,
    `leave` times."""

    def __init__(self, real: Any, leave: int, serve: int) -> None:
        self.real, self.leave, self.serve, self.calls = real, leave, serve, 0

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        self.calls += 1
        ((table, request),) = RequestItems.items()
        if self.leave:
            self.leave -= 1
            first, rest = request["Keys"][: self.serve], request["Keys"][self.serve :]
            got = self.real.batch_get_item(RequestItems={table: {"Keys": first}}) if first else {"Responses": {}}
            return {"Responses": got["Responses"], "UnprocessedKeys": {table: {"Keys": rest}} if rest else {}}
        return self.real.batch_get_item(RequestItems=RequestItems)


@pytest.fixture
def flaky_access(cloud, monkeypatch):
    class Access(TableAccess):
        pass

    def make(leave: int, serve: int = 1) -> tuple[TableAccess, _Flaky]:
        flaky = _Flaky(cloud.dynamodb, leave, serve)
        monkeypatch.setattr(Access, "client", property(lambda _: flaky))
        monkeypatch.setattr(dynamo.time, "sleep", lambda _: None)
        return Access(ServiceSettings(TABLE_NAME=cloud.tables["ProductsTable"])), flaky

    return make


def test_batch_get_keeps_the_order_and_asks_again_for_unprocessed_keys(api, flaky_access):
    ids = [api.post("/api/products", {"name": f"P{i}", "price": 2, "stock": 1}).json["id"] for i in range(5)]
    access, flaky = flaky_access(leave=3)
    wanted = [*reversed(ids), 999]  # 999 does not exist: left out
    got = access.batch_get([{"pk": {"S": f"PRODUCT#{i}"}} for i in wanted])
    assert [int(i["id"]["N"]) for i in got] == list(reversed(ids))
    assert flaky.calls == 4  # three answers with unprocessed keys, then the rest


def test_keys_still_unprocessed_after_every_attempt_are_a_503(api, flaky_access):
    ids = [api.post("/api/products", {"name": f"P{i}", "price": 2, "stock": 1}).json["id"] for i in range(3)]
    access, flaky = flaky_access(leave=1000, serve=0)
    with pytest.raises(ServiceUnavailable):
        access.batch_get([{"pk": {"S": f"PRODUCT#{i}"}} for i in ids])
    assert flaky.calls == dynamo.BATCH_GET_ATTEMPTS
