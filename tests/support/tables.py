"""Putting a running local cloud's tables back to empty, as a fresh `make dev` starts."""

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
