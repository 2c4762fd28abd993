"""Write-sharded list indexes (issue 23, docs/adr/0040).

A list index whose partition key is one value for a whole list (all orders, one busy account's
orders, the pending holds) takes at most about 1,000 writes a second: DynamoDB never spreads one
key value over several partitions. A sharded list spreads its items over a fixed number of key
values, `<value>#<shard>`, the shard a pure function of the item's id (`shard_of`). Reading the
list queries every shard (in parallel) and merges them in the index's sort order (`merge_page`);
the cursor carries each shard's position.

The numbers of shards are fixed: changing one moves every item to another key (a migration).
"""

from __future__ import annotations

import heapq
import math
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

ORDER_SHARDS = 16
"""Shards of every list of orders (all, by customer, by creator, by status, and their date orders):
one order writes each of its list partitions once, so one shard takes 1/16 of the orders."""
HOLD_SHARDS = 32
"""Shards of the pending holds (pendingHolds): each placement writes its shard twice (marked
pending by the reservation, unmarked by the decision)."""

_POSITION_TEXT = 1024
_NUMBER = re.compile(r"-?[0-9]{1,38}")


def shard_of(entity_id: int, shards: int) -> int:
    """The shard of the item with id `entity_id`: its id modulo the number of shards."""
    return entity_id % shards


def sharded(value: object, shard: int) -> str:
    """The partition-key value of `value`'s list in shard `shard` ("order#07")."""
    return f"{value}#{shard:02d}"


@dataclass(frozen=True)
class ShardedIndex:
    """An index whose partition key `hash_key` holds `sharded(value, shard)` and whose items sort
    by `range_key` (a DynamoDB `range_type`: "N" or "S"); the table's key is `pk`."""

    name: str
    hash_key: str
    range_key: str
    range_type: str
    shards: int


# A shard's position in a cursor: None (not started), False (read to its end), or the key of the
# last item read from it as [range value, pk] (its partition key follows from the shard).
Position = None | bool | list[str]


def start_key(index: ShardedIndex, value: object, shard: int, position: Position) -> dict[str, Any] | None:
    """The ExclusiveStartKey of shard `shard` at `position` (None: from the start)."""
    if not isinstance(position, list):
        return None
    sort, pk = position
    return {
        index.hash_key: {"S": sharded(value, shard)},
        index.range_key: {index.range_type: sort},
        "pk": {"S": pk},
    }


def position_of(index: ShardedIndex, key: dict[str, Any]) -> list[str]:
    """The position after the item (or LastEvaluatedKey) `key`, DynamoDB-typed."""
    return [key[index.range_key][index.range_type], key["pk"]["S"]]


def valid_positions(value: Any, index: ShardedIndex) -> bool:
    """Whether a cursor's decoded payload is a position per shard. Checked though it is signed: a
    key boto3 refuses must be a 400, not a 500."""
    if not isinstance(value, list) or len(value) != index.shards:
        return False
    for position in value:
        if position is None or position is False:
            continue
        if not isinstance(position, list) or len(position) != 2:
            return False
        if not all(isinstance(t, str) and 0 < len(t) <= _POSITION_TEXT for t in position):
            return False
        if index.range_type == "N" and not _NUMBER.fullmatch(position[0]):
            return False
    return True


def _sort_value(index: ShardedIndex, item: dict[str, Any]) -> Any:
    typed = item[index.range_key][index.range_type]
    return int(typed) if index.range_type == "N" else typed


# (shard, its start key, Limit) -> (raw items of one page in the index's order, LastEvaluatedKey or None)
ShardQuery = Callable[[int, dict[str, Any] | None, int], tuple[list[dict[str, Any]], dict[str, Any] | None]]

MAX_ROUNDS = 4
"""Rounds of queries one page may take (see `merge_page`); a filtered list whose shards keep
stopping early answers a shorter page after them, and continues on the next."""


def first_batch(limit: int, shards: int) -> int:
    """How many items a page asks of each of `shards` shards at first: a page of `limit` takes
    about `limit / shards` from each, plus a margin for shards that hold more than their share
    (ids fall on shards unevenly in a customer's or a creator's list) so that one round usually
    fills the page: about 99% of pages of 20 over 16 shards with ids spread at random, and every
    one where ids take the shards in turn (the list of all orders)."""
    share = limit / shards
    return min(limit, math.ceil(share + 2 * math.sqrt(share) + 2))


