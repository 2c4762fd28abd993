"""Make moto's DynamoDB Streams behave as DynamoDB's do, for the local event source mappings.

* **A cancelled transaction leaves no stream record.** moto applies a TransactWriteItems item by
  item and, when one fails, puts back a copy of each table taken before it began, stream shard
  included. The shard that readers hold iterators on is the old one, which has kept the records
  of the items applied before the failure, and no longer receives new ones: readers would see
  changes that never happened and then nothing more. Here a table's copy shares its stream shard
  (which also spares every transaction copying the whole stream), and a cancelled transaction
  cuts the shard back to where it was before it.
* **Shard iterators expire.** moto keeps every iterator it ever handed out (a poller asks for a new
  one every GetRecords); DynamoDB's expire after 15 minutes (:data:`ITERATOR_LIFETIME_SECONDS`),
  and so do they here. (Keeping only the most recent 1,000 instead took the current iterator
  from a poller held up for a minute on a loaded machine, while the others polled on: its next
  GetRecords failed with a KeyError, a 500 and a traceback.)
"""

from __future__ import annotations

import functools
import time
from typing import Any

from localcloud.patching import patch

ITERATOR_LIFETIME_SECONDS = 15 * 60
_clock = time.monotonic


@patch
def install() -> None:
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import StreamShard
    from moto.dynamodbstreams.models import DynamoDBStreamsBackend

    def shared(self: Any, memo: dict[int, Any]) -> Any:
        return self  # a copy of the table reads and writes the one stream

    StreamShard.__deepcopy__ = shared  # type: ignore[attr-defined]
    transact = DynamoDBBackend.transact_write_items

    @functools.wraps(transact)
    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        shards = {name: (table.stream_shard, len(table.stream_shard.items)) for name, table in _streamed(self)}
        try:
            transact(self, transact_items)
        except Exception:
            for name, (shard, length) in shards.items():
                table = self.tables.get(name)
                if table is None:
                    continue
                del shard.items[length:]  # what the items applied before the failure added
                shard.table = table
                table.stream_shard = shard  # the restored copy's own shard is nobody's
            raise

    get_records = DynamoDBStreamsBackend.get_records

    @functools.wraps(get_records)
    def get_records_forgetting_old_iterators(self: Any, iterator_arn: str, limit: int) -> dict[str, Any]:
        result = get_records(self, iterator_arn, limit)
        forget_expired_iterators(self)
        return result

    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    DynamoDBStreamsBackend.get_records = get_records_forgetting_old_iterators  # type: ignore[method-assign]


def _streamed(backend: Any) -> list[tuple[str, Any]]:
    return [(name, table) for name, table in backend.tables.items() if table.stream_shard is not None]


def forget_expired_iterators(backend: Any) -> None:
    """Drop the iterators of ``backend`` (moto's DynamoDBStreamsBackend) handed out over
    :data:`ITERATOR_LIFETIME_SECONDS` ago; each is dated when first seen here."""
    now = _clock()
    issued: dict[str, float] = backend.__dict__.setdefault("_localcloud_issued", {})
    for arn in list(backend.shard_iterators):
        if now - issued.setdefault(arn, now) > ITERATOR_LIFETIME_SECONDS:
            backend.shard_iterators.pop(arn, None)
            issued.pop(arn, None)
