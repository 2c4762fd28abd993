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

from sales_common.shards import ShardedIndex, merge_page, shard_of, sharded

SHARDS = 4
INDEX = ShardedIndex("byTest", "list", "sort", "N", SHARDS)


def _item(entity_id: int, sort: int) -> dict[str, Any]:
    return {
        "pk": {"S": f"ORDER#{entity_id}"},
        "list": {"S": sharded("L", shard_of(entity_id, SHARDS))},
        "sort": {"N": str(sort)},
    }


def _position(item: dict[str, Any]) -> tuple[int, str]:
    return int(item["sort"]["N"]), item["pk"]["S"]


def _dynamodb(items: list[dict[str, Any]], visible: set[str], limit: int, forward: bool) -> Any:
    """Query(shard, start): DynamoDB's answer for one shard's partition."""

    def query(shard: int, start: dict[str, Any] | None) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
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
    query = _dynamodb(items, visible, limit, forward)
    seen: list[dict[str, Any]] = []
    positions = None
    for _ in range(500):
        page, positions = merge_page(INDEX, "L", positions, limit, forward, query)
        assert len(page) <= limit
        seen += page
        if positions is None:
            break
        positions = json.loads(json.dumps(positions))  # what the cursor carries
    else:
        raise AssertionError("the list never ended")
    keys = [i["pk"]["S"] for i in seen]
    assert len(keys) == len(set(keys))
    assert set(keys) == visible
    values = [int(i["sort"]["N"]) for i in seen]
    assert values == sorted(values, reverse=not forward)


def test_an_unfiltered_page_is_full_while_more_remain():
    items = [_item(n, n % 3) for n in range(1, 30)]
    query = _dynamodb(items, {i["pk"]["S"] for i in items}, 5, True)
    page, positions = merge_page(INDEX, "L", None, 5, True, query)
    assert len(page) == 5 and positions is not None
    assert [int(i["sort"]["N"]) for i in page] == [0] * 5


def test_the_dynamodb_client_keeps_a_connection_for_every_shard_queried_at_once():
    """A list queries its shards in parallel: fewer pooled connections than shards would make
    botocore discard connections (and warn) on every page."""
    from sales_common import aws
    from sales_common.shards import ORDER_SHARDS

    assert aws.LIMITS["dynamodb"].config().max_pool_connections >= ORDER_SHARDS + 1
