"""localcloud.task_timeouts: a Task's TimeoutSeconds stretched for a slow emulator, the state
machine's own TimeoutSeconds not."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from localcloud import sync_execution, task_timeouts
from tests.support import faults as fault_support
from tests.support.tables import create_pk_table

ROLE = "arn:aws:iam::123456789012:role/test"
READ = {
    "StartAt": "Read",
    "States": {
        "Read": {
            "Type": "Task",
            "Resource": "arn:aws:states:::dynamodb:getItem",
            "Parameters": {"TableName": "Things", "Key": {"pk": {"S": "t"}}},
            "TimeoutSeconds": 1,
            "End": True,
        }
    },
}


@pytest.fixture
def slow_read(monkeypatch):
    """A state machine whose one Task reads DynamoDB, which answers after 1.5 s."""
    sync_execution.install()
    task_timeouts.install()
    faults = next(fault_support.install(monkeypatch))
    faults.inject("GetItem", fault_support.SLOW, delay=1.5)
    saved = task_timeouts.scale()
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):  # type: ignore[arg-type]
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        create_pk_table(ddb, "Things")
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        arn = sfn.create_state_machine(name="Read", definition=json.dumps(READ), roleArn=ROLE, type="EXPRESS")[
            "stateMachineArn"
        ]
        yield lambda: sfn.start_sync_execution(stateMachineArn=arn, input="{}")
    task_timeouts.set_scale(saved)


def test_at_scale_1_a_task_times_out_as_the_definition_says(slow_read):
    task_timeouts.set_scale(1)
    result = slow_read()
    assert (result["status"], result["error"]) == ("FAILED", "States.Timeout")


def test_a_stretched_timeout_lets_a_slow_emulator_answer(slow_read):
    task_timeouts.set_scale(3)
    assert slow_read()["status"] == "SUCCEEDED"


def test_a_scale_below_one_is_refused():
    with pytest.raises(ValueError, match="stricter than AWS"):
        task_timeouts.set_scale(0.5)


def test_the_cli_flag():
    from localcloud.__main__ import parse_args

    assert parse_args([]).task_timeout_scale == 1.0
    assert parse_args(["--task-timeout-scale", "4"]).task_timeout_scale == 4.0
