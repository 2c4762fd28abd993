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
    items read but not answered cost read units and the Lambda's parsing. (The newest first page
    of all orders: the list's other pages read the ids after the cursor by key first.)"""
    from sales_common.dynamo import TableAccess
    from sales_common.shards import first_batch

    api, _ = shop_orders
    limits: list[int] = []
    query_raw = TableAccess.query_raw

    def recorded(self: Any, limit: int, *args: Any, **kwargs: Any) -> Any:
        limits.append(limit)
        return query_raw(self, limit, *args, **kwargs)

    monkeypatch.setattr(TableAccess, "query_raw", recorded)
    reply = api.get("/api/orders", query={"limit": 20, "order": "desc"})
    assert reply.status == 200, reply.raw
    assert limits[:ORDER_SHARDS] == [first_batch(20, ORDER_SHARDS)] * ORDER_SHARDS == [6] * ORDER_SHARDS


# ---------------------------------------------------------------- all orders in id order: the ids read by key first
ALL_BY_ID = ALL_ORDERS[0]


def _listed(cloud: Any) -> set[int]:
    """The orders the list holds now: those that carry its index's key (as DynamoDB decides)."""
    items = cloud.dynamodb.scan(TableName=cloud.tables["OrdersTable"])["Items"]
    return {int(i["id"]["N"]) for i in items if i["pk"]["S"].startswith("ORDER#") and "entityShard" in i}


@pytest.mark.slow  # a hypothesis sweep over a table that grows with every example: ~8 s
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    initial=st.lists(st.integers(0, 6), max_size=40),  # an order each, after that many ids with no order
    removed=st.lists(st.integers(0, 39), max_size=6),  # orders deleted before the first page
    between=st.lists(
        st.tuples(st.integers(0, 2), st.lists(st.integers(0, 39), max_size=2)), max_size=8
    ),  # before each next page: orders added, orders deleted
    forward=st.booleans(),
    limit=st.integers(1, 25),
)
def test_all_orders_in_id_order_answer_each_once_across_gaps_and_changes(
    cloud, initial, removed, between, forward, limit
):
    """`EntityStore.id_ordered` over the whole table (every other example's orders too): ids with
    no order (gaps of up to 6), orders deleted before and while paging, orders added while
    paging, an item in the table that the list's index does not hold; both orders, pages of 1
    to 25. Every order present throughout is answered exactly once, in id order; pages are full
    while the list goes on; nothing the index does not hold is answered."""
    store = OrderStore(ServiceSettings(TABLE_NAME=cloud.tables["OrdersTable"]))
    table = cloud.tables["OrdersTable"]
    mine: list[int] = []
    for gap in initial:
        for _ in range(gap):
            next(_ids)
        mine.append(next(_ids))
        _put(cloud, mine[-1], 1, "ann", 0)
    unlisted = next(_ids)  # an order item without the list's key (as one written before the lists existed)
    cloud.dynamodb.put_item(TableName=table, Item=to_item({"pk": f"ORDER#{unlisted}", "id": unlisted}))

    def delete(picks: list[int]) -> set[int]:
        gone = {mine[p % len(mine)] for p in picks} if mine else set()
        for order_id in gone:
            cloud.dynamodb.delete_item(TableName=table, Key={"pk": {"S": f"ORDER#{order_id}"}})
        return gone

    delete(removed)
    before = _listed(cloud)
    changed: set[int] = set()
    seen: list[int] = []
    positions = None
    pending = list(between)
    for _ in range(500):
        page, positions = store.id_ordered(ALL_BY_ID, "order", limit, positions, forward)
        assert len(page) <= limit
        assert positions is None or len(page) == limit, "a page short of its limit, with more to come"
        seen += [o.id for o in page]
        if positions is None:
            break
        positions = json.loads(json.dumps(positions))  # what the cursor carries
        if pending:
            added, picks = pending.pop(0)
            for _ in range(added):
                mine.append(next(_ids))
                _put(cloud, mine[-1], 1, "bob", 0)
            changed |= delete(picks)
    else:
        pytest.fail("the list never ended")

    assert len(seen) == len(set(seen)), "an order was answered twice"
    assert unlisted not in seen
    assert before - changed <= set(seen), "an order present throughout was never answered"
    steady = [i for i in seen if i in before]
    assert steady == sorted(steady, reverse=not forward)


