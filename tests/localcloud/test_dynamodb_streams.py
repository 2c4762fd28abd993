"""localcloud.dynamodb_streams: moto's streams as DynamoDB's behave (cancelled transactions leave
no record; readers keep reading after one; iterators expire)."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from localcloud import dynamodb_streams
from localcloud.patching import install_all


@pytest.fixture
def table():
    install_all()
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        created = ddb.create_table(
            TableName="T",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
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
    ddb, streams, iterator = table
    monkeypatch.setattr(dynamodb_streams, "MAX_ITERATORS", 3)
    ddb.put_item(TableName="T", Item={"pk": {"S": "a"}})
    first = iterator
    for _ in range(5):
        iterator = streams.get_records(ShardIterator=iterator)["NextShardIterator"]
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    kept = dynamodbstreams_backends["123456789012"]["us-east-1"].shard_iterators
    assert len(kept) <= 3 and first not in kept and iterator in kept
