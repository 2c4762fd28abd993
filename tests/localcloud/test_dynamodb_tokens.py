"""localcloud.dynamodb_tokens: TransactWriteItems is idempotent per ClientRequestToken, as
DynamoDB's is -- the SDK's retry of a transaction that was applied (its answer lost) succeeds and
changes nothing, instead of failing on its own writes."""

from __future__ import annotations

import uuid

import boto3
import pytest
from moto import mock_aws

from localcloud.patching import install_all
from tests.support.tables import create_pk_table


@pytest.fixture
def ddb():
    install_all()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_pk_table(client, "T")
        yield client


@pytest.fixture
def t1():
    """A token of this test's own (tokens are remembered per process, as botocore's are unique)."""
    return uuid.uuid4().hex


@pytest.fixture
def t2():
    return uuid.uuid4().hex


def create(pk: str, n: int = 1) -> list[dict]:
    """A transaction that creates `pk` (only if it is new) and adds `n` to a counter."""
    return [
        {"Put": {"TableName": "T", "Item": {"pk": {"S": pk}}, "ConditionExpression": "attribute_not_exists(pk)"}},
        {
            "Update": {
                "TableName": "T",
                "Key": {"pk": {"S": "count"}},
                "UpdateExpression": "ADD n :n",
                "ExpressionAttributeValues": {":n": {"N": str(n)}},
            }
        },
    ]


def count(ddb) -> int:
    return int(ddb.get_item(TableName="T", Key={"pk": {"S": "count"}})["Item"]["n"]["N"])


def test_a_repeated_token_succeeds_and_changes_nothing(ddb, t1):
    ddb.transact_write_items(TransactItems=create("a"), ClientRequestToken=t1)

    ddb.transact_write_items(TransactItems=create("a"), ClientRequestToken=t1)  # the SDK's retry

    assert count(ddb) == 1


def test_the_same_items_under_a_new_token_run_again(ddb, t1, t2):
    ddb.transact_write_items(TransactItems=create("a"), ClientRequestToken=t1)

    with pytest.raises(ddb.exceptions.TransactionCanceledException):
        ddb.transact_write_items(TransactItems=create("a"), ClientRequestToken=t2)
    assert count(ddb) == 1


def test_a_token_used_with_other_parameters_is_refused(ddb, t1):
    ddb.transact_write_items(TransactItems=create("a"), ClientRequestToken=t1)

    with pytest.raises(ddb.exceptions.IdempotentParameterMismatchException):
        ddb.transact_write_items(TransactItems=create("b"), ClientRequestToken=t1)
    assert count(ddb) == 1


def test_a_failed_transaction_is_not_remembered(ddb, t1):
    ddb.put_item(TableName="T", Item={"pk": {"S": "a"}})
    with pytest.raises(ddb.exceptions.TransactionCanceledException):
        ddb.transact_write_items(TransactItems=create("a"), ClientRequestToken=t1)
    ddb.delete_item(TableName="T", Key={"pk": {"S": "a"}})

    ddb.transact_write_items(TransactItems=create("a"), ClientRequestToken=t1)  # runs: it never succeeded

    assert count(ddb) == 1


def test_a_token_is_forgotten_after_ten_minutes(ddb, monkeypatch, t1):
    from localcloud import dynamodb_tokens

    ddb.transact_write_items(TransactItems=create("a", n=1), ClientRequestToken=t1)
    later = dynamodb_tokens.time.monotonic() + dynamodb_tokens.TOKEN_TTL_SECONDS + 1
    monkeypatch.setattr(dynamodb_tokens.time, "monotonic", lambda: later)

    ddb.transact_write_items(TransactItems=create("b", n=1), ClientRequestToken=t1)  # a new transaction

    assert count(ddb) == 2
