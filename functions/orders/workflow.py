"""Runs the PlaceOrder state machine synchronously (StartSyncExecution)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

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
    client = aws.Client["SFNClient"]("stepfunctions")

    def __init__(self, settings: PlacementSettings, client: SFNClient | None = None) -> None:
        self.settings = settings
        self.client = client

    def run(self, name: str, payload: dict[str, Any]) -> Outcome:
        result = self.client.start_sync_execution(
            stateMachineArn=self.settings.PLACE_ORDER_STATE_MACHINE_ARN,
            name=name,
            input=json.dumps(payload),
        )
        output = result.get("output")
        return Outcome(
            status=result["status"],
            output=json.loads(output) if output else None,
            error=result.get("error"),
            cause=result.get("cause"),
        )
