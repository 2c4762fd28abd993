"""The merge of a sharded list's shards (sales_common.shards, docs/adr/0040) against a model of
DynamoDB's Query: `Limit` counts the items *evaluated*, a filter then drops some, and
LastEvaluatedKey is the last item evaluated (the emulator filters before the limit, so only this
model makes pages stop at a shard's frontier). Every visible item is answered exactly once across
pages, in order, in both directions, whatever the page size, filter and ties."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sales_common.shards import (
    MAX_ROUNDS,
    ShardedIndex,
    first_batch,
    merge_page,
    shard_of,
    sharded,
    valid_positions,
)

SHARDS = 4
INDEX = ShardedIndex("byTest", "list", "sort", "N", SHARDS)


def _item(entity_id: int, sort: int, shards: int = SHARDS) -> dict[str, Any]:
    return {
        "pk": {"S": f"ORDER#{entity_id}"},
        "list": {"S": sharded("L", shard_of(entity_id, shards))},
        "sort": {"N": str(sort)},
    }


def _position(item: dict[str, Any]) -> tuple[int, str]:
    return int(item["sort"]["N"]), item["pk"]["S"]


def _dynamodb(items: list[dict[str, Any]], visible: set[str], forward: bool, asked: list[int] | None = None) -> Any:
    """Query(shard, start, Limit): DynamoDB's answer for one shard's partition (each Limit is
    appended to `asked`)."""

    def query(
        shard: int, start: dict[str, Any] | None, limit: int
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        if asked is not None:
            asked.append(limit)
        assert start is None or start["list"]["S"] == sharded("L", shard)
        partition = sorted(
            (i for i in items if i["list"]["S"] == sharded("L", shard)), key=_position, reverse=not forward
        )
        if start is not None:
            after = _position(start)
            partition = [i for i in partition if (_position(i) > after if forward else _position(i) < after)]
        evaluated = partition[:limit]
        last = evaluated[-1] if len(evaluated) == limit else None
        return [i for i in evaluated if i["pk"]["S"] in visible], last

    return query


def _read_all(
    index: ShardedIndex, items: list[dict[str, Any]], visible: set[str], limit: int, forward: bool
) -> list[dict[str, Any]]:
    """Every page of the list, one after the other, through cursors as clients carry them."""
    query = _dynamodb(items, visible, forward)
    seen: list[dict[str, Any]] = []
    positions = None
    for _ in range(500):
        page, positions = merge_page(index, "L", positions, limit, forward, query)
        assert len(page) <= limit
        if positions is not None and len(visible) == len(items):
            assert len(page) == limit  # unfiltered: a page is full while items remain
        seen += page
        if positions is None:
            return seen
        positions = json.loads(json.dumps(positions))  # what the cursor carries
    raise AssertionError("the list never ended")


def _exactly_once_in_order(seen: list[dict[str, Any]], visible: set[str], forward: bool) -> None:
    keys = [i["pk"]["S"] for i in seen]
    assert len(keys) == len(set(keys))
    assert set(keys) == visible
    values = [int(i["sort"]["N"]) for i in seen]
    assert values == sorted(values, reverse=not forward)


@settings(max_examples=300, deadline=None)
@given(
    sorts=st.lists(st.integers(0, 6), max_size=40),  # few values: many ties
    hidden=st.sets(st.integers(0, 39)),
    limit=st.integers(1, 6),
    forward=st.booleans(),
)
def test_every_visible_item_exactly_once_in_order(sorts, hidden, limit, forward):
    items = [_item(n + 1, sort) for n, sort in enumerate(sorts)]
    visible = {i["pk"]["S"] for n, i in enumerate(items) if n not in hidden}
    _exactly_once_in_order(_read_all(INDEX, items, visible, limit, forward), visible, forward)


@settings(max_examples=200, deadline=None)
@given(
    ids=st.lists(st.integers(1, 2_000), unique=True, max_size=150),
    skew=st.sampled_from([1, 2, 16]),  # ids that fall on 1, 8 or all 16 shards
    sorted_by_id=st.booleans(),
    hidden=st.one_of(st.just(set()), st.sets(st.integers(0, 149))),  # unfiltered, or a filter
    limit=st.integers(1, 30),
    forward=st.booleans(),
    data=st.data(),
)
def test_every_visible_item_exactly_once_in_order_over_sixteen_shards(
    ids, skew, sorted_by_id, hidden, limit, forward, data
):
    """Pages larger than a shard's first batch: shards that hold more than their share are
    asked again, in later rounds."""
    index = ShardedIndex("byTest", "list", "sort", "N", 16)
    ids = [entity_id * skew for entity_id in ids]
    sorts = ids if sorted_by_id else data.draw(st.lists(st.integers(0, 40), min_size=len(ids), max_size=len(ids)))
    items = [_item(entity_id, sort, 16) for entity_id, sort in zip(ids, sorts, strict=True)]
    visible = {i["pk"]["S"] for n, i in enumerate(items) if n not in hidden}
    _exactly_once_in_order(_read_all(index, items, visible, limit, forward), visible, forward)


def test_a_page_asks_each_shard_for_a_few_items_not_for_a_page():
    """A page of 20 of the list of all orders (ids take the 16 shards in turn) reads 6 items of
    each shard in one round, not 20 of each: 96 items read for 20 answered, not 320."""
    index = ShardedIndex("byTest", "list", "sort", "N", 16)
    items = [_item(n, n, 16) for n in range(1, 401)]
    asked: list[int] = []
    page, positions = merge_page(
        index, "L", None, 20, True, _dynamodb(items, {i["pk"]["S"] for i in items}, True, asked)
    )
    assert [int(i["sort"]["N"]) for i in page] == list(range(1, 21)) and positions is not None
    assert asked == [first_batch(20, 16)] * 16 and first_batch(20, 16) == 6


def test_a_page_of_a_list_on_one_shard_is_full():
    """A list whose every item is on one shard fills its page in a second round (asking that shard
    for what the page still lacks), not with a page of a few items."""
    index = ShardedIndex("byTest", "list", "sort", "N", 16)
    items = [_item(16 * n, n, 16) for n in range(1, 60)]
    asked: list[int] = []
    page, positions = merge_page(
        index, "L", None, 20, True, _dynamodb(items, {i["pk"]["S"] for i in items}, True, asked)
    )
    assert [int(i["sort"]["N"]) for i in page] == list(range(1, 21)) and positions is not None
    assert asked == [6] * 16 + [14]


@pytest.mark.parametrize("forward", [True, False])
def test_a_shard_holding_the_first_items_is_read_before_others_are_answered(forward):
    """Shard 0 holds the 10 first items; it returned 6 of them (and stopped early) when the other
    shards returned 6 later ones each. The page answers nothing past shard 0's last key until it
    has read its next items: an item answered from another shard would sort after items a later
    page still holds."""
    index = ShardedIndex("byTest", "list", "sort", "N", 16)
    first = [_item(16 * n, n, 16) for n in range(1, 11)]  # shard 0, sorts 1..10
    later = [_item(n, 100 + n, 16) for n in range(1, 400) if n % 16]  # shards 1..15, sorts from 101
    items = (
        first + later
        if forward
        else [_item(16 * n, 1_000 - n, 16) for n in range(1, 11)]
        + [_item(n, 900 - n, 16) for n in range(1, 400) if n % 16]
    )
    page, positions = merge_page(
        index, "L", None, 20, forward, _dynamodb(items, {i["pk"]["S"] for i in items}, forward)
    )
    values = [int(i["sort"]["N"]) for i in page]
    expected = sorted((int(i["sort"]["N"]) for i in items), reverse=not forward)[:20]
    assert values == expected and positions is not None


def test_a_filter_that_matches_nothing_costs_at_most_a_few_rounds():
    """A page stops after MAX_ROUNDS rounds of queries, shorter, with a cursor that continues."""
    index = ShardedIndex("byTest", "list", "sort", "N", 16)
    items = [_item(n, n, 16) for n in range(1, 2_001)]
    asked: list[int] = []
    page, positions = merge_page(index, "L", None, 20, True, _dynamodb(items, set(), True, asked))
    assert page == [] and positions is not None
    assert MAX_ROUNDS == 4 and len(asked) == 16 * 4  # every shard stopped early in each round


@pytest.mark.parametrize("forward", [True, False])
def test_ties_are_answered_in_shard_order(forward):
    index = ShardedIndex("byTest", "list", "sort", "N", 16)
    items = [_item(n, 7, 16) for n in (35, 2, 17, 4)]  # shards 3, 2, 1, 4: one sort value
    page, positions = merge_page(
        index, "L", None, 10, forward, _dynamodb(items, {i["pk"]["S"] for i in items}, forward)
    )
    assert [i["pk"]["S"] for i in page] == ["ORDER#17", "ORDER#2", "ORDER#35", "ORDER#4"] and positions is None


def test_the_shards_are_queried_on_the_pool_given():
    """The page is the same; the queries of a round run on the pool's threads."""
    index = ShardedIndex("byTest", "list", "sort", "N", 16)
    items = [_item(n, n, 16) for n in range(1, 200)]
    threads: set[str] = set()
    plain = _dynamodb(items, {i["pk"]["S"] for i in items}, True)

    def query(shard: int, start: dict[str, Any] | None, limit: int) -> Any:
        threads.add(threading.current_thread().name)
        return plain(shard, start, limit)

    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="shard") as pool:
        pooled = merge_page(index, "L", None, 20, True, query, pool)
    assert pooled == merge_page(index, "L", None, 20, True, plain)
    assert threads and all(name.startswith("shard") for name in threads)


