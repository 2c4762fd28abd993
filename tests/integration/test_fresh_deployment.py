"""Each in-process test runs on a freshly deployed stack: the `cloud` fixture puts moto back to the
state it had right after provisioning template.yaml (tests/support/moto_state.py, ADR 0041), so
nothing one test leaves behind is seen by the next."""

from __future__ import annotations

import json

import boto3
from moto.core.base_backend import BackendDict

from tests.conftest import Cloud


def _leave_something_everywhere(cloud: Cloud) -> None:
    for table in cloud.tables.values():  # an item (and its stream record, where the table streams)
        key = cloud.dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]
        cloud.dynamodb.put_item(TableName=table, Item={k["AttributeName"]: {"S": "left-behind"} for k in key})
    for url in (cloud.queues or {}).values():
        cloud.sqs.send_message(QueueUrl=url, MessageBody="left behind")
    for arn in cloud.state_machines.values():
        cloud.stepfunctions.start_execution(stateMachineArn=arn, input=json.dumps({"left": "behind"}))
    secret = next(iter(cloud.secrets or {}))
    cloud.secretsmanager.put_secret_value(SecretId=secret, SecretString="changed by a test")
    events = boto3.client("events", region_name="us-east-1")
    events.put_rule(Name="left-behind", EventBusName=next(iter((cloud.event_buses or {}).values())), EventPattern="{}")
    cloud.dynamodb.create_table(
        TableName="LeftBehind",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    cloud.sqs.create_queue(QueueName="left-behind")
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="left-behind")  # a service not provisioned
    boto3.client("sqs", region_name="eu-west-1").create_queue(QueueName="left-behind")  # another region


def _stream_records(cloud: Cloud) -> int:
    streams = boto3.client("dynamodbstreams", region_name="us-east-1")
    count = 0
    for table in cloud.tables.values():
        arn = cloud.dynamodb.describe_table(TableName=table)["Table"].get("LatestStreamArn")
        if not arn:
            continue
        for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
            iterator = streams.get_shard_iterator(
                StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            count += len(streams.get_records(ShardIterator=iterator)["Records"])
    return count


def _assert_as_deployed(cloud: Cloud, secrets: dict[str, str]) -> None:
    assert sorted(cloud.dynamodb.list_tables()["TableNames"]) == sorted(cloud.tables.values())
    for table in cloud.tables.values():
        assert cloud.dynamodb.scan(TableName=table)["Items"] == [], table
    assert _stream_records(cloud) == 0
    assert sorted(cloud.sqs.list_queues().get("QueueUrls", [])) == sorted((cloud.queues or {}).values())
    for url in (cloud.queues or {}).values():
        attributes = cloud.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert attributes["ApproximateNumberOfMessages"] == "0", url
        assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0", url
    for arn in cloud.state_machines.values():
        assert cloud.stepfunctions.list_executions(stateMachineArn=arn)["executions"] == [], arn
    for secret, value in secrets.items():
        assert cloud.secretsmanager.get_secret_value(SecretId=secret)["SecretString"] == value
    events = boto3.client("events", region_name="us-east-1")
    for bus in (cloud.event_buses or {}).values():
        assert "left-behind" not in [r["Name"] for r in events.list_rules(EventBusName=bus)["Rules"]]
    assert boto3.client("s3", region_name="us-east-1").list_buckets()["Buckets"] == []
    assert boto3.client("sqs", region_name="eu-west-1").list_queues().get("QueueUrls", []) == []


def test_nothing_a_test_leaves_behind_reaches_the_next(cloud, _provisioned):
    _, snapshot = _provisioned
    secrets = dict(cloud.secrets or {})
    _assert_as_deployed(cloud, secrets)  # what this test was given
    _leave_something_everywhere(cloud)
    assert cloud.scan("ProductsTable") and _stream_records(cloud) > 0  # it was there
    snapshot.restore()  # what the next test's `cloud` does first
    _assert_as_deployed(cloud, secrets)
    # and what a stream-reading test then sees is its own writes only
    cloud.dynamodb.put_item(TableName=cloud.tables["ProductsTable"], Item={"pk": {"S": "mine"}})
    assert _stream_records(cloud) == 1


def test_the_stack_comes_back_after_moto_dropped_every_backend(cloud, _provisioned):
    """A test that starts `mock_aws` of its own (e.g. test_cursors) makes moto drop every backend;
    the next `cloud` still gets the provisioned stack."""
    _, snapshot = _provisioned
    secrets = dict(cloud.secrets or {})
    _leave_something_everywhere(cloud)
    BackendDict.reset()
    assert cloud.dynamodb.list_tables()["TableNames"] == []
    snapshot.restore()
    _assert_as_deployed(cloud, secrets)
