"""StartSyncExecution through moto: decorator mode and (in-process) server mode."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws

from localcloud import sync_execution
from tests.support.tables import create_pk_table

ROLE = "arn:aws:iam::123456789012:role/test"
ASL = {
    "StartAt": "Tag",
    "States": {
        "Tag": {"Type": "Pass", "Result": "tagged", "ResultPath": "$.tag", "Next": "Get"},
        "Get": {
            "Type": "Task",
            "Resource": "arn:aws:states:::dynamodb:getItem",
            "Parameters": {"TableName": "Things", "Key": {"pk": {"S.$": "$.id"}}},
            "ResultPath": "$.got",
            "Next": "Found?",
        },
        "Found?": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.got.Item", "IsPresent": True, "Next": "Done"}],
            "Default": "NotFound",
        },
        "Done": {"Type": "Pass", "Parameters": {"tag.$": "$.tag", "name.$": "$.got.Item.name.S"}, "End": True},
        "NotFound": {"Type": "Fail", "Error": "ThingNotFound", "Cause": "no thing with that id"},
    },
}


def _setup(ddb: Any, sfn: Any, sm_type: str = "EXPRESS") -> str:
    create_pk_table(ddb, "Things")
    ddb.put_item(TableName="Things", Item={"pk": {"S": "t1"}, "name": {"S": "Widget"}})
    return sfn.create_state_machine(name="Flow", definition=json.dumps(ASL), roleArn=ROLE, type=sm_type)[
        "stateMachineArn"
    ]


def _assert_succeeded_and_failed(sfn: Any, arn: str) -> None:
    ok = sfn.start_sync_execution(stateMachineArn=arn, input=json.dumps({"id": "t1"}))
    assert ok["status"] == "SUCCEEDED", ok
    assert json.loads(ok["output"]) == {"tag": "tagged", "name": "Widget"}
    assert ok["stateMachineArn"] == arn
    # an Express execution's ARN: ...:express:<machine>:<name>:<uuid>
    assert ok["executionArn"].startswith(arn.replace(":stateMachine:", ":express:") + ":" + ok["name"] + ":")
    assert ok["stopDate"] >= ok["startDate"]
    assert json.loads(ok["input"]) == {"id": "t1"}
    assert ok["billingDetails"]["billedDurationInMilliseconds"] >= 100
    assert "error" not in ok

    bad = sfn.start_sync_execution(stateMachineArn=arn, input=json.dumps({"id": "nope"}))
    assert bad["status"] == "FAILED"
    assert bad["error"] == "ThingNotFound"
    assert bad["cause"] == "no thing with that id"
    assert "output" not in bad
    # unnamed executions get unique names (moto 5.2.5 would call them all "None")
    assert bad["name"] != ok["name"]

    # Synchronous Express executions are not deduplicated by name, as on AWS: a reused name runs
    # again, with its own input (moto's STANDARD semantics would return the first execution, or
    # refuse the other input)
    named = [
        sfn.start_sync_execution(stateMachineArn=arn, name="order-1", input=json.dumps({"id": i}))
        for i in ("t1", "nope", "t1")
    ]
    assert [r["status"] for r in named] == ["SUCCEEDED", "FAILED", "SUCCEEDED"]
    assert {r["name"] for r in named} == {"order-1"} and len({r["executionArn"] for r in named}) == 3


def test_install_is_idempotent() -> None:
    from moto import backend_index
    from moto.stepfunctions import urls

    sync_execution.install()
    sync_execution.install()
    assert sync_execution.install.installed
    assert urls.url_bases.count(sync_execution._SYNC_URL_BASE) == 1
    assert sum(p.pattern == sync_execution._SYNC_URL_BASE for _, p in backend_index.backend_url_patterns) == 1


@pytest.mark.parametrize("inject_host_prefix", [True, False], ids=["sync-host-prefix", "no-prefix"])
def test_decorator_mode(inject_host_prefix: bool) -> None:
    sync_execution.install()
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):  # type: ignore[arg-type]
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        sfn = boto3.client(
            "stepfunctions", region_name="us-east-1", config=Config(inject_host_prefix=inject_host_prefix)
        )
        _assert_succeeded_and_failed(sfn, _setup(ddb, sfn))


@pytest.fixture
def emulated() -> Iterator[tuple[Any, Any]]:
    """DynamoDB and Step Functions clients on moto's decorator mode, state machines executed."""
    sync_execution.install()
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):  # type: ignore[arg-type]
        yield boto3.client("dynamodb", region_name="us-east-1"), boto3.client("stepfunctions", region_name="us-east-1")


def test_decorator_mode_concurrent_calls(emulated: tuple[Any, Any]) -> None:
    ddb, sfn = emulated
    arn = _setup(ddb, sfn)
    statuses: list[str] = []

    def run(i: int) -> None:
        client = boto3.client("stepfunctions", region_name="us-east-1")
        ident = "t1" if i % 2 else "nope"
        statuses.append(client.start_sync_execution(stateMachineArn=arn, input=json.dumps({"id": ident}))["status"])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == ["FAILED"] * 5 + ["SUCCEEDED"] * 5


