"""Bring records stored before issue 24 up to its rules (docs/adr/0020-0022). Run it once after
deploying that version; it is idempotent and can be re-run or resumed after an interruption.

    make migrate ENV=dev                              # the stack of samconfig.toml's environment
    python -m tools.migrations.record_integrity --stack sales-management-prod --region eu-west-1
    python -m tools.migrations.record_integrity --endpoint-url http://127.0.0.1:4566   # make dev

Six steps, each a conditional write per record (so it composes with the live API):

0. **Sharded order lists** (issue 23, docs/adr/0040). Every order gets its shard of each list
   (`entityShard`, `customerShard`, `creatorShard`, `statusShard`), and every placement record
   still pending with the unsharded mark (`HOLDS`) its holds shard's (`HOLDS#<id % 32>`); until
   then the order lists and the sweeper do not see them. Read with a Scan of the Orders table
   (a one-off tool; an unsharded order is in no index).
1. **Product lists.** Every product gets its `status` (ACTIVE unless set) and its place in the
   `byList` index (`listKey` = "product#<status>", `listSort` = id); until then the default
   product list does not show it (its page, orders and stock work as before).
2. **Stock history.** Every audit record without a place in `byList` gets one: `listKey` =
   "stockadj#<product>", and a negative `listSort` (-1 the newest of the old records, -2 the
   one before, ...), so the old records follow every new one, newest first. They have no
   `stockAfter` (it was not kept).
3. **Reference marks.** Every customer and product an existing order refers to is marked
   `referenced`, so that deleting it is refused from now on, as for orders placed after the
   deploy. Orders whose customer or product is already gone are reported.
4. **Email locks.** Locks keyed on the casefolded address (`EMAIL#<casefold>`, no `identity`
   attribute) are rewritten under the address's identity (ASCII letters lowercased only). A
   lock whose customer is gone, erased or has another address now is removed.
5. **Name search** (issue 23, docs/adr/0030). Every product and customer with a name gets its
   place in the `byName` index (`nameSort`, and for customers `listKey` = "customer"), written
   only if the name is still the one read; until then `?q=` does not find it.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
for _p in (ROOT / "functions", ROOT / "layers" / "shared"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

from customers.models import email_identity  # noqa: E402
from customers.repository import (  # noqa: E402
    CUSTOMER_LIST,
    EMAIL_PREFIX,
    IDENTITY,
    email_key,
    legacy_email_key,
)
from orders.placement_record import KEY_PREFIX as PLACEMENT_PREFIX  # noqa: E402
from orders.placement_record import PENDING, hold_key  # noqa: E402
from orders.repository import CREATOR_SHARD, list_keys  # noqa: E402
from products.repository import ADJUSTMENT_PREFIX, history_list  # noqa: E402
from sales_common.dynamo import (  # noqa: E402
    BATCH_GET_ATTEMPTS,
    BATCH_GET_KEYS,
    ENTITY_INDEX,
    LIST_KEY,
    LIST_SORT,
    PRODUCT,
    REFERENCED,
    from_item,
    is_conditional_failure,
    product_key,
    to_item,
)
from sales_common.listing import NAME_SORT, name_sort, status_list  # noqa: E402

ACTIVE = "ACTIVE"
ORDER_PREFIX = "ORDER#"


@dataclass(frozen=True)
class Tables:
    products: str
    customers: str
    orders: str


@dataclass
class Report:
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    problems: list[str] = field(default_factory=list)

    def add(self, what: str, n: int = 1) -> None:
        self.counts[what] += n

    def __str__(self) -> str:
        lines = [f"  {what}: {n}" for what, n in sorted(self.counts.items())]
        lines += [f"  ! {p}" for p in self.problems]
        return "\n".join(lines) or "  nothing to do"


def _pages(call: Callable[..., dict[str, Any]], **params: Any) -> Iterator[dict[str, Any]]:
    """Every item of a paginated Query or Scan, as Python values."""
    while True:
        result = call(**params)
        yield from (from_item(i) for i in result.get("Items", []))
        if "LastEvaluatedKey" not in result:
            return
        params["ExclusiveStartKey"] = result["LastEvaluatedKey"]


def _entities(client: Any, table: str, entity: str) -> Iterator[dict[str, Any]]:
    """Every item of `entity` in `table`, whole: listed from byEntity (which may project keys only,
    docs/adr/0039), read with BatchGetItem 100 at a time, each batch's unprocessed keys asked again."""
    keys = (
        {"pk": {"S": item["pk"]}}
        for item in _pages(
            client.query,
            TableName=table,
            IndexName=ENTITY_INDEX,
            KeyConditionExpression="entity = :e",
            ExpressionAttributeValues={":e": {"S": entity}},
            ProjectionExpression="pk",
        )
    )
    batch: list[dict[str, Any]] = []
    for key in keys:
        batch.append(key)
        if len(batch) == BATCH_GET_KEYS:
            yield from _batch_get(client, table, batch)
            batch = []
    if batch:
        yield from _batch_get(client, table, batch)


