"""The benchmark's baseline: hand-written boto3 Lambda handlers with no framework.

Each makes the same AWS requests as the real handler of the same route on its happy path (see
`CALLS`), parses and answers JSON by hand, and validates nothing. The figures compare the real
handlers against these, so the ratio is the cost of powertools, pydantic and `sales_common`.
"""

from __future__ import annotations

import json
import os
import time
from decimal import Decimal
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config

_ser, _de = TypeSerializer(), TypeDeserializer()
# created at import, as bare handlers usually do; room for a list's 16 shards at once, as the real
# handlers' client (sales_common.aws)
ddb = boto3.client("dynamodb", config=Config(max_pool_connections=32))
_sfn: Any = None
_pool: Any = None

# route kind -> the AWS requests both the real and the bare handler make on the happy path
CALLS = {
    "get": "GetItem",
    "list": "Query",
    "list_orders": "BatchGetItem (the first ids; + Query x 16 shards in parallel if that leaves the page short)",
    "list_unsharded": "Query + BatchGetItem (the list of orders before ADR 0040; no real twin)",
    "create": "UpdateItem(counter) + PutItem",
    "create_customer": "UpdateItem(counter) + TransactWriteItems(2)",
    "create_order": "BatchGetItem + UpdateItem(counter) + StartSyncExecution + GetItem",
    "update": "UpdateItem",
    "update_order": "GetItem + UpdateItem",
    "delete": "DeleteItem",
    "delete_customer": "GetItem + TransactWriteItems(2)",
    "delete_order": "GetItem + TransactWriteItems(1 + lines)",
}


def _reply(status: int, body: Any = None) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": "" if body is None else json.dumps(body, default=str),
        "isBase64Encoded": False,
    }


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _de.deserialize(v) for k, v in item.items() if k not in ("pk", "entity")}


def _key(entity: str, entity_id: Any) -> dict[str, Any]:
    return {"pk": {"S": f"{entity.upper()}#{entity_id}"}}


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())


def _new_id(table: str, entity: str) -> int:
    r = ddb.update_item(
        TableName=table,
        Key={"pk": {"S": f"COUNTER#{entity.upper()}"}},
        UpdateExpression="ADD lastId :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
        ReturnValues="UPDATED_NEW",
    )
    return int(r["Attributes"]["lastId"]["N"])


def _new_item(entity: str, entity_id: int, body: dict[str, Any]) -> dict[str, Any]:
    now = _now()
    data = {**body, "pk": f"{entity.upper()}#{entity_id}", "entity": entity, "id": entity_id, "version": 1}
    data.update(createdAt=now, updatedAt=now)
    return {k: _ser.serialize(v) for k, v in data.items() if v is not None}


def get(event: dict[str, Any], table: str, entity: str) -> dict[str, Any]:
    r = ddb.get_item(TableName=table, Key=_key(entity, event["pathParameters"]["id"]), ConsistentRead=True)
    return _reply(200, _plain(r["Item"])) if "Item" in r else _reply(404, {"title": "Not found"})


def list_(event: dict[str, Any], table: str, entity: str) -> dict[str, Any]:
    r = ddb.query(
        TableName=table,
        IndexName="byEntity",
        KeyConditionExpression="#k = :e",
        ExpressionAttributeNames={"#k": "entity"},
        ExpressionAttributeValues={":e": {"S": entity}},
        Limit=20,
    )
    return _reply(200, [_plain(i) for i in _full_items(table, r["Items"])])


