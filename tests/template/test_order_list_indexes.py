"""The lists of orders the code reads (`orders.repository`'s index tables) are indexes of
OrdersTable in template.yaml, under the same names, with the same keys and key types, and the
attributes an order is written with (`list_keys`) are their partition keys. Read from an index
that is not there, by a key it does not have, or merged by a sort key its items do not carry, a
list is a 500 (or in the wrong order) on its first request; template.yaml is the source of truth."""

from __future__ import annotations

from orders.repository import ALL_ORDERS, BY_CREATOR, BY_CUSTOMER, BY_STATUS, list_keys
from sales_common.shards import ORDER_SHARDS
from tests.support.apigw import template

# each list of orders and what it sorts by: ids (id order) or placement times (createdAt)
LISTS = [
    *((by_id, "id", "N") for by_id, _ in (ALL_ORDERS, BY_CUSTOMER, BY_CREATOR)),
    *((by_time, "createdAt", "S") for _, by_time in (ALL_ORDERS, BY_CUSTOMER, BY_CREATOR)),
    (BY_STATUS, "createdAt", "S"),
]


def _indexes() -> dict[str, tuple[str, str, str]]:
    """Each index of OrdersTable: (partition key, sort key, sort key's type)."""
    properties = template().properties("OrdersTable")
    types = {d["AttributeName"]: d["AttributeType"] for d in properties["AttributeDefinitions"]}
    found = {}
    for index in properties["GlobalSecondaryIndexes"]:
        keys = {k["KeyType"]: k["AttributeName"] for k in index["KeySchema"]}
        found[index["IndexName"]] = (keys["HASH"], keys["RANGE"], types[keys["RANGE"]])
    return found


def test_each_order_list_is_an_index_of_the_orders_table_with_its_keys():
    indexes = _indexes()
    for index, sort_key, sort_type in LISTS:
        assert (index.range_key, index.range_type) == (sort_key, sort_type), index
        assert indexes.get(index.name) == (index.hash_key, sort_key, sort_type), index
        assert index.shards == ORDER_SHARDS, index


def test_an_order_is_written_under_the_partition_key_of_each_list():
    assert set(list_keys(1, 2, "ann", "CONFIRMED")) == {index.hash_key for index, _, _ in LISTS}
