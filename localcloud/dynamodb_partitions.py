"""A Query reads the items of its own partition, not the whole table, as DynamoDB does.

moto 5.2 answers every Query from `Table.all_items()`: every item of the table, sorted (through
DynamoType comparisons) on each call, then compared one by one with the partition-key value asked
for. A Query's cost thus grows with the table rather than with its partition, and a sharded list
page sends 16 of them (docs/performance.md, "List latency"). :func:`install` hands moto's
`Table.query` only the *candidates*: on the table, the items stored under the partition-key value
asked for (moto's own bucket for that key); on an index, the items whose index partition-key
attributes hold the string values asked for (from a map of the table's items by those values,
built at the first Query after a write and kept until the next write, so the 16 Queries of a
sharded page read the table once). moto then applies every rule of its own to them --
its key match again, its sort, the start key, the limits, the projection, the filter -- so the
answer is moto's own, computed from fewer items. On a KEYS_ONLY or INCLUDE index the candidates
are the index's own items (the attributes it projects), as DynamoDB reads them: moto copies only
those, and its 1 MB page limit counts their size, as DynamoDB's does, where moto alone counted
whole table items.

The candidates are a superset of moto's matches: an item is left out only when moto's own
comparison skips it (the attribute missing, of another type, or another string). A key condition
on a number or a binary value is not narrowed (moto compares those after a cast). The
candidates keep `all_items`' order. tests/localcloud/test_dynamodb_partitions.py compares the
answers with moto's own over randomised tables, indexes and queries. It is emulator speed, not
application logic.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from localcloud.patching import patch

_state = threading.local()


@contextmanager
def whole_table() -> Iterator[None]:
    """Answer Queries from every item of the table, as moto does by itself, in this thread,
    meanwhile (the reference the tests compare with)."""
    before = getattr(_state, "whole", False)
    _state.whole = True
    try:
        yield
    finally:
        _state.whole = before


def _stored(table: Any) -> list[Any]:
    """Every item of `table`, unsorted (`all_items` without its sort)."""
    if table.range_key_attr:
        return [item for bucket in table.items.values() for item in bucket.values()]
    return list(table.items.values())


_PARTITIONS = "_localcloud_partitions"


def _partitions(table: Any, names: tuple[str, ...]) -> dict[tuple[str, ...], list[Any]]:
    """The items of `table` by the string values of their attributes `names` (an index's
    partition key), built at the first Query after a DynamoDB write and kept until the next one
    (:func:`localcloud.dynamodb_atomic.writes` counts them; every request that may change an item
    goes through it, and the items dict of a table replaced or restored is another object)."""
    from localcloud import dynamodb_atomic

    stamp = (dynamodb_atomic.writes(), id(table.items))
    cached = table.__dict__.get(_PARTITIONS)
    if cached is None or cached[0] != stamp:
        cached = (stamp, {})
        table.__dict__[_PARTITIONS] = cached
    maps: dict[tuple[str, ...], dict[tuple[str, ...], list[Any]]] = cached[1]
    if names not in maps:
        by_value: dict[tuple[str, ...], list[Any]] = {}
        for item in _stored(table):
            values = []
            for name in names:
                held = item.attrs.get(name)
                if held is None or held.type != "S":
                    break
                values.append(held.value)
            else:
                by_value.setdefault(tuple(values), []).append(item)
        maps[names] = by_value
    return maps[names]


def _index_view(index: Any, item: Any) -> Any:
    """`item` as `index` holds it: for a KEYS_ONLY or INCLUDE index, an Item with only the
    attributes the index projects (sharing their values, which a Query does not change)."""
    from moto.dynamodb.models.dynamo_type import Item, LimitedSizeDict

    projection = index.projection or {}
    kind = projection.get("ProjectionType")
    if kind not in ("KEYS_ONLY", "INCLUDE"):
        return item
    names = [*index.table_key_attrs, *index.schema_key_attrs]
    if kind == "INCLUDE":
        names += projection.get("NonKeyAttributes", [])
    view: Any = Item.__new__(Item)
    view.hash_key, view.range_key = item.hash_key, item.range_key
    attrs = LimitedSizeDict.__new__(LimitedSizeDict)
    dict.__init__(attrs)
    for name in names:
        if name in item.attrs and name not in attrs:
            dict.__setitem__(attrs, name, item.attrs[name])
    view.attrs = attrs
    return view


def candidates(table: Any, hash_key: Any, index_name: str | None, hash_key_conditions: Any) -> list[Any] | None:
    """The items a Query of `table` may answer, in `all_items`' order (None: every item)."""
    if index_name is None:
        if hash_key is None:
            return None
        bucket = table.items.get(hash_key)
        if bucket is None:
            found: list[Any] = []
        elif table.range_key_attr:
            found = list(bucket.values())
        else:
            found = [bucket]
    else:
        strings = [(name, value.value) for name, value in hash_key_conditions or () if value.type == "S"]
        index = {i.name: i for i in table.all_indexes()}.get(index_name)
        if not strings or index is None:
            return None
        names = tuple(name for name, _ in strings)
        partition = _partitions(table, names).get(tuple(value for _, value in strings), [])
        found = [_index_view(index, item) for item in partition]
    return sorted(found, key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)


@patch
def install() -> None:
    from moto.dynamodb.models.table import Table

    from localcloud import dynamodb_atomic

    dynamodb_atomic.install()  # its count of writes says when the partitions must be read again

    query = Table.query
    all_items = Table.all_items
    signature = inspect.signature(query)

    @functools.wraps(all_items)
    def all_items_or_candidates(self: Any) -> list[Any]:
        narrowed = getattr(_state, "candidates", None)
        if narrowed is not None and narrowed[0] is self:
            return list(narrowed[1])
        return all_items(self)

    @functools.wraps(query)
    def partition_query(self: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(_state, "whole", False):
            return query(self, *args, **kwargs)
        bound = signature.bind(self, *args, **kwargs).arguments
        found = (
            None  # QueryFilter (the legacy API) reads attributes before the projection
            if bound.get("filter_kwargs")
            else candidates(self, bound.get("hash_key"), bound.get("index_name"), bound.get("hash_key_conditions"))
        )
        if found is None:
            return query(self, *args, **kwargs)
        outer = getattr(_state, "candidates", None)
        _state.candidates = (self, found)
        try:
            return query(self, *args, **kwargs)
        finally:
            _state.candidates = outer

    Table.all_items = all_items_or_candidates  # type: ignore[method-assign]
    Table.query = partition_query  # type: ignore[method-assign]
