"""localcloud.state's journal: every answered DynamoDB write and every change of an SQS queue's
messages is replayed after a crash, once, in order; a line torn by the crash (never answered) is
dropped."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from localcloud import dynamodb_atomic, sqs_journal
from localcloud.state import StateFile
from tests.support.tables import create_pk_table

TABLE = "Counters"
QUEUE, DEAD_LETTERS = "Work", "WorkDeadLetters"


def _client() -> Any:
    client = boto3.client("dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    create_pk_table(client, TABLE)
    return client


def _add(client: Any, n: int) -> None:
    client.update_item(
        TableName=TABLE,
        Key={"pk": {"S": "c"}},
        UpdateExpression="ADD n :n",
        ExpressionAttributeValues={":n": {"N": str(n)}},
    )


@contextmanager
def _process(path: Path) -> Iterator[tuple[Any, StateFile]]:
    """A local cloud's start: an empty emulator, the state file loaded and its journal replayed."""
    with mock_aws():
        dynamodb_atomic.install()
        sqs_journal.install()
        client = _client()
        _queues()
        state = StateFile(path, [TABLE], "123456789012", "us-east-1", [QUEUE, DEAD_LETTERS])
        state.restore(client, state.read())
        yield client, state


def _sqs() -> Any:
    return boto3.client("sqs", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")


def _queues() -> None:
    """A work queue whose messages move to its dead-letter queue at their second receive."""
    sqs = _sqs()
    dead = sqs.create_queue(QueueName=DEAD_LETTERS)["QueueUrl"]
    dead_arn = sqs.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dead_arn, "maxReceiveCount": 1})
    sqs.create_queue(QueueName=QUEUE, Attributes={"RedrivePolicy": redrive, "VisibilityTimeout": "0"})


def _messages(queue: str) -> list[tuple[str, str]]:
    """(id, body) of every message of `queue`, sorted; each is received once (a move to the
    dead-letter queue aside, nothing changes: the work queue's visibility timeout is 0)."""
    sqs = _sqs()
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    seen: dict[str, str] = {}
    for _ in range(10):
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", []):
            seen[m["MessageId"]] = m["Body"]
    return sorted(seen.items())


def _restart(path: Path) -> int:
    """The counter after a restart."""
    with _process(path) as (client, state):
        item = client.get_item(TableName=TABLE, Key={"pk": {"S": "c"}}).get("Item")
        state.close()
    return int(item["n"]["N"]) if item else 0


@pytest.fixture
def crashed(tmp_path: Path) -> Path:
    """Writes 1 + 2 (saved), then 4 + 8 (journaled only); the process dies without a save."""
    path = tmp_path / "state.json"
    with _process(path) as (client, state):
        _add(client, 1)
        _add(client, 2)
        state.save()
        _add(client, 4)
        _add(client, 8)
        dynamodb_atomic.journal_to(None)  # the crash: no final save, no close
    return path


def test_journaled_writes_after_the_last_save_are_replayed_once(crashed: Path) -> None:
    assert json.loads(crashed.read_text())["journalSeq"] == 2
    assert _restart(crashed) == 15


def test_entries_the_snapshot_already_holds_are_not_applied_twice(crashed: Path) -> None:
    """A crash between writing the snapshot and compacting the journal leaves old entries in it."""
    journal = crashed.with_name(crashed.name + ".journal")
    old = [
        {
            "seq": s,
            "action": "UpdateItem",
            "body": json.dumps(
                {
                    "TableName": TABLE,
                    "Key": {"pk": {"S": "c"}},
                    "UpdateExpression": "ADD n :n",
                    "ExpressionAttributeValues": {":n": {"N": "100"}},
                }
            ),
        }
        for s in (1, 2)
    ]
    journal.write_text("".join(json.dumps(e) + "\n" for e in old) + journal.read_text())
    assert _restart(crashed) == 15


def test_a_torn_last_line_was_never_answered_and_is_dropped(crashed: Path) -> None:
    journal = crashed.with_name(crashed.name + ".journal")
    with journal.open("a") as f:
        f.write('{"seq": 5, "action": "UpdateItem", "bo')
    assert _restart(crashed) == 15


def test_a_failed_write_is_not_journaled(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    with _process(path) as (client, state):
        with pytest.raises(client.exceptions.ConditionalCheckFailedException):
            client.put_item(TableName=TABLE, Item={"pk": {"S": "c"}}, ConditionExpression="attribute_exists(pk)")
        state.close()
    assert path.with_name(path.name + ".journal").read_text() == ""


def _send(body: str) -> str:
    sqs = _sqs()
    return str(sqs.send_message(QueueUrl=sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"], MessageBody=body)["MessageId"])


def test_queued_messages_survive_a_crash_with_their_ids_and_deleted_ones_stay_deleted(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    with _process(path) as (_, state):
        sqs = _sqs()
        url = sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
        saved = {_send(f"saved-{i}"): f"saved-{i}" for i in range(3)}
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"batch-{i}"} for i in range(2)])
        state.save()
        journaled = {_send(f"journaled-{i}"): f"journaled-{i}" for i in range(3)}
        # delete one message of the snapshot and one of the journal, and both of the batch
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30)["Messages"]:
            if m["Body"] in ("saved-0", "journaled-0", "batch-0", "batch-1"):
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            else:
                sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
        sqs_journal.journal_to(None)
        dynamodb_atomic.journal_to(None)  # the crash: no final save, no close
    expected = sorted((i, b) for i, b in {**saved, **journaled}.items() if not b.endswith("-0"))
    with _process(path) as (_, state):
        assert _messages(QUEUE) == expected
        state.close()


def test_a_move_to_the_dead_letter_queue_is_replayed_and_a_purge_too(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    with _process(path) as (_, state):
        sqs = _sqs()
        url = sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
        poisoned = _send("poison")
        state.save()
        assert [m["Body"] for m in sqs.receive_message(QueueUrl=url)["Messages"]] == ["poison"]
        assert sqs.receive_message(QueueUrl=url).get("Messages", []) == []  # moved at its second receive
        purged = _send("purged")
        sqs.purge_queue(QueueUrl=url)
        kept = _send("kept")
        sqs_journal.journal_to(None)
        dynamodb_atomic.journal_to(None)
    with _process(path) as (_, state):
        assert _messages(DEAD_LETTERS) == [(poisoned, "poison")]
        assert _messages(QUEUE) == [(kept, "kept")]
        assert purged != kept
        state.close()


def test_a_snapshot_holds_the_queues_and_a_restart_without_a_journal_restores_them(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    with _process(path) as (_, state):
        sent = _send("snapshotted")
        state.save()
        state.close()
    document = json.loads(path.read_text())
    assert [m["id"] for m in document["sqs"][QUEUE]] == [sent]
    assert path.with_name(path.name + ".journal").read_text() == ""
    with _process(path) as (_, state):
        assert _messages(QUEUE) == [(sent, "snapshotted")]
        state.close()
