"""localcloud.dynamodb_responses: DynamoDB's attribute values serialized directly give the same
response bytes as moto's generic serializer, for every operation that answers items, whatever
the items hold; and the direct path is the one taken."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from localcloud import dynamodb_responses
from localcloud.patching import install_all

text = st.text(max_size=6)
number = st.decimals(allow_nan=False, allow_infinity=False, places=3, min_value=-(10**6), max_value=10**6).map(str)
blob = st.binary(max_size=6)
scalar = st.one_of(
    st.builds(lambda v: {"S": v}, text),
    st.builds(lambda v: {"N": v}, number),
    st.builds(lambda v: {"B": v}, blob),
    st.builds(lambda v: {"SS": sorted(v)}, st.sets(text, min_size=1, max_size=3)),
    st.builds(lambda v: {"NS": sorted(v)}, st.sets(st.integers(-50, 50).map(str), min_size=1, max_size=3)),
    st.builds(lambda v: {"BS": sorted(v)}, st.sets(blob, min_size=1, max_size=3)),
    st.just({"NULL": True}),
    st.builds(lambda v: {"BOOL": v}, st.booleans()),
)
value = st.recursive(
    scalar,
    lambda inner: st.one_of(
        st.builds(lambda v: {"L": v}, st.lists(inner, max_size=3)),
        # (an empty map key is left to moto's generic path, whose answer botocore cannot parse)
        st.builds(lambda v: {"M": v}, st.dictionaries(st.text(min_size=1, max_size=6), inner, max_size=3)),
    ),
    max_leaves=8,
)
attributes = st.dictionaries(st.sampled_from(["a", "b", "c", "Data", "S", "M"]), value, max_size=4)


@pytest.fixture(scope="module")
def ddb():
    install_all()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="T",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "N"},
                {"AttributeName": "g", "AttributeType": "S"},
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "byG",
                    "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


def _bodies(client: Any, call: Any) -> tuple[bytes, bytes]:
    """The raw response body of `call()` with the direct path and with moto's generic one."""
    seen: list[bytes] = []

    def keep(response_dict: Any, **_: Any) -> None:
        seen.append(response_dict["body"])

    client.meta.events.register("response-received.dynamodb", keep)
    try:
        call()
        with dynamodb_responses.generic():
            call()
    finally:
        client.meta.events.unregister("response-received.dynamodb", keep)
    assert len(seen) == 2
    return seen[0], seen[1]


_rounds = iter(range(10**9))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items=st.lists(attributes, min_size=1, max_size=4))
def test_every_item_answer_is_byte_for_byte_the_generic_serializers(ddb, items):
    pk = f"p{next(_rounds)}"
    stored = []
    for n, attrs in enumerate(items):
        item = {**attrs, "pk": {"S": pk}, "sk": {"N": str(n)}, "g": {"S": pk}}
        ddb.put_item(TableName="T", Item=item)
        stored.append(item)
    key = {"pk": {"S": pk}, "sk": {"N": "0"}}
    calls = {
        "GetItem": lambda: ddb.get_item(TableName="T", Key=key),
        "Query": lambda: ddb.query(
            TableName="T", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": pk}}, Limit=3
        ),
        "Query byG": lambda: ddb.query(
            TableName="T",
            IndexName="byG",
            KeyConditionExpression="g = :p",
            ExpressionAttributeValues={":p": {"S": pk}},
            ScanIndexForward=False,
        ),
        "Scan": lambda: ddb.scan(TableName="T", Limit=5),
        "BatchGetItem": lambda: ddb.batch_get_item(RequestItems={"T": {"Keys": [key]}}),
        "TransactGetItems": lambda: ddb.transact_get_items(TransactItems=[{"Get": {"TableName": "T", "Key": key}}]),
        "PutItem": lambda: ddb.put_item(
            TableName="T", Item=stored[0], ReturnValues="ALL_OLD"
        ),  # the old item: the same twice
        "UpdateItem": lambda: ddb.update_item(
            TableName="T",
            Key=key,
            UpdateExpression="SET touched = :t",
            ExpressionAttributeValues={":t": {"N": "1"}},
            ReturnValues="ALL_NEW",
        ),
    }
    for name, call in calls.items():
        direct, reference = _bodies(ddb, call)
        assert direct == reference, name
    # and the items come back as they were written (the serializer is not merely consistent)
    stored[0]["touched"] = {"N": "1"}
    back = ddb.query(TableName="T", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": pk}})
    assert back["Items"] == stored


def test_the_direct_path_is_taken_for_items(ddb, monkeypatch):
    from moto.core.serialize import ResponseSerializer

    ddb.put_item(TableName="T", Item={"pk": {"S": "direct"}, "sk": {"N": "1"}, "m": {"M": {"x": {"L": [{"S": "y"}]}}}})
    visited: list[str] = []  # members of an AttributeValue the generic serializer visits
    generic_member = ResponseSerializer._serialize_structure_member

    def counting(self, serialized, value, shape, key):
        if getattr(getattr(shape, "parent", None), "name", None) == "AttributeValue":
            visited.append(key)
        return generic_member(self, serialized, value, shape, key)

    monkeypatch.setattr(ResponseSerializer, "_serialize_structure_member", counting)
    key = {"pk": {"S": "direct"}, "sk": {"N": "1"}}
    ddb.get_item(TableName="T", Key=key)
    assert visited == []
    with dynamodb_responses.generic():
        ddb.get_item(TableName="T", Key=key)
    assert len(visited) >= 10 * 5  # the reference visits every member of each of the 5 values
