"""localcloud.dynamodb_key_conditions: a Query whose KeyConditionExpression has a part that is not
a key condition is a ValidationException, as in DynamoDB (moto reads `pk = :v AND XXXX` as
`pk = :v`); every form of key condition the code sends still works."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from localcloud.patching import install_all


@pytest.fixture
def ddb():
    install_all()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="T",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        for sk in ("a1", "a2", "b1"):
            client.put_item(TableName="T", Item={"pk": {"S": "p"}, "sk": {"S": sk}})
        yield client


def query(ddb, expression: str) -> list[str]:
    values = {":p": {"S": "p"}, ":a": {"S": "a"}, ":b": {"S": "b"}}
    used = {k: v for k, v in values.items() if k in expression}
    reply = ddb.query(TableName="T", KeyConditionExpression=expression, ExpressionAttributeValues=used)
    return [item["sk"]["S"] for item in reply["Items"]]


@pytest.mark.parametrize("expression", ["pk = :p AND XXXX", "pk = :p AND", "pk = :p XXXX", "pk = :p AND sk BETWEEN :a"])
def test_a_part_that_is_not_a_key_condition_is_refused(ddb, expression):
    with pytest.raises(ClientError) as refused:
        query(ddb, expression)
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert "KeyConditionExpression" in refused.value.response["Error"]["Message"]


@pytest.mark.parametrize(
    ("expression", "found"),
    [
        ("pk = :p", ["a1", "a2", "b1"]),
        ("pk=:p and sk < :b", ["a1", "a2"]),
        ("pk = :p AND sk >= :b", ["b1"]),
        ("pk = :p AND sk BETWEEN :a AND :b", ["a1", "a2"]),
        ("(pk = :p) AND (begins_with(sk, :a))", ["a1", "a2"]),
    ],
)
def test_every_form_of_key_condition_still_works(ddb, expression, found):
    assert query(ddb, expression) == found
