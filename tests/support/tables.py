"""Tables in tests: a plain one to create in moto, and a running local cloud's put back to empty,
as a fresh `make dev` starts."""

from __future__ import annotations

from typing import Any


def empty_tables(dynamodb: Any) -> None:
    """Delete every item of every table the emulator behind `dynamodb` (a boto3 client) holds,
    id counters included: the next entity of each kind gets id 1 again, as in a fresh deployment."""
    for table in dynamodb.list_tables()["TableNames"]:
        keys = [k["AttributeName"] for k in dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]]
        names = {f"#k{i}": key for i, key in enumerate(keys)}
        pages = dynamodb.get_paginator("scan").paginate(
            TableName=table, ProjectionExpression=", ".join(names), ExpressionAttributeNames=names
        )
        for page in pages:
            for item in page["Items"]:
                dynamodb.delete_item(TableName=table, Key={k: item[k] for k in keys})


def create_pk_table(client: Any, name: str, **extra: Any) -> dict[str, Any]:
    """An on-demand table keyed by the string attribute `pk` alone; `extra` adds to the
    CreateTable request (a stream, say). Returns CreateTable's answer."""
    return client.create_table(  # type: ignore[no-any-return]
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        **extra,
    )
