"""The local cloud's DynamoDB is as atomic as DynamoDB: racing conditional writes never oversell,
never lose a write and never fail for another reason.

moto alone is not: it checks a ConditionExpression and applies the write in plain Python, and a
cancelled TransactWriteItems restores a copy of the whole table taken when it started, erasing
every write that landed meanwhile. localcloud/dynamodb_atomic.py serialises moto's DynamoDB
requests; with its ``install()`` made a no-op both tests here fail (see docs/local-cloud.md for
the figures). They race requests straight against the emulator endpoint,
each sent once (no SDK retries), so every success is counted exactly once and any error besides
a failed condition fails the test.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

# The slow tier (make test-slow): races of hundreds of requests.
pytestmark = pytest.mark.slow

# Racing writers and, in the stock test, writers whose transactions are always cancelled.
WRITERS = 8
SPOILERS = 2
UNITS = 120
VERSION_ROUNDS = 40
HISTORY = 300  # earlier stock adjustments of the product: the table is not empty, as a real one is not
REFUSED = ("ConditionalCheckFailedException", "TransactionCanceledException")


@pytest.fixture
def dynamodb(local_cloud) -> Callable[[], Any]:
    """A client per thread (and session: creating clients is not thread-safe) on the emulator
    endpoint, each request sent exactly once."""
    local = threading.local()
    config = Config(
        retries={"mode": "standard", "total_max_attempts": 1},
        max_pool_connections=WRITERS + SPOILERS,
        connect_timeout=5,
        read_timeout=30,
    )

    def client() -> Any:
        if not hasattr(local, "client"):
            local.client = boto3.session.Session().client(
                "dynamodb",
                endpoint_url=local_cloud.aws_url,
                region_name="us-east-1",
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
                config=config,
            )
        return local.client

    return client


@pytest.fixture
def history(local_cloud, dynamodb) -> Iterator[Callable[[str], None]]:
    """``history(audit_prefix)``: HISTORY earlier audit records of a product, so that the
    table is not nearly empty, as a real one is not (moto copies the whole table in every
    transaction: the more items, the wider the window a cancelled one erases). Deleted afterwards,
    to keep the session's table small for the other tests."""
    table, keys = local_cloud.tables["ProductsTable"], []

    def batches(ops: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
        for start in range(0, len(ops), 25):
            yield ops[start : start + 25]

    def seed(audit_prefix: str) -> None:
        items = [
            {"pk": {"S": f"{audit_prefix}{uuid.uuid4()}"}, "reason": {"S": f"delivery {i}"}} for i in range(HISTORY)
        ]
        for batch in batches([{"PutRequest": {"Item": item}} for item in items]):
            assert not dynamodb().batch_write_item(RequestItems={table: batch}).get("UnprocessedItems")
        keys.extend({"pk": item["pk"]} for item in items)

    yield seed
    for batch in batches([{"DeleteRequest": {"Key": key}} for key in keys]):
        dynamodb().batch_write_item(RequestItems={table: batch})


def _write(client: Any, update: dict[str, Any], audit_prefix: str | None = None) -> bool:
    """``update`` alone (UpdateItem), or with an audit record under ``audit_prefix`` in one
    TransactWriteItems. True when it was written, False when a condition failed; any other error
    raises."""
    try:
        if audit_prefix is None:
            client.update_item(**update)
        else:
            client.transact_write_items(TransactItems=_with_audit(update, audit_prefix))
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in REFUSED:
            return False
        raise
    return True


def _update(table: str, key: dict[str, Any], expression: str, condition: str, **values: int) -> dict[str, Any]:
    return {
        "TableName": table,
        "Key": key,
        "UpdateExpression": expression,
        "ConditionExpression": condition,
        "ExpressionAttributeValues": {f":{name}": {"N": str(v)} for name, v in values.items()},
    }


def _with_audit(update: dict[str, Any], audit_prefix: str) -> list[dict[str, Any]]:
    """`update` and a fresh audit record in one transaction (as ProductStore.complete_history writes)."""
    audit = {"pk": {"S": f"{audit_prefix}{uuid.uuid4()}"}}
    put = {"TableName": update["TableName"], "Item": audit, "ConditionExpression": "attribute_not_exists(pk)"}
    return [{"Update": update}, {"Put": put}]


def _audits(client: Any, table: str, audit_prefix: str) -> int:
    """How many audit records the product has, the HISTORY aside."""
    found, page = 0, {"TableName": table, "ConsistentRead": True, "FilterExpression": "begins_with(pk, :p)"}
    page["ExpressionAttributeValues"] = {":p": {"S": audit_prefix}}
    while True:
        result = client.scan(**page)
        found += len(result["Items"])
        if "LastEvaluatedKey" not in result:
            return found - HISTORY
        page["ExclusiveStartKey"] = result["LastEvaluatedKey"]


def _run(workers: list[Callable[[], Any]]) -> list[Any]:
    with ThreadPoolExecutor(len(workers)) as pool:
        futures = [pool.submit(worker) for worker in workers]
        return [f.result(timeout=120) for f in futures]


def test_racing_stock_decrements_never_oversell_nor_lose_a_write(http, product, local_cloud, dynamodb, history) -> None:
    """Orders take stock with a conditional UpdateItem (the workflow's Reserve step), adjustments
    with a TransactWriteItems of that update and an audit Put; meanwhile adjustments that would
    go below zero are cancelled. Exactly UNITS decrements succeed and every one is kept."""
    table = local_cloud.tables["ProductsTable"]
    product_id = product(stock=UNITS)["id"]
    key = {"pk": {"S": f"PRODUCT#{product_id}"}}
    audit_prefix = f"STOCKADJ#{product_id}#"
    history(audit_prefix)
    done = threading.Event()

    def take(quantity: int) -> dict[str, Any]:
        expression, condition = "SET stock = stock - :q ADD version :one", "attribute_exists(pk) AND stock >= :q"
        return _update(table, key, expression, condition, q=quantity, one=1)

    def writer(transactional: bool) -> Callable[[], tuple[bool, int]]:
        def run() -> tuple[bool, int]:
            client, won = dynamodb(), 0
            while won <= UNITS and _write(client, take(1), audit_prefix if transactional else None):
                won += 1  # bounded: stops when sold out (or one past the stock, which fails the test)
            return transactional, won

        return run

    def spoiler() -> int:
        client, cancelled = dynamodb(), 0
        while not done.is_set() and cancelled < 20 * UNITS:
            assert not _write(client, take(UNITS + 1), audit_prefix)
            cancelled += 1
        return cancelled

    def writers_then_stop() -> list[tuple[bool, int]]:
        try:
            return _run([writer(i % 2 == 0) for i in range(WRITERS)])
        finally:
            done.set()

    with ThreadPoolExecutor(1 + SPOILERS) as pool:
        spoilers = [pool.submit(spoiler) for _ in range(SPOILERS)]
        results = pool.submit(writers_then_stop).result(timeout=180)
        cancelled = sum(s.result(timeout=60) for s in spoilers)

    item = dynamodb().get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
    assert cancelled > 0  # the cancelled transactions did race the writers
    assert sum(won for _, won in results) == UNITS  # no oversell: one success per unit
    assert int(item["stock"]["N"]) == 0
    assert int(item["version"]["N"]) == 1 + UNITS  # no lost update
    # no committed transaction erased by a cancelled one
    assert _audits(dynamodb(), table, audit_prefix) == sum(won for transactional, won in results if transactional)
    assert http.get(f"/api/products/{product_id}").json()["stock"] == 0


def test_racing_versioned_updates_have_one_winner_per_version(product, local_cloud, dynamodb, history) -> None:
    """If-Match: every writer updates on condition `version = :seen`, for each version in turn,
    half of them alone (UpdateItem) and half with an audit Put in one TransactWriteItems (as an
    update with extra operations does). Exactly one writer wins each version; the losers'
    cancelled transactions do not undo the winner's write."""
    table = local_cloud.tables["ProductsTable"]
    product_id = product(stock=1)["id"]
    key = {"pk": {"S": f"PRODUCT#{product_id}"}}
    audit_prefix = f"STOCKADJ#{product_id}#"
    history(audit_prefix)
    first = int(dynamodb().get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]["version"]["N"])
    barrier = threading.Barrier(WRITERS, timeout=30)

    def writer(index: int) -> Callable[[], list[tuple[int, bool]]]:
        transactional = index % 2 == 1

        def run() -> list[tuple[int, bool]]:
            client, wins = dynamodb(), []
            try:
                for seen in range(first, first + VERSION_ROUNDS):
                    update = _update(table, key, "SET stock = :mine ADD version :one", "version = :seen",
                                     mine=index, one=1, seen=seen)  # fmt: skip
                    barrier.wait()  # every writer races for the same version
                    if _write(client, update, audit_prefix if transactional else None):
                        wins.append((seen, transactional))
            except BaseException:
                barrier.abort()  # the other writers fail now rather than at the barrier's timeout
                raise
            return wins

        return run

    wins = [win for won in _run([writer(i) for i in range(WRITERS)]) for win in won]
    assert sorted(seen for seen, _ in wins) == list(range(first, first + VERSION_ROUNDS))  # one winner each
    final = dynamodb().get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
    assert int(final["version"]["N"]) == first + VERSION_ROUNDS
    assert _audits(dynamodb(), table, audit_prefix) == sum(1 for _, transactional in wins if transactional)
