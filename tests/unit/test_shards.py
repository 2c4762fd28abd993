"""The merge of a sharded list's shards (sales_common.shards, docs/adr/0040) against a model of
DynamoDB's Query: `Limit` counts the items *evaluated*, a filter then drops some, and
LastEvaluatedKey is the last item evaluated (the emulator filters before the limit, so only this
model makes pages stop at a shard's frontier). Every visible item is answered exactly once across
pages, in order, in both directions, whatever the page size, filter and ties."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from sales_common.shards import MAX_ROUNDS, ShardedIndex, first_batch, merge_page, shard_of, sharded

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


def test_a_filter_that_matches_nothing_costs_at_most_a_few_rounds():
    """A page stops after MAX_ROUNDS rounds of queries, shorter, with a cursor that continues."""
    index = ShardedIndex("byTest", "list", "sort", "N", 16)
    items = [_item(n, n, 16) for n in range(1, 2_001)]
    asked: list[int] = []
    page, positions = merge_page(index, "L", None, 20, True, _dynamodb(items, set(), True, asked))
    assert page == [] and positions is not None
    assert len(asked) <= 16 * MAX_ROUNDS


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