def _batch_get(client: Any, table: str, keys: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    pending = keys
    for attempt in range(BATCH_GET_ATTEMPTS):
        if attempt:
            time.sleep(min(0.05 * 2**attempt, 1.0))
        result = client.batch_get_item(RequestItems={table: {"Keys": pending, "ConsistentRead": True}})
        yield from (from_item(i) for i in result.get("Responses", {}).get(table, []))
        pending = result.get("UnprocessedKeys", {}).get(table, {}).get("Keys", [])
        if not pending:
            return
    raise RuntimeError(f"{len(pending)} items of {table} stayed unprocessed (throttled): run the migration again")


def _conditional(write: Callable[..., Any], **params: Any) -> bool:
    """`write(**params)`, a conditional write; False when its condition failed (someone else got there)."""
    try:
        write(**params)
    except Exception as exc:
        if is_conditional_failure(exc):
            return False
        raise
    return True


# ---------------------------------------------------------------- 1. product lists
def migrate_product_lists(client: Any, tables: Tables, report: Report) -> None:
    for product in _entities(client, tables.products, PRODUCT):
        if LIST_KEY in product:
            continue
        status = product.get("status", ACTIVE)
        done = _conditional(
            client.update_item,
            TableName=tables.products,
            Key=product_key(int(product["id"])),
            UpdateExpression="SET #status = :status, #list = :list, #sort = :id",
            ConditionExpression="attribute_exists(pk) AND attribute_not_exists(#list)",
            ExpressionAttributeNames={"#status": "status", "#list": LIST_KEY, "#sort": LIST_SORT},
            ExpressionAttributeValues=to_item(
                {":status": status, ":list": status_list(PRODUCT, status), ":id": int(product["id"])}
            ),
        )
        report.add("products listed by status" if done else "products changed meanwhile (already listed)")


# ---------------------------------------------------------------- 2. stock history
def migrate_stock_history(client: Any, tables: Tables, report: Report) -> None:
    """The old records of each product (no place in byList yet, or a negative one from an
    earlier run) ranked oldest to newest as -n..-1."""
    old: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for record in _pages(
        client.scan,
        TableName=tables.products,
        FilterExpression="begins_with(pk, :adj) AND (attribute_not_exists(#sort) OR #sort < :zero)",
        ExpressionAttributeNames={"#sort": LIST_SORT},
        ExpressionAttributeValues=to_item({":adj": ADJUSTMENT_PREFIX, ":zero": 0}),
    ):
        old[int(record["productId"])].append(record)
    for product_id, records in old.items():
        records.sort(key=lambda r: (r.get("createdAt", ""), r.get("adjustmentId", "")))
        for rank, record in enumerate(records):
            sort = rank - len(records)
            if record.get(LIST_SORT) == sort and record.get(LIST_KEY) == history_list(product_id):
                continue
            client.update_item(
                TableName=tables.products,
                Key={"pk": {"S": record["pk"]}},
                UpdateExpression="SET #list = :list, #sort = :sort",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#list": LIST_KEY, "#sort": LIST_SORT},
                ExpressionAttributeValues=to_item({":list": history_list(product_id), ":sort": sort}),
            )
            report.add("stock adjustments added to the history")


# ---------------------------------------------------------------- 3. reference marks
def migrate_references(client: Any, tables: Tables, report: Report) -> None:
    customers: dict[int, list[int]] = defaultdict(list)
    products: dict[int, list[int]] = defaultdict(list)
    for order in _orders(client, tables.orders):
        customers[int(order["customerId"])].append(int(order["id"]))
        for line in order.get("items", []):
            products[int(line["productId"])].append(int(order["id"]))
    for table, key, referenced, kind in (
        (tables.customers, lambda i: {"pk": {"S": f"CUSTOMER#{i}"}}, customers, "customer"),
        (tables.products, product_key, products, "product"),
    ):
        for entity_id, orders in sorted(referenced.items()):
            marked = _conditional(
                client.update_item,
                TableName=table,
                Key=key(entity_id),
                UpdateExpression="SET #ref = :yes",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#ref": REFERENCED},
                ExpressionAttributeValues={":yes": {"BOOL": True}},
            )
            if marked:
                report.add(f"{kind}s marked as referenced by orders")
            else:
                shown = ", ".join(map(str, sorted(orders)[:10])) + (", ..." if len(orders) > 10 else "")
                report.problems.append(f"{kind} {entity_id} is gone but orders refer to it: {shown}")


# ---------------------------------------------------------------- 4. email locks
def migrate_email_locks(client: Any, tables: Tables, report: Report) -> None:
    for lock in _pages(
        client.scan,
        TableName=tables.customers,
        FilterExpression="begins_with(pk, :email) AND attribute_not_exists(#identity)",
        ExpressionAttributeNames={"#identity": IDENTITY},
        ExpressionAttributeValues=to_item({":email": EMAIL_PREFIX}),
    ):
        customer_id = int(lock["customerId"])
        found = client.get_item(
            TableName=tables.customers, Key={"pk": {"S": f"CUSTOMER#{customer_id}"}}, ConsistentRead=True
        ).get("Item")
        email = from_item(found).get("email") if found else None
        if email is not None and legacy_email_key(email) == lock["pk"]:
            report.add(_rekey(client, tables.customers, lock["pk"], customer_id, email))
        else:
            dropped = _conditional(client.delete_item, **_drop_legacy(tables, lock, customer_id))
            report.add("stale email locks removed" if dropped else "email locks changed meanwhile")


def _drop_legacy(tables: Tables, lock: dict[str, Any], customer_id: int) -> dict[str, Any]:
    return {
        "TableName": tables.customers,
        "Key": {"pk": {"S": lock["pk"]}},
        "ConditionExpression": "customerId = :id AND attribute_not_exists(#identity)",
        "ExpressionAttributeNames": {"#identity": IDENTITY},
        "ExpressionAttributeValues": {":id": {"N": str(customer_id)}},
    }


def _rekey(client: Any, table: str, legacy: str, customer_id: int, email: str) -> str:
    """Customer `customer_id`'s legacy lock at `legacy` becomes the lock of its address's identity."""
    me = {":id": {"N": str(customer_id)}}
    names = {"#identity": IDENTITY}
    target = email_key(email)
    if target == legacy:
        _conditional(
            client.update_item,
            TableName=table,
            Key={"pk": {"S": legacy}},
            UpdateExpression="SET #identity = :identity",
            ConditionExpression="customerId = :id",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={**me, ":identity": {"S": email_identity(email)}},
        )
        return "email locks kept (same key), marked with their identity"
    put = {
        "TableName": table,
        "Item": to_item({"pk": target, "customerId": customer_id, IDENTITY: email_identity(email)}),
        "ConditionExpression": "attribute_not_exists(pk) OR customerId = :id",
        "ExpressionAttributeValues": me,
    }
    delete = {
        "TableName": table,
        "Key": {"pk": {"S": legacy}},
        "ConditionExpression": "customerId = :id AND attribute_not_exists(#identity)",
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": me,
    }
    if _conditional(client.transact_write_items, TransactItems=[{"Put": put}, {"Delete": delete}]):
        return "email locks moved to their identity key"
    return "email locks changed meanwhile"


# ---------------------------------------------------------------- 5. name search
def migrate_name_search(client: Any, tables: Tables, report: Report) -> None:
    for table, entity, listed in ((tables.products, PRODUCT, None), (tables.customers, "customer", CUSTOMER_LIST)):
        for record in _entities(client, table, entity):
            if NAME_SORT in record or not record.get("name"):
                continue
            values: dict[str, Any] = {":name": record["name"], ":sort": name_sort(record["name"], int(record["id"]))}
            names = {"#name": "name", "#sort": NAME_SORT}
            update = "SET #sort = :sort"
            if listed is not None:
                update += ", #list = :list"
                values[":list"] = listed
                names["#list"] = LIST_KEY
            done = _conditional(
                client.update_item,
                TableName=table,
                Key={"pk": {"S": str(record["pk"])}},
                UpdateExpression=update,
                ConditionExpression="attribute_exists(pk) AND #name = :name AND attribute_not_exists(#sort)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=to_item(values),
            )
            report.add(f"{entity}s put in the name search" if done else f"{entity}s renamed meanwhile (already in it)")


# ---------------------------------------------------------------- 0. sharded lists
def _orders(client: Any, table: str) -> Iterator[dict[str, Any]]:
    """Every order, read from the table itself: an order stored before the lists were sharded is
    in none of them (docs/adr/0040)."""
    return _pages(
        client.scan,
        TableName=table,
        FilterExpression="begins_with(pk, :order)",
        ExpressionAttributeValues={":order": {"S": ORDER_PREFIX}},
    )


def migrate_sharded_lists(client: Any, tables: Tables, report: Report) -> None:
    """Every order gets its shard of each list (`list_keys`), written only if its status is still
    the one read (a status change meanwhile wrote its own `statusShard`); every placement record
    still marked pending with the unsharded mark gets its shard's."""
    for order in _orders(client, tables.orders):
        keys = list_keys(int(order["id"]), int(order["customerId"]), str(order.get("createdBy", "")), order["status"])
        if "createdBy" not in order:  # placed before orders recorded who placed them: in no user's list
            del keys[CREATOR_SHARD]
        if all(order.get(k) == v for k, v in keys.items()):
            continue
        names = {f"#k{i}": k for i, k in enumerate(keys)}
        values: dict[str, Any] = {f":k{i}": v for i, v in enumerate(keys.values())}
        done = _conditional(
            client.update_item,
            TableName=tables.orders,
            Key={"pk": {"S": str(order["pk"])}},
            UpdateExpression="SET " + ", ".join(f"#k{i} = :k{i}" for i in range(len(keys))),
            ConditionExpression="attribute_exists(pk) AND #status = :status",
            ExpressionAttributeNames={**names, "#status": "status"},
            ExpressionAttributeValues=to_item({**values, ":status": order["status"]}),
        )
        report.add("orders put in the sharded lists" if done else "orders changed meanwhile (already listed)")
    for record in _pages(
        client.scan,
        TableName=tables.orders,
        FilterExpression="begins_with(pk, :placement) AND pending = :unsharded",
        ExpressionAttributeValues=to_item({":placement": PLACEMENT_PREFIX, ":unsharded": PENDING}),
    ):
        done = _conditional(
            client.update_item,
            TableName=tables.orders,
            Key={"pk": {"S": str(record["pk"])}},
            UpdateExpression="SET pending = :shard",
            ConditionExpression="pending = :unsharded",
            ExpressionAttributeValues=to_item({":shard": hold_key(int(record["orderId"])), ":unsharded": PENDING}),
        )
        report.add("pending placements put in their holds shard" if done else "placements decided meanwhile")


STEPS = (
    ("sharded order lists", migrate_sharded_lists),
    ("product lists", migrate_product_lists),
    ("stock history", migrate_stock_history),
    ("reference marks", migrate_references),
    ("email locks", migrate_email_locks),
    ("name search", migrate_name_search),
)


def migrate(client: Any, tables: Tables, out: Callable[[str], None] = print) -> Report:
    report = Report()
    for name, step in STEPS:
        out(f"==> {name}")
        step(client, tables, report)
    out(str(report))
    return report


# ---------------------------------------------------------------- command line
def _tables_of_stack(stack: str, region: str | None) -> Tables:
    import boto3

    outputs = boto3.client("cloudformation", region_name=region).describe_stacks(StackName=stack)["Stacks"][0]
    values = {o["OutputKey"]: o["OutputValue"] for o in outputs.get("Outputs", [])}
    return Tables(values["ProductsTableName"], values["CustomersTableName"], values["OrdersTableName"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.migrations.record_integrity", description=__doc__)
    parser.add_argument("--stack", help="the deployed stack whose tables to migrate (its outputs name them)")
    parser.add_argument("--region", help="AWS region (default: the environment's)")
    parser.add_argument("--endpoint-url", help="a local emulator, e.g. make dev's http://127.0.0.1:4566")
    parser.add_argument("--products-table", default="ProductsTable")
    parser.add_argument("--customers-table", default="CustomersTable")
    parser.add_argument("--orders-table", default="OrdersTable")
    args = parser.parse_args(argv)

    import boto3

    if args.stack:
        tables = _tables_of_stack(args.stack, args.region)
    else:
        tables = Tables(args.products_table, args.customers_table, args.orders_table)
    options: dict[str, Any] = {"region_name": args.region}
    if args.endpoint_url:  # the local cloud's emulator takes any credentials, and its region
        options |= {"endpoint_url": args.endpoint_url, "region_name": args.region or "us-east-1"}
        options |= {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    client = boto3.client("dynamodb", **options)
    migrate(client, tables)
    return 0


if __name__ == "__main__":
    sys.exit(main())