def test_a_page_of_one_live_shard_asks_it_for_the_whole_page():
    """Only shard 0 is not at its end (the cursor says so): it is asked for 20 items at once."""
    index = ShardedIndex("byTest", "list", "sort", "N", 16)
    items = [_item(16 * n, n, 16) for n in range(1, 60)]
    asked: list[int] = []
    positions: list[Any] = [None] + [False] * 15
    page, _ = merge_page(index, "L", positions, 20, True, _dynamodb(items, {i["pk"]["S"] for i in items}, True, asked))
    assert len(page) == 20 and asked == [20]


def test_the_first_batch_grows_with_the_share_and_its_spread():
    """About limit / shards, plus twice its square root, plus 2: the margin for shards that hold
    more than their share (docs/adr/0040, "Costs")."""
    assert [first_batch(limit, 16) for limit in (1, 20, 100)] == [1, 6, 14]
    assert first_batch(5, 1) == 5  # never more than the page


def test_an_unfiltered_page_is_full_while_more_remain():
    items = [_item(n, n % 3) for n in range(1, 30)]
    query = _dynamodb(items, {i["pk"]["S"] for i in items}, True)
    page, positions = merge_page(INDEX, "L", None, 5, True, query)
    assert len(page) == 5 and positions is not None
    assert [int(i["sort"]["N"]) for i in page] == [0] * 5


