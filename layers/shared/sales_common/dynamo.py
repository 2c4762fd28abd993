"""Decimal-safe DynamoDB access for versioned entities.

Every service stores its entities the same way: `pk` = "<ENTITY>#<id>" (`key_prefix`), an
integer `id`, an `entity` attribute (the `byEntity` index lists them in id order), a `version`
that every write bumps, and server-side `createdAt`/`updatedAt`. `EntityStore` is the only code
that talks to DynamoDB for them: it hands the services pydantic models, never raw items, and
turns conditional-write failures into domain errors.

Products are also written by the Orders service (quotes, reservations, restocks) and by the
PlaceOrder workflow, so their key lives here once: `PRODUCT_KEY_PREFIX`, which template.yaml
gives the workflow definition as `${ProductKeyPrefix}` (tests/template checks the two agree).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, cast

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from sales_common import aws
from sales_common.errors import DomainError, NotFound, PreconditionFailed, ServiceUnavailable
from sales_common.models import StoredModel

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef
    from pydantic import BaseModel

    from sales_common.settings import ServiceSettings
    from sales_common.shards import Position, ShardedIndex

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

ENTITY_INDEX = "byEntity"
# A second list index for what byEntity cannot serve (docs/adr/0022): `listKey` names the list an
# item belongs to ("product#ACTIVE", "stockadj#7"), `listSort` (a number) orders it.
LIST_INDEX = "byList"
LIST_KEY = "listKey"
LIST_SORT = "listSort"
WRITE_ID = "writeId"
"""The attribute where every update (`update_op`) leaves a random token of its own (internal: no
model shows it), by which a retried update recognises its own applied write (`_written_by`)."""
# BatchGetItem takes at most this many keys per request (a list page is at most 100 items).
BATCH_GET_KEYS = 100
# Attempts at the keys BatchGetItem leaves unprocessed (throttled) before the read fails.
BATCH_GET_ATTEMPTS = 8
# A failed condition returns the item as it was: tells 404 from 412 without another read.
RETURN_OLD_ON_FAILURE = {"ReturnValuesOnConditionCheckFailure": "ALL_OLD"}


def key_prefix(entity: str) -> str:
    """What the `pk` of every item of entity type `entity` starts with."""
    return f"{entity.upper()}#"


PRODUCT = "product"
PRODUCT_KEY_PREFIX = key_prefix(PRODUCT)
REFERENCED = "referenced"
"""The reference mark: PlaceOrder sets it (true) on the customer and on each product an order
refers to, in the conditional writes it makes anyway; deletes are conditional on its absence
(docs/adr/0020). The workflow definition spells it too."""


def list_attributes(list_name: str, sort: int) -> dict[str, Any]:
    """The attributes that put an item into list `list_name` of the `byList` index at `sort`."""
    return {LIST_KEY: list_name, LIST_SORT: sort}


def product_key(product_id: int) -> dict[str, Any]:
    """The (DynamoDB-typed) key of product `product_id` in the Products table."""
    return {"pk": {"S": f"{PRODUCT_KEY_PREFIX}{product_id}"}}


def to_item(data: Mapping[str, Any]) -> dict[str, Any]:
    """Python values (Decimal, never float) to a DynamoDB attribute map; None values dropped."""
    return {k: _serializer.serialize(v) for k, v in data.items() if v is not None}


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _deserializer.deserialize(v) for k, v in item.items()}


def from_value(attribute: Mapping[str, Any]) -> Any:
    """One DynamoDB-typed value ({"M": ...}, {"N": "1.5"}, ...) to Python (Decimal for numbers)."""
    return _deserializer.deserialize(attribute)  # type: ignore[arg-type]


def now_iso(ago: timedelta | None = None) -> str:
    """Now (or `ago` before now), as stored: UTC, milliseconds, `Z`."""
    at = datetime.now(UTC) - ago if ago else datetime.now(UTC)
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def error_response(exc: BaseException) -> Mapping[str, Any]:
    """The service's answer carried by a failed call: a ClientError's `response`, or {} for
    failures with none (botocore's timeouts and connection errors carry `response = None`)."""
    response = getattr(exc, "response", None)
    return response if isinstance(response, Mapping) else {}


def is_conditional_failure(exc: Exception) -> bool:
    code = error_response(exc).get("Error", {}).get("Code")
    return code in {"ConditionalCheckFailedException", "TransactionCanceledException"}


def cancellation_codes(exc: Exception) -> list[str]:
    """Per-item reasons of a cancelled transaction ("None" for items that were fine)."""
    reasons = error_response(exc).get("CancellationReasons", [])
    return [r.get("Code", "None") for r in reasons]


Refusal = Callable[[dict[str, Any]], DomainError]
"""Why a write's extra condition failed, made from the stored item (e.g. a 409 that says what to do)."""


@dataclass(frozen=True)
class Condition:
    """An extra condition for a write: expression plus its placeholder values and names."""

    expression: str
    values: Mapping[str, Any] = field(default_factory=dict)
    names: Mapping[str, str] = field(default_factory=dict)


type Expected = int | frozenset[int] | None
"""The version(s) a write is conditional on: one, any of a set (an If-Match list; empty: none can
match), or None for no version condition."""


def _versions(expected: Expected) -> frozenset[int] | None:
    return frozenset({expected}) if isinstance(expected, int) else expected


def _guard(expected_version: Expected, extra: Condition | None) -> Condition:
    """The condition of every write to an existing entity: it exists, is still at one of the
    `expected_version`s when given, and meets `extra` when given."""
    expression = "attribute_exists(pk)"
    values: dict[str, Any] = {}
    names: dict[str, str] = {}
    versions = _versions(expected_version)
    if versions is not None:
        if versions:
            placeholders = [f":expected{i}" for i in range(len(versions))]
            expression += f" AND version IN ({', '.join(placeholders)})"
            values.update(zip(placeholders, sorted(versions), strict=True))
        else:  # no version can match: the write fails, as a stale one does (412, or 404)
            expression += " AND attribute_not_exists(pk)"
    if extra is not None:
        expression += f" AND ({extra.expression})"
        values.update(extra.values)
        names.update(extra.names)
    return Condition(expression, values, names)


_pool: ThreadPoolExecutor | None = None


def _shard_pool() -> ThreadPoolExecutor:
    """The threads a container queries the shards of a list with (one per shard at most)."""
    global _pool
    with _blocks_lock:
        if _pool is None:
            from concurrent.futures import ThreadPoolExecutor

            from sales_common.shards import ORDER_SHARDS

            _pool = ThreadPoolExecutor(max_workers=ORDER_SHARDS, thread_name_prefix="shard")
        return _pool


# (table, entity) -> (the next id to hand out, the last id of the block): this container's ids.
_id_blocks: dict[tuple[str, str], tuple[int, int]] = {}
_blocks_lock = threading.Lock()


def forget_id_blocks() -> None:
    """Drop the blocks of ids held: what a new container starts with (tests: a new deployment)."""
    with _blocks_lock:
        _id_blocks.clear()


class TableAccess:
    """One DynamoDB table (the function's TABLE_NAME unless `table` names another) through the
    shared, lazily created client for the function's settings.

    `keys_only` names the table's indexes that project keys only (template.yaml says so; a test
    checks the two agree): a query of one of them reads its page's items from the table with
    BatchGetItem, in the index's order. A list index that projects every attribute is written
    whenever any attribute of a listed item changes (every stock change of a product); one that
    projects keys only is written when the item enters, leaves or moves in it (docs/adr/0039)."""

    keys_only: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, settings: ServiceSettings, table: str | None = None) -> None:
        self.settings = settings
        self.table = table if table is not None else settings.TABLE_NAME

    @property
    def client(self) -> DynamoDBClient:
        return aws.dynamodb(self.settings)

    def query[T: BaseModel](
        self,
        model: type[T],
        limit: int,
        start_key: dict[str, Any] | None,
        index: str,
        key_condition: str,
        values: Mapping[str, Any],
        filter_by: Condition | None = None,
        forward: bool = True,
        names: Mapping[str, str] | None = None,
    ) -> tuple[list[T], dict[str, Any] | None]:
        """One page of the index in its sort order (reversed unless `forward`), and the
        (DynamoDB-typed) key to continue from, None at the end. With `filter_by`, a page may hold
        fewer than `limit` items and still continue. `names`: the key condition's `#name`s."""
        found, last = self.query_raw(limit, start_key, index, key_condition, values, filter_by, forward, names)
        if index in self.keys_only:
            found = self.batch_get([{"pk": i["pk"]} for i in found])
        return _as_models(model, found), last

    def query_raw(
        self,
        limit: int,
        start_key: dict[str, Any] | None,
        index: str,
        key_condition: str,
        values: Mapping[str, Any],
        filter_by: Condition | None = None,
        forward: bool = True,
        names: Mapping[str, str] | None = None,
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """`query`'s page as DynamoDB returns it: typed items (of the index's projection)."""
        all_values = dict(values)
        all_names = dict(names or {})
        params: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": index,
            "KeyConditionExpression": key_condition,
            "Limit": limit,
        }
        if not forward:
            params["ScanIndexForward"] = False
        if filter_by is not None:
            params["FilterExpression"] = filter_by.expression
            all_values.update(filter_by.values)
            all_names.update(filter_by.names)
        if all_names:
            params["ExpressionAttributeNames"] = all_names
        params["ExpressionAttributeValues"] = to_item(all_values)
        if start_key:
            params["ExclusiveStartKey"] = start_key
        result = self.client.query(**params)
        return list(result.get("Items", [])), result.get("LastEvaluatedKey")

    def sharded_page[T: BaseModel](
        self,
        model: type[T],
        index: ShardedIndex,
        value: object,
        limit: int,
        positions: Sequence[Position] | None,
        *,
        key_condition: str = "",
        values: Mapping[str, Any] | None = None,
        filter_by: Condition | None = None,
        forward: bool = True,
        names: Mapping[str, str] | None = None,
    ) -> tuple[list[T], list[Position] | None]:
        """One page of the sharded list `value` of `index` (docs/adr/0040): each shard's partition
        (`#shardKey = :shard`, and `key_condition` on its sort key if given) queried in parallel
        and merged in order; with the positions to continue from (None at the end)."""
        from sales_common.shards import merge_page, sharded

        condition = "#shardKey = :shard" + (f" AND {key_condition}" if key_condition else "")
        all_names = {**(names or {}), "#shardKey": index.hash_key}

        def one(shard: int, start: dict[str, Any] | None, n: int) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
            shard_values = {**(values or {}), ":shard": sharded(value, shard)}
            return self.query_raw(n, start, index.name, condition, shard_values, filter_by, forward, all_names)

        found, following = merge_page(index, value, positions, limit, forward, one, _shard_pool())
        if index.name in self.keys_only:
            found = self.batch_get([{"pk": i["pk"]} for i in found])
        return _as_models(model, found), following

    def batch_get(self, keys: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """The items of `keys` (DynamoDB-typed `pk` keys), in the order of `keys`, read with
        BatchGetItem (eventually consistent, as the index they were listed from). Keys DynamoDB
        leaves unprocessed are asked again after a short, growing pause; an item deleted since it
        was listed is left out."""
        by_pk: dict[str, dict[str, Any]] = {}
        for first in range(0, len(keys), BATCH_GET_KEYS):
            pending: list[dict[str, Any]] = list(keys[first : first + BATCH_GET_KEYS])
            for attempt in range(BATCH_GET_ATTEMPTS):
                if not pending:
                    break
                if attempt:
                    time.sleep(min(0.05 * 2**attempt, 1.0))
                result: dict[str, Any] = self.client.batch_get_item(RequestItems={self.table: {"Keys": pending}})  # type: ignore[assignment]
                for item in result.get("Responses", {}).get(self.table, []):
                    by_pk[item["pk"]["S"]] = item
                pending = list(result.get("UnprocessedKeys", {}).get(self.table, {}).get("Keys", []))
            if pending:
                raise ServiceUnavailable(
                    "The list could not be read completely (the table throttled the reads); try again."
                )
        return [by_pk[k["pk"]["S"]] for k in keys if k["pk"]["S"] in by_pk]


def _as_models[T: BaseModel](model: type[T], items: Sequence[Mapping[str, Any]]) -> list[T]:
    """Stored items (DynamoDB-typed) as `model`s."""
    return [model.model_validate(from_item(i)) for i in items]


def _written_by(exc: Exception, op: Mapping[str, Any]) -> dict[str, Any] | None:
    """The item, when a conditional update (`op`, from `update_op`) failed on the very change it
    made: the SDK sent it again after its first answer was lost (a timeout, a 5xx), the first was
    applied, and the retry's condition (version, status) no longer holds. Recognised by the
    stored `writeId` (the random token this write carries, the same in the SDK's retry), with the
    instant it chose (`updatedAt`) and every changed attribute as it set them. Without the token,
    another request's write of the same change in the same millisecond looked like this one's,
    and this request answered 200 for a change it never made."""
    old = error_response(exc).get("Item") if is_conditional_failure(exc) else None
    if not old:
        return None
    item = from_item(old)
    values = from_item(op["ExpressionAttributeValues"])
    if item.get(WRITE_ID) != values.get(":writeId") or item.get("updatedAt") != values[":now"]:
        return None
    for placeholder, attribute in op["ExpressionAttributeNames"].items():
        if placeholder.startswith("#f"):
            value = values.get(f":v{placeholder[2:]}")
            if (attribute in item) if value is None else (item.get(attribute) != value):
                return None
    return item


class EntityStore[M: StoredModel](TableAccess):
    """CRUD with optimistic concurrency for one entity type in one table. A subclass names its
    `entity` (the key prefix, see `key_prefix`) and the `model` its items are returned as."""

    entity: ClassVar[str]
    model: type[M]

    def pk(self, entity_id: int | str) -> str:
        return f"{key_prefix(self.entity)}{entity_id}"

    def key(self, entity_id: int | str) -> dict[str, Any]:
        return {"pk": {"S": self.pk(entity_id)}}

    # ------------------------------------------------------------------ reads
    def get(self, entity_id: int) -> M | None:
        """The entity as stored now (a strongly consistent read), None if it does not exist."""
        found = self.client.get_item(TableName=self.table, Key=self.key(entity_id), ConsistentRead=True)
        return self.model.model_validate(from_item(found["Item"])) if "Item" in found else None

    def require(self, entity_id: int) -> M:
        found = self.get(entity_id)
        if found is None:
            raise NotFound(self._missing(entity_id))
        return found

    def page(
        self,
        limit: int,
        start_key: dict[str, Any] | None = None,
        *,
        index: str = ENTITY_INDEX,
        key_condition: str = "entity = :entity",
        values: Mapping[str, Any] | None = None,
        filter_by: Condition | None = None,
        forward: bool = True,
        names: Mapping[str, str] | None = None,
    ) -> tuple[list[M], dict[str, Any] | None]:
        """One page of entities in id order, and the (DynamoDB-typed) key to continue from, None at
        the end. With `filter_by`, a page may hold fewer than `limit` items and still continue."""
        values = values if values is not None else {":entity": self.entity}
        return self.query(self.model, limit, start_key, index, key_condition, values, filter_by, forward, names)

    def sharded(
        self, index: ShardedIndex, value: object, limit: int, positions: Sequence[Position] | None, **query: Any
    ) -> tuple[list[M], list[Position] | None]:
        """`sharded_page` of this store's entities."""
        return self.sharded_page(self.model, index, value, limit, positions, **query)

    def id_ordered(
        self, index: ShardedIndex, value: object, limit: int, positions: Sequence[Position] | None, forward: bool = True
    ) -> tuple[list[M], list[Position] | None]:
        """A page of the sharded list `value` of `index`, which holds every entity of this store
        and sorts by id, with no filter (all orders): the page's ids mostly follow the last one
        answered, so they are read by key first, in one BatchGetItem of `probe_window` ids, and
        the shards are queried only for what that leaves (gaps, the list's end, a newest-first
        first page). Either way the cursor puts every shard at the page's last item
        (`at_frontier`), from which the next page reads by key again. An item is in the list
        when it carries the index's key, as DynamoDB decides what an index holds."""
        from sales_common.shards import at_frontier, common_position, probe_ids, probe_window

        def at(entity_id: int) -> list[str]:  # the position of this store's entity `entity_id`
            return [str(entity_id), self.pk(entity_id)]

        after: int | None = 0 if forward else None  # the first page: ascending, from the first id
        if positions is not None:
            common = common_position(positions)
            after = int(common[0]) if common is not None else None
        found: list[dict[str, Any]] = []
        rest: Sequence[Position] | None = positions
        if after is not None:
            ids = probe_ids(after, probe_window(limit), forward)
            read = self.batch_get([self.key(i) for i in ids])
            found = [i for i in read if index.hash_key in i and index.range_key in i][:limit]
            if len(found) == limit:
                full = _as_models(self.model, found)
                return full, at_frontier(positions, index.shards, at(full[-1].id))
            if not forward and (not ids or ids[-1] == 1):  # read down to the first id: the list's start
                return _as_models(self.model, found), None
            rest = at_frontier(positions, index.shards, at(ids[-1] if ids else after))
        more, following = self.sharded_page(self.model, index, value, limit - len(found), rest, forward=forward)
        page = _as_models(self.model, found) + more
        if following is not None and page:
            following = at_frontier(following, index.shards, at(page[-1].id))
        return page, following

    # ------------------------------------------------------------------ writes
    def allocate_id(self) -> int:
        """Next integer id for this entity, from the block of ids this container holds; when it is
        used up, one atomic update of the entity type's counter item reserves the next
        ID_BLOCK_SIZE ids (`lastId` is the highest id reserved). Ids a container reserved but did
        not hand out before it ended are never used: gaps (docs/adr/0034)."""
        size = self.settings.ID_BLOCK_SIZE
        slot = (self.table, self.entity)
        with _blocks_lock:
            following, last = _id_blocks.get(slot, (1, 0))
            if following > last:
                result = self.client.update_item(
                    TableName=self.table,
                    Key={"pk": {"S": f"COUNTER#{self.entity.upper()}"}},
                    UpdateExpression="ADD lastId :size",
                    ExpressionAttributeValues={":size": {"N": str(size)}},
                    ReturnValues="UPDATED_NEW",
                )
                last = int(result["Attributes"]["lastId"]["N"])
                following = last - size + 1
            _id_blocks[slot] = (following + 1, last)
            return following

    def new_item(self, entity_id: int, attributes: Mapping[str, Any]) -> dict[str, Any]:
        stamp = now_iso()
        return {
            **attributes,
            "pk": self.pk(entity_id),
            "entity": self.entity,
            "id": entity_id,
            "version": 1,
            "createdAt": stamp,
            "updatedAt": stamp,
        }

    def put_new_op(self, item: Mapping[str, Any]) -> dict[str, Any]:
        """A transaction `Put` that creates `item` only if its key is free."""
        return {
            "Put": {
                "TableName": self.table,
                "Item": to_item(item),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def create(self, attributes: Mapping[str, Any], extra_ops: Sequence[dict[str, Any]] = ()) -> M:
        """Allocate an id and store a new entity, atomically with `extra_ops` if any."""
        item = self.new_item(self.allocate_id(), attributes)
        self.transact([self.put_new_op(item), *extra_ops])
        return self.model.model_validate(item)

    def update_op(
        self,
        entity_id: int,
        changes: Mapping[str, Any],
        expected_version: Expected,
        condition: Condition | None = None,
    ) -> dict[str, Any]:
        import secrets  # deferred, as every import only a write needs

        names: dict[str, str] = {"#updatedAt": "updatedAt", "#writeId": WRITE_ID}
        # this write's own token: the SDK's retry of it sends the same one (see `_written_by`)
        values: dict[str, Any] = {":one": 1, ":now": now_iso(), ":writeId": secrets.token_hex(16)}
        sets = ["#updatedAt = :now", "#writeId = :writeId"]
        removes = []
        for i, (attribute, new) in enumerate(changes.items()):
            names[f"#f{i}"] = attribute
            if new is None:
                removes.append(f"#f{i}")
            else:
                values[f":v{i}"] = new
                sets.append(f"#f{i} = :v{i}")
        guard = _guard(expected_version, condition)
        values.update(guard.values)
        names.update(guard.names)
        expression = "SET " + ", ".join(sets) + " ADD version :one"
        if removes:
            expression += " REMOVE " + ", ".join(removes)
        return {
            "TableName": self.table,
            "Key": self.key(entity_id),
            "UpdateExpression": expression,
            "ConditionExpression": guard.expression,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": to_item(values),
        }

    def update(
        self,
        entity_id: int,
        changes: Mapping[str, Any],
        expected_version: Expected = None,
        extra_ops: Sequence[dict[str, Any]] = (),
        condition: Condition | None = None,
        refused: Refusal | None = None,
    ) -> M:
        """Apply `changes` (None removes a field) if the entity exists, is still at
        `expected_version` when given, and meets `condition` (expression, values) when given;
        when it does not meet `condition`, `refused` (given the entity as stored) says why.
        Returns the stored entity after the write."""
        op = {**self.update_op(entity_id, changes, expected_version, condition), **RETURN_OLD_ON_FAILURE}
        try:
            if extra_ops:
                self.transact([{"Update": op}, *extra_ops])
                return self.require(entity_id)
            result = self.client.update_item(**op, ReturnValues="ALL_NEW")
        except Exception as exc:
            mine = _written_by(exc, op)
            if mine is not None:
                return self.model.model_validate(mine)
            self._raise_for_write(exc, entity_id, expected_version, refused)
            raise
        return self.model.model_validate(from_item(result["Attributes"]))

    def delete(
        self,
        entity_id: int,
        actor: str,
        expected_version: Expected = None,
        extra_ops: Sequence[dict[str, Any]] = (),
        condition: Condition | None = None,
        refused: Refusal | None = None,
    ) -> None:
        """Delete the entity (atomically with `extra_ops`) if it exists, is still at
        `expected_version` when given and meets `condition` when given (else `refused`, given the
        entity as stored, says why). First it records who deletes it (`deletedBy`, see
        `mark_deleter`), so that the deletion's stream record names them."""
        guard = _guard(expected_version, condition)
        self.mark_deleter(entity_id, actor, guard, expected_version, refused)
        op: dict[str, Any] = {
            "TableName": self.table,
            "Key": self.key(entity_id),
            "ConditionExpression": guard.expression,
            **RETURN_OLD_ON_FAILURE,
        }
        if guard.names:
            op["ExpressionAttributeNames"] = dict(guard.names)
        if guard.values:
            op["ExpressionAttributeValues"] = to_item(guard.values)
        try:
            if extra_ops:
                self.transact([{"Delete": op}, *extra_ops])
            else:
                self.client.delete_item(**op)
        except Exception as exc:
            if not extra_ops and is_conditional_failure(exc) and not error_response(exc).get("Item"):
                # Gone since `mark_deleter` found it as the request requires: the SDK sent this
                # delete again after its first answer was lost (or another delete won the race).
                # Deleted either way, as asked. (A transaction's retry is idempotent by its token.)
                return
            self._raise_for_write(exc, entity_id, expected_version, refused)
            raise

    def mark_deleter(
        self,
        entity_id: int,
        actor: str,
        guard: Condition,
        expected_version: Expected,
        refused: Refusal | None = None,
    ) -> None:
        """Record `actor` as `deletedBy` on the entity, under the same condition as the deletion
        that follows. A DynamoDB deletion carries no attributes of its own and a transaction cannot
        touch one item twice, so the deleter is written just before; it changes no public field,
        version or `updatedAt` (the API does not show it), and a deletion that then fails leaves
        only this internal mark, which the next deletion overwrites."""
        values = {":deletedBy": actor, **guard.values}
        try:
            self.client.update_item(
                TableName=self.table,
                Key=self.key(entity_id),
                UpdateExpression="SET #deletedBy = :deletedBy",
                ConditionExpression=guard.expression,
                ExpressionAttributeNames={"#deletedBy": "deletedBy", **guard.names},
                ExpressionAttributeValues=to_item(values),
                **RETURN_OLD_ON_FAILURE,  # type: ignore[arg-type]
            )
        except Exception as exc:
            self._raise_for_write(exc, entity_id, expected_version, refused)
            raise

    def transact(self, ops: Sequence[dict[str, Any]]) -> None:
        if len(ops) == 1 and "Put" in ops[0]:
            put = ops[0]["Put"]
            try:
                self.client.put_item(**put, **RETURN_OLD_ON_FAILURE)  # type: ignore[arg-type]
            except Exception as exc:
                # The SDK retried a put whose first answer was lost (a timeout) but which was
                # applied: its condition now finds the very item it wrote. That is our write.
                old = error_response(exc).get("Item")
                if not (is_conditional_failure(exc) and old and from_item(old) == from_item(put["Item"])):
                    raise
        else:
            self.client.transact_write_items(TransactItems=cast("list[TransactWriteItemTypeDef]", list(ops)))

    def _missing(self, entity_id: int) -> str:
        return f"{self.entity.capitalize()} {entity_id} does not exist; GET /api/{self.entity}s lists those that do."

    def _raise_for_write(
        self, exc: Exception, entity_id: int, expected_version: Expected, refused: Refusal | None = None
    ) -> None:
        """Translate a failed conditional write on the entity into NotFound/PreconditionFailed,
        or the error `refused` makes of the stored entity, from the item DynamoDB returns with the
        failure (ReturnValuesOnConditionCheckFailure), so no extra read is needed. Returns (so the
        caller re-raises) when the failure was not the entity's own condition, or the entity met
        the version but not another condition and no `refused` says why."""
        if not is_conditional_failure(exc):
            return
        response = error_response(exc)
        reasons = response.get("CancellationReasons")
        if reasons is not None:  # a transaction: the entity's write is the first item
            if not reasons or reasons[0].get("Code") != "ConditionalCheckFailed":
                return
            old = reasons[0].get("Item")
        else:
            old = response.get("Item")
        if not old:
            raise NotFound(self._missing(entity_id)) from exc
        version = from_item(old).get("version")
        versions = _versions(expected_version)
        if versions is not None and version not in versions:
            raise PreconditionFailed(
                f'{self.entity.capitalize()} {entity_id} is at version {version} (ETag "{version}"), which '
                "your If-Match does not name: it changed since you read it. GET it again and send its "
                "current ETag in If-Match."
            ) from exc
        if refused is not None:
            raise refused(from_item(old)) from exc
