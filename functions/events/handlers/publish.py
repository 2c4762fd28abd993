"""DynamoDB stream consumer: publishes the domain events of the Products, Customers and Orders
tables' changes to the stack's event bus (see `events.publisher`). The changes it could not
publish are reported back by sequence number (partial batch response); the event source mapping
retries from the first of them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from events.mapping import Change, change_of
from events.publisher import Publisher
from events.settings import PublisherSettings
from sales_common.observability import observability
from sales_common.settings import load_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger, metrics = observability("events")


def changes(event: Mapping[str, Any]) -> Iterator[tuple[str, Change | Exception]]:
    for record in event.get("Records") or []:
        sequence = str((record.get("dynamodb") or {}).get("SequenceNumber", ""))
        try:
            yield sequence, change_of(record)
        except ValueError as exc:
            yield sequence, exc


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    outcome = Publisher(load_settings(PublisherSettings)).publish(changes(event))
    for published in outcome.published:
        details = {"detailType": published.detail_type, "entity": published.entity}
        logger.debug("event published", extra={**details, "eventId": published.detail.event_id})
    for sequence in outcome.failed:
        logger.warning("change not published", extra={"sequenceNumber": sequence, "reason": outcome.errors[sequence]})
    metrics.add_metric(name="EventsPublished", unit=MetricUnit.Count, value=len(outcome.published))
    if outcome.failed:
        metrics.add_metric(name="ChangesNotPublished", unit=MetricUnit.Count, value=len(outcome.failed))
    return {"batchItemFailures": [{"itemIdentifier": sequence} for sequence in outcome.failed]}