def test_the_dynamodb_client_keeps_a_connection_for_every_shard_queried_at_once():
    """A list queries its shards in parallel: fewer pooled connections than shards would make
    botocore discard connections (and warn) on every page."""
    from sales_common import aws
    from sales_common.shards import ORDER_SHARDS

    assert aws.LIMITS["dynamodb"].config().max_pool_connections >= ORDER_SHARDS + 1


_BY_NUMBER = ShardedIndex("byTest", "list", "sort", "N", 4)
_BY_TEXT = ShardedIndex("byText", "list", "sort", "S", 4)


@pytest.mark.parametrize(
    ("index", "positions", "valid"),
    [
        (_BY_NUMBER, [None, False, ["5", "ORDER#1"], ["-12", "ORDER#2"]], True),
        (_BY_TEXT, [["x" * 1024, "ORDER#1"], None, None, None], True),  # at the length limit
        (_BY_TEXT, [["abc", "ORDER#1"], None, None, None], True),  # text on a text index
        (_BY_NUMBER, (None, None, None, None), False),  # not a list
        (_BY_NUMBER, [None, None, None], False),  # a position per shard, no fewer
        (_BY_NUMBER, [None, 5, None, None], False),  # a position is None, False or a key
        (_BY_TEXT, [None, "ab", None, None], False),  # a key is a list
        (_BY_NUMBER, [["5"], None, None, None], False),  # of two values
        (_BY_NUMBER, [[5, "ORDER#1"], None, None, None], False),  # of text
        (_BY_TEXT, [["", "ORDER#1"], None, None, None], False),  # not empty
        (_BY_TEXT, [["x" * 1025, "ORDER#1"], None, None, None], False),  # nor longer than 1,024
        (_BY_NUMBER, [["abc", "ORDER#1"], None, None, None], False),  # a number on a number index
    ],
)
def test_a_cursor_s_positions_are_checked_before_any_query(index, positions, valid):
    """A cursor is signed, but its payload is checked too: a key boto3 refuses must be a 400,
    never a 500 (the API answers 400 when this says no)."""
    assert valid_positions(positions, index) is valid


# ---------------------------------------------------------------- a list in id order: the next ids first
def test_a_page_reads_the_page_and_half_again_by_key_in_one_batch_get():
    from sales_common.shards import probe_window

    assert [probe_window(n) for n in (1, 4, 20, 65, 66, 100)] == [3, 8, 32, 99, 100, 100]  # BatchGetItem: 100 keys


def test_the_ids_read_by_key_follow_the_cursor_and_stop_at_the_first_id():
    from sales_common.shards import probe_ids

    assert probe_ids(0, 3, forward=True) == [1, 2, 3]
    assert probe_ids(7, 3, forward=True) == [8, 9, 10]
    assert probe_ids(20, 3, forward=False) == [19, 18, 17]
    assert probe_ids(5, 8, forward=False) == [4, 3, 2, 1]  # down to id 1, the list's start
    assert probe_ids(1, 8, forward=False) == []


def test_a_frontier_is_two_or_more_live_shards_at_one_position():
    from sales_common.shards import common_position

    at, other = ["9", "ORDER#9"], ["7", "ORDER#7"]
    assert common_position([False] * 14 + [at, at]) == at
    assert common_position([at] * 16) == at
    assert common_position([False] * 15 + [at]) is None
    assert common_position([at] * 15 + [other]) is None
    assert common_position([None] * 16) is None