def test_a_page_of_all_orders_reads_the_next_ids_by_key_and_queries_no_shard(shop_orders, monkeypatch):
    """Where ids are dense (the local cloud numbers 1, 2, 3), a page of all orders is one
    BatchGetItem of the ids after the cursor and no Query; the list's last page, which the ids
    read by key cannot fill, asks the shards for the rest (and learns there is no more)."""
    from sales_common.dynamo import TableAccess

    api, ids = shop_orders
    calls: list[str] = []
    query_raw, batch_get = TableAccess.query_raw, TableAccess.batch_get

    def queried(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append("Query")
        return query_raw(self, *args, **kwargs)

    def got(self: Any, keys: Any) -> Any:
        calls.append(f"BatchGetItem {len(keys)}")
        return batch_get(self, keys)

    monkeypatch.setattr(TableAccess, "query_raw", queried)
    monkeypatch.setattr(TableAccess, "batch_get", got)
    first = api.get("/api/orders", query={"limit": 4})
    assert [o["id"] for o in first.json] == ids[:4]
    assert calls == ["BatchGetItem 8"]  # probe_window(4): the page and a margin
    calls.clear()
    second = api.get("/api/orders", query={"limit": 4, "cursor": _cursor(first.headers["Link"])})
    assert [o["id"] for o in second.json] == ids[4:8] and calls == ["BatchGetItem 8"]
    calls.clear()
    last = api.get("/api/orders", query={"limit": 20, "cursor": _cursor(second.headers["Link"])})
    assert [o["id"] for o in last.json] == ids[8:] and "Link" not in last.headers
    assert calls[0] == "BatchGetItem 32" and calls.count("Query") == ORDER_SHARDS
    calls.clear()
    # newest first: the highest id is not known, so the first page asks the shards; its cursor
    # puts them all at its last order, and the next page reads the ids below it by key
    newest = api.get("/api/orders", query={"limit": 4, "order": "desc"})
    assert [o["id"] for o in newest.json] == ids[::-1][:4] and calls.count("Query") == ORDER_SHARDS
    calls.clear()
    older = api.get("/api/orders", query={"limit": 4, "order": "desc", "cursor": _cursor(newest.headers["Link"])})
    assert [o["id"] for o in older.json] == ids[::-1][4:8] and calls == ["BatchGetItem 8"]


def test_a_cursor_whose_shards_are_apart_is_read_from_the_shards():
    """A cursor made before the ids were read by key holds each shard's own last item: no two
    shards share it, and one live shard's position may lie behind items other shards answered.
    Such a cursor is never taken for a frontier; one `at_frontier` made is."""
    from sales_common.shards import at_frontier, common_position

    apart = [[str(i), f"ORDER#{i}"] for i in range(1, ORDER_SHARDS + 1)]
    assert common_position(apart) is None
    assert common_position([False] * (ORDER_SHARDS - 1) + [["5", "ORDER#5"]]) is None
    assert common_position([False] * ORDER_SHARDS) is None
    made = at_frontier([False, None, *apart[2:]], ORDER_SHARDS, ["9", "ORDER#9"])
    assert made[0] is False and all(p == ["9", "ORDER#9"] for p in made[1:])
    assert common_position(made) == ["9", "ORDER#9"]


def test_a_list_read_by_id_refuses_a_condition_or_a_filter(cloud):
    """The ids read by key know no key condition or filter: asking for one is a programming error,
    never a list that silently ignores it."""
    from sales_common.listing import fetch_sharded

    store = OrderStore(ServiceSettings(TABLE_NAME=cloud.tables["OrdersTable"]))
    for query in ({"filter_by": _created_by("ann")}, {"key_condition": "id > :n", "values": {":n": 1}}):
        with pytest.raises(ValueError, match="no condition or filter"):
            fetch_sharded(store, ALL_BY_ID, "order", 5, None, "/api/orders?", every_entity_by_id=True, **query)
