"""The emulator's SQS messages, kept by the state file as its DynamoDB items are (localcloud.state).

moto keeps a queue's messages in a Python list. :func:`install` reports every change of those lists
to the state file's journal (:func:`journal_to`) *before* the change is visible or answered:

* a message added to a queue -- sent through the API (SendMessage, SendMessageBatch), by an
  EventBridge rule's target, or moved to its dead-letter queue by a receive -- as the whole message
  (id, body, attributes, receive count);
* messages deleted (DeleteMessage, DeleteMessageBatch), by their ids;
* a purged queue.

So a message whose SendMessage was answered survives a ``kill -9`` of the local cloud, and a deleted
one does not come back. :func:`snapshot` and :func:`restore` give and put back every queue's
messages with their ids; :func:`apply` replays one journal entry. A message received but not yet
deleted is visible again after a restart (as after its visibility timeout); receive counts are
those of the last snapshot or of the message's last move (receives are not journaled).

This is emulator persistence, no change of SQS's behaviour: the journal callback is None (nothing
happens) unless a state file is in use.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from localcloud.patching import patch

_lock = threading.RLock()
_changes = 0
#: Called, under the lock, with each change (a JSON-able entry) before it takes effect or is answered.
_journal: Callable[[dict[str, Any]], None] | None = None


def journal_to(callback: Callable[[dict[str, Any]], None] | None) -> None:
    """Hand every change of a queue's messages to `callback`; None stops it."""
    global _journal
    _journal = callback


def changes() -> int:
    """How many changes of the queues' messages happened (in this process)."""
    return _changes


@contextmanager
def locked() -> Iterator[None]:
    """No message is added, deleted or purged meanwhile."""
    with _lock:
        yield


def _record(message: Any) -> dict[str, Any]:
    return {
        "id": message.id,
        "body": message.body,
        "messageAttributes": message.message_attributes,
        "systemAttributes": message.system_attributes,
        "sentTimestamp": message.sent_timestamp,
        "receiveCount": message.approximate_receive_count,
        "firstReceiveTimestamp": message.approximate_first_receive_timestamp,
        "groupId": message.group_id,
        "deduplicationId": message.deduplication_id,
        "sequenceNumber": message.sequence_number,
        "delayedUntil": message.delayed_until,
    }


def _message(record: Mapping[str, Any]) -> Any:
    from moto.sqs.models import Message

    message = Message(record["id"], record["body"], dict(record.get("systemAttributes") or {}))
    message.message_attributes = dict(record.get("messageAttributes") or {})
    message.sent_timestamp = record.get("sentTimestamp")
    message.approximate_receive_count = int(record.get("receiveCount") or 0)
    message.approximate_first_receive_timestamp = record.get("firstReceiveTimestamp")
    message.group_id = record.get("groupId")
    message.deduplication_id = record.get("deduplicationId")
    message.sequence_number = record.get("sequenceNumber")
    message.delayed_until = float(record.get("delayedUntil") or 0.0)
    return message


def _note(entry: dict[str, Any]) -> None:
    global _changes
    _changes += 1
    if _journal is not None:
        _journal(entry)


@patch
def install() -> None:
    from moto.sqs.models import Queue, SQSBackend

    original_add = Queue.add_message
    original_delete = Queue.delete_message
    original_purge = SQSBackend.purge_queue

    @functools.wraps(original_add)
    def add_message(self: Any, message: Any) -> None:
        with _lock:
            _note({"sqs": "add", "queue": self.name, "message": _record(message)})
            original_add(self, message)

    @functools.wraps(original_delete)
    def delete_message(self: Any, receipt_handle: str) -> None:
        with _lock:
            ids = [m.id for m in self._messages if m.had_receipt_handle(receipt_handle)]
            original_delete(self, receipt_handle)
            if ids:
                _note({"sqs": "delete", "queue": self.name, "ids": ids})

    @functools.wraps(original_purge)
    def purge_queue(self: Any, queue_name: str) -> None:
        with _lock:
            original_purge(self, queue_name)
            _note({"sqs": "purge", "queue": queue_name})

    Queue.add_message = add_message  # type: ignore[method-assign]
    Queue.delete_message = delete_message  # type: ignore[method-assign]
    SQSBackend.purge_queue = purge_queue  # type: ignore[method-assign]


# ------------------------------------------------------------------ the state file's side
def _queues(account: str, region: str) -> dict[str, Any]:
    from moto.sqs.models import sqs_backends

    return dict(sqs_backends[account][region].queues)


def snapshot(account: str, region: str, names: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    """{queue name: its messages}, in- flight ones included (call under :func:`locked`)."""
    queues = _queues(account, region)
    return {name: [_record(m) for m in queues[name]._messages] for name in names if name in queues}


def restore(account: str, region: str, data: Mapping[str, list[dict[str, Any]]]) -> None:
    """Put a snapshot's messages back into the queues it names (which exist), ids and all."""
    queues = _queues(account, region)
    with _lock:
        for name, records in data.items():
            if name in queues:
                queues[name]._messages = [_message(r) for r in records]


def apply(account: str, region: str, entry: Mapping[str, Any]) -> None:
    """Replay one journal entry (an add moves a message that is in another queue: its dead-letter move)."""
    queues = _queues(account, region)
    queue = queues.get(entry["queue"])
    if queue is None:
        raise KeyError(f"queue {entry['queue']} does not exist")
    with _lock:
        if entry["sqs"] == "add":
            message = _message(entry["message"])
            for other in queues.values():
                other._messages = [m for m in other._messages if m.id != message.id]
            queue._messages.append(message)
        elif entry["sqs"] == "delete":
            gone = set(entry["ids"])
            queue._messages = [m for m in queue._messages if m.id not in gone]
        elif entry["sqs"] == "purge":
            queue._messages = []
        else:
            raise ValueError(f"unknown change {entry['sqs']!r}")
