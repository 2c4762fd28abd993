"""localcloud.state's journal: every answered DynamoDB write is replayed after a crash, once, in
order; a line torn by the crash (never answered) is dropped."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from localcloud import dynamodb_atomic
from localcloud.state import StateFile

TABLE = "Counters"


def _client() -> Any:
    client = boto3.client("dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    client.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
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
        client = _client()
        state = StateFile(path, [TABLE], "123456789012", "us-east-1")
        state.restore(client, state.read())
        yield client, state


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