COUNTER = {
    "StartAt": "Count",
    "States": {
        "Count": {
            "Type": "Task",
            "Resource": "arn:aws:states:::dynamodb:updateItem",
            "Parameters": {
                "TableName": "Things",
                "Key": {"pk": {"S.$": "$.id"}},
                "UpdateExpression": "ADD runs :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            },
            "ResultPath": None,
            "End": True,
        }
    },
}


def test_an_express_execution_is_not_deduplicated_by_its_name(emulated: tuple[Any, Any]) -> None:
    """As on AWS: the same name and input again (one after another, or at once) is another
    execution that runs. moto's StartExecution would refuse the finished one's name, or join the
    running one, and hide replays."""
    ddb, sfn = emulated
    _setup(ddb, sfn)
    arn = sfn.create_state_machine(name="Counter", definition=json.dumps(COUNTER), roleArn=ROLE, type="EXPRESS")[
        "stateMachineArn"
    ]
    payload = json.dumps({"id": "c1"})

    first = sfn.start_sync_execution(stateMachineArn=arn, name="order-7", input=payload)
    second = sfn.start_sync_execution(stateMachineArn=arn, name="order-7", input=payload)
    with ThreadPoolExecutor(4) as pool:
        racing = list(
            pool.map(lambda _: sfn.start_sync_execution(stateMachineArn=arn, name="order-7", input=payload), range(4))
        )

    runs = [first, second, *racing]
    assert [r["status"] for r in runs] == ["SUCCEEDED"] * 6
    assert len({r["executionArn"] for r in runs}) == 6
    item = ddb.get_item(TableName="Things", Key={"pk": {"S": "c1"}})["Item"]
    assert item["runs"] == {"N": "6"}
    # each one can be read back, input included (what a replay needs)
    described = sfn.describe_execution(executionArn=second["executionArn"])
    assert (described["name"], json.loads(described["input"])) == ("order-7", {"id": "c1"})
    listed = sfn.list_executions(stateMachineArn=arn)["executions"]
    assert sorted(e["executionArn"] for e in listed) == sorted(r["executionArn"] for r in runs)


def test_the_state_machine_timeout_ends_the_execution_as_timed_out() -> None:
    """The definition's own TimeoutSeconds (not the emulator's bound) stops the execution."""
    sync_execution.install()
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):  # type: ignore[arg-type]
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        slow = {"TimeoutSeconds": 1, "StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 5, "End": True}}}
        arn = sfn.create_state_machine(name="Bounded", definition=json.dumps(slow), roleArn=ROLE, type="EXPRESS")[
            "stateMachineArn"
        ]
        started = time.monotonic()
        res = sfn.start_sync_execution(stateMachineArn=arn, input="{}")
        assert res["status"] == "TIMED_OUT"
        assert time.monotonic() - started < 4


def test_invalid_input_is_refused(emulated: tuple[Any, Any]) -> None:
    ddb, sfn = emulated
    arn = _setup(ddb, sfn)
    with pytest.raises(sfn.exceptions.ClientError, match="InvalidExecutionInput"):
        sfn.start_sync_execution(stateMachineArn=arn, input="{not json")


def test_standard_state_machine_is_rejected(emulated: tuple[Any, Any]) -> None:
    ddb, sfn = emulated
    arn = _setup(ddb, sfn, sm_type="STANDARD")
    with pytest.raises(sfn.exceptions.ClientError, match="StateMachineTypeNotSupported"):
        sfn.start_sync_execution(stateMachineArn=arn, input="{}")


def test_without_execute_state_machine_the_error_says_how_to_fix_it() -> None:
    sync_execution.install()
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        arn = _setup(ddb, sfn)
        with pytest.raises(sfn.exceptions.ClientError, match="execute_state_machine"):
            sfn.start_sync_execution(stateMachineArn=arn, input="{}")


def test_bounded_wait_reports_timed_out() -> None:
    sync_execution.install()
    sync_execution.set_timeout(0.3)
    try:
        with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):  # type: ignore[arg-type]
            sfn = boto3.client("stepfunctions", region_name="us-east-1")
            slow = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 5, "End": True}}}
            arn = sfn.create_state_machine(name="Slow", definition=json.dumps(slow), roleArn=ROLE, type="EXPRESS")[
                "stateMachineArn"
            ]
            res = sfn.start_sync_execution(stateMachineArn=arn, input="{}")
            assert res["status"] == "TIMED_OUT"
            assert res["error"] == "States.Timeout"
    finally:
        sync_execution.set_timeout(sync_execution.DEFAULT_TIMEOUT_SECONDS)


@pytest.fixture
def moto_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto's server in this process, started as the local cloud starts it."""
    from localcloud.serving import start_moto

    moto = start_moto("127.0.0.1", 0)
    for key, value in {**moto.env, **sync_execution.LOCAL_ENV}.items():
        monkeypatch.setenv(key, value)
    try:
        yield moto.url
    finally:
        moto.stop()


def test_server_mode(moto_server: str) -> None:
    kwargs = {"region_name": "us-east-1", "endpoint_url": moto_server}
    ddb = boto3.client("dynamodb", **kwargs)
    sfn = boto3.client("stepfunctions", **kwargs)  # AWS_DISABLE_HOST_PREFIX_INJECTION=true from the fixture
    _assert_succeeded_and_failed(sfn, _setup(ddb, sfn))


def test_server_mode_needs_host_prefix_injection_disabled(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Documents why LOCAL_ENV exists: with the prefix, botocore calls http://sync-127.0.0.1:port."""
    monkeypatch.delenv("AWS_DISABLE_HOST_PREFIX_INJECTION")
    sfn = boto3.client(
        "stepfunctions",
        region_name="us-east-1",
        endpoint_url=moto_server,
        config=Config(retries={"max_attempts": 1}, connect_timeout=2),
    )
    seen: list[str] = []
    sfn.meta.events.register("before-send", lambda request, **_: seen.append(request.url))
    with pytest.raises(Exception):  # noqa: B017 - DNS failure type varies by resolver
        sfn.start_sync_execution(stateMachineArn="arn:aws:states:us-east-1:123456789012:stateMachine:X")
    assert seen and seen[0].startswith("http://sync-127.0.0.1:")