def list_orders(event: dict[str, Any], table: str, entity: str) -> dict[str, Any]:
    """The sharded list of orders (ADR 0040) as the real handler reads its first page: the first
    ids by key (one BatchGetItem), and only if that leaves the page short, each of the 16 shards
    asked for its first batch in parallel after them, merged by id."""
    from concurrent.futures import ThreadPoolExecutor

    from sales_common.shards import ORDER_SHARDS, first_batch, probe_window  # the same numbers, no framework

    window = probe_window(20)
    keys = [{"pk": {"S": f"ORDER#{i}"}} for i in range(1, window + 1)]
    got = ddb.batch_get_item(RequestItems={table: {"Keys": keys}})["Responses"][table]
    found = sorted((i for i in got if "entityShard" in i), key=lambda i: int(i["id"]["N"]))[:20]
    if len(found) < 20:
        global _pool
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=ORDER_SHARDS)

        def shard(n: int) -> list[dict[str, Any]]:
            r = ddb.query(
                TableName=table,
                IndexName="byEntity",
                KeyConditionExpression="#k = :e AND #id > :after",
                ExpressionAttributeNames={"#k": "entityShard", "#id": "id"},
                ExpressionAttributeValues={":e": {"S": f"order#{n:02d}"}, ":after": {"N": str(window)}},
                Limit=first_batch(20 - len(found), ORDER_SHARDS),
            )
            return list(r["Items"])

        more = (i for items in _pool.map(shard, range(ORDER_SHARDS)) for i in items)
        found += sorted(more, key=lambda i: int(i["id"]["N"]))[: 20 - len(found)]
    return _reply(200, [_plain(i) for i in found])


def list_unsharded(event: dict[str, Any], table: str, entity: str) -> dict[str, Any]:
    """The list of orders as it was read before it was sharded: one query of one list partition
    (the first shard's, which holds a sixteenth of them). Measured beside `list_orders`: the
    difference is what the fan-out costs."""
    r = ddb.query(
        TableName=table,
        IndexName="byEntity",
        KeyConditionExpression="#k = :e",
        ExpressionAttributeNames={"#k": "entityShard"},
        ExpressionAttributeValues={":e": {"S": "order#00"}},
        Limit=20,
    )
    return _reply(200, [_plain(i) for i in _full_items(table, r["Items"])])


def _full_items(table: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The items of a keys-only list index (docs/adr/0039) fetched whole, in the list's order."""
    if not items or not set(items[0]) <= {"pk", "entity", "entityShard", "id"}:
        return items
    keys = [{"pk": i["pk"]} for i in items]
    got = {i["pk"]["S"]: i for i in ddb.batch_get_item(RequestItems={table: {"Keys": keys}})["Responses"][table]}
    return [got[k["pk"]["S"]] for k in keys if k["pk"]["S"] in got]


def create(event: dict[str, Any], table: str, entity: str) -> dict[str, Any]:
    body = json.loads(event["body"], parse_float=Decimal)
    new_id = _new_id(table, entity)
    item = _new_item(entity, new_id, body)
    ddb.put_item(TableName=table, Item=item, ConditionExpression="attribute_not_exists(pk)")
    return _reply(201, _plain(item))


def create_customer(event: dict[str, Any], table: str, entity: str) -> dict[str, Any]:
    body = json.loads(event["body"])
    new_id = _new_id(table, entity)
    item = _new_item(entity, new_id, body)
    lock = {"pk": {"S": f"EMAIL#{body['email'].casefold()}"}, "customerId": {"N": str(new_id)}}
    ddb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": table, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}},
            {"Put": {"TableName": table, "Item": lock, "ConditionExpression": "attribute_not_exists(pk)"}},
        ]
    )
    return _reply(201, _plain(item))


def create_order(event: dict[str, Any], table: str, entity: str) -> dict[str, Any]:
    global _sfn
    body = json.loads(event["body"], parse_float=Decimal)
    products = os.environ["PRODUCTS_TABLE_NAME"]
    keys = [_key("product", line["productId"]) for line in body["items"]]
    quote = ddb.batch_get_item(RequestItems={products: {"Keys": keys, "ConsistentRead": True}})
    prices = {int(p["id"]["N"]): Decimal(p["price"]["N"]) for p in quote["Responses"][products]}
    names = {int(p["id"]["N"]): p["name"]["S"] for p in quote["Responses"][products]}
    lines = [
        {
            "productId": line["productId"],
            "name": names[line["productId"]],
            "quantity": line["quantity"],
            "unitPrice": str(prices[line["productId"]]),
            "lineTotal": str(prices[line["productId"]] * line["quantity"]),
        }
        for line in body["items"]
    ]
    order_id = _new_id(table, entity)
    shard = f"#{order_id % 16:02d}"  # the order's shard of each list, its record's of the holds (ADR 0040)
    payload = {
        "orderId": order_id,
        "listKeys": {
            "entityShard": f"order{shard}",
            "customerShard": f"{body['customerId']}{shard}",
            "creatorShard": f"bench{shard}",
            "statusShard": f"CONFIRMED{shard}",
        },
        "holdKey": f"HOLDS#{order_id % 32:02d}",
        "customerId": body["customerId"],
        "createdBy": "bench",
        "createdAt": _now(),
        "total": str(sum(Decimal(line["lineTotal"]) for line in lines)),
        "items": lines,
    }
    if _sfn is None:
        _sfn = boto3.client("stepfunctions")
    result = _sfn.start_sync_execution(
        stateMachineArn=os.environ["PLACE_ORDER_STATE_MACHINE_ARN"], name=f"bare-{order_id}", input=json.dumps(payload)
    )
    if result["status"] != "SUCCEEDED":
        return _reply(409, {"title": result.get("error")})
    return get({"pathParameters": {"id": order_id}}, table, entity) | {"statusCode": 201}


