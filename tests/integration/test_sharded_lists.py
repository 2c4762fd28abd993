"""Write-sharded lists (issue 23, docs/adr/0040): merged across their shards, in both orders,
every item is answered exactly once across pages, in the list's order, also while items are added
between pages and when a filter leaves pages short; the cursor carries each shard's position (and
is still signed: tampering is a 400)."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orders.repository import ALL_ORDERS, BY_CUSTOMER, OrderStore, list_keys
from sales_common.dynamo import to_item
from sales_common.settings import ServiceSettings
from sales_common.shards import ORDER_SHARDS, shard_of, sharded

_lists = itertools.count(1)
_ids = itertools.count(1)


def _put(cloud: Any, order_id: int, customer: int, created_by: str, minute: int) -> None:
    stamp = f"2026-12-07T10:{minute:02d}:00.000Z"
    item = {
        "pk": f"ORDER#{order_id}",
        "entity": "order",
        "id": order_id,
        "version": 1,
        "createdAt": stamp,
        "updatedAt": stamp,
        "createdBy": created_by,
        "updatedBy": created_by,
        "customerId": customer,
        "status": "CONFIRMED",
        "items": [{"productId": 1, "name": "x", "unitPrice": 1, "quantity": 1, "lineTotal": 1}],
        "total": 1,
        **list_keys(order_id, customer, created_by, "CONFIRMED"),
    }
    cloud.dynamodb.put_item(TableName=cloud.tables["OrdersTable"], Item=to_item(item))


def test_the_shard_is_the_id_modulo_the_number_of_shards():
    assert [shard_of(i, ORDER_SHARDS) for i in (0, 1, 15, 16, 33)] == [0, 1, 15, 0, 1]
    assert sharded("order", 7) == "order#07"
    assert list_keys(23, 5, "ann", "CONFIRMED") == {
        "entityShard": "order#07",
        "customerShard": "5#07",
        "creatorShard": "ann#07",
        "statusShard": "CONFIRMED#07",
    }


order = st.fixed_dictionaries(
    {"minute": st.integers(0, 4), "by": st.sampled_from(["ann", "bob"])}  # few minutes: many ties
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    initial=st.lists(order, max_size=30),
    added=st.lists(st.lists(order, max_size=3), max_size=6),  # orders added before each next page
    by_time=st.booleans(),
    forward=st.booleans(),
    limit=st.integers(1, 7),
    only=st.sampled_from([None, "ann"]),  # a filter (createdBy) leaves pages short
)
def test_every_item_exactly_once_across_pages_in_order(cloud, initial, added, by_time, forward, limit, only):
    customer = next(_lists)  # each example its own list
    store = OrderStore(ServiceSettings(TABLE_NAME=cloud.tables["OrdersTable"]))
    index = BY_CUSTOMER[1] if by_time else BY_CUSTOMER[0]
    placed: dict[int, dict[str, Any]] = {}

    def place(new: dict[str, Any]) -> None:
        order_id = next(_ids)
        _put(cloud, order_id, customer, new["by"], new["minute"])
        placed[order_id] = new

    for new in initial:
        place(new)
    before = set(placed)
    query: dict[str, Any] = {"forward": forward}
    if only is not None:
        query["filter_by"] = _created_by(only)

    seen: list[int] = []
    positions = None
    pending_additions = list(added)
    for _ in range(200):
        page, positions = store.sharded(index, customer, limit, positions, **query)
        assert len(page) <= limit
        assert only is not None or positions is None or len(page) == limit  # unfiltered pages are full
        seen += [o.id for o in page]
        if positions is None:
            break
        positions = json.loads(json.dumps(positions))  # what the cursor carries
        for new in pending_additions.pop(0) if pending_additions else []:
            place(new)
    else:
        pytest.fail("the list never ended")

    wanted = {i for i in before if only is None or placed[i]["by"] == only}
    assert len(seen) == len(set(seen)), "an order was answered twice"
    assert wanted <= set(seen), "an order present throughout was never answered"
    assert all(only is None or placed[i]["by"] == only for i in seen)
    # the orders present throughout come in the list's order (ties in any order)
    key = (lambda i: placed[i]["minute"]) if by_time else (lambda i: i)
    steady = [key(i) for i in seen if i in before]
    assert steady == sorted(steady, reverse=not forward)


def _created_by(user: str) -> Any:
    from sales_common.dynamo import Condition

    return Condition("#createdBy = :by", {":by": user}, {"#createdBy": "createdBy"})


def test_the_orders_list_merges_the_shards_over_http(shop_orders):
    api, ids = shop_orders
    for direction, expected in (("asc", ids), ("desc", list(reversed(ids)))):
        seen, query = [], {"limit": 4, "order": direction}
        for _ in range(len(ids)):
            reply = api.get("/api/orders", query=query)
            assert reply.status == 200, reply.raw
            seen += [o["id"] for o in reply.json]
            link = reply.headers.get("Link")
            if not link:
                break
            query = {"limit": 4, "order": direction, "cursor": _cursor(link)}
        else:
            pytest.fail(f"the list never ended: {seen[:12]} ...")
        assert seen == expected


def test_a_tampered_sharded_cursor_is_400(shop_orders):
    api, _ = shop_orders
    cursor = _cursor(api.get("/api/orders", query={"limit": 2}).headers["Link"])
    flipped = cursor[:-3] + ("A" if cursor[-3] != "A" else "B") + cursor[-2:]
    reply = api.get("/api/orders", query={"limit": 2, "cursor": flipped})
    assert reply.status == 400
    assert "cursor" in reply.json["detail"]
    other = api.get("/api/orders", query={"limit": 2, "order": "desc", "cursor": cursor})
    assert other.status == 400  # bound to its list and order


@pytest.fixture
def shop_orders(api):
    api.post("/api/customers", {"name": "C", "email": "c@example.com"})
    api.post("/api/products", {"name": "P", "price": 1, "stock": 100})
    ids = []
    for _ in range(ORDER_SHARDS + 3):  # more orders than shards: some shards hold two
        reply = api.post("/api/orders", {"customerId": 1, "items": [{"productId": 1, "quantity": 1}]})
        assert reply.status == 201, reply.raw
        ids.append(reply.json["id"])
    return api, ids


def _cursor(link: str) -> str:
    from urllib.parse import parse_qs, urlparse

    return parse_qs(urlparse(link[1 : link.index(">")]).query)["cursor"][0]


def test_the_all_orders_list_is_the_entity_shards():
    assert ALL_ORDERS[0].hash_key == "entityShard" and ALL_ORDERS[0].shards == ORDER_SHARDS


def test_a_page_of_orders_asks_each_shard_for_its_first_batch_not_a_page(shop_orders, monkeypatch):
    """The Query each shard gets carries `first_batch`'s Limit (6 of each for a page of 20): the
    items read but not answered cost read units and the Lambda's parsing."""
    from sales_common.dynamo import TableAccess
    from sales_common.shards import first_batch

    api, _ = shop_orders
    limits: list[int] = []
    query_raw = TableAccess.query_raw

    def recorded(self: Any, limit: int, *args: Any, **kwargs: Any) -> Any:
        limits.append(limit)
        return query_raw(self, limit, *args, **kwargs)

    monkeypatch.setattr(TableAccess, "query_raw", recorded)
    reply = api.get("/api/orders", query={"limit": 20})
    assert reply.status == 200, reply.raw
    assert limits[:ORDER_SHARDS] == [first_batch(20, ORDER_SHARDS)] * ORDER_SHARDS == [6] * ORDER_SHARDS
