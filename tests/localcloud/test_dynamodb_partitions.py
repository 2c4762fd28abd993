"""localcloud.dynamodb_partitions: a Query answered from its partition's items answers exactly
what moto answers from the whole table -- every page, count, scanned count and last evaluated key
-- on the table and on indexes of every projection, with and without a sort key, whatever the
key condition, order, limit, filter and projection; and it does read only its partition."""

from __future__ import annotations

import itertools
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from localcloud import dynamodb_partitions
from localcloud.patching import install_all

_names = itertools.count()

INDEXES = [
    {
        "IndexName": "keys",
        "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}, {"AttributeName": "gr", "KeyType": "RANGE"}],
        "Projection": {"ProjectionType": "KEYS_ONLY"},
    },
    {
        "IndexName": "include",
        "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["a"]},
    },
    {
        "IndexName": "all",
        "KeySchema": [{"AttributeName": "h", "KeyType": "HASH"}, {"AttributeName": "hs", "KeyType": "RANGE"}],
        "Projection": {"ProjectionType": "ALL"},
    },
    {
        "IndexName": "number",
        "KeySchema": [{"AttributeName": "gr", "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "KEYS_ONLY"},
    },
]
DEFINITIONS = [
    {"AttributeName": "pk", "AttributeType": "S"},
    {"AttributeName": "sk", "AttributeType": "N"},
    {"AttributeName": "g", "AttributeType": "S"},
    {"AttributeName": "gr", "AttributeType": "N"},
    {"AttributeName": "h", "AttributeType": "S"},
    {"AttributeName": "hs", "AttributeType": "S"},
]

small = st.sampled_from(["x", "y", "xy"])
payload = st.recursive(
    st.one_of(
        st.builds(lambda v: {"S": v}, st.text(max_size=4)),
        st.builds(lambda v: {"N": str(v)}, st.integers(-5, 5)),
    ),
    lambda inner: st.builds(lambda v: {"L": v}, st.lists(inner, max_size=3)),
    max_leaves=5,
)
item_parts = st.fixed_dictionaries(
    {"pk": small, "sk": st.integers(0, 4)},
    optional={
        "g": small,
        "gr": st.integers(0, 2),  # few values: ties that sort by the table's key
        "h": small,
        "hs": st.sampled_from(["a", "ab", "b", "c"]),
        "a": payload,
        "b": payload,
    },
)

range_conditions: dict[str, list[str]] = {
    "sk": ["sk = :r", "sk < :r", "sk >= :r", "sk BETWEEN :r AND :s"],
    "gr": ["gr <= :r", "gr > :r", "gr BETWEEN :r AND :s"],
    "hs": ["hs = :t", "begins_with(hs, :t)", "hs > :t"],
}


@st.composite
def queries(draw: Any) -> dict[str, Any]:
    table, index = draw(
        st.sampled_from(
            [
                ("range", None),
                ("hash", None),
                ("range", "keys"),
                ("range", "include"),
                ("range", "all"),
                ("hash", "keys"),
                ("range", "number"),
            ]
        )
    )
    hash_attr = {None: "pk", "keys": "g", "include": "g", "all": "h", "number": "gr"}[index]
    sort_attr = {None: "sk" if table == "range" else None, "keys": "gr", "include": None, "all": "hs", "number": None}[
        index
    ]
    values: dict[str, Any] = {":p": {"N": "1"} if hash_attr == "gr" else {"S": draw(small)}}
    condition = f"{hash_attr} = :p"
    if sort_attr and draw(st.booleans()):
        condition += " AND " + draw(st.sampled_from(range_conditions[sort_attr]))
        if ":r" in condition:
            values[":r"] = {"N": str(draw(st.integers(0, 4)))}
        if ":s" in condition:
            values[":s"] = {"N": str(draw(st.integers(0, 4)))}
        if ":t" in condition:
            values[":t"] = {"S": draw(st.sampled_from(["a", "b"]))}
    params: dict[str, Any] = {"KeyConditionExpression": condition, "ScanIndexForward": draw(st.booleans())}
    if index:
        params["IndexName"] = index
    if draw(st.booleans()):
        params["Limit"] = draw(st.integers(1, 4))
    if draw(st.booleans()):
        params["FilterExpression"] = draw(st.sampled_from(["attribute_exists(a)", "attribute_not_exists(b)"]))
    if index in (None, "all") and draw(st.booleans()):
        params["ProjectionExpression"] = "pk, a"
    params["ExpressionAttributeValues"] = values
    return {"table": table, **params}


@pytest.fixture(scope="module")
def ddb():
    install_all()
    with mock_aws():
        yield boto3.client("dynamodb", region_name="us-east-1")


def _tables(ddb: Any) -> dict[str, str]:
    """A fresh pair of tables (one with a sort key, one without), with every kind of index."""
    n = next(_names)
    names = {"range": f"range{n}", "hash": f"hash{n}"}
    ddb.create_table(
        TableName=names["range"],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=DEFINITIONS,
        GlobalSecondaryIndexes=INDEXES,
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.create_table(
        TableName=names["hash"],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[d for d in DEFINITIONS if d["AttributeName"] in ("pk", "g", "gr")],
        GlobalSecondaryIndexes=[INDEXES[0]],
        BillingMode="PAY_PER_REQUEST",
    )
    return names


def _typed(parts: dict[str, Any]) -> dict[str, Any]:
    typed: dict[str, Any] = {}
    for name, value in parts.items():
        if name in ("sk", "gr"):
            typed[name] = {"N": str(value)}
        elif name in ("a", "b"):
            typed[name] = value
        else:
            typed[name] = {"S": value}
    return typed


def _pages(ddb: Any, table: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Every page of the Query, each as DynamoDB answers it (without its metadata)."""
    pages = []
    start: dict[str, Any] | None = None
    for _ in range(50):
        answer = ddb.query(TableName=table, **params, **({"ExclusiveStartKey": start} if start else {}))
        answer.pop("ResponseMetadata")
        pages.append(answer)
        start = answer.get("LastEvaluatedKey")
        if start is None:
            return pages
    raise AssertionError("the Query never ended")


writes = st.one_of(
    st.builds(lambda parts: ("put", parts), item_parts),  # new, or replacing an item
    st.builds(lambda pk, sk, g: ("move", (pk, sk, g)), small, st.integers(0, 4), small),  # another partition
    st.builds(lambda pk, sk: ("delete", (pk, sk)), small, st.integers(0, 4)),
)


def _write(ddb: Any, names: dict[str, str], step: tuple[str, Any]) -> None:
    kind, what = step
    if kind == "put":
        item = _typed(what)
        ddb.put_item(TableName=names["range"], Item=item)
        ddb.put_item(TableName=names["hash"], Item={k: v for k, v in item.items() if k not in ("sk", "h", "hs")})
    elif kind == "move":
        pk, sk, g = what
        for table, key in (
            (names["range"], {"pk": {"S": pk}, "sk": {"N": str(sk)}}),
            (names["hash"], {"pk": {"S": pk}}),
        ):
            ddb.update_item(
                TableName=table, Key=key, UpdateExpression="SET g = :g", ExpressionAttributeValues={":g": {"S": g}}
            )
    else:
        pk, sk = what
        ddb.delete_item(TableName=names["range"], Key={"pk": {"S": pk}, "sk": {"N": str(sk)}})
        ddb.delete_item(TableName=names["hash"], Key={"pk": {"S": pk}})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    items=st.lists(item_parts, max_size=25),
    steps=st.lists(st.one_of(queries(), writes), min_size=1, max_size=10),
)
def test_a_query_answers_what_moto_answers_from_the_whole_table(ddb, items, steps):
    """Queries between writes (new items, an item moved to another index partition, deletions):
    the partitions the emulator keeps between writes are never stale."""
    names = _tables(ddb)
    for parts in items:
        _write(ddb, names, ("put", parts))
    for step in steps:
        if isinstance(step, tuple):
            _write(ddb, names, step)
            continue
        params = {k: v for k, v in step.items() if k != "table"}
        table = names[step["table"]]
        narrowed = _pages(ddb, table, params)
        with dynamodb_partitions.whole_table():
            reference = _pages(ddb, table, params)
        assert narrowed == reference, params


def test_a_query_reads_only_its_partition(ddb, monkeypatch):
    """The candidates are the partition's items: moto's sort sees those, not the table."""
    from moto.dynamodb.models.table import Table

    names = _tables(ddb)
    for n in range(30):
        item = {"pk": {"S": f"p{n % 3}"}, "sk": {"N": str(n)}, "g": {"S": f"g{n % 5}"}, "gr": {"N": "1"}}
        ddb.put_item(TableName=names["range"], Item=item)
    sorted_sizes: list[int] = []
    sorted_items = Table.sorted_items

    def counting(self: Any, hash_attrs: Any, range_attrs: Any, items: list[Any]) -> list[Any]:
        sorted_sizes.append(len(items))
        return sorted_items(self, hash_attrs, range_attrs, items)

    candidates: list[int] = []
    all_items = Table.all_items

    def read(self: Any) -> list[Any]:
        found = all_items(self)
        candidates.append(len(found))
        return found

    monkeypatch.setattr(Table, "sorted_items", counting)
    monkeypatch.setattr(Table, "all_items", read)
    table = names["range"]
    on_table = ddb.query(
        TableName=table, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p1"}}
    )
    on_index = ddb.query(
        TableName=table,
        IndexName="keys",
        KeyConditionExpression="g = :g",
        ExpressionAttributeValues={":g": {"S": "g2"}},
    )
    assert on_table["Count"] == 10 and on_index["Count"] == 6
    assert candidates == [10, 6]  # each Query's partition, not the table's 30 items
    assert sorted_sizes == [6]
    assert all(set(i) == {"pk", "sk", "g", "gr"} for i in on_index["Items"])


def test_the_partitions_kept_between_writes_follow_every_write(ddb):
    """Each kind of write between two Queries shows in the second: a new item, an item moved to
    another partition of the index, a deletion, and a transaction; two indexes read between the
    same two writes each find their own partitions."""
    names = _tables(ddb)
    table = names["range"]
    _write(ddb, names, ("put", {"pk": "x", "sk": 1, "g": "x", "gr": 1, "h": "x", "hs": "a"}))

    def both(index: str, attribute: str, value: str) -> list[str]:
        params = {
            "IndexName": index,
            "KeyConditionExpression": f"{attribute} = :p",
            "ExpressionAttributeValues": {":p": {"S": value}},
        }
        narrowed = _pages(ddb, table, params)
        with dynamodb_partitions.whole_table():
            assert narrowed == _pages(ddb, table, params)
        return sorted(f"{i['pk']['S']}{i['sk']['N']}" for page in narrowed for i in page["Items"])

    assert both("keys", "g", "x") == ["x1"] and both("all", "h", "x") == ["x1"]
    _write(ddb, names, ("put", {"pk": "y", "sk": 2, "g": "x", "gr": 1}))
    assert both("keys", "g", "x") == ["x1", "y2"]
    _write(ddb, names, ("move", ("y", 2, "y")))
    assert both("keys", "g", "x") == ["x1"] and both("keys", "g", "y") == ["y2"]
    _write(ddb, names, ("delete", ("x", 1)))
    assert both("keys", "g", "x") == [] and both("all", "h", "x") == []
    ddb.transact_write_items(
        TransactItems=[{"Put": {"TableName": table, "Item": _typed({"pk": "z", "sk": 3, "g": "x", "gr": 2})}}]
    )
    assert both("keys", "g", "x") == ["z3"]
