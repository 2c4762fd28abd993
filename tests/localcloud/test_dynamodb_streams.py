"""localcloud.dynamodb_streams: moto's streams as DynamoDB's behave (cancelled transactions leave
no record; readers keep reading after one; iterators expire)."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from localcloud import dynamodb_streams
from localcloud.patching import install_all
from tests.support.tables import create_pk_table


@pytest.fixture
def table():
    install_all()
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        created = create_pk_table(
            ddb, "T", StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
        )
        streams = boto3.client("dynamodbstreams", region_name="us-east-1")
        arn = created["TableDescription"]["LatestStreamArn"]
        shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
        iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
        yield ddb, streams, iterator["ShardIterator"]


def keys(records):
    return [(r["eventName"], r["dynamodb"]["Keys"]["pk"]["S"]) for r in records]


def test_a_cancelled_transaction_leaves_no_stream_record_and_later_writes_are_read(table):
    ddb, streams, iterator = table
    ddb.put_item(TableName="T", Item={"pk": {"S": "lock"}})
    with pytest.raises(ddb.exceptions.TransactionCanceledException):
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "T", "Item": {"pk": {"S": "applied-then-undone"}}}},
                {
                    "Put": {
                        "TableName": "T",
                        "Item": {"pk": {"S": "lock"}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )
    ddb.put_item(TableName="T", Item={"pk": {"S": "after"}})
    assert keys(streams.get_records(ShardIterator=iterator)["Records"]) == [("INSERT", "lock"), ("INSERT", "after")]


def test_shard_iterators_expire(table, monkeypatch):
    """After 15 minutes, as DynamoDB's; a poller held up meanwhile keeps its current one however
    many iterators others take."""
    ddb, streams, iterator = table
    now = [1000.0]
    monkeypatch.setattr(dynamodb_streams, "_clock", lambda: now[0])
    ddb.put_item(TableName="T", Item={"pk": {"S": "a"}})
    first = iterator
    slow = streams.get_shard_iterator(
        StreamArn=streams.list_streams()["Streams"][0]["StreamArn"],
        ShardId=streams.describe_stream(StreamArn=streams.list_streams()["Streams"][0]["StreamArn"])[
            "StreamDescription"
        ]["Shards"][0]["ShardId"],
        ShardIteratorType="TRIM_HORIZON",
    )["ShardIterator"]
    for _ in range(1100):  # more than the 1,000 the emulator once kept
        iterator = streams.get_records(ShardIterator=iterator)["NextShardIterator"]
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    kept = dynamodbstreams_backends["123456789012"]["us-east-1"].shard_iterators
    assert first in kept and slow in kept
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in streams.get_records(ShardIterator=slow)["Records"]] == ["a"]

    now[0] += dynamodb_streams.ITERATOR_LIFETIME_SECONDS + 1
    iterator = streams.get_records(ShardIterator=iterator)["NextShardIterator"]
    assert first not in kept and slow not in kept and iterator in kept