def merge_page(
    index: ShardedIndex,
    value: object,
    positions: Sequence[Position] | None,
    limit: int,
    forward: bool,
    query: ShardQuery,
    pool: ThreadPoolExecutor | None = None,
) -> tuple[list[dict[str, Any]], list[Position] | None]:
    """One page of at most `limit` raw items of the sharded list `value` in `index`'s order
    (reversed unless `forward`), from each shard's `positions` (None: the first page), and the
    positions to continue from (None: the list is at its end).

    Every shard not at its end is queried for `first_batch` items from its position (in
    parallel on `pool`). A shard that stopped early (LastEvaluatedKey) may hold more items after
    its last key, its *frontier*; only items up to the nearest frontier are answered, so no later
    page can hold an item that sorts before one already answered. While the page is not full,
    every shard that stopped early is asked for as many more items as the page still lacks, and
    the merge is done again (at most `MAX_ROUNDS` rounds). Without a filter the second round
    fills the page: the shard at the new nearest frontier returned that many items, all before
    it. With a filter a page may be shorter and still continue. Each shard's new position is its
    last item answered, or its LastEvaluatedKey once every item it returned was answered."""
    current: list[Position] = list(positions) if positions is not None else [None] * index.shards
    live = [s for s in range(index.shards) if current[s] is not False]
    fetched: dict[int, list[dict[str, Any]]] = {s: [] for s in live}
    last: dict[int, dict[str, Any] | None] = {s: start_key(index, value, s, current[s]) for s in live}
    asked, batch = live, first_batch(limit, max(len(live), 1))
    for _ in range(MAX_ROUNDS):
        _fetch(asked, batch, fetched, last, query, pool)
        answered, taken = _merge(index, live, fetched, last, limit, forward)
        asked = [s for s in live if last[s] is not None]
        if len(answered) == limit or not asked:
            break
        batch = limit - len(answered)

    following: list[Position] = list(current)
    for shard in live:
        items, after = fetched[shard], last[shard]
        if taken[shard] == len(items):
            following[shard] = False if after is None else position_of(index, after)
        elif taken[shard]:
            following[shard] = position_of(index, items[taken[shard] - 1])
    return answered, (None if all(p is False for p in following) else following)


def _fetch(
    shards: list[int],
    batch: int,
    fetched: dict[int, list[dict[str, Any]]],
    last: dict[int, dict[str, Any] | None],
    query: ShardQuery,
    pool: ThreadPoolExecutor | None,
) -> None:
    """Ask each of `shards` for up to `batch` more items after its last key (in parallel on `pool`)."""

    def one(shard: int) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        return query(shard, last[shard], batch)

    results = list(pool.map(one, shards)) if pool is not None and len(shards) > 1 else [one(s) for s in shards]
    for shard, (items, after) in zip(shards, results, strict=True):
        fetched[shard] += items
        last[shard] = after


def _merge(
    index: ShardedIndex,
    live: list[int],
    fetched: dict[int, list[dict[str, Any]]],
    last: dict[int, dict[str, Any] | None],
    limit: int,
    forward: bool,
) -> tuple[list[dict[str, Any]], dict[int, int]]:
    """The page merged from the items `fetched` so far (up to the nearest frontier), and how many
    it took from each shard."""
    frontiers = [_sort_value(index, after) for after in last.values() if after is not None]
    bound = (min(frontiers) if forward else max(frontiers)) if frontiers else None

    def tagged(shard: int) -> list[tuple[Any, int, dict[str, Any]]]:
        return [(_sort_value(index, item), shard, item) for item in fetched[shard]]

    merged = heapq.merge(
        *(tagged(s) for s in live),
        key=lambda t: (t[0], t[1]) if forward else (_Reversed(t[0]), t[1]),
    )
    answered: list[dict[str, Any]] = []
    taken = dict.fromkeys(live, 0)
    for sort, shard, item in merged:
        if len(answered) == limit or (bound is not None and (sort > bound if forward else sort < bound)):
            break
        answered.append(item)
        taken[shard] += 1
    return answered, taken


# ---------------------------------------------------------------- a list in id order: the next ids first
def probe_window(limit: int) -> int:
    """How many ids a page of `limit` reads by key before the shards (`EntityStore.id_ordered`):
    the page and a margin for ids with no item (rejected placements, deleted orders, the unused
    ids of a container's block); at most one BatchGetItem."""
    return min(limit + limit // 2 + 2, 100)


def probe_ids(after: int, count: int, forward: bool) -> list[int]:
    """The `count` ids that follow id `after` in the list's order (ids start at 1)."""
    if forward:
        return list(range(after + 1, after + 1 + count))
    return list(range(after - 1, max(after - 1 - count, 0), -1))


def common_position(positions: Sequence[Position]) -> list[str] | None:
    """The one position at least two shards are at, every shard not at its end with them (the
    cursor `at_frontier` makes), or None. A cursor made before `at_frontier` holds each shard's
    own last item, so no two of its shards share a position; but one live shard's position alone
    may lie behind items other shards answered, and is not taken for a frontier."""
    at = [p for p in positions if p is not False]
    if len(at) < 2 or not isinstance(at[0], list) or any(p != at[0] for p in at):
        return None
    return at[0]


def at_frontier(positions: Sequence[Position] | None, shards: int, frontier: list[str]) -> list[Position]:
    """Every shard not at its end moved to `frontier`, the last item answered (or the last id
    read by key). In a list in id order with no filter, every item up to the frontier has been
    answered, from whichever shard: so each shard may go on from there, and the next page may
    read the ids after it by key."""
    current: Sequence[Position] = positions if positions is not None else [None] * shards
    return [False if p is False else list(frontier) for p in current]


class _Reversed:
    """Orders values in reverse (for merging lists sorted in descending order)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __lt__(self, other: _Reversed) -> bool:
        return bool(self.value > other.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Reversed) and bool(self.value == other.value)

    __hash__ = None  # type: ignore[assignment]  # compared while merging, never hashed
