"""Scheduled: resolve placements whose holds outlived them (orders.sweeper), as of the time the
schedule fired (the EventBridge event's `time`). Every run reports StaleHoldsFound (alarmed: any
hold found pages) and StalePlacementsResolved."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from orders.settings import SweeperSettings
from orders.sweeper import sweep
from sales_common.observability import observability
from sales_common.settings import load_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger, metrics = observability("orders")
# Stop taking new records with this much of the invocation left (one record: a few DynamoDB calls).
RESERVE_MILLIS = 10_000


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    fired = event.get("time")
    now = datetime.fromisoformat(fired) if isinstance(fired, str) else datetime.now(UTC)
    report = sweep(
        load_settings(SweeperSettings),
        now,
        out_of_time=lambda: context.get_remaining_time_in_millis() < RESERVE_MILLIS,
    )
    metrics.add_metric(name="StaleHoldsFound", unit=MetricUnit.Count, value=report.holds_found)
    metrics.add_metric(name="StalePlacementsResolved", unit=MetricUnit.Count, value=report.placements)
    summary = {
        "placements": report.placements,
        "released": report.released,
        "takenOver": report.taken_over,
        "holdsFound": report.holds_found,
        "complete": report.complete,
    }
    if report.holds_found:
        logger.error("stale holds found and resolved", extra=summary)
    else:
        logger.info("sweep done", extra=summary)
    return summary