def update(event: dict[str, Any], table: str, entity: str) -> dict[str, Any]:
    body = json.loads(event["body"], parse_float=Decimal)
    names = {f"#f{i}": k for i, k in enumerate(body)}
    values = {f":v{i}": _ser.serialize(v) for i, v in enumerate(body.values())}
    sets = ", ".join(f"#f{i} = :v{i}" for i in range(len(body)))
    r = ddb.update_item(
        TableName=table,
        Key=_key(entity, event["pathParameters"]["id"]),
        UpdateExpression=f"SET {sets}, updatedAt = :now ADD version :one",
        ConditionExpression="attribute_exists(pk)",
        ExpressionAttributeNames=names,
        ExpressionAttributeValues={**values, ":now": {"S": _now()}, ":one": {"N": "1"}},
        ReturnValues="ALL_NEW",
    )
    return _reply(200, _plain(r["Attributes"]))


def update_order(event: dict[str, Any], table: str, entity: str) -> dict[str, Any]:
    current = ddb.get_item(TableName=table, Key=_key(entity, event["pathParameters"]["id"]), ConsistentRead=True)
    if "Item" not in current:
        return _reply(404, {"title": "Not found"})
    return update(event, table, entity)


def delete(event: dict[str, Any], table: str, entity: str) -> dict[str, Any]:
    key = _key(entity, event["pathParameters"]["id"])
    ddb.delete_item(TableName=table, Key=key, ConditionExpression="attribute_exists(pk)")
    return _reply(204)


def delete_customer(event: dict[str, Any], table: str, entity: str) -> dict[str, Any]:
    key = _key(entity, event["pathParameters"]["id"])
    item = _plain(ddb.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"])
    lock = {"pk": {"S": f"EMAIL#{item['email'].casefold()}"}}
    ddb.transact_write_items(
        TransactItems=[
            {"Delete": {"TableName": table, "Key": key, "ConditionExpression": "attribute_exists(pk)"}},
            {"Delete": {"TableName": table, "Key": lock}},
        ]
    )
    return _reply(204)


def delete_order(event: dict[str, Any], table: str, entity: str) -> dict[str, Any]:
    key = _key(entity, event["pathParameters"]["id"])
    order = _plain(ddb.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"])
    products = os.environ["PRODUCTS_TABLE_NAME"]
    restock: list[Any] = [
        {
            "Update": {
                "TableName": products,
                "Key": _key("product", line["productId"]),
                "UpdateExpression": "SET stock = stock + :q ADD version :one",
                "ExpressionAttributeValues": {":q": {"N": str(line["quantity"])}, ":one": {"N": "1"}},
            }
        }
        for line in order["items"]
    ]
    ddb.transact_write_items(TransactItems=[{"Delete": {"TableName": table, "Key": key}}, *restock])
    return _reply(204)


HANDLERS = {
    "get": get,
    "list": list_,
    "list_orders": list_orders,
    "list_unsharded": list_unsharded,
    "create": create,
    "create_customer": create_customer,
    "create_order": create_order,
    "update": update,
    "update_order": update_order,
    "delete": delete,
    "delete_customer": delete_customer,
    "delete_order": delete_order,
}


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point; the route kind and entity come from the environment."""
    kind = os.environ["BARE_KIND"]
    return HANDLERS[kind](event, os.environ["TABLE_NAME"], os.environ["BARE_ENTITY"])
