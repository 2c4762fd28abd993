"""Runs the PlaceOrder state machine (its definition: statemachine/place_order.asl.json)
synchronously, with StartSyncExecution."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from sales_common import aws

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient

    from orders.settings import PlacementSettings


@dataclass(frozen=True)
class Outcome:
    status: str  # SUCCEEDED | FAILED | TIMED_OUT
    output: dict[str, Any] | None
    error: str | None
    cause: str | None

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCEEDED"


class PlacementWorkflow:
    def __init__(self, settings: PlacementSettings) -> None:
        self.settings = settings

    @property
    def client(self) -> SFNClient:
        return aws.stepfunctions(self.settings)

    def run(self, name: str, payload: dict[str, Any]) -> Outcome:
        """One synchronous execution. If the call itself fails (refused, throttled, timed out,
        connection lost), the execution may not have started, or may have run (even to the end):
        the outcome is FAILED with an error naming the call (`StartSyncExecution.<code>`), which
        is not one of the workflow's decided reasons -- the caller must find out or decide."""
        try:
            result = self.client.start_sync_execution(
                stateMachineArn=self.settings.PLACE_ORDER_STATE_MACHINE_ARN,
                name=name,
                input=json.dumps(payload),
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "ClientError")
            return Outcome(status="FAILED", output=None, error=f"StartSyncExecution.{code}", cause=str(exc))
        except BotoCoreError as exc:
            return Outcome(
                status="FAILED", output=None, error=f"StartSyncExecution.{type(exc).__name__}", cause=str(exc)
            )
        output = result.get("output")
        return Outcome(
            status=result["status"],
            output=json.loads(output) if output else None,
            error=result.get("error"),
            cause=result.get("cause"),
        )
